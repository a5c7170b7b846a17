"""Saving a benchmark's results: run it (timed) and write RESULTS/<stem>.json, or reload that JSON with
`--replot`; Markdown beside it. Files are written atomically, like every protdidi output."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from protdidi.io import write_text_atomic


def add_replot(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--replot", action="store_true", help="redraw Markdown/PNG from the saved JSON")


def run_or_load(args, stem: str, run: Callable[[argparse.Namespace], dict]) -> dict:
    """`run(args)` with its wall-clock in "total_seconds", saved to `args.out/<stem>.json`; with `--replot`
    the saved JSON instead."""
    out = Path(args.out) / f"{stem}.json"
    if args.replot:
        return json.loads(out.read_text())
    t0 = time.perf_counter()
    result = run(args)
    result["total_seconds"] = round(time.perf_counter() - t0)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, lambda f: f.write(json.dumps(result, indent=1) + "\n"))
    return result


def save_markdown(args, stem: str, text: str) -> None:
    write_text_atomic(Path(args.out) / f"{stem}.md", lambda f: f.write(text))
    print(text)


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """Markdown table lines."""
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)] + \
        ["| " + " | ".join(row) + " |" for row in rows]


def command_line() -> str:
    """The command that reproduces this run, as README and results quote it."""
    return " ".join(["python", f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]])
