"""The training loop: steps, NaN guard, JSONL log, loss-curve PNG, atomic checkpoints, exact resume.

What is optimised, and how, belongs to a task (`protdidi.tasks`); the loop only drives it. A task's
`train_step(step)` must be a pure function of its state and `step` (seed its randomness from the step),
which is what makes `--resume` replay an uninterrupted run exactly.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Protocol

import torch

from protdidi.errors import NonFiniteError, UserError
from protdidi.io import write_file_atomic
from protdidi.progress import StepClock, progress_line
from protdidi.weights import read_trainer_state


class Task(Protocol):
    def train_step(self, step: int) -> dict[str, float]: ...
    def evaluate(self) -> dict[str, float]: ...
    def state_dict(self) -> dict: ...
    def load_state_dict(self, state: dict) -> None: ...
    def save(self, path: Path, trainer_state: dict | None) -> None: ...


def optimizer_step(loss: torch.Tensor, params, optimizer: torch.optim.Optimizer, clip: float, what: str) -> float:
    """backward → refuse non-finite loss/gradients → clip → step. Returns the pre-clip gradient norm."""
    if not torch.isfinite(loss):
        raise NonFiniteError(f"{what} loss is {loss.item()}")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    params = [p for p in params if p.grad is not None]
    norm = torch.nn.utils.clip_grad_norm_(params, clip if clip > 0 else float("inf"))
    if not torch.isfinite(norm):
        raise NonFiniteError(f"{what} gradient norm is {norm.item()}")
    optimizer.step()
    return float(norm)


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for e, p in zip(ema.parameters(), model.parameters(), strict=True):
        e.lerp_(p.detach(), 1.0 - decay)


def warmup_cosine(step: int, total: int, warmup: int, min_frac: float) -> float:
    """LR multiplier: linear warm-up, then cosine decay to `min_frac`."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_frac + (1 - min_frac) * 0.5 * (1 + math.cos(math.pi * progress))


def read_jsonl(path: Path) -> list[dict]:
    """The records of a JSONL file (a run's log.jsonl), blank lines skipped. A last line cut short (a process
    killed while appending it) is dropped; a bad line anywhere else is a `UserError`."""
    lines = [ln for ln in Path(path).read_text(errors="replace").splitlines() if ln.strip()]
    records = []
    for i, line in enumerate(lines):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                break
            raise UserError(f"{path}: line {i + 1} is not JSON") from None
        if not isinstance(record, dict):
            raise UserError(f"{path}: line {i + 1} is not a JSON object")
        records.append(record)
    return records


class JsonlLog:
    """Append-only JSONL; on resume, entries after the resumed step are dropped (they will be redone)."""

    def __init__(self, path: Path, keep_until: int | None = None):
        self.path = path
        if keep_until is not None and path.exists():
            kept = [r for r in read_jsonl(path) if r.get("step", 0) <= keep_until]
            write_file_atomic(path, lambda tmp: Path(tmp).write_text("".join(f"{json.dumps(r)}\n" for r in kept)))
        elif keep_until is None:
            path.write_text("")

    def write(self, record: dict) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps(record) + "\n")

    def records(self) -> list[dict]:
        return read_jsonl(self.path)


def plot_curves(log: JsonlLog, path: Path, title: str, panels: list[tuple[str, ...]] | None = None) -> None:
    """Curves against step, written atomically as PNG. Default: training loss and every `valid_*nelbo`
    metric in one panel; `panels` gives one subplot per tuple of log keys instead."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    records = log.records()
    if panels is None:
        panels = [("loss", *sorted({k for r in records for k in r if k.startswith("valid_") and k.endswith("nelbo")}))]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels) + 2.5, 4), squeeze=False)
    for ax, keys in zip(axes[0], panels, strict=True):
        for key in keys:
            pts = [(r["step"], r[key]) for r in records if key in r]
            if pts:
                style = "o-" if key.startswith("valid_") else "-"
                ax.plot(*zip(*pts, strict=True), style, ms=3, lw=0.8, label=key)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    axes[0][0].set_title(title)
    fig.tight_layout()
    write_file_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)


def snapshot_name(minutes: float) -> str:
    return f"at-{minutes:g}min"


def step_snapshot_name(step: int) -> str:
    return f"at-step{step}"


class Trainer:
    """Runs `task` for `steps` steps under `run_dir` (log.jsonl, loss.png, last/, best/)."""

    def __init__(self, task: Task, run_dir: Path, steps: int, eval_every: int, save_every: int, log_every: int,
                 monitor: str, title: str, resume: bool = False, stop_at: int | None = None,
                 primary: bool = True, panels: list[tuple[str, ...]] | None = None,
                 snapshot_minutes: tuple[float, ...] = (), patience: int | None = None,
                 snapshot_steps: tuple[int, ...] = ()):
        """`primary`: this process writes logs and checkpoints and evaluates (rank 0 of a DDP run); the other
        ranks only train. `snapshot_minutes`: keep a copy of the model (like best/) in `at-{m}min/` at the first
        step after m minutes of training wall-clock (summed over resumed segments), for equal-time comparisons;
        `snapshot_steps`: the same in `at-step{s}/` after step s (curves against iterations).
        `patience`: stop early (checkpointed; a `--resume` stays stopped) after that many evaluations in a row
        without a better `monitor`; None runs every step. Only for single-process runs."""
        self.task, self.run_dir, self.steps, self.primary = task, Path(run_dir), steps, primary
        self.panels = panels
        self.eval_every, self.save_every, self.log_every = eval_every, save_every, log_every
        self.monitor, self.title, self.resume = monitor, title, resume
        self.stop_at = steps if stop_at is None else min(stop_at, steps)
        self.snapshot_minutes = sorted(snapshot_minutes)
        self.snapshot_steps = set(snapshot_steps)
        self.patience = patience
        self.wall_offset, self.stale = 0.0, 0  # stale: evaluations since the best one

    def _restore(self) -> tuple[int, float]:
        state_file = self.run_dir / "last" / "trainer_state.pt"
        if not state_file.exists():
            raise UserError(f"{self.run_dir}: nothing to resume (no last/trainer_state.pt)")
        state = read_trainer_state(state_file)
        self.task.load_state_dict(state["task"])
        self.wall_offset = float(state.get("wall_s", 0.0))
        self.stale = int(state.get("stale", 0))
        return state["step"], state["best"]

    def _out_of_patience(self) -> bool:
        return self.patience is not None and self.stale >= self.patience

    def run(self) -> dict:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        start, best = self._restore() if self.resume else (0, float("inf"))
        if not self.primary:
            for step in range(start, self.stop_at):
                self.task.train_step(step)
            return {"step": self.stop_at}
        log = JsonlLog(self.run_dir / "log.jsonl", keep_until=start if self.resume else None)
        progress_line(f"{self.title}: {'resuming at' if self.resume else 'starting at'} step {start} of {self.steps}"
                      + (f", stopping after step {self.stop_at}" if self.stop_at < self.steps else "")
                      + f" (a line every {self.log_every} steps)")
        clock = StepClock(start, self.stop_at)
        metrics: dict = {}
        t0 = time.perf_counter() - self.wall_offset
        pending = [m for m in self.snapshot_minutes if not (self.run_dir / snapshot_name(m)).exists()]
        done = start
        for step in range(start, start if self._out_of_patience() else self.stop_at):
            logs = self.task.train_step(step)
            done = step + 1
            wall = time.perf_counter() - t0
            if done % self.log_every == 0 or done == self.steps:
                log.write({"step": done, **logs, "wall_s": round(wall, 2)})
                progress_line(f"{self.title}: {clock.line(done, loss=logs['loss'])}")
            while pending and wall >= 60 * pending[0]:
                name = snapshot_name(pending.pop(0))
                self.task.save(self.run_dir / name, None)
                log.write({"step": done, "snapshot": name, "wall_s": round(wall, 2)})
            if done in self.snapshot_steps:
                self.task.save(self.run_dir / step_snapshot_name(done), None)
                log.write({"step": done, "snapshot": step_snapshot_name(done), "wall_s": round(wall, 2)})
            if done % self.eval_every == 0 or done == self.steps:
                metrics = self.task.evaluate()
                log.write({"step": done, **metrics})
                self.stale += 1
                improved = metrics[self.monitor] < best
                if improved:
                    best, self.stale = metrics[self.monitor], 0
                    self.task.save(self.run_dir / "best", None)
                progress_line(f"{self.title}: step {done}: {self.monitor} {metrics[self.monitor]:.4f}"
                              + (" (best so far, saved)" if improved else f" (best {best:.4f})"))
                if self._out_of_patience():
                    log.write({"step": done, "early_stop": f"no better {self.monitor} in {self.patience} "
                                                          "evaluations"})
                    progress_line(f"{self.title}: stopping early: no better {self.monitor} in {self.patience} "
                                  "evaluations")
            stopping = self._out_of_patience()
            if done % self.save_every == 0 or done in (self.steps, self.stop_at) or stopping:
                self.task.save(self.run_dir / "last", {"step": done, "best": best, "task": self.task.state_dict(),
                                                       "wall_s": time.perf_counter() - t0, "stale": self.stale})
                plot_curves(log, self.run_dir / "loss.png", self.title, self.panels)
            if stopping:
                break
        if self._out_of_patience():
            return {"step": done, "early_stopped": True, "best": best, **metrics}
        return {"step": self.stop_at, "best": best, **metrics}
