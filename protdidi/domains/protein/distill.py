"""`protdidi distill --domain protein`: what a protein distillation run needs (teacher, CATH splits, evaluator)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from protdidi.domains.protein.data import TokenizedSet, draw_lengths, length_histogram, split_records
from protdidi.domains.protein.fasta import read_fasta
from protdidi.domains.protein.models import DEFAULT_TEACHER, teacher_reference
from protdidi.domains.protein.teacher import DataConfig
from protdidi.errors import UserError
from protdidi.methods.distillation import DistillRunConfig, DistillSetup
from protdidi.methods.sample_quality import make_evaluator


@dataclass
class ProteinDistillConfig(DistillRunConfig):
    teacher: str = DEFAULT_TEACHER  # shipped name, protdidi checkpoint dir, fair-esm .pt or HF dir
    data: DataConfig = field(default_factory=lambda: DataConfig(max_length=256))


def protein_distill_setup(domain, cfg: ProteinDistillConfig, device: torch.device) -> DistillSetup:
    teacher = domain.load_model(cfg.teacher)
    max_length = min(cfg.data.max_length, teacher.max_length)
    splits = split_records(read_fasta(cfg.data.fasta), cfg.data.valid_frac, cfg.data.test_frac)
    if not splits["train"] or not splits["valid"]:
        raise UserError(f"{cfg.data.fasta}: too few records for a train/valid split")
    lengths = teacher.lengths or length_histogram(splits["train"], max_length)
    valid_seqs = TokenizedSet.from_records(splits["valid"]).seqs
    eval_lengths = [min(len(s), max_length) for s in valid_seqs[: cfg.loop.eval_samples]]
    ckpt = {"domain": "protein", "lengths": {str(k): v for k, v in lengths.items()},
            "teacher": teacher_reference(cfg.teacher)}
    return DistillSetup(
        teacher=teacher, train=TokenizedSet.from_records(splits["train"]).seqs, max_length=max_length,
        evaluate=make_evaluator(teacher, eval_lengths, cfg.loop, max_length, device), checkpoint_config=ckpt,
        pool_lengths=lambda size, g: draw_lengths(lengths, size, g))
