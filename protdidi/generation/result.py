"""`Generated`: the one result type of generation, from a batch of the driver up to the CLI and the Python API."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class Generated:
    """Samples with what the closing line of `generate` reports.

    rows: Long[length_i] per sample, in the order asked for; records: the domain's output records (FASTA records,
    JSONL dicts) once made; nfe: denoiser calls per sequence, as counted; seconds: wall-clock of the sampling;
    extra: other network calls per sequence, as counted (RGAS: discriminator forwards and backwards); n and tokens:
    how many samples and tokens (kept when a running total drops the rows, see `count`)."""

    rows: list[torch.Tensor] = field(default_factory=list)
    nfe: int = 0
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)
    records: list = field(default_factory=list)
    n: int = -1
    tokens: int = -1

    def __post_init__(self) -> None:
        if self.n < 0:
            self.n = len(self.rows)
        if self.tokens < 0:
            self.tokens = sum(len(row) for row in self.rows)

    @property
    def lengths(self) -> list[int]:
        return [len(row) for row in self.rows]

    def count(self, part: Generated) -> Generated:
        """Add `part`'s counts (not its rows or records) to this running total; returns `part` (so a stream can be
        counted as it passes)."""
        k = part.n
        for key, value in part.extra.items():
            self.extra[key] = (self.extra.get(key, 0.0) * self.n + value * k) / (self.n + k)
        self.n, self.tokens = self.n + k, self.tokens + part.tokens
        self.seconds, self.nfe = self.seconds + part.seconds, part.nfe
        return part

    @classmethod
    def joined(cls, parts: list[Generated]) -> Generated:
        """All of `parts`, rows and records included, in order."""
        total = cls()
        for part in parts:
            total.count(part)
        total.rows = [row for p in parts for row in p.rows]
        total.records = [r for p in parts for r in p.records]
        return total
