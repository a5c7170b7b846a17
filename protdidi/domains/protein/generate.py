"""Unconditional protein generation: lengths, length-grouped batches, FASTA records with provenance."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import torch
from tqdm import tqdm

from protdidi.domains.protein.data import draw_lengths
from protdidi.domains.protein.fasta import ProteinRecord
from protdidi.errors import UserError
from protdidi.loaded import LoadedModel, build_sampler


@dataclass
class GenerationReport:
    records: list[ProteinRecord]
    nfe: int
    seconds: float
    residues: int
    extra: dict  # sampler counters summed over batches (RGAS: discriminator forwards/backwards per sequence)


def choose_lengths(model: LoadedModel, n: int, length: int | None, generator: torch.Generator) -> list[int]:
    """`length` for all, or n draws from the model's training length distribution."""
    if length is not None:
        if not 1 <= length <= model.max_length:
            raise UserError(f"--length {length} is outside 1..{model.max_length} (the model's maximum)")
        return [length] * n
    if not model.lengths:
        raise UserError(f"model {model.name!r} carries no length distribution; pass --length")
    return draw_lengths(model.lengths, n, generator)


def generate_proteins(model: LoadedModel, n: int, nfe: int, length: int | None, seed: int, batch_size: int,
                      sampler: str = "ancestral", device: str = "cpu", progress: bool = True) -> GenerationReport:
    """Sample n sequences in batches of neighbouring lengths (sorted), so padding wastes little compute.

    Everything random comes from one generator seeded by `seed`, consumed in a fixed order (lengths,
    then batches by increasing length), so the same seed and batch size give the same sequences."""
    if n < 1:
        raise UserError(f"--n must be >= 1 (got {n})")
    if nfe < 1:
        raise UserError(f"--nfe must be >= 1 (got {nfe})")
    if batch_size < 1:
        raise UserError(f"--batch-size must be >= 1 (got {batch_size})")
    g = torch.Generator().manual_seed(seed)
    lengths = choose_lengths(model, n, length, g)
    order = sorted(range(n), key=lambda i: (lengths[i], i))
    engine = build_sampler(model, sampler)
    extra: dict[str, int] = {}
    model.denoiser.to(device).eval()
    tokens: dict[int, torch.Tensor] = {}
    start = time.perf_counter()
    bar = tqdm(total=n, desc=f"generate ({model.name}, nfe={nfe})", file=sys.stderr, disable=not progress,
               unit="seq", dynamic_ncols=True)
    for b in range(0, n, batch_size):
        chunk = order[b:b + batch_size]
        sizes = torch.tensor([lengths[i] for i in chunk])
        valid = torch.arange(int(sizes.max()))[None, :] < sizes[:, None]
        gen = engine.sample(model.denoiser, len(chunk), valid.shape[1], nfe, generator=g, device=device,
                            valid=None if bool(valid.all()) else valid)
        for key, value in gen.extra.items():  # per-sequence counts: weight by the batch size
            extra[key] = extra.get(key, 0) + value * len(chunk)
        for i, row in zip(chunk, gen.tokens.cpu(), strict=True):
            tokens[i] = row[: lengths[i]]
        bar.update(len(chunk))
    bar.close()
    seconds = time.perf_counter() - start
    vocab = model.denoiser.vocab
    records = [ProteinRecord(id=f"protdidi_{i:05d}", seq=vocab.decode(tokens[i]),
                             description=f"len={lengths[i]} model={model.name} nfe={nfe} seed={seed} "
                                         f"sampler={sampler}")
               for i in range(n)]
    return GenerationReport(records, nfe, seconds, sum(lengths), {k: v / n for k, v in extra.items()})
