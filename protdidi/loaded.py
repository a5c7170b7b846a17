"""A loaded generator (any domain): the denoiser plus what sampling and checkpoints need to know about it, and the
one way a protdidi checkpoint directory is written and read back.

A checkpoint directory's config.json records `kind` (teacher or student), `domain`, `name`, `arch`, `schedule`,
and for a distilled student `method`, its teacher reference and, when the method trained one, `discriminator`.
What a domain adds (protein length histograms, a text tokenizer) comes from the domain object passed in
(`protdidi.domains.base.Domain`); this module never asks which domain it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from protdidi.adapters.architectures import architecture_config, build_denoiser
from protdidi.checkpoint import (
    check_teacher_reference,
    load_weights,
    read_config,
    read_vocab,
    read_weights,
    save_checkpoint,
)
from protdidi.denoiser import MaskedDenoiser
from protdidi.discriminator import Discriminator
from protdidi.errors import CheckpointError, UserError
from protdidi.sampling import SAMPLERS
from protdidi.schedule import make_schedule


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


def build_sampler(model: LoadedModel, name: str):
    """The named sampler for this model; a sampler that needs a discriminator needs a student that has one."""
    cls = SAMPLERS.get(name)
    if not cls.needs_discriminator:
        return cls(schedule=model.schedule)
    if model.load_discriminator is None:
        raise UserError(f"--sampler {name} needs a distilled student with a discriminator; "
                        f"{model.name!r} is a {model.kind} without one")
    return cls(schedule=model.schedule, discriminator=model.load_discriminator(), **model.sampler_defaults)


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
