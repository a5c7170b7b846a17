"""DiDi-Instruct's reward-guided ancestral sampler (RGAS).

Plan for N steps on the uniform grid 1 → 0: the first ⌊N(1−ratio)⌋ steps tilt the student's logits by the
discriminator's gradient, ℓ + h·clip(∂ΣD/∂ℓ, ±1), with h rising linearly from `guidance_start` to
`guidance_end`; the remaining steps draw M candidate next states and pick one by sampling from the softmax
of the discriminator's summed scores. Categorical draws are float64. NFE counts student calls only;
discriminator forwards and backwards (per sequence) are reported separately in `extra`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from protdidi.denoiser import subs
from protdidi.sampling.base import Sampler, State, Step, categorical_step, gumbel_noise, uniform_plan
from protdidi.schedule import LogLinearSchedule


@dataclass(frozen=True)
class RgasStep(Step):
    kind: str = "tilt"  # "tilt" or "rerank"
    guidance: float = 0.0  # h for tilting steps (0 for re-ranking)
    candidates: int = 1  # M (1 for tilting steps)


def rgas_plan(steps: int, ratio: float, guidance_start: float, guidance_end: float, candidates: int,
              schedule: LogLinearSchedule | None = None) -> list[RgasStep]:
    """Which steps tilt and which re-rank: rerank_start = ⌊N·(1 − ratio)⌋, h_i interpolated over the tilting steps,
    on the uniform grid of `schedule` (default: the log-linear one)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    rerank_start = int(steps * (1.0 - ratio))
    plan = []
    for i, base in enumerate(uniform_plan(schedule or LogLinearSchedule(), steps)):
        if i < rerank_start:
            frac = i / (rerank_start - 1) if rerank_start > 1 else 0.0
            plan.append(RgasStep(**vars(base), kind="tilt",
                                 guidance=guidance_start + frac * (guidance_end - guidance_start)))
        else:
            plan.append(RgasStep(**vars(base), kind="rerank", candidates=candidates))
    return plan


def _pick(scores: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One index per row drawn from softmax(scores) (Gumbel-max in float64). scores: Float[M, B] → Long[B]."""
    s = scores.to(torch.float64)
    return torch.argmax(s + gumbel_noise(s.shape, generator, s.device), dim=0)


@dataclass(kw_only=True)
class RgasSettings:
    """RGAS's settings (the specification's defaults). A DiDi student stores the ones it was distilled with in its
    config.json ("sampler"), and `--sampler rgas` uses them."""

    num_candidates: int = 4
    rerank_ratio: float = 0.5
    guidance_start: float = 30.0
    guidance_end: float = 40.0

    def __post_init__(self) -> None:
        if self.num_candidates < 1 or not 0 <= self.rerank_ratio <= 1:
            raise ValueError("num_candidates must be >= 1 and rerank_ratio in [0, 1]")


@dataclass(kw_only=True)
class RgasSampler(RgasSettings, Sampler):
    schedule: LogLinearSchedule
    discriminator: torch.nn.Module
    needs_discriminator = True  # a class attribute: `build_sampler` hands it the student's discriminator

    def plan(self, steps: int) -> list[RgasStep]:
        return rgas_plan(steps, self.rerank_ratio, self.guidance_start, self.guidance_end, self.num_candidates,
                         self.schedule)

    def step(self, state: State, step: RgasStep) -> torch.Tensor:
        """A tilting step guides the designed (masked) positions only; a re-ranking step scores whole sequences."""
        x, vocab, valid, region = state.x, state.vocab, state.valid, state.region
        disc = self.discriminator.to(x.device).eval()
        t, s = state.times(step.t), state.times(step.s)
        with torch.no_grad():
            logits = state.denoiser.logits(x, t, valid).float()
        masked = (x == vocab.mask_id) & region
        if step.kind == "tilt":
            logits = logits + step.guidance * self._reward_gradient(disc, logits, x, t, valid, masked)
            state.count("disc_forwards")
            state.count("disc_backwards")
            return categorical_step(subs(logits, x, vocab), x, step.alpha_t, step.alpha_s, vocab.mask_id,
                                    state.sampleable, state.generator)
        log_probs = subs(logits, x, vocab)
        m, num, length = step.candidates, x.shape[0], x.shape[1]
        cands = torch.stack([categorical_step(log_probs, x, step.alpha_t, step.alpha_s, vocab.mask_id,
                                              state.sampleable, state.generator) for _ in range(m)])
        if m == 1:
            return cands[0]
        with torch.no_grad():
            d = disc(cands.reshape(m * num, length), s.repeat(m),
                     None if valid is None else valid.repeat(m, 1)).view(m, num, length)
        state.count("disc_forwards", m)
        scores = (d.float() * region).sum(-1)
        return cands[_pick(scores, state.generator), torch.arange(num, device=x.device)]

    @staticmethod
    def _reward_gradient(disc, logits, x, t, valid, masked) -> torch.Tensor:
        """clip(∂/∂ℓ Σ_masked D(soft input), ±1), zero at unmasked positions. Soft input: softmax(ℓ) at
        masked positions (special tokens excluded), the hard token elsewhere."""
        vocab = disc.vocab
        with torch.enable_grad():
            ell = logits.detach().requires_grad_(True)
            probs = torch.softmax(ell.masked_fill(vocab.special_mask(ell.device), float("-inf")), dim=-1)
            hard = torch.nn.functional.one_hot(x, vocab.size).to(probs.dtype)
            soft = torch.where(masked[..., None], probs, hard)
            total = (disc(x, t, valid, soft).float() * masked).sum()
            (grad,) = torch.autograd.grad(total, ell)
        return grad.masked_fill(~masked[..., None], 0.0).clamp(-1.0, 1.0)
