"""What every sampler shares: the result record, the start state (all mask, or a template for conditional
generation) and the float64 ancestral categorical step."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from protdidi.errors import ModelOutputError
from protdidi.process import prior


@dataclass
class Generation:
    """Sampler output. tokens: Long[N, L]; nfe: denoiser evaluations per sequence (exact);
    seconds: wall-clock of the whole call; extra: sampler-specific counters (e.g. discriminator calls)."""

    tokens: torch.Tensor
    nfe: int
    seconds: float
    extra: dict


def start_state(num: int, length: int, vocab, device, valid: torch.Tensor | None = None,
                template: torch.Tensor | None = None) -> torch.Tensor:
    """The tokens a sampler starts from: all mask (the t = 1 prior), or `template` (Long[num, length]: the tokens to
    keep where they are fixed, the mask id where they are designed), with padding where `valid` (Bool[num, length])
    is False. Fixed tokens are never changed afterwards (the categorical step and SUBS carry unmasked tokens over), and
    designed positions are revealed on the sampler's own time grid; an all-mask template is the unconditional prior."""
    if template is None:
        x = prior((num, length), vocab.mask_id, device)
    else:
        if tuple(template.shape) != (num, length):
            raise ValueError(f"template shape {tuple(template.shape)} is not ({num}, {length})")
        x = template.to(device=device, dtype=torch.long).clone()
    if valid is not None:
        x = x.masked_fill(~valid.to(device), vocab.pad_id)
    return x


def categorical_step(
    log_probs: torch.Tensor,
    xt: torch.Tensor,
    alpha_t: float | torch.Tensor,
    alpha_s: float | torch.Tensor,
    mask_id: int,
    sampleable: torch.Tensor,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """One reverse step t → s of the absorbing process, computed in float64.

    For a masked position, q(x_s = v) ∝ p(x0 = v | x_t)·(α_s − α_t) for sampleable v, and
    q(x_s = mask) ∝ 1 − α_s. Unmasked positions never change. With α_s = 1 (s = 0) no mask survives.
    log_probs: Float[B, L, V] (SUBS output); xt: Long[B, L]; sampleable: Bool[V]; α_t, α_s: numbers, or
    Float[B] tensors for a different step per sequence.
    """
    if not bool(torch.isfinite(log_probs.amax())):  # amax propagates NaN; +inf is its own maximum
        raise ModelOutputError("the model's log-probabilities hold NaN or +inf values (damaged weights, or a "
                               "precision it cannot run in); nothing was written")
    lp = log_probs.to(torch.float64).masked_fill(~sampleable, float("-inf"))
    a_t, a_s = (torch.as_tensor(a, dtype=torch.float64, device=lp.device).reshape(-1, 1, 1)
                for a in (alpha_t, alpha_s))
    probs = torch.softmax(lp, dim=-1) * (a_s - a_t)
    probs[..., mask_id] = (1.0 - a_s)[..., 0]
    # Gumbel-max over log q; uniforms in float64 so that tiny probabilities are resolved exactly.
    u = torch.rand(probs.shape, generator=generator, dtype=torch.float64, device=generator.device
                   if generator is not None else probs.device).to(probs.device)
    gumbel = -torch.log(-torch.log(u.clamp_min(1e-300)))
    draw = torch.argmax(torch.log(probs) + gumbel, dim=-1)
    return torch.where(xt == mask_id, draw, xt)
