"""Text corpora → fixed-length training windows, the way MDLM's OWT pipeline "wraps" documents.

Documents are tokenised and concatenated with EOS after each; the stream is cut into chunks of L−2 tokens,
and every chunk becomes `BOS chunk EOS` (L tokens; the trailing partial chunk is dropped). The split is
contiguous and deterministic: the first `1 − valid − test` of the token stream trains, the next `valid`
validates and the last `test` tests, so no window straddles two splits.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from protdidi.errors import UserError
from protdidi.io import decode_text


def parse_jsonl(raw: str, source) -> list[dict]:
    """Objects with a "text" string, one per non-blank line; the first bad line is a UserError."""
    out = []
    for n, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            raise UserError(f"{source}:{n}: not valid JSON") from None
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise UserError(f"{source}:{n}: expected an object with a \"text\" string")
        out.append(item)
    return out


def read_documents(path: str | Path) -> list[str]:
    """A .txt file (one document), a .jsonl file (a "text" field per line) or a directory of them (sorted)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file or directory")
    files = sorted(p for p in path.rglob("*") if p.suffix in (".txt", ".jsonl")) if path.is_dir() else [path]
    docs: list[str] = []
    for f in files:
        raw = decode_text(f.read_bytes(), f)
        if f.suffix == ".jsonl":
            docs.extend(item["text"] for item in parse_jsonl(raw, f))
        else:
            docs.append(raw)
    docs = [d for d in docs if d.strip()]
    if not docs:
        raise UserError(f"{path}: no text found")
    return docs


def token_stream(docs: list[str], tokenizer, eos_id: int) -> torch.Tensor:
    """All documents tokenised (no special tokens added) and joined, EOS after each. Long[N]."""
    ids: list[int] = []
    for doc in docs:
        ids.extend(tokenizer(doc, add_special_tokens=False)["input_ids"])
        ids.append(eos_id)
    return torch.tensor(ids, dtype=torch.long)


def pack_windows(stream: torch.Tensor, length: int, bos_id: int, eos_id: int) -> torch.Tensor:
    """`BOS chunk EOS` windows of `length` tokens, Long[W, length]; the remainder is dropped."""
    if length < 3:
        raise UserError(f"window length must be >= 3 (got {length})")
    body = length - 2
    count = len(stream) // body
    chunks = stream[: count * body].view(count, body)
    bos = torch.full((count, 1), bos_id, dtype=torch.long)
    eos = torch.full((count, 1), eos_id, dtype=torch.long)
    return torch.cat([bos, chunks, eos], dim=1)


def split_windows(stream: torch.Tensor, length: int, bos_id: int, eos_id: int, valid_frac: float,
                  test_frac: float) -> dict[str, torch.Tensor]:
    """Contiguous train/valid/test cuts of the token stream, each packed into windows."""
    if not (0 <= valid_frac < 1 and 0 <= test_frac < 1 and valid_frac + test_frac < 1):
        raise UserError("valid_frac and test_frac must be in [0, 1) and sum to less than 1")
    n = len(stream)
    a, b = int(n * (1 - valid_frac - test_frac)), int(n * (1 - test_frac))
    out = {"train": stream[:a], "valid": stream[a:b], "test": stream[b:]}
    windows = {k: pack_windows(v, length, bos_id, eos_id) for k, v in out.items()}
    if len(windows["train"]) == 0:
        raise UserError(f"the corpus is too small for one training window of {length} tokens")
    return windows
