"""Small statistics shared by the evaluators (no domain imports)."""

from __future__ import annotations

import torch


def bootstrap_ci(sums: torch.Tensor, counts: torch.Tensor, draws: int = 2000, seed: int = 0) -> list[float]:
    """95% percentile interval of a pooled perplexity exp(Σ sums / Σ counts), resampling whole samples
    (sequences or documents) with a fixed seed. sums: per-sample summed NLL (nats); counts: scored tokens."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, len(sums), (draws, len(sums)), generator=g)
    ppl = torch.exp(sums[idx].sum(-1) / counts[idx].sum(-1).clamp_min(1))
    lo, hi = torch.quantile(ppl, torch.tensor([0.025, 0.975], dtype=torch.float64)).tolist()
    return [round(lo, 3), round(hi, 3)]
