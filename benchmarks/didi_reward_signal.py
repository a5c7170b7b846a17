"""Does DiDi-Instruct's reward tell good rollouts from bad ones? For each DiDi student checkpoint (its EMA student
and the discriminator saved beside it) draw rollouts as training does (groups of G, two ancestral steps
1 → τ → t_final), twice: with a τ per rollout (the released code) and with one τ per group (`didi.shared_tau`).

Per rollout: the reward r (masked mean of the clipped discriminator log-odds at z_fake = x0 re-masked at α(τ)),
the group-normalised advantage A, and its per-token NLL under protdidi-shakespeare-gpt (the small causal LM of
configs/text-evaluator.yaml; NOT GPT-2 Large). Reported: Spearman ρ of A with the group-centred −NLL (does a higher
advantage mean a better sample than its group-mates?) and with the group-centred τ (or merely a later split?), ρ of
r with −NLL and with τ over all rollouts, each with a 95% bootstrap interval over groups; and the discriminator
on held-out windows (test, then validation split) against the rollouts, both re-masked at the same τ: token
accuracy, mean D(real), mean D(fake), expected calibration error (10 bins; its training targets are smoothed to
0.9/0.1, so a perfect one is not at 0). Reference rows: the GenPPL of those windows, and of the same windows
with their tokens permuted.

    # checkpoints kept by text_didi_curve.py (its evaluator: runs/text-evaluator/best)
    python benchmarks/didi_reward_signal.py runs/text-didi-curve/didi-lr1e-5/at-step250 [CHECKPOINT ...]
    python benchmarks/didi_reward_signal.py --replot
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields, replace
from pathlib import Path

import torch
from bench import RESULTS, ROOT, add_replot, command_line, log_records, machine, run_or_load, save_markdown, table
from scipy.stats import spearmanr
from text_scores import CORPUS, TOKENIZER, shuffle_each

MODES = {"τ per rollout (released)": False, "τ shared by each group": True}


def ece(p: torch.Tensor, y: torch.Tensor, bins: int = 10) -> float:
    idx = (p * bins).long().clamp(max=bins - 1)
    total = 0.0
    for b in range(bins):
        sel = idx == b
        if sel.any():
            total += float(sel.sum()) / p.numel() * abs(float(p[sel].mean()) - float(y[sel].mean()))
    return total


def rho_ci(a: torch.Tensor, b: torch.Tensor, group: int, draws: int = 1000, seed: int = 0) -> list[float]:
    """Spearman ρ(a, b) and its 95% bootstrap interval, resampling whole groups of `group` consecutive items."""
    n_groups = a.numel() // group
    g = torch.Generator().manual_seed(seed)
    rhos = []
    for _ in range(draws):
        pick = torch.randint(n_groups, (n_groups,), generator=g)
        rows = (pick[:, None] * group + torch.arange(group)).reshape(-1)
        rhos.append(spearmanr(a[rows].numpy(), b[rows].numpy()).statistic)
    rhos = torch.tensor(rhos, dtype=torch.float64).nan_to_num(0.0).sort().values
    return [round(float(spearmanr(a.numpy(), b.numpy()).statistic), 3), round(float(rhos[int(0.025 * draws)]), 3),
            round(float(rhos[int(0.975 * draws) - 1]), 3)]


def centred(x: torch.Tensor, group: int) -> torch.Tensor:
    g = x.view(-1, group)
    return (g - g.mean(1, keepdim=True)).reshape(-1)


@torch.no_grad()
def signal(checkpoint: Path, lm, windows: torch.Tensor, groups: int, seed: int) -> dict:
    """Every measure of one checkpoint, for each τ mode."""
    from protdidi.domains.text.genppl import sample_nll
    from protdidi.domains.text.plugin import DOMAIN as TEXT
    from protdidi.domains.text.tokenizer import decode
    from protdidi.methods.didi import DidiConfig, advantage_group, rollout_times
    from protdidi.methods.rewards import group_normalize, log_odds_reward
    from protdidi.methods.rollout import two_step_rollout
    from protdidi.schedule import add_noise

    model = TEXT.load_model(str(checkpoint))
    config = json.loads((checkpoint / "config.json").read_text())
    known = {f.name for f in fields(DidiConfig)}
    cfg = DidiConfig(**{k: v for k, v in config["train_config"]["didi"].items() if k in known})
    disc, student, mask = model.load_discriminator(), model.denoiser, model.denoiser.vocab.mask_id
    out = {"checkpoint": str(checkpoint.relative_to(ROOT) if checkpoint.is_relative_to(ROOT) else checkpoint),
           "step": None, "modes": {}}
    out["step"] = next((r["step"] for r in log_records(checkpoint.parent)  # the step this snapshot was kept at
                        if r.get("snapshot") == checkpoint.name), None)
    n, chunk = groups * cfg.group_size, 16 * cfg.group_size
    for mode, shared in MODES.items():
        g = torch.Generator().manual_seed(seed)
        c = replace(cfg, shared_tau=shared)
        rec = {k: [] for k in ("reward", "adv", "tau", "nll", "p_real", "p_fake")}
        for start in range(0, n, chunk):
            real = windows[start:start + chunk]
            valid = torch.ones_like(real, dtype=torch.bool)
            tau = rollout_times(c, real.shape[0], g, "cpu")
            ro = two_step_rollout(student, valid, tau, model.schedule, c.t_final, g)
            a_tau = model.schedule.alpha(tau)
            z_fake, z_real = add_noise(ro.x0, a_tau, mask, g, valid), add_noise(real, a_tau, mask, g, valid)
            m_fake, m_real = z_fake == mask, z_real == mask
            lf, lr = disc(z_fake, tau, valid).float(), disc(z_real, tau, valid).float()
            reward = log_odds_reward(lf, m_fake, c.reward_clip)
            sums, counts = sample_nll(decode(model.tokenizer, ro.x0), lm, 32)
            rec["reward"].append(reward)
            rec["adv"].append(group_normalize(reward, advantage_group(c, reward.shape[0]), c.advantage_eps,
                                              c.advantage_clip))
            rec["tau"].append(tau.double())
            rec["nll"].append(sums / counts.clamp_min(1))
            rec["p_real"].append(torch.sigmoid(lr[m_real]))
            rec["p_fake"].append(torch.sigmoid(lf[m_fake]))
        r = {k: torch.cat(v).double() for k, v in rec.items()}
        p = torch.cat([r["p_real"], r["p_fake"]])
        y = torch.cat([torch.ones_like(r["p_real"]), torch.zeros_like(r["p_fake"])])
        G = c.group_size
        out["modes"][mode] = {
            "rollouts": int(r["reward"].numel()), "genppl_2step": round(float(r["nll"].mean().exp()), 1),
            "adv_vs_better": rho_ci(r["adv"], -centred(r["nll"], G), G),
            "adv_vs_later_split": rho_ci(r["adv"], centred(r["tau"], G), G) if not shared else None,
            "reward_vs_better": rho_ci(r["reward"], -r["nll"], G), "reward_vs_tau": rho_ci(r["reward"], r["tau"], G),
            "disc_acc": round(float(((p > 0.5).double() == y).double().mean()), 3),
            "d_real": round(float(r["p_real"].mean()), 3), "d_fake": round(float(r["p_fake"].mean()), 3),
            "ece": round(ece(p, y), 3)}
        print(f"didi_reward_signal: {out['checkpoint']} {mode}: {out['modes'][mode]}", file=sys.stderr)
    return out


def reference(lm, windows: torch.Tensor, tokenizer) -> list[dict]:
    """GenPPL of the held-out windows as they are and with each window's tokens shuffled."""
    from protdidi.domains.text.genppl import gen_ppl
    from protdidi.domains.text.tokenizer import decode

    rows = []
    for label, ids in (("natural held-out windows", windows), ("shuffled held-out windows", shuffle_each(windows))):
        rows.append({"model": label, "gen_ppl": round(gen_ppl(decode(tokenizer, ids), lm, 32)["gen_ppl"], 1)})
    return rows


def run(args) -> dict:
    from protdidi.domains.text.genppl import load_causal_lm
    from protdidi.domains.text.teacher import TextDataConfig, load_windows
    from protdidi.domains.text.tokenizer import load_tokenizer

    lm = load_causal_lm(str(args.evaluator))
    first = json.loads((Path(args.checkpoints[0]) / "config.json").read_text())["train_config"]
    _, windows = load_windows(TextDataConfig(path=str(CORPUS), tokenizer=str(TOKENIZER),
                                             length=first["data"]["length"]))
    need = args.groups * first["didi"]["group_size"]
    held_out = [*windows["test"], *windows["valid"]]
    if len(held_out) < need:
        sys.exit(f"didi_reward_signal: {need} rollouts need as many held-out windows; the corpus has "
                 f"{len(held_out)}")
    test = torch.stack(held_out[:need])
    return {"command": command_line(), "machine": machine(), "evaluator": lm.name, "groups": args.groups,
            "reference": reference(lm, test, load_tokenizer(str(TOKENIZER))),
            "rows": [signal(Path(c).resolve(), lm, test, args.groups, args.seed) for c in args.checkpoints]}


def markdown(result: dict) -> str:
    def ci(v) -> str:
        return "–" if v is None else f"{v[0]:+.2f} ({v[1]:+.2f}…{v[2]:+.2f})"

    rows = [[r["checkpoint"], str(r["step"]), mode, str(m["rollouts"]), f"{m['genppl_2step']:.0f}",
             ci(m["adv_vs_better"]), ci(m["adv_vs_later_split"]), ci(m["reward_vs_better"]), ci(m["reward_vs_tau"]),
             f"{m['disc_acc']:.3f}", f"{m['d_real']:.3f} / {m['d_fake']:.3f}", f"{m['ece']:.3f}"]
            for r in result["rows"] for mode, m in r["modes"].items()]
    refs = [[r["model"], f"{r['gen_ppl']:.1f}"] for r in result["reference"]]
    return "\n".join([
        "# DiDi-Instruct's reward signal on the Tiny Shakespeare teacher", "",
        f"Command: `{result['command']}` ({result['machine']}).", "",
        f"{result['groups']} groups of 4 two-step rollouts per mode; NLL and GenPPL under {result['evaluator']} "
        "(NOT GPT-2 Large). ρ: Spearman, 95% bootstrap interval over groups. \"better\": lower per-token NLL than "
        "the group's mean; \"later split\": larger τ than the group's mean. Discriminator: held-out windows "
        "(real) against the rollouts, both re-masked at the rollout's τ, masked tokens only.", "",
        *table(["reference", f"GenPPL ({result['evaluator']})"], refs), "",
        *table(["checkpoint", "step", "τ", "rollouts", "GenPPL of rollouts", "ρ(A, better)", "ρ(A, later split)",
                "ρ(r, −NLL)", "ρ(r, τ)", "D accuracy", "D(real) / D(fake)", "ECE"], rows), ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="*", help="DiDi student checkpoints (with discriminator.safetensors)")
    parser.add_argument("--evaluator", type=Path, default=ROOT / "runs" / "text-evaluator" / "best")
    parser.add_argument("--groups", type=int, default=64, help="groups of 4 rollouts per checkpoint and mode")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    add_replot(parser)
    args = parser.parse_args()
    if not args.replot:
        bad = [c for c in args.checkpoints if not (Path(c) / "discriminator.safetensors").is_file()]
        if not args.checkpoints or bad:
            parser.error(f"give DiDi checkpoints that hold discriminator.safetensors (not: {bad})")
    result = run_or_load(args, "didi_reward_signal", run)
    save_markdown(args, "didi_reward_signal", markdown(result))


if __name__ == "__main__":
    main()
