"""Cheap, vocabulary-agnostic quality proxies for generated samples (until a judge scores them)."""

from __future__ import annotations

import torch

from protdidi.generation.driver import sample_batch
from protdidi.sampling.ancestral import AncestralSampler
from protdidi.tasks.mdlm import evaluate_nelbo


def sequence_entropy(tokens: torch.Tensor, valid: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Shannon entropy (nats) of each sequence's own token composition. Long[B, L], Bool[B, L] → Float[B]."""
    counts = torch.zeros(tokens.shape[0], vocab_size, dtype=torch.float64, device=tokens.device)
    counts.scatter_add_(1, tokens, valid.to(torch.float64))
    p = counts / counts.sum(-1, keepdim=True).clamp_min(1.0)
    return -torch.where(p > 0, p * p.log(), torch.zeros_like(p)).sum(-1)


def make_evaluator(teacher, eval_lengths: list[int], loop, max_length: int, device):
    """Samples from the EMA student at `loop.eval_nfe` on fixed lengths and seed, scored by the teacher's
    NELBO (a cheap proxy for sample quality) and by mean per-sequence entropy. `teacher` is a LoadedModel."""
    sampler = AncestralSampler(teacher.schedule)
    sizes = torch.tensor(eval_lengths)
    valid = torch.arange(int(sizes.max()))[None, :] < sizes[:, None]

    def evaluate(student) -> dict[str, float]:
        g = torch.Generator(device=device).manual_seed(loop.seed + 99)
        gen = sample_batch(sampler, student, len(eval_lengths), valid.shape[1], loop.eval_nfe, g, device,
                           valid.to(device))
        tokens = torch.stack(gen.rows).cpu()
        seqs = [row[:n] for row, n in zip(tokens, eval_lengths, strict=True)]
        nll = evaluate_nelbo(teacher.denoiser, seqs, teacher.schedule, max_length, 64, passes=2, device=device,
                             estimator="auto")
        ent = sequence_entropy(tokens, valid, student.vocab.size).mean()
        return {"valid_sample_nelbo": nll, "valid_sample_entropy": float(ent)}

    return evaluate
