"""Issue #19 point 3's GPU step as one device call: train the larger teacher for as many steps as fit a time budget.

A lent GPU comes as one slice of about 15 minutes per session (start-up included), at most 10 minutes per command,
on a machine that starts bare and keeps nothing; at most 8 files of 16 MiB (64 MiB in all) come back. The resume
state of a 7.5M-parameter run (weights, EMA and AdamW moments: about 120 MB) can therefore never reach a second
slice, so the run must finish inside one command. This script makes it do so:

1. probe: `protdidi train-teacher --config CONFIG --stop-at P` on this machine, logged every P/4 steps and
   evaluated and checkpointed at P/2 and P: seconds per step from steps 3P/4..P (start-up and warm-up
   excluded), and the cost of one evaluation plus checkpoint from how much longer steps P/2..3P/4 took;
2. train: the same command from scratch with `train.steps` = the steps that fit `--budget` seconds (x 0.9, with
   one evaluation and checkpoint every `train.eval_every` steps, capped at the config's own count) and the
   warm-up scaled alike; the resolved config (config.yaml) records both, so `protdidi train-teacher --config
   CONFIG --set train.steps=N --set train.warmup_steps=W` reproduces it. Should it still run past `--deadline`
   seconds after the start, it is stopped and its last evaluated checkpoint kept;
3. pack: the teacher in the shipped layout (best/'s config.json, vocab.json, model.safetensors beside config.yaml,
   log.jsonl, loss.png, report.json) as a tar cut into parts of `--part-mib` MiB, with manifest.json (sha256 of
   every part and of the whole), and train.log, into `--out`. A training command that fails (the trainer refuses
   a non-finite loss, for one) leaves train.log and its log.jsonl as failed-probe-log.jsonl or
   failed-run-log.jsonl there instead, so the step it reached comes back.

    # on the device (command of the `run` call; carry [".whl"], which holds the biopython wheel for Python 3.12):
    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
    python3 benchmarks/gpu_teacher.py --out $OUT
    # here, afterwards: check, join and unpack into a checkpoint directory; writes benchmarks/results/gpu_teacher.*
    python benchmarks/gpu_teacher.py --unpack /work/.device/FILES_AT -o runs/teacher-cath-8m
    # CPU smoke test of the same path at toy size, ~1 minute (tests/test_gpu_teacher.py runs one on a toy FASTA)
    python benchmarks/gpu_teacher.py --budget 20 --probe-steps 8 --set model.num_layers=2 --set model.embed_dim=32 \
        --set model.attention_heads=4 --set train.batch_size=8 --set train.eval_every=20 --out /tmp/gpu_teacher
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from bench import RESULTS, ROOT, add_replot, child_env, command_line, log_records, run_or_load, save_markdown, table
from parts import joined_parts, pack_parts

from protdidi.atomic_dirs import write_dir_atomic
from protdidi.io import write_text_atomic

CONFIG = ROOT / "configs" / "teacher-cath-8m.yaml"
NAME = "protdidi-cath-teacher-8m"
MODEL_FILES = ("config.json", "vocab.json", "model.safetensors")
RUN_FILES = ("config.yaml", "log.jsonl", "loss.png", "report.json")
MARGIN = 0.9  # of the budget planned for steps; the rest absorbs evaluations, checkpoints and drift


def plan_steps(probed: dict, budget_s: float, steps: int, warmup: int, eval_every: int,
               multiple: int = 10) -> tuple[int, int]:
    """(steps, warm-up) of a run that fits `budget_s`: each step costs the probe's seconds per step plus its
    evaluation-and-checkpoint cost spread over `eval_every` steps. At most the config's `steps`, a multiple of
    `multiple` (at least one); the warm-up scaled by the same factor (at least 1)."""
    per_step = probed["s_per_step"] + probed["eval_save_s"] / eval_every
    fit = int(MARGIN * budget_s / per_step) // multiple * multiple
    n = max(multiple, min(steps, fit))
    return n, warmup if n == steps else max(1, round(warmup * n / steps))


def train_teacher(args, run_dir: Path, sets: list[str], log, flags: tuple[str, ...] = (),
                  timeout: float | None = None) -> bool:
    """`protdidi train-teacher` in a child process (the user's own command); False if it outlived `timeout`."""
    cmd = [sys.executable, "-m", "protdidi", "train-teacher", "--config", str(args.config), "-o", str(run_dir),
           *flags]
    for item in [*args.set, *sets]:
        cmd += ["--set", item]
    env = child_env()
    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    try:
        subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return False
    return True


def probe(args, work: Path, log, timeout: float) -> dict:
    """4q steps of the real configuration (q = `--probe-steps` / 4), logged every q, evaluated and checkpointed at
    2q and 4q (each after that step's log line): seconds per step from the last window, steps 3q..4q (start-up
    and warm-up excluded: on the H200 steps 25..50 took 0.13 s each, steps 50..2730 of the run 0.07), and the
    cost of one evaluation plus checkpoint from how much longer steps 2q..3q took."""
    q = max(1, args.probe_steps // 4)
    if not train_teacher(args, work / "probe", [f"train.log_every={q}", f"train.eval_every={2 * q}",
                                                f"train.save_every={2 * q}"], log, ("--stop-at", str(4 * q)), timeout):
        sys.exit(f"gpu_teacher: the {4 * q}-step probe outlived the deadline; nothing was trained")
    wall = {r["step"]: r["wall_s"] for r in log_records(work / "probe") if "loss" in r}
    plain, with_eval = wall[4 * q] - wall[3 * q], wall[3 * q] - wall[2 * q]
    return {"steps": 4 * q, "s_per_step": plain / q, "eval_save_s": max(0.0, with_eval - plain)}


def pack(run_dir: Path, name: str, out: Path, part_bytes: int, work: Path) -> tuple[str, list[dict]]:
    """The teacher directory as `name/…` in a tar cut into parts; returns (sha256 of the tar, parts)."""
    model_dir = next((run_dir / d for d in ("best", "last") if (run_dir / d / "model.safetensors").exists()), None)
    members = [(model_dir / f, f) for f in MODEL_FILES] if model_dir else []
    members += [(run_dir / f, f) for f in RUN_FILES if (run_dir / f).exists()]
    return pack_parts([(path, f"{name}/{arcname}") for path, arcname in members], name, out, part_bytes, work)


def train(args) -> None:
    import torch

    from protdidi.config import load_config
    from protdidi.domains.protein.teacher import TeacherRunConfig

    start = time.monotonic()
    cfg = load_config(TeacherRunConfig, args.config, args.set)  # refuses a bad config before any work
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="gpu_teacher-"))
    try:
        manifest = {"name": cfg.name, **probe_train_pack(args, cfg, out, work, start), "command": command_line(),
                    "config": str(args.config), "overrides": args.set, "eval_every": cfg.train.eval_every,
                    "budget_s": args.budget, "deadline_s": args.deadline,
                    "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
                    "torch": torch.__version__, "total_s": round(time.monotonic() - start, 1)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_text_atomic(out / "manifest.json", lambda f: f.write(json.dumps(manifest, indent=1) + "\n"))
    print(json.dumps({k: v for k, v in manifest.items() if k != "tokens_per_step"}, indent=1))


def probe_train_pack(args, cfg, out: Path, work: Path, start: float) -> dict:
    """Steps 1-3 of the module docstring; the manifest's fields about the run and its parts."""
    with open(out / "train.log", "w") as log:
        try:
            probed = probe(args, work, log, timeout=args.deadline)
            steps, warmup = plan_steps(probed, args.budget, cfg.train.steps, cfg.train.warmup_steps,
                                       cfg.train.eval_every)
            print(f"probe: {probed} -> {steps} steps (warm-up {warmup})", flush=True)
            left = args.deadline - (time.monotonic() - start)
            finished = train_teacher(args, work / "run", [f"train.steps={steps}", f"train.warmup_steps={warmup}"],
                                     log, timeout=max(1.0, left))
        except subprocess.CalledProcessError as err:
            log.flush()
            failed = next((work / d for d in ("run", "probe") if (work / d / "log.jsonl").exists()), None)
            if failed is not None:  # the steps it logged come back too (the scratch directory does not)
                shutil.copyfile(failed / "log.jsonl", out / f"failed-{failed.name}-log.jsonl")
            tail = (out / "train.log").read_text().splitlines()[-40:]
            sys.exit("\n".join([*tail, f"gpu_teacher: {' '.join(err.cmd[:4])} failed (exit {err.returncode})"]))
    records = log_records(work / "run")
    tar_sha, parts = pack(work / "run", cfg.name, out, int(args.part_mib * 2**20), work)
    return {"status": "finished" if finished and (work / "run" / "report.json").exists() else "stopped at the deadline",
            "probe": probed, "steps": steps, "warmup_steps": warmup,
            "steps_done": max((r["step"] for r in records), default=0),
            "train_wall_s": max((r.get("wall_s", 0) for r in records), default=0.0),
            "tokens_per_step": [r["tokens"] for r in records if "tokens" in r], "tar_sha256": tar_sha, "parts": parts}


def unpack(args) -> dict:
    """Check every part against manifest.json, join them, and unpack the teacher into `args.dest`."""
    src, dest = Path(args.unpack), Path(args.dest)
    if not (src / "manifest.json").is_file():
        sys.exit(f"gpu_teacher: {src} holds no manifest.json (not the --out of a gpu_teacher.py run)")
    manifest = json.loads((src / "manifest.json").read_text())
    if dest.exists() and any(dest.iterdir()):
        sys.exit(f"gpu_teacher: {dest} already exists and is not empty")
    with joined_parts(src, manifest["parts"], manifest["tar_sha256"], "gpu_teacher") as unpacked:

        def write(dest: Path) -> None:
            for f in (unpacked / manifest["name"]).iterdir():
                shutil.copy2(f, dest / f.name)

        write_dir_atomic(dest, write, marker="config.yaml")
    evals = [r for r in log_records(dest) if "valid_nelbo" in r]
    report = json.loads((dest / "report.json").read_text()) if (dest / "report.json").exists() else None
    run_cfg = yaml.safe_load((dest / "config.yaml").read_text())
    shipped = None if args.no_reference else reference(run_cfg["train"]["eval_batch_size"])
    return {"command": command_line(), "manifest": {k: v for k, v in manifest.items() if k != "parts"},
            "valid_curve": [(r["step"], r["valid_nelbo"]) for r in evals], "report": report, "shipped": shipped}


def reference(batch_size: int) -> dict:
    """The shipped teacher's report rows, measured now exactly as `train-teacher` measured the new one
    (`nelbo_vs_unigram` on the same splits and batch size): the reference row."""
    from protdidi.domains.protein.data import TokenizedSet, default_cath_splits
    from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
    from protdidi.tasks.mdlm import nelbo_vs_unigram

    teacher = PROTEIN.load_model("teacher")
    sets = {k: TokenizedSet.from_records(v).seqs for k, v in default_cath_splits("--fasta").items()}
    rows = nelbo_vs_unigram(teacher.denoiser, sets["train"], {k: sets[k] for k in ("valid", "test")},
                            teacher.schedule, teacher.max_length, batch_size, "cpu")
    return {"model": teacher.name, "params": sum(p.numel() for p in teacher.denoiser.parameters()), **rows}


def markdown(result: dict) -> str:
    m, report, shipped = result["manifest"], result["report"], result["shipped"]
    tokens = sum(m["tokens_per_step"]) / max(1, len(m["tokens_per_step"]))
    rows = []
    pairs = [(f"{m['name']} (this run)", report)]
    if shipped:
        pairs.append((f"{shipped['model']} (shipped, reference)", shipped))
    for what, rep in pairs:
        for split in ("valid", "test"):
            r = rep[split] if rep else None
            cells = [f"{rep['params'] / 1e6:.2f}M", f"{r['nelbo_ppl']:.2f}", f"{r['unigram_ppl']:.2f}",
                     f"{r['ppl_reduction']:.1%}"] if rep else ["–"] * 4
            rows.append([what if split == "valid" else "", split, *cells])
    return "\n".join([
        f"# Larger teacher trained on {m['device']} in one device slice", "",
        f"On the device: `{m['command']}` (torch {m['torch']}); here: `{result['command']}`.", "",
        f"Status: **{m['status']}**. Probe ({m['probe']['steps']} steps of `{m['config']}`"
        f"{' with ' + ', '.join(m['overrides']) if m['overrides'] else ''}): {m['probe']['s_per_step']:.3f} s/step, "
        f"{m['probe']['eval_save_s']:.1f} s per evaluation and checkpoint (every {m['eval_every']} steps); budget "
        f"{m['budget_s']:.0f} s -> {m['steps']} steps (warm-up {m['warmup_steps']}); ran {m['steps_done']} steps in "
        f"{m['train_wall_s']:.0f} s of training ({tokens * m['steps_done'] / max(m['train_wall_s'], 1e-9):,.0f} "
        f"real tokens/s; {tokens:,.0f} per logged step), {m['total_s']:.0f} s in all.", "",
        "NELBO perplexity of the best checkpoint on the CATH splits, as `protdidi train-teacher` writes it in "
        "report.json (`nelbo_vs_unigram`: 4 fixed-seed passes of the "
        f"{(report or {}).get('valid', {}).get('estimator', 'mask-count')} estimator), against the add-one "
        "unigram baseline of the training split" + ("; the shipped teacher scored the same way, here, as the "
                                                     "reference:" if shipped else ":"), "",
        *table(["teacher", "split", "parameters", "NELBO perplexity", "unigram perplexity", "reduction"],
               rows), "",
        "Validation NELBO during training (step: nats/token): "
        + ", ".join(f"{s}: {v:.4f}" for s, v in result["valid_curve"]), ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    parser.add_argument("--budget", type=float, default=420, help="seconds of training to plan the steps for")
    parser.add_argument("--deadline", type=float, default=530,
                        help="seconds after the start at which a run still going is stopped (its best/ is kept)")
    parser.add_argument("--probe-steps", type=int, default=200)
    parser.add_argument("--part-mib", type=float, default=15, help="size of each part (the device returns <= 16 MiB)")
    parser.add_argument("--out", default=os.environ.get("OUT"), help="where the parts go (default: $OUT)")
    parser.add_argument("--unpack", help="a folder of parts and manifest.json to check, join and unpack")
    parser.add_argument("-o", "--dest", help="with --unpack: the checkpoint directory to create")
    parser.add_argument("--results", type=Path, default=RESULTS, help="with --unpack: where gpu_teacher.* go")
    parser.add_argument("--no-reference", action="store_true",
                        help="with --unpack: skip scoring the shipped teacher beside it (a few CPU minutes)")
    add_replot(parser)
    args = parser.parse_args()
    args.set = [f"name={NAME}", *args.set]  # the model's name, as the shipped layout records it
    if args.unpack or args.replot:
        if args.unpack and not args.dest:
            parser.error("--unpack needs -o DEST")
        args.out = args.results
        save_markdown(args, "gpu_teacher", markdown(run_or_load(args, "gpu_teacher", unpack)))
    elif not args.out:
        parser.error("--out is required (or $OUT set)")
    else:
        train(args)


if __name__ == "__main__":
    main()
