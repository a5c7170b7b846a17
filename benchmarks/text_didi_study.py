"""Tables and curves of the DiDi-Instruct budget and learning-rate study that `gpu_text_didi.py` ran on a GPU.

    python benchmarks/text_didi_study.py --unpack /work/.device/FILES_AT   # check the parts, unpack, write results
    python benchmarks/text_didi_study.py --replot                          # from the committed JSON

`--unpack` checks every part against study.json, unpacks the teacher, the evaluator and the students into
`runs/` (text-teacher, text-evaluator, gpu-ARM/last for each student that came back) and keeps each arm's config
and log under benchmarks/results/text_runs/gpu-ARM/. Writes benchmarks/results/text_didi_study.{json,md,png}.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from bench import RESULTS, ROOT, add_replot, command_line, pyplot, run_or_load, save_figure, save_markdown, table
from parts import joined_parts

RUNS = ROOT / "runs"
ENTROPY_BUDGET = 0.11  # the paper's entropy loss against its teacher


def unpack(args) -> dict:
    src = Path(args.unpack)
    if not (src / "study.json").is_file():
        sys.exit(f"text_didi_study: {src} holds no study.json (not the --out of a gpu_text_didi.py run)")
    result = json.loads((src / "study.json").read_text())
    taken = [d for d in ("text-teacher", "text-evaluator", *(f"gpu-{a}" for a in result["arms"]))
             if (RUNS / d).exists()]
    if taken:
        sys.exit(f"text_didi_study: runs/ already holds {', '.join(taken)}; move them away first")
    with joined_parts(src, result["parts"], result["tar_sha256"], "text_didi_study") as unpacked:
        for run in unpacked.iterdir():
            dest = RUNS / (run.name if run.name.startswith("text-") else f"gpu-{run.name}")
            shutil.copytree(run, dest)
            if run.name in result["arms"]:
                keep = RESULTS / "text_runs" / dest.name
                keep.mkdir(parents=True, exist_ok=True)
                for f in ("config.yaml", "log.jsonl", "loss.png"):
                    if (run / f).exists():
                        shutil.copyfile(run / f, keep / f)
    result["device_command"], result["command"] = result["command"], command_line()
    return result


def row_of(rows: list[dict], checkpoint: str, nfe: int) -> dict | None:
    return next((r for r in rows or [] if r["checkpoint"] == checkpoint and r["nfe"] == nfe), None)


def final_row(rows: list[dict] | None, nfe: int) -> dict | None:
    """An arm's row at `nfe` of its latest scored student (last/, or a snapshot of the same step)."""
    return max((r for r in rows or [] if r["nfe"] == nfe), key=lambda r: r["step"], default=None)


def cell(r: dict | None) -> str:
    if r is None:
        return "–"
    lo, hi = r["gen_ppl_ci95"]
    return f"{r['gen_ppl']:.1f} ({lo:.1f}–{hi:.1f}), H {r['entropy']:.3f}"


def common_sets(result: dict) -> list[str]:
    """The overrides every arm shares (stated once above the table)."""
    arms = [sets for _, sets, _ in result["arms"].values()]
    return [s for s in arms[0] if all(s in other for other in arms)] if len(arms) > 1 else []


def arm_settings(result: dict, label: str) -> str:
    config, sets, _ = result["arms"][label]
    own = [s for s in sets if s not in common_sets(result)]
    return f"`{config}`" + (" + " + ", ".join(f"`{s}`" for s in own) if own else "")


def verdict(result: dict) -> list[str]:
    """The goal (DiDi at 16 NFE at or below the teacher at 128, entropy within the paper's 11%, at 8 NFE at or
    below the teacher at 32), checked on each arm's latest student against the teacher rows."""
    teacher = result["scores"]["teacher"]
    t128, t32, t16 = (row_of(teacher, "teacher", n) for n in (128, 32, 16))
    lines = []
    for label, rows in result["scores"].items():
        s16, s8 = (None, None) if label == "teacher" else (final_row(rows, 16), final_row(rows, 8))
        if None in (s16, s8, t128, t32, t16):
            continue
        ent_loss = 1 - s16["entropy"] / t128["entropy"]
        lines.append(f"- {label}: 16 NFE {s16['gen_ppl']:.1f} vs teacher@128 {t128['gen_ppl']:.1f} "
                     f"({'met' if s16['gen_ppl'] <= t128['gen_ppl'] else 'not met'}); entropy loss {ent_loss:.1%} "
                     f"({'within' if ent_loss <= ENTROPY_BUDGET else 'outside'} 11%); 8 NFE {s8['gen_ppl']:.1f} vs "
                     f"teacher@32 {t32['gen_ppl']:.1f} ({'met' if s8['gen_ppl'] <= t32['gen_ppl'] else 'not met'}); "
                     f"vs teacher@16 {t16['gen_ppl']:.1f}: {s16['gen_ppl'] / t16['gen_ppl']:.2f}x")
    return lines


def gpu_intro(result: dict) -> list[str]:
    return [f"On the device ({result.get('gpu')}; {result['machine']}): `{result['device_command']}`; "
            f"here: `{result['command']}`.", "",
            f"GenPPL under protdidi-shakespeare-gpt (the small causal LM trained in the same run on the training "
            f"split; NOT GPT-2 Large), 95% bootstrap interval, and unigram entropy H (nats) of {result['samples']} "
            "samples of 128 tokens per row, seed 0, ancestral sampler with float64 steps. All arms trained at the "
            "same time on one GPU (their seconds per step are under that shared load), each planned from a probe "
            f"to end inside the study's {result['budget_s']:.0f} s; a student snapshot every "
            f"{result['snapshot_minutes']} minutes of each arm's own training wall-clock."]


def cpu_intro(result: dict) -> list[str]:
    return [f"Command: `{result['command']}` ({result['machine']}); arms train side by side (their seconds per "
            "step under that shared load) and resume across sittings; rows of earlier sittings are kept.", "",
            "GenPPL under protdidi-shakespeare-gpt (the small causal LM of configs/text-evaluator.yaml, trained on "
            f"the training split; NOT GPT-2 Large), 95% bootstrap interval, and unigram entropy H (nats) of "
            f"{result['samples']} samples of 128 tokens per row, seed 0, ancestral sampler with float64 steps. "
            "Each arm keeps its EMA student at fixed iterations (`loop.snapshot_steps`) and at its last step; the "
            "learning rate warms up, then decays linearly to 0 at the planned last step."]


def markdown(result: dict, where: str) -> str:
    scores, plan = result["scores"], result.get("plan", {})
    teacher = scores.get("teacher") or []
    ref = [[r["checkpoint"], "–" if r["nfe"] is None else str(r["nfe"]), cell(r)] for r in teacher]
    arms = []
    for label in result["arms"]:
        p, rows = plan.get(label, {}), scores.get(label)
        done = f"{p.get('steps_done', 0)} / {p.get('steps', '–')}"
        per_step = p.get("probe_s_per_step", p.get("s_per_step", float("nan")))
        arms.append([label, arm_settings(result, label), f"{per_step:.3f}", done,
                     f"{p.get('train_wall_s', 0):.0f}", cell(final_row(rows, 8)), cell(final_row(rows, 16))])
    curve = [[label, r["checkpoint"], str(r["step"]), f"{r['wall_s']:.0f}", str(r["nfe"]), cell(r)]
             for label, rows in scores.items() if label != "teacher" for r in rows or []]
    return "\n".join([
        f"# DiDi-Instruct budget and learning-rate study on the Tiny Shakespeare teacher ({where})", "",
        *(gpu_intro(result) if where == "GPU" else cpu_intro(result)), "",
        "## Reference rows (teacher, natural test windows)", "",
        *table(["model", "NFE", "GenPPL (95% CI), entropy"], ref), "",
        "## Arms: latest EMA student", "",
        *([f"Every arm: {', '.join(f'`{x}`' for x in common_sets(result))}.", ""] if common_sets(result) else []),
        *table(["arm", "settings", "s/step", "steps done / planned", "train s", "8 NFE", "16 NFE"], arms), "",
        "## Against the goal (latest students)", "", *verdict(result), "",
        "## Every scored checkpoint", "",
        *table(["arm", "checkpoint", "step", "train s", "NFE", "GenPPL (95% CI), entropy"], curve), ""])


def render(args, stem: str, result: dict, where: str) -> None:
    """`args.out`/`stem`.md and .png from a study's result."""
    plot(result, Path(args.out) / f"{stem}.png")
    save_markdown(args, stem, markdown(result, where))


def plot(result: dict, path: Path) -> None:
    """GenPPL at 16 NFE (95% intervals) against iterations and against training wall-clock, entropy at 16 NFE, and
    the discriminator's training-batch accuracy, for every arm, with the teacher's 16- and 128-NFE rows."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 5, figsize=(25, 4.5), width_ratios=[1, 1, 1, 1, 0.7])
    teacher = result["scores"].get("teacher") or []
    colours = plt.get_cmap("tab20")
    for i, (label, rows) in enumerate(result["scores"].items()):
        colour = colours(i % 20)  # one colour per arm in every panel
        pts = sorted((r["step"], r["wall_s"], r) for r in rows or [] if label != "teacher" and r["nfe"] == 16)
        if pts:
            err = [[r["gen_ppl"] - r["gen_ppl_ci95"][0] for *_, r in pts],
                   [r["gen_ppl_ci95"][1] - r["gen_ppl"] for *_, r in pts]]
            for ax, x in ((axes[0], [p[0] for p in pts]), (axes[1], [p[1] for p in pts])):
                ax.errorbar(x, [r["gen_ppl"] for *_, r in pts], yerr=err, fmt="o-", capsize=2, label=label,
                            color=colour)
            axes[2].plot([p[0] for p in pts], [r["entropy"] for *_, r in pts], "o-", label=label, color=colour)
        d_acc = [(r["step"], r["d_acc"]) for r in result["logs"].get(label, []) if "d_acc" in r]
        if d_acc:
            axes[3].plot(*zip(*d_acc, strict=True), label=label, lw=0.8, color=colour)
    for nfe, style in ((16, ":"), (128, "--")):
        r = row_of(teacher, "teacher", nfe)
        if r:
            for ax, key in ((axes[0], "gen_ppl"), (axes[1], "gen_ppl"), (axes[2], "entropy")):
                ax.axhline(r[key], color="k", ls=style, label=f"teacher, {nfe} NFE")
    ylabel = "GenPPL at 16 NFE (protdidi-shakespeare-gpt)"
    axes[0].set(xscale="log", yscale="log", xlabel="iteration", ylabel=ylabel)
    axes[1].set(yscale="log", xlabel="training wall-clock (s)", ylabel=ylabel)
    axes[2].set(xscale="log", xlabel="iteration", ylabel="unigram entropy at 16 NFE (nats)")
    axes[3].set(xlabel="iteration", ylabel="discriminator accuracy (training batch)")
    axes[4].axis("off")  # one legend for the four panels, in a fifth
    axes[4].legend(*axes[0].get_legend_handles_labels(), loc="center left", fontsize=8)
    fig.suptitle("DiDi-Instruct on the Tiny Shakespeare teacher: quality against iterations")
    save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--unpack", help="the folder the device's files came back in (study.json and parts)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    add_replot(parser)
    args = parser.parse_args()
    if not (args.unpack or args.replot):
        parser.error("give --unpack DIR or --replot")
    result = run_or_load(args, "text_didi_study", unpack)
    render(args, "text_didi_study", result, "GPU")


if __name__ == "__main__":
    main()
