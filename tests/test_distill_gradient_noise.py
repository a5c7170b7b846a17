"""benchmarks/distill_gradient_noise.py: the signal-fraction estimator on gradients of known signal and noise, and
the probe on toy DiDi and IDLM runs: the gradient it keeps is the one a real training iteration computes (before
clipping), draws differ between iterations, and the task is left as it was loaded."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import torch
from test_didi import TOY_LOOP, teacher_dir  # noqa: F401 (a fixture)

from protdidi.config import load_config
from protdidi.domains.protein.distill import ProteinDistillConfig
from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
from protdidi.methods.distillation import run_distillation

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import distill_gradient_noise as gn


@pytest.mark.parametrize("signal_share", [0.0, 0.1, 1.0])
def test_signal_fraction_is_recovered(signal_share):
    """g_i = G + noise, |G|² = 1 and E|noise|² = 1/φ − 1: the estimate's interval holds φ (at φ = 1, no noise, it
    is exact and the noise scale is 0)."""
    g = torch.Generator().manual_seed(0)
    d, k = 4000, 200
    mean = torch.randn(d, generator=g)
    mean = mean / mean.norm() * (1.0 if signal_share else 0.0)
    sigma = 0.0 if signal_share == 1.0 else ((1.0 / signal_share - 1.0) if signal_share else 1.0) ** 0.5 / d ** 0.5
    grads = [mean + sigma * torch.randn(d, generator=g) for _ in range(k)]
    stats = gn.gradient_stats(grads)
    est, lo, hi = stats["phi"]
    assert lo - 1e-6 <= signal_share <= hi + 1e-6 and hi - lo < 0.1 and abs(est - signal_share) < 0.05
    if signal_share == 1.0:
        assert stats["noise_scale_iterations"][0] == pytest.approx(0.0, abs=1e-6)
    if signal_share == 0.0:
        assert lo <= 0.0  # no upper bound on the noise scale
        assert stats["noise_scale_iterations"][2] is None


def state_tensors(task) -> dict:
    return {f"{net}.{k}": v.clone() for net, sd in task.state_dict().items() if "opt" not in net
            for k, v in sd.items()}


@pytest.mark.parametrize("method", ["didi", "idlm"])
def test_probe_keeps_the_training_gradient_and_leaves_the_task(tmp_path, teacher_dir, toy_fasta, method):  # noqa: F811
    sets = [*TOY_LOOP, f"method={method}", f"teacher={teacher_dir}", f"data.fasta={toy_fasta}", "loop.steps=2",
            "loop.save_every=1", "loop.eval_every=100", "idlm.warmup_steps=1"]
    run = tmp_path / method
    run_distillation(PROTEIN, load_config(ProteinDistillConfig, None, sets), run)
    task, cfg, step, _ = gn.loaded_task(run)
    assert step == 2
    twin, before = copy.deepcopy(task), state_tensors(task)

    grads = gn.student_gradients(task, step, 3)
    assert len(grads) == 3 and all(bool(torch.isfinite(x).all()) and x.norm() > 0 for x in grads)
    assert not torch.equal(grads[0], grads[1])  # independent draws, not one batch thrice
    after = state_tensors(task)
    assert all(torch.equal(before[k], after[k]) for k in before)

    module = sys.modules[type(twin).__module__]
    real_step, seen = module.optimizer_step, []

    def unclipped(loss, params, optimizer, clip, what):  # the real step, clip off; keep the student's gradient
        params = list(params)
        norm = real_step(loss, params, optimizer, 0.0, what)
        if params[0] is next(twin.student.parameters()):
            seen.append(gn.flat_grad(list(twin.student.parameters())))
        return norm

    module.optimizer_step = unclipped
    try:
        twin.train_step(step)
    finally:
        module.optimizer_step = real_step
    assert len(seen) == 1
    torch.testing.assert_close(grads[0], seen[0], rtol=1e-5, atol=1e-7)
    row, _ = gn.run_row(run, 3)
    assert row["method"] == method and row["iterations"] == 3
    assert row["examples_per_iteration"] == cfg.loop.batch_size * (cfg.didi.group_size if method == "didi" else 1)
