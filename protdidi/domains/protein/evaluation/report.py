"""The `protdidi evaluate` report for proteins: Markdown tables and PNG plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from protdidi.domains.protein.alphabet import STANDARD_RESIDUES

COLUMNS = [("judge_pppl", "{:.2f}"), ("judge_fast_pppl", "{:.2f}"), ("composition_js", "{:.4f}"),
           ("dipeptide_js", "{:.4f}"), ("length_ks", "{:.3f}"), ("entropy_bits", "{:.3f}"),
           ("low_complexity_fraction", "{:.3f}"), ("longest_homopolymer_mean", "{:.2f}"),
           ("frac_residue_over_25pct", "{:.3f}"), ("uniqueness", "{:.3f}"), ("mean_pairwise_identity", "{:.3f}"),
           ("max_identity_to_train_mean", "{:.3f}"), ("frac_novel_under_50pct", "{:.3f}"),
           ("frac_memorised_95pct", "{:.3f}")]
# metapredict's measures: column → (heading, format)
DISORDER_COLUMNS = {"disorder_fraction": ("disordered residues", "{:.3f}"),
                    "frac_over_30pct_disordered": ("sequences >30% disordered", "{:.3f}"),
                    "predicted_plddt": ("predicted AF2 pLDDT", "{:.1f}")}


def with_ci(value: float, ci: list[float], fmt: str, sep: str = "–") -> str:
    return f"{fmt.format(value)} ({fmt.format(ci[0])}{sep}{fmt.format(ci[1])})"


def ratio_cell(row: dict) -> str:
    ratio = row.get("judge_pppl_vs_natural")
    return "–" if ratio is None else with_ci(ratio["ratio"], ratio["ci95"], "{:.3f}")


def difference_cell(row: dict, column: str, fmt: str) -> str:
    diff = row.get(f"{column}_vs_natural")
    return "–" if diff is None else with_ci(diff["difference"], diff["ci95"], "{:+" + fmt[2:], ", ")


def signals_table(rows: list[dict]) -> list[str]:
    """The project judge beside metapredict, each with its interval and its comparison with the natural row."""
    head = ["set", "n", "judge PPPL (95% CI)", "vs natural (ratio)"]
    for heading, _ in DISORDER_COLUMNS.values():
        head += [f"{heading} (95% CI)", "vs natural (difference)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["set"], str(r["n"]), with_ci(r["judge_pppl"], r["judge_pppl_ci95"], "{:.2f}"), ratio_cell(r)]
        for column, (_, fmt) in DISORDER_COLUMNS.items():
            cells += [with_ci(r[column], r[f"{column}_ci95"], fmt), difference_cell(r, column, fmt)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def homology_table(rows: list[dict]) -> list[str]:
    """Does each set look like known proteins (phmmer's best hit per sequence)?"""
    head = ["set", "n", "homology hit rate, E < 1e-3 (95% CI)", "near copies", "median best-hit identity"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if "homology_hit_rate" in r:
            rate = with_ci(r["homology_hit_rate"], r["homology_hit_rate_ci95"], "{:.3f}")
            lines.append(f"| {r['set']} | {r['n']} | {rate} | {r['near_copy_rate']:.3f} | "
                         f"{r['median_best_hit_identity']:.3f} |")
    return lines


def markdown(rows: list[dict], judge_name: str, notes: list[str]) -> str:
    """Two tables: the signals (judge and metapredict, with intervals) and every other metric."""
    columns = COLUMNS + ([("esmfold_plddt", "{:.1f}")] if "esmfold_plddt" in rows[0] else [])
    scored = max(r["judge_pppl_n"] for r in rows)
    lines = [f"Judge: {judge_name} (pseudo-perplexity, exact on up to {scored} sequences per set). "
             "Independent signal: metapredict V3 disorder (cut-off 0.5) and metapredict's predicted AlphaFold2 "
             "pLDDT (not ESMFold). Intervals: 95% bootstrap; vs natural: ratio (judge) or difference (metapredict) "
             "to the natural reference.", *(f"{note}" for note in notes), "", *signals_table(rows), "",
             *homology_table(rows), "",
             "| set | n | " + " | ".join(c for c, _ in columns) + " |", "|" + "---|" * (len(columns) + 2)]
    for r in rows:
        lines.append(f"| {r['set']} | {r['n']} | " + " | ".join(f.format(r[c]) for c, f in columns) + " |")
    return "\n".join(lines) + "\n"


def plots(out: Path, rows: list[dict], details: dict[str, dict], judge_name: str) -> None:
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
    series = {"lengths": ("length", "lengths.png", lambda d: d["lengths"]),
              "pppl": (f"per-sequence pseudo-perplexity ({judge_name})", "pppl.png",
                       lambda d: d["per_sequence_pppl"]),
              "disorder": ("per-sequence disordered fraction (metapredict V3)", "disorder.png",
                           lambda d: np.divide(d["disorder"]["disordered"], np.maximum(d["disorder"]["lengths"], 1)))}
    for label, file, values in series.values():
        fig, ax = plt.subplots(figsize=(6, 3.5))
        # densities over shared bins, so that 20 samples show beside a reference of a thousand
        sets = {row["set"]: np.asarray(values(details[row["set"]]), dtype=float) for row in rows}
        edges = np.histogram_bin_edges(np.concatenate([v for v in sets.values() if len(v)] or [np.zeros(1)]), 30)
        for name, v in sets.items():
            if len(v):
                ax.hist(v, bins=edges, density=True, histtype="step", linewidth=1.5, label=f"{name} (n={len(v)})")
        ax.set_xlabel(label)
        ax.set_ylabel("density")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / file, dpi=110)
        plt.close(fig)
