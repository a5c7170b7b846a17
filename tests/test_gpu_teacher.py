"""benchmarks/gpu_teacher.py, the one-call GPU run of the larger teacher, end to end at toy size on the CPU: the
probe sizes the run to the budget, the resolved config records the planned steps, the parts come back joined and
checked, and a damaged part is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from protdidi.domains.protein.plugin import DOMAIN as PROTEIN

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))
from gpu_teacher import plan_steps  # noqa: E402

TOY = ["model.num_layers=1", "model.embed_dim=32", "model.attention_heads=4", "train.batch_size=8",
       "train.eval_every=10", "train.eval_batch_size=16", "data.max_length=32", "device=cpu"]


def test_plan_steps_fits_the_budget_and_caps_at_the_config():
    probed = {"s_per_step": 0.1, "eval_save_s": 5.0}
    steps, warmup = plan_steps(probed, budget_s=420, steps=6000, warmup=500, eval_every=250)
    per_step = 0.1 + 5.0 / 250  # a step plus its share of one evaluation and checkpoint every 250 steps
    assert steps % 10 == 0 and steps * per_step <= 0.9 * 420 < (steps + 10) * per_step  # 3,140 steps
    assert warmup == round(500 * steps / 6000)
    assert plan_steps(probed, budget_s=1e6, steps=6000, warmup=500, eval_every=250) == (6000, 500)
    assert plan_steps(probed, budget_s=0.01, steps=6000, warmup=500, eval_every=250) == (10, 1)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCH / "gpu_teacher.py"), *args], capture_output=True, text=True)


def test_one_call_run_comes_back_as_a_checked_teacher(tmp_path, toy_fasta):
    out = tmp_path / "out"
    sets = [x for item in [*TOY, f"data.fasta={toy_fasta}"] for x in ("--set", item)]
    done = run("--budget", "4", "--probe-steps", "8", "--part-mib", "0.02", "--out", str(out), *sets)
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "finished" and manifest["steps_done"] == manifest["steps"]
    assert len(manifest["parts"]) > 1  # cut into parts, as the device's 16 MiB per file requires at full size
    assert (out / "train.log").read_text().count("train-teacher") == 2  # the probe and the run

    teacher = tmp_path / "teacher"
    done = run("--unpack", str(out), "-o", str(teacher), "--results", str(tmp_path / "res"), "--no-reference")
    assert done.returncode == 0, done.stderr[-2000:]
    resolved = yaml.safe_load((teacher / "config.yaml").read_text())["train"]
    assert (resolved["steps"], resolved["warmup_steps"]) == (manifest["steps"], manifest["warmup_steps"])
    model = PROTEIN.load_model(str(teacher))
    assert model.name == "protdidi-cath-teacher-8m" and model.denoiser.backbone.cfg.embed_dim == 32
    assert "finished" in (tmp_path / "res" / "gpu_teacher.md").read_text()

    done = run("--unpack", str(out), "-o", str(teacher), "--results", str(tmp_path / "res"), "--no-reference")
    assert done.returncode != 0 and "not empty" in done.stderr  # never unpacks over an existing checkpoint

    part = out / manifest["parts"][1]["file"]
    data = bytearray(part.read_bytes())
    data[0] ^= 1
    part.write_bytes(bytes(data))
    done = run("--unpack", str(out), "-o", str(tmp_path / "again"), "--results", str(tmp_path / "res2"),
               "--no-reference")
    assert done.returncode != 0 and "does not match manifest.json" in done.stderr
    assert not (tmp_path / "again").exists()


def test_a_failed_training_run_brings_its_log_back(tmp_path, toy_fasta):
    """The trainer refuses a non-finite loss (exit 1); what it logged until then comes back beside train.log."""
    out = tmp_path / "out"
    sets = [x for item in [*TOY, f"data.fasta={toy_fasta}", "train.lr=1e30", "train.warmup_steps=1"]
            for x in ("--set", item)]
    done = run("--budget", "4", "--probe-steps", "8", "--out", str(out), *sets)
    assert done.returncode != 0 and "failed (exit" in done.stderr
    assert (out / "failed-probe-log.jsonl").is_file() and not (out / "manifest.json").exists()


def test_needs_an_output(monkeypatch):
    monkeypatch.delenv("OUT", raising=False)
    done = run("--budget", "1")
    assert done.returncode != 0 and "--out is required" in done.stderr
