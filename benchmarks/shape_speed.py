"""CPU forward speed of candidate teacher shapes against the shipped one: what a larger default costs per NFE.

    python benchmarks/shape_speed.py          # ~1 minute on a 2-core CPU

The student of a larger teacher has the teacher's shape and must generate 1,000 sequences in the time today's
default needs at 16 NFE (issue #19, point 3), so the NFE it may spend is 16 / (its time per forward relative to
today's). At equal width and depth the head count changes that time: attention FLOPs do not depend on it, but
PyTorch's CPU attention kernel is less efficient on narrow heads. Each shape (random weights: the speed does not
depend on them) runs batches of 16 sequences at a few lengths, interleaved with the others in one process, best
of `--reps` per cell; the ratio to today's shape, the FLOP ratio, and achieved GFLOP/s against the fp32 matmul
peak measured in the same run. Writes benchmarks/results/shape_speed.{json,md}.
"""

from __future__ import annotations

import argparse
import time

import torch
from bench import RESULTS, add_replot, command_line, machine, run_or_load, save_markdown, table
from speed import matmul_peak

from protdidi.models.esm2 import Esm2, Esm2Config

SHAPES = [  # (layers, width, heads): today's default first
    (6, 192, 6), (6, 320, 20), (6, 320, 10), (6, 320, 5), (12, 256, 8)]


def run(args) -> dict:
    torch.manual_seed(0)
    models = {s: Esm2(Esm2Config(num_layers=s[0], embed_dim=s[1], attention_heads=s[2])).eval() for s in SHAPES}
    peaks = [matmul_peak()]
    best: dict[tuple, float] = {}
    with torch.no_grad():
        for length in args.lengths:
            x = torch.randint(4, 24, (args.batch, length + 2))
            for m in models.values():
                m(x)
            for _ in range(args.reps):
                for shape, m in models.items():
                    start = time.perf_counter()
                    m(x)
                    key = (*shape, length)
                    best[key] = min(best.get(key, float("inf")), time.perf_counter() - start)
    peaks.append(matmul_peak())
    peak = max(peaks)
    rows = []
    for shape, m in models.items():
        seconds = sum(best[(*shape, n)] for n in args.lengths)
        flops = sum(m.flops_per_token(n + 2) * (n + 2) * args.batch for n in args.lengths)
        rows.append({"layers": shape[0], "width": shape[1], "heads": shape[2], "head_dim": shape[1] // shape[2],
                     "params": sum(p.numel() for p in m.parameters()), "seconds": seconds, "gflop": flops / 1e9,
                     "gflops": flops / seconds / 1e9, "peak_ratio": flops / seconds / 1e9 / peak})
    base = rows[0]
    for r in rows:
        r["time_ratio"], r["flop_ratio"] = r["seconds"] / base["seconds"], r["gflop"] / base["gflop"]
        r["nfe_at_default_16"] = 16 / r["time_ratio"]
    return {"command": command_line(), "machine": machine(), "batch": args.batch, "lengths": args.lengths,
            "reps": args.reps, "peak_gflops": peak, "peaks": peaks, "rows": rows}


def markdown(result: dict) -> str:
    body = [[f"{r['layers']} × {r['width']}, {r['heads']} heads of {r['head_dim']}", f"{r['params'] / 1e6:.1f}M",
             f"{r['time_ratio']:.2f}", f"{r['flop_ratio']:.2f}", f"{r['gflops']:.0f}", f"{r['peak_ratio']:.0%}",
             f"{r['nfe_at_default_16']:.1f}"] for r in result["rows"]]
    return "\n".join([
        "# Forward speed of teacher shapes on the CPU, against today's (6 × 192)", "",
        f"Command: `{result['command']}`  ",
        f"{result['machine']}; batches of {result['batch']} sequences at lengths {result['lengths']}, best of "
        f"{result['reps']} per length, shapes interleaved; fp32 matmul peak {result['peak_gflops']:.0f} GFLOP/s "
        f"(best of the measurements before and after: {', '.join(f'{p:.0f}' for p in result['peaks'])}).", "",
        *table(["shape", "parameters", "time vs today's", "FLOPs vs today's", "GFLOP/s", "of peak",
                "NFE in the time of today's 16"], body), ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", type=lambda s: [int(x) for x in s.split(",")], default=[60, 144, 300])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--reps", type=int, default=8)
    parser.add_argument("--out", default=RESULTS)
    add_replot(parser)
    args = parser.parse_args()
    save_markdown(args, "shape_speed", markdown(run_or_load(args, "shape_speed", run)))


if __name__ == "__main__":
    main()
