"""Samplers: how a `MaskedDenoiser` is driven from all-mask to clean tokens, as a plan (the time grid) and a step
(`sampling/base.py::Sampler`); the loop that runs them is `protdidi.generation.driver`. Register a new sampler here
(one file with its plan and step); the contract tests run over every registered sampler. This package's import is
torch-free: `SAMPLERS` imports a sampler when asked.
"""

from protdidi.registry import Registry

SAMPLERS = Registry("sampler", {"ancestral": "protdidi.sampling.ancestral:AncestralSampler",
                                "confidence": "protdidi.sampling.confidence:ConfidenceSampler",
                                "rgas": "protdidi.sampling.rgas:RgasSampler"})
