"""Generation speed of the default model at NFE 16 and 256, and the few-step quality gap.

Prints sequences/s, ms per sequence-forward, achieved GFLOP/s and its ratio to an fp32 matmul peak
measured in the same run; then scores samples at NFE 16/64/256 with the teacher's own NELBO (a rough
proxy, lower is better) next to natural test-split sequences. Writes benchmarks/results/speed.{json,md}.

    python benchmarks/speed.py            # ~4 minutes on a 2-core CPU
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path

import torch
from bench import RESULTS, add_replot, command_line, run_or_load, save_markdown

from protdidi.domains.protein.alphabet import protein_vocab
from protdidi.domains.protein.data import TokenizedSet, default_cath_fasta, split_records
from protdidi.domains.protein.fasta import read_fasta
from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
from protdidi.tasks.mdlm import evaluate_nelbo


def matmul_peak(n: int = 2048, reps: int = 10) -> float:
    """Best-of-reps fp32 GFLOP/s of an n×n×n matmul: the machine's practical peak."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def forward_flops(model, report, nfe: int, batch_size: int) -> float:
    """FLOPs the sampler spent: batches of neighbouring lengths are padded to their longest member."""
    lengths = sorted(len(r.seq) for r in report.records)
    backbone = model.denoiser.backbone
    total = 0.0
    for i in range(0, len(lengths), batch_size):
        chunk = lengths[i:i + batch_size]
        framed = max(chunk) + 2
        total += backbone.flops_per_token(framed) * framed * len(chunk) * nfe
    return total


def run(args) -> dict:
    torch.manual_seed(args.seed)
    model = PROTEIN.load_model(args.model)
    scorer = PROTEIN.load_model("teacher")  # the proxy: the teacher's own NELBO, whatever model generated
    peak = matmul_peak()
    rows = []
    for nfe, n in ((16, args.n), (64, args.n), (256, args.n)):
        rep = PROTEIN.generate(model, n, nfe, None, args.seed, args.batch_size, progress=False)
        seconds = rep.tokens.seconds
        flops = forward_flops(model, rep, nfe, args.batch_size)
        seqs = TokenizedSet([torch.tensor(protein_vocab().encode(r.seq)) for r in rep.records]).seqs
        nll = evaluate_nelbo(scorer.denoiser, seqs, scorer.schedule, scorer.max_length, passes=4)
        rows.append({"what": f"{model.name} samples, NFE {nfe}", "nfe": nfe, "n": n, "seconds": seconds,
                     "seq_per_s": n / seconds, "ms_per_seq_forward": 1e3 * seconds / (n * nfe),
                     "gflops": flops / seconds / 1e9, "peak_ratio": flops / seconds / 1e9 / peak,
                     "nelbo": nll, "nelbo_ppl": math.exp(nll)})
        print(json.dumps(rows[-1]))
    test = split_records(read_fasta(args.fasta or default_cath_fasta()))["test"][: args.n]
    nat = evaluate_nelbo(scorer.denoiser, TokenizedSet.from_records(test).seqs, scorer.schedule, scorer.max_length,
                         passes=4)
    rows.append({"what": "natural test-split sequences", "n": len(test), "nelbo": nat, "nelbo_ppl": math.exp(nat)})
    return {"command": command_line(), "model": model.name, "matmul_peak_gflops": peak,
            "threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine(),
            "torch": torch.__version__, "rows": rows}


def markdown(result: dict) -> str:
    peak, name = result["matmul_peak_gflops"], result["model"]
    lines = [f"# Generation speed and few-step gap ({name})", "",
             f"Command: `{result.get('command', 'python benchmarks/speed.py')}` (2-core CPU, fp32, batch 16, "
             "lengths drawn from the training distribution, seed 0, so every NFE row has the same lengths).",
             f"fp32 matmul peak measured in the same run: {peak:.0f} GFLOP/s on {result['threads']} threads.",
             "Quality proxy: NELBO of the samples under the shipped teacher (nats/token, lower = more "
             "teacher-typical), not an independent judge.", "",
             "| samples | n | seq/s | ms / seq-forward | GFLOP/s | of peak | teacher NELBO | NELBO ppl |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        speed = (f"{r['seq_per_s']:.2f} | {r['ms_per_seq_forward']:.2f} | {r['gflops']:.0f} | "
                 f"{100 * r['peak_ratio']:.0f}%") if "seconds" in r else "– | – | – | –"
        lines.append(f"| {r['what']} | {r['n']} | {speed} | {r['nelbo']:.4f} | {r['nelbo_ppl']:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--fasta", default=None, help="CATH FASTA (default: the shared CATH setting)")
    ap.add_argument("--n", type=int, default=96, help="sequences per NFE (the same lengths at every NFE)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    add_replot(ap)
    args = ap.parse_args()
    save_markdown(args, "speed", markdown(run_or_load(args, "speed", run)))


if __name__ == "__main__":
    main()
