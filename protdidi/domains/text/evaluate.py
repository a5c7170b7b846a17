"""`protdidi evaluate --domain text`: GenPPL under a named causal LM, and unigram entropy, of generated text."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from protdidi.atomic_dirs import write_dir_atomic
from protdidi.domains.text.generate import read_samples
from protdidi.domains.text.genppl import DEFAULT_EVALUATOR, CausalLm, gen_ppl, load_causal_lm, unigram_entropy


def score_texts(records: list[dict], lm: CausalLm, batch_size: int = 8, device: str = "cpu",
                progress: bool = False) -> dict:
    """GenPPL of the texts and the mean per-sample unigram entropy (nats) of their token ids: the generator's
    own ids when the records carry `tokens`, else the evaluator's tokenisation of the text."""
    scored = gen_ppl([r["text"] for r in records], lm, batch_size, device, progress)
    if all("tokens" in r for r in records):
        rows, source = [r["tokens"] for r in records], "generator token ids"
    else:
        rows = [lm.tokenizer(r["text"], add_special_tokens=False)["input_ids"] or [0] for r in records]
        source = "evaluator tokenisation"
    ent = unigram_entropy(rows)
    return {**scored, "entropy": statistics.fmean(ent), "entropy_std": statistics.pstdev(ent),
            "entropy_of": source, "samples": len(records)}


def markdown(report: dict) -> str:
    lo, hi = report["gen_ppl_ci95"]
    return (f"| samples | GenPPL ({report['evaluator']}) | 95% bootstrap CI | entropy (nats) |\n|---|---|---|---|\n"
            f"| {report['samples']} | {report['gen_ppl']:.2f} | {lo:.2f}–{hi:.2f} | {report['entropy']:.3f} |\n")


def evaluate_text(samples_path: str, out_dir: Path, evaluator: str | None = None, batch_size: int = 8,
                  device: str = "cpu", progress: bool = True) -> dict:
    records = read_samples(samples_path)
    lm = load_causal_lm(evaluator or DEFAULT_EVALUATOR, device)
    report = {"evaluator": lm.name, "samples_file": str(samples_path),
              **score_texts(records, lm, batch_size, device, progress)}

    def write(tmp: Path) -> None:
        (tmp / "report.json").write_text(json.dumps(report, indent=1) + "\n")
        (tmp / "report.md").write_text(markdown(report))

    write_dir_atomic(out_dir, write, marker="report.json")
    return report
