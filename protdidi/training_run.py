"""The skeleton every training command shares: check the run directory, pick the device (and join a torchrun
process group), seed, save the resolved config, run the `Trainer`, honour `--stop-at`, write the report.

Entry points: `protdidi train-teacher` (both domains, through `fit_teacher`), `train-judge`, `train-evaluator`
and `distill` (`protdidi.methods.distillation`). Each builds its model and data, then hands them to a `Run`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch
import yaml

import protdidi.distributed as dist
from protdidi.atomic_dirs import DirLock, finish_swap
from protdidi.batching import BatchStream
from protdidi.config import check_fresh_run_dir, check_run_dir, to_dict
from protdidi.denoiser import MaskedDenoiser
from protdidi.io import write_text_atomic
from protdidi.progress import progress_line
from protdidi.schedule import LogLinearSchedule
from protdidi.tasks.mdlm import MdlmTask, OptimConfig, nelbo_vs_unigram
from protdidi.trainer import Trainer, snapshot_name, step_snapshot_name
from protdidi.weights import read_trainer_state


class Run:
    """One training run in `run_dir`. Construction checks the directory (a fresh run refuses one that holds a run;
    `--resume` refuses a changed config, except the `extendable` step count), picks `cfg.device` (under torchrun
    with `distributed`, one device per process) and seeds torch with `seed`, before any data or model is built."""

    def __init__(self, cfg, run_dir: Path, resume: bool = False, stop_at: int | None = None, seed: int = 0,
                 extendable: tuple[str, str] = ("train", "steps"), distributed: bool = False):
        self.cfg, self.dir, self.resume, self.stop_at = cfg, Path(run_dir), resume, stop_at
        if getattr(cfg, "name", "") is None:  # a model left unnamed is named for its run directory
            cfg.name = self.dir.absolute().name
        check_run_dir(self.dir, cfg, resume, extendable)
        state = self.dir / "last" / "trainer_state.pt"
        if resume and state.is_file():  # one that cannot be read safely is refused now, before any input is read
            read_trainer_state(state)
        device = dist.pick_device(cfg.device)
        if distributed:
            device = dist.local_device(device)
            dist.init_from_env(device)
        self.device, self.primary = device, dist.rank() == 0
        self.lock = DirLock(self.dir) if self.primary and self.dir.is_dir() else None  # an existing one: at once
        torch.manual_seed(seed)

    def start(self) -> None:
        """Create and lock the directory (one run writes it at a time), then save the resolved config
        (config.yaml), once the inputs have been read."""
        if self.primary:
            if self.lock is None:
                self.lock = DirLock(self.dir)
                if not self.resume:  # another run may have started here while this one read its inputs
                    check_fresh_run_dir(self.dir)
            text = yaml.safe_dump(to_dict(self.cfg), sort_keys=False)
            write_text_atomic(self.dir / "config.yaml", lambda f: f.write(text))
            progress_line(f"{getattr(self.cfg, 'name', None) or self.dir.name}: inputs read; "
                          f"{'resuming' if self.resume else 'starting'} {self.dir} on {self.device}")

    def train(self, task, loop, monitor: str, title: str, panels: list[tuple[str, ...]] | None = None,
              snapshot_minutes: tuple[float, ...] = (), snapshot_steps: tuple[int, ...] = ()) -> dict:
        """`loop` has steps, eval_every, save_every and log_every (`OptimConfig`, `DistillLoopConfig`). Before a
        `--resume`, the primary process completes any checkpoint save a kill interrupted between its renames."""
        if self.resume and self.primary:
            snapshots = [*map(snapshot_name, snapshot_minutes), *map(step_snapshot_name, snapshot_steps)]
            for name in ("last", "best", *snapshots):
                finish_swap(self.dir / name)
        dist.barrier()
        result = Trainer(task, self.dir, loop.steps, loop.eval_every, loop.save_every, loop.log_every,
                         monitor=monitor, title=title, resume=self.resume, stop_at=self.stop_at,
                         primary=self.primary, panels=panels, snapshot_minutes=snapshot_minutes,
                         snapshot_steps=snapshot_steps,
                         patience=getattr(loop, "patience", None)).run()
        dist.barrier()
        return result

    def finished(self, steps: int) -> bool:
        """Whether this invocation ran to the end of the schedule (not stopped early by `--stop-at`)."""
        return self.stop_at is None or self.stop_at >= steps

    def stopped(self, steps: int) -> dict:
        return {"stopped_at": self.stop_at, "steps": steps}

    def write_report(self, report: dict) -> dict:
        write_text_atomic(self.dir / "report.json", lambda f: f.write(json.dumps(report, indent=1) + "\n"))
        return report


def fit_teacher(run: Run, name: str, model: MaskedDenoiser, schedule: LogLinearSchedule,
                sets: dict[str, list[torch.Tensor]], train: OptimConfig, max_length: int,
                save: Callable[[Path, MaskedDenoiser, dict | None], None],
                load_best: Callable[[Path], MaskedDenoiser], info: dict) -> dict:
    """Train a masked-diffusion teacher with MDLM's NELBO on `sets["train"]` (validated on `sets["valid"]`), then
    write report.json: `info`, and NELBO perplexity on valid/test next to the unigram baseline (`nelbo_vs_unigram`)."""
    run.start()
    stream = BatchStream(sets["train"], train.batch_size, max_length, model.vocab.pad_id, train.seed)
    task = MdlmTask(model, schedule, stream, sets["valid"], train, max_length, run.device, save)
    params = sum(p.numel() for p in model.parameters())
    progress_line(f"{name}: {params:,} parameters, {len(sets['train']):,} training sequences, device {run.device}")
    result = run.train(task, train, monitor="valid_nelbo", title=name)
    if not (result.get("early_stopped") or run.finished(train.steps)):
        return run.stopped(train.steps)
    best = load_best(run.dir / "best").to(run.device)
    report = {"model": name, "params": sum(p.numel() for p in best.parameters()), **info}
    report.update(nelbo_vs_unigram(best, sets["train"], {k: sets[k] for k in ("valid", "test")}, schedule,
                                   max_length, train.eval_batch_size, run.device))
    return run.write_report(report)
