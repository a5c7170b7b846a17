"""Conditional generation on held-out proteins: inpainting a span, redesigning scattered positions, scaffolding motifs.

    python benchmarks/inpainting.py                      # every row; finished rows are kept and skipped on a rerun
    python benchmarks/inpainting.py --replot             # Markdown/PNG from the saved JSON

Natives: `--n` sequences of the CATH test split (never training sequences) of 50-300 residues, drawn with `--seed`.
Tasks, each position set drawn per native from its index (the same for every model):
  span15 / span40   one contiguous span of 15% / 40% of the length at a random position is designed;
  scatter40         40% of the positions, scattered at random, are designed;
  motif2x10         two native 10-residue segments are kept, everything else (the scaffold) is designed.
Models: the teacher at 16 and 256 NFE, both students at 4, 8 and 16 NFE, DiDi + RGAS at 16 (`--rows` picks some).
Per row: sequence recovery at the designed positions (identity to the native), the entropy (bits) of the designed
residues' composition, seconds per 1,000 sequences, and the judge's exact pseudo-perplexity of the whole designed
sequence on the first `--pppl-n` natives as a ratio to the same natives (paired 95% bootstrap interval), and the
homology columns of `evaluate` for the whole designed sequences (phmmer against the CATH training split).
Reference rows: the natives themselves, and "random" (designed positions drawn i.i.d. from the natives' residue
composition: chance-level recovery). Writes benchmarks/results/inpainting.{json,md,png}; finished rows are kept in
benchmarks/results/inpainting_rows/ so that a long run resumes. A kept row without the homology columns (saved before
they existed) gets them on a rerun: its sequences are regenerated, checked to be the saved ones (recovery and
entropy must match exactly, else the run stops), then searched.
"""

from __future__ import annotations

import json
import math
import random
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

import torch
from bench import (
    HOMOLOGY_HEADERS,
    HOMOLOGY_NOTE,
    add_replot,
    cath_splits,
    command_line,
    common_parser,
    homology_cells,
    homology_of,
    machine,
    pyplot,
    run_or_load,
    save_figure,
    save_json,
    save_markdown,
    table,
)

TASKS = ("span15", "span40", "scatter40", "motif2x10")
MODELS = [("teacher", "ancestral", 16), ("teacher", "ancestral", 256)] + \
    [(m, "ancestral", k) for m in ("didi", "idlm") for k in (4, 8, 16)] + [("didi", "rgas", 16)]


def designed_positions(task: str, length: int, index: int) -> list[int]:
    rng = random.Random(f"{task}:{index}")
    if task.startswith("span"):
        k = max(1, round(int(task[4:]) / 100 * length))
        start = rng.randrange(length - k + 1)
        return list(range(start, start + k))
    if task == "scatter40":
        return sorted(rng.sample(range(length), max(1, round(0.4 * length))))
    a = rng.randrange(0, length // 2 - 10)  # motif2x10: one kept segment in each half
    b = rng.randrange(length // 2, length - 10)
    kept = set(range(a, a + 10)) | set(range(b, b + 10))
    return [i for i in range(length) if i not in kept]


def entropy_bits(residues: list[str]) -> float:
    counts = Counter(residues)
    n = sum(counts.values())
    return -sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0


def composition_fill(native: list[tuple[str, str]], templates: list[str], seed: int) -> list[str]:
    """Each template's designed positions filled i.i.d. from the residue composition of all natives (the chance
    level of recovery and a judge baseline)."""
    counts = Counter("".join(s for _, s in native))
    letters, weights = zip(*sorted(counts.items()), strict=True)
    rng = random.Random(seed)
    return ["".join(rng.choices(letters, weights)[0] if c == "_" else c for c in t) for t in templates]


def natives(args) -> list[tuple[str, str]]:
    from protdidi.domains.protein.data import default_cath_fasta, split_records
    from protdidi.domains.protein.fasta import read_fasta

    test = [r for r in split_records(read_fasta(args.fasta or default_cath_fasta()))["test"]
            if 50 <= len(r.seq) <= 300 and set(r.seq) <= set("ACDEFGHIKLMNPQRSTVWY")]
    return [(r.id, r.seq) for r in random.Random(args.seed).sample(test, min(args.n, len(test)))]


class Judge:
    def __init__(self, spec):
        from protdidi.domains.protein.alphabet import protein_vocab
        from protdidi.domains.protein.evaluation.judge_loading import load_judge

        self.judge, self.vocab = load_judge(spec), protein_vocab()

    def nll(self, seqs: list[str]) -> list[float]:
        from protdidi.evaluation.pppl import exact_pppl

        return exact_pppl(self.judge.model, [torch.tensor(self.vocab.encode(s)) for s in seqs], self.vocab).nll


def score(label: str, native: list[tuple[str, str]], designed: list[str], task: str, native_nll: list[float],
          judge: Judge, args) -> dict:
    from protdidi.stats import bootstrap_ratio_ci

    k = len(native_nll)
    nll = judge.nll(designed[:k]) if label != "native" else native_nll
    lengths = torch.tensor([len(s) for s in designed[:k]], dtype=torch.float64)

    def scored(values):
        return torch.tensor(values, dtype=torch.float64) * lengths, lengths, torch.zeros(k, dtype=torch.long)

    ratio = bootstrap_ratio_ci(scored(nll), scored(native_nll), paired=True, seed=args.seed)
    return {**recovery_entropy(native, designed, task),
            "judge_pppl": math.exp(sum(v * n for v, n in zip(nll, lengths.tolist(), strict=True)) / lengths.sum()),
            "judge_ratio_to_native": ratio["ratio"], "judge_ratio_ci95": ratio["ci95"], "pppl_n": k,
            **homology_of(designed, args.train, args.seed)[0]}


def recovery_entropy(native: list[tuple[str, str]], designed: list[str], task: str) -> dict:
    """Mean identity to the native at the designed positions, and the designed residues' mean entropy (bits)."""
    recovery, entropy = [], []
    for i, ((_, nat), seq) in enumerate(zip(native, designed, strict=True)):
        pos = designed_positions(task, len(nat), i)
        recovery.append(sum(seq[p] == nat[p] for p in pos) / len(pos))
        entropy.append(entropy_bits([seq[p] for p in pos]))
    return {"recovery": sum(recovery) / len(recovery), "entropy_bits": sum(entropy) / len(entropy)}


def with_homology(row_file: Path, native: list[tuple[str, str]], designed: list[str], args) -> dict:
    """The kept row in `row_file` with the homology columns added, after checking that `designed` (regenerated)
    are its sequences."""
    row = json.loads(row_file.read_text())
    if "homology_hit_rate" not in row:
        now = recovery_entropy(native, designed, row["task"])
        if any(now[k] != row[k] for k in now):
            sys.exit(f"{row_file.name}: regenerated designs differ from the kept row ({now}); delete it and rerun")
        row.update(homology_of(designed, args.train, args.seed)[0])
        save_json(row_file, row)
    return row


def design(name: str, sampler: str, nfe: int, native: list[tuple[str, str]], templates: list[str], task: str, args):
    """The designed sequences of one row, their sampling seconds and the sampler's counters."""
    from protdidi.api import load_model
    from protdidi.generation.driver import generate
    from protdidi.generation.request import Request

    model = load_model(name)
    fasta = Path(tempfile.mkdtemp()) / f"{task}-templates.fasta"  # what `--template FILE` reads
    fasta.write_text("".join(f">{nid}\n{t}\n" for (nid, _), t in zip(native, templates, strict=True)))
    result = generate(model.domain, model.loaded, Request(1, nfe, args.seed, template=str(fasta),
                                                          batch_size=args.batch_size, sampler=sampler,
                                                          device=args.device))
    return [r.seq for r in result.records], result.seconds, result.extra


def run(args) -> dict:
    native = natives(args)
    judge = Judge(args.judge)
    args.train = cath_splits(args)[0]
    cache = args.out / "inpainting_rows"
    native_file = cache / "native.json"
    if native_file.exists() and json.loads(native_file.read_text())["ids"] == [i for i, _ in native]:
        native_nll = json.loads(native_file.read_text())["nll"]
    else:
        native_nll = judge.nll([s for _, s in native[:args.pppl_n]])
        save_json(native_file, {"ids": [i for i, _ in native], "nll": native_nll})
    native_row = score("native", native, [s for _, s in native], TASKS[0], native_nll, judge, args)
    rows = []
    for task in TASKS:
        templates = ["".join("_" if p in set(designed_positions(task, len(s), i)) else c for p, c in enumerate(s))
                     for i, (_, s) in enumerate(native)]
        rows.append({"task": task, "model": "native", "sampler": None, "nfe": None, "s_per_1000": None,
                     **native_row, **recovery_entropy(native, [s for _, s in native], task)})
        random_file = cache / f"{task}-random.json"  # designed positions drawn i.i.d. from the natives' composition
        filled = composition_fill(native, templates, args.seed)
        if not random_file.exists():
            save_json(random_file, {"task": task, "model": "random", "sampler": None, "nfe": None, "s_per_1000": None,
                                    **score("random", native, filled, task, native_nll, judge, args)})
        rows.append(with_homology(random_file, native, filled, args))
        for name, sampler, nfe in MODELS:
            label = f"{task}-{name}-{sampler}-{nfe}"
            row_file = cache / f"{label}.json"
            wanted = not args.rows or any(r in label for r in args.rows)
            if row_file.exists():  # finished earlier (kept whatever --rows says; completed only when wanted)
                kept = json.loads(row_file.read_text())
                if wanted and "homology_hit_rate" not in kept:
                    kept = with_homology(row_file, native, design(name, sampler, nfe, native, templates, task,
                                                                  args)[0], args)
                rows.append(kept)
                continue
            if not wanted:
                continue
            designed, seconds, extra = design(name, sampler, nfe, native, templates, task, args)
            row = {"task": task, "model": name, "sampler": sampler, "nfe": nfe,
                   "s_per_1000": 1000 * seconds / len(designed), **extra,
                   **score(label, native, designed, task, native_nll, judge, args)}
            save_json(row_file, row)
            rows.append(row)
            print(f"{label:32s} recovery {row['recovery']:.3f}  judge ratio {row['judge_ratio_to_native']:.3f}  "
                  f"{row['s_per_1000']:.0f} s/1000", file=sys.stderr)
    command = re.sub(r" --rows( [^-]\S*)*", "", command_line())  # --rows only splits the work across runs
    return {"command": command, "judge": judge.judge.name, "n": len(native), "pppl_n": len(native_nll),
            "seed": args.seed, "machine": machine(args.device), "rows": rows}


def markdown(result: dict) -> str:
    lines = [f"# Conditional generation on CATH test proteins (judge: {result['judge']})", "",
             f"Command: `{result['command']}`  ",
             f"{result['n']} test-split natives (50-300 residues), seed {result['seed']}; judge: exact pseudo-"
             f"perplexity of the whole sequence on the first {result['pppl_n']}, as a ratio to the same natives "
             f"(paired 95% bootstrap interval); recovery and entropy over the designed positions; {result['machine']}.",
             "", HOMOLOGY_NOTE, ""]
    rows = [[r["task"], r["model"] + (f" ({r['sampler']})" if r["sampler"] == "rgas" else ""), str(r["nfe"] or "–"),
             f"{r['recovery']:.3f}", f"{r['judge_ratio_to_native']:.3f} "
             + "({:.3f}–{:.3f})".format(*r["judge_ratio_ci95"]), *homology_cells(r), f"{r['entropy_bits']:.2f}",
             "–" if r["s_per_1000"] is None else f"{r['s_per_1000']:.0f}"] for r in result["rows"]]
    return "\n".join(lines + table(["task", "model", "NFE", "recovery", "judge PPPL / native (95% CI)",
                                    *HOMOLOGY_HEADERS, "entropy (bits)", "s / 1,000"], rows)) + "\n"


def plot(result: dict, path: Path) -> None:
    tasks = [t for t in TASKS if any(r["task"] == t and r["nfe"] for r in result["rows"])]
    fig, axes = pyplot().subplots(2, len(tasks), figsize=(4 * len(tasks), 6.5), squeeze=False)
    for col, task in enumerate(tasks):
        for name in ("teacher", "didi", "idlm"):
            rows = [r for r in result["rows"]
                    if r["task"] == task and r["model"] == name and r["sampler"] == "ancestral"]
            for ax, key in ((axes[0][col], "recovery"), (axes[1][col], "judge_ratio_to_native")):
                ax.plot([r["nfe"] for r in rows], [r[key] for r in rows], "o-", label=name)
        for ax, key in ((axes[0][col], "recovery"), (axes[1][col], "judge_ratio_to_native")):
            for ref, style in (("native", "--"), ("random", ":")):
                row = next((r for r in result["rows"] if r["task"] == task and r["model"] == ref), None)
                if row is not None and not (ref == "native" and key == "recovery"):
                    ax.axhline(row[key], color="grey", ls=style, label=ref)
            ax.set_xscale("log", base=2)
            ax.set_xlabel("NFE")
        axes[0][col].set_title(task)
    axes[0][0].set_ylabel("recovery at designed positions")
    axes[1][0].set_ylabel(f"judge PPPL / native ({result['judge']})")
    axes[0][0].legend(fontsize=8)
    save_figure(fig, path)


def main() -> None:
    parser = common_parser(__doc__)
    parser.set_defaults(pppl_n=32)
    parser.add_argument("--n", type=int, default=200, help="test-split natives")
    parser.add_argument("--rows", nargs="*", default=None,
                        help="compute only rows whose label (TASK-MODEL-SAMPLER-NFE) contains one of these; "
                             "finished rows are always reported")
    add_replot(parser)
    args = parser.parse_args()
    result = run_or_load(args, "inpainting", run)
    plot(result, args.out / "inpainting.png")
    save_markdown(args, "inpainting", markdown(result))


if __name__ == "__main__":
    main()
