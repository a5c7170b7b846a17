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
    STUDENTS,
    Scorer,
    add_replot,
    command_line,
    common_parser,
    disorder_cells,
    disorder_differences,
    generate_buckets,
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
FINGERPRINT = ("n", "mean_length", "entropy_bits", "composition_kl", "dipeptide_js")  # functions of the sequences


def metapredict_only(args) -> dict:
    """Add metapredict's columns to the saved result without re-scoring with the judge: regenerate every row with
    the saved settings, check that the sequences are the saved ones (the row's sequence-only metrics must match
    exactly, else stop), then predict disorder and compare the pairs."""
    import json

    from protdidi.domains.protein.disorder import predict_disorder
    from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
    from protdidi.domains.protein.rows import Reference, sequence_metrics

    saved = json.loads((args.out / "student_vs_teacher.json").read_text())
    args.buckets, args.per_bucket, args.seed = tuple(saved["buckets"]), saved["per_bucket"], saved["seed"]
    from protdidi.domains.protein.data import default_cath_splits

    reference = Reference.of([r.seq for r in default_cath_splits("--fasta")["test"]])
    rows, details = {r["set"]: r for r in saved["rows"]}, {}
    for name, nfe in PLAN:
        label = f"{name} ancestral NFE {nfe}"
        seqs, _, _ = generate_buckets(PROTEIN.load_model(name), "ancestral", nfe, args)
        now = sequence_metrics(seqs, reference, args.seed)
        if any(abs(now[k] - rows[label][k]) > 1e-9 for k in FINGERPRINT):
            sys.exit(f"{label}: regenerated sequences differ from the saved run ({now}); re-run without "
                     "--metapredict-only")
        scores = predict_disorder(seqs)
        rows[label].update(scores.columns(args.seed))
        details[label] = {"disorder": scores.to_json()}
        print(f"{label}: same sequences; disorder {rows[label]['disorder_fraction']:.3f}", file=sys.stderr)
    add_disorder_differences(saved["comparisons"], details, args.seed)
    saved["metapredict_command"] = command_line()
    return saved


def add_disorder_differences(comparisons: list[dict], details: dict, seed: int) -> None:
    for c in comparisons:
        c["metapredict_differences"] = disorder_differences(details, c["set"], c["against"], seed)


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
    add_disorder_differences(comparisons, scorer.details, args.seed)
    return {**scorer.meta(), "rows": scorer.rows, "comparisons": comparisons}


def difference_cells(differences: dict) -> list[str]:
    from protdidi.domains.protein.report import DISORDER_COLUMNS, with_ci

    return [with_ci(differences[c]["difference"], differences[c]["ci95"], "{:+" + fmt[2:], ", ")
            if c in differences else "–" for c, (_, fmt) in DISORDER_COLUMNS.items()]


def markdown(result: dict) -> str:
    lines = [f"# Student vs teacher (judge: {result['judge']})", "", f"Command: `{result['command']}`  ",
             *([f"metapredict columns added by `{result['metapredict_command']}` (same sequences, regenerated and "
                "checked against the saved row metrics)  "] if "metapredict_command" in result else []),
             f"Length buckets {result['buckets']} × {result['per_bucket']} sequences per row, seed {result['seed']}, "
             f"ancestral sampling; exact pseudo-perplexity on every sequence; {result['machine']}; "
             f"{result['total_seconds'] / 60:.0f} min in all.", ""]
    lines += table(["set", "n scored", "judge PPPL ↓", "95% CI", "disordered residues ↓ (metapredict)",
                    ">30% disordered ↓", "pred. AF2 pLDDT ↑", "entropy (bits)", "teacher NELBO"],
                   [[r["set"], str(r["judge_pppl_n"]), f"{r['judge_pppl']:.3f}",
                     "{:.2f}–{:.2f}".format(*r["judge_pppl_ci95"]), disorder_cells(r), f"{r['entropy_bits']:.3f}",
                     f"{r['teacher_nelbo']:.4f}"] for r in result["rows"]])
    lines += ["", "Ratio of pooled pseudo-perplexities (below 1: the first set scores better), 95% bootstrap "
              "interval resampling each set within its length buckets; P(≥1): share of bootstrap draws with "
              "ratio ≥ 1. Entropy change: mean per-sequence Shannon entropy, relative. Δ: metapredict's measures, "
              "first set minus second, 95% bootstrap interval.", ""]
    lines += table(["set", "against", "PPPL ratio", "95% CI", "P(≥1)", "entropy change", "verdict",
                    "Δ disordered residues", "Δ >30% disordered", "Δ pred. pLDDT"],
                   [[c["set"], c["against"], f"{c['ratio']:.3f}", "{:.3f}–{:.3f}".format(*c["ci95"]),
                     f"{c['p_ratio_ge_1']:.3f}", f"{100 * c['entropy_change']:+.1f}%", c["verdict"],
                     *difference_cells(c.get("metapredict_differences", {}))] for c in result["comparisons"]])
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = common_parser(__doc__)
    parser.set_defaults(per_bucket=50, pppl_n=10**9, seed=1)
    parser.add_argument("--metapredict-only", action="store_true",
                        help="add metapredict's columns to the saved result (same sequences, checked) without the "
                             "judge re-scoring them")
    add_replot(parser)
    args = parser.parse_args()
    if args.metapredict_only:
        result = metapredict_only(args)
        save_json(args.out / "student_vs_teacher.json", result)
    else:
        result = run_or_load(args, "student_vs_teacher", run)
    save_markdown(args, "student_vs_teacher", markdown(result))


if __name__ == "__main__":
    main()
