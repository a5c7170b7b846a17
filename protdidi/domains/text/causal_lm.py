"""A small GPT-2-architecture causal LM trained on the same corpus: the offline GenPPL evaluator.

It stands in for GPT-2 Large where nothing can be downloaded, and every output names it. It is an HF
`GPT2LMHeadModel` saved with its tokenizer, so `load_causal_lm(path)` reads it like any hub model.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from protdidi.atomic_dirs import write_dir_atomic
from protdidi.batching import BatchStream, fixed_batches
from protdidi.config import require, to_dict
from protdidi.domains.text.teacher import TextDataConfig, load_windows
from protdidi.tasks.base import EmaTrainingTask
from protdidi.tasks.mdlm import OptimConfig
from protdidi.training_run import Run


@dataclass
class CausalModelConfig:
    n_layer: int = 4
    n_embd: int = 128
    n_head: int = 4
    dropout: float = 0.1

    def __post_init__(self) -> None:
        require(min(self.n_layer, self.n_embd, self.n_head) >= 1, "n_layer, n_embd and n_head must be >= 1")
        require(self.n_embd % self.n_head == 0, f"n_embd {self.n_embd} is not a multiple of n_head {self.n_head}")
        require(0 <= self.dropout < 1, "dropout must be in [0, 1)")


@dataclass
class CausalLmRunConfig:
    name: str = "protdidi-text-evaluator"
    device: str = "auto"
    model: CausalModelConfig = field(default_factory=CausalModelConfig)
    data: TextDataConfig = field(default_factory=TextDataConfig)
    train: OptimConfig = field(default_factory=OptimConfig)


def causal_nll(model, ids: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed next-token NLL over valid targets, and their count."""
    logits = model(input_ids=ids, attention_mask=valid.long()).logits.float()
    nll = F.cross_entropy(logits[:, :-1].transpose(1, 2), ids[:, 1:], reduction="none")
    keep = valid[:, 1:].to(nll.dtype)
    return (nll * keep).sum(), keep.sum()


class CausalLmTask(EmaTrainingTask):
    def __init__(self, model, stream: BatchStream, valid: list[torch.Tensor], cfg: OptimConfig, length: int,
                 pad_id: int, device, save_fn):
        super().__init__(model, cfg, device, save_fn)
        self.stream, self.valid, self.length, self.pad_id = stream, valid, length, pad_id

    def train_step(self, step: int) -> dict[str, float]:
        lr, _ = self.begin_step(step)
        ids, valid = (t.to(self.device) for t in self.stream.batch(step))
        with self.autocast():
            total, count = causal_nll(self.model, ids, valid)
        loss = total.float() / count
        grad_norm = self.finish_step(loss, "causal LM loss")
        return {"loss": float(loss.detach()), "lr": lr, "grad_norm": grad_norm}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        total, count = 0.0, 0.0
        for ids, valid in fixed_batches(self.valid, self.cfg.eval_batch_size, self.length, self.pad_id):
            t, c = causal_nll(self.ema, ids.to(self.device), valid.to(self.device))
            total, count = total + float(t), count + float(c)
        return {"valid_nll": total / count, "valid_ppl": math.exp(total / count)}


def save_hf_dir(path: Path, model, tokenizer, trainer_state: dict | None, meta: dict) -> None:
    """save_pretrained (model and tokenizer) into a new directory swapped in atomically."""

    def write(tmp: Path) -> None:
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        (tmp / "protdidi_evaluator.json").write_text(json.dumps(meta, indent=1) + "\n")
        if trainer_state is not None:
            torch.save(trainer_state, tmp / "trainer_state.pt")

    write_dir_atomic(path, write, marker="protdidi_evaluator.json")


def train_causal_lm(cfg: CausalLmRunConfig, run_dir: Path, resume: bool = False, stop_at: int | None = None) -> dict:
    from transformers import GPT2Config, GPT2LMHeadModel

    run = Run(cfg, run_dir, resume, stop_at, seed=cfg.train.seed)
    tokenizer, sets = load_windows(cfg.data)
    m = cfg.model
    arch = GPT2Config(vocab_size=len(tokenizer), n_positions=cfg.data.length, n_embd=m.n_embd, n_layer=m.n_layer,
                      n_head=m.n_head, resid_pdrop=m.dropout, embd_pdrop=m.dropout, attn_pdrop=m.dropout,
                      bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    model = GPT2LMHeadModel(arch)
    run.start()
    meta = {"name": cfg.name, "note": "a small causal LM trained on the distillation corpus; not GPT-2 Large",
            "train_config": to_dict(cfg)}

    def save(path: Path, ema, trainer_state) -> None:
        save_hf_dir(path, ema, tokenizer, trainer_state, meta)

    pad = tokenizer.eos_token_id
    stream = BatchStream(sets["train"], cfg.train.batch_size, cfg.data.length, pad, cfg.train.seed)
    task = CausalLmTask(model, stream, sets["valid"], cfg.train, cfg.data.length, pad, run.device, save)
    return run.train(task, cfg.train, monitor="valid_nll", title=cfg.name)
