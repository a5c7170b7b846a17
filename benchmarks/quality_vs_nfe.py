"""Quality vs NFE (and vs wall-clock) for the shipped protein teacher and students, judged independently.

    python benchmarks/quality_vs_nfe.py --judge protdidi-cath-judge
    # another teacher and its student (e.g. the larger teacher: its 16- vs 256-NFE gap), no RGAS row:
    python benchmarks/quality_vs_nfe.py --teacher runs/teacher-cath-8m --teacher-nfe 16,256 \
        --students runs/idlm-8m/best --student-nfe 4,8,16 --rgas-nfe "" --out benchmarks/results/teacher_cath_8m

One command, fixed seeds: generate from the teacher and from every shipped student across NFE on fixed length
buckets (default 50/100/200/300 residues, 25 sequences each), evaluate every set with the same metrics as
`protdidi evaluate` (judge pseudo-perplexity: exact on `--pppl-n` sequences per row, single-pass on all;
metapredict's disorder and predicted pLDDT, composition, hygiene, diversity, novelty against the CATH training
split), next to the natural test split, the same sequences each shuffled, and an i.i.d.-composition baseline.
Writes benchmarks/results/quality_vs_nfe.{json,md} and
quality_vs_nfe.png (judge pseudo-perplexity vs NFE and vs seconds per 1,000 sequences).
`--out DIR` writes elsewhere (e.g. a smoke run with `--per-bucket 4`).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from bench import (
    STUDENTS,
    Scorer,
    add_replot,
    common_parser,
    disorder_cells,
    generate_buckets,
    ints,
    pyplot,
    run_or_load,
    save_figure,
    save_markdown,
)


def generate_rows(args) -> list[tuple[str, str, int, list[str], float, dict]]:
    """(model, sampler, nfe, sequences, seconds, sampler counters) per row."""
    from protdidi.domains.protein.plugin import DOMAIN as PROTEIN

    plan = [(args.teacher, "ancestral", args.teacher_nfe)]
    plan += [(s, "ancestral", args.student_nfe) for s in args.students]
    plan += [(args.rgas_model, "rgas", args.rgas_nfe)] if args.rgas_nfe else []
    out = []
    for spec, sampler, grid in plan:
        model = PROTEIN.load_model(spec)
        name = model.name if Path(spec).exists() else spec  # a shipped name as given, a directory by its model
        for nfe in grid:
            seqs, seconds, extra = generate_buckets(model, sampler, nfe, args)
            print(f"generated {name:8s} {sampler:9s} nfe={nfe:4d}: {len(seqs)} seqs in {seconds:.1f} s",
                  file=sys.stderr)
            out.append((name, sampler, nfe, seqs, seconds, extra))
    return out


def run(args) -> dict:
    from protdidi.domains.protein.rows import random_baseline, shuffled

    scorer = Scorer(args)
    natural = random.Random(args.seed).sample(scorer.test, min(args.natural_n, len(scorer.test)))
    scorer.score("natural (test split)", natural, {"model": "natural", "sampler": None, "nfe": None})
    scorer.score("natural, each shuffled", shuffled(natural, scorer.reference.composition, args.seed),
                 {"model": "shuffled", "sampler": None, "nfe": None})
    lengths = [n for n in args.buckets for _ in range(args.per_bucket)]
    scorer.score("random (i.i.d. composition)", random_baseline(lengths, scorer.reference.composition, args.seed),
                 {"model": "random", "sampler": None, "nfe": None})
    for name, sampler, nfe, seqs, seconds, extra in generate_rows(args):
        scorer.score(f"{name} {sampler} NFE {nfe}", seqs, {"model": name, "sampler": sampler, "nfe": nfe,
                                                            "seconds": seconds,
                                                            "s_per_1000": 1000 * seconds / len(seqs), **extra})
    return {**scorer.meta(), "rows": scorer.rows}


def markdown(result: dict) -> str:
    lines = [f"# Quality vs NFE (judge: {result['judge']})", "", f"Command: `{result['command']}`  ",
             f"Length buckets {result['buckets']} × {result['per_bucket']} sequences per row, seed {result['seed']}; "
             f"exact pseudo-perplexity on {result['pppl_n']} sequences per row, single-pass on all; "
             f"{result['machine']}.", "",
             "Independent signal: metapredict (not trained here): residues predicted disordered (V3, score ≥ 0.5), "
             "sequences more than 30% disordered, and its predicted AlphaFold2 pLDDT; 95% bootstrap intervals.", "",
             "| set | NFE | judge PPPL ↓ | 95% CI | disordered residues ↓ | >30% disordered ↓ | pred. pLDDT ↑ | "
             "fast PPPL | teacher NELBO | entropy (bits) | composition JS | novel (<50% id) | s / 1000 seq | "
             "disc fwd+bwd / seq |", "|" + "---|" * 14]
    for r in result["rows"]:
        sec = f"{r['s_per_1000']:.0f}" if r.get("s_per_1000") is not None else "–"
        disc = f"{r.get('disc_forwards', 0):.0f}+{r.get('disc_backwards', 0):.0f}" if r["nfe"] else "–"
        lo, hi = r["judge_pppl_ci95"]
        lines.append(f"| {r['set']} | {r['nfe'] or '–'} | {r['judge_pppl']:.3f} | {lo:.2f}–{hi:.2f} | "
                     f"{disorder_cells(r)} | {r['judge_fast_pppl']:.3f} | {r['teacher_nelbo']:.4f} | "
                     f"{r['entropy_bits']:.3f} | {r['composition_js']:.4f} | {r['frac_novel_under_50pct']:.2f} | "
                     f"{sec} | {disc} |")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    fig, axes = pyplot().subplots(1, 2, figsize=(11, 4))
    series = {}
    for r in result["rows"]:
        if r["nfe"] is not None:
            series.setdefault(f"{r['model']} ({r['sampler']})", []).append(r)
    for label, rows in series.items():
        axes[0].plot([r["nfe"] for r in rows], [r["judge_pppl"] for r in rows], "o-", label=label)
        axes[1].plot([r["s_per_1000"] for r in rows], [r["judge_pppl"] for r in rows], "o-", label=label)
    for r in result["rows"]:
        if r["nfe"] is None:
            for ax in axes:
                ax.axhline(r["judge_pppl"], ls="--", color="grey" if r["model"] == "natural" else "black",
                           label=r["set"])
    axes[0].set_xlabel("NFE")
    axes[1].set_xlabel("seconds per 1,000 sequences")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_ylabel(f"pseudo-perplexity ({result['judge']})")
        ax.legend(fontsize=7)
    save_figure(fig, path)


def main() -> None:
    parser = common_parser(__doc__)
    parser.add_argument("--teacher", default="teacher", help="shipped name or checkpoint directory")
    parser.add_argument("--students", type=lambda s: [x for x in s.split(",") if x], default=list(STUDENTS),
                        help="comma-separated shipped names or checkpoint directories")
    parser.add_argument("--rgas-model", default="didi", help="the student sampled with RGAS (needs a discriminator)")
    parser.add_argument("--teacher-nfe", type=ints, default=(8, 16, 32, 64, 128, 256))
    parser.add_argument("--student-nfe", type=ints, default=(4, 8, 16, 32))
    parser.add_argument("--rgas-nfe", type=ints, default=(16,))
    parser.add_argument("--natural-n", type=int, default=200)
    add_replot(parser)
    args = parser.parse_args()
    result = run_or_load(args, "quality_vs_nfe", run)
    plot(result, args.out / "quality_vs_nfe.png")
    save_markdown(args, "quality_vs_nfe", markdown(result))


if __name__ == "__main__":
    main()
