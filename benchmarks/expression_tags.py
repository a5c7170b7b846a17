"""Expression-tag artefacts in the corpus and in what the models write: how often a His-tag (6 or more H in a row)
occurs, and where (within `--end` residues of either terminus, or inside).

    python benchmarks/expression_tags.py                       # corpus splits + 500 samples per model row

Rows: the CATH S40 training and test splits (natural), the training split as `data.trim_tags` trims it, the test
split with each sequence shuffled and i.i.d. residues at the test lengths (references: no tag survives shuffling),
then each shipped model unconditionally (`--n` samples, lengths from the training distribution, `--nfe`, seed 0), and
IDLM with a motif contig that starts with HHH, which invites a tag. Per row: the mean length, the His-tag rate with
its 95% bootstrap interval, the share of tags at a terminus, and the share of sequences whose first residues are the
`SSGSSG` linker. Writes benchmarks/results/expression_tags.{json,md}.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from bench import RESULTS, cath_splits, command_line, machine, save_json, save_markdown, table

MOTIF = "10-40,HHHEEKWR,5-15,CPGC,10-40"


def tag_columns(seqs: list[str], end: int, seed: int) -> dict:
    from protdidi.domains.protein.evaluation.homology import rate_ci
    from protdidi.domains.protein.evaluation.metrics import has_his_tag

    flags = [has_his_tag(s) for s in seqs]
    tagged = [s for s, f in zip(seqs, flags, strict=True) if f]
    terminal = [has_his_tag(s[:end]) or has_his_tag(s[-end:]) for s in tagged]
    return {"n": len(seqs), "mean_length": sum(map(len, seqs)) / len(seqs), "his_tag_rate": sum(flags) / len(seqs),
            "his_tag_rate_ci95": rate_ci(flags, seed),
            "terminal_share": sum(terminal) / len(tagged) if tagged else None,
            "ssgssg_start_rate": sum("SSGSSG" in s[:12] for s in seqs) / len(seqs)}


def sets(args):
    from protdidi.domains.protein.evaluation.report_rows import random_baseline, shuffled
    from protdidi.domains.protein.filters import trim_his_tags
    from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
    from protdidi.generation.driver import generate
    from protdidi.generation.request import Request

    train, test, reference = cath_splits(args)
    yield "natural (training split)", train
    yield "training split, data.trim_tags", [trim_his_tags(s, args.end) for s in train]
    yield "natural (test split)", test
    yield "test split, each shuffled", shuffled(test, reference.composition, args.seed)
    rng = random.Random(args.seed)
    yield "random (i.i.d. composition)", random_baseline([len(rng.choice(test)) for _ in test],
                                                         reference.composition, args.seed)
    for name in ("teacher", "didi", "idlm"):
        model = PROTEIN.load_model(name)
        rep = generate(PROTEIN, model, Request(args.n, args.nfe, 0, batch_size=16, progress=False))
        yield f"{name}, {args.nfe} NFE", [r.seq for r in rep.records]
    rep = generate(PROTEIN, PROTEIN.load_model("idlm"),
                   Request(args.n, args.nfe, 0, "60-100", motif=MOTIF, batch_size=16, progress=False))
    yield f"idlm, {args.nfe} NFE, motif {MOTIF}", [r.seq for r in rep.records]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--nfe", type=int, default=16)
    parser.add_argument("--end", type=int, default=25, help="residues from a terminus that count as terminal")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fasta", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rows = []
    for label, seqs in sets(args):
        rows.append({"set": label, **tag_columns(seqs, args.end, args.seed)})
        print(f"{label}: His-tag {rows[-1]['his_tag_rate']:.3f}", file=sys.stderr)
    result = {"command": command_line(), "machine": machine("cpu"), "end": args.end, "rows": rows}
    save_json(args.out / "expression_tags.json", result)
    cells = [[r["set"], str(r["n"]), f"{r['mean_length']:.1f}",
              "{:.3f} ({:.3f}–{:.3f})".format(r["his_tag_rate"], *r["his_tag_rate_ci95"]),
              "–" if r["terminal_share"] is None else f"{r['terminal_share']:.2f}", f"{r['ssgssg_start_rate']:.3f}"]
             for r in rows]
    save_markdown(args, "expression_tags", "\n".join([
        "# Expression tags in the corpus and in samples", "", f"Command: `{result['command']}`  ", result["machine"],
        "", f"His-tag: 6 or more H in a row; terminal: within {args.end} residues of either end; 95% bootstrap "
        "intervals; `data.trim_tags`: the training corpus with terminal tags trimmed by the committed rule "
        "(`protdidi.domains.protein.filters.trim_his_tags`).", "",
        *table(["set", "n", "mean length", "His-tag rate", "share of tags at a terminus", "starts with SSGSSG"],
               cells)]) + "\n")


if __name__ == "__main__":
    main()
