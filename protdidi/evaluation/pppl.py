"""Pseudo-perplexity of a masked LM over any `Vocab`: exact (mask each position in turn) and single-pass.

Exact: for a body x of length L, PPPL = exp(−(1/L) Σ_i log p(x_i | x with position i masked)). The L masked
copies of each sequence are packed into batches under a token budget. BOS/EOS are never scored.
Fast: one forward pass on the unmasked sequence, scoring log p(x_i | x) at every position (optimistic, since
each position sees itself; useful for ranking, and reported next to its correlation with the exact mode).
`model` maps framed ids Long[B, L+2] (the vocab's BOS, the body, its EOS, padding) to logits Float[B, L+2, V], as
an ESM-2 (`protdidi.models.esm2.Esm2`) does.

With `non_special` (the default) the softmax is normalised over the vocab's non-special ids only, so ids that are
never a sequence token (for proteins <cls>, <pad>, <eos>, <unk>, '.', '-', <null_1>, <mask>) get no probability.
A model trained with the full softmax (ESM-2) gives those ids almost no mass, so its scores barely move; a
model trained over residues only (the project judge) has arbitrary logits there, which would otherwise
inflate every pseudo-perplexity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from protdidi.stats import bootstrap_ci
from protdidi.vocab import Vocab


@dataclass
class PseudoPerplexity:
    """Per-sequence mean negative log-likelihood (nats) and the pooled PPPL over all scored residues."""

    nll: list[float]
    lengths: list[int]

    @property
    def per_sequence(self) -> list[float]:
        return [math.exp(v) for v in self.nll]

    @property
    def pooled(self) -> float:
        total = sum(v * n for v, n in zip(self.nll, self.lengths, strict=True))
        return math.exp(total / max(1, sum(self.lengths)))

    def ci95(self) -> list[float]:
        """95% bootstrap interval of `pooled`, resampling whole sequences."""
        lengths = torch.tensor(self.lengths, dtype=torch.float64)
        return bootstrap_ci(torch.tensor(self.nll, dtype=torch.float64) * lengths, lengths)


def _log_probs(logits: torch.Tensor, vocab: Vocab, non_special: bool) -> torch.Tensor:
    logits = logits.float()
    if non_special:
        logits = logits.masked_fill(vocab.special_mask(logits.device), float("-inf"))
    return torch.log_softmax(logits, dim=-1)


def _framed(body: torch.Tensor, vocab: Vocab) -> torch.Tensor:
    return torch.cat([torch.tensor([vocab.bos_id]), body, torch.tensor([vocab.eos_id])])


@torch.no_grad()
def exact_pppl(model, seqs: list[torch.Tensor], vocab: Vocab, tokens_per_batch: int = 8192, non_special: bool = True,
               progress=None) -> PseudoPerplexity:
    """Exact pseudo-perplexity. seqs: body token ids (no BOS/EOS), Long[L] each."""
    model.eval()
    nll = []
    for seq in seqs:
        framed = _framed(seq, vocab)
        n, width = len(seq), len(seq) + 2
        rows = max(1, tokens_per_batch // width)
        total = 0.0
        for start in range(0, n, rows):
            pos = torch.arange(start, min(n, start + rows))
            batch = framed.repeat(len(pos), 1)
            batch[torch.arange(len(pos)), pos + 1] = vocab.mask_id
            logp = _log_probs(model(batch), vocab, non_special)
            total += -float(logp[torch.arange(len(pos)), pos + 1, seq[pos]].double().sum())
        nll.append(total / max(1, n))
        if progress is not None:
            progress(1)
    return PseudoPerplexity(nll, [len(s) for s in seqs])


@torch.no_grad()
def fast_pppl(model, seqs: list[torch.Tensor], vocab: Vocab, batch_size: int = 32, non_special: bool = True,
              progress=None) -> PseudoPerplexity:
    """Single-pass approximation: unmasked marginals, one forward per batch of sequences."""
    model.eval()
    nll = [0.0] * len(seqs)
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    for b in range(0, len(order), batch_size):
        idx = order[b:b + batch_size]
        width = max(len(seqs[i]) for i in idx) + 2
        batch = torch.full((len(idx), width), vocab.pad_id, dtype=torch.long)
        for r, i in enumerate(idx):
            batch[r, :len(seqs[i]) + 2] = _framed(seqs[i], vocab)
        logp = _log_probs(model(batch), vocab, non_special)
        for r, i in enumerate(idx):
            n = len(seqs[i])
            picked = logp[r, torch.arange(1, n + 1), seqs[i]]
            nll[i] = -float(picked.double().mean())
        if progress is not None:
            progress(len(idx))
    return PseudoPerplexity(nll, [len(s) for s in seqs])
