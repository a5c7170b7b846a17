"""The masking (absorbing) forward process: schedules α(t) (probability that a token is still clean at time t) and
their derivatives, and the process itself as pure tensor functions (the all-mask prior, x_t ~ q(x_t | x_0), MDLM's
antithetic times).

Time runs from t=0 (clean data) to t=1 (almost all mask). Schedules are parameter-free maths;
strings name them through `SCHEDULES`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LogLinearSchedule:
    """MDLM's log-linear schedule: α(t) = 1 − (1−ε)t, so −α'(t)/(1−α(t)) = 1/t.

    With ε = 1e-3, α(1) = ε: even at t=1 a token stays clean with probability 1e-3, which keeps the
    network's input well defined (σ(t) = −log α(t) stays finite).
    """

    eps: float = 1e-3

    def alpha(self, t: torch.Tensor) -> torch.Tensor:
        return 1.0 - (1.0 - self.eps) * t

    def dalpha(self, t: torch.Tensor) -> torch.Tensor:
        return torch.full_like(t, -(1.0 - self.eps))

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        """Total noise σ(t) = −log α(t), the time input of MDLM-style time-conditioned networks."""
        return -torch.log(self.alpha(t))

    def loss_weight(self, t: torch.Tensor) -> torch.Tensor:
        """The NELBO weight −α'(t)/(1−α(t)) applied to −log p(x0 | x_t) at masked positions."""
        return -self.dalpha(t) / (1.0 - self.alpha(t))

    def to_dict(self) -> dict:
        return {"name": "loglinear", "eps": self.eps}


SCHEDULES = {"loglinear": LogLinearSchedule}


def make_schedule(spec: dict) -> LogLinearSchedule:
    """Build a schedule from `{"name": ..., **kwargs}`; unknown names are an error."""
    spec = dict(spec)
    name = spec.pop("name", "loglinear")
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; known: {sorted(SCHEDULES)}")
    return SCHEDULES[name](**spec)


def time_grid(steps: int, t_max: float = 1.0, t_min: float = 0.0, dtype=torch.float64) -> torch.Tensor:
    """Descending uniform grid of `steps + 1` times from t_max to t_min (inclusive)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    return torch.linspace(t_max, t_min, steps + 1, dtype=dtype)


@dataclass
class ScheduleConfig:
    """The `schedule:` section of training configs (resolved by `make_schedule`)."""

    name: str = "loglinear"
    eps: float = 1e-3


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
