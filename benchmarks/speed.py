"""Generation speed of the default model against this CPU's fp32 matmul peak, at NFE 4, 16 and 64, before and after.

For each NFE the same job runs twice, interleaved: with the previous code path ("before": the rotary embedding that
built a half-swapped copy of q and k with torch.cat, patched in for that run) and the current one ("after"). Each
row reports the model FLOPs at the sequences' actual lengths (padding to a batch's longest member is computed but
counted as waste, not credited), achieved GFLOP/s, and its ratio to the fp32 matmul peak. The peak is measured
before and after every timed run in this process; the best of all those measurements is the denominator of every
row (the conservative choice on a machine whose speed drifts). It checks that both paths produce identical
sequences, profiles one representative batch by operator class (where the time goes), and scores the samples with
the shipped teacher's NELBO beside natural test-split sequences. Writes benchmarks/results/speed.{json,md}.

    python benchmarks/speed.py            # ~15 minutes on a 2-core CPU
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from contextlib import contextmanager
from pathlib import Path

import torch
from bench import RESULTS, add_replot, command_line, run_or_load, save_markdown, table

from protdidi.domains.protein.alphabet import protein_vocab
from protdidi.domains.protein.data import TokenizedSet, default_cath_fasta, split_records
from protdidi.domains.protein.fasta import read_fasta
from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
from protdidi.generation.driver import build_sampler, generate, sample_batch
from protdidi.generation.request import CHUNK, Request
from protdidi.models.rotary import Rotary
from protdidi.tasks.mdlm import evaluate_nelbo

MATMUL_OPS = ("aten::addmm", "aten::mm", "aten::bmm", "aten::matmul", "aten::linear")


def matmul_peak(sizes: tuple[int, ...] = (1024, 2048, 3072), reps: int = 5) -> float:
    """Best fp32 GFLOP/s of square n×n×n matmuls over a few sizes: the machine's practical peak right now."""
    best = 0.0
    for n in sizes:
        a, b = torch.randn(n, n), torch.randn(n, n)
        a @ b
        for _ in range(reps):
            t = time.perf_counter()
            a @ b
            best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def previous_rotary(self, qk: torch.Tensor) -> torch.Tensor:
    """`Rotary.forward` as of commit bcac9c8 (the "before" path): the half-swapped copy built with torch.cat."""
    cos, sin = self.tables(qk.shape[-2], qk.device)
    half = qk.shape[-1] // 2
    swapped = torch.cat((qk[..., half:], qk[..., :half]), dim=-1)
    return torch.addcmul(qk * cos.to(qk.dtype), swapped, sin.to(qk.dtype))


@contextmanager
def code_path(before: bool):
    current = Rotary.forward
    Rotary.forward = previous_rotary if before else current
    try:
        yield
    finally:
        Rotary.forward = current


def flop_terms(backbone) -> dict:
    """The forward FLOPs of one framed sequence of T tokens (body + BOS/EOS), from the model's own count
    (`Esm2.flops_per_token`): 2·P·T for the matmul weights (P of them) plus 4·layers·d·T² for attention (QKᵀ and AV).
    Embedding lookups, norms, GELU and softmax are not counted."""
    cfg, per_token = backbone.cfg, backbone.flops_per_token
    return {"matmul_params": per_token(0) // 2, "attention_coef": per_token(1) - per_token(0),
            "layers": cfg.num_layers, "width": cfg.embed_dim, "heads": cfg.attention_heads, "vocab": cfg.vocab_size}


def forward_flops(terms: dict, t: int) -> dict[str, float]:
    """One sequence-forward at T framed tokens, by operator class: the matmul weights' 2·P·T and attention's
    coef·T²."""
    return {"matmul": 2 * terms["matmul_params"] * t, "attention kernel": terms["attention_coef"] * t * t}


def job_flops(terms: dict, lengths: list[int], nfe: int, batch_size: int) -> tuple[float, float]:
    """(FLOPs at the actual lengths, FLOPs computed) of generating `lengths` as `generate_rows` batches them:
    per chunk of CHUNK, sorted by length, `batch_size` at a time, each batch padded to its longest member."""
    def forward(t: int) -> float:
        return sum(forward_flops(terms, t).values())

    useful = sum(forward(n + 2) for n in lengths) * nfe
    computed = 0.0
    for c in range(0, len(lengths), CHUNK):
        chunk = sorted(lengths[c:c + CHUNK])
        for b in range(0, len(chunk), batch_size):
            batch = chunk[b:b + batch_size]
            computed += forward(max(batch) + 2) * len(batch) * nfe
    return useful, computed


def op_profile(model, lengths: list[int], nfe: int, terms: dict) -> dict:
    """Self CPU time by operator class over one batch's sampling (`nfe` steps), with each class's GFLOP/s."""
    from torch.profiler import ProfilerActivity, profile

    b, n = len(lengths), max(lengths)
    valid = torch.arange(n)[None, :] < torch.tensor(lengths)[:, None]
    engine = build_sampler(model, "ancestral")

    def run():
        sample_batch(engine, model.denoiser, b, n, nfe, torch.Generator().manual_seed(0), valid=valid)

    run()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    classes = {"matmul": 0.0, "attention kernel": 0.0, "element-wise and other": 0.0}
    for e in prof.key_averages():
        key = "matmul" if e.key in MATMUL_OPS else "attention kernel" if "scaled_dot_product" in e.key \
            else "element-wise and other"
        classes[key] += e.self_cpu_time_total / 1e6
    flops = {k: f * b * nfe for k, f in forward_flops(terms, n + 2).items()}
    total = sum(classes.values())
    return {"batch": b, "padded_length": n, "nfe": nfe, "seconds": total,
            "classes": {k: {"seconds": s, "share": s / total,
                            "gflops": flops[k] / s / 1e9 if k in flops else None} for k, s in classes.items()}}


def timed(model, n: int, nfe: int, seed: int, batch_size: int, before: bool, peaks: list[float]):
    peaks.append(matmul_peak())
    with code_path(before):
        start = time.perf_counter()
        rep = generate(PROTEIN, model, Request(n, nfe, seed, batch_size=batch_size))
        seconds = time.perf_counter() - start
    peaks.append(matmul_peak())
    return rep, seconds


def run(args) -> dict:
    torch.manual_seed(args.seed)
    model = PROTEIN.load_model(args.model)
    scorer = PROTEIN.load_model("teacher")  # the proxy: the teacher's own NELBO, whatever model generated
    terms = flop_terms(model.denoiser.backbone)
    peaks: list[float] = []
    rows, samples = [], {}
    for nfe, n in ((4, args.n), (16, args.n), (64, max(1, args.n // 4))):
        runs = {}
        for before in (True, False):
            rep, seconds = timed(model, n, nfe, args.seed, args.batch_size, before, peaks)
            runs[before] = (rep, seconds)
        seqs = [[r.seq for r in runs[b][0].records] for b in (True, False)]
        for before, (rep, seconds) in runs.items():
            useful, computed = job_flops(terms, rep.lengths, nfe, args.batch_size)
            rows.append({"path": "before" if before else "after", "nfe": nfe, "n": n, "seconds": seconds,
                         "residues": sum(rep.lengths), "seq_per_s": n / seconds, "useful_gflop": useful / 1e9,
                         "padding_waste": 1 - useful / computed, "gflops": useful / seconds / 1e9,
                         "identical_to_before": seqs[0] == seqs[1]})
            print(rows[-1], flush=True)
        samples[nfe] = runs[False][0]
    peak = max(peaks)
    for r in rows:
        r["peak_ratio"] = r["gflops"] / peak
    mid = sorted(samples[16].lengths)[len(samples[16].lengths) // 2:][: args.batch_size]
    profile_row = op_profile(model, mid, 16, terms)
    quality = []
    for nfe, rep in samples.items():
        tokens = TokenizedSet([torch.tensor(protein_vocab().encode(r.seq)) for r in rep.records]).seqs
        quality.append({"what": f"{model.name} samples, NFE {nfe}", "n": len(rep.records),
                        "nelbo": evaluate_nelbo(scorer.denoiser, tokens, scorer.schedule, scorer.max_length,
                                                passes=4)})
    test = split_records(read_fasta(args.fasta or default_cath_fasta()))["test"][: args.n]
    quality.append({"what": "natural test-split sequences", "n": len(test),
                    "nelbo": evaluate_nelbo(scorer.denoiser, TokenizedSet.from_records(test).seqs, scorer.schedule,
                                            scorer.max_length, passes=4)})
    return {"command": command_line(), "model": model.name, "flop_terms": terms, "batch_size": args.batch_size,
            "matmul_peak_gflops": peak, "peaks": peaks, "threads": torch.get_num_threads(),
            "cpu": platform.processor() or platform.machine(), "torch": torch.__version__, "rows": rows,
            "profile": profile_row, "quality": quality}


def markdown(result: dict) -> str:
    peak, terms, name = result["matmul_peak_gflops"], result["flop_terms"], result["model"]
    lo, hi = min(result["peaks"]), max(result["peaks"])
    prof = result["profile"]
    lines = [f"# Generation speed against the fp32 peak ({name})", "",
             f"Command: `{result['command']}` (fp32, {result['threads']} threads, {result['cpu']}, torch "
             f"{result['torch']}, batch {result['batch_size']}, lengths drawn from the training distribution, seed "
             "0: before and after generate the same job).", "",
             f"**Peak.** fp32 matmul (square 1024-3072), measured before and after every timed run: {lo:.0f} to "
             f"{hi:.0f} GFLOP/s over this run; every ratio below is over the best, {peak:.0f} GFLOP/s.", "",
             f"**FLOPs per forward** of one sequence of L residues, T = L + 2 framed tokens: 2·P·T + "
             f"{terms['attention_coef']:,}·T², with P = {terms['matmul_params']:,} matmul weights ({terms['layers']} "
             f"layers × 12·{terms['width']}² + the LM head {terms['width']}² + {terms['width']}·{terms['vocab']}) and "
             f"attention 4·layers·d·T² (QKᵀ and AV, {terms['heads']} heads). Counted at the actual lengths; padding "
             "to a batch's longest member is computed but not credited (its share is the waste column). Norms, GELU, "
             "softmax and the sampler's float64 step are not counted (they cost time, not FLOPs).", "",
             "**Paths.** before: the rotary embedding as of commit bcac9c8 (concatenates a half-swapped copy of q "
             "and k); after: the current code (adds the swapped halves in place). Both compute the same arithmetic "
             "bit for bit, so the samples are identical (column 'same samples').", ""]
    lines += table(["path", "NFE", "n", "residues", "s", "seq/s", "padding waste", "GFLOP/s", "of peak",
                    "same samples"],
                   [[r["path"], str(r["nfe"]), str(r["n"]), f"{r['residues']:,}", f"{r['seconds']:.1f}",
                     f"{r['seq_per_s']:.2f}", f"{100 * r['padding_waste']:.1f}%", f"{r['gflops']:.0f}",
                     f"**{100 * r['peak_ratio']:.0f}%**", "yes" if r["identical_to_before"] else "NO"]
                    for r in result["rows"]])
    lines += ["", f"**Where the time goes** (torch.profiler self time, one batch of {prof['batch']} sequences padded "
              f"to {prof['padded_length']} residues, {prof['nfe']} sampling steps, current path; the profiler adds "
              "overhead to small operators):", ""]
    lines += table(["operator class", "share of time", "its GFLOP/s", "of peak"],
                   [[k, f"{100 * c['share']:.0f}%", "–" if c["gflops"] is None else f"{c['gflops']:.0f}",
                     "–" if c["gflops"] is None else f"{100 * c['gflops'] / peak:.0f}%"]
                    for k, c in prof["classes"].items()])
    kernels = [prof["classes"][k] for k in ("matmul", "attention kernel")]
    bound = sum(c["gflops"] * c["seconds"] for c in kernels) / sum(c["seconds"] for c in kernels) / peak
    lines += ["", f"If everything but the matmul and attention kernels took no time at all, this batch would run at "
              f"{100 * bound:.0f}% of the peak: the ceiling of this model shape on these kernels."]
    lines += ["", "**Quality proxy**: NELBO of the 'after' samples under the shipped teacher (nats/token, lower = more "
              "teacher-typical; not an independent judge).", ""]
    lines += table(["samples", "n", "teacher NELBO", "NELBO ppl"],
                   [[q["what"], str(q["n"]), f"{q['nelbo']:.4f}", f"{math.exp(q['nelbo']):.2f}"]
                    for q in result["quality"]])
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--fasta", default=None, help="CATH FASTA (default: the shared CATH setting)")
    ap.add_argument("--n", type=int, default=1000, help="sequences at NFE 4 and 16 (a quarter of it at NFE 64)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    add_replot(ap)
    args = ap.parse_args()
    save_markdown(args, "speed", markdown(run_or_load(args, "speed", run)))


if __name__ == "__main__":
    main()
