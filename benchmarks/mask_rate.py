"""Where the teacher's NELBO comes from: perplexity on masked positions at fixed mask rates, on the test split.

Under the log-linear schedule the NELBO per token is (up to the sampling of t) the average over mask rates
m ~ U(0, 1) of the cross-entropy on the masked positions at rate m. At m -> 1 nothing but the length is
visible, so that end sits at the unigram level whatever the model; the NELBO can only go far below unigram if
the low-rate end does. This script measures that curve for the shipped teacher, and for the project judge
(a masked LM scored over residue letters) when it is installed, next to the add-one unigram baseline.

    python benchmarks/mask_rate.py

Writes benchmarks/results/mask_rate.{json,md}. Fixed seed; the same masks for every model.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from bench import RESULTS, add_replot, run_or_load, save_markdown

RATES = (0.02, 0.05, 0.15, 0.3, 0.5, 0.7, 0.9, 1.0)


def masked_ce(logits_fn, seqs: list[torch.Tensor], rate: float, mask_id: int, pad_id: int, seed: int = 0,
              batch: int = 64) -> float:
    """Mean cross-entropy (nats) over positions masked i.i.d. with probability `rate` (at least one per
    sequence), the same masks for every model given the seed."""
    from protdidi.batching import fixed_batches

    g = torch.Generator().manual_seed(seed)
    total, count = 0.0, 0
    for x0, valid in fixed_batches(seqs, batch, 10**6, pad_id):
        hide = (torch.rand(x0.shape, generator=g) < rate) & valid
        first = torch.zeros_like(hide)
        first[:, 0] = True
        hide |= first & ~hide.any(1, keepdim=True)
        with torch.no_grad():
            logits = logits_fn(torch.where(hide, mask_id, x0), valid).double()
        total += float(F.cross_entropy(logits[hide], x0[hide], reduction="sum"))
        count += int(hide.sum())
    return total / count


def run(args) -> dict:
    from protdidi.domains.protein.alphabet import protein_vocab
    from protdidi.domains.protein.data import TokenizedSet, default_cath_fasta, split_records
    from protdidi.domains.protein.evaluation.judge_loading import PROJECT_JUDGE, load_judge
    from protdidi.domains.protein.evaluation.judge_training import judge_logits
    from protdidi.domains.protein.fasta import read_fasta
    from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
    from protdidi.tasks.mdlm import unigram_nll

    vocab = protein_vocab()
    splits = split_records(read_fasta(default_cath_fasta()))
    sets = {k: TokenizedSet.from_records(v).seqs for k, v in splits.items()}
    test = [s[:512] for s in sets["test"]]
    teacher = PROTEIN.load_model("teacher").denoiser.eval()
    half = torch.full((1,), 0.5)  # the teacher ignores t (it is not time-conditioned)
    models = {"protdidi-cath-teacher": lambda x, v: teacher(x, half.expand(len(x)), v)}
    try:
        judge = load_judge(PROJECT_JUDGE).model
        residues = ~vocab.special_mask()
        models[PROJECT_JUDGE] = lambda x, v: judge_logits(judge, x, v).masked_fill(~residues, float("-inf"))
    except Exception as err:  # the judge is optional here
        print(f"judge skipped: {err}")
    unigram = math.exp(unigram_nll(sets["train"], test, vocab.size, 512))
    rows = []
    for rate in RATES:
        row = {"mask_rate": rate}
        for name, fn in models.items():
            row[name] = math.exp(masked_ce(fn, test, rate, vocab.mask_id, vocab.pad_id))
        rows.append(row)
        print(row, flush=True)
    return {"command": "python benchmarks/mask_rate.py", "test_sequences": len(test), "unigram_ppl": unigram,
            "rows": rows}


def markdown(result: dict) -> str:
    unigram, rows = result["unigram_ppl"], result["rows"]
    names = [k for k in rows[0] if k != "mask_rate"]
    lines = ["# Perplexity on masked positions by mask rate (CATH test split)", "",
             f"Command: `{result['command']}`. {result['test_sequences']} test sequences (cut at 512), the same "
             f"i.i.d. masks for every model (seed 0). Add-one unigram baseline from the training split: "
             f"{unigram:.2f}.", "",
             "| mask rate | " + " | ".join(f"{n} ppl | vs unigram" for n in names) + " |",
             "|---|" + "---|---|" * len(names)]
    for r in rows:
        lines.append(f"| {r['mask_rate']:.2f} | " + " | ".join(f"{r[n]:.2f} | {r[n] / unigram - 1:+.1%}"
                                                              for n in names) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=RESULTS)
    add_replot(parser)
    args = parser.parse_args()
    save_markdown(args, "mask_rate", markdown(run_or_load(args, "mask_rate", run)))


if __name__ == "__main__":
    main()
