"""BERT/ESM-2 masked-LM training (15% of positions, 80% mask / 10% random / 10% unchanged).

Used for the project judge, which must not share the teacher's objective."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from protdidi.batching import BatchStream, fixed_batches
from protdidi.tasks.mdlm import OptimConfig
from protdidi.trainer import ema_update, optimizer_step, warmup_cosine
from protdidi.vocab import Vocab


def mlm_corrupt(x0: torch.Tensor, valid: torch.Tensor, vocab: Vocab, generator: torch.Generator,
                rate: float = 0.15) -> tuple[torch.Tensor, torch.Tensor]:
    """Select `rate` of valid positions; of those 80% → mask, 10% → a random sampleable token, 10% kept.
    Returns (inputs, selected)."""
    dev = x0.device
    selected = (torch.rand(x0.shape, generator=generator, device=dev) < rate) & valid
    action = torch.rand(x0.shape, generator=generator, device=dev)
    choices = vocab.sampleable_ids(dev)
    random_tok = choices[torch.randint(len(choices), x0.shape, generator=generator, device=dev)]
    inputs = torch.where(selected & (action < 0.8), vocab.mask_id, x0)
    inputs = torch.where(selected & (action >= 0.8) & (action < 0.9), random_tok, inputs)
    return inputs, selected


def mlm_loss(logits_fn: Callable[[torch.Tensor], torch.Tensor], x0: torch.Tensor, valid: torch.Tensor, vocab: Vocab,
             generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed cross-entropy over the selected positions, and their count."""
    inputs, selected = mlm_corrupt(x0, valid, vocab, generator)
    logits = logits_fn(inputs).float().masked_fill(vocab.special_mask(x0.device), float("-inf"))
    ce = F.cross_entropy(logits[selected], x0[selected], reduction="sum")
    return ce, selected.sum()


class MlmTask:
    """Trainer task: ESM-2-recipe masked LM on `stream`; evaluates the EMA model's validation CE."""

    def __init__(self, model, logits_fn, stream: BatchStream, valid: list[torch.Tensor], vocab: Vocab,
                 cfg: OptimConfig, max_length: int, device: torch.device,
                 save_fn: Callable[[Path, torch.nn.Module, dict | None], None]):
        self.model = model.to(device).train()
        self.ema = copy.deepcopy(self.model).eval().requires_grad_(False)
        self.logits_fn, self.stream, self.valid, self.vocab = logits_fn, stream, valid, vocab
        self.cfg, self.max_length, self.device, self.save_fn = cfg, max_length, device, save_fn
        decay = [p for p in self.model.parameters() if p.dim() >= 2]
        no_decay = [p for p in self.model.parameters() if p.dim() < 2]
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                      {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=cfg.betas)

    def train_step(self, step: int) -> dict[str, float]:
        cfg = self.cfg
        lr = cfg.lr * warmup_cosine(step, cfg.steps, cfg.warmup_steps, cfg.min_lr_frac)
        for group in self.opt.param_groups:
            group["lr"] = lr
        torch.manual_seed(cfg.seed * 7919 + step)
        g = torch.Generator(device=self.device).manual_seed(cfg.seed * 1_000_003 + step)
        x0, valid = (t.to(self.device) for t in self.stream.batch(step))
        ce, n = mlm_loss(lambda x: self.logits_fn(self.model, x, valid), x0, valid, self.vocab, g)
        loss = ce / n.clamp_min(1)
        grad_norm = optimizer_step(loss, self.model.parameters(), self.opt, cfg.grad_clip, "MLM")
        ema_update(self.ema, self.model, cfg.ema)
        return {"loss": float(loss.detach()), "lr": lr, "grad_norm": grad_norm}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        g = torch.Generator(device=self.device).manual_seed(1234)
        total, count = 0.0, 0
        for x0, valid in fixed_batches(self.valid, self.cfg.eval_batch_size, self.max_length, self.vocab.pad_id):
            x0, valid = x0.to(self.device), valid.to(self.device)
            ce, n = mlm_loss(lambda x, v=valid: self.logits_fn(self.ema, x, v), x0, valid, self.vocab, g)
            total, count = total + float(ce), count + int(n)
        value = total / max(1, count)
        return {"valid_mlm_ce": value, "valid_mlm_ppl": math.exp(value)}

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "ema": self.ema.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        self.opt.load_state_dict(state["opt"])

    def save(self, path: Path, trainer_state: dict | None) -> None:
        self.save_fn(path, self.ema, trainer_state)
