"""May a candidate model replace the shipped default? Both at equal wall-clock, judged by three signals with intervals.

    python benchmarks/equal_wallclock.py --candidate runs/idlm-8m/best     # a checkpoint directory or a shipped name

The rule for a new default: time the default at its NFE (16) on 1,000 sequences, take the largest NFE at
which the candidate generates the same 1,000 lengths no slower (both timed in this run, interleaved, on the same
machine), then score both sets and ship the candidate only if it beats the default on the project judge (ratio of
pooled pseudo-perplexities, 95% interval below 1) **and** on metapredict, the predictor not trained here
(difference in disordered residues, 95% interval below 0), **and** is not worse on the homology hit rate (phmmer
against the CATH training split: the 95% interval of candidate minus default does not lie wholly below 0). The
other two metapredict measures are reported beside it. Writes benchmarks/results/equal_wallclock.{json,md};
`--replot` rewrites the Markdown from the JSON.
"""

from __future__ import annotations

import sys
import time

import torch
from bench import (
    HOMOLOGY_HEADERS,
    Scorer,
    add_replot,
    command_line,
    common_parser,
    disorder_differences,
    generate_buckets,
    homology_cells,
    homology_difference,
    judge_ratio,
    run_or_load,
    save_markdown,
    table,
)

from protdidi.generation.driver import build_sampler, chunk_generator, generate_rows


def timed(model, lengths: list[int], nfe: int, args) -> float:
    """Seconds to sample `lengths` at `nfe` (the job `generate --n len(lengths)` runs, first chunk's generator)."""
    engine = build_sampler(model, "ancestral")
    start = time.perf_counter()
    generate_rows(model, lengths, nfe, chunk_generator(args.seed, 0), args.batch_size, engine, progress=False)
    return time.perf_counter() - start


def pick_nfe(default, candidate, lengths: list[int], args) -> dict:
    """The default's time at its NFE (best of its runs: one first, one after each candidate trial), the candidate's
    per-step cost from a probe at NFE 4, and the largest candidate NFE whose time (best of two runs) is within the
    default's. Both models first run one short warm-up batch."""
    for model in (default, candidate):
        timed(model, lengths[: args.batch_size], 1, args)
    budget = [timed(default, lengths, args.default_nfe, args)]
    probe = timed(candidate, lengths, 4, args)
    nfe = max(1, min(args.max_nfe, int(budget[0] / (probe / 4))))
    trials = []
    while True:
        trials.append({"nfe": nfe, "seconds": min(timed(candidate, lengths, nfe, args) for _ in range(2))})
        budget.append(timed(default, lengths, args.default_nfe, args))
        if trials[-1]["seconds"] <= min(budget) or nfe == 1:
            break
        nfe -= 1
    fits = trials[-1]["seconds"] <= min(budget)
    return {"default_seconds": budget, "budget_seconds": min(budget), "probe_nfe4_seconds": probe,
            "trials": trials, "candidate_nfe": nfe if fits else None}


def run(args) -> dict:
    from protdidi.domains.protein.plugin import DOMAIN as PROTEIN

    default, candidate = PROTEIN.load_model(args.default), PROTEIN.load_model(args.candidate)
    lengths = PROTEIN.plan(default, args.time_n, None, chunk_generator(args.seed, 0), {}).lengths
    timing = pick_nfe(default, candidate, lengths, args)
    print(f"timing: {timing}", file=sys.stderr)
    result = {"command": command_line(), "default": default.name, "candidate": candidate.name,
              "default_nfe": args.default_nfe, "time_n": args.time_n, "residues": sum(lengths),
              "threads": torch.get_num_threads(), **timing}
    if timing["candidate_nfe"] is None:
        return {**result, "verdict": "too slow: no NFE fits the default's wall-clock", "rows": []}
    scorer = Scorer(args)
    labels = {}
    for role, model, nfe in (("default", default, args.default_nfe), ("candidate", candidate, timing["candidate_nfe"])):
        labels[role] = f"{role}: {model.name}, NFE {nfe}"
        seqs, _, _ = generate_buckets(model, "ancestral", nfe, args)
        scorer.score(labels[role], seqs, {"model": model.name, "nfe": nfe})
    a, b = labels["candidate"], labels["default"]
    judge = judge_ratio(scorer.details, a, b, args.seed)
    disorder = disorder_differences(scorer.details, a, b, args.seed)
    homology = homology_difference(scorer.details, a, b, args.seed)
    return {**result, **scorer.meta(), "rows": scorer.rows, "judge_ratio": judge, "metapredict_differences": disorder,
            "homology_difference": homology, "verdict": verdict(judge, disorder, homology)}


def verdict(judge: dict, disorder: dict, homology: dict) -> str:
    """The ship rule: better on the judge and on metapredict's disordered residues, not worse on homology."""
    failed = [text for text, ok in (("does not beat it on the judge", judge["ci95"][1] < 1),
                                    ("does not beat it on metapredict",
                                     bool(disorder) and disorder["disorder_fraction"]["ci95"][1] < 0),
                                    ("is worse on homology", homology["ci95"][1] >= 0)) if not ok]
    if not failed:
        return "ship: beats the default on the judge and on metapredict, not worse on homology"
    return "keep the default: the candidate " + " and ".join(failed)


def markdown(result: dict) -> str:
    from protdidi.domains.protein.evaluation.report import DISORDER_COLUMNS, with_ci

    lines = [f"# Equal wall-clock: {result['candidate']} against the default {result['default']}", "",
             f"Command: `{result['command']}`  ",
             f"Timing: {result['time_n']} sequences ({result['residues']:,} residues, the default's length draw), "
             f"{result['threads']} threads. Default at NFE {result['default_nfe']}: "
             + ", ".join(f"{s:.1f}" for s in result["default_seconds"]) + " s (budget: the best, "
             f"{result['budget_seconds']:.1f} s); candidate probe at NFE 4: {result['probe_nfe4_seconds']:.1f} s; "
             "tried " + ", ".join(f"NFE {t['nfe']} {t['seconds']:.1f} s" for t in result["trials"]) + ".", "",
             f"**Verdict: {result['verdict']}.**", ""]
    if not result["rows"]:
        return "\n".join(lines) + "\n"
    scored = min(result["pppl_n"], result["rows"][0]["n"])
    lines += [f"Judge: {result['judge']}; length buckets {result['buckets']} × {result['per_bucket']}, seed "
              f"{result['seed']}, exact pseudo-perplexity on {scored} sequences a row; metapredict's measures with "
              "95% bootstrap intervals.", ""]
    lines += table(["set", "judge PPPL ↓ (95% CI)", *[h for h, _ in DISORDER_COLUMNS.values()], *HOMOLOGY_HEADERS],
                   [[r["set"], with_ci(r["judge_pppl"], r["judge_pppl_ci95"], "{:.3f}"),
                     *[with_ci(r[c], r[f"{c}_ci95"], f) if c in r else "–" for c, (_, f) in DISORDER_COLUMNS.items()],
                     *homology_cells(r)] for r in result["rows"]])
    j, d = result["judge_ratio"], result["metapredict_differences"]
    deltas = [f"Δ {h} {with_ci(d[c]['difference'], d[c]['ci95'], '{:+' + f[2:], ', ')}"
              for c, (h, f) in DISORDER_COLUMNS.items() if c in d]
    if "homology_difference" in result:
        h = result["homology_difference"]
        deltas.append(f"Δ homology hit rate {with_ci(h['difference'], h['ci95'], '{:+.3f}', ', ')}")
    lines += ["", f"Candidate against default: judge PPPL ratio {j['ratio']:.3f} "
              f"({j['ci95'][0]:.3f}–{j['ci95'][1]:.3f}); " + "; ".join(deltas) + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = common_parser(__doc__)
    parser.set_defaults(per_bucket=50, pppl_n=10**9, seed=1)
    parser.add_argument("--candidate", help="checkpoint directory or shipped model name (required unless --replot)")
    parser.add_argument("--default", default="idlm", help="the model to beat (default: the shipped default, idlm)")
    parser.add_argument("--default-nfe", type=int, default=16)
    parser.add_argument("--time-n", type=int, default=1000, help="sequences in each timed job")
    parser.add_argument("--max-nfe", type=int, default=64)
    add_replot(parser)
    args = parser.parse_args()
    if not (args.candidate or args.replot):
        parser.error("--candidate is required")
    save_markdown(args, "equal_wallclock", markdown(run_or_load(args, "equal_wallclock", run)))


if __name__ == "__main__":
    main()
