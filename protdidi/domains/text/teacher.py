"""`protdidi train-teacher --domain text`: a DiT masked-diffusion LM trained with MDLM's NELBO on packed windows."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml

from protdidi.batching import BatchStream
from protdidi.config import check_run_dir, to_dict
from protdidi.distributed import pick_device
from protdidi.domains.text.data import read_documents, split_windows, token_stream
from protdidi.domains.text.models import load_text_model, save_text_model
from protdidi.domains.text.tokenizer import load_tokenizer, text_vocab
from protdidi.errors import UserError
from protdidi.models.dit import DitConfig
from protdidi.schedule import ScheduleConfig, make_schedule
from protdidi.tasks.mdlm import MdlmTask, OptimConfig, nelbo_vs_unigram
from protdidi.teachers.dit_denoiser import DitDenoiser
from protdidi.trainer import Trainer

log = logging.getLogger(__name__)
DEFAULT_CORPUS = "data/text/tinyshakespeare.txt"


@dataclass
class DitModelConfig:
    hidden_size: int = 128
    n_heads: int = 4
    n_blocks: int = 4
    cond_dim: int = 64
    dropout: float = 0.1
    time_conditioning: bool = False  # as MDLM-OWT


@dataclass
class TextDataConfig:
    path: str = DEFAULT_CORPUS  # a .txt/.jsonl file or a directory of them
    tokenizer: str = "gpt2"  # an HF tokenizer directory or hub name
    length: int = 128  # window length including BOS and EOS (OWT: 1024)
    valid_frac: float = 0.05
    test_frac: float = 0.05


@dataclass
class TextTeacherRunConfig:
    name: str = "protdidi-text-teacher"
    device: str = "auto"
    model: DitModelConfig = field(default_factory=DitModelConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    data: TextDataConfig = field(default_factory=TextDataConfig)
    train: OptimConfig = field(default_factory=OptimConfig)


def load_windows(data: TextDataConfig, tokenizer) -> dict[str, list[torch.Tensor]]:
    vocab = text_vocab(tokenizer)
    stream = token_stream(read_documents(data.path), tokenizer, vocab.eos_id)
    windows = split_windows(stream, data.length, vocab.bos_id, vocab.eos_id, data.valid_frac, data.test_frac)
    return {k: list(v.unbind(0)) for k, v in windows.items()}


def train_text_teacher(cfg: TextTeacherRunConfig, run_dir: Path, resume: bool = False,
                       stop_at: int | None = None) -> dict:
    run_dir = Path(run_dir)
    check_run_dir(run_dir, cfg, resume, ("train", "steps"))
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.train.seed)
    tokenizer = load_tokenizer(cfg.data.tokenizer)
    vocab = text_vocab(tokenizer)
    sets = load_windows(cfg.data, tokenizer)
    if not sets["valid"]:
        raise UserError(f"{cfg.data.path}: too little text for a validation window")
    schedule = make_schedule(to_dict(cfg.schedule))
    m = cfg.model
    arch = DitConfig(vocab_size=vocab.size, hidden_size=m.hidden_size, n_heads=m.n_heads, n_blocks=m.n_blocks,
                     cond_dim=m.cond_dim, dropout=m.dropout, max_length=cfg.data.length,
                     time_conditioning=m.time_conditioning)
    model = DitDenoiser.from_config(arch, vocab, schedule)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
    split_info = {k: len(v) for k, v in sets.items()}

    def save(path: Path, denoiser, trainer_state) -> None:
        save_text_model(path, denoiser, cfg.name, to_dict(cfg.schedule), tokenizer,
                        {"train_config": to_dict(cfg), "windows": split_info}, trainer_state)

    stream = BatchStream(sets["train"], cfg.train.batch_size, cfg.data.length, vocab.pad_id, cfg.train.seed)
    task = MdlmTask(model, schedule, stream, sets["valid"], cfg.train, cfg.data.length, device, save)
    log.info("training %s: %d params, windows %s, device %s", cfg.name,
             sum(p.numel() for p in model.parameters()), split_info, device)
    Trainer(task, run_dir, cfg.train.steps, cfg.train.eval_every, cfg.train.save_every, cfg.train.log_every,
            monitor="valid_nelbo", title=cfg.name, resume=resume, stop_at=stop_at).run()
    if stop_at is not None and stop_at < cfg.train.steps:
        return {"stopped_at": stop_at, "steps": cfg.train.steps}
    best = load_text_model(str(run_dir / "best")).denoiser.to(device)
    report = {"model": cfg.name, "params": sum(p.numel() for p in best.parameters()), "windows": split_info,
              "length": cfg.data.length, "tokenizer": cfg.data.tokenizer}
    report.update(nelbo_vs_unigram(best, sets["train"], {k: sets[k] for k in ("valid", "test")}, schedule,
                                   cfg.data.length, cfg.train.eval_batch_size, device))
    (run_dir / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    return report
