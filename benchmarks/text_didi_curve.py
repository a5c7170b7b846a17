"""DiDi-Instruct against iterations on the Tiny Shakespeare text teacher, on this CPU: a learning-rate curve (and
IDLM beside it) that resumes across sittings.

    python benchmarks/text_didi_curve.py                          # train/resume every arm, score, write results
    python benchmarks/text_didi_curve.py --arms didi-lr1e-5 --until 500   # one arm, at most to step 500 this sitting
    python benchmarks/text_didi_curve.py --replot                 # tables and plot from the committed JSON
    python benchmarks/text_didi_curve.py --arms idlm --until 50 --work runs/text-didi-at50 --train-only  # states only

Each arm is a committed config plus overrides (ARMS), trained in runs/text-didi-curve/ARM with `--resume` when a
checkpoint exists, keeping its EMA student after the steps of SNAPSHOTS (`loop.snapshot_steps`). The teacher and the
evaluator (configs/text-teacher.yaml, configs/text-evaluator.yaml) are trained first when runs/ lacks them.
`--jobs` arms train side by side, each on cores/jobs threads. Every kept student is scored at 8 and 16 NFE, the
teacher at 8-128 NFE and the natural and shuffled test windows once (`text_scores.py`: GenPPL under
protdidi-shakespeare-gpt, NOT GPT-2 Large); rows already scored for the same teacher weights (runs/, else the
results JSON) are kept, not recomputed, an arm's keyed by step (a snapshot and last/ of one step are one student).
Writes benchmarks/results/text_didi_curve.{json,md,png}; each arm's config and log go to
benchmarks/results/text_runs/curve-ARM/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import RESULTS, ROOT, add_replot, child_env, command_line, log_records, machine, save_json
from gpu_text_didi import TOY_ARM, TOY_EVALUATOR, TOY_TEACHER
from text_didi_study import render
from text_distill import finished
from text_scores import CORPUS, checkpoints, last_step, natural_row, sample_row

CONFIGS = ROOT / "configs"
STEPS = 1000
SNAPSHOTS = (100, 250, 500, 750)
TEACHER_NFE, STUDENT_NFE = [8, 16, 32, 128], (8, 16)
CPU = [f"loop.steps={STEPS}", f"loop.snapshot_steps=[{','.join(map(str, SNAPSHOTS))}]", "loop.eval_every=250",
       "loop.save_every=50", "loop.log_every=10"]
DIDI = [*CPU, "loop.batch_size=4", "didi.warmup_steps=50", "didi.ema=0.99"]  # the committed run's batch and EMA
ARMS = {  # label: (config, overrides)
    "didi-lr1e-5": ("didi-text.yaml", [*DIDI, "didi.student_lr=1e-5"]),
    "didi-lr3e-5": ("didi-text.yaml", [*DIDI, "didi.student_lr=3e-5"]),
    "didi-lr1e-5-shared-tau": ("didi-text.yaml", [*DIDI, "didi.student_lr=1e-5", "didi.shared_tau=true"]),
    "idlm": ("idlm-text.yaml", CPU),  # its committed batch: 16 real sequences, as DiDi's 4 partners × 4 rollouts
    "didi-lr3e-6": ("didi-text.yaml", [*DIDI, "didi.student_lr=3e-6"]),  # the committed learning rate
    "didi-lr1e-5-b16": ("didi-text.yaml",  # 16 partners × 4: 64 rollouts an iteration
                        [*DIDI[:-3], "loop.batch_size=16", *DIDI[-2:], "didi.student_lr=1e-5"]),
    "didi-lr1e-5-ema0.999": ("didi-text.yaml", [*DIDI, "didi.student_lr=1e-5", "didi.ema=0.999"]),  # the paper's
    "didi-lr1e-5-batch-advantage": ("didi-text.yaml", [*DIDI, "didi.student_lr=1e-5", "didi.grouped_advantage=false"]),
    # ablations of the lr 1e-5 arm: the real side, the discriminator, the intermediate-state KL, the reward's clip
    "didi-lr1e-5-real-teacher": ("didi-text.yaml", [*DIDI, "didi.student_lr=1e-5", "didi.real_side=teacher",
                                                    "didi.teacher_pool_size=512", "didi.teacher_pool_nfe=128"]),
    "didi-lr1e-5-disc-lr1e-5": ("didi-text.yaml", [*DIDI, "didi.student_lr=1e-5", "didi.disc_lr=1e-5"]),  # spec's
    "didi-lr1e-5-disc-4-blocks": ("didi-text.yaml", [*DIDI, "didi.student_lr=1e-5", "didi.disc_unfrozen_blocks=4"]),
    "didi-lr1e-5-no-kl": ("didi-text.yaml", [*DIDI, "didi.student_lr=1e-5", "didi.kl_beta=0"]),
    "didi-lr1e-5-reward-clip2": ("didi-text.yaml", [*DIDI, "didi.student_lr=1e-5", "didi.reward_clip=2"]),
}
TOY = {"text-teacher": TOY_TEACHER, "text-evaluator": TOY_EVALUATOR, "arm": [*TOY_ARM, "loop.steps=6",
       "loop.snapshot_steps=[2,4]", "loop.eval_every=3", "loop.save_every=3", "loop.log_every=1",
       "didi.warmup_steps=2", "idlm.warmup_steps=2"]}
FIRST = {"text-teacher": ["train-teacher", "--domain", "text", "--config", str(CONFIGS / "text-teacher.yaml")],
         "text-evaluator": ["train-evaluator", "--config", str(CONFIGS / "text-evaluator.yaml")]}


def launch(cmd: list[str], log: Path, threads: int) -> subprocess.Popen:
    env = child_env(PYTHONUNBUFFERED="1", OMP_NUM_THREADS=str(threads))
    with open(log, "a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        return subprocess.Popen(cmd, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)


def run_all(jobs: list[tuple[str, list[str]]], parallel: int, work: Path) -> dict[str, int]:
    """Each (name, protdidi args), at most `parallel` at a time, output to `work`/NAME.log; exit codes by name."""
    threads = max(1, (os.cpu_count() or 1) // parallel)
    queue, running, codes = list(jobs), {}, {}
    while queue or running:
        while queue and len(running) < parallel:
            name, args = queue.pop(0)
            print(f"text_didi_curve: {name}: protdidi {' '.join(args[:2])} ...", file=sys.stderr)
            running[name] = launch([sys.executable, "-m", "protdidi", *args], work / f"{name}.log", threads)
        time.sleep(2)
        for name, proc in list(running.items()):
            if proc.poll() is not None:
                codes[name] = running.pop(name).returncode
    return codes


def resumable(run_dir: Path) -> list[str]:
    return ["--resume"] if (run_dir / "last" / "trainer_state.pt").exists() else []


def steps_done(run_dir: Path) -> int:
    return max((r["step"] for r in log_records(run_dir) if "loss" in r), default=0)


def train(args) -> None:
    first = [(name, [*cmd, "--data", str(CORPUS), "-o", str(args.runs / name), "--quiet",
                     *resumable(args.runs / name), *[x for s in args.toy * TOY[name] for x in ("--set", s)]])
             for name, cmd in FIRST.items() if not is_finished(args.runs / name)]
    if any(run_all(first, args.jobs, args.work).values()):
        sys.exit(f"text_didi_curve: training the teacher or the evaluator failed; see {args.work}/text-*.log")
    jobs, stop = [], ["--stop-at", str(args.until)] if args.until < args.steps else []
    for label in args.arms:
        config, sets = ARMS[label]
        run_dir = args.work / label
        if steps_done(run_dir) >= min(args.steps, args.until):
            continue
        jobs.append((label, ["distill", "--domain", "text", "--config", str(CONFIGS / config), "--teacher",
                             str(args.runs / "text-teacher" / "best"), "--data", str(CORPUS), "-o", str(run_dir),
                             "--quiet", *resumable(run_dir), *stop,
                             *[x for s in [*sets, *args.toy * TOY["arm"]] for x in ("--set", s)]]))
    failed = {k: v for k, v in run_all(jobs, args.jobs, args.work).items() if v}
    if failed:
        print(f"text_didi_curve: arms that failed (scored as far as they got): {failed}", file=sys.stderr)


def is_finished(run_dir: Path) -> bool:
    """Whether a teacher/evaluator run reached its config's last step and has a best/ checkpoint."""
    import yaml

    config = run_dir / "config.yaml"
    return config.exists() and finished(run_dir, yaml.safe_load(config.read_text())["train"]["steps"])


def teacher_sha(runs: Path) -> str:
    return hashlib.sha256((runs / "text-teacher" / "best" / "model.safetensors").read_bytes()).hexdigest()


def score(args, cached: dict) -> dict[str, list[dict]]:
    """Every reference row and every kept student's rows, reusing `cached` rows (same teacher weights)."""
    from protdidi.domains.text.genppl import load_causal_lm
    from protdidi.domains.text.plugin import DOMAIN as TEXT

    lm = load_causal_lm(str(args.runs / "text-evaluator" / "best"), "cpu")
    sha = teacher_sha(args.runs)
    scores = {label: list(rows) for label, rows in cached.items()}

    def have(label: str, checkpoint: str, step, nfe) -> bool:
        """A snapshot and last/ of the same step hold the same EMA student: an arm's row is keyed by step."""
        return any((label != "teacher" or r["checkpoint"] == checkpoint) and r.get("step") == step
                   and r["nfe"] == nfe for r in scores.get(label, []))

    def add(label: str, row_fn, *key) -> None:
        if not have(label, *key):
            scores.setdefault(label, []).append(row_fn())
            r = scores[label][-1]
            print(f"text_didi_curve: {label} {r['checkpoint']} nfe={r['nfe']}: GenPPL {r['gen_ppl']:.1f}, "
                  f"entropy {r['entropy']:.3f}", file=sys.stderr)
            save_json(args.work / "scores.json", {"teacher_sha256": sha, "scores": scores})

    teacher = TEXT.load_model(str(args.runs / "text-teacher" / "best"))
    add("teacher", lambda: natural_row(teacher, lm, args.n, "cpu"), "natural test windows", None, None)
    add("teacher", lambda: natural_row(teacher, lm, args.n, "cpu", shuffled=True), "shuffled test windows", None, None)
    for nfe in TEACHER_NFE:
        add("teacher", lambda nfe=nfe: sample_row(teacher, nfe, lm, args.n, "cpu", checkpoint="teacher"),
            "teacher", None, nfe)
    for label in args.arms:
        for ckpt in checkpoints(args.work / label):
            model = None
            for nfe in STUDENT_NFE:
                if not have(label, ckpt["checkpoint"], ckpt["step"], nfe):
                    model = model or TEXT.load_model(str(args.work / label / ckpt["checkpoint"]))
                    add(label, lambda m=model, nfe=nfe, c=ckpt: sample_row(m, nfe, lm, args.n, "cpu", **c),
                        ckpt["checkpoint"], ckpt["step"], nfe)
    return {label: sorted(rows, key=lambda r: (r.get("step") or 0, r["nfe"] or 0)) for label, rows in scores.items()}


def cached_scores(args) -> dict:
    """Rows of an earlier sitting (runs/ first, else the committed JSON) when they scored these teacher weights."""
    for path in (args.work / "scores.json", args.out / "text_didi_curve.json"):
        if path.exists():
            old = json.loads(path.read_text())
            if old.get("teacher_sha256") == teacher_sha(args.runs):
                return old["scores"]
    return {}


def plan_of(run_dir: Path, steps: int) -> dict:
    """Steps done (those its last/ checkpoint holds), wall-clock and seconds per step of one arm."""
    held = last_step(run_dir / "last") if (run_dir / "last").exists() else 0
    records = [r for r in log_records(run_dir) if "loss" in r and r["step"] <= held]
    if not records:
        return {"steps": steps, "steps_done": 0}
    done, wall = records[-1]["step"], records[-1]["wall_s"]
    return {"steps": steps, "steps_done": done, "train_wall_s": wall, "s_per_step": round(wall / done, 3),
            "status": "finished" if done >= steps else "partial (resumes)"}


def keep_logs(args, labels: list[str]) -> None:
    for label in labels:
        dest = args.out / "text_runs" / f"curve-{label}"
        dest.mkdir(parents=True, exist_ok=True)
        for f in ("config.yaml", "log.jsonl", "loss.png"):
            if (args.work / label / f).exists():
                shutil.copyfile(args.work / label / f, dest / f)


def run(args) -> dict:
    args.work.mkdir(parents=True, exist_ok=True)
    if not args.score_only:
        train(args)
    scores = score(args, cached_scores(args))
    labels = [label for label in ARMS if scores.get(label)]  # arms with a scored student
    keep_logs(args, labels)
    return {"command": command_line(), "machine": machine(), "samples": args.n,
            "teacher_sha256": teacher_sha(args.runs), "arms": {label: [*ARMS[label], False] for label in labels},
            "plan": {label: plan_of(args.work / label, args.steps) for label in labels}, "scores": scores,
            "logs": {label: log_records(args.work / label) for label in labels}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated, of {', '.join(ARMS)}")
    parser.add_argument("--until", type=int, default=STEPS, help="train each arm at most to this step this sitting")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs", help="where the teacher and evaluator runs are")
    parser.add_argument("--toy", action="store_true", help="tiny teacher, evaluator and 6-step arms (smoke test)")
    parser.add_argument("--jobs", type=int, default=2, help="arms trained side by side")
    parser.add_argument("--n", type=int, default=128, help="samples per scored row")
    parser.add_argument("--score-only", action="store_true", help="score what the runs kept; train nothing")
    parser.add_argument("--train-only", action="store_true", help="train (to --until) and stop: no scores, no results")
    parser.add_argument("--work", type=Path, help="where the arms run (default: RUNS/text-didi-curve)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    add_replot(parser)
    args = parser.parse_args()
    args.arms = [a for a in args.arms.split(",") if a]
    unknown = [a for a in args.arms if a not in ARMS]
    if unknown or args.until < 1 or args.jobs < 1:
        parser.error(f"unknown arms {unknown} (known: {', '.join(ARMS)}), or --until/--jobs below 1")
    if args.train_only and (args.score_only or args.replot):
        parser.error("--train-only trains and stops: it cannot be combined with --score-only or --replot")
    args.work, args.steps = args.work or args.runs / "text-didi-curve", 6 if args.toy else STEPS
    if args.toy:
        args.n, TEACHER_NFE[:] = min(args.n, 4), TEACHER_NFE[:2]
    if args.train_only:
        args.work.mkdir(parents=True, exist_ok=True)
        return train(args)
    if args.replot:
        result = json.loads((args.out / "text_didi_curve.json").read_text())
    else:
        t0 = time.perf_counter()
        result = run(args)
        result["total_seconds"] = round(time.perf_counter() - t0)
        save_json(args.out / "text_didi_curve.json", result)
    render(args, "text_didi_curve", result, "CPU")


if __name__ == "__main__":
    main()
