"""Teacher training: MDLM's continuous-time NELBO on real sequences, with an EMA copy that ships."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from protdidi.batching import BatchStream, fixed_batches
from protdidi.config import require
from protdidi.denoiser import MaskedDenoiser, nelbo, nelbo_by_mask_count
from protdidi.precision import PRECISIONS
from protdidi.schedule import LogLinearSchedule
from protdidi.tasks.base import EmaTrainingTask


@dataclass
class OptimConfig:
    steps: int = 20000
    batch_size: int = 64
    lr: float = 1e-3
    min_lr_frac: float = 0.1
    warmup_steps: int = 500
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.98)
    grad_clip: float = 1.0
    ema: float = 0.999
    seed: int = 0
    eval_every: int = 1000
    save_every: int = 1000
    log_every: int = 50
    eval_batch_size: int = 64
    precision: str = "fp32"  # or "bf16": the training forward under bf16 autocast (for GPUs; on CPUs without bf16
    #                          matrix units it is far slower), or "auto": bf16 where the device has native bf16
    #                          (`protdidi.precision`); weights, optimiser state and evaluation stay fp32
    patience: int | None = None  # stop after this many evaluations without a better validation NELBO (None: never)

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("steps, batch_size and lr must be positive")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)} (got {self.precision!r})")
        if not 0 <= self.ema < 1:
            raise ValueError("ema must be in [0, 1)")
        require(min(self.eval_every, self.save_every, self.log_every, self.eval_batch_size) >= 1,
                "eval_every, save_every, log_every and eval_batch_size must be >= 1")
        require(self.warmup_steps >= 0 and self.weight_decay >= 0 and self.grad_clip >= 0,
                "warmup_steps, weight_decay and grad_clip must be >= 0")
        require(0 <= self.min_lr_frac <= 1 and all(0 <= b < 1 for b in self.betas),
                "min_lr_frac must be in [0, 1] and betas in [0, 1)")
        require(self.patience is None or self.patience >= 1, "patience must be >= 1 (or null: never stop early)")


@torch.no_grad()
def evaluate_nelbo(
    denoiser: MaskedDenoiser,
    seqs: list[torch.Tensor],
    schedule: LogLinearSchedule,
    max_length: int,
    batch_size: int = 64,
    passes: int = 1,
    seed: int = 1234,
    device: str | torch.device = "cpu",
    estimator: str = "t",
) -> float:
    """Per-token NELBO (nats) over `seqs`, averaging `passes` fixed-seed Monte-Carlo draws.

    estimator: "t" draws t and masks as training does (`nelbo`); "mask-count" draws the number of masked
    positions instead (`nelbo_by_mask_count`: same quantity, much lower variance, only for denoisers that
    ignore t); "auto" takes "mask-count" where it applies. Sequences longer than `max_length` are scored on
    their first window."""
    if estimator == "auto":
        estimator = "t" if denoiser.time_conditioned else "mask-count"
    if estimator not in ("t", "mask-count"):
        raise ValueError(f"unknown NELBO estimator {estimator!r}")
    was_training = denoiser.training
    denoiser.eval()
    total, tokens = 0.0, 0
    g = torch.Generator(device=device).manual_seed(seed)
    for _ in range(passes):
        for x0, valid in fixed_batches(seqs, batch_size, max_length, denoiser.vocab.pad_id):
            x0, valid = x0.to(device), valid.to(device)
            terms = nelbo(denoiser, x0, valid, schedule, g) if estimator == "t" else \
                nelbo_by_mask_count(denoiser, x0, valid, g)
            total += float(terms.total)
            tokens += int(terms.tokens)
    denoiser.train(was_training)
    return total / tokens


def unigram_nll(train: list[torch.Tensor], test: list[torch.Tensor], vocab_size: int, max_length: int) -> float:
    """Cross-entropy (nats/token) of `test` under add-one-smoothed token frequencies of `train`,
    counted over the ids that occur in either set (the baseline a sequence model must beat)."""
    train_counts = torch.bincount(torch.cat([s[:max_length] for s in train]), minlength=vocab_size).double()
    test_counts = torch.bincount(torch.cat([s[:max_length] for s in test]), minlength=vocab_size).double()
    support = (train_counts + test_counts) > 0
    probs = (train_counts + 1.0) * support
    probs = probs / probs.sum()
    return float(-(test_counts[support] * probs[support].log()).sum() / test_counts.sum())


def nelbo_vs_unigram(model: MaskedDenoiser, train: list[torch.Tensor], sets: dict[str, list[torch.Tensor]],
                     schedule: LogLinearSchedule, max_length: int, batch_size: int, device) -> dict[str, dict]:
    """Per split: NELBO perplexity (4 fixed-seed passes, the "auto" estimator) next to the add-one unigram
    baseline from `train`."""
    out = {}
    for split, seqs in sets.items():
        if not seqs:
            continue
        nll = evaluate_nelbo(model, seqs, schedule, max_length, batch_size, passes=4, device=device,
                             estimator="auto")
        uni = unigram_nll(train, seqs, model.vocab.size, max_length)
        out[split] = {"estimator": "t" if model.time_conditioned else "mask-count", "nelbo": nll,
                      "nelbo_ppl": math.exp(nll), "unigram_nll": uni, "unigram_ppl": math.exp(uni),
                      "ppl_reduction": 1 - math.exp(nll) / math.exp(uni)}
    return out


class MdlmTask(EmaTrainingTask):
    """Optimises the NELBO of `model` on `stream`; evaluates and saves the EMA model."""

    def __init__(self, model: MaskedDenoiser, schedule: LogLinearSchedule, stream: BatchStream,
                 valid: list[torch.Tensor], cfg: OptimConfig, max_length: int, device: torch.device,
                 save_fn: Callable[[Path, MaskedDenoiser, dict | None], None]):
        super().__init__(model, cfg, device, save_fn)
        self.schedule, self.stream, self.valid, self.max_length = schedule, stream, valid, max_length

    def train_step(self, step: int) -> dict[str, float]:
        lr, g = self.begin_step(step)
        x0, valid = (t.to(self.device) for t in self.stream.batch(step))
        with self.autocast():
            loss = nelbo(self.model, x0, valid, self.schedule, g).per_token.float()
        grad_norm = self.finish_step(loss, "NELBO")
        return {"loss": float(loss.detach()), "lr": lr, "grad_norm": grad_norm, "tokens": int(valid.sum())}

    def evaluate(self) -> dict[str, float]:
        value = evaluate_nelbo(self.ema, self.valid, self.schedule, self.max_length, self.cfg.eval_batch_size,
                               device=self.device, estimator="auto")
        return {"valid_nelbo": value, "valid_ppl": math.exp(value)}
