"""DiDi-Instruct's reward, grouped (GRPO-style) normalisation and time weight ω(τ)."""

from __future__ import annotations

import torch

from protdidi.distributed import all_gather_cat, rank
from protdidi.schedule import LogLinearSchedule


def finite_or_zero(lp: torch.Tensor) -> torch.Tensor:
    """−inf log-probs (forbidden ids, where the matching probability is 0) replaced by 0, so that no 0·∞
    reaches a product or the backward pass."""
    return torch.where(torch.isfinite(lp), lp, torch.zeros_like(lp))


def pooled_masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `values` over every True of `mask` in the batch (0 when there is none)."""
    m = mask.to(values.dtype)
    return (values * m).sum() / m.sum().clamp_min(1.0)


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-row mean of `values` over `mask` (rows with no True give 0). Float[B, L], Bool[B, L] → Float[B]."""
    m = mask.to(values.dtype)
    return (values * m).sum(-1) / m.sum(-1).clamp_min(1.0)


def log_odds_reward(d_logits: torch.Tensor, masked: torch.Tensor, clip: float = 8.0) -> torch.Tensor:
    """r = mean over masked positions of clip(log D − log(1 − D), ±clip), D = sigmoid(logit), in float32.

    log(D+1e-6) − log(1−D+1e-6) as released; for |logit| < ~13 this is the logit itself."""
    d = torch.sigmoid(d_logits.float())
    ell = (torch.log(d + 1e-6) - torch.log(1 - d + 1e-6)).clamp(-clip, clip)
    return masked_mean(ell, masked)


def group_normalize(rewards: torch.Tensor, group_size: int, eps: float = 1e-8, clip: float = 3.0) -> torch.Tensor:
    """A_i = clip((r_i − mean_g)/(std_g + eps), ±clip) within consecutive groups of `group_size`
    (unbiased std, as torch's default). Under DDP the rewards of all ranks are gathered first (in rank
    order) and the statistics taken globally, so a group may even span ranks; each rank gets back its
    own slice. Every rank must hold the same number of rewards."""
    local = rewards.shape[0]
    everything = all_gather_cat(rewards.detach())
    if everything.shape[0] % group_size:
        raise ValueError(f"{everything.shape[0]} rewards do not split into groups of {group_size}")
    groups = everything.view(-1, group_size)
    mean = groups.mean(dim=1, keepdim=True)
    std = groups.std(dim=1, keepdim=True) if group_size > 1 else torch.zeros_like(mean)
    adv = ((groups - mean) / (std + eps)).clamp(-clip, clip).reshape(-1)
    start = rank() * local
    return adv[start:start + local]


def time_weight(schedule: LogLinearSchedule, tau: torch.Tensor, low: float = 0.1, high: float = 10.0) -> torch.Tensor:
    """ω(τ) = −α'(τ)/(1 − α(τ)), clamped to [low, high] (= 1/τ for the log-linear schedule)."""
    return (-schedule.dalpha(tau) / (1.0 - schedule.alpha(tau))).clamp(low, high)
