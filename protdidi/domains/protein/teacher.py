"""`protdidi train-teacher`: an ESM-2-shaped masked-diffusion teacher trained with MDLM's NELBO on a FASTA."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from protdidi.adapters.architectures import MAX_SIZE
from protdidi.adapters.esm_denoiser import EsmDenoiser
from protdidi.checkpoint import save_model_dir
from protdidi.config import check_fraction_split, require, to_dict
from protdidi.domains.protein.alphabet import protein_vocab
from protdidi.domains.protein.data import TokenizedSet, default_cath_fasta, length_histogram, split_records
from protdidi.domains.protein.fasta import read_fasta
from protdidi.domains.protein.filters import trim_his_tags
from protdidi.errors import UserError
from protdidi.models.esm2 import Esm2, Esm2Config
from protdidi.models.rotary import check_heads
from protdidi.schedule import ScheduleConfig, make_schedule
from protdidi.tasks.mdlm import OptimConfig
from protdidi.training_run import Run, fit_teacher


@dataclass
class ModelConfig:
    num_layers: int = 6
    embed_dim: int = 192
    attention_heads: int = 6
    dropout: float = 0.1
    init: str | None = None  # optional ESM-2/DPLM weights (fair-esm .pt or HF dir) to start from

    def __post_init__(self) -> None:
        require(min(self.num_layers, self.embed_dim, self.attention_heads) >= 1,
                "num_layers, embed_dim and attention_heads must be >= 1")
        require(0 <= self.dropout < 1, "dropout must be in [0, 1)")
        check_heads(self.embed_dim, self.attention_heads)


@dataclass
class DataConfig:
    fasta: str = field(default_factory=default_cath_fasta)
    valid_frac: float = 0.05
    test_frac: float = 0.05
    max_length: int = 512
    trim_tags: bool = False  # drop terminal His-tags from the training data (`filters.trim_his_tags`)

    def __post_init__(self) -> None:
        check_fraction_split(self.valid_frac, self.test_frac)
        require(3 <= self.max_length <= MAX_SIZE, f"max_length must be in 3..{MAX_SIZE} (2 special tokens + residues)")


@dataclass
class TeacherRunConfig:
    name: str | None = None  # the model's name in its checkpoint and outputs; default: the run directory's
    device: str = "auto"
    model: ModelConfig = field(default_factory=ModelConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: OptimConfig = field(default_factory=OptimConfig)


def build_model(domain, cfg: TeacherRunConfig) -> EsmDenoiser:
    vocab = protein_vocab()
    if cfg.model.init:
        backbone = domain.load_model(cfg.model.init).denoiser.backbone
        arch = Esm2Config(**{**backbone.cfg.to_dict(), "dropout": cfg.model.dropout, "token_dropout": False,
                             "max_length": cfg.data.max_length})
        model = Esm2(arch)
        model.load_state_dict(backbone.state_dict())
        return EsmDenoiser(model, vocab)
    arch = Esm2Config(num_layers=cfg.model.num_layers, embed_dim=cfg.model.embed_dim,
                      attention_heads=cfg.model.attention_heads, vocab_size=vocab.size, padding_idx=vocab.pad_id,
                      mask_idx=vocab.mask_id, dropout=cfg.model.dropout, max_length=cfg.data.max_length)
    return EsmDenoiser.from_config(arch, vocab)


MIN_RECORDS = 10  # fewer sequences cannot be split into training and validation sets worth the name


def checked_splits(data: DataConfig) -> dict:
    """The FASTA's train/valid/test split (by id hash), refused with what to change when it is too small."""
    records = read_fasta(data.fasta)
    if data.trim_tags:
        records = [replace(r, seq=trim_his_tags(r.seq)) for r in records]
    if len(records) < MIN_RECORDS:
        raise UserError(f"{data.fasta}: {len(records)} sequence{'s' * (len(records) != 1)}; training needs at least "
                        f"{MIN_RECORDS} (50 or more for a family)")
    splits = split_records(records, data.valid_frac, data.test_frac)
    for name, purpose, key in (("train", "training", None), ("valid", "validation", "data.valid_frac")):
        if not splits[name]:
            change = f"add sequences or raise {key} (now {data.valid_frac:g})" if key else \
                "add sequences or lower data.valid_frac and data.test_frac"
            raise UserError(f"{data.fasta}: its {len(records)} sequences leave none for {purpose} at "
                            f"data.valid_frac={data.valid_frac:g}, data.test_frac={data.test_frac:g}; {change}")
    return splits


def train_teacher(domain, cfg: TeacherRunConfig, run_dir: Path, resume: bool = False,
                  stop_at: int | None = None) -> dict:
    """Train, then write `report.json` with validation/test NELBO perplexity and the unigram baseline.

    `stop_at` ends this invocation after that step (checkpointed, resumable) without changing the run's
    schedule, e.g. to split a long run across sessions; the report is written only when the run is done."""
    run = Run(cfg, run_dir, resume, stop_at, seed=cfg.train.seed)
    splits = checked_splits(cfg.data)
    sets = {k: TokenizedSet.from_records(v).seqs for k, v in splits.items()}
    lengths = length_histogram(splits["train"], cfg.data.max_length)
    schedule = make_schedule(to_dict(cfg.schedule))
    model = build_model(domain, cfg)
    split_info = {k: len(v) for k, v in splits.items()}

    def save(path: Path, denoiser, trainer_state) -> None:
        save_model_dir(path, denoiser, {"domain": "protein", "name": cfg.name, "schedule": to_dict(cfg.schedule),
                                        "lengths": {str(k): v for k, v in lengths.items()},
                                        "train_config": to_dict(cfg), "splits": split_info},
                       trainer_state=trainer_state)

    return fit_teacher(run, cfg.name, model, schedule, sets, cfg.train, cfg.data.max_length, save,
                       lambda path: domain.load_model(str(path)).denoiser,
                       {"splits": split_info, "max_length": cfg.data.max_length})
