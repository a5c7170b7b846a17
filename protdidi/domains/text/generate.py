"""Unconditional text generation: fixed-length windows, decoded the MDLM way, written as JSONL or plain text."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass

import torch
from tqdm import tqdm

from protdidi.domains.text.data import parse_jsonl
from protdidi.domains.text.tokenizer import decode
from protdidi.errors import UserError
from protdidi.io import write_text_atomic
from protdidi.loaded import LoadedModel, build_sampler


@dataclass
class TextGeneration:
    records: list[dict]  # id, text, tokens, length, model, nfe, seed, sampler
    nfe: int
    seconds: float
    extra: dict


def generate_text(model: LoadedModel, n: int, nfe: int, length: int | None, seed: int, batch_size: int,
                  sampler: str = "ancestral", device: str = "cpu", progress: bool = True) -> TextGeneration:
    """n windows of `length` tokens (default: the model's window), one generator seeded by `seed`."""
    for name, value in (("--n", n), ("--nfe", nfe), ("--batch-size", batch_size)):
        if value < 1:
            raise UserError(f"{name} must be >= 1 (got {value})")
    length = length or model.max_length
    if not 1 <= length <= model.max_length:
        raise UserError(f"--length {length} is outside 1..{model.max_length} (the model's maximum)")
    engine = build_sampler(model, sampler)
    model.denoiser.to(device).eval()
    g = torch.Generator().manual_seed(seed)
    rows: list[torch.Tensor] = []
    extra: dict[str, float] = {}
    start = time.perf_counter()
    with tqdm(total=n, desc=f"generate ({model.name}, nfe={nfe})", file=sys.stderr, disable=not progress,
              unit="seq", dynamic_ncols=True) as bar:
        for b in range(0, n, batch_size):
            k = min(batch_size, n - b)
            gen = engine.sample(model.denoiser, k, length, nfe, generator=g, device=device)
            for key, value in gen.extra.items():
                extra[key] = extra.get(key, 0) + value * k
            rows.extend(gen.tokens.cpu().unbind(0))
            bar.update(k)
    seconds = time.perf_counter() - start
    texts = decode(model.tokenizer, rows)
    records = [{"id": f"protdidi_{i:05d}", "text": text, "tokens": row.tolist(), "length": length,
                "model": model.name, "nfe": nfe, "seed": seed, "sampler": sampler}
               for i, (text, row) in enumerate(zip(texts, rows, strict=True))]
    return TextGeneration(records, nfe, seconds, {k: v / n for k, v in extra.items()})


def write_samples(records: list[dict], path: str, fmt: str | None = None) -> None:
    """JSONL (one record per line; default, or for *.jsonl) or plain text (samples separated by blank lines)."""
    fmt = fmt or ("txt" if str(path).endswith(".txt") else "jsonl")
    if fmt == "jsonl":
        write_text_atomic(path, lambda h: h.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    else:
        write_text_atomic(path, lambda h: h.write("\n\n".join(r["text"] for r in records) + "\n"))


def read_samples(path: str) -> list[dict]:
    """JSONL records with "text" (and optionally "tokens"), or a .txt with samples separated by blank lines."""
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        raise UserError(f"{path}: no such file")
    raw = p.read_text(encoding="utf-8", errors="replace")
    if p.suffix == ".jsonl":
        out = parse_jsonl(raw, path)
    else:
        out = [{"text": chunk} for chunk in raw.split("\n\n") if chunk.strip()]
    if not out:
        raise UserError(f"{path}: no samples found")
    return out
