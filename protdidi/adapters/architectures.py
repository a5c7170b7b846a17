"""The architectures a protdidi checkpoint can hold, by the `arch.type` its config.json records.

A checkpoint's `arch` is `{"type": ..., **backbone config}`; `build_denoiser` turns it back into a denoiser and
`architecture_config` writes it. New architectures register here (a denoiser class with `arch_type`, `config_class`
and `from_config(cfg, vocab, schedule)`)."""

from __future__ import annotations

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
        return cls.from_config(cls.config_class(**arch), vocab, schedule)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{source}: bad architecture in config.json ({err})") from None
