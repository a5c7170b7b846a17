"""The architectures a protdidi checkpoint can hold, by the `arch.type` its config.json records.

A checkpoint's `arch` is `{"type": ..., **backbone config}`; `build_denoiser` turns it back into a denoiser and
`architecture_config` writes it. New architectures register here (a denoiser class with `arch_type`, `config_class`
and `from_config(cfg, vocab, schedule)`)."""

from __future__ import annotations

import dataclasses

from protdidi.adapters.dit_denoiser import DitDenoiser
from protdidi.adapters.esm_denoiser import EsmDenoiser
from protdidi.config import from_dict
from protdidi.denoiser import MaskedDenoiser
from protdidi.errors import CheckpointError
from protdidi.schedule import LogLinearSchedule
from protdidi.vocab import Vocab

ARCHITECTURES = {cls.arch_type: cls for cls in (EsmDenoiser, DitDenoiser)}


def architecture_config(denoiser: MaskedDenoiser) -> dict:
    return {"type": denoiser.arch_type, **denoiser.backbone.cfg.to_dict()}


def build_denoiser(arch: dict, vocab: Vocab, schedule: LogLinearSchedule, source: str) -> MaskedDenoiser:
    """A fresh denoiser of the recorded architecture; an unknown type or bad fields are a `CheckpointError`."""
    arch = dict(arch)
    cls = ARCHITECTURES.get(arch.pop("type", None))
    if cls is None:
        raise CheckpointError(f"{source}: unknown architecture in config.json")
    try:
        cfg = from_dict(cls.config_class, arch, "arch")  # strict keys and types, finite numbers
        check_sizes(cfg)
        return cls.from_config(cfg, vocab, schedule)
    except (TypeError, ValueError) as err:  # ConfigError is a ValueError
        raise CheckpointError(f"{source}: bad architecture in config.json ({err})") from None


MAX_SIZE = 1 << 20  # no width, depth or length of a model this toolkit reads comes near it


def check_sizes(cfg) -> None:
    """Past `from_dict`'s type checks: integers of an architecture config lie in 0..MAX_SIZE and numbers are >= 0,
    so a damaged or hostile config.json is refused before any tensor is allocated."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and not 0 <= value <= MAX_SIZE:
            raise ValueError(f"{f.name} must be an integer in 0..{MAX_SIZE} (got {value!r})")
        if isinstance(value, float) and value < 0:
            raise ValueError(f"{f.name} must be a finite number >= 0 (got {value!r})")
