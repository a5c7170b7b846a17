"""BERT/ESM-2 masked-LM training (15% of positions, 80% mask / 10% random / 10% unchanged).

Used for the project judge, which must not share the teacher's objective."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from protdidi.batching import BatchStream, fixed_batches
from protdidi.tasks.base import EmaTrainingTask
from protdidi.tasks.mdlm import OptimConfig
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


class MlmTask(EmaTrainingTask):
    """Trainer task: ESM-2-recipe masked LM on `stream`; evaluates the EMA model's validation CE."""

    def __init__(self, model, logits_fn, stream: BatchStream, valid: list[torch.Tensor], vocab: Vocab,
                 cfg: OptimConfig, max_length: int, device: torch.device,
                 save_fn: Callable[[Path, torch.nn.Module, dict | None], None]):
        super().__init__(model, cfg, device, save_fn)
        self.logits_fn, self.stream, self.valid, self.vocab = logits_fn, stream, valid, vocab
        self.max_length = max_length

    def train_step(self, step: int) -> dict[str, float]:
        lr, g = self.begin_step(step)
        x0, valid = (t.to(self.device) for t in self.stream.batch(step))
        with self.autocast():
            ce, n = mlm_loss(lambda x: self.logits_fn(self.model, x, valid), x0, valid, self.vocab, g)
        loss = ce.float() / n.clamp_min(1)
        return {"loss": float(loss.detach()), "lr": lr, "grad_norm": self.finish_step(loss, "MLM")}

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
