"""OpenVINO against PyTorch on the default model's forward: is another CPU runtime a way to issue #19's 70%?

    pip install openvino && python benchmarks/openvino_probe.py     # ~2 minutes on a 2-core CPU

The shipped default model's network (tokens → logits, fp32, 2 threads) is traced and converted with dynamic
batch and length; then both runtimes run batches of 16 sequences at a few lengths, taking turns in blocks of
`--block` calls for `--reps` rounds, best call per cell. Reported: achieved GFLOP/s over the fp32 matmul peak
measured in the same run, and the largest logit difference at each length (OpenVINO fuses and reorders, so it
is not bit-exact). For the trace the rotary embedding is written with a concatenation (the arithmetic of commit
bcac9c8), because the in-place form becomes scatter updates that OpenVINO does not fuse; the PyTorch side runs
the shipped code. Writes benchmarks/results/openvino_probe.{json,md}. Not a dependency of protdidi: this probe
is its only user.
"""

from __future__ import annotations

import argparse
import time

import torch
from bench import RESULTS, add_replot, command_line, machine, run_or_load, save_markdown, table
from speed import code_path, matmul_peak

from protdidi.domains.protein.plugin import DOMAIN as PROTEIN


class Logits(torch.nn.Module):
    """The backbone with its padding mask always built (the traced graph must not depend on the batch)."""

    def __init__(self, backbone):
        super().__init__()
        self.bb = backbone

    def forward(self, tokens):
        keep = tokens.ne(self.bb.cfg.padding_idx)[:, None, None, :]
        x = self.bb.embed(tokens)
        for layer in self.bb.layers:
            x = layer(x, keep)
        return self.bb.lm_head(self.bb.emb_layer_norm_after(x))


def tokens_of(batch: int, length: int, seed: int, padded: int = 0) -> torch.Tensor:
    """`<cls> body <eos>` rows of random standard residues; with `padded`, the second half of the batch is that
    much shorter and padded (the mixed-length batches generation makes)."""
    g = torch.Generator().manual_seed(seed)
    tokens = torch.full((batch, length + 2), 1)  # padding
    tokens[:, 0] = 0
    for row in range(batch):
        n = length - (padded if row >= batch // 2 else 0)
        tokens[row, 1:n + 1] = torch.randint(4, 24, (n,), generator=g)  # the 20 standard residues
        tokens[row, n + 1] = 2
    return tokens


def run(args) -> dict:
    import openvino as ov

    torch.set_num_threads(args.threads)
    backbone = PROTEIN.load_model(args.model).denoiser.backbone.eval()
    for layer in backbone.layers:  # a table longer than any length below, so that the trace slices it
        layer.self_attn.rot_emb.tables(max(args.lengths) + 2, torch.device("cpu"))
    example = tokens_of(args.batch, 64, 0)
    with torch.no_grad(), code_path(before=True):
        traced = torch.jit.trace(Logits(backbone), example, check_trace=False)
    converted = ov.convert_model(traced, example_input=example, input=[ov.PartialShape([-1, -1])])
    compiled = ov.Core().compile_model(converted, "CPU", {"INFERENCE_NUM_THREADS": args.threads,
                                                          "INFERENCE_PRECISION_HINT": "f32",
                                                          "PERFORMANCE_HINT": "LATENCY"})
    request = compiled.create_infer_request()
    peaks = [matmul_peak()]
    rows = []
    with torch.no_grad():
        for length, padded in [(n, 0) for n in args.lengths] + [(args.lengths[len(args.lengths) // 2], 14)]:
            x = tokens_of(args.batch, length, 1, padded)
            keep = x.ne(1)
            ours = backbone(x)
            theirs = torch.from_numpy(request.infer([x.numpy()])[0].copy())
            best = {"pytorch": float("inf"), "openvino": float("inf")}
            calls = {"pytorch": lambda x=x: backbone(x), "openvino": lambda x=x: request.infer([x.numpy()])}
            for _ in range(args.reps):  # rounds; in each, a block of calls per runtime (one runtime's idle
                for name, call in calls.items():  # worker threads spin for a while and would slow the other's
                    for _ in range(args.block):   # first call; the best of the block skips that)
                        start = time.perf_counter()
                        call()
                        best[name] = min(best[name], time.perf_counter() - start)
            flops = backbone.flops_per_token(length + 2) * (length + 2) * args.batch
            rows.append({"length": length, "padded": padded, "pytorch_ms": best["pytorch"] * 1e3,
                         "openvino_ms": best["openvino"] * 1e3,
                         "gflop": flops / 1e9, "max_logit_diff": float((ours - theirs)[keep].abs().max()),
                         "logit_scale": float(ours[keep].abs().max())})
    peaks.append(matmul_peak())
    peak = max(peaks)
    for r in rows:
        for name in ("pytorch", "openvino"):
            r[f"{name}_peak_ratio"] = r["gflop"] / (r[f"{name}_ms"] / 1e3) / peak
        r["speedup"] = r["pytorch_ms"] / r["openvino_ms"]
    return {"command": command_line(), "machine": machine(), "openvino": ov.__version__, "model": args.model,
            "batch": args.batch, "reps": args.reps, "block": args.block, "threads": args.threads,
            "peak_gflops": peak, "peaks": peaks, "rows": rows}


def markdown(result: dict) -> str:
    lines = [f"# OpenVINO {result['openvino']} against PyTorch: one forward of the default model", "",
             f"Command: `{result['command']}` ({result['machine']}; batch {result['batch']}, best call of "
             f"{result['reps']} rounds of {result['block']} per runtime and cell, {result['threads']} threads, "
             "fp32).", "",
             f"**Peak**: fp32 matmul, measured before and after: "
             f"{', '.join(f'{p:.0f}' for p in result['peaks'])} GFLOP/s; ratios are over "
             f"{result['peak_gflops']:.0f}. FLOPs per forward: matmuls and attention at the full length "
             "(`Esm2.flops_per_token`; padded positions counted too). The last row pads half of the batch "
             "(14 residues shorter); logit differences are over the positions that are not padding.", ""]
    lines += table(["length", "PyTorch ms", "of peak", "OpenVINO ms", "of peak", "OpenVINO speed-up",
                    "largest logit difference (scale)"],
                   [[f"{r['length']}" + (f", half {r['padded']} shorter" if r["padded"] else ""),
                     f"{r['pytorch_ms']:.1f}", f"{r['pytorch_peak_ratio']:.0%}", f"{r['openvino_ms']:.1f}",
                     f"{r['openvino_peak_ratio']:.0%}", f"{r['speedup']:.2f}×",
                     f"{r['max_logit_diff']:.3g} ({r['logit_scale']:.1f})"] for r in result["rows"]])
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="idlm")
    parser.add_argument("--lengths", type=lambda s: [int(x) for x in s.split(",")], default=[60, 144, 300])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--reps", type=int, default=4)
    parser.add_argument("--block", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=RESULTS)
    add_replot(parser)
    args = parser.parse_args()
    save_markdown(args, "openvino_probe", markdown(run_or_load(args, "openvino_probe", run)))


if __name__ == "__main__":
    main()
