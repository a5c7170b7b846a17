"""Resolve `--model` for proteins: a shipped name, a protdidi checkpoint dir, a fair-esm `.pt`, or an HF dir."""

from __future__ import annotations

import json
from pathlib import Path

from protdidi.assets import ASSETS
from protdidi.checkpoint import (
    check_teacher_reference,
    file_sha256,
    load_weights,
    read_config,
    read_vocab,
    save_checkpoint,
    weights_path,
)
from protdidi.domains.protein.alphabet import protein_vocab
from protdidi.errors import CheckpointError, UserError
from protdidi.loaded import LoadedModel
from protdidi.models.esm2 import Esm2Config
from protdidi.schedule import make_schedule
from protdidi.teachers.esm_denoiser import EsmDenoiser

# Shipped models by name (directories under protdidi/assets/).
SHIPPED = {"didi": "protdidi-cath-didi", "idlm": "protdidi-cath-idlm", "teacher": "protdidi-cath-teacher"}
DEFAULT_MODEL = "idlm"  # what `protdidi generate` uses without --model: the IDLM student (benchmarks/results)
DEFAULT_TEACHER = "teacher"  # what `protdidi distill` distils without --teacher


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
    kind = cfg.get("kind", "teacher")
    loader = (lambda: load_discriminator(path, cfg)) if kind == "student" and cfg.get("method") == "didi" else None
    return LoadedModel(denoiser.eval(), cfg.get("name", path.name), make_schedule(cfg["schedule"]),
                       denoiser.max_length, lengths, kind, loader, dict(cfg.get("sampler", {})))


def weights_file(spec: str) -> Path:
    """The file holding a model's weights (what a student's teacher reference fingerprints)."""
    try:
        return weights_path(ASSETS / SHIPPED[spec] if spec in SHIPPED else Path(spec))
    except CheckpointError:
        raise UserError(f"model {spec!r}: no weights file found") from None


def teacher_reference(spec: str | None) -> dict:
    """How a student checkpoint names its teacher: the shipped name or an absolute path, plus a sha256 of
    the teacher's weights file so that a changed teacher is noticed. Teacher weights are never copied."""
    spec = spec or DEFAULT_TEACHER
    ref = spec if spec in SHIPPED else str(Path(spec).resolve())
    return {"spec": ref, "sha256": file_sha256(weights_file(ref))}


def load_discriminator(path: Path, cfg: dict):
    """Rebuild a student's discriminator: the referenced teacher's trunk plus the saved trainable part."""
    from protdidi.methods.discriminator import restore_discriminator

    spec = check_teacher_reference(path, cfg, weights_file)
    return restore_discriminator(load_protein_model(spec).denoiser, path, cfg)


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
