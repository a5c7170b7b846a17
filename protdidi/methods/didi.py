"""DiDi-Instruct (arXiv 2509.25035): distil a masked-diffusion teacher into a few-step student by minimising
the integral KL between the student-pushed and the real marginals, with a discriminator as density-ratio
estimator and a grouped policy-gradient update. Written once over `MaskedDenoiser`/`Vocab`.

One iteration (arXiv 2509.25035, the method section's training algorithm, as the authors' released code runs it):
  real partners x (B) → repeated G times; τ ~ Beta(a, b) per rollout (or per group: `shared_tau`), clamped to
  [τ_min, 1 − τ_min];
  student rollout 1 → τ → t_final (no grad); z_fake, z_real = both re-masked at α(τ) ("coupled time");
  D step (BCE, label smoothing, masked positions only); reward r = mean masked clip(logit D(z_fake), ±8);
  A = group-normalised r; L = −mean(ω(τ)·A·(logp₁+logp₂)) + kl_beta·(c_hi·KL₁ + c_lo·KL₂) − ent_beta·H;
  student step; EMA.
Modes (`DistillTask.set_modes`): the discriminator trains in its own step only; the student samples, and is
re-scored with gradient, in eval mode (a deliberate deviation from the released code, see `_student_step`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from protdidi.batching import BatchStream
from protdidi.denoiser import MaskedDenoiser
from protdidi.discriminator import Discriminator
from protdidi.distributed import mean_across, world_size
from protdidi.methods.base import DistillLoopConfig, DistillTask, Method
from protdidi.methods.rewards import (
    finite_or_zero,
    group_normalize,
    log_odds_reward,
    masked_mean,
    pooled_masked_mean,
    time_weight,
)
from protdidi.methods.rollout import trajectory_logprob, two_step_rollout
from protdidi.schedule import LogLinearSchedule, add_noise
from protdidi.trainer import ema_update, optimizer_step

REAL_SIDES = ("data", "teacher")


@dataclass
class DidiConfig:
    """Every coefficient of the method; defaults are the specification's (released-code) values."""

    group_size: int = 4  # G rollouts share one real partner
    tau_beta: tuple[float, float] = (1.0, 1.0)  # τ ~ Beta(a, b): 'beta11' = uniform
    tau_min: float = 0.02  # τ clamped to [tau_min, 1 − tau_min]
    shared_tau: bool = False  # the G rollouts of a group share one τ (released code: each draws its own)
    t_final: float = 1e-3  # the rollout's second step ends here
    remask_prob: float = 0.0
    importance_weight: bool = False  # divide ω by the Beta density π(τ)
    omega_min: float = 0.1
    omega_max: float = 10.0
    reward_clip: float = 8.0
    advantage_clip: float = 3.0
    grouped_advantage: bool = True  # normalise rewards within each group (released); False: over the whole batch
    advantage_eps: float = 1e-8
    label_smoothing: float = 0.1
    real_side: str = "data"  # 'data' (training sequences, as released) or 'teacher' (many-step teacher samples)
    teacher_pool_size: int = 512
    teacher_pool_nfe: int = 256
    disc_unfrozen_blocks: int = 4
    disc_lr: float = 1e-5
    disc_betas: tuple[float, float] = (0.9, 0.999)
    disc_weight_decay: float = 0.0
    disc_grad_clip: float = 1.0
    student_lr: float = 1e-6
    student_betas: tuple[float, float] = (0.9, 0.999)
    student_weight_decay: float = 0.0
    student_grad_clip: float = 0.5
    warmup_steps: int = 1000  # linear warm-up, then linear decay to 0 at the last step (both optimisers)
    kl_beta: float = 1.0
    kl_hi_coef: float = 0.01  # KL(teacher ‖ student) at the all-mask input
    kl_lo_coef: float = 0.01  # … and at x_τ
    entropy_beta: float = 5e-4
    ema: float = 0.999

    def __post_init__(self) -> None:
        if self.group_size < 1:
            raise ValueError("group_size must be >= 1")
        if min(self.tau_beta) <= 0:
            raise ValueError("tau_beta parameters must be > 0")
        if not 0 < self.tau_min < 0.5:
            raise ValueError("tau_min must be in (0, 0.5)")
        if not 0 <= self.t_final < self.tau_min:
            raise ValueError("t_final must be in [0, tau_min)")
        if self.real_side not in REAL_SIDES:
            raise ValueError(f"real_side must be one of {REAL_SIDES} (got {self.real_side!r})")
        if not 0 <= self.label_smoothing < 0.5 or not 0 <= self.remask_prob < 1 or not 0 <= self.ema < 1:
            raise ValueError("label_smoothing must be in [0, 0.5), remask_prob and ema in [0, 1)")
        if self.student_lr <= 0 or self.disc_lr <= 0:
            raise ValueError("learning rates must be > 0")


def warmup_linear(step: int, total: int, warmup: int) -> float:
    """LR multiplier: linear warm-up over `warmup` steps, then linear decay to 0 at `total`."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def sample_tau(cfg: DidiConfig, n: int, generator: torch.Generator, device) -> torch.Tensor:
    """τ ~ Beta(a, b) from the generator (as the ratio of two Gammas, via inverse-free sampling), clamped."""
    a, b = cfg.tau_beta
    if a == 1.0 and b == 1.0:
        tau = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
    else:
        # Gamma(k) draws from the generator: Marsaglia–Tsang on normals/uniforms of this generator.
        tau = _beta_from_generator(a, b, n, generator, device)
    return tau.clamp(cfg.tau_min, 1.0 - cfg.tau_min).float()


def rollout_times(cfg: DidiConfig, n: int, generator: torch.Generator, device) -> torch.Tensor:
    """One τ per rollout, or with `shared_tau` one per group of `group_size` consecutive rollouts, so that the
    group-normalised advantage compares rollouts split at the same time."""
    if not cfg.shared_tau:
        return sample_tau(cfg, n, generator, device)
    return sample_tau(cfg, n // cfg.group_size, generator, device).repeat_interleave(cfg.group_size)


def advantage_group(cfg: DidiConfig, rollouts: int) -> int:
    """How many consecutive rewards share the advantage's mean and std: a group, or (ablation) every rollout of
    the iteration on every rank."""
    return cfg.group_size if cfg.grouped_advantage else rollouts * world_size()


def _gamma(shape: float, n: int, generator: torch.Generator, device) -> torch.Tensor:
    boost = shape < 1
    d = (shape + 1 if boost else shape) - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    out = torch.empty(n, dtype=torch.float64, device=device)
    todo = torch.ones(n, dtype=torch.bool, device=device)
    while bool(todo.any()):
        z = torch.randn(n, generator=generator, device=device, dtype=torch.float64)
        u = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
        v = (1 + c * z) ** 3
        ok = (v > 0) & (torch.log(u.clamp_min(1e-300)) < 0.5 * z**2 + d - d * v + d * torch.log(v.clamp_min(1e-300)))
        take = todo & ok
        out[take] = (d * v)[take]
        todo &= ~ok
    if boost:
        out = out * torch.rand(n, generator=generator, device=device, dtype=torch.float64) ** (1.0 / shape)
    return out


def _beta_from_generator(a: float, b: float, n: int, generator: torch.Generator, device) -> torch.Tensor:
    x, y = _gamma(a, n, generator, device), _gamma(b, n, generator, device)
    return x / (x + y)


def beta_density(cfg: DidiConfig, tau: torch.Tensor) -> torch.Tensor:
    a, b = cfg.tau_beta
    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    return torch.exp(log_norm + (a - 1) * torch.log(tau) + (b - 1) * torch.log1p(-tau))


def discriminator_loss(logits: torch.Tensor, masked: torch.Tensor, real: bool, smoothing: float) -> torch.Tensor:
    """BCE with label smoothing (real → 1−s, fake → s), averaged over the masked positions of the batch."""
    target = torch.full_like(logits, 1.0 - smoothing if real else smoothing)
    bce = F.binary_cross_entropy_with_logits(logits.float(), target.float(), reduction="none")
    return pooled_masked_mean(bce, masked)


def kl_and_entropy(teacher_lp: torch.Tensor, student_lp: torch.Tensor, masked: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean over masked positions of KL(teacher ‖ student) and of the student's entropy (SUBS log-probs)."""
    t_safe, s_safe = finite_or_zero(teacher_lp), finite_or_zero(student_lp)
    kl = (teacher_lp.exp() * (t_safe - s_safe)).sum(-1)
    ent = -(student_lp.exp() * s_safe).sum(-1)
    return pooled_masked_mean(kl, masked), pooled_masked_mean(ent, masked)


class DidiTask(DistillTask):
    """A trainer task: one DiDi-Instruct iteration per `train_step`. The teacher is frozen and never saved."""

    def __init__(self, teacher: MaskedDenoiser, schedule: LogLinearSchedule, stream: BatchStream, cfg: DidiConfig,
                 loop: DistillLoopConfig, device: torch.device,
                 evaluate_fn: Callable[[MaskedDenoiser], dict[str, float]],
                 save_fn: Callable[..., None]):
        super().__init__(teacher, schedule, stream, loop, device, evaluate_fn, save_fn)
        self.cfg = cfg
        self.disc = Discriminator(self.teacher, cfg.disc_unfrozen_blocks).to(device)
        self.student_ddp, self.disc_ddp = self.ddp(self.student), self.ddp(self.disc)
        self.student_opt = torch.optim.AdamW(self.student.parameters(), lr=cfg.student_lr, betas=cfg.student_betas,
                                             weight_decay=cfg.student_weight_decay)
        self.disc_opt = torch.optim.AdamW([p for p in self.disc.parameters() if p.requires_grad], lr=cfg.disc_lr,
                                          betas=cfg.disc_betas, weight_decay=cfg.disc_weight_decay)

    # -- one iteration ------------------------------------------------------------------------------------
    def train_step(self, step: int) -> dict[str, float]:
        cfg, dev = self.cfg, self.device
        scale = warmup_linear(step, self.loop.steps, cfg.warmup_steps)
        self.set_lr(self.student_opt, cfg.student_lr * scale)
        self.set_lr(self.disc_opt, cfg.disc_lr * scale)
        g = self.step_generator(step)
        x_real, valid = (t.to(dev) for t in self.stream.batch(step))
        x_real = x_real.repeat_interleave(cfg.group_size, dim=0)
        valid = valid.repeat_interleave(cfg.group_size, dim=0)
        tau = rollout_times(cfg, x_real.shape[0], g, dev)

        self.set_modes()  # rollout: the student samples in eval mode (see _student_step)
        ro = two_step_rollout(self.student, valid, tau, self.schedule, cfg.t_final, g, cfg.remask_prob)
        alpha_tau = self.schedule.alpha(tau)
        z_real = add_noise(x_real, alpha_tau, self.vocab.mask_id, g, valid)
        z_fake = add_noise(ro.x0, alpha_tau, self.vocab.mask_id, g, valid)
        m_real = (z_real == self.vocab.mask_id) & valid
        m_fake = (z_fake == self.vocab.mask_id) & valid

        d_logs = self._discriminator_step(z_real, z_fake, m_real, m_fake, tau, valid)
        self.set_modes()  # the reward: the discriminator scores in eval mode (no dropout noise in the advantage)
        with torch.no_grad():
            reward = log_odds_reward(self.disc(z_fake, tau, valid), m_fake, cfg.reward_clip)
        adv = group_normalize(reward, advantage_group(cfg, reward.shape[0]), cfg.advantage_eps, cfg.advantage_clip)
        omega = time_weight(self.schedule, tau, cfg.omega_min, cfg.omega_max)
        if cfg.importance_weight:
            omega = omega / beta_density(cfg, tau)
        s_logs = self._student_step(ro, (omega * adv).detach())
        ema_update(self.ema, self.student, cfg.ema)
        return {"loss": s_logs.pop("loss"), **s_logs, **d_logs, "reward": mean_across(float(reward.mean())),
                "tau": float(tau.mean()), "lr": cfg.student_lr * scale}

    def _discriminator_step(self, z_real, z_fake, m_real, m_fake, tau, valid) -> dict[str, float]:
        cfg = self.cfg
        self.set_modes(self.disc)
        logits = self.disc_ddp(torch.cat([z_real, z_fake]), torch.cat([tau, tau]), torch.cat([valid, valid]))
        real, fake = logits.chunk(2)
        loss = 0.5 * (discriminator_loss(real, m_real, True, cfg.label_smoothing)
                      + discriminator_loss(fake, m_fake, False, cfg.label_smoothing))
        optimizer_step(loss, self.disc.parameters(), self.disc_opt, cfg.disc_grad_clip, "discriminator")
        with torch.no_grad():
            acc = 0.5 * (masked_mean((real > 0).float(), m_real).mean()
                         + masked_mean((fake < 0).float(), m_fake).mean())
        return {"d_loss": mean_across(float(loss.detach())), "d_acc": mean_across(float(acc))}

    def _student_step(self, ro, weight: torch.Tensor) -> dict[str, float]:
        """Policy gradient on the rollout's log-probability, plus the KL and entropy terms. The student runs in eval
        mode here as in the rollout: the score-function gradient needs the log-probability under the policy that
        drew the sample, and a fresh dropout mask would change that policy (the released code samples and
        re-scores in training mode, each with its own mask). With dropout 0 the two are identical."""
        cfg = self.cfg
        self.set_modes()
        xs, ts, vs = ro.inputs()
        log_probs = self.student_ddp(xs, ts, vs)
        lp1, lp2 = trajectory_logprob(log_probs, ro, self.vocab.mask_id)
        pg = -(weight * (lp1 + lp2)).mean()
        with torch.no_grad():
            teacher_lp = self.teacher(xs, ts, vs)
        masked = (xs == self.vocab.mask_id) & vs
        b = ro.x1.shape[0]
        kl1, h1 = kl_and_entropy(teacher_lp[:b], log_probs[:b], masked[:b])
        kl2, h2 = kl_and_entropy(teacher_lp[b:], log_probs[b:], masked[b:])
        entropy = 0.5 * (h1 + h2)
        loss = pg + cfg.kl_beta * (cfg.kl_hi_coef * kl1 + cfg.kl_lo_coef * kl2) - cfg.entropy_beta * entropy
        grad_norm = optimizer_step(loss, self.student.parameters(), self.student_opt, cfg.student_grad_clip, "student")
        out = {"loss": loss, "pg": pg, "kl_hi": kl1, "kl_lo": kl2, "entropy": entropy}
        return {**{k: mean_across(float(v.detach())) for k, v in out.items()}, "grad_norm": grad_norm}

    # -- trainer protocol ---------------------------------------------------------------------------------
    def networks(self) -> list[torch.nn.Module]:
        return [*super().networks(), self.disc]

    def state_dict(self) -> dict:
        return {"student": self.student.state_dict(), "ema": self.ema.state_dict(),
                "disc": self.disc.trainable_state(), "student_opt": self.student_opt.state_dict(),
                "disc_opt": self.disc_opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.student.load_state_dict(state["student"])
        self.ema.load_state_dict(state["ema"])
        self.disc.load_trainable_state(state["disc"], "trainer_state.pt")
        self.student_opt.load_state_dict(state["student_opt"])
        self.disc_opt.load_state_dict(state["disc_opt"])

    def save(self, path: Path, trainer_state: dict | None) -> None:
        self.save_fn(path, self.ema, {"discriminator": self.disc.trainable_state()},
                     {"discriminator": {"unfrozen_blocks": self.disc.unfrozen_blocks}}, trainer_state)


METHOD = Method(
    name="didi", config=DidiConfig, task=DidiTask, components=("discriminator",),
    panels=(("loss", "pg"), ("d_loss",), ("d_acc",), ("reward",), ("kl_hi", "kl_lo"), ("entropy",),
            ("valid_sample_nelbo",), ("valid_sample_entropy",)),
    teacher_pool=lambda cfg: (cfg.teacher_pool_size, cfg.teacher_pool_nfe) if cfg.real_side == "teacher" else None,
    checkpoint_config=lambda run_cfg: {"sampler": asdict(run_cfg.rgas)},  # the student ships RGAS's settings
)
