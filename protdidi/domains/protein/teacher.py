"""`protdidi train-teacher`: an ESM-2-shaped masked-diffusion teacher trained with MDLM's NELBO on a FASTA."""

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
from protdidi.domains.protein.alphabet import protein_vocab
from protdidi.domains.protein.data import TokenizedSet, default_cath_fasta, length_histogram, split_records
from protdidi.domains.protein.fasta import read_fasta
from protdidi.domains.protein.models import save_protein_model
from protdidi.errors import UserError
from protdidi.models.esm2 import Esm2, Esm2Config
from protdidi.schedule import ScheduleConfig, make_schedule
from protdidi.tasks.mdlm import MdlmTask, OptimConfig, nelbo_vs_unigram
from protdidi.teachers.esm_denoiser import EsmDenoiser
from protdidi.trainer import Trainer

log = logging.getLogger(__name__)


@dataclass
class ModelConfig:
    num_layers: int = 6
    embed_dim: int = 192
    attention_heads: int = 6
    dropout: float = 0.1
    init: str | None = None  # optional ESM-2/DPLM weights (fair-esm .pt or HF dir) to start from


@dataclass
class DataConfig:
    fasta: str = field(default_factory=default_cath_fasta)
    valid_frac: float = 0.05
    test_frac: float = 0.05
    max_length: int = 512


@dataclass
class TeacherRunConfig:
    name: str = "protdidi-cath-teacher"
    device: str = "auto"
    model: ModelConfig = field(default_factory=ModelConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: OptimConfig = field(default_factory=OptimConfig)


def build_model(cfg: TeacherRunConfig) -> EsmDenoiser:
    vocab = protein_vocab()
    if cfg.model.init:
        from protdidi.domains.protein.models import load_protein_model

        backbone = load_protein_model(cfg.model.init).denoiser.backbone
        arch = Esm2Config(**{**backbone.cfg.to_dict(), "dropout": cfg.model.dropout, "token_dropout": False,
                             "max_length": cfg.data.max_length})
        model = Esm2(arch)
        model.load_state_dict(backbone.state_dict())
        return EsmDenoiser(model, vocab)
    arch = Esm2Config(num_layers=cfg.model.num_layers, embed_dim=cfg.model.embed_dim,
                      attention_heads=cfg.model.attention_heads, vocab_size=vocab.size, padding_idx=vocab.pad_id,
                      mask_idx=vocab.mask_id, dropout=cfg.model.dropout, max_length=cfg.data.max_length)
    return EsmDenoiser.from_config(arch, vocab)


def train_teacher(cfg: TeacherRunConfig, run_dir: Path, resume: bool = False, stop_at: int | None = None) -> dict:
    """Train, then write `report.json` with validation/test NELBO perplexity and the unigram baseline.

    `stop_at` ends this invocation after that step (checkpointed, resumable) without changing the run's
    schedule, e.g. to split a long run across sessions; the report is written only when the run is done."""
    run_dir = Path(run_dir)
    check_run_dir(run_dir, cfg, resume, ("train", "steps"))
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.train.seed)
    records = read_fasta(cfg.data.fasta)
    splits = split_records(records, cfg.data.valid_frac, cfg.data.test_frac)
    if not splits["train"] or not splits["valid"]:
        raise UserError(f"{cfg.data.fasta}: too few records for a train/valid split")
    sets = {k: TokenizedSet.from_records(v) for k, v in splits.items()}
    lengths = length_histogram(splits["train"], cfg.data.max_length)
    schedule = make_schedule(to_dict(cfg.schedule))
    model = build_model(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
    split_info = {k: len(v) for k, v in splits.items()}

    def save(path: Path, denoiser, trainer_state) -> None:
        save_protein_model(path, denoiser, cfg.name, to_dict(cfg.schedule), lengths,
                           {"train_config": to_dict(cfg), "splits": split_info}, trainer_state)

    stream = BatchStream(sets["train"].seqs, cfg.train.batch_size, cfg.data.max_length, model.vocab.pad_id,
                         cfg.train.seed)
    task = MdlmTask(model, schedule, stream, sets["valid"].seqs, cfg.train, cfg.data.max_length, device, save)
    log.info("training %s: %d params, splits %s, device %s", cfg.name,
             sum(p.numel() for p in model.parameters()), split_info, device)
    Trainer(task, run_dir, cfg.train.steps, cfg.train.eval_every, cfg.train.save_every, cfg.train.log_every,
            monitor="valid_nelbo", title=cfg.name, resume=resume, stop_at=stop_at).run()
    if stop_at is not None and stop_at < cfg.train.steps:
        return {"stopped_at": stop_at, "steps": cfg.train.steps}
    from protdidi.domains.protein.models import load_protein_model

    best = load_protein_model(str(run_dir / "best")).denoiser.to(device)
    return write_report(run_dir, cfg, sets, best, schedule, device)


def write_report(run_dir: Path, cfg: TeacherRunConfig, sets: dict, model, schedule, device) -> dict:
    """NELBO perplexity on valid/test (4 fixed-seed passes) next to the unigram baseline, as report.json."""
    report = {"model": cfg.name, "params": sum(p.numel() for p in model.parameters()),
              "splits": {k: len(v) for k, v in sets.items()}, "max_length": cfg.data.max_length}
    report.update(nelbo_vs_unigram(model, sets["train"].seqs, {k: sets[k].seqs for k in ("valid", "test")},
                                   schedule, cfg.data.max_length, cfg.train.eval_batch_size, device))
    (run_dir / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    return report
