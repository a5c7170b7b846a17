"""How long `protdidi evaluate` takes as a user runs it, and whether the two novelty searches agree.

    python benchmarks/evaluate_speed.py

Generates 12 and 1,000 sequences with the default model (`protdidi generate --nfe 16 --seed 0`), then times the
CLI, each call a fresh process as a user would start it: 12 sequences with an empty user cache (the reference
rows come from the package), again (second call), and 1,000 sequences. `--cold` also times a call with
`--no-cache`, which recomputes the four reference rows (the cost a custom judge or reference pays once).
Targets (issue #17, on the 2-core CPU): 12 sequences in under 60 s, 1,000 in under 10 minutes; the fp32 matmul
peak measured in the same run says how fast this machine is.

Novelty parity: CATH training sequences mutated at 0/10/30/50% and CATH test sequences, searched against the
training split by the Python search and by MMseqs2 (when `mmseqs` is on PATH): mean and maximum |difference|
of the maximum identity per group, and how often both call a sequence novel (< 50%).
Writes benchmarks/results/evaluate_speed.{json,md}.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import RESULTS, add_replot, command_line, machine, run_or_load, save_markdown, table
from speed import matmul_peak


def timed(command: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env})
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{proc.stderr}")
    return seconds


def novelty_parity(n_per_group: int, seed: int) -> dict:
    from protdidi.domains.protein.data import default_cath_splits
    from protdidi.domains.protein.evaluation.novelty import mmseqs_search, python_search

    split = default_cath_splits("--fasta")
    train, test = [r.seq for r in split["train"]], [r.seq for r in split["test"]]
    rng = random.Random(seed)
    groups = {}
    for rate in (0.0, 0.1, 0.3, 0.5):
        groups[f"train, {int(100 * rate)}% mutated"] = [
            "".join(c if rng.random() >= rate else rng.choice("ACDEFGHIKLMNPQRSTVWY") for c in s)
            for s in rng.sample(train, n_per_group)]
    groups["CATH test split"] = rng.sample(test, n_per_group)
    queries = [s for seqs in groups.values() for s in seqs]
    t0 = time.perf_counter()
    ours = python_search(queries, train)
    t1 = time.perf_counter()
    theirs = mmseqs_search(queries, train)
    t2 = time.perf_counter()
    rows, start = [], 0
    for name, seqs in groups.items():
        a, b = ours[start:start + len(seqs)], theirs[start:start + len(seqs)]
        start += len(seqs)
        diffs = [abs(x - y) for x, y in zip(a, b, strict=True)]
        rows.append({"group": name, "n": len(seqs), "python_mean": sum(a) / len(a), "mmseqs_mean": sum(b) / len(b),
                     "mean_abs_diff": sum(diffs) / len(diffs), "max_abs_diff": max(diffs),
                     "same_novel_call": sum((x < 0.5) == (y < 0.5) for x, y in zip(a, b, strict=True)) / len(a)})
    return {"rows": rows, "python_seconds": t1 - t0, "mmseqs_seconds": t2 - t1}


def run(args) -> dict:
    result = {"command": command_line(), "machine": machine(), "matmul_peak_gflops": matmul_peak(), "calls": []}
    cli = [sys.executable, "-m", "protdidi"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n in (12, 1000):
            timed([*cli, "generate", "--n", str(n), "--nfe", "16", "--seed", "0", "-o", str(tmp / f"s{n}.fasta")], {})
        env = {"PROTDIDI_CACHE_DIR": str(tmp / "cache")}
        plan = [("12 sequences, first call (empty user cache)", 12, []), ("12 sequences, second call", 12, []),
                ("1,000 sequences", 1000, [])]
        plan += [("12 sequences, --no-cache (reference rows recomputed)", 12, ["--no-cache"])] if args.cold else []
        for label, n, extra in plan:
            seconds = timed([*cli, "evaluate", str(tmp / f"s{n}.fasta"), "--quiet", *extra, "-o",
                             str(tmp / "report")], env)
            result["calls"].append({"call": label, "seconds": round(seconds, 1)})
            print(f"{label}: {seconds:.1f} s", file=sys.stderr)
    if shutil.which("mmseqs"):
        result["novelty_parity"] = novelty_parity(args.parity_n, args.seed)
    return result


def markdown(result: dict) -> str:
    lines = ["# `protdidi evaluate` wall-clock and novelty-search parity", "", f"Command: `{result['command']}`  ",
             f"{result['machine']}; fp32 matmul peak measured in the same run: "
             f"{result['matmul_peak_gflops']:.0f} GFLOP/s. Judge: protdidi-cath-judge (default); samples from the "
             "default model at 16 NFE; each call a fresh process.", ""]
    lines += table(["call", "seconds", "target"],
                   [[c["call"], f"{c['seconds']:.1f}", "< 60" if c["call"].startswith("12 sequences, second") else
                     ("< 600" if c["call"].startswith("1,000") else "–")] for c in result["calls"]])
    parity = result.get("novelty_parity")
    if parity:
        lines += ["", f"Novelty search parity (maximum identity to the CATH training split; Python search "
                  f"{parity['python_seconds']:.0f} s, MMseqs2 {parity['mmseqs_seconds']:.0f} s for the same "
                  "queries):", ""]
        lines += table(["queries", "n", "Python mean", "MMseqs2 mean", "mean |Δ|", "max |Δ|", "same novel call"],
                       [[r["group"], str(r["n"]), f"{r['python_mean']:.3f}", f"{r['mmseqs_mean']:.3f}",
                         f"{r['mean_abs_diff']:.3f}", f"{r['max_abs_diff']:.3f}", f"{r['same_novel_call']:.2f}"]
                        for r in parity["rows"]])
    return "\n".join(lines) + "\n"


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cold", action="store_true", help="also time a --no-cache call (tens of minutes)")
    parser.add_argument("--parity-n", type=int, default=50, help="queries per parity group")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    add_replot(parser)
    args = parser.parse_args()
    save_markdown(args, "evaluate_speed", markdown(run_or_load(args, "evaluate_speed", run)))


if __name__ == "__main__":
    main()
