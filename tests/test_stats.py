"""Bootstrap intervals shared by the evaluators and the student-vs-teacher benchmark."""

import math

import pytest
import torch

from protdidi.stats import _stratified_draws, bootstrap_ratio_ci


def _set(per_token_nll, tokens, strata):
    tokens = torch.tensor(tokens, dtype=torch.float64)
    return torch.tensor(per_token_nll, dtype=torch.float64) * tokens, tokens, torch.tensor(strata)


def test_stratified_draws_resample_only_within_each_stratum():
    strata = torch.tensor([50, 50, 50, 100, 100, 300])
    idx = _stratified_draws(strata, 500, torch.Generator().manual_seed(0))
    assert idx.shape == (500, 6)
    assert torch.equal(strata[idx], strata.expand(500, -1))  # every draw keeps the bucket of each slot
    assert set(idx[:, 0].tolist()) == {0, 1, 2} and set(idx[:, 5].tolist()) == {5}


def test_ratio_point_estimate_is_the_hand_computed_pooled_ratio():
    a = _set([2.0, 3.0, 2.5], [10, 30, 20], [1, 1, 2])
    b = _set([2.8, 2.6], [40, 10], [1, 2])
    pooled_a = (2.0 * 10 + 3.0 * 30 + 2.5 * 20) / 60
    pooled_b = (2.8 * 40 + 2.6 * 10) / 50
    res = bootstrap_ratio_ci(a, b, draws=1000)
    assert res["ratio"] == pytest.approx(math.exp(pooled_a - pooled_b), abs=1e-4)
    lo, hi = res["ci95"]
    assert lo <= res["ratio"] <= hi


def test_ratio_interval_collapses_without_spread_and_reflects_a_known_shift():
    shift = math.log(1.2)
    a = _set([2.0 + shift] * 6, [50, 50, 100, 100, 200, 200], [50, 50, 100, 100, 200, 200])
    b = _set([2.0] * 4, [50, 100, 100, 200], [50, 100, 100, 200])
    res = bootstrap_ratio_ci(a, b, draws=500)
    assert res["ratio"] == pytest.approx(1.2, abs=1e-4)
    assert res["ci95"] == pytest.approx([1.2, 1.2], abs=1e-4)
    assert res["p_ratio_ge_1"] == 1.0


def test_identical_noisy_sets_are_not_separated_and_a_large_gap_is():
    g = torch.Generator().manual_seed(0)
    nll = (2.8 + 0.3 * torch.randn(200, generator=g)).tolist()
    tokens = [50, 100, 200, 300] * 50
    base = _set(nll, tokens, tokens)
    same = bootstrap_ratio_ci(base, base, draws=2000, seed=1)
    assert same["ratio"] == pytest.approx(1.0) and same["ci95"][0] < 1 < same["ci95"][1]
    assert 0.2 < same["p_ratio_ge_1"] < 0.8
    better = bootstrap_ratio_ci(_set([v - 0.2 for v in nll], tokens, tokens), base, draws=2000, seed=1)
    assert better["ci95"][1] < 1 and better["p_ratio_ge_1"] == 0.0


def test_paired_interval_cancels_what_the_pairs_share():
    # Per-sequence difficulty varies a lot, and each "corrupted" sequence costs its own natural one plus
    # 0.1 nats/token: resampling pairs together must give a much tighter interval around exp(0.1) than
    # resampling the two sets independently, with the same point estimate.
    g = torch.Generator().manual_seed(0)
    nll = (2.8 + 0.4 * torch.randn(200, generator=g)).tolist()
    tokens = [50, 100, 200, 300] * 50
    natural = _set(nll, tokens, [0] * 200)
    corrupted = _set([v + 0.1 for v in nll], tokens, [0] * 200)
    paired = bootstrap_ratio_ci(corrupted, natural, draws=1000, paired=True)
    unpaired = bootstrap_ratio_ci(corrupted, natural, draws=1000)
    assert paired["ratio"] == unpaired["ratio"] == pytest.approx(math.exp(0.1), abs=1e-4)
    assert paired["ci95"] == pytest.approx([math.exp(0.1)] * 2, abs=1e-4)  # a constant shift: no spread at all
    assert unpaired["ci95"][1] - unpaired["ci95"][0] > 0.05
    with pytest.raises(ValueError, match="same samples"):
        bootstrap_ratio_ci(corrupted, _set(nll[:100], tokens[:100], [0] * 100), paired=True)


def test_pooled_mean_and_difference_are_the_hand_computed_values():
    from protdidi.stats import bootstrap_pooled, bootstrap_pooled_difference

    disordered, lengths = torch.tensor([1.0, 0.0, 6.0]), torch.tensor([10.0, 20.0, 30.0])
    res = bootstrap_pooled(disordered, lengths, draws=500)
    assert res["mean"] == pytest.approx(7 / 60, abs=1e-4) and res["ci95"][0] <= res["mean"] <= res["ci95"][1]
    same = bootstrap_pooled(torch.full((5,), 2.0), torch.ones(5))
    assert same == {"mean": 2.0, "ci95": [2.0, 2.0]}  # no spread, no interval
    diff = bootstrap_pooled_difference((disordered, lengths), (torch.tensor([3.0, 3.0]), torch.tensor([10.0, 10.0])))
    assert diff["difference"] == pytest.approx(7 / 60 - 0.3, abs=1e-4)
    assert diff["ci95"][0] <= diff["difference"] <= diff["ci95"][1] < 0
