"""Sequence-level metrics for generated proteins: composition and dipeptide divergences, length
distribution, low complexity and repeats, uniqueness, pairwise identity and novelty against a training set.

Divergences are in nats. Entropies of residue composition are in bits (the unit of the 2.2-bit
low-complexity threshold used by DPLM-style filters). Identity = identical aligned residues / length of the
shorter sequence, from a Biopython global alignment with BLOSUM62 and gaps −10/−0.5 (EMBOSS needle's
defaults), end gaps free.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from itertools import pairwise

import numpy as np

from protdidi.domains.protein.alphabet import STANDARD_RESIDUES

_INDEX = {a: i for i, a in enumerate(STANDARD_RESIDUES)}


def composition(seqs: list[str], pseudocount: float = 0.0) -> np.ndarray:
    """Frequencies of the 20 standard residues over all sequences (others ignored), smoothed."""
    counts = np.full(20, pseudocount, dtype=np.float64)
    for s in seqs:
        for a, n in Counter(s).items():
            if a in _INDEX:
                counts[_INDEX[a]] += n
    return counts / counts.sum()


def dipeptide_composition(seqs: list[str], pseudocount: float = 0.0) -> np.ndarray:
    """Frequencies of the 400 ordered standard-residue pairs at adjacent positions, smoothed."""
    counts = np.full(400, pseudocount, dtype=np.float64)
    for s in seqs:
        for a, b in pairwise(s):
            if a in _INDEX and b in _INDEX:
                counts[20 * _INDEX[a] + _INDEX[b]] += 1
    return counts / counts.sum()


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p ‖ q) in nats; terms with p = 0 contribute 0."""
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / q[nz])))


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen–Shannon divergence in nats (at most ln 2)."""
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence(p, m) + 0.5 * kl_divergence(q, m)


def shannon_entropy_bits(seq: str) -> float:
    n = len(seq)
    return -sum(c / n * math.log2(c / n) for c in Counter(seq).values()) if n else 0.0


def low_complexity_fraction(seq: str, window: int = 12, threshold_bits: float = 2.2) -> float:
    """Fraction of length-`window` windows whose composition entropy is below the threshold."""
    if len(seq) < window:
        return float(shannon_entropy_bits(seq) < threshold_bits)
    wins = [seq[i:i + window] for i in range(len(seq) - window + 1)]
    return sum(shannon_entropy_bits(w) < threshold_bits for w in wins) / len(wins)


def has_his_tag(seq: str, run: int = 6) -> bool:
    """Whether `seq` holds `run` or more histidines in a row (a His-tag: an expression artefact of the corpus)."""
    return "H" * run in seq


def longest_homopolymer(seq: str) -> int:
    best = run = 0
    prev = None
    for a in seq:
        run = run + 1 if a == prev else 1
        best, prev = max(best, run), a
    return best


def max_residue_fraction(seq: str) -> float:
    return max(Counter(seq).values()) / len(seq) if seq else 0.0


def uniqueness(seqs: list[str]) -> float:
    """Distinct sequences / all sequences."""
    return len(set(seqs)) / len(seqs) if seqs else 0.0


def ks_statistic(a: list[float], b: list[float]) -> float:
    """Two-sample Kolmogorov–Smirnov statistic: the largest gap between the empirical CDFs."""
    a_sorted, b_sorted = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    grid = np.concatenate([a_sorted, b_sorted])
    cdf_a = np.searchsorted(a_sorted, grid, side="right") / len(a_sorted)
    cdf_b = np.searchsorted(b_sorted, grid, side="right") / len(b_sorted)
    return float(np.max(np.abs(cdf_a - cdf_b)))


def _aligner():
    from Bio import Align
    from Bio.Align import substitution_matrices

    aligner = Align.PairwiseAligner()
    aligner.mode = "global"
    aligner.substitution_matrix = substitution_matrices.load("BLOSUM62")
    aligner.open_gap_score, aligner.extend_gap_score = -10.0, -0.5
    aligner.end_gap_score = 0.0
    return aligner


# BLOSUM62 has no row for selenocysteine (U) or pyrrolysine (O): they align as the unknown residue X.
_BLOSUM_LETTERS = str.maketrans({"U": "X", "O": "X"})


def identity(a: str, b: str, aligner=None) -> float:
    """Identical aligned residues / length of the shorter sequence."""
    if not a or not b:
        return 0.0
    aligner = aligner or _aligner()
    alignment = aligner.align(a.translate(_BLOSUM_LETTERS), b.translate(_BLOSUM_LETTERS))[0]
    return alignment.counts().identities / min(len(a), len(b))


def mean_pairwise_identity(seqs: list[str], max_pairs: int = 2000, seed: int = 0) -> float:
    """Mean identity over (a random sample of) distinct pairs."""
    pairs = [(i, j) for i in range(len(seqs)) for j in range(i + 1, len(seqs))]
    if not pairs:
        return float("nan")
    if len(pairs) > max_pairs:
        pairs = random.Random(seed).sample(pairs, max_pairs)
    aligner = _aligner()
    return float(np.mean([identity(seqs[i], seqs[j], aligner) for i, j in pairs]))


def _kmer_matrix(seqs: list[str], k: int):
    """Sparse presence matrix of k-mers over the 20 standard residues, Float[N, 20^k] (scipy CSR); k-mers that
    hold any other letter are left out. One pass over all sequences joined by a separator."""
    from scipy.sparse import csr_matrix

    lookup = np.full(256, -1, dtype=np.int64)
    lookup[[ord(c) for c in _INDEX]] = list(_INDEX.values())
    joined = "".join(s + "#" for s in seqs).encode("ascii", "replace")  # '#' (and any odd letter) breaks a k-mer
    codes = lookup[np.frombuffer(joined, dtype=np.uint8)]
    shape = (len(seqs), 20 ** k)
    if len(codes) < k:
        return csr_matrix(shape, dtype=np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(codes, k)
    valid = (windows >= 0).all(axis=1)
    owner = np.repeat(np.arange(len(seqs)), [len(s) + 1 for s in seqs])[:len(windows)]
    keys = np.sort(owner[valid] * shape[1] + windows[valid] @ (20 ** np.arange(k - 1, -1, -1)))
    keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])] if len(keys) else keys  # np.unique: slower
    rows, cols = np.divmod(keys, shape[1])  # sorted by row, then column: CSR order already
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(seqs)))])
    return csr_matrix((np.ones(len(keys), dtype=np.float32), cols, indptr), shape=shape)


def max_identity_to(samples: list[str], reference: list[str], candidates: int = 50, k: int = 3,
                    chunk: int = 256, progress=None) -> list[float]:
    """Each sample's maximum identity to any reference sequence.

    A k-mer prefilter ranks the reference by shared k-mers and only the top `candidates` are aligned (as
    MMseqs2 and BLAST do). Hits at or above ~50% identity share many k-mers and are not missed; far
    lower identities may be under-estimated, which only makes the "novel" fraction conservative."""
    if not samples or not reference:
        return [0.0] * len(samples)
    ref = _kmer_matrix(reference, k).T.tocsc()
    aligner = _aligner()
    out: list[float] = []
    for start in range(0, len(samples), chunk):
        block = samples[start:start + chunk]
        shared = (_kmer_matrix(block, k) @ ref).toarray()
        top = np.argsort(-shared, axis=1)[:, :candidates]
        for s, idx in zip(block, top, strict=True):
            out.append(max(identity(s, reference[j], aligner) for j in idx))
        if progress is not None:
            progress(len(block))
    return out
