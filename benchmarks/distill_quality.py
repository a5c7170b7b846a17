"""Teacher vs distilled students across NFE: quality, sequence entropy and seconds per 1000 sequences.

Teacher (ancestral) at NFE 8/16/32/64/128/256; the DiDi student at NFE 4/8/16/32 with plain ancestral sampling
and with RGAS; the IDLM student (if installed) at NFE 4/8/16/32 with ancestral sampling. Every
configuration samples the same lengths (drawn from the training distribution, fixed seed).
Quality is the teacher's own NELBO of the samples (nats/token, lower = more teacher-like; a proxy until
the evaluation suite's judge exists), with natural test-split sequences as a reference row. Entropy is the
mean per-sequence Shannon entropy of residue composition (nats). Seconds per 1000 sequences are measured
on --n sequences; small --n pads more (length-sorted batches of 16 span wider length ranges), so they
overstate the cost of a 1000-sequence run. Writes
benchmarks/results/distill_quality.{json,md,png}.

    python benchmarks/distill_quality.py          # ~10 minutes on a 2-core CPU
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch

from protdidi.batching import collate
from protdidi.domains.protein.alphabet import protein_vocab
from protdidi.domains.protein.data import TokenizedSet, split_records
from protdidi.domains.protein.fasta import read_fasta
from protdidi.domains.protein.generate import generate_proteins
from protdidi.domains.protein.models import load_protein_model
from protdidi.tasks.mdlm import evaluate_nelbo
from protdidi.tasks.sample_quality import sequence_entropy

RESULTS = Path(__file__).parent / "results"
TEACHER_NFE = (8, 16, 32, 64, 128, 256)
STUDENT_NFE = (4, 8, 16, 32)


def score(teacher, seqs: list[torch.Tensor]) -> dict[str, float]:
    vocab = teacher.denoiser.vocab
    nll = evaluate_nelbo(teacher.denoiser, seqs, teacher.schedule, teacher.max_length, 64, passes=4)
    tokens, valid = collate(seqs, vocab.pad_id)
    ent = sequence_entropy(tokens, valid, vocab.size)
    return {"teacher_nelbo": nll, "entropy": float(ent.mean())}


def run(model, label, sampler, nfe, n, seed, teacher) -> dict:
    report = generate_proteins(model, n, nfe, None, seed, 16, sampler, progress=False)
    vocab = protein_vocab()
    seqs = [torch.tensor(vocab.encode(r.seq)) for r in report.records]
    row = {"model": label, "sampler": sampler, "nfe": nfe, "n": n,
           "s_per_1000": report.seconds / n * 1000, **report.extra, **score(teacher, seqs)}
    print(json.dumps(row), flush=True)
    return row


def plot(rows: list[dict], natural: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for (label, sampler), style in ((("teacher", "ancestral"), "o-"), (("didi", "ancestral"), "s-"),
                                    (("didi", "rgas"), "^-"), (("idlm", "ancestral"), "d-")):
        pts = [r for r in rows if r["model"] == label and r["sampler"] == sampler]
        if not pts:
            continue
        axes[0].plot([r["nfe"] for r in pts], [r["teacher_nelbo"] for r in pts], style, label=f"{label} {sampler}")
        axes[1].plot([r["s_per_1000"] for r in pts], [r["teacher_nelbo"] for r in pts], style,
                     label=f"{label} {sampler}")
    for ax in axes:
        ax.axhline(natural["teacher_nelbo"], color="grey", ls="--", lw=0.8, label="natural test sequences")
        ax.set_xscale("log", base=2)
        ax.set_ylabel("teacher NELBO of samples (nats/token)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_xlabel("NFE (student/teacher network evaluations)")
    axes[1].set_xlabel("seconds per 1000 sequences (2-core CPU)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", default="teacher")
    ap.add_argument("--students", default="didi,idlm", help="comma-separated shipped names or checkpoint dirs")
    ap.add_argument("--fasta", default="../shared/data/cath-s40/cath-s40-v4.1.0.fasta")
    ap.add_argument("--n", type=int, default=64, help="sequences per configuration (same lengths everywhere)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--replot", action="store_true", help="redraw the PNG from the JSON in --out, no sampling")
    args = ap.parse_args()
    if args.replot:
        saved = json.loads((args.out / "distill_quality.json").read_text())
        plot(saved["rows"], saved["natural"], args.out / "distill_quality.png")
        return
    torch.manual_seed(args.seed)
    teacher = load_protein_model(args.teacher)
    students = {}
    for spec in args.students.split(","):
        try:
            students[spec] = load_protein_model(spec)
        except Exception as err:  # a student not installed yet is left out, and said so
            print(f"skipping student {spec!r}: {err}", flush=True)
    test = TokenizedSet.from_records(split_records(read_fasta(args.fasta))["test"]).seqs
    g = torch.Generator().manual_seed(args.seed)
    picks = torch.randperm(len(test), generator=g)[:args.n].tolist()
    natural = score(teacher, [test[i][:teacher.max_length] for i in picks])
    natural = {"model": "natural test sequences", "n": args.n, **natural}
    print(json.dumps(natural), flush=True)
    rows = [run(teacher, "teacher", "ancestral", nfe, args.n, args.seed, teacher) for nfe in TEACHER_NFE]
    for spec, student in students.items():
        label = spec
        samplers = ("ancestral", "rgas") if student.load_discriminator is not None else ("ancestral",)
        for sampler in samplers:
            rows += [run(student, label, sampler, nfe, args.n, args.seed, teacher) for nfe in STUDENT_NFE]
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {"teacher": teacher.name, "students": {k: v.name for k, v in students.items()}, "n": args.n,
            "seed": args.seed,
            "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
            "quality": "teacher NELBO of the samples (4 fixed-seed passes), nats/token",
            "command": "python benchmarks/distill_quality.py"}
    (args.out / "distill_quality.json").write_text(json.dumps({**meta, "natural": natural, "rows": rows}, indent=1))
    t256 = next(r for r in rows if r["model"] == "teacher" and r["nfe"] == 256)
    lines = [f"# Teacher vs distilled students ({args.n} sequences per row, same lengths, seed {args.seed})", "",
             f"Reproduce: `{meta['command']}`. Quality: {meta['quality']}. Machine: {meta['machine']}.", "",
             "| model | sampler | NFE | teacher NELBO | vs teacher@256 | entropy (nats) | entropy vs natural "
             "| s / 1000 seq | disc fwd/seq | disc bwd/seq |", "|---|---|---|---|---|---|---|---|---|---|",
             f"| natural test sequences | – | – | {natural['teacher_nelbo']:.4f} | "
             f"{natural['teacher_nelbo'] - t256['teacher_nelbo']:+.4f} | {natural['entropy']:.3f} | – | – | – | – |"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['sampler']} | {r['nfe']} | {r['teacher_nelbo']:.4f} | "
                     f"{r['teacher_nelbo'] - t256['teacher_nelbo']:+.4f} | {r['entropy']:.3f} | "
                     f"{100 * (r['entropy'] / natural['entropy'] - 1):+.1f}% | {r['s_per_1000']:.1f} | "
                     f"{r.get('disc_forwards', 0):g} | {r.get('disc_backwards', 0):g} |")
    (args.out / "distill_quality.md").write_text("\n".join(lines) + "\n")
    plot(rows, natural, args.out / "distill_quality.png")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
