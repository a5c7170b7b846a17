"""N-step ancestral sampler for masked diffusion (MDLM's sampler, float64 categorical step)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from protdidi.sampling.base import Sampler, State, Step, categorical_step, sharpened
from protdidi.schedule import LogLinearSchedule


@dataclass
class AncestralSampler(Sampler):
    """The uniform grid 1 → 0; each step one denoiser call and one categorical draw, so NFE == steps. `temperature`
    divides the model's log-probabilities before every draw (below 1: sharper; 1: the model's own distribution)."""

    schedule: LogLinearSchedule
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0 (got {self.temperature})")

    @torch.no_grad()
    def step(self, state: State, step: Step) -> torch.Tensor:
        log_probs = state.denoiser(state.x, state.times(step.t), state.valid)
        if self.temperature != 1.0:
            log_probs = sharpened(log_probs, self.temperature)  # NaN/inf stay so: categorical_step refuses them
        return categorical_step(log_probs, state.x, step.alpha_t, step.alpha_s, state.vocab.mask_id, state.sampleable,
                                state.generator)
