"""What single-model training tasks share: AdamW with decay only on matrices, warm-up + cosine LR, an EMA
copy that is evaluated and saved, step-seeded randomness, and state for exact resume."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import torch

from protdidi.precision import native_bf16
from protdidi.trainer import ema_update, optimizer_step, warmup_cosine


class EmaTrainingTask:
    """Base for trainer tasks that optimise one model (`self.model`) and ship its EMA (`self.ema`).

    `cfg` needs lr, betas, weight_decay, steps, warmup_steps, min_lr_frac, seed, grad_clip, ema and precision
    (an `OptimConfig`)."""

    def __init__(self, model: torch.nn.Module, cfg, device: torch.device,
                 save_fn: Callable[[Path, torch.nn.Module, dict | None], None]):
        self.model = model.to(device).train()
        self.ema = copy.deepcopy(self.model).eval().requires_grad_(False)
        self.cfg, self.device, self.save_fn = cfg, device, save_fn
        decay = [p for p in self.model.parameters() if p.dim() >= 2]
        no_decay = [p for p in self.model.parameters() if p.dim() < 2]
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                      {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=cfg.betas)

    def begin_step(self, step: int) -> tuple[float, torch.Generator]:
        """Set this step's learning rate and seeds; returns (lr, the step's generator)."""
        cfg = self.cfg
        lr = cfg.lr * warmup_cosine(step, cfg.steps, cfg.warmup_steps, cfg.min_lr_frac)
        for group in self.opt.param_groups:
            group["lr"] = lr
        torch.manual_seed(cfg.seed * 7919 + step)  # dropout draws: a function of the step
        return lr, torch.Generator(device=self.device).manual_seed(cfg.seed * 1_000_003 + step)

    def autocast(self):
        """The training forward's precision context: bf16 autocast when `cfg.precision` is "bf16", or "auto" on a
        device with native bf16."""
        bf16 = self.cfg.precision == "bf16" or (self.cfg.precision == "auto" and native_bf16(self.device))
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=bf16)

    def finish_step(self, loss: torch.Tensor, what: str) -> float:
        """Backward, NaN guard, clip, AdamW step, EMA update; returns the gradient norm."""
        grad_norm = optimizer_step(loss, self.model.parameters(), self.opt, self.cfg.grad_clip, what)
        ema_update(self.ema, self.model, self.cfg.ema)
        return grad_norm

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "ema": self.ema.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        self.opt.load_state_dict(state["opt"])

    def save(self, path: Path, trainer_state: dict | None) -> None:
        self.save_fn(path, self.ema, trainer_state)
