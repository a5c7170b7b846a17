"""The shipped teacher's NELBO perplexity on the CATH validation and test splits against the unigram baseline,
with both Monte-Carlo estimators and their seed-to-seed spread.

    python benchmarks/teacher_nelbo.py

The continuous-time estimator that training uses ("t": t ~ U[1e-3, 1], loss weight 1/t) is noisy on a
thousand sequences: its 1/t weight is large exactly where few positions are masked. For a teacher that
ignores t, "mask-count" estimates the same NELBO from the number of masked positions
(protdidi.denoiser.nelbo_by_mask_count) without that weight. Each (split, estimator) is scored with
`--seeds` different seeds of 4 passes each; the table gives their mean and range. A random sample of training
sequences is scored the same way, so the gap between fitting the training split and generalising is visible.
Writes benchmarks/results/teacher_nelbo.{json,md}; `--replot` rewrites the Markdown from the JSON.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from pathlib import Path

from bench import RESULTS, add_replot, command_line, machine, run_or_load, save_markdown, table


def run(args) -> dict:
    from protdidi.domains.protein.data import TokenizedSet, default_cath_fasta, split_records
    from protdidi.domains.protein.fasta import read_fasta
    from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
    from protdidi.tasks.mdlm import evaluate_nelbo, unigram_nll

    teacher = PROTEIN.load_model(args.model)
    split = split_records(read_fasta(args.fasta or default_cath_fasta()))
    seqs = {name: TokenizedSet.from_records(split[name]).seqs for name in ("train", "valid", "test")}
    pick = random.Random(0).sample(range(len(seqs["train"])), min(args.train_n, len(seqs["train"])))
    seqs["train sample"] = [seqs["train"][i] for i in pick]
    rows = []
    for name in ("train sample", "valid", "test"):
        uni = unigram_nll(seqs["train"], seqs[name], teacher.denoiser.vocab.size, teacher.max_length)
        for estimator in ("t", "mask-count"):
            values = [evaluate_nelbo(teacher.denoiser, seqs[name], teacher.schedule, teacher.max_length,
                                     args.batch_size, passes=4, seed=1234 + s, estimator=estimator)
                      for s in range(args.seeds)]
            mean = sum(values) / len(values)
            row = {"split": name, "n": len(seqs[name]), "estimator": estimator, "nelbo_per_seed": values,
                   "nelbo": mean, "nelbo_ppl": math.exp(mean), "nelbo_ppl_range": [math.exp(min(values)),
                                                                                   math.exp(max(values))],
                   "unigram_ppl": math.exp(uni), "ppl_reduction": 1 - math.exp(mean - uni)}
            rows.append(row)
            print(f"{name:12s} {estimator:10s} NELBO ppl {row['nelbo_ppl']:.3f} "
                  f"(seeds {row['nelbo_ppl_range'][0]:.3f}-{row['nelbo_ppl_range'][1]:.3f}), "
                  f"unigram {row['unigram_ppl']:.3f}, reduction {100 * row['ppl_reduction']:.1f}%", file=sys.stderr)
    return {"command": command_line(),
            "model": teacher.name, "seeds": args.seeds, "passes": 4, "max_length": teacher.max_length,
            "machine": machine(),
            "rows": rows}


def markdown(result: dict) -> str:
    lines = [f"# NELBO perplexity of {result['model']} vs the unigram baseline", "",
             f"Command: `{result['command']}`  ",
             f"{result['seeds']} seeds × {result['passes']} Monte-Carlo passes per row; sequences over "
             f"{result['max_length']} residues scored on their first {result['max_length']}; unigram: add-one "
             f"training-split frequencies; {result['machine']}; {result['total_seconds'] / 60:.0f} min.", ""]
    lines += table(["split", "estimator", "NELBO (nats/token)", "NELBO ppl", "range over seeds", "unigram ppl",
                    "reduction"],
                   [[r["split"], r["estimator"], f"{r['nelbo']:.4f}", f"{r['nelbo_ppl']:.3f}",
                     "{:.3f}–{:.3f}".format(*r["nelbo_ppl_range"]), f"{r['unigram_ppl']:.3f}",
                     f"{100 * r['ppl_reduction']:.1f}%"] for r in result["rows"]])
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="teacher", help="shipped name, checkpoint directory or weights file")
    parser.add_argument("--fasta", default=None, help="CATH FASTA (default: the shipped copy)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--train-n", type=int, default=1000, help="training sequences scored (fit diagnostic)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", type=Path, default=RESULTS)
    add_replot(parser)
    args = parser.parse_args()
    save_markdown(args, "teacher_nelbo", markdown(run_or_load(args, "teacher_nelbo", run)))

if __name__ == "__main__":
    main()
