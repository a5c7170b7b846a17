"""`protdidi distill --domain text`: distil a text MDLM (protdidi DiT dir, MDLM/DUO .ckpt or HF dir) with the
same DiDi-Instruct / IDLM core as proteins. Training windows are packed from `data.path` with the teacher's
tokenizer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from protdidi.domains.text.data import read_documents, split_windows, token_stream
from protdidi.domains.text.models import load_text_model, teacher_reference, text_checkpoint_config, tokenizer_writer
from protdidi.domains.text.teacher import DEFAULT_CORPUS
from protdidi.errors import UserError
from protdidi.methods import DidiConfig, DistillLoopConfig, IdlmConfig
from protdidi.methods.run import DistillSetup, RgasDefaults, run_distillation
from protdidi.sampling import AncestralSampler
from protdidi.tasks.sample_quality import make_evaluator


@dataclass
class TextDistillData:
    path: str = DEFAULT_CORPUS  # a .txt/.jsonl file or a directory of them
    length: int = 128  # window length with BOS/EOS; at most the teacher's (OWT: 1024)
    valid_frac: float = 0.05
    test_frac: float = 0.05


@dataclass
class TextDistillRunConfig:
    name: str | None = None  # default: protdidi-text-<method>
    method: str = "didi"
    device: str = "auto"
    teacher: str = ""  # required: protdidi text checkpoint dir, MDLM/DUO .ckpt or HF MDLM dir
    tokenizer: str = "gpt2"  # for .ckpt/HF teachers (protdidi checkpoints carry their own)
    data: TextDistillData = field(default_factory=TextDistillData)
    didi: DidiConfig = field(default_factory=DidiConfig)
    idlm: IdlmConfig = field(default_factory=IdlmConfig)
    loop: DistillLoopConfig = field(default_factory=DistillLoopConfig)
    rgas: RgasDefaults = field(default_factory=RgasDefaults)


def teacher_windows(teacher, num: int, length: int, nfe: int, seed: int, device, batch: int = 16) -> list[torch.Tensor]:
    """`num` windows sampled from the teacher with `nfe` ancestral steps (the 'teacher' real side)."""
    sampler = AncestralSampler(teacher.schedule)
    g = torch.Generator(device=device).manual_seed(seed)
    out: list[torch.Tensor] = []
    for start in range(0, num, batch):
        gen = sampler.sample(teacher.denoiser.to(device), min(batch, num - start), length, nfe, g, device)
        out.extend(gen.tokens.cpu().unbind(0))
    return out


def run_text_distill(cfg: TextDistillRunConfig, run_dir: Path, resume: bool = False,
                     stop_at: int | None = None) -> dict:
    if not cfg.teacher:
        raise UserError("text distillation needs --teacher (a protdidi text checkpoint, an MDLM .ckpt or HF dir)")
    cfg.name = cfg.name or f"protdidi-text-{cfg.method}"

    def prepare(device: torch.device) -> DistillSetup:
        teacher = load_text_model(cfg.teacher, cfg.tokenizer)
        length = min(cfg.data.length, teacher.max_length)
        vocab = teacher.denoiser.vocab
        stream = token_stream(read_documents(cfg.data.path), teacher.tokenizer, vocab.eos_id)
        windows = split_windows(stream, length, vocab.bos_id, vocab.eos_id, cfg.data.valid_frac, cfg.data.test_frac)
        ref = {**teacher_reference(cfg.teacher), "tokenizer": cfg.tokenizer}
        ckpt = {**text_checkpoint_config(teacher.denoiser, teacher.schedule.to_dict()), "teacher": ref}
        return DistillSetup(
            teacher=teacher, train=list(windows["train"].unbind(0)), max_length=length,
            evaluate=make_evaluator(teacher, [length] * cfg.loop.eval_samples, cfg.loop, length, device),
            checkpoint_config=ckpt, files={"tokenizer": tokenizer_writer(teacher.tokenizer)},
            teacher_pool=lambda size, nfe, seed: teacher_windows(teacher, size, length, nfe, seed, device))

    return run_distillation(cfg, run_dir, prepare, resume, stop_at)
