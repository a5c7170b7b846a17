"""Family design: fine-tune the teacher on one protein family, distil a few-step student from it, and ask whether
the samples belong to the family, by a profile search nobody here trained.

    python benchmarks/families.py          # once: the families (committed in benchmarks/families/cath_s40.json)
    python benchmarks/family_design.py     # every family, every row; finished rows are kept and skipped on a rerun
    python benchmarks/family_design.py --replot

Families: homology clusters of CATH S40 (benchmarks/families.py), each split 80/20 by id hash into training and
held-out members. Per family, `protdidi finetune` (the packaged small-data defaults, `--finetune-set` to change
one) on the training members, then `protdidi distill --method idlm` from its best checkpoint on the same members
(configs/idlm-protein.yaml with `--distill-set`). Rows:
  natural     the held-out members; shuffled: each of them shuffled;
  default     the shipped default model (unconditional, 16 NFE);
  teacher     the family teacher at 16 and 256 NFE;  student: the family IDLM student at 4, 8 and 16 NFE;
  hmm         a profile HMM of the training members (aligned with pyfamsa, built and sampled with pyhmmer).
Every model row draws `--n` lengths from the training members' lengths (seeded) and samples exactly those.
Columns: `hit_rate`, the share with a phmmer hit (E < 1e-3 at the fixed database size of 20,006) among the
**held-out** members (the natural row: among the other held-out members, never itself), with a 95% bootstrap
interval; `hit_rate_train`, the same against the training members; `near_copy_rate` against the training members
(best hit >= 90% identity over >= 80% of the sequence); `median_identity_train` (best hit's identity, 0 without
one); the judge's pseudo-perplexity (exact, on `--pppl-n` sequences), metapredict's disordered residues, and
seconds per 1,000 sequences (sampling only).
The goal, per family: the student at 8 NFE reaches at least half the natural row's hit rate, with at most 5% near
copies, and at least its teacher's hit rate at 256 NFE.
Writes benchmarks/results/family_design.{json,md,png}; rows are kept in benchmarks/results/family_design_rows/.
"""

from __future__ import annotations

import functools
import json
import random
import sys
import time
from pathlib import Path

from bench import (
    RESULTS,
    ROOT,
    add_replot,
    command_line,
    machine,
    pyplot,
    run_or_load,
    save_figure,
    save_json,
    save_markdown,
    table,
)
from families import FAMILIES
from family import distilled, family_members, finetuned, homology, sample, write_fasta_once

MODEL_ROWS = [("default", 16), ("teacher", 16), ("teacher", 256), ("student", 4), ("student", 8), ("student", 16)]
SETS = ("natural", "shuffled", "default", "teacher", "student", "hmm")


def hmm_samples(train: list[str], n: int, seed: int) -> tuple[list[str], float]:
    """`n` sequences emitted by a profile HMM of the training members (pyfamsa alignment, pyhmmer build)."""
    import pyfamsa
    import pyhmmer

    t0 = time.perf_counter()
    aligned = pyfamsa.Aligner(guide_tree="upgma").align(
        [pyfamsa.Sequence(f"s{i}".encode(), s.encode()) for i, s in enumerate(train)])
    alphabet = pyhmmer.easel.Alphabet.amino()
    msa = pyhmmer.easel.TextMSA(name=b"family", sequences=[
        pyhmmer.easel.TextSequence(name=a.id, sequence=a.sequence.decode()) for a in aligned]).digitize(alphabet)
    hmm, _, _ = pyhmmer.plan7.Builder(alphabet, symfrac=0.5).build_msa(msa, pyhmmer.plan7.Background(alphabet))
    rng = pyhmmer.easel.Randomness(seed)
    seqs = [alphabet.decode(hmm.emit_sequence(rng).sequence) for _ in range(n)]
    return seqs, time.perf_counter() - t0


@functools.cache
def split_reference():
    """The CATH test split's `Reference` (composition and the rest), which the sequence measures compare with."""
    from protdidi.domains.protein.data import default_cath_splits
    from protdidi.domains.protein.evaluation.report_rows import Reference

    return Reference.of([r.seq for r in default_cath_splits("--fasta")["test"]])


def quality(label: str, seqs: list[str], judge, args) -> dict:
    """The judge's pseudo-perplexity and metapredict's disordered residues of a set."""
    from protdidi.domains.protein.evaluation.report_rows import scored_row

    row, _ = scored_row(label, seqs, split_reference(), judge, args.pppl_n, args.seed, progress=False)
    return {k: row[k] for k in ("judge_pppl", "judge_pppl_ci95", "disorder_fraction", "disorder_fraction_ci95",
                                "entropy_bits", "mean_length") if k in row}


def run_family(family: dict, judge, args) -> list[dict]:
    name = family["name"]
    cache = args.out / "family_design_rows" / name
    train_records, held_records = family_members(family)
    train, held = [r.seq for r in train_records], [r.seq for r in held_records]
    train_fasta = write_fasta_once(args.runs / name / "train.fasta", train_records)
    rng = random.Random(args.seed)
    lengths = [len(rng.choice(train)) for _ in range(args.n)]
    rows = []

    def row(set_name: str, nfe: int | None, make) -> None:
        file = cache / f"{set_name}-{nfe or 0}.json"
        if file.is_file():
            rows.append(json.loads(file.read_text()))
            return
        if args.sets and set_name not in args.sets:
            return
        seqs, seconds = make()
        out = {"family": name, "set": set_name, "nfe": nfe, "n": len(seqs),
               **homology(seqs, held, train, args.seed, natural=set_name == "natural"),
               **quality(f"{name} {set_name} {nfe}", seqs, judge, args),
               "s_per_1000": None if seconds is None else round(1000 * seconds / len(seqs), 1)}
        save_json(file, out)
        rows.append(out)
        print(f"{name} {set_name:8s} NFE {nfe or '-':>4}: hit rate {out['hit_rate']:.3f} (train "
              f"{out['hit_rate_train']:.3f}), near copies {out['near_copy_rate']:.3f}", file=sys.stderr)

    row("natural", None, lambda: (held, None))
    row("shuffled", None, lambda: (["".join(rng.sample(s, len(s))) for s in held], None))
    row("hmm", None, lambda: hmm_samples(train, args.n, args.seed))
    for set_name, nfe in MODEL_ROWS:
        if args.sets and set_name not in args.sets and not (cache / f"{set_name}-{nfe}.json").is_file():
            continue
        if set_name == "default":
            spec = "idlm"
        elif set_name == "teacher":
            spec = str(finetuned(name, train_fasta, args))
        else:
            spec = str(distilled(name, finetuned(name, train_fasta, args), train_fasta, args))
        row(set_name, nfe, lambda spec=spec, nfe=nfe: sample(spec, lengths, nfe, args))
    return rows


def run(args) -> dict:
    from protdidi.domains.protein.evaluation.judge_loading import load_judge

    families = json.loads(FAMILIES.read_text())["families"]
    chosen = [f for f in families if not args.families or f["name"] in args.families]
    judge = load_judge(None)
    rows = [r for fam in chosen for r in run_family(fam, judge, args)]
    return {"command": command_line(), "machine": machine(), "n": args.n, "seed": args.seed,
            "finetune_set": args.finetune_set, "distill_set": args.distill_set, "judge": judge.name,
            "families": [{k: f[k] for k in ("name", "size", "density")} | {"train": len(f["train"]),
                                                                              "held_out": len(f["held_out"])}
                         for f in chosen], "rows": rows}


def goal(rows: list[dict], family: str) -> str:
    """The family's goal in words: met, or what fell short."""
    get = {(r["set"], r["nfe"]): r for r in rows if r["family"] == family}
    student, natural, teacher = get.get(("student", 8)), get.get(("natural", None)), get.get(("teacher", 256))
    if not (student and natural and teacher):
        return "not measured (rows missing)"
    short = [text for text, ok in (
        (f"hit rate {student['hit_rate']:.2f} < half the natural {natural['hit_rate']:.2f}",
         student["hit_rate"] >= natural["hit_rate"] / 2),
        (f"near copies {student['near_copy_rate']:.2f} > 0.05", student["near_copy_rate"] <= 0.05),
        (f"below its teacher at 256 NFE ({teacher['hit_rate']:.2f})", student["hit_rate"] >= teacher["hit_rate"]))
        if not ok]
    return "met" if not short else "short: " + "; ".join(short)


def markdown(result: dict) -> str:
    from protdidi.domains.protein.evaluation.report import with_ci

    lines = ["# Family design: fine-tune, distil, and does it belong to the family?", "",
             f"Command: `{result['command']}`  ",
             f"{result['machine']}; {result['n']} samples per model row, seed {result['seed']}; judge "
             f"{result['judge']}; fine-tune overrides {result['finetune_set'] or 'none'}, distillation overrides "
             f"{result['distill_set'] or 'none'}.", "",
             "Hit rate: share with a phmmer hit (E < 1e-3 at Z = 20,006) among the family's held-out members (the "
             "natural row: the other held-out members), 95% bootstrap interval; train: the same among the "
             "training members; near copies: best training hit >= 90% identity over >= 80%.", ""]
    for fam in result["families"]:
        rows = [r for r in result["rows"] if r["family"] == fam["name"]]
        lines += [f"## {fam['name']}: {fam['size']} members ({fam['train']} training, {fam['held_out']} held out), "
                  f"edge density {fam['density']}", "", f"Goal: {goal(rows, fam['name'])}.", ""]
        lines += table(["set", "NFE", "n", "hit rate (held-out)", "hit rate (train)", "near copies",
                        "median identity (train)", "judge PPPL", "disordered residues", "s / 1,000"],
                       [[r["set"], str(r["nfe"] or "–"), str(r["n"]),
                         with_ci(r["hit_rate"], r["hit_rate_ci95"], "{:.3f}"), f"{r['hit_rate_train']:.3f}",
                         f"{r['near_copy_rate']:.3f}", f"{r['median_identity_train']:.3f}",
                         with_ci(r["judge_pppl"], r["judge_pppl_ci95"], "{:.2f}"),
                         with_ci(r["disorder_fraction"], r["disorder_fraction_ci95"], "{:.3f}")
                         if "disorder_fraction" in r else "–",
                         "–" if r["s_per_1000"] is None else f"{r['s_per_1000']:.0f}"]
                        for r in sorted(rows, key=lambda r: (SETS.index(r["set"]), r["nfe"] or 0))])
        lines.append("")
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    fams = [f["name"] for f in result["families"]]
    labels = ["natural", "shuffled", "hmm", *[f"{s} {k}" for s, k in MODEL_ROWS]]
    fig, ax = pyplot().subplots(figsize=(max(6, 1.3 * len(fams) + 4), 4))
    width = 0.8 / len(labels)
    for j, label in enumerate(labels):
        values = []
        for fam in fams:
            match = [r for r in result["rows"] if r["family"] == fam and
                     (r["set"] if r["nfe"] is None else f"{r['set']} {r['nfe']}") == label]
            values.append(match[0]["hit_rate"] if match else float("nan"))
        ax.bar([i + j * width for i in range(len(fams))], values, width, label=label)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(fams))], fams)
    ax.set_ylabel("phmmer hit rate among held-out members")
    ax.legend(fontsize=7, ncol=3)
    save_figure(fig, path)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", type=lambda s: [x for x in s.split(",") if x], default=None,
                        help="comma-separated family names (default: all)")
    parser.add_argument("--sets", type=lambda s: [x for x in s.split(",") if x], default=None,
                        help=f"compute only these sets ({', '.join(SETS)}); kept rows are always reported")
    parser.add_argument("--n", type=int, default=100, help="samples per model row")
    parser.add_argument("--pppl-n", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--finetune-set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--distill-set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "family", help="where the family models go")
    parser.add_argument("--out", type=Path, default=RESULTS)
    add_replot(parser)
    args = parser.parse_args()
    result = run_or_load(args, "family_design", run)
    plot(result, args.out / "family_design.png")
    save_markdown(args, "family_design", markdown(result))


if __name__ == "__main__":
    main()
