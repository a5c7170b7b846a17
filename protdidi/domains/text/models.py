"""Resolve a text model: a protdidi checkpoint directory (domain text), an MDLM/DUO `.ckpt`, or an HF MDLM dir.

protdidi text checkpoints carry their tokenizer in `tokenizer/`; the public MDLM checkpoints do not, so they
take `tokenizer` (default `gpt2`: a hub name, or a local directory when offline).
"""

from __future__ import annotations

from pathlib import Path

from protdidi.checkpoint import (
    check_teacher_reference,
    file_sha256,
    load_weights,
    read_config,
    read_vocab,
    save_checkpoint,
    weights_path,
)
from protdidi.domains.text.tokenizer import load_tokenizer, text_vocab
from protdidi.errors import CheckpointError, UserError
from protdidi.loaded import LoadedModel
from protdidi.models.dit import DitConfig
from protdidi.schedule import LogLinearSchedule, make_schedule
from protdidi.teachers.dit_denoiser import DitDenoiser

DEFAULT_TOKENIZER = "gpt2"
TOKENIZER_DIR = "tokenizer"


def tokenizer_writer(tokenizer):
    """A checkpoint `files` writer that saves the tokenizer (HF format) into `tokenizer/`, so a checkpoint
    decodes offline whatever the tokenizer was loaded from."""

    def write(target: Path) -> None:
        target.mkdir()
        tokenizer.save_pretrained(str(target))

    return write


def text_checkpoint_config(denoiser: DitDenoiser, schedule_spec: dict) -> dict:
    return {"domain": "text", "arch": {"type": "dit", **denoiser.backbone.cfg.to_dict()}, "schedule": schedule_spec}


def save_text_model(path: Path, denoiser: DitDenoiser, name: str, schedule_spec: dict, tokenizer,
                    extra: dict | None = None, trainer_state: dict | None = None) -> None:
    config = {"kind": "teacher", "name": name, **text_checkpoint_config(denoiser, schedule_spec), **(extra or {})}
    save_checkpoint(path, config, denoiser.vocab, {"model": denoiser}, trainer_state,
                    files={TOKENIZER_DIR: tokenizer_writer(tokenizer)})


def _load_protdidi_dir(path: Path) -> LoadedModel:
    cfg = read_config(path)
    if cfg.get("domain") != "text":
        raise CheckpointError(f"{path}: a {cfg.get('domain')!r} checkpoint, not a text one")
    if not (path / TOKENIZER_DIR).is_dir():
        raise CheckpointError(f"{path}: {TOKENIZER_DIR}/ is missing")
    tokenizer = load_tokenizer(str(path / TOKENIZER_DIR))
    vocab = read_vocab(path, expected=text_vocab(tokenizer))
    arch = dict(cfg.get("arch", {}))
    if arch.pop("type", None) != "dit":
        raise CheckpointError(f"{path}: unknown architecture in config.json")
    try:
        schedule = make_schedule(cfg["schedule"])
        denoiser = DitDenoiser.from_config(DitConfig(**arch), vocab, schedule)
    except (TypeError, ValueError, KeyError) as err:
        raise CheckpointError(f"{path}: bad architecture in config.json ({err})") from None
    load_weights(denoiser, path, "model")
    kind = cfg.get("kind", "teacher")
    loader = (lambda: load_discriminator(path, cfg)) if kind == "student" and cfg.get("method") == "didi" else None
    return LoadedModel(denoiser.eval(), cfg.get("name", path.name), schedule, denoiser.max_length, {}, kind, loader,
                       dict(cfg.get("sampler", {})), tokenizer)


def _wrap_dit(backbone, name: str, tokenizer_spec: str) -> LoadedModel:
    tokenizer = load_tokenizer(tokenizer_spec)
    vocab = text_vocab(tokenizer)
    if backbone.cfg.vocab_size != vocab.size:
        raise UserError(f"{name}: the model has {backbone.cfg.vocab_size} tokens but tokenizer {tokenizer_spec!r} "
                        f"gives {vocab.size} (with the appended mask)")
    schedule = LogLinearSchedule()
    denoiser = DitDenoiser(backbone, vocab, schedule).eval()
    return LoadedModel(denoiser, name, schedule, denoiser.max_length, {}, "teacher", None, {}, tokenizer)


def load_text_model(spec: str, tokenizer: str | None = None) -> LoadedModel:
    """`spec`: a protdidi text checkpoint dir, an MDLM/DUO Lightning `.ckpt`, or an HF MDLM directory."""
    from protdidi.teachers.mdlm_weights import is_mdlm_hf_dir, load_mdlm_ckpt, load_mdlm_hf

    path = Path(spec)
    if not path.exists():
        raise UserError(f"model {spec!r}: no such file or directory")
    if path.is_file():
        if path.suffix != ".ckpt":
            raise UserError(f"model {spec!r}: a file model must be an MDLM/DUO Lightning .ckpt")
        return _wrap_dit(load_mdlm_ckpt(path), path.stem, tokenizer or DEFAULT_TOKENIZER)
    if is_mdlm_hf_dir(path):
        return _wrap_dit(load_mdlm_hf(path), path.name, tokenizer or DEFAULT_TOKENIZER)
    return _load_protdidi_dir(path)


def teacher_reference(spec: str) -> dict:
    """An absolute path plus the sha256 of its weights file; teacher weights are never copied."""
    ref = str(Path(spec).resolve())
    return {"spec": ref, "sha256": file_sha256(weights_path(ref))}


def load_discriminator(path: Path, cfg: dict):
    from protdidi.methods.discriminator import restore_discriminator

    spec = check_teacher_reference(path, cfg, weights_path)
    teacher = load_text_model(spec, (cfg.get("teacher") or {}).get("tokenizer"))
    return restore_discriminator(teacher.denoiser, path, cfg)
