"""Resolve a text model: a protdidi checkpoint directory (domain text), an MDLM/DUO `.ckpt`, or an HF MDLM dir.

protdidi text checkpoints carry their tokenizer in `tokenizer/`; the public MDLM checkpoints do not, so they
take `tokenizer` (default `gpt2`: a hub name, or a local directory when offline).
"""

from __future__ import annotations

from pathlib import Path

from protdidi.adapters.dit_denoiser import DitDenoiser
from protdidi.checkpoint import LoadedModel, load_model_dir
from protdidi.domains.text.tokenizer import load_tokenizer, text_vocab
from protdidi.errors import CheckpointError, UserError
from protdidi.schedule import LogLinearSchedule
from protdidi.weights import file_sha256, weights_path

DEFAULT_TOKENIZER = "gpt2"
TOKENIZER_DIR = "tokenizer"


def tokenizer_writer(tokenizer):
    """A checkpoint `files` writer that saves the tokenizer (HF format) into `tokenizer/`, so a checkpoint
    decodes offline whatever the tokenizer was loaded from."""

    def write(target: Path) -> None:
        target.mkdir()
        tokenizer.save_pretrained(str(target))

    return write


def _wrap_dit(backbone, name: str, tokenizer_spec: str) -> LoadedModel:
    tokenizer = load_tokenizer(tokenizer_spec)
    vocab = text_vocab(tokenizer)
    if backbone.cfg.vocab_size != vocab.size:
        raise UserError(f"{name}: the model has {backbone.cfg.vocab_size} tokens but tokenizer {tokenizer_spec!r} "
                        f"gives {vocab.size} (with the appended mask)")
    schedule = LogLinearSchedule()
    denoiser = DitDenoiser(backbone, vocab, schedule).eval()
    return LoadedModel(denoiser, name, schedule, denoiser.max_length, {}, "teacher", None, {}, tokenizer)


def load_text_model(spec: str, domain, tokenizer: str | None = None) -> LoadedModel:
    """`spec`: a protdidi text checkpoint dir, an MDLM/DUO Lightning `.ckpt`, or an HF MDLM directory.
    `domain`: the text domain object (reads protdidi checkpoint directories)."""
    from protdidi.adapters.mdlm_weights import is_mdlm_hf_dir, load_mdlm_ckpt, load_mdlm_hf

    path = Path(spec)
    if not path.exists():
        raise UserError(f"model {spec!r}: no such file or directory")
    if path.is_file():
        if path.suffix != ".ckpt":
            raise UserError(f"model {spec!r}: a file model must be an MDLM/DUO Lightning .ckpt")
        return _wrap_dit(load_mdlm_ckpt(path), path.stem, tokenizer or DEFAULT_TOKENIZER)
    if is_mdlm_hf_dir(path):
        return _wrap_dit(load_mdlm_hf(path), path.name, tokenizer or DEFAULT_TOKENIZER)
    return load_model_dir(path, domain)


def checkpoint_vocab(path: Path) -> tuple:
    """A protdidi text checkpoint carries its tokenizer in tokenizer/; its vocabulary must be that tokenizer's."""
    if not (path / TOKENIZER_DIR).is_dir():
        raise CheckpointError(f"{path}: {TOKENIZER_DIR}/ is missing")
    tokenizer = load_tokenizer(str(path / TOKENIZER_DIR))
    return text_vocab(tokenizer), {"tokenizer": tokenizer}


def teacher_reference(spec: str, tokenizer: str) -> dict:
    """An absolute path plus the sha256 of its weights file (teacher weights are never copied), and the tokenizer
    a .ckpt/HF teacher was loaded with."""
    ref = str(Path(spec).resolve())
    return {"spec": ref, "sha256": file_sha256(weights_path(ref)), "tokenizer": tokenizer}
