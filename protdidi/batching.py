"""Batches of variable-length token sequences: random crops, padding, deterministic epoch order."""

from __future__ import annotations

import torch


def crop(seq: torch.Tensor, max_length: int, generator: torch.Generator | None) -> torch.Tensor:
    """A random window of at most `max_length` residues (DPLM crops long sequences the same way)."""
    if len(seq) <= max_length:
        return seq
    start = int(torch.randint(0, len(seq) - max_length + 1, (), generator=generator))
    return seq[start:start + max_length]


def collate(seqs: list[torch.Tensor], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad to the longest; returns (tokens Long[B, L], valid Bool[B, L]). Validity comes from the
    lengths, not from the pad id, which may also be a real token (GPT-2 pads with EOS)."""
    length = max(len(s) for s in seqs)
    tokens = torch.full((len(seqs), length), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        tokens[i, : len(s)] = s
    sizes = torch.tensor([len(s) for s in seqs])
    return tokens, torch.arange(length)[None, :] < sizes[:, None]


def epoch_batches(lengths: list[int], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Deterministic batches for one epoch: shuffle, sort within windows of 50 batches by length (less
    padding), then shuffle batch order. A function of (seed, epoch) only, so resuming needs no RNG state."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order = torch.randperm(len(lengths), generator=g).tolist()
    window = batch_size * 50
    batches = []
    for w in range(0, len(order), window):
        chunk = sorted(order[w:w + window], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    perm = torch.randperm(len(batches), generator=g).tolist()
    return [batches[i] for i in perm]


class BatchStream:
    """Training batches as a pure function of (seed, step): resuming at step k replays exactly.

    Epoch e's order comes from `epoch_batches(seed, e)`; crops use a generator seeded by the step.
    """

    def __init__(self, seqs: list[torch.Tensor], batch_size: int, max_length: int, pad_id: int, seed: int):
        if not seqs:
            raise ValueError("no training sequences")
        self.seqs, self.batch_size, self.max_length = seqs, batch_size, max_length
        self.pad_id, self.seed = pad_id, seed
        self.lengths = [min(len(s), max_length) for s in seqs]
        self._epoch, self._batches = -1, []

    def batches_per_epoch(self) -> int:
        return -(-len(self.seqs) // self.batch_size)

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, index = divmod(step, self.batches_per_epoch())
        if epoch != self._epoch:
            self._epoch, self._batches = epoch, epoch_batches(self.lengths, self.batch_size, self.seed, epoch)
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        return collate([crop(self.seqs[i], self.max_length, g) for i in self._batches[index]], self.pad_id)


def fixed_batches(seqs: list[torch.Tensor], batch_size: int, max_length: int, pad_id: int):
    """Evaluation batches in length order (minimal padding); long sequences are cut to their first window."""
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    for i in range(0, len(order), batch_size):
        yield collate([seqs[j][:max_length] for j in order[i:i + batch_size]], pad_id)
