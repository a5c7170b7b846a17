"""Resolve `--model` for proteins: a shipped name, a protdidi checkpoint dir, a fair-esm `.pt`, or an HF dir."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from protdidi.checkpoint import load_weights, read_config, read_vocab, save_checkpoint
from protdidi.denoiser import MaskedDenoiser
from protdidi.domains.protein.alphabet import protein_vocab
from protdidi.errors import CheckpointError, UserError
from protdidi.models.esm2 import Esm2Config
from protdidi.schedule import make_schedule
from protdidi.teachers.esm_denoiser import EsmDenoiser

ASSETS = Path(__file__).resolve().parents[2] / "assets"
# Shipped models by name; the first is the default of `protdidi generate`.
SHIPPED = {"teacher": "protdidi-cath-teacher"}
DEFAULT_MODEL = "teacher"


@dataclass
class LoadedModel:
    """A ready denoiser plus what generation needs to know about it."""

    denoiser: MaskedDenoiser
    name: str
    schedule: object
    max_length: int
    lengths: dict[int, int] = field(default_factory=dict)  # training length histogram (may be empty)


def save_protein_model(path: Path, denoiser: EsmDenoiser, name: str, schedule_spec: dict, lengths: dict,
                       extra: dict | None = None, trainer_state: dict | None = None) -> None:
    config = {"kind": "teacher", "domain": "protein", "name": name,
              "arch": {"type": "esm2", **denoiser.backbone.cfg.to_dict()}, "schedule": schedule_spec,
              "lengths": {str(k): v for k, v in lengths.items()}, **(extra or {})}
    save_checkpoint(path, config, denoiser.vocab, {"model": denoiser}, trainer_state)


def _load_protdidi_dir(path: Path) -> LoadedModel:
    cfg = read_config(path)
    if cfg.get("domain") != "protein":
        raise CheckpointError(f"{path}: a {cfg.get('domain')!r} checkpoint, not a protein one")
    vocab = read_vocab(path, expected=protein_vocab())
    arch = dict(cfg.get("arch", {}))
    if arch.pop("type", None) != "esm2":
        raise CheckpointError(f"{path}: unknown architecture in config.json")
    try:
        denoiser = EsmDenoiser.from_config(Esm2Config(**arch), vocab)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: bad architecture in config.json ({err})") from None
    load_weights(denoiser, path, "model")
    lengths = {int(k): int(v) for k, v in cfg.get("lengths", {}).items()}
    return LoadedModel(denoiser.eval(), cfg.get("name", path.name), make_schedule(cfg["schedule"]),
                       denoiser.max_length, lengths)


def _wrap_esm(backbone, name: str) -> LoadedModel:
    from protdidi.schedule import LogLinearSchedule

    denoiser = EsmDenoiser(backbone, protein_vocab()).eval()
    return LoadedModel(denoiser, name, LogLinearSchedule(), denoiser.max_length, {})


def load_protein_model(spec: str | None) -> LoadedModel:
    """`spec`: None/shipped name, protdidi checkpoint dir, fair-esm `.pt` file, or HF EsmForMaskedLM dir."""
    spec = spec or DEFAULT_MODEL
    if spec in SHIPPED:
        path = ASSETS / SHIPPED[spec]
        if not path.exists():
            raise UserError(f"shipped model {spec!r} is not installed (expected {path})")
        return _load_protdidi_dir(path)
    path = Path(spec)
    if not path.exists():
        raise UserError(f"model {spec!r}: not a shipped name ({', '.join(SHIPPED)}) and no such path")
    if path.is_file():
        if path.suffix != ".pt":
            raise UserError(f"model {spec!r}: a file model must be a fair-esm .pt checkpoint")
        from protdidi.teachers.esm_weights import load_fair_esm

        return _wrap_esm(load_fair_esm(path), path.stem)
    cfg_file = path / "config.json"
    if not cfg_file.exists():
        raise CheckpointError(f"{path}: config.json is missing")
    try:
        fmt = json.loads(cfg_file.read_text()).get("format")
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{cfg_file}: not valid JSON ({err.msg})") from None
    if fmt is not None:
        return _load_protdidi_dir(path)
    from protdidi.teachers.esm_weights import load_hf_esm

    return _wrap_esm(load_hf_esm(path), path.name)
