"""The homology columns of `evaluate`: phmmer (pyhmmer) finds a planted relative and nothing for shuffles, E-values
are at a fixed database size, near copies are told apart from distant homologs, and the rates carry intervals."""

from __future__ import annotations

import random

import pytest

from protdidi.domains.protein.evaluation.homology import (
    FIXED_Z,
    HOMOLOGY_COLUMNS,
    best_hits,
    hit_pairs,
    homology_columns,
    is_near_copy,
    rate_ci,
)

RESIDUES = "ACDEFGHIKLMNPQRSTVWY"


def random_seqs(n: int, length: int, rng: random.Random) -> list[str]:
    return ["".join(rng.choice(RESIDUES) for _ in range(length)) for _ in range(n)]


def mutate(seq: str, rate: float, rng: random.Random) -> str:
    return "".join(rng.choice(RESIDUES) if rng.random() < rate else c for c in seq)


@pytest.fixture(scope="module")
def planted():
    """A database of 200 random 120-residue sequences; queries: a 5%-mutated copy of member 7, a 45%-mutated
    relative of member 11, member 3 shuffled, and a fresh random sequence."""
    rng = random.Random(0)
    db = random_seqs(200, 120, rng)
    queries = [mutate(db[7], 0.05, rng), mutate(db[11], 0.45, rng), "".join(rng.sample(db[3], len(db[3]))),
               random_seqs(1, 120, rng)[0]]
    return db, queries, best_hits(queries, db)


def test_the_planted_copy_and_relative_are_found_and_nothing_else(planted):
    _, _, hits = planted
    close, distant, shuffled, fresh = hits
    assert close["target"] == 7 and close["evalue"] < 1e-20 and close["identity"] > 0.9 and close["coverage"] > 0.95
    assert distant["target"] == 11 and distant["evalue"] < 1e-3 and 0.4 < distant["identity"] < 0.8
    assert is_near_copy(close) and not is_near_copy(distant)
    assert all(h is None or h["evalue"] > 1e-3 for h in (shuffled, fresh))


def test_evalues_are_at_the_fixed_database_size_whatever_is_searched(planted):
    db, queries, hits = planted
    alone = best_hits(queries[:1], [db[7]])[0]  # the same hit in a one-sequence database
    assert alone["bits"] == pytest.approx(hits[0]["bits"], rel=1e-3)
    assert alone["evalue"] == pytest.approx(hits[0]["evalue"], rel=0.05)  # Z = FIXED_Z in both
    assert FIXED_Z == 20_006


def test_leave_one_out_finds_the_relative_not_itself():
    rng = random.Random(1)
    family = random_seqs(3, 120, rng)
    family.append(mutate(family[0], 0.3, rng))  # 3 is 0's relative; 1 and 2 have none
    hits = best_hits(family, family, leave_one_out=True)
    assert hits[0]["target"] == 3 and hits[3]["target"] == 0 and hits[0]["evalue"] < 1e-3
    assert all(h is None or (h["target"] != i and h["evalue"] > 1e-3) for i, h in ((1, hits[1]), (2, hits[2])))
    assert best_hits(family, family)[1]["target"] == 1  # without it, each finds itself
    with pytest.raises(ValueError, match="same list"):
        best_hits(family[:2], family, leave_one_out=True)


def test_hit_pairs_are_the_homology_graph_edges():
    rng = random.Random(2)
    seqs = random_seqs(4, 100, rng)
    seqs.append(mutate(seqs[2], 0.2, rng))
    edges = {(i, j) for i, j, e in hit_pairs(seqs, seqs, 1e-5) if i != j}
    assert edges == {(2, 4), (4, 2)}
    assert all(e < 1e-5 for *_, e in hit_pairs(seqs, seqs, 1e-5))


def test_row_columns_and_their_interval(planted):
    _, _, hits = planted
    columns = homology_columns(hits, seed=0)
    assert list(columns) == list(HOMOLOGY_COLUMNS)
    assert columns["homology_hit_rate"] == 0.5 and columns["near_copy_rate"] == 0.25
    lo, hi = columns["homology_hit_rate_ci95"]
    assert 0 <= lo <= 0.5 <= hi <= 1
    identities = sorted(h["identity"] if h else 0.0 for h in hits)  # no hit counts as identity 0
    assert columns["median_best_hit_identity"] == pytest.approx((identities[1] + identities[2]) / 2)
    assert rate_ci([True] * 10, seed=0) == [1.0, 1.0] and best_hits([], ["ACD"]) == []
