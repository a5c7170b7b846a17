"""What the benchmark scripts share: the working tree's `protdidi` ahead of any installed copy, result files
(JSON + Markdown, written atomically, `--replot` from the saved JSON), figures, and the protein scoring every
quality benchmark uses (length buckets, the judge, the CATH splits).

Each script keeps only its own question: what it generates, which rows it compares, how its table reads.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the working tree's protdidi, not whichever copy pip installed
    sys.path.insert(0, str(ROOT))

from protdidi.io import write_file_atomic, write_text_atomic  # noqa: E402
from protdidi.trainer import read_jsonl  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
STUDENTS = ("didi", "idlm")


# -- result files ---------------------------------------------------------------------------------------------
def add_replot(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--replot", action="store_true", help="redraw Markdown/PNG from the saved JSON")


def save_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, lambda f: f.write(json.dumps(data, indent=1) + "\n"))


def run_or_load(args, stem: str, run: Callable[[argparse.Namespace], dict]) -> dict:
    """`run(args)` with its wall-clock in "total_seconds", saved to `args.out/<stem>.json`; with `--replot`
    the saved JSON instead."""
    out = Path(args.out) / f"{stem}.json"
    if args.replot:
        return json.loads(out.read_text())
    t0 = time.perf_counter()
    result = run(args)
    result["total_seconds"] = round(time.perf_counter() - t0)
    save_json(out, result)
    return result


def log_records(run_dir: Path) -> list[dict]:
    """A training run's log.jsonl (one JSON record per line), or [] when the run wrote none."""
    path = Path(run_dir) / "log.jsonl"
    return read_jsonl(path) if path.is_file() else []


def save_markdown(args, stem: str, text: str) -> None:
    write_text_atomic(Path(args.out) / f"{stem}.md", lambda f: f.write(text))
    print(text)


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """Markdown table lines."""
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)] + \
        ["| " + " | ".join(row) + " |" for row in rows]


def command_line() -> str:
    """The command that reproduces this run, as README and results quote it."""
    return shlex.join(["python", f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]])  # '' stays visible


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process that must run the working tree's protdidi (e.g. `python -m protdidi`)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            **extra}


def machine(device: str | None = None) -> str:
    where = f", device {device}" if device else ""
    return f"{platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads{where}"


# -- figures --------------------------------------------------------------------------------------------------
def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, dpi: int = 120) -> None:
    """tight_layout, then written atomically; the figure is closed."""
    fig.tight_layout()
    write_file_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi))
    pyplot().close(fig)


def ci_errorbar(ax, x: list, rows: list[dict], key: str, **kw) -> None:
    """rows[i][key] with its 95% interval rows[i][key + "_ci95"] as error bars. Interval ends are rounded to 3
    decimals, so a degenerate one can sit a hair past the estimate: those bars are drawn as zero."""
    y = [r[key] for r in rows]
    err = [[max(0.0, v - r[f"{key}_ci95"][0]) for v, r in zip(y, rows, strict=True)],
           [max(0.0, r[f"{key}_ci95"][1] - v) for v, r in zip(y, rows, strict=True)]]
    ax.errorbar(x, y, yerr=err, marker="o", capsize=3, **kw)


# -- protein scoring ------------------------------------------------------------------------------------------
def ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x)


def common_parser(doc: str) -> argparse.ArgumentParser:
    """The options of the judged protein benchmarks (same buckets, seeds, judge and scoring)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judge", default=None, help="protdidi-cath-judge (default), an ESM-2 name or a path")
    parser.add_argument("--buckets", type=ints, default=(50, 100, 200, 300))
    parser.add_argument("--per-bucket", type=int, default=25)
    parser.add_argument("--pppl-n", type=int, default=32, help="sequences per row scored with exact PPPL")
    parser.add_argument("--fasta", default=None, help="CATH FASTA (default: the shipped copy)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser


def generate_buckets(model, sampler: str, nfe: int, args, temperature: float | None = None
                     ) -> tuple[list[str], float, dict]:
    """`args.per_bucket` sequences at each bucket length (bucket k uses seed `args.seed + k`): the sequences,
    the summed sampling seconds and the sampler's counters averaged over buckets."""
    from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
    from protdidi.generation.driver import generate
    from protdidi.generation.request import Request

    seqs, seconds, extra = [], 0.0, {}
    for k, length in enumerate(args.buckets):
        rep = generate(PROTEIN, model, Request(args.per_bucket, nfe, args.seed + k, length,
                                               batch_size=args.batch_size, sampler=sampler, device=args.device,
                                               temperature=temperature))
        seqs += [r.seq for r in rep.records]
        seconds += rep.seconds
        for key, value in rep.extra.items():
            extra[key] = extra.get(key, 0.0) + value / len(args.buckets)
    return seqs, seconds, extra


def disorder_cells(row: dict) -> str:
    """metapredict's three measures of a row with their intervals, as Markdown cells."""
    from protdidi.domains.protein.evaluation.report import DISORDER_COLUMNS, with_ci

    return " | ".join(with_ci(row[c], row[f"{c}_ci95"], fmt) if c in row else "–"
                      for c, (_, fmt) in DISORDER_COLUMNS.items())


def judge_ratio(details: dict, a: str, b: str, seed: int) -> dict:
    """Set `a` against set `b` under the judge: the ratio of pooled pseudo-perplexities with a 95% bootstrap
    interval, each set resampled within its length buckets (`details` as `Scorer.details` holds them)."""
    from protdidi.domains.protein.evaluation.report_rows import scored_pppl
    from protdidi.stats import bootstrap_ratio_ci

    return bootstrap_ratio_ci(scored_pppl(details[a], by_length=True), scored_pppl(details[b], by_length=True),
                              seed=seed)


def disorder_differences(details: dict, a: str, b: str, seed: int) -> dict:
    """Set `a` minus set `b` in each of metapredict's measures, with 95% bootstrap intervals."""
    from protdidi.domains.protein.evaluation.disorder import DisorderScores

    first, second = (DisorderScores.from_json(details[k]["disorder"]) for k in (a, b))
    return first.differences(second, seed)


def cath_splits(args) -> tuple[list[str], list[str], object]:
    """The CATH training and test sequences (`args.fasta` or the shipped copy) and the test split's `Reference`."""
    from protdidi.domains.protein.data import default_cath_fasta, split_records
    from protdidi.domains.protein.evaluation.report_rows import Reference
    from protdidi.domains.protein.fasta import read_fasta

    split = split_records(read_fasta(args.fasta or default_cath_fasta()))
    test = [r.seq for r in split["test"]]
    return [r.seq for r in split["train"]], test, Reference.of(test)


def homology_of(seqs: list[str], train: list[str], seed: int) -> tuple[dict, list[bool]]:
    """`evaluate`'s homology columns of a set (phmmer against the CATH training split) and its per-sequence hits."""
    from protdidi.domains.protein.evaluation.homology import best_hits, homology_columns, is_hit

    hits = best_hits(seqs, train)
    return homology_columns(hits, seed), [is_hit(h) for h in hits]


def homology_difference(details: dict, a: str, b: str, seed: int) -> dict:
    """Set `a`'s homology hit rate minus set `b`'s, with a 95% bootstrap interval (each set resampled)."""
    from protdidi.stats import bootstrap_pooled_difference

    flags = [torch.tensor(details[k]["homology_hits"], dtype=torch.float64) for k in (a, b)]
    return bootstrap_pooled_difference(*((f, torch.ones_like(f)) for f in flags), seed=seed)


def homology_cells(row: dict) -> list[str]:
    """A row's homology hit rate (95% interval) and near-copy rate as Markdown cells ("–" where not measured)."""
    from protdidi.domains.protein.evaluation.report import with_ci

    if "homology_hit_rate" not in row:
        return ["–", "–"]
    return [with_ci(row["homology_hit_rate"], row["homology_hit_rate_ci95"], "{:.3f}"), f"{row['near_copy_rate']:.3f}"]


HOMOLOGY_HEADERS = ["homology hit rate ↑ (phmmer, E < 1e-3)", "near copies"]
HOMOLOGY_NOTE = ("Homology: best phmmer hit against the CATH training split with E < 1e-3 at a fixed database size "
                 "of 20,006 (95% bootstrap interval); near copy: best hit ≥ 90% identity over ≥ 80% of the sequence.")
FINGERPRINT = ("n", "mean_length", "entropy_bits", "composition_kl", "dipeptide_js")  # functions of the sequences


def add_columns(args, stem: str, sets: Callable, columns: Callable[[str, list[str]], dict], what: str) -> dict:
    """Add columns to a saved result without re-scoring it: `sets(args)` regenerates each row's sequences as
    (label, sequences) with the saved settings (buckets, per_bucket, seed), each set is checked to be the saved one
    (its sequence-only metrics must match exactly, else stop), then `columns(label, sequences)` joins its row.
    The command that did it is kept as `<what>_command`."""
    from protdidi.domains.protein.evaluation.report_rows import sequence_metrics

    saved = json.loads((Path(args.out) / f"{stem}.json").read_text())
    for key in ("buckets", "per_bucket", "seed"):
        setattr(args, key, tuple(saved[key]) if key == "buckets" else saved[key])
    _, _, reference = cath_splits(args)
    rows = {r["set"]: r for r in saved["rows"]}
    for label, seqs in sets(args):
        now = sequence_metrics(seqs, reference, args.seed)
        if label not in rows or any(abs(now[k] - rows[label][k]) > 1e-9 for k in FINGERPRINT):
            sys.exit(f"{label}: regenerated sequences differ from the saved run ({now}); re-run the benchmark whole")
        rows[label].update(columns(label, seqs))
        print(f"{label}: same sequences; {what} columns added", file=sys.stderr)
    saved[f"{what}_command"] = command_line()
    return saved


class Scorer:
    """The judge, the CATH splits, the natural reference and the shipped teacher, loaded once; `score` appends
    one row: every `protdidi evaluate` metric plus the teacher's own NELBO of the set (nats/token, 4 passes;
    lower = more teacher-like, a proxy beside the independent judge). Per-sequence details (the scored
    pseudo-perplexity subset among them) stay in `details[label]`."""

    def __init__(self, args):
        from protdidi.domains.protein.evaluation.judge_loading import load_judge
        from protdidi.domains.protein.plugin import DOMAIN as PROTEIN

        self.args, self.rows, self.details = args, [], {}
        self.teacher = PROTEIN.load_model("teacher")
        self.judge = load_judge(args.judge)
        self.train, self.test, self.reference = cath_splits(args)

    def score(self, label: str, seqs: list[str], extra: dict) -> dict:
        from protdidi.domains.protein.alphabet import encode_protein
        from protdidi.domains.protein.evaluation.report_rows import hygiene_columns, row_metrics
        from protdidi.tasks.mdlm import evaluate_nelbo

        row, self.details[label] = row_metrics(label, seqs, self.reference, self.train, self.judge,
                                               self.args.pppl_n, self.args.seed, progress=False)
        homology, self.details[label]["homology_hits"] = homology_of(seqs, self.train, self.args.seed)
        row.update({**homology, **hygiene_columns(seqs)})
        t = self.teacher
        tokens = [torch.tensor(encode_protein(s[:t.max_length], t.denoiser.vocab, label)) for s in seqs]
        row["teacher_nelbo"] = evaluate_nelbo(t.denoiser, tokens, t.schedule, t.max_length, 64, passes=4)
        self.rows.append({**row, **extra})
        lo, hi = row["judge_pppl_ci95"]
        print(f"{label:32s} judge PPPL {row['judge_pppl']:.3f} ({lo:.2f}-{hi:.2f}), "
              f"entropy {row['entropy_bits']:.3f} bits, homology {row['homology_hit_rate']:.3f}", file=sys.stderr)
        return row

    def meta(self) -> dict:
        args = self.args
        return {"command": command_line(),
                "judge": self.judge.name, "buckets": list(args.buckets), "per_bucket": args.per_bucket,
                "seed": args.seed, "pppl_n": args.pppl_n, "machine": machine(args.device)}
