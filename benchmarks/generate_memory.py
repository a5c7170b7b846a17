"""Peak memory of `protdidi generate` as the job grows: records stream to the output file chunk by chunk, so the
peak resident set size should not grow with --n.

    python benchmarks/generate_memory.py             # 16 residues: generate_memory.{json,md}
    python benchmarks/generate_memory.py --natural   # lengths drawn as by default: generate_memory_natural.*

Each run is its own process (`protdidi generate --n N --nfe 1 --length 16 --quiet -o FILE`, the shipped default
model; with `--natural`, no --length: lengths from the training distribution, so batches change shape as they do
in a real job); its peak RSS is read with getrusage(RUSAGE_CHILDREN) by a fresh parent that starts only that run.
NFE 1 keeps 100,000 sequences within minutes (16 residues) or about half an hour (natural lengths): the sampling
loop and the writer are those of any NFE. Beside the streaming command, the same jobs through the Python API
(`load_model().generate`, which keeps every record in memory) show what the streaming saves.

The floor row: the peak of a single batch of the model's longest sequences (`--n B --length MAX`), run
`--floor-repeats` times. Every natural-length job of 1,024 or more samples holds such a batch (the longest batch
of each chunk is padded to its longest member), so its peak cannot sit below this row's; how far identical
single-batch runs differ shows the allocator's run-to-run spread, against which the job-size rows are read.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import RESULTS, add_replot, child_env, command_line, machine, run_or_load, save_markdown, table

PROBE = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""
API = """
import sys
from protdidi import load_model
length = None if sys.argv[3] == "natural" else int(sys.argv[3])
seqs = load_model().generate(n=int(sys.argv[1]), nfe=1, length=length, batch_size=int(sys.argv[2]))
assert len(seqs) == int(sys.argv[1])
"""


def peak_mib(command: list[str]) -> float:
    """Peak RSS (MiB) of `command`, run as the only child of a fresh Python process."""
    out = subprocess.run([sys.executable, "-c", PROBE, *command], check=True, capture_output=True, text=True,
                         env=child_env())
    return int(out.stdout.strip().splitlines()[-1]) / 1024  # Linux reports KiB


def cli(n: int, length: int | None, batch_size: int, out: Path) -> list[str]:
    return [sys.executable, "-m", "protdidi", "generate", "--n", str(n), "--nfe", "1",
            *([] if length is None else ["--length", str(length)]), "--batch-size", str(batch_size), "--quiet",
            "-o", str(out)]


def run(args) -> dict:
    from protdidi import load_model

    rows = []
    longest = load_model().max_length
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "x.fasta"
        floor = [peak_mib(cli(args.batch_size, longest, args.batch_size, out)) for _ in range(args.floor_repeats)]
        print({"floor_peak_mib": floor}, file=sys.stderr)
        for n in args.n:
            row = {"n": n, "cli_peak_mib": peak_mib(cli(n, None if args.natural else 16, args.batch_size, out)),
                   "records": out.read_text().count(">")}
            if n <= args.api_max:
                row["api_peak_mib"] = peak_mib([sys.executable, "-c", API, str(n), str(args.batch_size),
                                                "natural" if args.natural else "16"])
            print(row, file=sys.stderr)
            rows.append(row)
    return {"command": command_line(), "machine": machine(), "batch_size": args.batch_size, "rows": rows,
            "lengths": "natural" if args.natural else "16 residues",
            "floor": {"length": longest, "n": args.batch_size, "peak_mib": floor}}


def markdown(result: dict) -> str:
    body = [[f"{r['n']:,}", f"{r['records']:,}", f"{r['cli_peak_mib']:.0f}",
             f"{r['api_peak_mib']:.0f}" if "api_peak_mib" in r else "–"] for r in result["rows"]]
    base = result["rows"][0]["cli_peak_mib"]
    return "\n".join([
        "# Peak memory of `protdidi generate` by job size", "",
        f"Command: `{result['command']}`  ", f"{result['machine']}; NFE 1, "
        f"{result.get('lengths', '16 residues').replace('natural', 'lengths drawn from the training distribution')}, "
        f"batch {result['batch_size']}, "
        "the shipped default model; peak RSS of each run's own process.", "",
        *table(["--n", "records written", "CLI peak RSS (MiB), streaming",
                "Python API peak RSS (MiB), all records kept"], body), "",
        f"Largest CLI run over the smallest: {result['rows'][-1]['cli_peak_mib'] / base:.2f}x the memory for "
        f"{result['rows'][-1]['n'] / result['rows'][0]['n']:,.0f}x the sequences.", "", *floor_lines(result)])


def floor_lines(result: dict) -> list[str]:
    """The single-batch floor and its spread over identical runs (results saved before it existed have none)."""
    if "floor" not in result:
        return []
    f = result["floor"]
    peaks = f["peak_mib"]
    return [f"Floor, one batch of {f['n']} sequences of {f['length']} residues (the longest the model writes), "
            f"{len(peaks)} identical runs: {min(peaks):.0f}-{max(peaks):.0f} MiB "
            f"(each: {', '.join(f'{p:.0f}' for p in peaks)}). A job-size row inside this range is the one batch's "
            "working set and the allocator's spread, not memory that grows with --n.", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 10000, 100000])
    parser.add_argument("--api-max", type=int, default=100000, help="largest --n also run through the Python API")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--natural", action="store_true", help="lengths drawn as by default instead of 16")
    parser.add_argument("--floor-repeats", type=int, default=5,
                        help="identical runs of one batch of the longest sequences (0: none)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    add_replot(parser)
    args = parser.parse_args()
    stem = "generate_memory_natural" if args.natural else "generate_memory"
    save_markdown(args, stem, markdown(run_or_load(args, stem, run)))


if __name__ == "__main__":
    main()
