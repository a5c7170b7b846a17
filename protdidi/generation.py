"""The one batched generation loop, for every domain: token rows of given lengths from a loaded model.

Sequences are sampled in batches of neighbouring lengths (sorted), so padding wastes little compute; padded
positions are hidden from attention. Everything random comes from one generator, consumed in a fixed order
(batches by increasing length, ties in input order), so the same generator state and batch size give the same rows.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import torch
from tqdm import tqdm

from protdidi.config import check_seed
from protdidi.errors import UserError
from protdidi.loaded import LoadedModel, build_sampler


@dataclass
class TokenGeneration:
    rows: list[torch.Tensor]  # Long[length_i] per sample, in the order of the requested lengths
    nfe: int
    seconds: float
    extra: dict  # sampler counters per sequence (RGAS: discriminator forwards/backwards)


def check_counts(n: int, nfe: int, batch_size: int, seed: int = 0) -> None:
    for name, value in (("--n", n), ("--nfe", nfe), ("--batch-size", batch_size)):
        if value < 1:
            raise UserError(f"{name} must be >= 1 (got {value})")
    check_seed(seed)


def generate_rows(model: LoadedModel, lengths: list[int], nfe: int, generator: torch.Generator, batch_size: int,
                  sampler: str = "ancestral", device: str = "cpu", progress: bool = True,
                  templates: list[torch.Tensor] | None = None) -> TokenGeneration:
    """Sample one sequence per entry of `lengths` with `nfe` denoiser calls each. `templates` (conditional
    generation): per sample, Long[length] ids to keep, with the mask id at the positions to design."""
    check_counts(len(lengths), nfe, batch_size)
    n = len(lengths)
    order = sorted(range(n), key=lambda i: (lengths[i], i))
    engine = build_sampler(model, sampler)
    model.denoiser.to(device).eval()
    rows: dict[int, torch.Tensor] = {}
    extra: dict[str, float] = {}
    start = time.perf_counter()
    with tqdm(total=n, desc=f"generate ({model.name}, nfe={nfe})", file=sys.stderr, disable=not progress,
              unit="seq", dynamic_ncols=True) as bar:
        for b in range(0, n, batch_size):
            chunk = order[b:b + batch_size]
            sizes = torch.tensor([lengths[i] for i in chunk])
            valid = torch.arange(int(sizes.max()))[None, :] < sizes[:, None]
            batch = None
            if templates is not None:
                batch = torch.full(valid.shape, model.denoiser.vocab.pad_id, dtype=torch.long)
                for r, i in enumerate(chunk):
                    batch[r, :lengths[i]] = templates[i]
            gen = engine.sample(model.denoiser, len(chunk), valid.shape[1], nfe, generator=generator, device=device,
                                valid=None if bool(valid.all()) else valid, template=batch)
            for key, value in gen.extra.items():  # per-sequence counts: weight by the batch size
                extra[key] = extra.get(key, 0) + value * len(chunk)
            for i, row in zip(chunk, gen.tokens.cpu(), strict=True):
                rows[i] = row[: lengths[i]]
            bar.update(len(chunk))
    seconds = time.perf_counter() - start
    return TokenGeneration([rows[i] for i in range(n)], nfe, seconds, {k: v / n for k, v in extra.items()})
