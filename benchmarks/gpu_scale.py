"""Scale check on a GPU: distil a DPLM-150M-shaped teacher with both methods for a fixed number of iterations.

    python benchmarks/gpu_scale.py --iters 25       # on a machine with a CUDA GPU; 154 s on one H200
    python benchmarks/gpu_scale.py --iters 15 --batch 32 --out DIR   # the second table in docs/teacher.md
    python benchmarks/gpu_scale.py --toy --out /tmp/gpu_scale   # the same code path at toy size on a CPU
    python benchmarks/gpu_scale.py --iters 8 --methods idlm --profile --out DIR   # where an iteration's time goes

The teacher is an HF `EsmForMaskedLM` with DPLM-150M's shape (30 layers x 640, 20 heads, ESM-2 alphabet) and
RANDOM weights unless `--teacher DIR` names real ones: the timings are real, the samples meaningless. Each
(method, precision) pair runs `protdidi distill`'s own code (`run_distillation`) in this one process on the CATH
training split, cropped to `--length` residues, for `--iters` iterations with `--batch` real sequences each (DiDi:
`group_size` rollouts per sequence); evaluation and checkpoints are pushed past the end. bf16 means the whole run
under `torch.autocast(bfloat16)`. Reported: median seconds per iteration after `--warmup` iterations (from the
run's own log), real tokens per second, and peak GPU memory (torch.cuda.max_memory_allocated). Beside it, the
official DiDi-Instruct figure, labelled as theirs: about one H100-hour for 10,000 iterations of a 169M text model
(0.36 s per iteration). Writes benchmarks/results/gpu_scale.{json,md}; while it runs, gpu_scale.partial.json holds
the rows so far (a run cut short by a time limit still returns them).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import statistics
import sys
import tempfile
from pathlib import Path

import torch
from bench import RESULTS, add_replot, command_line, log_records, machine, run_or_load, save_json, save_markdown, table

from protdidi.io import write_text_atomic

DPLM_150M = {"layers": 30, "dim": 640, "heads": 20}
TOY = {"layers": 4, "dim": 32, "heads": 4}  # DiDi unfreezes 4 blocks of the discriminator trunk
THEIRS_S_PER_ITER = 3600 / 10_000  # DiDi-Instruct paper: ~1 H100-hour for 10k iterations, 169M text model


def write_random_teacher(path: Path, layers: int, dim: int, heads: int) -> Path:
    """An HF EsmForMaskedLM directory in DPLM's layout (rotary, token dropout, ESM-2 alphabet), random weights."""
    from transformers import EsmConfig, EsmForMaskedLM

    torch.manual_seed(0)
    cfg = EsmConfig(vocab_size=33, hidden_size=dim, num_hidden_layers=layers, num_attention_heads=heads,
                    intermediate_size=4 * dim, position_embedding_type="rotary", token_dropout=True,
                    mask_token_id=32, pad_token_id=1, emb_layer_norm_before=False, layer_norm_eps=1e-5,
                    max_position_embeddings=1026, hidden_act="gelu")
    EsmForMaskedLM(cfg).save_pretrained(path)
    return path


@contextlib.contextmanager
def profiled(args, name: str, cuda: bool):
    """With `--profile`: torch.profiler around the whole run; its operator table (40 rows, by self device time on
    a GPU, else self CPU time) goes to OUT/gpu_scale_profile_NAME.txt. The profiler slows the run it watches."""
    if not args.profile:
        yield
        return
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU, *([ProfilerActivity.CUDA] if cuda else [])]
    with profile(activities=activities) as prof:
        yield
    sort = "self_device_time_total" if cuda else "self_cpu_time_total"
    text = prof.key_averages().table(sort_by=sort, row_limit=40)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    write_text_atomic(Path(args.out) / f"gpu_scale_profile_{name}.txt", lambda handle: handle.write(text + "\n"))


def one_run(teacher: str, method: str, precision: str, args, work: Path) -> dict:
    from protdidi.config import load_config
    from protdidi.domains.protein.distill import ProteinDistillConfig
    from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
    from protdidi.methods.distillation import run_distillation

    far = args.iters + 1
    cfg = load_config(ProteinDistillConfig, None, [
        f"teacher={teacher}", f"method={method}", f"device={args.device}", f"data.max_length={args.length}",
        f"loop.steps={args.iters}", f"loop.batch_size={args.batch}", "loop.log_every=1", f"loop.eval_every={far}",
        f"loop.save_every={far}", "loop.eval_samples=2", "loop.eval_nfe=2"])
    cuda = torch.device(args.device).type == "cuda"
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    run_dir = work / f"{method}-{precision}"
    device_type = torch.device(args.device).type
    with profiled(args, f"{method}-{precision}", cuda), \
            torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        run_distillation(PROTEIN, cfg, run_dir)
    walls = [r["wall_s"] for r in log_records(run_dir) if "loss" in r]
    steps = [b - a for a, b in itertools.pairwise(walls)][args.warmup:]
    from protdidi.domains.protein.data import default_cath_splits

    train = default_cath_splits("--fasta")["train"]
    mean_len = statistics.fmean(min(len(r.seq), args.length) for r in train)
    s_per_iter = statistics.median(steps)
    return {"method": method, "precision": precision, "s_per_iter": s_per_iter,
            "real_tokens_per_s": args.batch * mean_len / s_per_iter, "iters_timed": len(steps),
            "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None}


def run(args) -> dict:
    if not args.toy and not torch.cuda.is_available():
        sys.exit("gpu_scale: no CUDA GPU here; run with --toy for the CPU smoke test")
    shape = TOY if args.toy else DPLM_150M
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        teacher = args.teacher or str(write_random_teacher(work / "teacher", **shape))
        for method in args.methods:
            for precision in args.precisions:
                row = one_run(teacher, method, precision, args, work)
                print(row, file=sys.stderr)
                rows.append(row)
                # each row as soon as it exists: a run cut short by a time limit still returns what it measured
                save_json(Path(args.out) / "gpu_scale.partial.json", {"command": command_line(), "rows": rows})
        from protdidi.domains.protein.plugin import DOMAIN as PROTEIN

        params = sum(p.numel() for p in PROTEIN.load_model(teacher).denoiser.parameters())
    (Path(args.out) / "gpu_scale.partial.json").unlink(missing_ok=True)  # the whole result follows
    device = torch.cuda.get_device_name() if torch.device(args.device).type == "cuda" else "cpu"
    return {"command": command_line(), "machine": machine(args.device), "device_name": device,
            "profiled": args.profile,
            "teacher": args.teacher or f"random weights, shape {shape}", "parameters": params,
            "iters": args.iters, "batch": args.batch, "length": args.length, "rows": rows}


def markdown(result: dict) -> str:
    body = [[r["method"], r["precision"], f"{r['s_per_iter']:.3f}", f"{r['real_tokens_per_s']:,.0f}",
             f"{r['peak_gib']:.1f}" if r["peak_gib"] is not None else "–"] for r in result["rows"]]
    body.append(["DiDi-Instruct, official (theirs: 169M text model, ~1 H100-hour / 10k iterations)", "bf16",
                 f"{THEIRS_S_PER_ITER:.2f}", "–", "–"])
    return "\n".join([
        f"# Distillation at DPLM-150M scale on {result['device_name']}", "",
        f"Command: `{result['command']}`  ",
        f"{result['machine']}; teacher: {result['teacher']} ({result['parameters'] / 1e6:.0f}M parameters); "
        f"{result['batch']} real sequences per iteration cropped to {result['length']} residues; median over "
        f"{result['rows'][0]['iters_timed']} timed iterations of {result['iters']}"
        f"{' (under the profiler, which slows them)' if result.get('profiled') else ''}.", "",
        *table(["method", "precision", "s / iteration", "real tokens / s", "peak GPU memory (GiB)"], body), ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--toy", action="store_true", help="toy-sized teacher on the CPU (a smoke test)")
    parser.add_argument("--teacher", default=None, help="real DPLM/ESM-2 weights (HF dir or fair-esm .pt)")
    parser.add_argument("--methods", type=lambda s: s.split(","), default=["idlm", "didi"])
    parser.add_argument("--precisions", type=lambda s: s.split(","), default=["fp32", "bf16"])
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--device", default=None)
    parser.add_argument("--profile", action="store_true",
                        help="also write each run's operator profile (timings then include the profiler's cost)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    add_replot(parser)
    args = parser.parse_args()
    args.device = args.device or ("cpu" if args.toy else "cuda")
    if args.toy:
        args.iters, args.warmup, args.length = min(args.iters, 4), 1, min(args.length, 32)
    save_markdown(args, "gpu_scale", markdown(run_or_load(args, "gpu_scale", run)))


if __name__ == "__main__":
    main()
