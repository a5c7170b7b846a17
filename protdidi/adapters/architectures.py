"""The architectures a protdidi checkpoint can hold, by the `arch.type` its config.json records.

A checkpoint's `arch` is `{"type": ..., **backbone config}`; `build_denoiser` turns it back into a denoiser and
`architecture_config` writes it. New architectures register here (a denoiser class with `arch_type`, `config_class`
and `from_config(cfg, vocab, schedule)`)."""

from __future__ import annotations

import dataclasses
import math

from protdidi.adapters.dit_denoiser import DitDenoiser
from protdidi.adapters.esm_denoiser import EsmDenoiser
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
        cfg = cls.config_class(**arch)
        check_fields(cfg)
        return cls.from_config(cfg, vocab, schedule)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{source}: bad architecture in config.json ({err})") from None


MAX_SIZE = 1 << 20  # no width, depth or length of a model this toolkit reads comes near it


def check_fields(cfg) -> None:
    """Every field of an architecture config has its default's type, integers lie in 0..MAX_SIZE and numbers are
    finite and >= 0: a damaged or hostile config.json is refused before any tensor is allocated."""
    for f in dataclasses.fields(cfg):
        value, default = getattr(cfg, f.name), f.default
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise TypeError(f"{f.name} must be true or false (got {value!r})")
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SIZE:
                raise ValueError(f"{f.name} must be an integer in 0..{MAX_SIZE} (got {value!r})")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0:
                raise ValueError(f"{f.name} must be a finite number >= 0 (got {value!r})")
