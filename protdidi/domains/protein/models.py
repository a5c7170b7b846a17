"""Resolve `--model` for proteins: a shipped name, a protdidi checkpoint dir, a fair-esm `.pt`, or an HF dir."""

from __future__ import annotations

from pathlib import Path

from protdidi.assets import ASSETS
from protdidi.checkpoint import LoadedModel, load_model_dir
from protdidi.domains.protein.alphabet import protein_vocab
from protdidi.errors import CheckpointError, UserError
from protdidi.io import read_json_object
from protdidi.weights import file_sha256, weights_path

# Shipped models by name (directories under protdidi/assets/).
SHIPPED = {"didi": "protdidi-cath-didi", "idlm": "protdidi-cath-idlm", "teacher": "protdidi-cath-teacher"}
DEFAULT_MODEL = "idlm"  # what `protdidi generate` uses without --model: the IDLM student (benchmarks/results)
DEFAULT_TEACHER = "teacher"  # what `protdidi distill` distils without --teacher


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


def _wrap_esm(backbone, name: str) -> LoadedModel:
    from protdidi.adapters.esm_denoiser import EsmDenoiser
    from protdidi.schedule import LogLinearSchedule

    denoiser = EsmDenoiser(backbone, protein_vocab()).eval()
    return LoadedModel(denoiser, name, LogLinearSchedule(), denoiser.max_length, {})


def load_protein_model(spec: str | None, domain) -> LoadedModel:
    """`spec`: None/shipped name, protdidi checkpoint dir, fair-esm `.pt` file, or HF EsmForMaskedLM dir.
    `domain`: the protein domain object (reads protdidi checkpoint directories)."""
    spec = spec or DEFAULT_MODEL
    if spec in SHIPPED:
        path = ASSETS / SHIPPED[spec]
        if not path.exists():
            raise UserError(f"shipped model {spec!r} is not installed (expected {path})")
        return load_model_dir(path, domain)
    path = Path(spec)
    if not path.exists():
        raise UserError(f"model {spec!r}: not a shipped name ({', '.join(SHIPPED)}) and no such path")
    if path.is_file():
        if path.suffix != ".pt":
            raise UserError(f"model {spec!r}: a file model must be a fair-esm .pt checkpoint")
        from protdidi.adapters.esm_weights import load_fair_esm

        return _wrap_esm(load_fair_esm(path), path.stem)
    cfg_file = path / "config.json"
    if not cfg_file.exists():
        raise CheckpointError(f"{path}: config.json is missing")
    if read_json_object(cfg_file).get("format") is not None:
        return load_model_dir(path, domain)
    from protdidi.adapters.esm_weights import load_hf_esm

    return _wrap_esm(load_hf_esm(path), path.name)


def length_histogram(raw, path) -> dict[int, int]:
    """A checkpoint's training-length histogram (config.json `lengths`: length -> count), checked."""
    try:
        lengths = {int(k): int(v) for k, v in raw.items()}
    except (AttributeError, TypeError, ValueError):
        raise CheckpointError(f"{path}/config.json: 'lengths' must map lengths to counts") from None
    if any(k < 1 or v < 0 for k, v in lengths.items()) or (lengths and not sum(lengths.values())):
        raise CheckpointError(f"{path}/config.json: 'lengths' needs lengths >= 1 and counts >= 0, not all zero")
    return lengths
