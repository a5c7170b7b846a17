"""Samplers: inference-only loops that drive a `MaskedDenoiser` from all-mask to clean tokens.

Each sampler is a dataclass with `sample(denoiser, num, length, steps, generator, device, valid) -> Generation` and a
class attribute `needs_discriminator`. This package's import is torch-free: `SAMPLERS` imports a sampler when asked.
"""

from protdidi.registry import Registry

SAMPLERS = Registry("sampler", {"ancestral": "protdidi.sampling.ancestral:AncestralSampler",
                                "rgas": "protdidi.sampling.rgas:RgasSampler"})


def make_sampler(name: str, **kwargs):
    """Build a sampler by name; unknown names are a `UserError`."""
    return SAMPLERS.get(name)(**kwargs)
