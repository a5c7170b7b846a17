"""Confidence-ordered decoding (MaskGIT's schedule, DPLM's default): every step draws a token at each designed
position that is still masked, then keeps only the draws the model is most sure of and re-masks the rest.

The plan is the ancestral sampler's uniform grid; from time t to s a step reveals the schedule's share
(α_s − α_t) / (1 − α_t) of the positions still masked (rounded; all of them on the last step, where α_s = 1), so
the number revealed per step matches the ancestral sampler's expectation and NFE == steps. Which positions: the
highest confidence, the log-probability of the drawn token, plus Gumbel noise scaled by `randomness` and by the
share still to come (1 − α_s), so that the order is random early and greedy late (MaskGIT's choice temperature;
0 = strictly most-confident first). `temperature` divides the model's log-probabilities before every draw. Draws
and scores are float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from protdidi.sampling.base import Sampler, State, Step, check_log_probs, gumbel_noise, sharpened
from protdidi.schedule import LogLinearSchedule


@dataclass(kw_only=True)
class ConfidenceSampler(Sampler):
    schedule: LogLinearSchedule
    temperature: float = 1.0
    randomness: float = 1.0

    def __post_init__(self) -> None:
        if not self.temperature > 0 or not self.randomness >= 0:
            raise ValueError("temperature must be > 0 and randomness >= 0")

    @torch.no_grad()
    def step(self, state: State, step: Step) -> torch.Tensor:
        x, vocab = state.x, state.vocab
        log_probs = check_log_probs(state.denoiser(x, state.times(step.t), state.valid))
        lp = sharpened(log_probs, self.temperature)
        draw = torch.argmax(lp.masked_fill(~state.sampleable, float("-inf"))
                            + gumbel_noise(lp.shape, state.generator, lp.device), dim=-1)
        masked = (x == vocab.mask_id) & state.region
        count = masked.sum(-1)
        keep = torch.floor(count.double() * (1.0 - step.alpha_s) / (1.0 - step.alpha_t) + 0.5).long()
        confidence = lp.gather(-1, draw.unsqueeze(-1)).squeeze(-1)
        if self.randomness > 0:
            noise = gumbel_noise(confidence.shape, state.generator, lp.device)
            confidence = confidence + self.randomness * (1.0 - step.alpha_s) * noise
        confidence = confidence.masked_fill(~masked, float("-inf"))
        rank = confidence.argsort(dim=-1, descending=True, stable=True).argsort(dim=-1)
        reveal = masked & (rank < (count - keep).unsqueeze(-1))
        return torch.where(reveal, draw, x)
