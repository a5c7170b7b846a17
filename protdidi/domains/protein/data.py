"""Deterministic train/validation/test split by id hash, token batches, and length distributions."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch

from protdidi.assets import ASSETS
from protdidi.domains.protein.alphabet import encode_protein, protein_vocab
from protdidi.domains.protein.fasta import ProteinRecord, read_fasta
from protdidi.errors import UserError

SPLIT_SALT = "protdidi-split-v1"
SPLITS = ("train", "valid", "test")
CATH_FASTA = str(ASSETS / "data" / "cath-s40-v4.1.0.fasta.xz")  # shipped inside the package (CC BY 4.0)
CATH_FASTA_ENV = "PROTDIDI_CATH_FASTA"


def default_cath_fasta() -> str:
    """The CATH S40 FASTA the shipped models were trained on: $PROTDIDI_CATH_FASTA, else the shipped copy."""
    return os.environ.get(CATH_FASTA_ENV) or CATH_FASTA


def default_cath_splits(instead: str) -> dict:
    """The train/valid/test split of the default CATH FASTA; if it is missing, one clear error that names
    the variable to set and `instead`, the options that replace the default."""
    path = default_cath_fasta()
    if not Path(path).is_file():
        raise UserError(f"the default CATH S40 FASTA {path} is not there: set {CATH_FASTA_ENV} to its path, "
                        f"or pass {instead}")
    return split_records(read_fasta(path))


def split_of(record_id: str, valid_frac: float = 0.05, test_frac: float = 0.05) -> str:
    """sha256(SPLIT_SALT + ':' + id) read as a fraction in [0, 1): < 1−v−t train, then valid, then test."""
    digest = hashlib.sha256(f"{SPLIT_SALT}:{record_id}".encode()).hexdigest()
    u = int(digest[:15], 16) / 16**15
    if u < 1.0 - valid_frac - test_frac:
        return "train"
    return "valid" if u < 1.0 - test_frac else "test"


def split_records(records: list[ProteinRecord], valid_frac: float = 0.05, test_frac: float = 0.05) -> dict:
    out = {name: [] for name in SPLITS}
    for rec in records:
        out[split_of(rec.id, valid_frac, test_frac)].append(rec)
    return out


@dataclass
class TokenizedSet:
    """Encoded body sequences (no BOS/EOS), kept as a list of Long tensors."""

    seqs: list[torch.Tensor]

    @classmethod
    def from_records(cls, records: list[ProteinRecord]) -> TokenizedSet:
        vocab = protein_vocab()
        return cls([torch.tensor(encode_protein(r.seq, vocab, r.id), dtype=torch.long) for r in records])

    def __len__(self) -> int:
        return len(self.seqs)


def length_histogram(records: list[ProteinRecord], max_length: int) -> dict[int, int]:
    """Counts of body lengths, longer sequences counted at `max_length` (they are trained as crops)."""
    counts = Counter(min(len(r.seq), max_length) for r in records)
    return {int(k): int(v) for k, v in sorted(counts.items())}


def draw_lengths(histogram: dict[int, int], n: int, generator: torch.Generator) -> list[int]:
    """n lengths drawn i.i.d. from a length histogram."""
    keys = torch.tensor([int(k) for k in histogram], dtype=torch.long)
    weights = torch.tensor([float(v) for v in histogram.values()], dtype=torch.float64)
    idx = torch.multinomial(weights, n, replacement=True, generator=generator)
    return keys[idx].tolist()
