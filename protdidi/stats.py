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


def _stratified_draws(strata: torch.Tensor, draws: int, g: torch.Generator) -> torch.Tensor:
    """Bootstrap index draws, Long[draws, n], that resample within each stratum (e.g. a fixed length bucket),
    so every draw keeps the design's stratum sizes."""
    idx = torch.empty(draws, len(strata), dtype=torch.long)
    for value in torch.unique(strata):
        members = torch.nonzero(strata == value).flatten()
        pick = torch.randint(0, len(members), (draws, len(members)), generator=g)
        idx[:, members] = members[pick]
    return idx


def bootstrap_ratio_ci(a: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
                       b: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
                       draws: int = 4000, seed: int = 0, paired: bool = False) -> dict:
    """Ratio of two pooled perplexities, exp(Σa.sums/Σa.counts) / exp(Σb.sums/Σb.counts), with a 95% percentile
    interval from resampling each set independently within its strata. a, b: (sums, counts, strata) per
    sample; sums: summed NLL (nats), counts: scored tokens, strata: stratum label (e.g. bucket length).
    With `paired` the two sets hold the same samples in the same order (e.g. each sequence and its shuffle):
    one draw of sample indices resamples both, so what the pairs share cancels out of the interval.
    Returns {"ratio", "ci95", "p_ratio_ge_1"} (the last: the bootstrap share of draws with ratio ≥ 1)."""
    g = torch.Generator().manual_seed(seed)
    if paired and not torch.equal(a[2], b[2]):
        raise ValueError("paired sets need the same samples in the same strata")
    shared = _stratified_draws(a[2], draws, g) if paired else None

    def pooled_log(sums, counts, strata):
        idx = shared if paired else _stratified_draws(strata, draws, g)
        return sums[idx].sum(-1) / counts[idx].sum(-1).clamp_min(1), sums.sum() / counts.sum().clamp_min(1)

    draws_a, point_a = pooled_log(*a)
    draws_b, point_b = pooled_log(*b)
    ratio = torch.exp(draws_a - draws_b)
    lo, hi = torch.quantile(ratio, torch.tensor([0.025, 0.975], dtype=ratio.dtype)).tolist()
    return {"ratio": round(float(torch.exp(point_a - point_b)), 4), "ci95": [round(lo, 4), round(hi, 4)],
            "p_ratio_ge_1": round(float((ratio >= 1).double().mean()), 4)}
