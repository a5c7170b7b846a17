"""Cheap, vocabulary-agnostic quality proxies for generated samples (until a judge scores them)."""

from __future__ import annotations

import torch


def sequence_entropy(tokens: torch.Tensor, valid: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Shannon entropy (nats) of each sequence's own token composition. Long[B, L], Bool[B, L] → Float[B]."""
    counts = torch.zeros(tokens.shape[0], vocab_size, dtype=torch.float64, device=tokens.device)
    counts.scatter_add_(1, tokens, valid.to(torch.float64))
    p = counts / counts.sum(-1, keepdim=True).clamp_min(1.0)
    return -torch.where(p > 0, p * p.log(), torch.zeros_like(p)).sum(-1)
