"""`protdidi train-teacher --domain text`: a DiT masked-diffusion LM trained with MDLM's NELBO on packed windows."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from protdidi.adapters.architectures import MAX_SIZE
from protdidi.adapters.dit_denoiser import DitDenoiser
from protdidi.checkpoint import save_model_dir
from protdidi.config import check_fraction_split, require, to_dict
from protdidi.domains.text.data import read_documents, split_windows, token_stream
from protdidi.domains.text.models import TOKENIZER_DIR, tokenizer_writer
from protdidi.domains.text.tokenizer import load_tokenizer, text_vocab
from protdidi.errors import UserError
from protdidi.models.dit import DitConfig
from protdidi.models.rotary import check_heads
from protdidi.schedule import ScheduleConfig, make_schedule
from protdidi.tasks.mdlm import OptimConfig
from protdidi.training_run import Run, fit_teacher

DEFAULT_CORPUS = "data/text/tinyshakespeare.txt"


@dataclass
class DitModelConfig:
    hidden_size: int = 128
    n_heads: int = 4
    n_blocks: int = 4
    cond_dim: int = 64
    dropout: float = 0.1
    time_conditioning: bool = False  # as MDLM-OWT

    def __post_init__(self) -> None:
        require(min(self.hidden_size, self.n_heads, self.n_blocks, self.cond_dim) >= 1,
                "hidden_size, n_heads, n_blocks and cond_dim must be >= 1")
        require(0 <= self.dropout < 1, "dropout must be in [0, 1)")
        check_heads(self.hidden_size, self.n_heads)


@dataclass
class TextDataConfig:
    path: str = DEFAULT_CORPUS  # a .txt/.jsonl file or a directory of them
    tokenizer: str = "gpt2"  # an HF tokenizer directory or hub name
    length: int = 128  # window length including BOS and EOS (OWT: 1024)
    valid_frac: float = 0.05
    test_frac: float = 0.05

    def __post_init__(self) -> None:
        check_fraction_split(self.valid_frac, self.test_frac)
        require(3 <= self.length <= MAX_SIZE, f"length must be in 3..{MAX_SIZE} (BOS, EOS and text)")


@dataclass
class TextTeacherRunConfig:
    name: str | None = None  # the model's name in its checkpoint and outputs; default: the run directory's
    device: str = "auto"
    model: DitModelConfig = field(default_factory=DitModelConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    data: TextDataConfig = field(default_factory=TextDataConfig)
    train: OptimConfig = field(default_factory=OptimConfig)


def load_windows(data: TextDataConfig):
    """(tokenizer, train/valid/test windows); the corpus is read before the tokenizer is loaded, so that a bad
    corpus is reported first."""
    docs = read_documents(data.path)
    tokenizer = load_tokenizer(data.tokenizer)
    vocab = text_vocab(tokenizer)
    stream = token_stream(docs, tokenizer, vocab.eos_id)
    windows = split_windows(stream, data.length, vocab.bos_id, vocab.eos_id, data.valid_frac, data.test_frac)
    return tokenizer, {k: list(v.unbind(0)) for k, v in windows.items()}


def train_text_teacher(domain, cfg: TextTeacherRunConfig, run_dir: Path, resume: bool = False,
                       stop_at: int | None = None) -> dict:
    run = Run(cfg, run_dir, resume, stop_at, seed=cfg.train.seed)
    tokenizer, sets = load_windows(cfg.data)
    vocab = text_vocab(tokenizer)
    if not sets["valid"]:
        raise UserError(f"{cfg.data.path}: too little text for a validation window")
    schedule = make_schedule(to_dict(cfg.schedule))
    m = cfg.model
    arch = DitConfig(vocab_size=vocab.size, hidden_size=m.hidden_size, n_heads=m.n_heads, n_blocks=m.n_blocks,
                     cond_dim=m.cond_dim, dropout=m.dropout, max_length=cfg.data.length,
                     time_conditioning=m.time_conditioning)
    model = DitDenoiser.from_config(arch, vocab, schedule)
    split_info = {k: len(v) for k, v in sets.items()}

    def save(path: Path, denoiser, trainer_state) -> None:
        save_model_dir(path, denoiser, {"domain": "text", "name": cfg.name, "schedule": to_dict(cfg.schedule),
                                        "train_config": to_dict(cfg), "windows": split_info},
                       trainer_state=trainer_state, files={TOKENIZER_DIR: tokenizer_writer(tokenizer)})

    return fit_teacher(run, cfg.name, model, schedule, sets, cfg.train, cfg.data.length, save,
                       lambda path: domain.load_model(str(path)).denoiser,
                       {"windows": split_info, "length": cfg.data.length, "tokenizer": cfg.data.tokenizer})
