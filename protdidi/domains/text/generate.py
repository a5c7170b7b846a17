"""Text generation output: fixed-length windows, decoded the MDLM way, written as JSONL or plain text."""

from __future__ import annotations

import json
from collections.abc import Iterable

import torch

from protdidi.checkpoint import LoadedModel
from protdidi.domains.base import Plan, fixed_length
from protdidi.domains.text.data import parse_jsonl
from protdidi.domains.text.tokenizer import decode
from protdidi.errors import UserError
from protdidi.io import decode_text, write_text_atomic


def text_records(model: LoadedModel, rows: list[torch.Tensor], provenance: dict,
                 labels: list[str] | None = None, start: int = 0) -> list[dict]:
    """One JSONL record per window, numbered from `start`, decoded the MDLM way (special tokens kept in the text)."""
    texts = decode(model.tokenizer, rows)
    return [{"id": f"protdidi_{start + i:05d}", "text": text, "tokens": row.tolist(), "length": len(row),
             "model": model.name, **provenance, **({"condition": labels[i]} if labels else {})}
            for i, (text, row) in enumerate(zip(texts, rows, strict=True))]


def text_plan(model: LoadedModel, n: int, length: int | str | None, condition: dict) -> Plan:
    """Every window has `length` tokens (default: the model's window). `--template TEXT` is a prompt: the window
    starts with BOS and the prompt's tokens, which are kept; the rest is designed."""
    length = fixed_length(model, length, "a number of tokens") or model.max_length
    prompt = condition.get("template")
    if prompt is None:
        return Plan([length] * n)
    vocab = model.denoiser.vocab
    ids = [vocab.bos_id, *model.tokenizer(prompt, add_special_tokens=False)["input_ids"]]
    if len(ids) >= length:
        raise UserError(f"--template (prompt) has {len(ids) - 1} tokens; a {length}-token window leaves nothing "
                        f"to generate")
    template = torch.full((length,), vocab.mask_id, dtype=torch.long)
    template[:len(ids)] = torch.tensor(ids)
    return Plan([length] * n, [template] * n, [f"prompt_tokens={len(ids) - 1}"] * n)


def write_samples(records: Iterable[dict], path: str, fmt: str | None = None) -> None:
    """JSONL (one record per line; default, or for *.jsonl) or plain text (samples separated by blank lines),
    written as the records come."""
    def jsonl(handle) -> None:
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)

    def txt(handle) -> None:
        for i, r in enumerate(records):
            handle.write(("\n\n" if i else "") + r["text"])
        handle.write("\n")

    fmt = fmt or ("txt" if str(path).endswith(".txt") else "jsonl")
    write_text_atomic(path, jsonl if fmt == "jsonl" else txt)


def read_samples(path: str) -> list[dict]:
    """JSONL records with "text" (and optionally "tokens"), or a .txt with samples separated by blank lines."""
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        raise UserError(f"{path}: no such file")
    raw = decode_text(p.read_bytes(), path)
    if p.suffix == ".jsonl":
        out = parse_jsonl(raw, path)
    else:
        out = [{"text": chunk} for chunk in raw.split("\n\n") if chunk.strip()]
    if not out:
        raise UserError(f"{path}: no samples found")
    return out
