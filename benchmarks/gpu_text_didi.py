"""DiDi-Instruct's budget and learning-rate study on the Tiny Shakespeare text teacher, as one device call.

A lent GPU comes as one slice of about 15 minutes per session (start-up included, at most 10 minutes per command,
a bare machine that keeps nothing, at most 8 files of 16 MiB back), so everything happens in one command:

1. teacher and evaluator: `protdidi train-teacher --domain text --config configs/text-teacher.yaml` and
   `protdidi train-evaluator --config configs/text-evaluator.yaml`, side by side;
2. distil: every arm of ARMS (a committed config plus overrides) starts at once with `--stop-at PROBE`; each arm's
   seconds per step under that load (steps PROBE/2..PROBE) and start-up size its run to the distillation budget, and
   all resume at once with `--set loop.steps=N` (N: what fits, at most 10,000; the probe's steps lie inside the
   warm-up, so they are those of the planned run). Arms marked fixed keep their config's steps. Every arm keeps a
   copy of its EMA student every `--snapshot-every` minutes of its own training wall-clock (`loop.snapshot_minutes`);
3. score: the teacher at 4-128 NFE, the natural test windows, and every arm's snapshots and final student at 8 and
   16 NFE (ancestral, float64 steps): GenPPL under the evaluator trained in step 1 (protdidi-shakespeare-gpt, NOT
   GPT-2 Large) with its bootstrap interval, and unigram entropy, one scoring process per arm;
4. pack: study.json (every row, each arm's log and plan) and one tar, in parts, holding the teacher, the evaluator,
   every arm's config and log, and the final students that fit `--keep-mib` (best GenPPL at 16 NFE first).

    # on the device (run's command; carry [".whl"] with the biopython wheel for Python 3.12):
    python3 benchmarks/gpu_text_didi.py --out $OUT --budget 540
    # here, afterwards: check and unpack the runs into runs/, then tables and plots from study.json
    python benchmarks/text_didi_study.py --unpack /work/.device/FILES_AT
    # the same path at toy size on this CPU (~4 minutes)
    python benchmarks/gpu_text_didi.py --toy --out /tmp/gpu_text_didi --budget 200
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import ROOT, child_env, command_line, log_records, machine, save_json
from parts import pack_parts
from text_scores import CORPUS, checkpoints, natural_row, sample_row

CONFIGS = ROOT / "configs"
PROBE = 40  # probe steps (seconds per step from the second half); every study arm's warm-up is longer
MAX_STEPS = 10_000  # the paper's iteration count
STUDY = ["loop.batch_size=32", "didi.warmup_steps=200", "didi.ema=0.999"]
ARMS = {  # label: (config, overrides, fixed step count)
    "didi-lr1e-6": ("didi-text.yaml", [*STUDY, "didi.student_lr=1e-6"], False),
    "didi-lr3e-6": ("didi-text.yaml", [*STUDY, "didi.student_lr=3e-6"], False),
    "didi-lr1e-5": ("didi-text.yaml", [*STUDY, "didi.student_lr=1e-5"], False),
    "didi-lr3e-5": ("didi-text.yaml", [*STUDY, "didi.student_lr=3e-5"], False),
    "didi-lr1e-5-ema0.99": ("didi-text.yaml", [*STUDY, "didi.student_lr=1e-5", "didi.ema=0.99"], False),
    "didi-lr1e-5-b128": ("didi-text.yaml", [*STUDY, "didi.student_lr=1e-5", "loop.batch_size=128"], False),
    "didi-lr1e-5-shared-tau": ("didi-text.yaml", [*STUDY, "didi.student_lr=1e-5", "didi.shared_tau=true"], False),
    "didi-committed": ("didi-text.yaml", [], True),
    "idlm": ("idlm-text.yaml", ["idlm.warmup_steps=200"], False),
}
TOY_ARMS = {"didi-lr1e-5": ARMS["didi-lr1e-5"], "didi-committed": ARMS["didi-committed"], "idlm": ARMS["idlm"]}
TOY_TEACHER = ["model.hidden_size=32", "model.n_blocks=2", "model.cond_dim=16", "train.steps=40",
               "train.eval_every=20", "train.save_every=20", "train.warmup_steps=5", "train.log_every=10"]
TOY_EVALUATOR = ["model.n_layer=1", "model.n_embd=32", "model.n_head=2", "train.steps=40", "train.eval_every=20",
                 "train.save_every=20", "train.warmup_steps=5", "train.log_every=10"]
TOY_ARM = ["loop.batch_size=2", "loop.eval_samples=4", "loop.eval_nfe=4", "data.length=32"]
TEACHER_NFE, STUDENT_NFE = (4, 8, 16, 32, 64, 128), (8, 16)


def protdidi(args: list[str], log_path: Path) -> subprocess.Popen:
    """`protdidi ARGS` in a child process of its own, output to `log_path`."""
    return child([sys.executable, "-m", "protdidi", *args], log_path)


def child(cmd: list[str], log_path: Path) -> subprocess.Popen:
    """`cmd` in a process session of its own, output appended to `log_path`; on a GPU machine each child gets two
    CPU threads, so that many children do not oversubscribe its cores."""
    env = child_env(PYTHONUNBUFFERED="1")
    if os.cpu_count() and os.cpu_count() >= 8:
        env["OMP_NUM_THREADS"] = "2"
    with open(log_path, "a") as log:
        log.write(f"$ {' '.join(cmd)}\n")
        log.flush()
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_all(procs: dict[str, subprocess.Popen], deadline: float) -> dict[str, int | None]:
    """Wait for every process until `deadline` (time.monotonic()); those still running then are killed (None)."""
    codes = {}
    for name, proc in procs.items():
        try:
            codes[name] = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            codes[name] = None
    return codes


def arm_sets(args, label: str, steps: int) -> list[str]:
    """The `--set` overrides of one arm's run: its own, then the study's logging, snapshots and step count."""
    return [*args.arms[label][1], "device=auto", "loop.log_every=5", "loop.eval_every=250", "loop.save_every=250",
            f"loop.snapshot_minutes={args.snapshots}", f"loop.steps={steps}", *(TOY_ARM if args.toy else [])]


def arm_command(args, label: str, work: Path, steps: int, extra: list[str]) -> list[str]:
    cmd = ["distill", "--domain", "text", "--config", str(CONFIGS / args.arms[label][0]), "--teacher",
           str(work / "text-teacher" / "best"), "--data", str(CORPUS), "-o", str(work / label), *extra]
    return cmd + [x for s in arm_sets(args, label, steps) for x in ("--set", s)]


def config_steps(args, label: str) -> int:
    """A fixed arm's step count: its config's (40 at toy size)."""
    import yaml

    return 40 if args.toy else int(yaml.safe_load((CONFIGS / args.arms[label][0]).read_text())["loop"]["steps"])


def distil(args, work: Path, t0: float) -> dict:
    """Step 2: probe every arm at once, plan each one's steps, resume them all at once."""
    plan = {}
    procs = {label: protdidi(arm_command(args, label, work, config_steps(args, label) if fixed else MAX_STEPS,
                                         ["--stop-at", str(PROBE)]), work / f"{label}.log")
             for label, (_, _, fixed) in args.arms.items()}
    started = time.monotonic()
    codes = wait_all(procs, t0 + args.budget * 0.45)
    probe_s = time.monotonic() - started
    end = t0 + args.budget * 0.7  # when the planned runs should be done; scoring and packing follow
    for label, (_, _, fixed) in args.arms.items():
        wall = {r["step"]: r["wall_s"] for r in log_records(work / label) if "loss" in r}
        if codes[label] != 0 or PROBE not in wall:
            plan[label] = {"status": f"probe failed (exit {codes[label]})"}
            continue
        per_step = (wall[PROBE] - wall[PROBE // 2]) / (PROBE - PROBE // 2)
        startup = max(0.0, probe_s - wall[PROBE])
        fit = int(0.8 * (end - time.monotonic() - startup) / per_step) // 10 * 10
        steps = config_steps(args, label) if fixed else max(PROBE + 10, min(MAX_STEPS, fit))
        plan[label] = {"probe_s_per_step": round(per_step, 4), "startup_s": round(startup, 1), "steps": steps}
    procs = {label: protdidi(arm_command(args, label, work, p["steps"], ["--resume"]), work / f"{label}.log")
             for label, p in plan.items() if "steps" in p}
    for label, code in wait_all(procs, t0 + args.budget * 0.76).items():
        records = log_records(work / label)
        plan[label].update(status="finished" if code == 0 else f"stopped (exit {code})",
                           steps_done=max((r["step"] for r in records), default=0),
                           train_wall_s=max((r.get("wall_s", 0) for r in records), default=0))
    return plan


def score(args) -> None:
    """Step 3 for one model (`--score LABEL`): rows into WORK/scores/LABEL.json."""
    import torch

    from protdidi.domains.text.genppl import load_causal_lm
    from protdidi.domains.text.plugin import DOMAIN as TEXT

    device = "cuda" if torch.cuda.is_available() else "cpu"
    work, label = Path(args.work), args.score
    lm = load_causal_lm(str(work / "text-evaluator" / "best"), device)
    rows = []
    if label == "teacher":
        teacher = TEXT.load_model(str(work / "text-teacher" / "best"))
        rows += [natural_row(teacher, lm, args.n, device, shuffled) for shuffled in (False, True)]
        rows += [sample_row(teacher, nfe, lm, args.n, device, checkpoint="teacher")
                 for nfe in (TEACHER_NFE[:2] if args.toy else TEACHER_NFE)]
    else:
        for ckpt in checkpoints(work / label):
            model = TEXT.load_model(str(work / label / ckpt["checkpoint"]))
            rows += [sample_row(model, nfe, lm, args.n, device, **ckpt) for nfe in STUDENT_NFE]
    save_json(work / "scores" / f"{label}.json", {"label": label, "device": device, "rows": rows})


def scorer(args, work: Path, label: str) -> subprocess.Popen:
    return child([sys.executable, __file__, "--score", label, "--work", str(work), "--n", str(args.n),
                  *["--toy"] * args.toy], work / f"score-{label}.log")


def score_all(args, work: Path, t0: float, procs: dict) -> dict:
    """Score every arm (the teacher's scorer, `procs`, already runs) and collect all rows."""
    labels = ["teacher", *[a for a in args.arms if (work / a / "log.jsonl").exists()]]
    procs.update({label: scorer(args, work, label) for label in labels if label not in procs})
    wait_all(procs, t0 + args.budget * 0.96)
    return {label: json.loads(f.read_text())["rows"] if (f := work / "scores" / f"{label}.json").exists() else None
            for label in labels}


def pack(args, work: Path, out: Path, scores: dict) -> dict:
    """Step 4's tar: teacher, evaluator, each arm's config/log, and the final students within `--keep-mib`."""
    members = []
    for run in ("text-teacher", "text-evaluator"):
        files = [f.relative_to(work / run) for f in sorted((work / run).rglob("*")) if f.is_file()]
        members += [(work / run / f, f"{run}/{f}") for f in files if f.parts[0] != "last"]  # best/ and the logs

    def final16(label: str) -> float:
        rows = [r for r in scores.get(label) or [] if r["checkpoint"] == "last" and r["nfe"] == 16]
        return rows[0]["gen_ppl"] if rows else float("inf")

    kept, room = [], args.keep_mib * 2**20
    for label in sorted(args.arms, key=final16):
        run = work / label
        members += [(run / f, f"{label}/{f}") for f in ("config.yaml", "log.jsonl", "loss.png") if (run / f).exists()]
        files = [f for f in sorted((run / "last").glob("*")) if f.is_file() and f.name != "trainer_state.pt"]
        size = sum(f.stat().st_size for f in files)
        if files and size <= room:
            room -= size
            kept.append(label)
            members += [(f, f"{label}/last/{f.name}") for f in files]
    tar_sha, parts = pack_parts(members, "text-didi-study", out, int(args.part_mib * 2**20), work)
    return {"kept_students": kept, "tar_sha256": tar_sha, "parts": parts}


def study(args) -> None:
    import torch

    t0 = time.monotonic()
    work, out = Path(args.work), Path(args.out)
    if work.exists():
        shutil.rmtree(work)
    (work / "scores").mkdir(parents=True)
    out.mkdir(parents=True, exist_ok=True)
    toy = args.toy
    first = {"text-teacher": ["train-teacher", "--domain", "text", "--config", str(CONFIGS / "text-teacher.yaml"),
                              "--data", str(CORPUS), *[x for s in TOY_TEACHER * toy for x in ("--set", s)]],
             "text-evaluator": ["train-evaluator", "--config", str(CONFIGS / "text-evaluator.yaml"), "--data",
                                str(CORPUS), *[x for s in TOY_EVALUATOR * toy for x in ("--set", s)]]}
    procs = {name: protdidi([*cmd, "-o", str(work / name)], work / f"{name}.log") for name, cmd in first.items()}
    codes = wait_all(procs, t0 + args.budget * 0.3)
    result = {"command": command_line(), "machine": machine("cuda" if torch.cuda.is_available() else "cpu"),
              "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None, "budget_s": args.budget,
              "samples": args.n, "snapshot_minutes": args.snapshots, "arms": {k: list(v) for k, v in args.arms.items()},
              "teacher_exit": codes["text-teacher"], "evaluator_exit": codes["text-evaluator"], "scores": {}}
    if all((work / name / "best").exists() for name in first):
        scoring = {"teacher": scorer(args, work, "teacher")}  # beside the arms: it needs no student
        result["plan"] = distil(args, work, t0)
        result["scores"] = score_all(args, work, t0, scoring)
    result["logs"] = {label: log_records(work / label) for label in [*first, *args.arms]}
    result.update(pack(args, work, out, result["scores"]))
    result["total_s"] = round(time.monotonic() - t0, 1)
    save_json(out / "study.json", result)
    with open(out / "console.log", "w") as log:  # the tail of every child's output, for a failure's cause
        for f in sorted(work.glob("*.log")):
            log.write(f"==> {f.name}\n" + "\n".join(f.read_text(errors="replace").splitlines()[-30:]) + "\n")
    print(json.dumps({k: result.get(k) for k in ("plan", "kept_students", "total_s", "teacher_exit",
                                                 "evaluator_exit")}, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.environ.get("OUT"), help="where study.json and the parts go ($OUT)")
    parser.add_argument("--work", default="/tmp/gpu_text_didi-work", help="scratch folder (emptied first)")
    parser.add_argument("--budget", type=float, default=540, help="seconds for the whole study")
    parser.add_argument("--snapshot-every", type=float, default=1.0, help="minutes between student snapshots")
    parser.add_argument("--n", type=int, default=128, help="samples per scored row")
    parser.add_argument("--keep-mib", type=float, default=40, help="room for final students in the tar")
    parser.add_argument("--part-mib", type=float, default=15, help="size of each part (the device returns <= 16)")
    parser.add_argument("--toy", action="store_true", help="tiny teacher, evaluator and arms: the CPU smoke test")
    parser.add_argument("--score", help=argparse.SUPPRESS)  # internal: score one model (step 3)
    args = parser.parse_args()
    if args.score:
        return score(args)
    if not args.out:
        parser.error("--out is required (or $OUT set)")
    study(settle(args))


def settle(args: argparse.Namespace) -> argparse.Namespace:
    """The arms, samples per row and snapshot times that `args` implies."""
    args.arms = TOY_ARMS if args.toy else ARMS
    args.n = min(args.n, 8) if args.toy else args.n
    count = int(args.budget * 0.7 / 60 / args.snapshot_every)
    args.snapshots = "[" + ",".join(f"{args.snapshot_every * (i + 1):g}" for i in range(count)) + "]"
    return args


if __name__ == "__main__":
    main()
