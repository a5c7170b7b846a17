"""benchmarks/gpu_text_didi.py, the one-call GPU study of DiDi on the text teacher: every arm's run config loads
strictly before a device minute is spent, the students a run kept are found with their steps, and the parts that
bring them back are checked. (The whole path at toy size takes minutes on two cores: its docstring's --toy command.)"""

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
import gpu_text_didi as study  # noqa: E402
import text_scores  # noqa: E402
from parts import joined_parts, pack_parts  # noqa: E402


@pytest.mark.parametrize("toy", [False, True])
def test_every_arm_loads_strictly_with_the_study_overrides(toy):
    args = study.settle(argparse.Namespace(toy=toy, n=128, budget=540, snapshot_every=1.0))
    assert "idlm" in args.arms and any(label.startswith("didi") for label in args.arms)
    for label, (config, _, _) in args.arms.items():
        cfg = load_config(TextDistillConfig, str(study.CONFIGS / config),
                          [*study.arm_sets(args, label, 1234), "teacher=x"])
        assert cfg.loop.steps == 1234 and cfg.loop.snapshot_minutes[0] == 1.0
        if cfg.method == "didi" and not args.arms[label][2]:  # study arms: the probe lies inside the warm-up
            assert cfg.didi.warmup_steps > study.PROBE
    assert args.n == (8 if toy else 128)


def test_checkpoints_are_the_snapshots_and_last_with_their_steps(tmp_path):
    run = tmp_path / "arm"
    for d in ("at-1min", "at-2min", "last"):
        (run / d).mkdir(parents=True)
        (run / d / "model.safetensors").write_bytes(b"x")
    records = [{"step": 5, "loss": 1.0, "wall_s": 30.0}, {"step": 9, "snapshot": "at-1min", "wall_s": 61.0},
               {"step": 12, "snapshot": "at-3min", "wall_s": 181.0},  # its directory is gone: not listed
               {"step": 20, "loss": 0.5, "wall_s": 140.0}]
    (run / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    assert text_scores.checkpoints(run) == [{"checkpoint": "at-1min", "step": 9, "wall_s": 61.0},
                                      {"checkpoint": "last", "step": 20, "wall_s": 140.0}]


def test_parts_round_trip_and_refuse_a_damaged_part(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.bin").write_bytes(bytes(range(256)) * 40)
    (src / "b.txt").write_text("hello")
    out, work = tmp_path / "out", tmp_path / "work"
    out.mkdir()
    work.mkdir()
    sha, parts = pack_parts([(src / "a.bin", "run/a.bin"), (src / "b.txt", "run/b.txt")], "bundle", out, 4096, work)
    assert len(parts) > 1 and not list(work.iterdir())  # cut into parts; the whole tar is not left behind
    with joined_parts(out, parts, sha, "test") as unpacked:
        assert (unpacked / "run" / "a.bin").read_bytes() == (src / "a.bin").read_bytes()
        assert (unpacked / "run" / "b.txt").read_text() == "hello"
    damaged = out / parts[0]["file"]
    damaged.write_bytes(b"\0" + damaged.read_bytes()[1:])
    with pytest.raises(SystemExit, match="does not match"), joined_parts(out, parts, sha, "test"):
        pass
