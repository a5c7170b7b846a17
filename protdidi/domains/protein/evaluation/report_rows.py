"""One row of `protdidi evaluate`: every metric of a set of sequences, and the reference sets it is compared with.

A row holds: the project judge's pseudo-perplexity (exact on a subset, single-pass on all), metapredict's
disorder and predicted pLDDT (an independent signal, `disorder.py`), composition/dipeptide divergences from
the natural reference, length KS, entropy and low-complexity hygiene, uniqueness, pairwise identity, and
novelty against the training set. `details` keeps the per-sequence values the intervals are drawn from.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from protdidi.domains.protein.alphabet import STANDARD_RESIDUES, encode_protein, protein_vocab
from protdidi.domains.protein.evaluation import metrics as M
from protdidi.domains.protein.evaluation.disorder import DisorderScores, predict_disorder
from protdidi.domains.protein.evaluation.homology import best_hits, homology_columns
from protdidi.evaluation.pppl import exact_pppl, fast_pppl
from protdidi.stats import bootstrap_ratio_ci

NATURAL = "natural reference"
JUDGE_WINDOW = 1022  # residues the judge sees (ESM-2's 1,024 positions less BOS and EOS); longer ones are cut
# The reference sets besides the natural one, each made from the natural sequences with a fixed seed: name →
# (seqs, composition, seed) -> control sequences.
CONTROLS: dict[str, Callable[[list[str], np.ndarray, int], list[str]]] = {}


def control(name: str):
    def register(make):
        CONTROLS[name] = make
        return make
    return register


@control("natural, each shuffled")
def shuffled(seqs: list[str], composition: np.ndarray, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.sample(s, len(s))) for s in seqs]


@control("natural, each reversed")
def reversed_seqs(seqs: list[str], composition: np.ndarray, seed: int) -> list[str]:
    return [s[::-1] for s in seqs]


@control("random (i.i.d. composition)")
def iid_composition(seqs: list[str], composition: np.ndarray, seed: int) -> list[str]:
    return random_baseline([len(s) for s in seqs], composition, seed)


def random_baseline(lengths: list[int], composition: np.ndarray, seed: int) -> list[str]:
    """Residues drawn i.i.d. from `composition` at the given lengths."""
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


def _bar(total: int, desc: str, progress: bool):
    return tqdm(total=total, desc=desc, file=sys.stderr, disable=not progress)


def sequence_metrics(seqs: list[str], reference: Reference, seed: int) -> dict:
    """The measures computed from the sequences alone (no model, no predictor): size, composition against the
    reference, complexity, diversity."""
    comp = M.composition(seqs, 1.0)
    return {"n": len(seqs), "mean_length": float(np.mean([len(s) for s in seqs])),
            "composition_kl": M.kl_divergence(comp, reference.composition),
            "composition_js": M.js_divergence(comp, reference.composition),
            "dipeptide_js": M.js_divergence(M.dipeptide_composition(seqs, 1.0), reference.dipeptides),
            "length_ks": M.ks_statistic([len(s) for s in seqs], [len(s) for s in reference.seqs]),
            "entropy_bits": float(np.mean([M.shannon_entropy_bits(s) for s in seqs])),
            "low_complexity_fraction": float(np.mean([M.low_complexity_fraction(s) for s in seqs])),
            "longest_homopolymer_mean": float(np.mean([M.longest_homopolymer(s) for s in seqs])),
            "frac_residue_over_25pct": float(np.mean([M.max_residue_fraction(s) > 0.25 for s in seqs])),
            "uniqueness": M.uniqueness(seqs), "mean_pairwise_identity": M.mean_pairwise_identity(seqs, 500, seed)}


def row_metrics(name: str, seqs: list[str], reference: Reference, train: list[str], judge, pppl_n: int,
                seed: int, progress: bool, novelty: Callable | None = None) -> tuple[dict, dict]:
    """(row, details) of one set: `scored_row` and `novelty_columns` together; `novelty(samples, train,
    progress)` is the search (default: the Python one)."""
    row, details = scored_row(name, seqs, reference, judge, pppl_n, seed, progress)
    return {**row, **novelty_columns(name, seqs, train, progress, novelty)}, details


NOVELTY_COLUMNS = ("max_identity_to_train_mean", "frac_novel_under_50pct", "frac_memorised_95pct")


def novelty_columns(name: str, seqs: list[str], train: list[str], progress: bool, novelty: Callable | None = None
                    ) -> dict:
    """The columns that depend on the training set and the search (`novelty_summary` of `novelty_identities`)."""
    return novelty_summary(novelty_identities(name, seqs, train, progress, novelty))


def novelty_identities(name: str, seqs: list[str], train: list[str], progress: bool, novelty: Callable | None = None
                       ) -> list[float]:
    """Each sequence's maximum identity to `train` (`novelty(samples, train, progress)`: the search)."""
    bar = _bar(len(seqs), f"novelty ({name})", progress)
    identities = (novelty or M.max_identity_to)(seqs, train, progress=bar.update)
    bar.close()
    return identities


def novelty_summary(identities: list[float]) -> dict:
    """The maximum identities averaged, and the fractions under 50% (novel) and at 95% or more (memorised)."""
    return dict(zip(NOVELTY_COLUMNS, (float(np.mean(identities)), float(np.mean([v < 0.5 for v in identities])),
                                      float(np.mean([v >= 0.95 for v in identities]))), strict=True))


def homology_row(name: str, seqs: list[str], database: list[str], seed: int, progress: bool) -> dict:
    """A set's homology columns (`homology.homology_columns`): phmmer of every sequence against `database`."""
    return homology_columns(homology_hits(name, seqs, database, progress), seed)


def homology_hits(name: str, seqs: list[str], database: list[str], progress: bool) -> list[dict | None]:
    """phmmer's best hit in `database` of every sequence of a set (`homology.best_hits`)."""
    bar = _bar(len(seqs), f"homology ({name})", progress)
    hits = best_hits(seqs, database, progress=bar.update)
    bar.close()
    return hits


def hygiene_columns(seqs: list[str]) -> dict:
    """Expression-tag artefacts: the share of sequences holding a His-tag (6 or more H in a row)."""
    return {"his_tag_rate": float(np.mean([M.has_his_tag(s) for s in seqs])) if seqs else float("nan")}


def scored_row(name: str, seqs: list[str], reference: Reference, judge, pppl_n: int, seed: int, progress: bool
               ) -> tuple[dict, dict]:
    """(row, details) of one set without the novelty columns: the sequence measures, metapredict's and the
    judge's (exact pseudo-perplexity on a seeded subset of `pppl_n`, single-pass on all)."""
    vocab = protein_vocab()
    row = {"set": name, **sequence_metrics(seqs, reference, seed)}
    disorder = predict_disorder(seqs)
    row.update(disorder.columns(seed))
    tokens = [torch.tensor(encode_protein(s[:JUDGE_WINDOW], vocab, name)) for s in seqs]
    subset = random.Random(seed).sample(range(len(tokens)), min(pppl_n, len(tokens)))
    bar = _bar(len(subset), f"pseudo-perplexity ({name})", progress)
    exact = exact_pppl(judge.model, [tokens[i] for i in subset], vocab, progress=bar.update)
    bar.close()
    fast = fast_pppl(judge.model, tokens, vocab)
    fast_subset = torch.tensor([fast.nll[i] for i in subset])
    corr = float(torch.corrcoef(torch.stack([torch.tensor(exact.nll), fast_subset]))[0, 1]) if len(subset) > 2 \
        else float("nan")
    row.update({"judge_pppl": exact.pooled, "judge_pppl_ci95": exact.ci95(), "judge_pppl_n": len(subset),
                "judge_fast_pppl": fast.pooled, "fast_vs_exact_pearson": corr})
    return row, {"per_sequence_pppl": exact.per_sequence, "composition": M.composition(seqs, 1.0).tolist(),
                 "lengths": [len(s) for s in seqs], "pppl_index": subset, "pppl_nll": exact.nll,
                 "pppl_tokens": exact.lengths, "disorder": disorder.to_json(), "fast_nll": fast.nll}


def scored_pppl(detail: dict, by_length: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A row's exactly scored sequences as `bootstrap_ratio_ci` takes them: (summed NLL, scored tokens,
    stratum), the stratum being the sequence length with `by_length` (fixed length buckets) or one for all."""
    nll = torch.tensor(detail["pppl_nll"], dtype=torch.float64)
    tokens = torch.tensor(detail["pppl_tokens"], dtype=torch.float64)
    strata = torch.tensor([detail["lengths"][i] if by_length else 0 for i in detail["pppl_index"]])
    return nll * tokens, tokens, strata


def versus_natural(row: dict, detail: dict, natural: dict, seed: int) -> None:
    """Add to `row` its judge pseudo-perplexity ratio and its metapredict differences to the natural reference
    (`natural`: the natural row's details), each with a 95% bootstrap interval."""
    row["judge_pppl_vs_natural"] = bootstrap_ratio_ci(scored_pppl(detail), scored_pppl(natural), seed=seed)
    ours, theirs = (DisorderScores.from_json(d["disorder"]) for d in (detail, natural))
    row.update({f"{name}_vs_natural": diff for name, diff in ours.differences(theirs, seed).items()})
