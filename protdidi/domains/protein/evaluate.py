"""`protdidi evaluate`: score a FASTA of generated proteins against natural references.

Rows: the samples, a natural reference set (default: the test split), and a shuffled-composition random
baseline (residues drawn i.i.d. from the reference composition at the samples' lengths). Columns: judge
pseudo-perplexity (exact on a subset, single-pass on all), composition/dipeptide divergences, length KS,
entropy and low-complexity hygiene, uniqueness, pairwise identity, and novelty against the training set.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from protdidi.domains.protein import metrics as M
from protdidi.domains.protein.alphabet import STANDARD_RESIDUES, encode_protein, protein_vocab
from protdidi.domains.protein.data import default_cath_splits
from protdidi.domains.protein.fasta import read_fasta
from protdidi.domains.protein.judges import load_judge
from protdidi.domains.protein.plddt import esmfold_plddt, load_esmfold, plddt_skip_reason
from protdidi.errors import UserError
from protdidi.evaluation.pppl import exact_pppl, fast_pppl
from protdidi.io import write_dir_atomic
from protdidi.stats import bootstrap_ratio_ci


def random_baseline(lengths: list[int], composition: np.ndarray, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list(STANDARD_RESIDUES), size=n, p=composition)) for n in lengths]


@dataclass
class Reference:
    """The natural reference set and what every row is compared with, computed once."""

    seqs: list[str]
    composition: np.ndarray
    dipeptides: np.ndarray

    @classmethod
    def of(cls, seqs: list[str]) -> Reference:
        return cls(seqs, M.composition(seqs, 1.0), M.dipeptide_composition(seqs, 1.0))


def row_metrics(name: str, seqs: list[str], reference: Reference, train: list[str], judge, pppl_n: int,
                seed: int, progress: bool) -> tuple[dict, dict]:
    vocab = protein_vocab()
    comp = M.composition(seqs, 1.0)
    row = {"set": name, "n": len(seqs), "mean_length": float(np.mean([len(s) for s in seqs])),
           "composition_kl": M.kl_divergence(comp, reference.composition),
           "composition_js": M.js_divergence(comp, reference.composition),
           "dipeptide_js": M.js_divergence(M.dipeptide_composition(seqs, 1.0), reference.dipeptides),
           "length_ks": M.ks_statistic([len(s) for s in seqs], [len(s) for s in reference.seqs]),
           "entropy_bits": float(np.mean([M.shannon_entropy_bits(s) for s in seqs])),
           "low_complexity_fraction": float(np.mean([M.low_complexity_fraction(s) for s in seqs])),
           "longest_homopolymer_mean": float(np.mean([M.longest_homopolymer(s) for s in seqs])),
           "frac_residue_over_25pct": float(np.mean([M.max_residue_fraction(s) > 0.25 for s in seqs])),
           "uniqueness": M.uniqueness(seqs), "mean_pairwise_identity": M.mean_pairwise_identity(seqs, 500, seed)}
    bar = tqdm(total=len(seqs), desc=f"novelty ({name})", file=sys.stderr, disable=not progress)
    novelty = M.max_identity_to(seqs, train, progress=bar.update)
    bar.close()
    row.update({"max_identity_to_train_mean": float(np.mean(novelty)),
                "frac_novel_under_50pct": float(np.mean([v < 0.5 for v in novelty])),
                "frac_memorised_95pct": float(np.mean([v >= 0.95 for v in novelty]))})
    tokens = [torch.tensor(encode_protein(s[:1022], vocab, name)) for s in seqs]
    subset = random.Random(seed).sample(range(len(tokens)), min(pppl_n, len(tokens)))
    bar = tqdm(total=len(subset), desc=f"pseudo-perplexity ({name})", file=sys.stderr, disable=not progress)
    exact = exact_pppl(judge.model, [tokens[i] for i in subset], vocab, progress=bar.update)
    bar.close()
    fast = fast_pppl(judge.model, tokens, vocab)
    fast_subset = torch.tensor([fast.nll[i] for i in subset])
    corr = float(torch.corrcoef(torch.stack([torch.tensor(exact.nll), fast_subset]))[0, 1]) if len(subset) > 2 \
        else float("nan")
    row.update({"judge_pppl": exact.pooled, "judge_pppl_ci95": exact.ci95(), "judge_pppl_n": len(subset),
                "judge_fast_pppl": fast.pooled,
                "fast_vs_exact_pearson": corr})
    return row, {"per_sequence_pppl": exact.per_sequence, "composition": comp.tolist(),
                 "lengths": [len(s) for s in seqs], "pppl_index": subset, "pppl_nll": exact.nll,
                 "pppl_tokens": exact.lengths}


def scored_pppl(detail: dict, by_length: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A row's exactly scored sequences as `bootstrap_ratio_ci` takes them: (summed NLL, scored tokens,
    stratum), the stratum being the sequence length with `by_length` (fixed length buckets) or one for all."""
    nll = torch.tensor(detail["pppl_nll"], dtype=torch.float64)
    tokens = torch.tensor(detail["pppl_tokens"], dtype=torch.float64)
    strata = torch.tensor([detail["lengths"][i] if by_length else 0 for i in detail["pppl_index"]])
    return nll * tokens, tokens, strata


def _plots(out: Path, rows: list[dict], details: dict[str, dict], judge_name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 3.5))
    width = 0.8 / len(rows)
    for k, row in enumerate(rows):
        ax.bar(np.arange(20) + k * width, details[row["set"]]["composition"], width, label=row["set"])
    ax.set_xticks(np.arange(20) + 0.4 - width / 2, list(STANDARD_RESIDUES))
    ax.set_ylabel("frequency")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "composition.png", dpi=110)
    plt.close(fig)
    for key, label, file in (("lengths", "length", "lengths.png"),
                             ("per_sequence_pppl", f"per-sequence pseudo-perplexity ({judge_name})", "pppl.png")):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for row in rows:
            ax.hist(details[row["set"]][key], bins=30, alpha=0.5, label=row["set"])
        ax.set_xlabel(label)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / file, dpi=110)
        plt.close(fig)


COLUMNS = [("judge_pppl", "{:.2f}"), ("judge_fast_pppl", "{:.2f}"), ("composition_js", "{:.4f}"),
           ("dipeptide_js", "{:.4f}"), ("length_ks", "{:.3f}"), ("entropy_bits", "{:.3f}"),
           ("low_complexity_fraction", "{:.3f}"), ("longest_homopolymer_mean", "{:.2f}"),
           ("frac_residue_over_25pct", "{:.3f}"), ("uniqueness", "{:.3f}"), ("mean_pairwise_identity", "{:.3f}"),
           ("max_identity_to_train_mean", "{:.3f}"), ("frac_novel_under_50pct", "{:.3f}"),
           ("frac_memorised_95pct", "{:.3f}")]


def _vs_natural(row: dict) -> str:
    ratio = row.get("judge_pppl_vs_natural")
    return "–" if ratio is None else "{:.3f} ({:.3f}–{:.3f})".format(ratio["ratio"], *ratio["ci95"])


def markdown(rows: list[dict], judge_name: str, plddt_note: str = "") -> str:
    columns = COLUMNS + ([("esmfold_plddt", "{:.1f}")] if "esmfold_plddt" in rows[0] else [])
    head = "| set | n | judge_pppl vs natural (95% CI) | " + " | ".join(c for c, _ in columns) + " |"
    lines = [f"Judge: {judge_name}. Pseudo-perplexity: exact on up to {rows[0]['judge_pppl_n']} sequences per set; "
             f"fast = single pass, unmasked; vs natural: ratio of pooled pseudo-perplexities to the natural "
             f"reference, 95% bootstrap interval.{plddt_note}", "", head, "|" + "---|" * (len(columns) + 3)]
    for r in rows:
        lines.append(f"| {r['set']} | {r['n']} | {_vs_natural(r)} | "
                     + " | ".join(f.format(r[c]) for c, f in columns) + " |")
    return "\n".join(lines) + "\n"


def plddt_note(report: dict) -> str:
    info = report["esmfold"]
    return f" ESMFold pLDDT skipped: {info['skipped']}." if "skipped" in info else \
        f" ESMFold pLDDT ({info['model']}) on up to {info['n']} sequences per set."


def evaluate(samples_path: str, out_dir: Path, reference: str | None = None, train: str | None = None,
             judge: str | None = None, pppl_n: int = 100, seed: int = 0, progress: bool = True,
             esmfold: str | None = None) -> dict:
    samples = [r.seq for r in read_fasta(samples_path)]
    if not samples:
        raise UserError(f"{samples_path}: no sequences")
    judge_model = load_judge(judge)
    skipped = plddt_skip_reason(esmfold)
    folder = load_esmfold(esmfold) if skipped is None else None
    split = None
    if reference is None or train is None:
        split = default_cath_splits("--reference and --train FASTA files")
    ref = [r.seq for r in read_fasta(reference)] if reference else [r.seq for r in split["test"]]
    trn = [r.seq for r in read_fasta(train)] if train else [r.seq for r in split["train"]]
    if not ref or not trn:
        raise UserError("the reference and training sets must not be empty")
    reference_set = Reference.of(ref)
    rand = random_baseline([len(s) for s in samples], reference_set.composition, seed)
    rows, details = [], {}
    for name, seqs in (("samples", samples), ("natural reference", ref), ("random (shuffled composition)", rand)):
        row, detail = row_metrics(name, seqs, reference_set, trn, judge_model, pppl_n, seed, progress)
        if folder is not None:
            subset = random.Random(seed).sample(seqs, min(pppl_n, len(seqs)))
            bar = tqdm(total=len(subset), desc=f"ESMFold pLDDT ({name})", file=sys.stderr, disable=not progress)
            row["esmfold_plddt"] = float(np.mean(esmfold_plddt(folder, subset, progress=bar.update)))
            bar.close()
        rows.append(row)
        details[name] = detail
    for row in rows:
        if row["set"] != "natural reference":
            row["judge_pppl_vs_natural"] = bootstrap_ratio_ci(scored_pppl(details[row["set"]]),
                                                              scored_pppl(details["natural reference"]), seed=seed)
    report = {"judge": judge_model.name, "samples": str(samples_path), "seed": seed,
              "novelty_search": "k-mer prefilter (3-mers, top 50) + Biopython global alignment (BLOSUM62)",
              "esmfold": {"skipped": skipped} if folder is None else {"model": Path(esmfold).name, "n": pppl_n},
              "rows": rows}

    def write(tmp: Path) -> None:
        (tmp / "report.json").write_text(json.dumps(report, indent=1) + "\n")
        (tmp / "report.md").write_text(markdown(rows, judge_model.name, plddt_note(report)))
        _plots(tmp, rows, details, judge_model.name)

    write_dir_atomic(out_dir, write)
    return report
