"""benchmarks/text_didi_curve.py, DiDi against iterations on the CPU: every arm's config loads strictly with the
study's overrides (and at toy size), and rows of an earlier sitting are reused only for the same teacher weights.
(The whole path at toy size takes about 5 minutes on two cores: `--toy --runs DIR --out DIR`.)"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

from protdidi.config import load_config
from protdidi.domains.text.distill import TextDistillConfig

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))
import text_didi_curve as curve  # noqa: E402


@pytest.mark.parametrize("toy", [False, True])
def test_every_arm_loads_strictly_with_the_study_overrides(toy):
    for label, (config, sets) in curve.ARMS.items():
        cfg = load_config(TextDistillConfig, str(curve.CONFIGS / config),
                          [*sets, *toy * curve.TOY["arm"], "teacher=x"])
        assert cfg.loop.steps == (6 if toy else curve.STEPS), label
        assert cfg.loop.snapshot_steps == ((2, 4) if toy else curve.SNAPSHOTS), label
        assert cfg.method == label.split("-")[0]
    assert {label for label in curve.ARMS if "shared-tau" in label} == {"didi-lr1e-5-shared-tau"}


def test_earlier_rows_are_kept_only_for_the_same_teacher(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "out"
    (runs / "text-teacher" / "best").mkdir(parents=True)
    (runs / "text-teacher" / "best" / "model.safetensors").write_bytes(b"weights")
    out.mkdir()
    args = argparse.Namespace(runs=runs, work=runs / "text-didi-curve", out=out)
    rows = {"teacher": [{"checkpoint": "teacher", "nfe": 16, "gen_ppl": 150.0}]}
    (out / "text_didi_curve.json").write_text(json.dumps({"teacher_sha256": curve.teacher_sha(runs), "scores": rows}))
    assert curve.cached_scores(args) == rows
    (runs / "text-teacher" / "best" / "model.safetensors").write_bytes(b"retrained")
    assert curve.cached_scores(args) == {}
