"""One distillation run, whatever the domain and method: the `Run` skeleton, the real side (data, or a cached pool
of many-step teacher samples when the method asks for one), the method's task and the student checkpoints.
A domain supplies a `DistillSetup`; the method describes itself (`protdidi.methods.base.Method`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

import protdidi.distributed as dist
from protdidi.batching import BatchStream
from protdidi.checkpoint import LoadedModel, save_model_dir
from protdidi.config import to_dict
from protdidi.errors import UserError
from protdidi.generation.driver import generate_rows
from protdidi.io import write_file_atomic
from protdidi.methods import METHODS
from protdidi.methods.base import DistillLoopConfig
from protdidi.methods.didi import DidiConfig
from protdidi.methods.idlm import IdlmConfig
from protdidi.progress import progress_line
from protdidi.sampling.rgas import RgasSettings
from protdidi.training_run import Run

POOL_BATCH = 16  # teacher-pool generation batch size (part of what the pool's seed reproduces)


@dataclass
class DistillRunConfig:
    """The fields every domain's distillation config shares; a domain subclasses it and adds `data` (and its
    own model options). One section per method, named as the method."""

    name: str | None = None  # the student's name in its checkpoint and outputs; default: the run directory's
    method: str = "idlm"  # a name in protdidi.methods.METHODS
    device: str = "auto"
    teacher: str = ""
    didi: DidiConfig = field(default_factory=DidiConfig)
    idlm: IdlmConfig = field(default_factory=IdlmConfig)
    loop: DistillLoopConfig = field(default_factory=DistillLoopConfig)
    rgas: RgasSettings = field(default_factory=RgasSettings)


@dataclass
class DistillSetup:
    """What a domain hands the run: the teacher, real training sequences and how to judge/save a student."""

    teacher: LoadedModel
    train: list[torch.Tensor]
    max_length: int
    evaluate: Callable[[torch.nn.Module], dict[str, float]]
    checkpoint_config: dict  # domain, teacher reference, lengths ... (merged into config.json)
    pool_lengths: Callable[[int, torch.Generator], list[int]]  # lengths of `size` teacher-pool samples
    files: dict = field(default_factory=dict)  # extra checkpoint files: name → writer(path)


def teacher_pool(setup: DistillSetup, size: int, nfe: int, seed: int, device) -> list[torch.Tensor]:
    """`size` ancestral samples of the teacher at `nfe` steps: the real side of a method that asks for one."""
    g = torch.Generator().manual_seed(seed)
    return generate_rows(setup.teacher, setup.pool_lengths(size, g), nfe, g, POOL_BATCH, device=device,
                         progress=False).rows


def run_distillation(domain, cfg: DistillRunConfig, run_dir: Path, resume: bool = False,
                     stop_at: int | None = None) -> dict:
    """Distil `cfg.teacher` with `cfg.method` on `domain`'s data (`domain.distill_setup`) into `run_dir`."""
    method = METHODS.get(cfg.method)
    run = Run(cfg, run_dir, resume, stop_at, seed=cfg.loop.seed, extendable=("loop", "steps"), distributed=True)
    setup = domain.distill_setup(cfg, run.device)
    if setup.teacher.kind != "teacher":
        raise UserError(f"--teacher {cfg.teacher!r} is a distilled student, not a teacher")
    run.start()
    task = distill_task(setup, cfg, run.dir, run.device, run.primary)
    if run.primary:
        progress_line(f"{cfg.name}: distilling {cfg.teacher} with {method.name} on {run.device}, world size "
                      f"{dist.world_size()}")
    return run.train(task, cfg.loop, monitor="valid_sample_nelbo", title=f"{cfg.name} ({method.name})",
                     panels=list(method.panels), snapshot_minutes=cfg.loop.snapshot_minutes,
                     snapshot_steps=cfg.loop.snapshot_steps)


def distill_task(setup: DistillSetup, cfg: DistillRunConfig, run_dir: Path, device, primary: bool = True):
    """The method's trainer task on `setup`'s real side: the training data, or the teacher pool the method asks
    for, read from `run_dir` when an earlier sitting sampled it (else sampled, and kept there by the primary)."""
    method = METHODS.get(cfg.method)
    section = getattr(cfg, method.name)
    real = setup.train
    pool = method.teacher_pool(section)
    if pool is not None:
        pool_file = run_dir / "teacher_pool.pt"
        if pool_file.exists():
            real = torch.load(pool_file, weights_only=True)
        else:
            progress_line(f"{cfg.name}: sampling the real side, {pool[0]:,} teacher sequences at {pool[1]} NFE")
            real = teacher_pool(setup, *pool, cfg.loop.seed, device)
            if primary:  # atomically: a kill mid-write must not leave a truncated pool for --resume
                write_file_atomic(pool_file, lambda tmp: torch.save(real, tmp))
    vocab = setup.teacher.denoiser.vocab
    stream = BatchStream(real, cfg.loop.batch_size, setup.max_length, vocab.pad_id,
                         cfg.loop.seed + 7919 * dist.rank())

    def save(path: Path, ema, components: dict, extra: dict, trainer_state) -> None:
        config = {"kind": "student", "name": cfg.name, "method": method.name, **setup.checkpoint_config,
                  "schedule": setup.teacher.schedule.to_dict(), **extra, "train_config": to_dict(cfg),
                  **method.checkpoint_config(cfg)}
        save_model_dir(path, ema, config, components, trainer_state, setup.files)

    return method.task(setup.teacher.denoiser, setup.teacher.schedule, stream, section, cfg.loop, device,
                       setup.evaluate, save)
