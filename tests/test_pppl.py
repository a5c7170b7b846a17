"""Pseudo-perplexity: the exact mode against a brute-force loop, the fast mode's definition, and batching."""

import math

import pytest
import torch
from fixtures import write_fair_esm_pt

from protdidi.adapters.esm_weights import load_fair_esm
from protdidi.evaluation.pppl import exact_pppl, fast_pppl


@pytest.fixture
def esm_model(tmp_path):
    return load_fair_esm(write_fair_esm_pt(tmp_path / "tiny.pt")).eval()


def brute_force(model, seq, vocab, residues=None):
    """Mask one position at a time, one forward each, straight from the definition (the softmax taken over
    `residues` only when given)."""
    total = 0.0
    for i in range(len(seq)):
        x = torch.cat([torch.tensor([vocab.bos_id]), seq, torch.tensor([vocab.eos_id])])[None]
        x[0, i + 1] = vocab.mask_id
        with torch.no_grad():
            logits = model(x)[0, i + 1].double()
        if residues is not None:
            logits = logits[residues]
            seq_ids = torch.cumsum(residues.long(), 0) - 1  # id → position among the residue ids
            total -= float(torch.log_softmax(logits, -1)[seq_ids[seq[i]]])
            continue
        logp = torch.log_softmax(logits, -1)
        total -= float(logp[seq[i]])
    return total / len(seq)


def test_exact_pppl_matches_brute_force(esm_model, vocab):
    g = torch.Generator().manual_seed(0)
    seqs = [torch.randint(4, 24, (n,), generator=g) for n in (1, 7, 23)]
    for budget in (10, 64, 100000):  # batches of 1 row, a few rows, everything at once
        res = exact_pppl(esm_model, seqs, vocab, tokens_per_batch=budget, non_special=False)
        expected = [brute_force(esm_model, s, vocab) for s in seqs]
        assert res.nll == pytest.approx(expected, abs=1e-5)
    pooled = math.exp(sum(e * len(s) for e, s in zip(expected, seqs, strict=True)) / sum(len(s) for s in seqs))
    assert res.pooled == pytest.approx(pooled, rel=1e-5)  # exp of NLLs that agree within 1e-5 nats
    assert res.per_sequence == pytest.approx([math.exp(e) for e in expected], rel=1e-5)
    assert res.per_sequence == [math.exp(v) for v in res.nll]  # in float64, not rounded through float32
    lo, hi = res.ci95()
    assert lo <= res.pooled <= hi and lo >= min(res.per_sequence) - 1e-3 and hi <= max(res.per_sequence) + 1e-3


def test_fast_pppl_is_the_unmasked_marginal_and_padding_free(esm_model, vocab):
    g = torch.Generator().manual_seed(1)
    seqs = [torch.randint(4, 24, (n,), generator=g) for n in (5, 17, 9)]
    res = fast_pppl(esm_model, seqs, vocab, batch_size=3, non_special=False)
    for s, nll in zip(seqs, res.nll, strict=True):
        x = torch.cat([torch.tensor([vocab.bos_id]), s, torch.tensor([vocab.eos_id])])[None]
        with torch.no_grad():
            logp = torch.log_softmax(esm_model(x)[0].double(), -1)
        assert nll == pytest.approx(-float(logp[torch.arange(1, len(s) + 1), s].mean()), abs=1e-5)


def test_exact_pppl_over_residues_ignores_special_logits(esm_model, vocab):
    """Normalising over the residue letters matches a brute force over that sub-vocabulary, and differs from
    the full softmax (the tiny random model gives the specials real mass)."""
    g = torch.Generator().manual_seed(2)
    seqs = [torch.randint(4, 24, (n,), generator=g) for n in (3, 11)]
    residues = ~vocab.special_mask()
    res = exact_pppl(esm_model, seqs, vocab)  # default: normalised over the non-special ids
    assert res.nll == pytest.approx([brute_force(esm_model, s, vocab, residues) for s in seqs], abs=1e-5)
    full = exact_pppl(esm_model, seqs, vocab, non_special=False)
    assert all(r < f - 1e-3 for r, f in zip(res.nll, full.nll, strict=True))
    fast = fast_pppl(esm_model, seqs, vocab)
    fast_full = fast_pppl(esm_model, seqs, vocab, non_special=False)
    assert all(r < f for r, f in zip(fast.nll, fast_full.nll, strict=True))
