"""Text tokenizers through transformers (a local directory or a hub name), and the `Vocab` MDLM builds from them.

MDLM appends one [MASK] after the tokenizer's ids (GPT-2: 50,257 + 1 = 50,258). GPT-2 uses one id
(`<|endoftext|>`) for BOS, EOS and padding; the mask gets its own id, and EOS stays predictable.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from protdidi.atomic_dirs import write_dir_atomic
from protdidi.domains.text.hub import from_hub
from protdidi.errors import UserError
from protdidi.vocab import Vocab

MASK_TOKEN = "[MASK]"
EOT = "<|endoftext|>"
TOKENIZER_MARKER = "protdidi_tokenizer.json"  # written last into every tokenizer directory train_bpe makes


@lru_cache(maxsize=8)
def load_tokenizer(spec: str):
    """A fast tokenizer from a local directory (vocab.json + merges.txt or tokenizer.json) or a hub name."""
    from transformers import AutoTokenizer

    path = Path(spec)
    if path.exists() and not path.is_dir():
        raise UserError(f"tokenizer {spec!r}: expected a directory (vocab.json, merges.txt) or a hub name")
    try:
        tok = from_hub(AutoTokenizer.from_pretrained, str(path) if path.is_dir() else spec)
    except (OSError, ValueError) as err:
        where = "the directory has no usable tokenizer files" if path.is_dir() else \
            "it is not a local directory and could not be downloaded (offline?); pass a local directory " \
            "holding vocab.json and merges.txt, e.g. a saved copy of gpt2"
        raise UserError(f"tokenizer {spec!r}: {where} ({type(err).__name__})") from None
    for name in ("bos", "eos"):
        if getattr(tok, f"{name}_token_id") is None:
            fallback = tok.cls_token_id if name == "bos" else tok.sep_token_id
            if fallback is None:
                raise UserError(f"tokenizer {spec!r} has no {name.upper()} token")
    return tok


def text_vocab(tokenizer, name: str | None = None) -> Vocab:
    """The tokenizer's ids in order, then [MASK]. BOS/EOS/pad keep the tokenizer's ids (pad falls back to EOS)."""
    n = len(tokenizer)
    tokens = tokenizer.convert_ids_to_tokens(list(range(n)))
    mask = MASK_TOKEN
    while mask in tokens:
        mask = f"<{mask}>"
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.cls_token_id
    eos = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    return Vocab(name=name or f"text-{n + 1}", tokens=(*tokens, mask),
                 mask_id=n, pad_id=pad, bos_id=bos, eos_id=eos, special=(n,), sampleable=tuple(range(n)))


def decode(tokenizer, rows) -> list[str]:
    """MDLM/DUO convention: `batch_decode` with special tokens kept in the text."""
    return tokenizer.batch_decode([[int(i) for i in row] for row in rows], skip_special_tokens=False)


def train_bpe(files: list[str | Path], vocab_size: int, out_dir: str | Path, min_frequency: int = 2) -> Path:
    """A byte-level BPE (GPT-2's scheme) trained with `tokenizers`, saved so that GPT2TokenizerFast /
    AutoTokenizer read it offline: vocab.json, merges.txt, tokenizer.json, tokenizer_config.json."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2TokenizerFast

    def write(out: Path) -> None:
        bpe = ByteLevelBPETokenizer(add_prefix_space=False)
        bpe.train([str(f) for f in files], vocab_size=vocab_size, min_frequency=min_frequency,
                  special_tokens=[EOT], show_progress=False)
        bpe.save_model(str(out))
        # from_pretrained maps vocab.json/merges.txt onto whatever arguments this transformers version expects.
        tok = GPT2TokenizerFast.from_pretrained(str(out), bos_token=EOT, eos_token=EOT, unk_token=EOT)
        tok.model_max_length = 1 << 30
        tok.save_pretrained(str(out))
        meta = {"trained_on": [Path(f).name for f in files], "vocab_size": len(tok), "min_frequency": min_frequency}
        (out / TOKENIZER_MARKER).write_text(json.dumps(meta, indent=1) + "\n")

    return write_dir_atomic(out_dir, write, marker=TOKENIZER_MARKER)
