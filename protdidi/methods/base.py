"""What every distillation method's trainer task shares: a frozen teacher, a trainable student copied from it
with an EMA that ships, DDP wrapping under torchrun, randomness seeded by (seed, step, rank), and the
train/eval mode of every network, set in one place (`set_modes`) before each phase of an iteration."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch

from protdidi.batching import BatchStream
from protdidi.config import require
from protdidi.denoiser import MaskedDenoiser
from protdidi.distributed import is_distributed, rank
from protdidi.schedule import LogLinearSchedule


@dataclass
class DistillLoopConfig:
    steps: int = 10000
    batch_size: int = 8  # real partners per process and iteration (rollouts = batch_size × group_size)
    seed: int = 0
    eval_every: int = 200
    save_every: int = 200
    log_every: int = 10
    eval_samples: int = 32
    eval_nfe: int = 16
    snapshot_minutes: tuple[float, ...] = ()  # keep at-{m}min/ copies of the EMA student (equal-time studies)
    snapshot_steps: tuple[int, ...] = ()  # keep at-step{s}/ copies of the EMA student (curves against iterations)

    def __post_init__(self) -> None:
        sizes = (self.steps, self.batch_size, self.eval_every, self.save_every, self.log_every, self.eval_samples,
                 self.eval_nfe)
        require(min(sizes) >= 1, "steps, batch_size, eval_every, save_every, log_every, eval_samples and eval_nfe "
                "must be >= 1")
        require(all(m >= 0 for m in self.snapshot_minutes), "snapshot_minutes must be >= 0")
        require(all(1 <= s <= self.steps for s in self.snapshot_steps), "snapshot_steps must lie in [1, steps]")


@dataclass(frozen=True)
class Method:
    """What a distillation method says about itself, so that the run, the checkpoint and the plots never ask for
    a method by name. `config`: its dataclass (the run config's section named `name`); `task`: its trainer task
    (`DistillTask` subclass); `components`: the networks its `save` writes beside the student (checkpoint files
    `<name>.safetensors`; a "discriminator" makes the student usable with `--sampler rgas`); `panels`: the
    loss-curve panels; `teacher_pool(section)`: (size, NFE) of the many-step teacher samples the method trains on
    instead of data, or None; `checkpoint_config(run_cfg)`: what the student's config.json records beyond the
    common fields (e.g. the reward-guided sampler's settings for a student that has a discriminator)."""

    name: str
    config: type
    task: type
    components: tuple[str, ...]
    panels: tuple[tuple[str, ...], ...]
    teacher_pool: Callable[[object], tuple[int, int] | None] = lambda section: None
    checkpoint_config: Callable[[object], dict] = lambda run_cfg: {}


class DistillTask:
    def __init__(self, teacher: MaskedDenoiser, schedule: LogLinearSchedule, stream: BatchStream, loop,
                 device: torch.device, evaluate_fn: Callable[[MaskedDenoiser], dict[str, float]],
                 save_fn: Callable[..., None]):
        self.loop, self.schedule, self.stream, self.device = loop, schedule, stream, device
        self.evaluate_fn, self.save_fn = evaluate_fn, save_fn
        self.teacher = teacher.to(device).eval().requires_grad_(False)
        self.student = self.trainable_copy()
        self.ema = copy.deepcopy(self.teacher)
        self._wrappers: list[torch.nn.Module] = []

    def networks(self) -> list[torch.nn.Module]:
        """Every network the task runs; subclasses add their own (fake model, discriminator …)."""
        return [self.teacher, self.student, self.ema]

    def set_modes(self, *training: torch.nn.Module) -> None:
        """Networks in `training` run in training mode (dropout on, spectral-norm estimates refreshed), every
        other network of the task in eval mode. Each phase of an iteration starts with one call, so no forward
        pass runs in a mode left over from another phase, whatever dropout the networks were built with."""
        for net in self.networks():
            net.train(any(net is t for t in training))
        for wrapper in self._wrappers:  # DDP wrappers mirror the module they hold
            wrapper.training = wrapper.module.training

    @property
    def vocab(self):
        return self.teacher.vocab

    def trainable_copy(self) -> MaskedDenoiser:
        """A fresh copy of the teacher with gradients on (its mode is set per phase by `set_modes`)."""
        return copy.deepcopy(self.teacher).requires_grad_(True)

    def ddp(self, module: torch.nn.Module) -> torch.nn.Module:
        """`module` wrapped in DistributedDataParallel under torchrun, else itself."""
        if not is_distributed():
            return module
        from torch.nn.parallel import DistributedDataParallel as DDP

        wrapper = DDP(module, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        self._wrappers.append(wrapper)
        return wrapper

    def step_generator(self, step: int) -> torch.Generator:
        """Seed the global RNG (dropout) and return this step's generator: a pure function of (seed, step, rank)."""
        seed = (self.loop.seed * 1_000_003 + step) * 4099 + rank()
        torch.manual_seed(seed)
        return torch.Generator(device=self.device).manual_seed(seed)

    @staticmethod
    def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
        for group in opt.param_groups:
            group["lr"] = lr

    def evaluate(self) -> dict[str, float]:
        return self.evaluate_fn(self.ema)
