"""How much of a distillation method's student gradient is signal? For each run directory, the task is rebuilt as
training built it (`distill_task`, the run's resolved config) and loaded from last/trainer_state.pt (raw student,
its discriminator or fake model and every optimiser, as at that step); then `--iterations` further training
iterations each run from that state exactly as training runs them (the discriminator or fake model steps first),
but with the student's step withheld, and the student's gradient of each (its whole training loss: DiDi's policy
gradient with its KL and entropy terms, IDLM's generator loss), before clipping, is kept; the state is restored
after each. The k gradients are independent draws g_i = G + noise at one point.

From their Gram matrix: |G|² ≈ mean_{i≠j} g_i·g_j (unbiased), E|g|² ≈ mean_i |g_i|², the signal fraction
φ = |G|²/E|g|² of one iteration's gradient, and the gradient noise scale B = tr(Σ)/|G|² = 1/φ − 1 in iterations
(McCandlish et al. 2018, "An Empirical Model of Large-Batch Training", §2.2): about how many iterations' worth of
examples one update needs before its direction is mostly signal. Intervals: jackknife over the iterations (95%);
where φ's lower end is ≤ 0 the noise scale has no upper bound. Mean pairwise cosine of the g_i beside it.

Reference rows, same estimator, the teacher's own MDLM loss (NELBO per token) at the teacher's weights, batches of
16 training windows as they are and with each window's tokens permuted: the noise scale of ordinary supervised
learning on this corpus.

    # states at iteration 50 (text_didi_curve.py's arms, trained only that far), and its arms at 500
    python benchmarks/text_didi_curve.py --arms didi-lr1e-5,idlm --until 50 --work runs/text-didi-at50 --train-only
    python benchmarks/distill_gradient_noise.py runs/text-didi-at50/didi-lr1e-5 runs/text-didi-at50/idlm \
        runs/text-didi-curve/didi-lr1e-5 runs/text-didi-curve/idlm [...]
    python benchmarks/distill_gradient_noise.py --replot
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from unittest import mock

import torch
from bench import RESULTS, ROOT, add_replot, command_line, machine, run_or_load, save_markdown, table
from text_scores import shuffle_each

REFERENCE_BATCH = 16


def gradient_stats(grads: list[torch.Tensor]) -> dict:
    """φ, the noise scale (iterations) and the mean pairwise cosine of k gradients, with jackknife intervals."""
    flat = torch.stack(grads).double()
    gram = flat @ flat.T
    k = gram.shape[0]

    def phi(keep: torch.Tensor) -> float:
        sub = gram[keep][:, keep]
        n = sub.shape[0]
        return float((sub.sum() - sub.diagonal().sum()) / (n * (n - 1)) / sub.diagonal().mean())

    est = phi(torch.ones(k, dtype=torch.bool))
    loo = torch.tensor([phi(torch.arange(k) != i) for i in range(k)], dtype=torch.float64)
    se = float(((k - 1) / k * ((loo - loo.mean()) ** 2).sum()).sqrt())
    lo, hi = est - 1.96 * se, est + 1.96 * se
    norms = gram.diagonal().sqrt()
    cos = gram / (norms[:, None] * norms[None, :])

    def scale(p: float) -> float | None:
        return 1.0 / p - 1.0 if p > 0 else None  # None: unbounded

    return {"iterations": k, "phi": [round(est, 5), round(lo, 5), round(hi, 5)],
            "noise_scale_iterations": [scale(est), scale(min(hi, 1.0)), scale(lo)],
            "mean_cosine": round(float((cos.sum() - k) / (k * (k - 1))), 5),
            "grad_norm": round(float(norms.mean()), 4)}


def flat_grad(params: list[torch.nn.Parameter]) -> torch.Tensor:
    """The parameters' gradients as one float32 vector (zeros where a parameter got none)."""
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params]).float()


def student_gradients(task, start: int, k: int) -> list[torch.Tensor]:
    """The student's gradient (before clipping) of training iterations start … start+k−1, each run from the task's
    present state, as training would run it (the discriminator or fake model takes its own step first), with the
    student's optimiser step withheld; the whole task state is put back after each, so all k share one point."""
    module = sys.modules[type(task).__module__]
    real_step, student = module.optimizer_step, list(task.student.parameters())
    saved, grads = copy.deepcopy(task.state_dict()), []

    def probe(loss, params, optimizer, clip, what) -> float:
        params = list(params)
        if not params or params[0] is not student[0]:
            return real_step(loss, params, optimizer, clip, what)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grads.append(flat_grad(student))
        optimizer.zero_grad(set_to_none=True)
        return 0.0

    with mock.patch.object(module, "optimizer_step", probe):
        for i in range(k):
            task.train_step(start + i)
            task.load_state_dict(copy.deepcopy(saved))
    if len(grads) != k:
        sys.exit(f"distill_gradient_noise: {type(task).__name__} took {len(grads)} student steps in {k} iterations")
    return grads


def loaded_task(run_dir: Path):
    """The run's task rebuilt from its resolved config and loaded from last/trainer_state.pt; with its config,
    step and setup."""
    from protdidi.config import from_dict
    from protdidi.domains import DOMAINS
    from protdidi.methods.distillation import distill_task
    from protdidi.weights import read_trainer_state

    config = json.loads((run_dir / "last" / "config.json").read_text())
    domain = DOMAINS.get(config["domain"])
    cfg = from_dict(domain.distill_config, config["train_config"])
    setup = domain.distill_setup(cfg, torch.device("cpu"))
    task = distill_task(setup, cfg, run_dir, torch.device("cpu"), primary=False)  # never writes into the run
    state = read_trainer_state(run_dir / "last" / "trainer_state.pt")
    task.load_state_dict(state["task"])
    return task, cfg, int(state["step"]), setup


def run_row(run_dir: Path, k: int) -> tuple[dict, object]:
    task, cfg, step, setup = loaded_task(run_dir)
    examples = cfg.loop.batch_size * getattr(getattr(cfg, cfg.method), "group_size", 1)  # DiDi rollouts, IDLM seqs
    row = {"run": str(run_dir.relative_to(ROOT) if run_dir.is_relative_to(ROOT) else run_dir), "method": cfg.method,
           "step": step, "examples_per_iteration": examples, **gradient_stats(student_gradients(task, step, k))}
    print(f"distill_gradient_noise: {row}", file=sys.stderr)
    return row, setup


def reference_rows(setup, k: int) -> list[dict]:
    """The teacher's NELBO gradient on natural and on token-shuffled training windows."""
    from protdidi.batching import BatchStream
    from protdidi.denoiser import nelbo

    model = setup.teacher.denoiser.train(False).requires_grad_(True)
    rows = []
    for label, windows in (("teacher NELBO, natural windows", setup.train),
                           ("teacher NELBO, shuffled windows", shuffle_each(setup.train))):
        stream = BatchStream(windows, REFERENCE_BATCH, setup.max_length, model.vocab.pad_id, 0)
        grads = []
        for i in range(k):
            x0, valid = stream.batch(i)
            model.zero_grad(set_to_none=True)
            nelbo(model, x0, valid, setup.teacher.schedule, torch.Generator().manual_seed(i)).per_token.backward()
            grads.append(flat_grad(list(model.parameters())))
        rows.append({"run": label, "method": "mdlm", "step": None, "examples_per_iteration": REFERENCE_BATCH,
                     **gradient_stats(grads)})
    model.requires_grad_(False)
    return rows


def run(args) -> dict:
    rows, setup = [], None
    for run_dir in args.runs:
        row, setup = run_row(Path(run_dir).resolve(), args.iterations)
        rows.append(row)
    return {"command": command_line(), "machine": machine(), "rows": rows,
            "reference": reference_rows(setup, args.iterations)}


def markdown(result: dict) -> str:
    def noise(r: dict, per: int) -> str:
        est, lo, hi = (None if v is None else v * per for v in r["noise_scale_iterations"])
        if est is None:  # no signal resolved: only the lower end is known
            return f"≥ {lo:,.0f} (no signal resolved)"
        return f"{est:,.0f} ({lo:,.0f}…{'∞' if hi is None else f'{hi:,.0f}'})"

    rows = [[r["run"], r["method"], "–" if r["step"] is None else str(r["step"]), str(r["examples_per_iteration"]),
             str(r["iterations"]), f"{r['phi'][0]:.4f} ({r['phi'][1]:.4f}…{r['phi'][2]:.4f})",
             noise(r, 1), noise(r, r["examples_per_iteration"]), f"{r['mean_cosine']:.4f}"]
            for r in [*result["rows"], *result["reference"]]]
    return "\n".join([
        "# Signal and noise in the student's gradient", "",
        f"Command: `{result['command']}` ({result['machine']}).", "",
        "φ: the share of one iteration's squared gradient norm that is the expected gradient (|G|²/E|g|², "
        "unbiased from the k gradients' Gram matrix); noise scale B = 1/φ − 1: iterations (and examples: DiDi "
        "rollouts, IDLM and MDLM sequences) one update needs for a mostly-signal direction. 95% jackknife "
        "intervals over the iterations. Reference rows: the teacher's own MDLM loss on natural and token-shuffled "
        "training windows.", "",
        *table(["run", "method", "step", "examples / iteration", "iterations k", "φ", "noise scale (iterations)",
                "noise scale (examples)", "mean cosine"], rows), ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", help="distillation run directories (their last/trainer_state.pt)")
    parser.add_argument("--iterations", type=int, default=32, help="gradients drawn per run (k ≥ 3)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    add_replot(parser)
    args = parser.parse_args()
    if not args.replot:
        bad = [r for r in args.runs if not (Path(r) / "last" / "trainer_state.pt").is_file()]
        if not args.runs or bad or args.iterations < 3:
            parser.error(f"give run directories with last/trainer_state.pt (not: {bad}) and --iterations ≥ 3")
    result = run_or_load(args, "distill_gradient_noise", run)
    save_markdown(args, "distill_gradient_noise", markdown(result))


if __name__ == "__main__":
    main()
