"""How far the judge separates natural proteins from composition-preserving corruptions, and whether it
fits its training split better than held-out sequences.

    pip install ".[bench]"   # scikit-learn, for the ROC AUC
    python benchmarks/judge_margin.py

Exact pseudo-perplexity (every residue masked in turn) on the same 200 test sequences as the judge's own
report (seed 0, first 256 residues), on each of them shuffled (the seeds of that report) and reversed, and on
200 training sequences. Corrupted sets are compared with the natural set pair by pair: the pooled ratio
with a paired 95% bootstrap interval, the share of sequences that beat their own corruption, and the ROC AUC
of the per-sequence score as a natural-vs-corrupted classifier. Training vs test is an unpaired ratio.
Unigram: add-one training-split frequencies on the same residues. Writes
benchmarks/results/judge_margin.{json,md}; `--replot` rewrites the Markdown from the JSON.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch
from bench import RESULTS, add_replot, command_line, log_records, machine, run_or_load, save_markdown, table

MAX_LENGTH = 256


def _pooled(nll: list[float], lengths: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    tokens = torch.tensor(lengths, dtype=torch.float64)
    return torch.tensor(nll, dtype=torch.float64) * tokens, tokens, torch.zeros(len(lengths), dtype=torch.long)


def compare(natural: dict, other: dict, paired: bool) -> dict:
    """`other` over `natural`: pooled ratio with its 95% bootstrap interval; for pairs also the share of
    natural sequences scoring better than their own corruption and the ROC AUC of the per-sequence NLL."""
    from sklearn.metrics import roc_auc_score

    from protdidi.stats import bootstrap_ratio_ci

    out = {"ratio": bootstrap_ratio_ci(_pooled(other["nll"], other["lengths"]),
                                       _pooled(natural["nll"], natural["lengths"]), paired=paired)}
    if paired:
        wins = [a < b for a, b in zip(natural["nll"], other["nll"], strict=True)]
        labels = [1] * len(other["nll"]) + [0] * len(natural["nll"])
        out["natural_wins"] = sum(wins) / len(wins)
        out["auc"] = float(roc_auc_score(labels, other["nll"] + natural["nll"]))
    return out


def run(args) -> dict:
    from protdidi.domains.protein.alphabet import protein_vocab
    from protdidi.domains.protein.data import TokenizedSet, default_cath_fasta, split_records
    from protdidi.domains.protein.evaluation.judge_loading import load_judge
    from protdidi.domains.protein.evaluation.judge_training import sample_cropped, shuffled_copies
    from protdidi.domains.protein.fasta import read_fasta
    from protdidi.evaluation.pppl import exact_pppl
    from protdidi.tasks.mdlm import unigram_nll

    judge = load_judge(args.judge)
    vocab = protein_vocab()
    split = split_records(read_fasta(args.fasta or default_cath_fasta()))
    seqs = {name: TokenizedSet.from_records(split[name]).seqs for name in ("train", "test")}
    sets = {f"{name} natural": sample_cropped(seqs[name], args.n, MAX_LENGTH) for name in ("test", "train")}
    sets["test shuffled"] = shuffled_copies(sets["test natural"])  # as in the judge's own report
    sets["test reversed"] = [s.flip(0) for s in sets["test natural"]]
    scored = {}
    for name, members in sets.items():
        t0 = time.perf_counter()
        res = exact_pppl(judge.model, members, vocab)
        scored[name] = {"n": len(members), "pppl": res.pooled, "ci95": res.ci95(), "nll": res.nll,
                        "lengths": res.lengths, "seconds": round(time.perf_counter() - t0),
                        "unigram_ppl": math.exp(unigram_nll(seqs["train"], members, vocab.size, MAX_LENGTH))}
        print(f"{name:14s} PPPL {res.pooled:.3f} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    natural = scored["test natural"]
    comparisons = {name: compare(natural, scored[name], paired=True) for name in ("test shuffled", "test reversed")}
    comparisons["test natural / train natural"] = compare(scored["train natural"], natural, paired=False)
    return {"command": command_line(), "judge": judge.name, "n": args.n, "max_length": MAX_LENGTH,
            "machine": machine(),
            "sets": scored, "comparisons": comparisons, "training_curve": training_curve(judge.path)}


def training_curve(judge_path: Path) -> list[dict]:
    """The judge's last validation points (masked-LM cross-entropy) from the log shipped beside it, if any."""
    points = [r for r in log_records(judge_path if judge_path.is_dir() else judge_path.parent) if "valid_mlm_ce" in r]
    unique = {p["step"]: p["valid_mlm_ce"] for p in points}
    return [{"step": s, "valid_mlm_ce": v} for s, v in sorted(unique.items())][-5:]


def markdown(result: dict) -> str:
    sets, comp = result["sets"], result["comparisons"]
    lines = [f"# Judge margin: {result['judge']} on natural vs corrupted CATH sequences", "",
             f"Command: `{result['command']}`  ",
             f"{result['n']} sequences per set (seed 0, first {result['max_length']} residues), exact "
             f"pseudo-perplexity; {result['machine']}; {result['total_seconds'] / 60:.0f} min.", ""]
    lines += table(["set", "judge PPPL", "95% CI", "unigram ppl (same residues)", "below unigram"],
                   [[name, f"{s['pppl']:.3f}", "{:.2f}–{:.2f}".format(*s["ci95"]), f"{s['unigram_ppl']:.3f}",
                     f"{100 * (1 - s['pppl'] / s['unigram_ppl']):.1f}%"] for name, s in sets.items()])
    lines += ["", "Corruptions over the natural test set, pair by pair (paired bootstrap); last row unpaired:", ""]
    lines += table(["comparison", "PPPL ratio", "95% CI", "natural wins its pair", "ROC AUC"],
                   [[name if "train" in name else f"{name} / test natural", f"{c['ratio']['ratio']:.4f}",
                     "{:.4f}–{:.4f}".format(*c["ratio"]["ci95"]),
                     f"{100 * c['natural_wins']:.1f}%" if "natural_wins" in c else "–",
                     f"{c['auc']:.3f}" if "auc" in c else "–"] for name, c in comp.items()])
    if result["training_curve"]:
        curve = ", ".join(f"{p['step']}: {p['valid_mlm_ce']:.4f}" for p in result["training_curve"])
        lines += ["", f"Judge training log, validation masked-LM cross-entropy by step: {curve}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judge", default=None, help="judge name or path (default: protdidi-cath-judge)")
    parser.add_argument("--fasta", default=None, help="CATH FASTA (default: the shipped copy)")
    parser.add_argument("--n", type=int, default=200, help="sequences per set")
    parser.add_argument("--out", type=Path, default=RESULTS)
    add_replot(parser)
    args = parser.parse_args()
    save_markdown(args, "judge_margin", markdown(run_or_load(args, "judge_margin", run)))


if __name__ == "__main__":
    main()
