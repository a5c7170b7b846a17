"""Do the shipped models' samples look like known protein families? The homology column of `evaluate` (HMMER's
phmmer through pyhmmer, best hit E < 1e-3 at a fixed database size of 20,006; database: the CATH training
split), for natural held-out domains, their shuffles and each shipped model, nobody's judge involved.

    python benchmarks/homology_baseline.py          # ~5 minutes on the 2-core CPU
    python benchmarks/homology_baseline.py --replot

Rows: `--n` CATH test-split domains drawn with `--seed`, the same domains each shuffled, and `--n` samples of
each model at its NFE (ancestral sampler, lengths from the training distribution, `--seed`). Writes
benchmarks/results/homology_baseline.{json,md}.
"""

from __future__ import annotations

import argparse
import random
import time

from bench import RESULTS, add_replot, command_line, machine, run_or_load, save_markdown, table

from protdidi.domains.protein.data import default_cath_splits
from protdidi.domains.protein.evaluation.homology import best_hits, homology_columns
from protdidi.domains.protein.evaluation.report import with_ci
from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
from protdidi.generation.driver import generate
from protdidi.generation.request import Request

MODELS = (("teacher", 16), ("didi", 16), ("idlm", 16), ("idlm", 4))


def run(args) -> dict:
    split = default_cath_splits("--fasta")
    train = [r.seq for r in split["train"]]
    rng = random.Random(args.seed)
    natural = rng.sample([r.seq for r in split["test"]], args.n)
    sets = [("natural (CATH test split)", None, natural),
            ("natural, each shuffled", None, ["".join(rng.sample(s, len(s))) for s in natural])]
    for name, nfe in MODELS:
        model = PROTEIN.load_model(name)
        t0 = time.perf_counter()
        gen = generate(PROTEIN, model, Request(args.n, nfe, args.seed))
        sets.append((model.name, nfe, [r.seq for r in gen.records]))
        print(f"{model.name} NFE {nfe}: {time.perf_counter() - t0:.0f} s", flush=True)
    rows = []
    for label, nfe, seqs in sets:
        t0 = time.perf_counter()
        rows.append({"set": label, "nfe": nfe, "n": len(seqs), **homology_columns(best_hits(seqs, train), args.seed),
                     "search_seconds": round(time.perf_counter() - t0, 1)})
        print(rows[-1], flush=True)
    return {"command": command_line(), "machine": machine(), "seed": args.seed, "database": len(train),
            "rows": rows}


def markdown(result: dict) -> str:
    body = [[r["set"], "–" if r["nfe"] is None else str(r["nfe"]), str(r["n"]),
             with_ci(r["homology_hit_rate"], r["homology_hit_rate_ci95"], "{:.3f}"),
             f"{r['near_copy_rate']:.3f}", f"{r['median_best_hit_identity']:.3f}"] for r in result["rows"]]
    return "\n".join([
        "# Homology of the shipped models' samples (phmmer against the CATH training split)", "",
        f"Command: `{result['command']}`  ", f"{result['machine']}; seed {result['seed']}; database: "
        f"{result['database']:,} CATH S40 training domains; E-values at a fixed database size of 20,006; "
        "homolog = best hit E < 1e-3 (95% bootstrap interval); near copy = best hit >= 90% identity over >= 80% "
        "of the sequence; no judge involved.", "",
        *table(["set", "NFE", "n", "homology hit rate (95% CI)", "near copies", "median best-hit identity"], body),
        ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", default=RESULTS)
    add_replot(parser)
    args = parser.parse_args()
    save_markdown(args, "homology_baseline", markdown(run_or_load(args, "homology_baseline", run)))


if __name__ == "__main__":
    main()
