"""DiDi-Instruct vs IDLM at equal distillation wall-clock, judged like benchmarks/quality_vs_nfe.py.

Both protein distillation configs keep a copy of the EMA student after 5, 10 and 30 minutes of training
wall-clock (`loop.snapshot_minutes`, saved in RUN_DIR/at-{m}min/). A run that ends before m minutes is
scored at its end (last/), which is what m minutes of that config buys. Every snapshot generates at NFE 16 on
the quality benchmark's length buckets and seeds, and is scored by the same judge and metrics, next to the
teacher at NFE 16 (iteration 0 of both methods). Writes benchmarks/results/distill_wallclock.{json,md,png}.

    protdidi distill --domain protein --config configs/didi-protein.yaml -o runs/didi-protein
    protdidi distill --domain protein --method idlm --config configs/idlm-protein.yaml -o runs/idlm-protein
    python benchmarks/distill_wallclock.py
"""

from __future__ import annotations

from pathlib import Path

from bench import (
    ROOT,
    Scorer,
    add_replot,
    ci_errorbar,
    common_parser,
    generate_buckets,
    log_records,
    pyplot,
    run_or_load,
    save_figure,
    save_markdown,
)

from protdidi.trainer import snapshot_name

BUDGETS_MIN = (5, 10, 30)


def snapshot(run_dir: Path, minutes: int) -> tuple[Path, dict]:
    """The checkpoint that `minutes` of training produced, and (step, wall-clock) from the run's log."""
    records = log_records(run_dir)
    at = run_dir / snapshot_name(minutes)
    if at.exists():
        rec = next(r for r in records if r.get("snapshot") == at.name)
        return at, {"step": rec["step"], "wall_s": rec["wall_s"]}
    last = max((r for r in records if "wall_s" in r), key=lambda r: r["step"])
    if last["wall_s"] > 60 * minutes:
        raise SystemExit(f"{run_dir}: no {at.name}/ snapshot although the run went past {minutes} minutes")
    return run_dir / "last", {"step": last["step"], "wall_s": last["wall_s"]}


def markdown(result: dict) -> str:
    lines = ["# DiDi-Instruct vs IDLM at equal distillation wall-clock (judge: " + result["judge"] + ")", "",
             f"Command: `{result['command']}` (after the two `protdidi distill` runs named in the script).  ",
             f"NFE {result['nfe']}, length buckets {result['buckets']} × {result['per_bucket']}, seed "
             f"{result['seed']}; exact pseudo-perplexity on {result['pppl_n']} sequences per row; "
             f"{result['machine']}. Training wall-clock is each run's own (one run at a time on the machine).", "",
             "| budget | method | iteration | training s | judge PPPL ↓ | 95% CI | teacher NELBO | entropy (bits) | "
             "composition JS |", "|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lo, hi = r["judge_pppl_ci95"]
        lines.append(f"| {r['budget']} | {r['model']} | {r.get('step', 0)} | {r.get('wall_s', 0):.0f} | "
                     f"{r['judge_pppl']:.3f} | {lo:.2f}–{hi:.2f} | {r['teacher_nelbo']:.4f} | "
                     f"{r['entropy_bits']:.3f} | "
                     f"{r['composition_js']:.4f} |")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    """Judge pseudo-perplexity (with its 95% interval) against the training budget, one line per method."""
    teacher = next(r for r in result["rows"] if r["model"] == "teacher")
    fig, ax = pyplot().subplots(figsize=(6, 4))
    for method in ("didi", "idlm"):
        rows = [teacher] + [r for r in result["rows"] if r["model"] == method]
        x = [0] + [int(r["budget"].split()[0]) for r in rows[1:]]
        ci_errorbar(ax, x, rows, "judge_pppl", label=method)
    ax.set_xlabel("distillation wall-clock budget (minutes; 0 = the teacher)")
    ax.set_ylabel(f"pseudo-perplexity at NFE {result['nfe']} ({result['judge']})")
    ax.legend()
    save_figure(fig, path)


def run(args) -> dict:
    from protdidi.domains.protein.plugin import DOMAIN as PROTEIN

    scorer = Scorer(args)
    seqs, _, _ = generate_buckets(PROTEIN.load_model("teacher"), "ancestral", args.nfe, args)
    scorer.score(f"teacher NFE {args.nfe}", seqs, {"model": "teacher", "budget": "0 min"})
    for minutes in BUDGETS_MIN:
        for method in ("didi", "idlm"):
            path, info = snapshot(args.runs / f"{method}-protein", minutes)
            seqs, _, _ = generate_buckets(PROTEIN.load_model(str(path)), "ancestral", args.nfe, args)
            scorer.score(f"{method} {minutes} min ({path.name})", seqs,
                         {"model": method, "budget": f"{minutes} min", "checkpoint": path.name, **info})
    return {**scorer.meta(), "nfe": args.nfe, "rows": scorer.rows}


def main() -> None:
    parser = common_parser(__doc__)
    parser.add_argument("--runs", type=Path, default=ROOT / "runs", help="holds didi-protein/ and idlm-protein/")
    parser.add_argument("--nfe", type=int, default=16)
    add_replot(parser)
    args = parser.parse_args()
    result = run_or_load(args, "distill_wallclock", run)
    plot(result, args.out / "distill_wallclock.png")
    save_markdown(args, "distill_wallclock", markdown(result))

if __name__ == "__main__":
    main()
