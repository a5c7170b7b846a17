"""A loaded generator: the denoiser plus what sampling and checkpoints need to know about it (any domain)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from protdidi.denoiser import MaskedDenoiser
from protdidi.errors import UserError
from protdidi.sampling import make_sampler


@dataclass
class LoadedModel:
    """A ready denoiser plus what generation needs to know about it."""

    denoiser: MaskedDenoiser
    name: str
    schedule: object
    max_length: int
    lengths: dict[int, int] = field(default_factory=dict)  # training length histogram (may be empty)
    kind: str = "teacher"  # "teacher" or "student"
    # Students: builds the discriminator (from the referenced teacher) for reward-guided sampling.
    load_discriminator: Callable[[], object] | None = None
    sampler_defaults: dict = field(default_factory=dict)  # the student's RGAS settings
    tokenizer: object = None  # text models: the tokenizer that encodes/decodes their ids


def build_sampler(model: LoadedModel, name: str):
    """The named sampler for this model; RGAS needs a distilled student (its discriminator)."""
    if name == "rgas":
        if model.load_discriminator is None:
            raise UserError(f"--sampler rgas needs a distilled student with a discriminator; "
                            f"{model.name!r} is a {model.kind}")
        return make_sampler("rgas", schedule=model.schedule, discriminator=model.load_discriminator(),
                            **model.sampler_defaults)
    return make_sampler(name, schedule=model.schedule)
