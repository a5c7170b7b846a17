"""What every sampler shares. A sampler is a plan (its time grid, one `Step` per denoiser call) and a step (one
transition of the tokens, reading and changing a `State`); `protdidi.generation.driver` runs the loop, counts the
NFE and times it. Here also: the start state (all mask, or a template) and the float64 ancestral categorical step."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from protdidi.errors import ModelOutputError
from protdidi.schedule import LogLinearSchedule, prior, time_grid


@dataclass(frozen=True)
class Step:
    """One step of a plan: from time t down to s, with the schedule's α at both (α_s = 1 on the last step, t = 0,
    so no mask survives it and no separate noise-removal call is needed)."""

    t: float
    s: float
    alpha_t: float
    alpha_s: float


def uniform_plan(schedule: LogLinearSchedule, steps: int) -> list[Step]:
    """`steps` steps on the uniform grid 1 → 0."""
    grid = time_grid(steps)
    alphas = schedule.alpha(grid).tolist()
    alphas[-1] = 1.0  # t = 0 exactly
    return [Step(float(grid[i]), float(grid[i + 1]), alphas[i], alphas[i + 1]) for i in range(steps)]


@dataclass
class State:
    """What a step reads and changes. `denoiser`: called once per step (the driver counts the calls); `x`: Long[num,
    length], the tokens; `valid`: Bool[num, length] marking real positions in a padded batch (None: no padding);
    `region`: the same, never None; `sampleable`: Bool[V], the ids a step may draw; `extra`: per-sequence counters of
    other network calls (e.g. discriminator forwards)."""

    denoiser: object
    x: torch.Tensor
    valid: torch.Tensor | None
    region: torch.Tensor
    sampleable: torch.Tensor
    generator: torch.Generator | None
    extra: dict = field(default_factory=dict)

    @property
    def vocab(self):
        return self.denoiser.vocab

    def times(self, t: float) -> torch.Tensor:
        """Float[num]: time `t` for every sequence."""
        return torch.full((self.x.shape[0],), t, device=self.x.device)

    def count(self, key: str, calls: int = 1) -> None:
        self.extra[key] = self.extra.get(key, 0) + calls


class Sampler:
    """The sampler interface: `plan(steps)` (default: the uniform grid of `schedule`) and `step(state, step)` returning
    the next tokens. `needs_discriminator`: `build_sampler` hands it the student's discriminator."""

    schedule: LogLinearSchedule
    needs_discriminator = False

    def plan(self, steps: int) -> list[Step]:
        return uniform_plan(self.schedule, steps)

    def step(self, state: State, step: Step) -> torch.Tensor:
        raise NotImplementedError


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


def check_log_probs(log_probs: torch.Tensor) -> torch.Tensor:
    """`log_probs` itself, unless it holds NaN or +inf (damaged weights, or a precision the model cannot run in)."""
    if not bool(torch.isfinite(log_probs.amax())):  # amax propagates NaN; +inf is its own maximum
        raise ModelOutputError("the model's log-probabilities hold NaN or +inf values (damaged weights, or a "
                               "precision it cannot run in); nothing was written")
    return log_probs


def gumbel_noise(shape, generator: torch.Generator | None, device) -> torch.Tensor:
    """Float64 Gumbel(0, 1) noise of `shape` (uniforms drawn on the generator's device, so a seed means the same
    draws on any device), resolving tiny probabilities exactly."""
    u = torch.rand(shape, generator=generator, dtype=torch.float64,
                   device=generator.device if generator is not None else device).to(device)
    return -torch.log(-torch.log(u.clamp_min(1e-300)))


def sharpened(log_probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """Float64 log-probabilities divided by `temperature` and renormalised (below 1: sharper). Rows that are one-hot
    (SUBS at unmasked positions) stay one-hot."""
    return torch.log_softmax(log_probs.to(torch.float64) / temperature, dim=-1)


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
    lp = check_log_probs(log_probs).to(torch.float64).masked_fill(~sampleable, float("-inf"))
    a_t, a_s = (torch.as_tensor(a, dtype=torch.float64, device=lp.device).reshape(-1, 1, 1)
                for a in (alpha_t, alpha_s))
    probs = torch.softmax(lp, dim=-1) * (a_s - a_t)
    probs[..., mask_id] = (1.0 - a_s)[..., 0]
    draw = torch.argmax(torch.log(probs) + gumbel_noise(probs.shape, generator, probs.device), dim=-1)  # Gumbel-max
    return torch.where(xt == mask_id, draw, xt)
