"""`protdidi evaluate`'s per-sequence records: one per sample with every value the row summaries are drawn from,
what its header says it was conditioned on (and whether generation kept it), and the best designs marked.

The same records go to per_sequence.csv, report.html and the report returned by the Python API.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from protdidi.domains.protein.conditions import DESIGN, header_fields, template_of_header
from protdidi.domains.protein.evaluation import metrics as M
from protdidi.domains.protein.evaluation.homology import is_hit

# column → what it holds (the CSV header and the HTML table's column notes)
FIELDS = {
    "id": "FASTA id",
    "length": "residues",
    "condition": "what the header says was kept: a template or a motif contig ('' when unconditional)",
    "fixed_kept": "every kept residue came out as given (True/False; '' when unconditional or not checkable)",
    "judge_pppl": "judge pseudo-perplexity, exact (only on the seeded subset of --pppl-n sequences)",
    "judge_fast_pppl": "judge pseudo-perplexity, single pass with nothing masked (every sequence; a weak proxy)",
    "disorder_fraction": "residues metapredict predicts disordered (V3, score >= 0.5)",
    "predicted_plddt": "metapredict's predicted AlphaFold2 pLDDT",
    "homolog": "id of the best phmmer hit in the homology database ('' when none scored E < 10)",
    "homolog_evalue": "its E-value at the fixed database size (homolog: E < 1e-3)",
    "homolog_identity": "identity over the aligned columns of its best domain",
    "homolog_coverage": "share of the hit's profile that the alignment covers",
    "max_identity_to_train": "highest identity to a training sequence (novelty search)",
    "entropy_bits": "Shannon entropy of the residue composition",
    "low_complexity_fraction": "share of 12-residue windows below 2.2 bits",
    "his_tag": "a run of 6 or more histidines (an expression-tag artefact)",
    "best": "one of the best designs (see BEST_RULE)",
    "sequence": "the sequence",
}
BEST_RULE = ("among the designs with every kept residue kept, at most 30% disordered, no His-tag and under 20% "
             "low-complexity windows: those with a homolog (E < 1e-3) first, then the lowest judge "
             "pseudo-perplexity (exact; single-pass when --pppl-n left some unscored); the first tenth, at least one")


def condition_of(description: str) -> tuple[str, str | None]:
    """(the condition as the header gives it, the template it describes or None)."""
    fields = header_fields(description)
    text = f"contig={fields['contig']}" if "contig" in fields else \
        (f"template={fields['template']} designed={fields.get('designed', '')}" if "template" in fields else "")
    return text, template_of_header(fields)


def kept(seq: str, template: str | None) -> bool | None:
    """Whether every letter of `template` came out unchanged (None: no template, or one of another length)."""
    if template is None or len(template) != len(seq):
        return None
    return all(t == DESIGN or t == s for t, s in zip(template, seq, strict=True))


def records(samples, detail: dict, fast_nll: list[float], hits: list[dict | None], database_ids: list[str],
            identities: list[float]) -> list[dict]:
    """One record per sample (`samples`: FASTA records) from the samples row's `detail` (`scored_row`), the
    single-pass NLLs, phmmer's best hits (`database_ids` names their targets) and the novelty identities."""
    exact = dict(zip(detail["pppl_index"], detail["per_sequence_pppl"], strict=True))
    disorder = detail["disorder"]
    skipped = set(disorder["skipped"])
    scored = iter(range(len(disorder["lengths"])))
    out = []
    for i, rec in enumerate(samples):
        k = None if i in skipped else next(scored)
        condition, template = condition_of(rec.description)
        hit = hits[i]
        out.append({
            "id": rec.id, "length": len(rec.seq), "condition": condition, "fixed_kept": kept(rec.seq, template),
            "judge_pppl": exact.get(i), "judge_fast_pppl": math.exp(fast_nll[i]),
            "disorder_fraction": None if k is None else disorder["disordered"][k] / max(disorder["lengths"][k], 1),
            "predicted_plddt": None if k is None else disorder["plddt"][k],
            "homolog": database_ids[hit["target"]] if hit else "",
            "homolog_evalue": hit["evalue"] if hit else None, "homolog_identity": hit["identity"] if hit else None,
            "homolog_coverage": hit["coverage"] if hit else None, "max_identity_to_train": identities[i],
            "entropy_bits": M.shannon_entropy_bits(rec.seq),
            "low_complexity_fraction": M.low_complexity_fraction(rec.seq), "his_tag": M.has_his_tag(rec.seq),
            "best": False, "sequence": rec.seq})
    mark_best(out, hits)
    return out


def mark_best(rows: list[dict], hits: list[dict | None]) -> None:
    """Set `best` on the designs that pass `BEST_RULE`'s filters and lead its ranking."""
    passing = [(not is_hit(h), r) for r, h in zip(rows, hits, strict=True)
               if r["fixed_kept"] is not False and not r["his_tag"]
               and (r["disorder_fraction"] is None or r["disorder_fraction"] <= 0.3)
               and r["low_complexity_fraction"] < 0.2]
    key = "judge_pppl" if all(r["judge_pppl"] is not None for _, r in passing) else "judge_fast_pppl"
    passing.sort(key=lambda pair: (pair[0], pair[1][key]))
    for _, r in passing[:max(1, len(passing) // 10)]:
        r["best"] = True


def write_csv(path: Path, rows: list[dict]) -> None:
    """per_sequence.csv: one row per sample, `FIELDS` as the header, empty cells for missing values."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(FIELDS))
        writer.writeheader()
        for r in rows:
            writer.writerow({k: "" if r[k] is None else r[k] for k in FIELDS})
