"""The one batched generation loop, for every domain: token rows of given lengths from a loaded model.

Sequences are sampled in batches of neighbouring lengths (sorted), so padding wastes little compute; padded
positions are hidden from attention. Everything random comes from one generator, consumed in a fixed order
(batches by increasing length, ties in input order), so the same generator state and batch size give the same rows.
A job runs in chunks of `CHUNK` samples, each with its own generator (`chunk_generator`), so that it can be written
as it goes and split into shards (`--shard I/N`) whose concatenation is the whole job.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from protdidi.config import check_seed
from protdidi.errors import UserError
from protdidi.loaded import LoadedModel, build_sampler
from protdidi.malloc import return_freed_memory


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


CHUNK = 1024  # samples (per template) planned, sampled and written at a time; part of what a seed reproduces
SHARD = re.compile(r"^(\d+)/(\d+)$")


def parse_shard(text: str | None) -> tuple[int, int]:
    """`--shard I/N` (0 <= I < N, the convention of torchrun's RANK) as (I, N); None means the whole job (0, 1)."""
    if text is None:
        return 0, 1
    m = SHARD.match(text.strip())
    if m is None or not int(m.group(1)) < int(m.group(2)):
        raise UserError(f"--shard {text!r}: expected I/N with 0 <= I < N, e.g. 0/4")
    return int(m.group(1)), int(m.group(2))


def shard_chunks(n: int, shard: tuple[int, int]) -> range:
    """The chunks (of `CHUNK` samples) that shard I of N generates: a contiguous block, so that the shards' outputs
    concatenated in order are the unsharded output."""
    i, parts = shard
    chunks = -(-n // CHUNK)
    if parts > chunks:
        raise UserError(f"--shard {i}/{parts}: --n {n} makes {chunks} chunk{'s' * (chunks > 1)} of {CHUNK} samples; "
                        f"use at most {chunks} shard{'s' * (chunks > 1)}")
    return range(i * chunks // parts, (i + 1) * chunks // parts)


def chunk_generator(seed: int, chunk: int) -> torch.Generator:
    """The generator of one chunk: chunk 0 is seeded with `seed` itself (so runs of up to `CHUNK` samples are those
    of earlier versions), chunk k > 0 with a 63-bit seed derived from (seed, k) by numpy's SeedSequence."""
    if chunk == 0:
        return torch.Generator().manual_seed(seed)
    hi, lo = np.random.SeedSequence([seed, chunk]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed((int(hi) << 32 | int(lo)) >> 1)


def progress_bar(total: int | None, name: str, nfe: int, progress: bool) -> tqdm:
    return tqdm(total=total, desc=f"generate ({name}, nfe={nfe})", file=sys.stderr, disable=not progress, unit="seq",
                dynamic_ncols=True)


def generate_rows(model: LoadedModel, lengths: list[int], nfe: int, generator: torch.Generator, batch_size: int,
                  sampler: str = "ancestral", device: str = "cpu", progress: bool = True,
                  templates: list[torch.Tensor] | None = None, bar: tqdm | None = None,
                  engine=None) -> TokenGeneration:
    """Sample one sequence per entry of `lengths` with `nfe` denoiser calls each. `templates` (conditional
    generation): per sample, Long[length] ids to keep, with the mask id at the positions to design. `bar`: a
    progress bar to advance (one spanning several calls); without it, one of its own when `progress`. `engine`:
    the sampler already built (`build_sampler(model, sampler)`), shared by several calls."""
    check_counts(len(lengths), nfe, batch_size)
    n = len(lengths)
    order = sorted(range(n), key=lambda i: (lengths[i], i))
    engine = engine or build_sampler(model, sampler)
    model.denoiser.to(device).eval()
    rows: dict[int, torch.Tensor] = {}
    extra: dict[str, float] = {}
    start = time.perf_counter()
    own = bar is None
    if own:
        bar = progress_bar(n, model.name, nfe, progress)
    try:
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
            del gen
            return_freed_memory()  # flat memory over any --n: what this batch freed goes back to the system
            bar.update(len(chunk))
    finally:
        if own:
            bar.close()
    seconds = time.perf_counter() - start
    return TokenGeneration([rows[i] for i in range(n)], nfe, seconds, {k: v / n for k, v in extra.items()})
