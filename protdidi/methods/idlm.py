"""IDLM, inverse distillation (arXiv 2602.19066), MDLM variant, over `MaskedDenoiser`/`Vocab`.

A "fake" denoiser f (initialised from the teacher f*) is fitted with the MDLM loss to the student's outputs;
the student minimises L(f*, p_θ) − L(f, p_θ). The student's output is relaxed to the simplex:
G_θ = exp(SUBS log-probs of the student at x_t), with x_t real data corrupted at antithetic t. A fresh t'
re-corrupts it: x_t' ~ Cat(α_t'·G + (1−α_t')·m), drawn without gradient. Under SUBS, unmasked positions of
x_t' carry no loss, and at masked ones x_t' = m does not depend on θ, so the generator loss is
  L_gen = −λ_t' Σ_masked ⟨G, a⟩,  a = log f*(x_t') − log f(x_t')  (the teacher-over-fake advantage),
whose gradient in the student logits z is ∂L/∂z_i = −λ G_i (a_i − ⟨G, a⟩). The fake loss is the soft
cross-entropy −λ Σ_masked ⟨sg(G), log f(x_t')⟩. One fake update, then one generator update (fake_frequency 1).
Modes, as the released code: in the fake step only the fake is in training mode; in the generator step only the
student (its dropout, if any, is part of the relaxed output it is trained through).
See arXiv 2602.19066: the objective §3.1, the relaxation §3.2, the algorithm §3.4 and Algorithms 1-2.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from protdidi.batching import BatchStream
from protdidi.denoiser import MaskedDenoiser
from protdidi.distributed import mean_across
from protdidi.methods.base import DistillLoopConfig, DistillTask, Method
from protdidi.methods.rewards import finite_or_zero
from protdidi.schedule import LogLinearSchedule, add_noise, antithetic_times
from protdidi.trainer import ema_update, optimizer_step


@dataclass
class IdlmConfig:
    """Defaults are the specification's OWT values (lr 1e-6, constant after 2,500 warm-up steps, EMA 0.9999,
    no gradient clipping: 0 means none)."""

    student_lr: float = 1e-6
    fake_lr: float = 1e-6
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    warmup_steps: int = 2500
    grad_clip: float = 0.0
    fake_frequency: int = 1  # fake updates per generator update
    student_ema: float = 0.9999
    fake_ema: float = 0.9999

    def __post_init__(self) -> None:
        if self.student_lr <= 0 or self.fake_lr <= 0 or self.fake_frequency < 1:
            raise ValueError("learning rates must be > 0 and fake_frequency >= 1")
        if not (0 <= self.student_ema < 1 and 0 <= self.fake_ema < 1):
            raise ValueError("EMA decays must be in [0, 1)")


def generator_loss(student_lp: torch.Tensor, teacher_lp: torch.Tensor, fake_lp: torch.Tensor,
                   masked: torch.Tensor, weight: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """−Σ_masked λ⟨G, log f* − log f⟩ / tokens, with G = exp(student_lp) (gradient flows through G only).
    student_lp: Float[B, L, V] with grad; teacher_lp, fake_lp: Float[B, L, V] without; masked: Bool[B, L] (of x_t');
    weight: Float[B] (λ_t'); tokens: number of valid tokens (normaliser)."""
    advantage = finite_or_zero(teacher_lp) - finite_or_zero(fake_lp)
    inner = (student_lp.exp() * advantage.detach()).sum(-1)
    return -(inner * masked * weight[:, None]).sum() / tokens


def fake_loss(target: torch.Tensor, fake_lp: torch.Tensor, masked: torch.Tensor, weight: torch.Tensor,
              tokens: torch.Tensor) -> torch.Tensor:
    """MDLM loss of the fake model on soft targets: −Σ_masked λ⟨target, log f(x_t')⟩ / tokens."""
    inner = (target.detach() * finite_or_zero(fake_lp)).sum(-1)
    return -(inner * masked * weight[:, None]).sum() / tokens


def recorrupt(probs: torch.Tensor, alpha: torch.Tensor, valid: torch.Tensor, mask_id: int, pad_id: int,
              generator: torch.Generator) -> torch.Tensor:
    """x_t' ~ Cat(α_t'·G + (1−α_t')·m) per valid position (no gradient); `pad_id` where `valid` is False."""
    b, n, v = probs.shape
    flat = probs.detach().double().reshape(-1, v).clamp_min(0)
    drawn = torch.multinomial(flat, 1, generator=generator).view(b, n)
    keep = torch.rand((b, n), generator=generator, device=probs.device, dtype=torch.float64) < alpha.double()[:, None]
    out = torch.where(keep, drawn, torch.full_like(drawn, mask_id))
    return out.masked_fill(~valid, pad_id)


class IdlmTask(DistillTask):
    """A trainer task: per iteration `fake_frequency` fake updates, then one generator update."""

    def __init__(self, teacher: MaskedDenoiser, schedule: LogLinearSchedule, stream: BatchStream, cfg: IdlmConfig,
                 loop: DistillLoopConfig, device: torch.device,
                 evaluate_fn: Callable[[MaskedDenoiser], dict[str, float]],
                 save_fn: Callable[..., None]):
        super().__init__(teacher, schedule, stream, loop, device, evaluate_fn, save_fn)
        self.cfg = cfg
        self.fake = self.trainable_copy()
        self.fake_ema = copy.deepcopy(self.teacher)
        self.student_ddp, self.fake_ddp = self.ddp(self.student), self.ddp(self.fake)
        kw = dict(betas=cfg.betas, weight_decay=cfg.weight_decay)
        self.student_opt = torch.optim.AdamW(self.student.parameters(), lr=cfg.student_lr, **kw)
        self.fake_opt = torch.optim.AdamW(self.fake.parameters(), lr=cfg.fake_lr, **kw)

    def _student_outputs(self, x0, valid, g):
        """ε = (x_t, t): real data at antithetic t; returns the student's SUBS log-probs at x_t (with grad)."""
        t = antithetic_times(x0.shape[0], g, device=x0.device)
        xt = add_noise(x0, self.schedule.alpha(t), self.vocab.mask_id, g, valid)
        return self.student_ddp(xt, t, valid)

    def _recorrupted(self, probs, valid, g):
        t2 = antithetic_times(probs.shape[0], g, device=probs.device)
        xt2 = recorrupt(probs, self.schedule.alpha(t2), valid, self.vocab.mask_id, self.vocab.pad_id, g)
        return xt2, t2, (xt2 == self.vocab.mask_id) & valid, self.schedule.loss_weight(t2).float()

    def networks(self) -> list[torch.nn.Module]:
        return [*super().networks(), self.fake, self.fake_ema]

    def train_step(self, step: int) -> dict[str, float]:
        cfg = self.cfg
        scale = min(1.0, (step + 1) / max(1, cfg.warmup_steps))
        self.set_lr(self.student_opt, cfg.student_lr * scale)
        self.set_lr(self.fake_opt, cfg.fake_lr * scale)
        g = self.step_generator(step)
        x0, valid = (t.to(self.device) for t in self.stream.batch(step))
        tokens = valid.sum().clamp_min(1)
        fake_losses = [self._fake_step(x0, valid, tokens, g) for _ in range(cfg.fake_frequency)]
        loss, grad_norm = self._generator_step(x0, valid, tokens, g)
        return {"loss": mean_across(loss), "fake_loss": mean_across(sum(fake_losses) / len(fake_losses)),
                "grad_norm": grad_norm, "lr": cfg.student_lr * scale}

    def _fake_step(self, x0, valid, tokens, g) -> float:
        """Fit the fake to the student's current outputs. The student (targets) runs in eval mode, as released."""
        self.set_modes(self.fake)
        with torch.no_grad():
            probs = self._student_outputs(x0, valid, g).exp()
        xt2, t2, masked, lam = self._recorrupted(probs, valid, g)
        loss = fake_loss(probs, self.fake_ddp(xt2, t2, valid), masked, lam, tokens)
        optimizer_step(loss, self.fake.parameters(), self.fake_opt, self.cfg.grad_clip, "fake")
        ema_update(self.fake_ema, self.fake, self.cfg.fake_ema)
        return float(loss.detach())

    def _generator_step(self, x0, valid, tokens, g) -> tuple[float, float]:
        """One student update. Teacher and fake score in eval mode: with dropout in the fake, a = log f* − log f
        would otherwise carry the dropout noise and not vanish when fake = teacher."""
        self.set_modes(self.student)
        student_lp = self._student_outputs(x0, valid, g)
        xt2, t2, masked, lam = self._recorrupted(student_lp.exp(), valid, g)
        with torch.no_grad():
            teacher_lp, fake_lp = self.teacher(xt2, t2, valid), self.fake(xt2, t2, valid)
        loss = generator_loss(student_lp, teacher_lp, fake_lp, masked, lam, tokens)
        grad_norm = optimizer_step(loss, self.student.parameters(), self.student_opt, self.cfg.grad_clip, "generator")
        ema_update(self.ema, self.student, self.cfg.student_ema)
        return float(loss.detach()), grad_norm

    def state_dict(self) -> dict:
        return {"student": self.student.state_dict(), "ema": self.ema.state_dict(), "fake": self.fake.state_dict(),
                "fake_ema": self.fake_ema.state_dict(), "student_opt": self.student_opt.state_dict(),
                "fake_opt": self.fake_opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        for name in ("student", "ema", "fake", "fake_ema"):
            getattr(self, name).load_state_dict(state[name])
        self.student_opt.load_state_dict(state["student_opt"])
        self.fake_opt.load_state_dict(state["fake_opt"])

    def save(self, path: Path, trainer_state: dict | None) -> None:
        self.save_fn(path, self.ema, {"fake": self.fake_ema}, {}, trainer_state)


METHOD = Method(name="idlm", config=IdlmConfig, task=IdlmTask, components=("fake",),
                panels=(("loss",), ("fake_loss",), ("valid_sample_nelbo",), ("valid_sample_entropy",)))
