"""Does a sequence look like a known protein family? A profile search that nobody here trained: HMMER3's phmmer
(through pyhmmer) of each sequence against a reference database (default: the CATH training split), the best
hit per sequence, and the row columns built from it.

E-values are reported at a fixed database size (`FIXED_Z`, the number of CATH S40 domains) whatever database is
searched, so rows searched against different databases stay comparable. A sequence has a homolog when its best hit
has E < `HIT_EVALUE`; it is a near copy when that hit covers at least `NEAR_COPY_COVERAGE` of it at
`NEAR_COPY_IDENTITY` identity or more (identity: identical residues over aligned columns of the best domain)."""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable

import torch

from protdidi.domains.protein.alphabet import ACCEPTED_RESIDUES

HIT_EVALUE = 1e-3
NEAR_COPY_IDENTITY, NEAR_COPY_COVERAGE = 0.90, 0.80
FIXED_Z = 20_006  # CATH S40 v4.1.0 domains: the database size every E-value is reported at
REPORT_EVALUE = 10.0  # hits kept by the search (the best one is what counts)
HOMOLOGY_COLUMNS = ("homology_hit_rate", "homology_hit_rate_ci95", "near_copy_rate", "median_best_hit_identity")


def search_settings() -> dict:
    """What every homology column depends on besides the queries and the database (part of a cache key)."""
    import pyhmmer

    return {"pyhmmer": pyhmmer.__version__, "z": FIXED_Z, "hit_evalue": HIT_EVALUE,
            "near_copy": [NEAR_COPY_IDENTITY, NEAR_COPY_COVERAGE]}


def describe(database: str, size: int) -> str:
    """The search in words, for a report: `database` names what was searched."""
    import pyhmmer

    return (f"phmmer (pyhmmer {pyhmmer.__version__}) against {database} ({size:,} sequences), E-values at a fixed "
            f"database size of {FIXED_Z:,}; homolog: best hit E < {HIT_EVALUE:g}; near copy: best hit >= "
            f"{NEAR_COPY_IDENTITY:.0%} identity over >= {NEAR_COPY_COVERAGE:.0%} of the sequence")


def _block(seqs: list[str], prefix: str):
    from pyhmmer.easel import Alphabet, TextSequence, TextSequenceBlock

    # HMMER's amino alphabet takes the 20 residues and B, Z, X, U, O; anything else (never in a checked FASTA)
    # would be read as X.
    clean = ["".join(c if c in ACCEPTED_RESIDUES else "X" for c in s.upper()) or "X" for s in seqs]
    return TextSequenceBlock([TextSequence(name=f"{prefix}{i}".encode(), sequence=s)
                              for i, s in enumerate(clean)]).digitize(Alphabet.amino())


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0


def best_hits(queries: list[str], database: list[str], progress: Callable[[int], None] | None = None,
              leave_one_out: bool = False) -> list[dict | None]:
    """Per query, its best phmmer hit in `database` (E-value at `FIXED_Z`, bit score, identity and query coverage
    of the best domain, the target's index), or None when nothing scored E < `REPORT_EVALUE`. `leave_one_out`:
    the queries are the database itself, and each query's own entry is never its hit (the best of the others)."""
    import pyhmmer

    if not queries:
        return []
    if leave_one_out and queries != database:
        raise ValueError("leave_one_out searches a set against itself: queries and database must be the same list")
    targets = _block(database, "t")
    out: list[dict | None] = [None] * len(queries)
    for hits in pyhmmer.hmmer.phmmer(_block(queries, "q"), targets, cpus=_cpus(), Z=FIXED_Z, E=REPORT_EVALUE):
        i = _index(hits.query.name)
        best = next((h for h in hits if not (leave_one_out and _index(h.name) == i)), None)
        if best is not None:
            ali = best.best_domain.alignment
            columns = len(ali.identity_sequence)
            same = sum(ch.isalpha() for ch in ali.identity_sequence)
            out[i] = {"evalue": float(best.evalue), "bits": float(best.score),
                      "identity": same / max(columns, 1),
                      "coverage": (ali.hmm_to - ali.hmm_from + 1) / max(ali.hmm_length, 1),
                      "target": _index(best.name)}
        if progress is not None:
            progress(1)
    return out


def hit_pairs(queries: list[str], database: list[str], evalue: float,
              progress: Callable[[int], None] | None = None) -> list[tuple[int, int, float]]:
    """Every (query index, target index, E-value) whose phmmer hit has E < `evalue` (at `FIXED_Z`), e.g. the edges
    of a homology graph when the database is the queries."""
    import pyhmmer

    if not queries:
        return []
    out = []
    for hits in pyhmmer.hmmer.phmmer(_block(queries, "q"), _block(database, "t"), cpus=_cpus(), Z=FIXED_Z, E=evalue):
        i = _index(hits.query.name)
        out += [(i, _index(h.name), float(h.evalue)) for h in hits if h.evalue < evalue]
        if progress is not None:
            progress(1)
    return out


def _index(name: str | bytes) -> int:
    """The position encoded in a sequence name made by `_block` (pyhmmer gives names as str or bytes)."""
    return int((name.decode() if isinstance(name, bytes) else name)[1:])


def is_hit(hit: dict | None) -> bool:
    return hit is not None and hit["evalue"] < HIT_EVALUE


def is_near_copy(hit: dict | None) -> bool:
    return is_hit(hit) and hit["identity"] >= NEAR_COPY_IDENTITY and hit["coverage"] >= NEAR_COPY_COVERAGE


def rate_ci(flags: list[bool], seed: int, draws: int = 2000) -> list[float]:
    """95% percentile bootstrap interval of a rate (resampling sequences, fixed seed)."""
    if not flags:
        return [float("nan"), float("nan")]
    values = torch.tensor(flags, dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    means = values[torch.randint(0, len(values), (draws, len(values)), generator=g)].mean(-1)
    lo, hi = torch.quantile(means, torch.tensor([0.025, 0.975], dtype=torch.float64)).tolist()
    return [round(lo, 4), round(hi, 4)]


def homology_columns(hits: list[dict | None], seed: int) -> dict:
    """A row's homology columns: the hit rate (E < 1e-3) with its 95% bootstrap interval, the near-copy rate and
    the median best-hit identity (sequences without any hit count as identity 0)."""
    flags = [is_hit(h) for h in hits]
    identities = [h["identity"] if h is not None else 0.0 for h in hits]
    return dict(zip(HOMOLOGY_COLUMNS, (
        float(sum(flags) / len(flags)) if flags else float("nan"), rate_ci(flags, seed),
        float(sum(map(is_near_copy, hits)) / len(hits)) if hits else float("nan"),
        float(statistics.median(identities)) if identities else float("nan")), strict=True))
