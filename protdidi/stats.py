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


def bootstrap_pooled(values: torch.Tensor, weights: torch.Tensor, draws: int = 2000, seed: int = 0) -> dict:
    """A pooled mean Σvalues / Σweights (e.g. disordered residues over residues, or per-sequence means with
    weight 1) with a 95% percentile interval from resampling whole samples. Returns {"mean", "ci95"}."""
    values, weights = values.double(), weights.double()
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, len(values), (draws, len(values)), generator=g)
    means = values[idx].sum(-1) / weights[idx].sum(-1).clamp_min(1e-12)
    lo, hi = torch.quantile(means, torch.tensor([0.025, 0.975], dtype=torch.float64)).tolist()
    return {"mean": round(float(values.sum() / weights.sum()), 4), "ci95": [round(lo, 4), round(hi, 4)]}


def _resampled_sums(columns: torch.Tensor, draws: int, g: torch.Generator) -> torch.Tensor:
    """Column sums of `draws` bootstrap resamples of the rows of `columns` (Float[n, m]) → Float[draws, m]: one
    draw of rows, as multiplicities, serves every column."""
    n = columns.shape[0]
    idx = torch.randint(0, n, (draws, n), generator=g)
    counts = torch.zeros(draws, n, dtype=torch.float64).scatter_add_(1, idx, torch.ones(draws, n, dtype=torch.float64))
    return counts @ columns


def bootstrap_pooled_differences(a: dict[str, tuple[torch.Tensor, torch.Tensor]],
                                 b: dict[str, tuple[torch.Tensor, torch.Tensor]], draws: int = 4000,
                                 seed: int = 0) -> dict[str, dict]:
    """For each measure (name → (values, weights) per sample, see `bootstrap_pooled`) the difference of the two
    sets' pooled means, a − b, with a 95% percentile interval from resampling each set independently (one draw of
    samples per set serves all its measures). Returns {name: {"difference", "ci95"}}."""
    g = torch.Generator().manual_seed(seed)
    names = list(a)

    def pooled(measures):
        columns = torch.stack([t.double() for name in names for t in measures[name]], dim=1)  # v1, w1, v2, w2 ...
        sums, totals = _resampled_sums(columns, draws, g), columns.sum(0)
        return sums[:, 0::2] / sums[:, 1::2].clamp_min(1e-12), totals[0::2] / totals[1::2]

    (draws_a, point_a), (draws_b, point_b) = pooled(a), pooled(b)
    bounds = torch.quantile(draws_a - draws_b, torch.tensor([0.025, 0.975], dtype=torch.float64), dim=0)
    return {name: {"difference": round(float(point_a[k] - point_b[k]), 4),
                   "ci95": [round(float(bounds[0, k]), 4), round(float(bounds[1, k]), 4)]}
            for k, name in enumerate(names)}


def bootstrap_pooled_difference(a: tuple[torch.Tensor, torch.Tensor], b: tuple[torch.Tensor, torch.Tensor],
                                draws: int = 4000, seed: int = 0) -> dict:
    """`bootstrap_pooled_differences` for one measure: {"difference", "ci95"}."""
    return bootstrap_pooled_differences({"m": a}, {"m": b}, draws, seed)["m"]
