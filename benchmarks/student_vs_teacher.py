"""Is the student at 16 NFE better than the teacher at 16 NFE, and how close to the teacher at 256? A powered,
judged comparison with intervals on the differences, not only on each row.

    python benchmarks/student_vs_teacher.py

quality_vs_nfe.py sweeps many rows with exact pseudo-perplexity on 32 sequences each, so its per-row 95%
intervals are about ±0.4 and overlapping rows cannot be told apart. This script scores only the rows the
acceptance questions need (teacher at 16 and 256 NFE, every shipped student at 16 NFE, ancestral sampling),
with more sequences (default 4 length buckets × 50) and exact pseudo-perplexity on every one of them, and
reports the ratio of pooled pseudo-perplexities for each pair with a 95% bootstrap interval (each set
resampled independently within its length buckets). Its default seed (1) differs from quality_vs_nfe.py's
(0), so it is also an independent replicate of those rows. Speed is not its business (quality_vs_nfe.py and
speed.py time generation on an idle machine); the JSON keeps the seconds only as a record.
Writes benchmarks/results/student_vs_teacher.{json,md}; `--replot` rewrites the Markdown from the JSON.
"""

from __future__ import annotations

import sys

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
    disorder_differences,
    generate_buckets,
    homology_cells,
    homology_difference,
    homology_of,
    judge_ratio,
    run_or_load,
    save_json,
    save_markdown,
    table,
)

PAIRS = [(f"{s} ancestral NFE 16", "teacher ancestral NFE 16") for s in STUDENTS] + \
        [(f"{s} ancestral NFE 16", "teacher ancestral NFE 256") for s in STUDENTS] + \
        [("teacher ancestral NFE 16", "teacher ancestral NFE 256")]


def verdict(ratio: dict, against: str) -> str:
    lo, hi = ratio["ci95"]
    if against.endswith("NFE 256"):
        return "within 5%" if hi <= 1.05 else ("within 5% (point estimate)" if ratio["ratio"] <= 1.05 else "over 5%")
    return "better (interval below 1)" if hi < 1 else ("worse (interval above 1)" if lo > 1 else "not separated")


PLAN = [("teacher", 16), ("teacher", 256)] + [(s, 16) for s in STUDENTS]


def sets(args):
    """(label, sequences) of every row, as `run` generates them."""
    from protdidi.domains.protein.plugin import DOMAIN as PROTEIN

    for name, nfe in PLAN:
        yield f"{name} ancestral NFE {nfe}", generate_buckets(PROTEIN.load_model(name), "ancestral", nfe, args)[0]


def add_to_saved(args, what: str) -> dict:
    """Add metapredict's or the homology columns (and the pairs' differences in them) to the saved result without
    the judge re-scoring it (`bench.add_columns`: the same sequences, checked)."""
    details: dict = {}
    if what == "metapredict":
        from protdidi.domains.protein.evaluation.disorder import predict_disorder

        def columns(label, seqs):
            scores = predict_disorder(seqs)
            details[label] = {"disorder": scores.to_json()}
            return scores.columns(args.seed)
    else:
        train = cath_splits(args)[0]

        def columns(label, seqs):
            row, hits = homology_of(seqs, train, args.seed)
            details[label] = {"homology_hits": hits}
            return row
    saved = add_columns(args, "student_vs_teacher", sets, columns, what)
    for c in saved["comparisons"]:
        add_differences(c, details, args.seed)
    return saved


def add_differences(comparison: dict, details: dict, seed: int) -> None:
    """A pair's differences in whichever of metapredict's and the homology measures its rows' details hold."""
    a, b = comparison["set"], comparison["against"]
    if "disorder" in details[a]:
        comparison["metapredict_differences"] = disorder_differences(details, a, b, seed)
    if "homology_hits" in details[a]:
        comparison["homology_difference"] = homology_difference(details, a, b, seed)


def run(args) -> dict:
    from protdidi.domains.protein.plugin import DOMAIN as PROTEIN

    scorer = Scorer(args)
    for name, nfe in PLAN:
        seqs, seconds, extra = generate_buckets(PROTEIN.load_model(name), "ancestral", nfe, args)
        print(f"generated {name} NFE {nfe}: {len(seqs)} seqs in {seconds:.1f} s", file=sys.stderr)
        scorer.score(f"{name} ancestral NFE {nfe}", seqs,
                     {"model": name, "nfe": nfe, "s_per_1000": 1000 * seconds / len(seqs), **extra})
    rows = {r["set"]: r for r in scorer.rows}
    comparisons = []
    for a, b in PAIRS:
        ratio = judge_ratio(scorer.details, a, b, args.seed)
        entropy = rows[a]["entropy_bits"] / rows[b]["entropy_bits"] - 1
        comparisons.append({"set": a, "against": b, **ratio, "entropy_change": round(entropy, 4),
                            "verdict": verdict(ratio, b)})
        add_differences(comparisons[-1], scorer.details, args.seed)
    return {**scorer.meta(), "rows": scorer.rows, "comparisons": comparisons}


def difference_cell(difference: dict | None, fmt: str = "{:+.3f}") -> str:
    from protdidi.domains.protein.evaluation.report import with_ci

    return "–" if difference is None else with_ci(difference["difference"], difference["ci95"], fmt, ", ")


def difference_cells(differences: dict) -> list[str]:
    from protdidi.domains.protein.evaluation.report import DISORDER_COLUMNS

    return [difference_cell(differences.get(c), "{:+" + fmt[2:]) for c, (_, fmt) in DISORDER_COLUMNS.items()]


def markdown(result: dict) -> str:
    added = [f"{what} columns added by `{result[f'{what}_command']}` (same sequences, regenerated and checked "
             "against the saved row metrics)  " for what in ("metapredict", "homology") if f"{what}_command" in result]
    lines = [f"# Student vs teacher (judge: {result['judge']})", "", f"Command: `{result['command']}`  ", *added,
             f"Length buckets {result['buckets']} × {result['per_bucket']} sequences per row, seed {result['seed']}, "
             f"ancestral sampling; exact pseudo-perplexity on every sequence; {result['machine']}; "
             f"{result['total_seconds'] / 60:.0f} min in all.", "", HOMOLOGY_NOTE, ""]
    lines += table(["set", "n scored", "judge PPPL ↓", "95% CI", "disordered residues ↓ (metapredict)",
                    ">30% disordered ↓", "pred. AF2 pLDDT ↑", *HOMOLOGY_HEADERS, "entropy (bits)", "teacher NELBO"],
                   [[r["set"], str(r["judge_pppl_n"]), f"{r['judge_pppl']:.3f}",
                     "{:.2f}–{:.2f}".format(*r["judge_pppl_ci95"]), disorder_cells(r), *homology_cells(r),
                     f"{r['entropy_bits']:.3f}", f"{r['teacher_nelbo']:.4f}"] for r in result["rows"]])
    lines += ["", "Ratio of pooled pseudo-perplexities (below 1: the first set scores better), 95% bootstrap "
              "interval resampling each set within its length buckets; P(≥1): share of bootstrap draws with "
              "ratio ≥ 1. Entropy change: mean per-sequence Shannon entropy, relative. Δ: metapredict's measures "
              "and the homology hit rate, first set minus second, 95% bootstrap interval.", ""]
    lines += table(["set", "against", "PPPL ratio", "95% CI", "P(≥1)", "entropy change", "verdict",
                    "Δ disordered residues", "Δ >30% disordered", "Δ pred. pLDDT", "Δ homology hit rate"],
                   [[c["set"], c["against"], f"{c['ratio']:.3f}", "{:.3f}–{:.3f}".format(*c["ci95"]),
                     f"{c['p_ratio_ge_1']:.3f}", f"{100 * c['entropy_change']:+.1f}%", c["verdict"],
                     *difference_cells(c.get("metapredict_differences", {})),
                     difference_cell(c.get("homology_difference"))] for c in result["comparisons"]])
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = common_parser(__doc__)
    parser.set_defaults(per_bucket=50, pppl_n=10**9, seed=1)
    parser.add_argument("--add", choices=("metapredict", "homology"), default=None,
                        help="add these columns to the saved result (same sequences, checked) without the judge "
                             "re-scoring them")
    add_replot(parser)
    args = parser.parse_args()
    if args.add:
        result = add_to_saved(args, args.add)
        save_json(args.out / "student_vs_teacher.json", result)
    else:
        result = run_or_load(args, "student_vs_teacher", run)
    save_markdown(args, "student_vs_teacher", markdown(result))


if __name__ == "__main__":
    main()
