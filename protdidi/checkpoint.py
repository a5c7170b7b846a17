"""Checkpoint directories, written and read in one place: config.json, vocab.json, <component>.safetensors,
trainer_state.pt, and the `LoadedModel` a directory is read into.

Directories are written under a temporary name and renamed into place, so a crash never leaves a half-written
checkpoint that looks loadable. config.json records `kind` (teacher or student), `domain`, `name`, `arch`,
`schedule`, and for a distilled student `method`, its teacher reference (spec + sha256, instead of a copy) and, when
the method trained one, `discriminator`. What a domain adds (protein length histograms, a text tokenizer) comes
from the domain object passed in (`protdidi.domains.base.Domain`); this module never asks which domain it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import save_file, save_model
from torch import nn

from protdidi.adapters.architectures import architecture_config, build_denoiser
from protdidi.atomic_dirs import write_dir_atomic
from protdidi.denoiser import MaskedDenoiser
from protdidi.discriminator import Discriminator
from protdidi.errors import CheckpointError, UserError
from protdidi.io import read_json_object
from protdidi.schedule import make_schedule
from protdidi.vocab import Vocab
from protdidi.weights import file_sha256, load_weights, read_weights

FORMAT = "protdidi/1"


def save_checkpoint(
    path: str | Path,
    config: dict,
    vocab: Vocab,
    components: dict[str, nn.Module | dict[str, torch.Tensor]],
    trainer_state: dict | None = None,
    files: dict[str, Callable[[Path], None]] | None = None,
) -> Path:
    """Write a checkpoint directory atomically (replacing any previous one at `path`). `files` maps extra
    file names to writers called with their path inside the temporary directory (e.g. a fair-esm `.pt`)."""

    def write(tmp: Path) -> None:
        (tmp / "config.json").write_text(json.dumps({"format": FORMAT, **config}, indent=1) + "\n")
        vocab.save(tmp / "vocab.json")
        for name, module in components.items():
            if isinstance(module, dict):  # an explicit state (e.g. only a model's trainable part)
                save_file(module, str(tmp / f"{name}.safetensors"))
            else:
                save_model(module, str(tmp / f"{name}.safetensors"))
        for name, writer in (files or {}).items():
            writer(tmp / name)
        if trainer_state is not None:
            torch.save(trainer_state, tmp / "trainer_state.pt")

    return write_dir_atomic(path, write, marker="config.json")


def read_config(path: str | Path) -> dict:
    """Read and check config.json of a checkpoint directory."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path}: not a checkpoint directory")
    cfg_file = path / "config.json"
    if not cfg_file.exists():
        raise CheckpointError(f"{path}: config.json is missing")
    cfg = read_json_object(cfg_file)
    if cfg.get("format") != FORMAT:
        raise CheckpointError(f"{cfg_file}: format {cfg.get('format')!r} is not {FORMAT!r}")
    return cfg


def read_vocab(path: str | Path, expected: Vocab | None = None) -> Vocab:
    """Read vocab.json; if `expected` is given, its token table and special ids must match."""
    vfile = Path(path) / "vocab.json"
    if not vfile.exists():
        raise CheckpointError(f"{path}: vocab.json is missing")
    try:
        vocab = Vocab.load(vfile)
    except (ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{vfile}: invalid vocabulary ({err})") from None
    if expected is not None and vocab.fingerprint() != expected.fingerprint():
        raise CheckpointError(
            f"{vfile}: vocabulary {vocab.name!r} ({vocab.size} tokens) does not match the expected "
            f"{expected.name!r} ({expected.size} tokens)")
    return vocab


def check_teacher_reference(path: Path, cfg: dict, resolve: Callable[[str], Path]) -> str:
    """A student's recorded teacher (`teacher.spec`, `teacher.sha256`) must exist and be unchanged.
    `resolve` maps the spec to its weights file. Returns the spec."""
    ref = cfg.get("teacher") or {}
    spec = ref.get("spec")
    if not spec:
        raise CheckpointError(f"{path}: config.json names no teacher")
    try:
        found = resolve(spec)
    except (UserError, OSError):
        raise CheckpointError(f"{path}: its teacher {spec!r} is not available (needed for the discriminator)") \
            from None
    if ref.get("sha256") and file_sha256(found) != ref["sha256"]:
        raise CheckpointError(f"{path}: the teacher at {spec!r} is not the one this student was distilled from")
    return spec


@dataclass
class LoadedModel:
    """A ready denoiser plus what generation needs to know about it."""

    denoiser: MaskedDenoiser
    name: str
    schedule: object
    max_length: int
    lengths: dict[int, int] = field(default_factory=dict)  # training length histogram (may be empty)
    kind: str = "teacher"  # "teacher" or "student"
    # Students with a discriminator: builds it (from the referenced teacher) for reward-guided sampling.
    load_discriminator: Callable[[], object] | None = None
    sampler_defaults: dict = field(default_factory=dict)  # the student's RGAS settings
    tokenizer: object = None  # text models: the tokenizer that encodes/decodes their ids
    precision: str = "fp32"  # the weights' precision ("fp32" or "bf16": `protdidi.precision`)


def save_model_dir(path: Path, denoiser: MaskedDenoiser, config: dict, components: dict | None = None,
                   trainer_state: dict | None = None, files: dict | None = None) -> None:
    """Write a checkpoint directory: `config` (kind, domain, name, schedule, ...) plus the architecture, the
    denoiser as model.safetensors and any further `components` (e.g. a discriminator's trainable part)."""
    config = {"kind": "teacher", **config, "arch": architecture_config(denoiser)}
    save_checkpoint(path, config, denoiser.vocab, {"model": denoiser, **(components or {})}, trainer_state, files)


def load_model_dir(path: Path, domain) -> LoadedModel:
    """Read a checkpoint directory written by `save_model_dir` for `domain` (which supplies the expected
    vocabulary and its own fields through `checkpoint_vocab`, and loads a student's teacher)."""
    path = Path(path)
    cfg = read_config(path)
    if cfg.get("domain") != domain.name:
        raise CheckpointError(f"{path}: a {cfg.get('domain')!r} checkpoint, not a {domain.name} one")
    check_common_fields(path, cfg)
    expected, fields = domain.checkpoint_vocab(path, cfg)
    vocab = read_vocab(path, expected=expected)
    try:
        schedule = make_schedule(cfg["schedule"])
    except (TypeError, ValueError, KeyError) as err:
        raise CheckpointError(f"{path}: bad schedule in config.json ({err})") from None
    denoiser = build_denoiser(cfg.get("arch", {}), vocab, schedule, str(path))
    lengths = fields.get("lengths") or {}
    if lengths and max(lengths) > denoiser.max_length:
        raise CheckpointError(f"{path}/config.json: training lengths up to {max(lengths)} exceed the model's "
                              f"maximum length {denoiser.max_length}")
    load_weights(denoiser, path, "model")
    loader = None
    if "discriminator" in cfg:
        loader = lambda: restore_discriminator(domain, path, cfg)  # noqa: E731
    return LoadedModel(denoiser.eval(), cfg.get("name", path.name), schedule, denoiser.max_length,
                       kind=cfg.get("kind", "teacher"), load_discriminator=loader,
                       sampler_defaults=dict(cfg.get("sampler", {})), **fields)


FIELD_TYPES = {"name": str, "kind": str, "arch": dict, "schedule": dict, "sampler": dict, "discriminator": dict,
               "teacher": dict}


def check_common_fields(path: Path, cfg: dict) -> None:
    """The fields every checkpoint may hold have their types (a hand-edited or hostile config.json is one error)."""
    for key, kind in FIELD_TYPES.items():
        if key in cfg and not isinstance(cfg[key], kind):
            raise CheckpointError(f"{path}/config.json: {key!r} must be a {'string' if kind is str else 'mapping'}")
    if cfg.get("kind", "teacher") not in ("teacher", "student"):
        raise CheckpointError(f"{path}/config.json: 'kind' must be 'teacher' or 'student'")


def restore_discriminator(domain, path: Path, cfg: dict):
    """A student's discriminator: its recorded (and unchanged) teacher's trunk plus the saved trainable part."""
    reference = cfg.get("teacher") or {}
    spec = check_teacher_reference(path, cfg, domain.weights_file)
    teacher = domain.load_model(spec, reference.get("tokenizer"))
    disc = Discriminator(teacher.denoiser, int(cfg["discriminator"].get("unfrozen_blocks", 4)))
    disc.load_trainable_state(read_weights(path, "discriminator"), f"{path}/discriminator.safetensors")
    return disc.eval()
