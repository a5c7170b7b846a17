"""`protdidi distill --domain protein`: distil a protein teacher into a few-step student (DiDi-Instruct or IDLM)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from protdidi.domains.protein.data import TokenizedSet, length_histogram, split_records
from protdidi.domains.protein.fasta import read_fasta
from protdidi.domains.protein.generate import generate_proteins
from protdidi.domains.protein.models import DEFAULT_TEACHER, load_protein_model, teacher_reference
from protdidi.domains.protein.teacher import DataConfig
from protdidi.errors import UserError
from protdidi.methods import DidiConfig, DistillLoopConfig, IdlmConfig
from protdidi.methods.run import DistillSetup, RgasDefaults, run_distillation
from protdidi.tasks.sample_quality import make_evaluator


@dataclass
class DistillRunConfig:
    name: str | None = None  # default: protdidi-cath-<method>
    method: str = "didi"  # didi | idlm (protdidi.methods.METHODS)
    device: str = "auto"
    teacher: str = DEFAULT_TEACHER  # shipped name, protdidi checkpoint dir, fair-esm .pt or HF dir
    data: DataConfig = field(default_factory=lambda: DataConfig(max_length=256))
    didi: DidiConfig = field(default_factory=DidiConfig)
    idlm: IdlmConfig = field(default_factory=IdlmConfig)
    loop: DistillLoopConfig = field(default_factory=DistillLoopConfig)
    rgas: RgasDefaults = field(default_factory=RgasDefaults)


def teacher_pool(teacher, lengths: dict[int, int], size: int, nfe: int, seed: int, device) -> list[torch.Tensor]:
    """`size` many-step teacher samples (lengths from the training distribution): the 'teacher' real side."""
    report = generate_proteins(replace(teacher, lengths=lengths), size, nfe, None, seed, 16, device=device,
                               progress=False)
    vocab = teacher.denoiser.vocab
    return [torch.tensor(vocab.encode(r.seq), dtype=torch.long) for r in report.records]


def run_distill(cfg: DistillRunConfig, run_dir: Path, resume: bool = False, stop_at: int | None = None) -> dict:
    cfg.name = cfg.name or f"protdidi-cath-{cfg.method}"

    def prepare(device: torch.device) -> DistillSetup:
        teacher = load_protein_model(cfg.teacher)
        max_length = min(cfg.data.max_length, teacher.max_length)
        splits = split_records(read_fasta(cfg.data.fasta), cfg.data.valid_frac, cfg.data.test_frac)
        if not splits["train"] or not splits["valid"]:
            raise UserError(f"{cfg.data.fasta}: too few records for a train/valid split")
        lengths = teacher.lengths or length_histogram(splits["train"], max_length)
        valid_seqs = TokenizedSet.from_records(splits["valid"]).seqs
        eval_lengths = [min(len(s), max_length) for s in valid_seqs[: cfg.loop.eval_samples]]
        ckpt = {"domain": "protein", "arch": {"type": "esm2", **teacher.denoiser.backbone.cfg.to_dict()},
                "lengths": {str(k): v for k, v in lengths.items()}, "teacher": teacher_reference(cfg.teacher)}
        return DistillSetup(
            teacher=teacher, train=TokenizedSet.from_records(splits["train"]).seqs, max_length=max_length,
            evaluate=make_evaluator(teacher, eval_lengths, cfg.loop, max_length, device), checkpoint_config=ckpt,
            teacher_pool=lambda size, nfe, seed: teacher_pool(teacher, lengths, size, nfe, seed, device))

    return run_distillation(cfg, run_dir, prepare, resume, stop_at)


__all__ = ["DistillRunConfig", "RgasDefaults", "run_distill"]
