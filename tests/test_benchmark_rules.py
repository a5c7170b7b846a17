"""The rules the protein benchmarks apply: the equal-wall-clock ship rule (judge, metapredict, homology) and the
check that columns added to a saved result belong to the saved sequences."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))
from bench import FINGERPRINT, add_columns, cath_splits  # noqa: E402
from equal_wallclock import verdict  # noqa: E402

from protdidi.domains.protein.evaluation.report_rows import sequence_metrics  # noqa: E402

BETTER_JUDGE = {"ratio": 0.9, "ci95": [0.85, 0.95]}
BETTER_DISORDER = {"disorder_fraction": {"difference": -0.02, "ci95": [-0.03, -0.01]}}


def test_ship_rule_needs_all_three_signals():
    same_homology = {"difference": 0.0, "ci95": [-0.01, 0.01]}
    assert verdict(BETTER_JUDGE, BETTER_DISORDER, same_homology).startswith("ship")
    worse = verdict(BETTER_JUDGE, BETTER_DISORDER, {"difference": -0.05, "ci95": [-0.08, -0.02]})
    assert worse == "keep the default: the candidate is worse on homology"
    both = verdict({"ratio": 1.0, "ci95": [0.97, 1.03]}, BETTER_DISORDER, {"difference": -0.05, "ci95": [-0.08, -0.02]})
    assert both == "keep the default: the candidate does not beat it on the judge and is worse on homology"
    assert "metapredict" in verdict(BETTER_JUDGE, {}, same_homology)


def saved_result(tmp_path: Path, seqs: list[str]) -> argparse.Namespace:
    args = argparse.Namespace(out=tmp_path, fasta=None, buckets=(10,), per_bucket=2, seed=3)
    _, _, reference = cath_splits(args)
    row = {"set": "a row", **sequence_metrics(seqs, reference, 3)}
    (tmp_path / "stem.json").write_text(json.dumps({"buckets": [10], "per_bucket": 2, "seed": 3, "rows": [row]}))
    return args


def test_added_columns_join_only_the_saved_sequences(tmp_path):
    seqs = ["MKTAYIAKQR", "GSHMLEDPVA"]
    args = saved_result(tmp_path, seqs)
    added = add_columns(args, "stem", lambda a: [("a row", seqs)], lambda label, s: {"extra": len(s)}, "extra")
    assert added["rows"][0]["extra"] == 2 and "extra_command" in added
    assert set(FINGERPRINT) <= set(added["rows"][0])
    with pytest.raises(SystemExit, match="differ from the saved run"):
        add_columns(args, "stem", lambda a: [("a row", ["MKTAYIAKQR", "GSHMLEDPVW"])], lambda label, s: {}, "extra")
    with pytest.raises(SystemExit, match="differ from the saved run"):
        add_columns(args, "stem", lambda a: [("another row", seqs)], lambda label, s: {}, "extra")
