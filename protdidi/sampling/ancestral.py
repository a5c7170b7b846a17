"""N-step ancestral sampler for masked diffusion (MDLM's sampler, float64 categorical step)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from protdidi.denoiser import MaskedDenoiser
from protdidi.sampling.base import Generation, categorical_step, start_state
from protdidi.schedule import LogLinearSchedule, time_grid


@dataclass
class AncestralSampler:
    """Uniform grid 1 → 0 in `steps` steps; one denoiser call per step, so NFE == steps.

    The last step lands on t = 0, where α = 1, so every remaining mask is filled by that step and no
    separate noise-removal pass (an extra NFE) is needed.
    """

    schedule: LogLinearSchedule
    needs_discriminator = False  # a class attribute, not a field

    @torch.no_grad()
    def sample(
        self,
        denoiser: MaskedDenoiser,
        num: int,
        length: int,
        steps: int,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
        valid: torch.Tensor | None = None,
        template: torch.Tensor | None = None,
    ) -> Generation:
        """Sample `num` sequences of `length` tokens; `valid` (Bool[num, length]) marks the positions of
        shorter sequences in a padded batch (the rest stay padding and are hidden from attention); `template`
        (Long[num, length]) fixes tokens and marks designed positions with the mask id (`start_state`)."""
        if num < 1 or length < 1 or steps < 1:
            raise ValueError(f"num, length and steps must be >= 1 (got {num}, {length}, {steps})")
        start = time.perf_counter()
        vocab = denoiser.vocab
        sampleable = vocab.sampleable_mask(device)
        x = start_state(num, length, vocab, device, valid, template)
        valid = None if valid is None else valid.to(device)
        grid = time_grid(steps)
        alphas = self.schedule.alpha(grid).tolist()
        alphas[-1] = 1.0  # t = 0 exactly: no mask may survive the final step
        nfe = 0
        for i in range(steps):
            t = torch.full((num,), float(grid[i]), device=device)
            log_probs = denoiser(x, t, valid)
            nfe += 1
            x = categorical_step(log_probs, x, alphas[i], alphas[i + 1], vocab.mask_id, sampleable, generator)
        return Generation(tokens=x, nfe=nfe, seconds=time.perf_counter() - start, extra={})
