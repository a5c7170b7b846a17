"""Protein generation output: lengths from the model's training distribution, FASTA records with provenance."""

from __future__ import annotations

import torch

from protdidi.domains.protein.data import draw_lengths
from protdidi.domains.protein.fasta import ProteinRecord
from protdidi.errors import UserError
from protdidi.loaded import LoadedModel


def choose_lengths(model: LoadedModel, n: int, length: int | None, generator: torch.Generator) -> list[int]:
    """`length` for all, or n draws from the model's training length distribution."""
    if length is not None:
        if not 1 <= length <= model.max_length:
            raise UserError(f"--length {length} is outside 1..{model.max_length} (the model's maximum)")
        return [length] * n
    if not model.lengths:
        raise UserError(f"model {model.name!r} carries no length distribution; pass --length")
    return draw_lengths(model.lengths, n, generator)


def protein_records(model: LoadedModel, rows: list[torch.Tensor], provenance: dict) -> list[ProteinRecord]:
    """One record per row: `>protdidi_00000 len=360 model=NAME nfe=16 seed=0 sampler=ancestral`."""
    vocab = model.denoiser.vocab
    return [ProteinRecord(id=f"protdidi_{i:05d}", seq=vocab.decode(row),
                          description=f"len={len(row)} model={model.name} nfe={provenance['nfe']} "
                                      f"seed={provenance['seed']} sampler={provenance['sampler']}")
            for i, row in enumerate(rows)]
