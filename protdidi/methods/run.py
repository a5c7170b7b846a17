"""One distillation run, whatever the domain: run directory checks, DDP set-up, the real side (data or a
cached teacher pool), the method's task, the trainer and checkpoint writing. Domains supply a `DistillSetup`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml

from protdidi import distributed as dist
from protdidi.batching import BatchStream
from protdidi.checkpoint import save_checkpoint
from protdidi.config import check_run_dir, to_dict
from protdidi.errors import UserError
from protdidi.methods import method_parts
from protdidi.trainer import Trainer

log = logging.getLogger(__name__)
PANELS = {"didi": [("loss", "pg"), ("d_loss",), ("d_acc",), ("reward",), ("kl_hi", "kl_lo"), ("entropy",),
                   ("valid_sample_nelbo",), ("valid_sample_entropy",)],
          "idlm": [("loss",), ("fake_loss",), ("valid_sample_nelbo",), ("valid_sample_entropy",)]}


@dataclass
class RgasDefaults:
    """The reward-guided sampler's settings, stored with the student (spec defaults)."""

    num_candidates: int = 4
    rerank_ratio: float = 0.5
    guidance_start: float = 30.0
    guidance_end: float = 40.0


@dataclass
class DistillSetup:
    """What a domain hands the run: the teacher, real training sequences and how to judge/save a student."""

    teacher: object  # a loaded model with .denoiser, .schedule, .kind
    train: list[torch.Tensor]
    max_length: int
    evaluate: Callable[[torch.nn.Module], dict[str, float]]
    checkpoint_config: dict  # domain, arch, teacher reference, lengths/tokenizer ... (merged into config.json)
    teacher_pool: Callable[[int, int, int], list[torch.Tensor]]  # (size, nfe, seed) → many-step teacher samples
    files: dict = field(default_factory=dict)  # extra checkpoint files: name → writer(path)


def run_distillation(cfg, run_dir: Path, prepare: Callable[[torch.device], DistillSetup], resume: bool = False,
                     stop_at: int | None = None) -> dict:
    """`cfg` has name, method, device, loop, rgas and one section per method (didi, idlm)."""
    run_dir = Path(run_dir)
    try:
        config_cls, task_cls = method_parts(cfg.method)
    except ValueError as err:
        raise UserError(str(err)) from None
    method_cfg = getattr(cfg, cfg.method)
    if not isinstance(method_cfg, config_cls):
        raise UserError(f"config section {cfg.method!r} is not a {config_cls.__name__}")
    check_run_dir(run_dir, cfg, resume, ("loop", "steps"))
    device = dist.local_device(dist.pick_device(cfg.device))
    dist.init_from_env(device)
    primary = dist.rank() == 0
    torch.manual_seed(cfg.loop.seed)
    setup = prepare(device)
    if setup.teacher.kind != "teacher":
        raise UserError(f"--teacher {cfg.teacher!r} is a distilled student, not a teacher")
    if primary:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
    real = setup.train
    if getattr(method_cfg, "real_side", "data") == "teacher":
        pool_file = run_dir / "teacher_pool.pt"
        if pool_file.exists():
            real = torch.load(pool_file, weights_only=True)
        else:
            real = setup.teacher_pool(method_cfg.teacher_pool_size, method_cfg.teacher_pool_nfe, cfg.loop.seed)
            if primary:
                torch.save(real, pool_file)
    vocab = setup.teacher.denoiser.vocab
    stream = BatchStream(real, cfg.loop.batch_size, setup.max_length, vocab.pad_id,
                         cfg.loop.seed + 7919 * dist.rank())

    def save(path: Path, ema, components: dict, extra: dict, trainer_state) -> None:
        config = {"kind": "student", "name": cfg.name, "method": cfg.method, **setup.checkpoint_config,
                  "schedule": setup.teacher.schedule.to_dict(), **extra, "train_config": to_dict(cfg)}
        if cfg.method == "didi":
            config["sampler"] = to_dict(cfg.rgas)
        save_checkpoint(path, config, ema.vocab, {"model": ema, **components}, trainer_state, files=setup.files)

    task = task_cls(setup.teacher.denoiser, setup.teacher.schedule, stream, method_cfg, cfg.loop, device,
                    setup.evaluate, save)
    if primary:
        log.info("distilling %s from %s (%s) on %s, world size %d", cfg.name, cfg.teacher, cfg.method, device,
                 dist.world_size())
    loop = cfg.loop
    result = Trainer(task, run_dir, loop.steps, loop.eval_every, loop.save_every, loop.log_every,
                     monitor="valid_sample_nelbo", title=f"{cfg.name} ({cfg.method})", resume=resume,
                     stop_at=stop_at, primary=primary, panels=PANELS[cfg.method],
                     snapshot_minutes=loop.snapshot_minutes).run()
    dist.barrier()
    return result
