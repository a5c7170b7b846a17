"""Quality vs NFE (and vs wall-clock) for the shipped protein teacher and students, judged independently.

    python benchmarks/quality_vs_nfe.py --judge protdidi-cath-judge
    # another teacher and its student (e.g. the larger teacher: its 16- vs 256-NFE gap), no RGAS row:
    python benchmarks/quality_vs_nfe.py --teacher runs/teacher-cath-8m --teacher-nfe 16,256 \
        --students runs/idlm-8m/best --student-nfe 4,8,16 --rgas-nfe "" --out benchmarks/results/teacher_cath_8m
    # decoding: the confidence order and temperatures beside plain ancestral sampling (MODEL:SAMPLER[@T]:NFE rows)
    python benchmarks/quality_vs_nfe.py --teacher-nfe "" --student-nfe "" --rgas-nfe "" \
        --decoding teacher:ancestral:64,teacher:confidence:64,teacher:ancestral@0.8:64,... \
        --out benchmarks/results/decoding

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
    HOMOLOGY_HEADERS,
    HOMOLOGY_NOTE,
    STUDENTS,
    Scorer,
    add_columns,
    add_replot,
    cath_splits,
    common_parser,
    disorder_cells,
    generate_buckets,
    homology_cells,
    homology_of,
    ints,
    pyplot,
    run_or_load,
    save_figure,
    save_json,
    save_markdown,
    table,
)


def decoding(text: str) -> list[tuple[str, str, float | None, int]]:
    """`MODEL:SAMPLER[@T]:NFE,...` as (model, sampler, temperature or None, nfe) rows."""
    rows = []
    for item in filter(None, text.split(",")):
        model, sampler, nfe = item.rsplit(":", 2)
        sampler, _, temperature = sampler.partition("@")
        rows.append((model, sampler, float(temperature) if temperature else None, int(nfe)))
    return rows


def generated(args):
    """(model, sampler, temperature, nfe, sequences, seconds, sampler counters) per model row, generated as they
    are asked for."""
    from protdidi.domains.protein.plugin import DOMAIN as PROTEIN

    plan = [(args.teacher, "ancestral", None, nfe) for nfe in args.teacher_nfe]
    plan += [(s, "ancestral", None, nfe) for s in args.students for nfe in args.student_nfe]
    plan += [(args.rgas_model, "rgas", None, nfe) for nfe in args.rgas_nfe]
    plan += args.decoding
    models = {}
    for spec, sampler, temperature, nfe in plan:
        if spec not in models:
            models[spec] = PROTEIN.load_model(spec)
        model = models[spec]
        name = model.name if Path(spec).exists() else spec  # a shipped name as given, a directory by its model
        seqs, seconds, extra = generate_buckets(model, sampler, nfe, args, temperature)
        print(f"generated {name:8s} {sampler:9s} T={temperature or 1:g} nfe={nfe:4d}: {len(seqs)} seqs in "
              f"{seconds:.1f} s", file=sys.stderr)
        yield name, sampler, temperature, nfe, seqs, seconds, extra


def sets(args, test: list[str], composition):
    """(label, sequences, row fields) of every row: the natural test split, its shuffles, the i.i.d. baseline,
    then each model at each NFE."""
    from protdidi.domains.protein.evaluation.report_rows import random_baseline, shuffled

    natural = random.Random(args.seed).sample(test, min(args.natural_n, len(test)))
    yield "natural (test split)", natural, {"model": "natural", "sampler": None, "nfe": None}
    yield "natural, each shuffled", shuffled(natural, composition, args.seed), \
        {"model": "shuffled", "sampler": None, "nfe": None}
    lengths = [n for n in args.buckets for _ in range(args.per_bucket)]
    yield "random (i.i.d. composition)", random_baseline(lengths, composition, args.seed), \
        {"model": "random", "sampler": None, "nfe": None}
    for name, sampler, temperature, nfe, seqs, seconds, extra in generated(args):
        label = f"{name} {sampler}{'' if temperature is None else f' T={temperature:g}'} NFE {nfe}"
        yield label, seqs, {"model": name, "sampler": sampler, "temperature": temperature, "nfe": nfe,
                            "seconds": seconds, "s_per_1000": 1000 * seconds / len(seqs), **extra}


def run(args) -> dict:
    scorer = Scorer(args)
    for label, seqs, fields in sets(args, scorer.test, scorer.reference.composition):
        scorer.score(label, seqs, fields)
    return {**scorer.meta(), "rows": scorer.rows}


def add_homology(args) -> dict:
    """The homology columns added to the saved result without re-scoring it (`bench.add_columns`)."""
    train, test, reference = cath_splits(args)
    return add_columns(args, "quality_vs_nfe",
                       lambda a: ((label, seqs) for label, seqs, _ in sets(a, test, reference.composition)),
                       lambda label, seqs: homology_of(seqs, train, args.seed)[0], "homology")


def markdown(result: dict) -> str:
    added = [f"Homology columns added by `{result['homology_command']}` (same sequences, regenerated and checked "
             "against the saved row metrics)  "] if "homology_command" in result else []
    lines = [f"# Quality vs NFE (judge: {result['judge']})", "", f"Command: `{result['command']}`  ", *added,
             f"Length buckets {result['buckets']} × {result['per_bucket']} sequences per row, seed {result['seed']}; "
             f"exact pseudo-perplexity on {result['pppl_n']} sequences per row, single-pass on all; "
             f"{result['machine']}.", "",
             "Independent signals: metapredict (not trained here): residues predicted disordered (V3, score ≥ 0.5), "
             "sequences more than 30% disordered, and its predicted AlphaFold2 pLDDT; 95% bootstrap intervals. "
             + HOMOLOGY_NOTE, "",
             *table(["set", "NFE", "judge PPPL ↓", "95% CI", "disordered residues ↓", ">30% disordered ↓",
                     "pred. pLDDT ↑", *HOMOLOGY_HEADERS, "His-tag", "fast PPPL", "teacher NELBO", "entropy (bits)",
                     "composition JS", "novel (<50% id)", "s / 1000 seq", "disc fwd+bwd / seq"],
                    [row_cells(r) for r in result["rows"]])]
    return "\n".join(lines) + "\n"


def row_cells(r: dict) -> list[str]:
    sec = f"{r['s_per_1000']:.0f}" if r.get("s_per_1000") is not None else "–"
    disc = f"{r.get('disc_forwards', 0):.0f}+{r.get('disc_backwards', 0):.0f}" if r["nfe"] else "–"
    return [r["set"], str(r["nfe"] or "–"), f"{r['judge_pppl']:.3f}", "{:.2f}–{:.2f}".format(*r["judge_pppl_ci95"]),
            disorder_cells(r), *homology_cells(r), f"{r['his_tag_rate']:.3f}" if "his_tag_rate" in r else "–",
            f"{r['judge_fast_pppl']:.3f}", f"{r['teacher_nelbo']:.4f}",
            f"{r['entropy_bits']:.3f}", f"{r['composition_js']:.4f}", f"{r['frac_novel_under_50pct']:.2f}", sec,
            disc]


def plot(result: dict, path: Path) -> None:
    fig, axes = pyplot().subplots(1, 2, figsize=(11, 4))
    series = {}
    for r in result["rows"]:
        if r["nfe"] is not None:
            temperature = "" if r.get("temperature") is None else f" T={r['temperature']:g}"
            series.setdefault(f"{r['model']} ({r['sampler']}{temperature})", []).append(r)
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
    parser.add_argument("--decoding", type=decoding, default=[],
                        help="extra rows MODEL:SAMPLER[@TEMPERATURE]:NFE,... (e.g. idlm:confidence@0.8:16)")
    parser.add_argument("--natural-n", type=int, default=200)
    parser.add_argument("--add-homology", action="store_true",
                        help="add the homology columns to the saved result (same sequences, checked) without "
                             "re-scoring it")
    add_replot(parser)
    args = parser.parse_args()
    if args.add_homology:
        result = add_homology(args)
        save_json(args.out / "quality_vs_nfe.json", result)
    else:
        result = run_or_load(args, "quality_vs_nfe", run)
    plot(result, args.out / "quality_vs_nfe.png")
    save_markdown(args, "quality_vs_nfe", markdown(result))


if __name__ == "__main__":
    main()
