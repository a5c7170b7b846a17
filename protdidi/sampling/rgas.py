"""DiDi-Instruct's reward-guided ancestral sampler (RGAS).

Plan for N steps on the uniform grid 1 → 0: the first ⌊N(1−ratio)⌋ steps tilt the student's logits by the
discriminator's gradient, ℓ + h·clip(∂ΣD/∂ℓ, ±1), with h rising linearly from `guidance_start` to
`guidance_end`; the remaining steps draw M candidate next states and pick one by sampling from the softmax
of the discriminator's summed scores. Categorical draws are float64. NFE counts student calls only;
discriminator forwards and backwards (per sequence) are reported separately in `extra`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from protdidi.denoiser import MaskedDenoiser, subs
from protdidi.sampling.base import Generation, categorical_step, start_state
from protdidi.schedule import LogLinearSchedule, time_grid


@dataclass(frozen=True)
class PlanStep:
    kind: str  # "tilt" or "rerank"
    guidance: float  # h for tilting steps (0 for re-ranking)
    candidates: int  # M (1 for tilting steps)


def rgas_plan(steps: int, ratio: float, guidance_start: float, guidance_end: float, candidates: int) -> list[PlanStep]:
    """Which steps tilt and which re-rank: rerank_start = ⌊N·(1 − ratio)⌋, h_i interpolated over the tilting steps."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    rerank_start = int(steps * (1.0 - ratio))
    plan = []
    for i in range(steps):
        if i < rerank_start:
            frac = i / (rerank_start - 1) if rerank_start > 1 else 0.0
            plan.append(PlanStep("tilt", guidance_start + frac * (guidance_end - guidance_start), 1))
        else:
            plan.append(PlanStep("rerank", 0.0, candidates))
    return plan


def _pick(scores: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One index per row drawn from softmax(scores) (Gumbel-max in float64). scores: Float[M, B] → Long[B]."""
    s = scores.to(torch.float64)
    u = torch.rand(s.shape, generator=generator, dtype=torch.float64,
                   device=generator.device if generator is not None else s.device).to(s.device)
    return torch.argmax(s - torch.log(-torch.log(u.clamp_min(1e-300))), dim=0)


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
class RgasSampler(RgasSettings):
    schedule: LogLinearSchedule
    discriminator: torch.nn.Module
    needs_discriminator = True  # a class attribute: `build_sampler` hands it the student's discriminator

    def plan(self, steps: int) -> list[PlanStep]:
        return rgas_plan(steps, self.rerank_ratio, self.guidance_start, self.guidance_end, self.num_candidates)

    def sample(self, denoiser: MaskedDenoiser, num: int, length: int, steps: int,
               generator: torch.Generator | None = None, device: torch.device | str = "cpu",
               valid: torch.Tensor | None = None, template: torch.Tensor | None = None) -> Generation:
        """As `AncestralSampler.sample`; only designed (masked) positions are tilted, re-ranking scores whole
        sequences."""
        if num < 1 or length < 1 or steps < 1:
            raise ValueError(f"num, length and steps must be >= 1 (got {num}, {length}, {steps})")
        start = time.perf_counter()
        vocab = denoiser.vocab
        disc = self.discriminator.to(device).eval()
        sampleable = vocab.sampleable_mask(device)
        x = start_state(num, length, vocab, device, valid, template)
        valid = None if valid is None else valid.to(device)
        region = torch.ones((num, length), dtype=torch.bool, device=device) if valid is None else valid
        grid = time_grid(steps)
        alphas = self.schedule.alpha(grid).tolist()
        alphas[-1] = 1.0
        counts = {"disc_forwards": 0, "disc_backwards": 0}
        nfe = 0
        for i, step in enumerate(self.plan(steps)):
            t = torch.full((num,), float(grid[i]), device=device)
            s = torch.full((num,), float(grid[i + 1]), device=device)
            with torch.no_grad():
                logits = denoiser.logits(x, t, valid).float()
            nfe += 1
            masked = (x == vocab.mask_id) & region
            if step.kind == "tilt":
                logits = logits + step.guidance * self._reward_gradient(disc, logits, x, t, valid, masked)
                counts["disc_forwards"] += 1
                counts["disc_backwards"] += 1
                log_probs = subs(logits, x, vocab)
                x = categorical_step(log_probs, x, alphas[i], alphas[i + 1], vocab.mask_id, sampleable, generator)
            else:
                log_probs = subs(logits, x, vocab)
                cands = torch.stack([categorical_step(log_probs, x, alphas[i], alphas[i + 1], vocab.mask_id,
                                                      sampleable, generator) for _ in range(step.candidates)])
                if step.candidates > 1:
                    m = step.candidates
                    with torch.no_grad():
                        d = disc(cands.reshape(m * num, length), s.repeat(m),
                                 None if valid is None else valid.repeat(m, 1)).view(m, num, length)
                    counts["disc_forwards"] += m
                    scores = (d.float() * region).sum(-1)
                    x = cands[_pick(scores, generator), torch.arange(num, device=device)]
                else:
                    x = cands[0]
        return Generation(tokens=x, nfe=nfe, seconds=time.perf_counter() - start, extra=counts)

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
