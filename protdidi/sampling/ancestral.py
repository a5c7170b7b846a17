"""N-step ancestral sampler for masked diffusion (MDLM's sampler, float64 categorical step)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from protdidi.sampling.base import Sampler, State, Step, categorical_step
from protdidi.schedule import LogLinearSchedule


@dataclass
class AncestralSampler(Sampler):
    """The uniform grid 1 → 0; each step one denoiser call and one categorical draw, so NFE == steps."""

    schedule: LogLinearSchedule

    @torch.no_grad()
    def step(self, state: State, step: Step) -> torch.Tensor:
        log_probs = state.denoiser(state.x, state.times(step.t), state.valid)
        return categorical_step(log_probs, state.x, step.alpha_t, step.alpha_s, state.vocab.mask_id, state.sampleable,
                                state.generator)
