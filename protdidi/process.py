"""The absorbing (masking) forward process as pure tensor functions."""

from __future__ import annotations

import torch


def prior(shape: tuple[int, ...], mask_id: int, device=None) -> torch.Tensor:
    """All-mask tokens: the t=1 end of the process."""
    return torch.full(shape, mask_id, dtype=torch.long, device=device)


def add_noise(
    x0: torch.Tensor,
    alpha_t: torch.Tensor,
    mask_id: int,
    generator: torch.Generator | None = None,
    valid: torch.Tensor | None = None,
) -> torch.Tensor:
    """Sample x_t ~ q(x_t | x0): each valid token becomes `mask_id` with probability 1 − α_t.

    x0: Long[B, L]; alpha_t: Float[B] (per sequence) or Float[B, L]; valid: Bool[B, L] (padding stays).
    """
    if alpha_t.dim() == 1:
        alpha_t = alpha_t[:, None]
    u = torch.rand(x0.shape, generator=generator, device=x0.device, dtype=torch.float32)
    masked = u < (1.0 - alpha_t).to(torch.float32)
    if valid is not None:
        masked &= valid
    return torch.where(masked, torch.full_like(x0, mask_id), x0)


def antithetic_times(
    n: int, generator: torch.Generator | None = None, t_min: float = 1e-3, device=None
) -> torch.Tensor:
    """n times in [t_min, 1] that cover the interval evenly (MDLM's low-discrepancy sampler)."""
    offset = torch.rand((), generator=generator, device=device)
    t = (offset + torch.arange(n, device=device) / n) % 1.0
    return t_min + (1.0 - t_min) * t
