"""`protdidi distill --domain text`: what a text distillation run needs. The teacher is a protdidi DiT dir, an
MDLM/DUO .ckpt or an HF dir; training windows are packed from `data.path` with the teacher's tokenizer."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from protdidi.config import check_fraction_split, require
from protdidi.domains.text.data import read_documents, split_windows, token_stream
from protdidi.domains.text.models import teacher_reference, tokenizer_writer
from protdidi.domains.text.teacher import DEFAULT_CORPUS
from protdidi.errors import UserError
from protdidi.methods.distillation import DistillRunConfig, DistillSetup
from protdidi.methods.sample_quality import make_evaluator


@dataclass
class TextDistillData:
    path: str = DEFAULT_CORPUS  # a .txt/.jsonl file or a directory of them
    length: int = 128  # window length with BOS/EOS; at most the teacher's (OWT: 1024)
    valid_frac: float = 0.05
    test_frac: float = 0.05

    def __post_init__(self) -> None:
        check_fraction_split(self.valid_frac, self.test_frac)
        require(self.length >= 3, "length must be >= 3 (BOS, EOS and text)")


@dataclass
class TextDistillConfig(DistillRunConfig):
    teacher: str = ""  # required: protdidi text checkpoint dir, MDLM/DUO .ckpt or HF MDLM dir
    data: TextDistillData = field(default_factory=TextDistillData)
    tokenizer: str = "gpt2"  # for .ckpt/HF teachers (protdidi checkpoints carry their own)


def text_distill_setup(domain, cfg: TextDistillConfig, device: torch.device) -> DistillSetup:
    if not cfg.teacher:
        raise UserError("text distillation needs --teacher (a protdidi text checkpoint, an MDLM .ckpt or HF dir)")
    docs = read_documents(cfg.data.path)  # before the teacher: a bad corpus is reported before any loading
    teacher = domain.load_model(cfg.teacher, cfg.tokenizer)
    length = min(cfg.data.length, teacher.max_length)
    vocab = teacher.denoiser.vocab
    stream = token_stream(docs, teacher.tokenizer, vocab.eos_id)
    windows = split_windows(stream, length, vocab.bos_id, vocab.eos_id, cfg.data.valid_frac, cfg.data.test_frac)
    return DistillSetup(
        teacher=teacher, train=list(windows["train"].unbind(0)), max_length=length,
        evaluate=make_evaluator(teacher, [length] * cfg.loop.eval_samples, cfg.loop, length, device),
        checkpoint_config={"domain": "text", "teacher": teacher_reference(cfg.teacher, cfg.tokenizer)},
        files={"tokenizer": tokenizer_writer(teacher.tokenizer)}, pool_lengths=lambda size, g: [length] * size)
