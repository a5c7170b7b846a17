"""Samplers: inference-only loops that drive a `MaskedDenoiser` from all-mask to clean tokens."""

from protdidi.sampling.ancestral import AncestralSampler
from protdidi.sampling.base import Generation, categorical_step
from protdidi.sampling.rgas import PlanStep, RgasSampler, rgas_plan

SAMPLERS = {"ancestral": AncestralSampler, "rgas": RgasSampler}


def make_sampler(name: str, **kwargs):
    """Build a sampler by name; unknown names are an error."""
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; known: {sorted(SAMPLERS)}")
    return SAMPLERS[name](**kwargs)


__all__ = ["SAMPLERS", "AncestralSampler", "Generation", "PlanStep", "RgasSampler", "categorical_step",
           "make_sampler", "rgas_plan"]
