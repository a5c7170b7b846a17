"""The DiDi-Instruct student rollout: two ancestral steps, all-mask → τ → t_final, sampled without gradient.

The log-probability of the sampled trajectory is recomputed afterwards with gradient (`trajectory_logprob`).
For an ancestral step t → s, P(x_s | x_t) factorises over positions: a masked position that stays masked
has probability (1−α_s)/(1−α_t), which does not depend on the student; one that is revealed as v has
p_ν(x0 = v | x_t)·(α_s−α_t)/(1−α_t). So ∇ log P = Σ over revealed positions of ∇ log p_ν(v | x_t), and
that sum (the released code's `prev_is_mask` mode, up to a constant) is what we return.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from protdidi.denoiser import MaskedDenoiser
from protdidi.sampling.base import categorical_step
from protdidi.schedule import LogLinearSchedule, prior


@dataclass
class Rollout:
    """x1 (all mask), x_tau (after step 1), x_mid (step 2's input: x_tau, optionally re-masked), x0 (the sample);
    tau, t_final: Float[B]; valid: Bool[B, L]."""

    x1: torch.Tensor
    x_tau: torch.Tensor
    x_mid: torch.Tensor
    x0: torch.Tensor
    tau: torch.Tensor
    valid: torch.Tensor

    def inputs(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Both steps' inputs stacked (one forward pass for both): tokens [2B, L], times [2B], valid [2B, L]."""
        ones = torch.ones_like(self.tau)
        return (torch.cat([self.x1, self.x_mid]), torch.cat([ones, self.tau]),
                torch.cat([self.valid, self.valid]))


@torch.no_grad()
def two_step_rollout(student: MaskedDenoiser, valid: torch.Tensor, tau: torch.Tensor, schedule: LogLinearSchedule,
                     t_final: float, generator: torch.Generator, remask_prob: float = 0.0) -> Rollout:
    """Sample x0 ~ p_ν in two ancestral steps, 1 → τ → t_final (per-sequence τ). Padding stays padding."""
    vocab = student.vocab
    sampleable = vocab.sampleable_mask(valid.device)
    x1 = prior(valid.shape, vocab.mask_id, valid.device).masked_fill(~valid, vocab.pad_id)
    ones = torch.ones_like(tau)
    a1, a_tau = schedule.alpha(ones), schedule.alpha(tau)
    a_final = schedule.alpha(torch.full_like(tau, t_final)) if t_final > 0 else ones
    x_tau = categorical_step(student(x1, ones, valid), x1, a1, a_tau, vocab.mask_id, sampleable, generator)
    x_mid = x_tau
    if remask_prob > 0:
        revealed = (x_tau != vocab.mask_id) & valid
        u = torch.rand(valid.shape, generator=generator, device=valid.device)
        x_mid = torch.where(revealed & (u < remask_prob), vocab.mask_id, x_tau)
    x0 = categorical_step(student(x_mid, tau, valid), x_mid, a_tau, a_final, vocab.mask_id, sampleable, generator)
    return Rollout(x1, x_tau, x_mid, x0, tau, valid)


def trajectory_logprob(log_probs: torch.Tensor, rollout: Rollout, mask_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sequence log-probabilities (logp₁, logp₂), Float[B] each, of the two sampled steps.

    log_probs: the student's SUBS log-probs on `rollout.inputs()`, Float[2B, L, V], with gradient."""
    b = rollout.x1.shape[0]
    lp1, lp2 = log_probs[:b], log_probs[b:]
    revealed1 = (rollout.x1 == mask_id) & (rollout.x_tau != mask_id) & rollout.valid
    revealed2 = (rollout.x_mid == mask_id) & (rollout.x0 != mask_id) & rollout.valid
    pick1 = lp1.gather(-1, rollout.x_tau.unsqueeze(-1)).squeeze(-1)
    pick2 = lp2.gather(-1, rollout.x0.unsqueeze(-1)).squeeze(-1)
    zero = torch.zeros((), dtype=pick1.dtype, device=pick1.device)
    return torch.where(revealed1, pick1, zero).sum(-1), torch.where(revealed2, pick2, zero).sum(-1)
