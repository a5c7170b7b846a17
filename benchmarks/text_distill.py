"""End-to-end text distillation on this machine: Tiny Shakespeare, an offline BPE, a tiny DiT MDLM teacher,
DiDi-Instruct and IDLM students, scored by GenPPL under a small causal LM trained on the same corpus
(protdidi-shakespeare-gpt, NOT GPT-2 Large) and by unigram entropy, across NFE.

    python benchmarks/text_distill.py            # trains what is missing (or resumes it), then scores
    python benchmarks/text_distill.py --replot   # redraw the PNG/Markdown from the committed JSON
    python benchmarks/text_distill.py --extra LABEL=runs/X/best   # also score another student (e.g. older code's)

Stages and their run directories (each skipped when finished, resumed when partial):
  tokenizer  data/text/bpe-2048          protdidi train-tokenizer data/text/tinyshakespeare.txt --vocab-size 2048
  teacher    runs/text-teacher           configs/text-teacher.yaml
  evaluator  runs/text-evaluator         configs/text-evaluator.yaml
  didi       runs/text-didi              configs/didi-text.yaml
  idlm       runs/text-idlm              configs/idlm-text.yaml
Writes benchmarks/results/text_distill.{json,md,png} and copies each run's config, log, curves and report to
benchmarks/results/text_runs/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from functools import partial
from pathlib import Path

import torch
from bench import (
    RESULTS,
    ROOT,
    add_replot,
    command_line,
    log_records,
    machine,
    pyplot,
    run_or_load,
    save_figure,
    save_markdown,
)

CORPUS = ROOT / "data" / "text" / "tinyshakespeare.txt"
TOKENIZER = ROOT / "data" / "text" / "bpe-2048"
RUNS = ROOT / "runs"
TEACHER_NFE = (4, 8, 16, 32, 64, 128)
STUDENT_NFE = (4, 8, 16, 32)


def finished(run_dir: Path, steps: int) -> bool:
    done = [r.get("step", 0) for r in log_records(run_dir)]
    return bool(done) and max(done) >= steps and (run_dir / "best").exists()


def train_stages() -> None:
    from protdidi.config import load_config
    from protdidi.domains.text.causal_lm import CausalLmRunConfig, train_causal_lm
    from protdidi.domains.text.distill import TextDistillConfig
    from protdidi.domains.text.plugin import DOMAIN as TEXT
    from protdidi.domains.text.teacher import TextTeacherRunConfig
    from protdidi.domains.text.tokenizer import train_bpe
    from protdidi.methods.distillation import run_distillation

    if not (TOKENIZER / "tokenizer.json").exists():
        train_bpe([CORPUS], 2048, TOKENIZER)
    teacher_dir = RUNS / "text-teacher"
    distill_text = partial(run_distillation, TEXT)
    stages = [
        (TextTeacherRunConfig, "text-teacher.yaml", teacher_dir, TEXT.train_teacher, []),
        (CausalLmRunConfig, "text-evaluator.yaml", RUNS / "text-evaluator", train_causal_lm, []),
        (TextDistillConfig, "didi-text.yaml", RUNS / "text-didi", distill_text,
         [f"teacher={teacher_dir / 'best'}"]),
        (TextDistillConfig, "idlm-text.yaml", RUNS / "text-idlm", distill_text,
         [f"teacher={teacher_dir / 'best'}"]),
    ]
    for config_cls, config, run_dir, train, overrides in stages:
        cfg = load_config(config_cls, str(ROOT / "configs" / config), overrides)
        steps = cfg.loop.steps if hasattr(cfg, "loop") else cfg.train.steps
        if finished(run_dir, steps):
            continue
        print(f"training {run_dir.name} ({config})", file=sys.stderr)
        train(cfg, run_dir, resume=(run_dir / "last" / "trainer_state.pt").exists())


def copy_run_logs(extra: list[tuple[str, Path]] = ()) -> None:
    """Keep each run's resolved config, log, curves and report beside the results (weights stay in runs/)."""
    import shutil

    names = ["text-teacher", "text-evaluator", "text-didi", "text-idlm"]
    runs = [RUNS / name for name in names] + [checkpoint.parent for _, checkpoint in extra]
    for run in runs:
        dest = RESULTS / "text_runs" / run.name
        dest.mkdir(parents=True, exist_ok=True)
        for f in ("config.yaml", "log.jsonl", "loss.png", "report.json"):
            if (run / f).exists():
                shutil.copyfile(run / f, dest / f)


def score_rows(n: int, seed: int, batch: int, extra: list[tuple[str, Path]] = ()) -> tuple[list[dict], str]:
    from protdidi.domains.text.evaluate import score_texts
    from protdidi.domains.text.genppl import load_causal_lm
    from protdidi.domains.text.plugin import DOMAIN as TEXT
    from protdidi.domains.text.teacher import TextDataConfig, load_windows
    from protdidi.domains.text.tokenizer import decode
    from protdidi.generation.driver import generate
    from protdidi.generation.request import Request

    lm = load_causal_lm(str(RUNS / "text-evaluator" / "best"))
    teacher = TEXT.load_model(str(RUNS / "text-teacher" / "best"))
    _, windows = load_windows(TextDataConfig(path=str(CORPUS), tokenizer=str(TOKENIZER), length=teacher.max_length))
    test = windows["test"][:n]
    natural = [{"text": t, "tokens": w.tolist()} for t, w in zip(decode(teacher.tokenizer, test), test, strict=True)]
    rows = [{"model": "natural test windows", "method": "data", "nfe": None, "sampler": None, "seconds": None,
             **score_texts(natural, lm)}]
    models = [("teacher", "mdlm", teacher, TEACHER_NFE, "ancestral"),
              ("didi", "didi", TEXT.load_model(str(RUNS / "text-didi" / "best")), STUDENT_NFE, "ancestral"),
              ("idlm", "idlm", TEXT.load_model(str(RUNS / "text-idlm" / "best")), STUDENT_NFE, "ancestral")]
    models.append(("didi", "didi", models[1][2], (8, 16), "rgas"))
    for label, checkpoint in extra:  # another student scored like the shipped ones (e.g. one distilled by older code)
        method = json.loads((checkpoint / "config.json").read_text())["method"]
        models.append((label, method, TEXT.load_model(str(checkpoint)), STUDENT_NFE, "ancestral"))
    for label, method, model, grid, sampler in models:
        for nfe in grid:
            gen = generate(TEXT, model, Request(n, nfe, seed, batch_size=batch, sampler=sampler))
            row = {"model": label, "method": method, "nfe": nfe, "sampler": sampler,
                   "seconds": round(gen.seconds, 2), **{k: round(v, 2) for k, v in gen.extra.items()},
                   **score_texts(gen.records, lm)}
            rows.append(row)
            print(f"{label:8s} {sampler:9s} nfe={nfe:4d}  GenPPL {row['gen_ppl']:8.2f}  "
                  f"entropy {row['entropy']:.3f}  {gen.seconds:.1f} s", file=sys.stderr)
    return rows, lm.name


def markdown(result: dict) -> str:
    lines = [f"# Text distillation on Tiny Shakespeare (GenPPL under {result['evaluator']}, not GPT-2 Large)", "",
             f"Command: `{result['command']}`  ", f"{result['samples']} samples of {result['length']} tokens per row, "
             f"seed {result['seed']}, float64 categorical steps; {result['machine']}.", "",
             "| model | sampler | NFE | GenPPL ↓ (95% bootstrap CI) | entropy (nats) | seconds |",
             "|---|---|---|---|---|---|"]
    for r in result["rows"]:
        nfe = "–" if r["nfe"] is None else r["nfe"]
        sec = "–" if r["seconds"] is None else f"{r['seconds']:.1f}"
        lo, hi = r["gen_ppl_ci95"]
        lines.append(f"| {r['model']} | {r['sampler'] or '–'} | {nfe} | {r['gen_ppl']:.2f} ({lo:.1f}–{hi:.1f}) "
                     f"| {r['entropy']:.3f} | {sec} |")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    fig, axes = pyplot().subplots(1, 2, figsize=(11, 4))
    natural = next(r for r in result["rows"] if r["nfe"] is None)
    labels = dict.fromkeys(r["model"] for r in result["rows"] if r["nfe"] is not None and r["sampler"] == "ancestral")
    for label in labels:
        rows = [r for r in result["rows"] if r["model"] == label and r["sampler"] == "ancestral"]
        xs = [r["nfe"] for r in rows]
        axes[0].plot(xs, [r["gen_ppl"] for r in rows], "o-", label=label)
        axes[1].plot(xs, [r["entropy"] for r in rows], "o-", label=label)
    rg = [r for r in result["rows"] if r["sampler"] == "rgas"]
    axes[0].plot([r["nfe"] for r in rg], [r["gen_ppl"] for r in rg], "s", label="didi + RGAS")
    axes[1].plot([r["nfe"] for r in rg], [r["entropy"] for r in rg], "s", label="didi + RGAS")
    for ax, key in ((axes[0], "gen_ppl"), (axes[1], "entropy")):
        ax.axhline(natural[key], color="grey", ls="--", label="natural test windows")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("NFE")
        ax.legend(fontsize=8)
    axes[0].set_yscale("log")
    axes[0].set_ylabel(f"GenPPL under {result['evaluator']}")
    axes[1].set_ylabel("unigram entropy (nats)")
    fig.suptitle("Tiny Shakespeare: tiny MDLM teacher vs distilled students")
    save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=128, help="samples per row")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--extra", action="append", default=[], metavar="LABEL=DIR",
                        help="also score this student checkpoint DIR (a run's best/ or last/; ancestral, at the "
                             "students' NFE) as LABEL")
    parser.add_argument("--out", type=Path, default=RESULTS)
    add_replot(parser)
    args = parser.parse_args()
    extra = [(label, Path(path)) for label, _, path in (spec.partition("=") for spec in args.extra)]
    bad = [spec for spec, (_, path) in zip(args.extra, extra, strict=True)
           if "=" not in spec or not (path / "config.json").exists()]
    if bad:
        parser.error(f"--extra wants LABEL=DIR with a checkpoint (config.json) in DIR: {bad}")
    args.extra_runs = extra
    result = run_or_load(args, "text_distill", run)
    plot(result, args.out / "text_distill.png")
    save_markdown(args, "text_distill", markdown(result))


def run(args) -> dict:
    """Train (or resume) what is missing, then score every row; "scoring_seconds" excludes the training."""
    torch.manual_seed(args.seed)
    train_stages()
    copy_run_logs(args.extra_runs)
    t0 = time.perf_counter()
    rows, evaluator = score_rows(args.n, args.seed, args.batch_size, args.extra_runs)
    return {"command": command_line(), "evaluator": evaluator, "samples": args.n, "length": 128, "seed": args.seed,
            "rows": rows, "machine": machine(), "scoring_seconds": round(time.perf_counter() - t0)}


if __name__ == "__main__":
    main()
