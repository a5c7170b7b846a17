"""The families of the family-design benchmarks and what both scripts do with one: its members (from the shipped
CATH FASTA), its fine-tuned teacher and distilled student (kept in a run directory, resumed when unfinished),
sampling at given lengths, and its homology columns (phmmer hits among the held-out and the training members).
Used by family_design.py (the whole table) and family_recipe.py (one fine-tuning setting at a time)."""

from __future__ import annotations

import functools
import statistics
from pathlib import Path

import torch
from bench import ROOT


@functools.cache
def cath_by_id() -> dict:
    """The shipped CATH FASTA's records by id, read once per process."""
    from protdidi.domains.protein.data import default_cath_fasta
    from protdidi.domains.protein.fasta import read_fasta

    return {r.id: r for r in read_fasta(default_cath_fasta())}


def family_members(family: dict) -> tuple[list, list]:
    """(training, held-out) records of a family, from the shipped CATH FASTA."""
    by_id = cath_by_id()
    return [by_id[i] for i in family["train"]], [by_id[i] for i in family["held_out"]]


def write_fasta_once(path: Path, records) -> Path:
    from protdidi.domains.protein.fasta import write_fasta

    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_fasta(records, path)
    return path


def finetuned(name: str, train_fasta: Path, args, stop_at: int | None = None) -> Path:
    """The family teacher's best checkpoint: `protdidi finetune` with the packaged defaults and `--finetune-set`
    (kept; an unfinished run is resumed; `stop_at` pauses it after that step)."""
    from protdidi.config import load_config
    from protdidi.domains.protein.plugin import DOMAIN as PROTEIN

    run = args.runs / name / "teacher"
    if not (run / "report.json").is_file():
        cfg = load_config(PROTEIN.teacher_config, PROTEIN.finetune_config,
                          [f"data.fasta={train_fasta}", *args.finetune_set])
        PROTEIN.train_teacher(cfg, run, resume=(run / "last").is_dir(), stop_at=stop_at)
    return run / "best"


def distilled(name: str, teacher: Path, train_fasta: Path, args) -> Path:
    """The family IDLM student's best checkpoint (configs/idlm-protein.yaml, the family teacher, its members)."""
    from protdidi.config import load_config
    from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
    from protdidi.methods.distillation import run_distillation

    run = args.runs / name / "idlm"
    if not (run / "report.json").is_file():
        cfg = load_config(PROTEIN.distill_config, ROOT / "configs" / "idlm-protein.yaml",
                          [f"teacher={teacher}", f"data.fasta={train_fasta}", *args.distill_set])
        run_distillation(PROTEIN, cfg, run, resume=(run / "last").is_dir())
    return run / "best"


def sample(spec: str, lengths: list[int], nfe: int, args, sampler: str = "ancestral",
           **settings) -> tuple[list[str], float]:
    """One sequence per length from model `spec` (`sampler` with `settings`, e.g. temperature; `args.seed`): the
    sequences and sampling seconds."""
    from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
    from protdidi.generation.driver import build_sampler, generate_rows

    model = PROTEIN.load_model(spec)
    gen = generate_rows(model, lengths, nfe, torch.Generator().manual_seed(args.seed), args.batch_size,
                        sampler=build_sampler(model, sampler, **settings), progress=False)
    return [model.denoiser.vocab.decode(row) for row in gen.rows], gen.seconds


def homology(seqs: list[str], held_out: list[str], train: list[str], seed: int, natural: bool) -> dict:
    """The family columns: hits among the held-out members (the natural row: among the others) and the training
    members, near copies of training members, median identity to the nearest training member."""
    from protdidi.domains.protein.evaluation.homology import best_hits, is_hit, is_near_copy, rate_ci

    held = best_hits(seqs, held_out, leave_one_out=natural)
    trained = best_hits(seqs, train)
    flags = [is_hit(h) for h in held]
    return {"hit_rate": sum(flags) / len(flags), "hit_rate_ci95": rate_ci(flags, seed),
            "hit_rate_train": sum(map(is_hit, trained)) / len(trained),
            "near_copy_rate": sum(map(is_near_copy, trained)) / len(trained),
            "median_identity_train": statistics.median(h["identity"] if h else 0.0 for h in trained)}
