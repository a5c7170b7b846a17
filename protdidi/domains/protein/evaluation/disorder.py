"""An independent structural signal from metapredict (Emenecker et al.; MIT licence; its networks ship inside
its package, so it runs offline). Nobody in this project trained it, unlike the project judge.

Per sequence: the residues metapredict V3 calls disordered (score ≥ 0.5, its documented cut-off) and the mean
of metapredict's predicted pLDDT, a network trained to predict AlphaFold2's pLDDT from sequence (it is neither
AlphaFold2 nor ESMFold). Natural domains are mostly folded; shuffled sequences are not.

metapredict reads only the 20 standard residues. Like metapredict's own FASTA readers, the letters B, U, X, Z
are first converted with protfasta's standard table (B→N, U→C, X→G, Z→Q); a sequence that still holds another
letter (O, say) is skipped, and the report says how many were and which.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from protdidi.domains.protein.alphabet import STANDARD_RESIDUES
from protdidi.stats import bootstrap_pooled, bootstrap_pooled_differences

DISORDER_VERSION = "V3"
DISORDER_CUTOFF = 0.5  # metapredict V3's documented threshold: a residue scoring >= 0.5 is disordered
MOSTLY_DISORDERED = 0.3  # a sequence more than 30% disordered counts as mostly disordered
_STANDARD = frozenset(STANDARD_RESIDUES)


def metapredict_version() -> str:
    from importlib.metadata import version

    return version("metapredict")


@dataclass
class DisorderScores:
    """metapredict's calls for the scored sequences of one set (parallel lists) and the indices of the skipped."""

    disordered: list[int] = field(default_factory=list)  # residues at or above the cut-off
    lengths: list[int] = field(default_factory=list)
    plddt: list[float] = field(default_factory=list)  # per-sequence mean predicted (AlphaFold2) pLDDT
    skipped: list[int] = field(default_factory=list)

    def measures(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Each reported measure as (values, weights) of a pooled mean: disordered residues over residues, the
        share of sequences over 30% disordered, and the mean per-sequence predicted pLDDT."""
        disordered = torch.tensor(self.disordered, dtype=torch.float64)
        lengths = torch.tensor(self.lengths, dtype=torch.float64)
        ones = torch.ones(len(self.lengths), dtype=torch.float64)
        return {"disorder_fraction": (disordered, lengths),
                "frac_over_30pct_disordered": ((disordered > MOSTLY_DISORDERED * lengths).double(), ones),
                "predicted_plddt": (torch.tensor(self.plddt, dtype=torch.float64), ones)}

    def columns(self, seed: int) -> dict:
        """Row columns: each measure with its 95% bootstrap interval, and how many sequences were scored."""
        row = {"metapredict_n": len(self.lengths), "metapredict_skipped": len(self.skipped)}
        for name, (values, weights) in self.measures().items():
            if len(values):
                stat = bootstrap_pooled(values, weights, seed=seed)
                row[name], row[f"{name}_ci95"] = stat["mean"], stat["ci95"]
            else:
                row[name], row[f"{name}_ci95"] = float("nan"), [float("nan")] * 2
        return row

    def differences(self, other: DisorderScores, seed: int) -> dict[str, dict]:
        """Each measure's difference to another set (this − other) with a 95% bootstrap interval."""
        if not self.lengths or not other.lengths:
            return {}
        return bootstrap_pooled_differences(self.measures(), other.measures(), seed=seed)

    def to_json(self) -> dict:
        return {"disordered": self.disordered, "lengths": self.lengths, "plddt": self.plddt, "skipped": self.skipped}

    @classmethod
    def from_json(cls, data: dict) -> DisorderScores:
        return cls(**{key: list(data[key]) for key in ("disordered", "lengths", "plddt", "skipped")})


def readable(seq: str) -> str | None:
    """The sequence as metapredict reads it (B, U, X, Z converted), or None when another letter remains."""
    from protfasta.utilities import convert_to_valid

    converted = convert_to_valid(seq.upper())
    return converted if converted and set(converted) <= _STANDARD else None


def predict_disorder(seqs: list[str]) -> DisorderScores:
    """metapredict's disorder calls and predicted pLDDT for every sequence it can read (batched; the device is
    metapredict's choice: a GPU when there is one, else the CPU)."""
    import metapredict

    converted = [readable(s) for s in seqs]
    keep = [i for i, s in enumerate(converted) if s is not None]
    scores = DisorderScores(skipped=[i for i, s in enumerate(converted) if s is None])
    if not keep:
        return scores
    batch = [converted[i] for i in keep]
    disorder = metapredict.predict_disorder(batch, version=DISORDER_VERSION, round_values=False,
                                            show_progress_bar=False)
    plddt = metapredict.predict_pLDDT(batch, round_values=False, show_progress_bar=False)
    for seq, (seq_d, d), (seq_p, p) in zip(batch, disorder, plddt, strict=True):
        if seq_d != seq or seq_p != seq:  # metapredict batches by length; its output must come back in order
            raise RuntimeError("metapredict returned its predictions out of order")
        scores.disordered.append(int((np.asarray(d) >= DISORDER_CUTOFF).sum()))
        scores.lengths.append(len(seq))
        scores.plddt.append(float(np.mean(p)))
    return scores
