"""`protdidi evaluate`: plausibility, distribution, diversity and novelty of generated proteins."""

from __future__ import annotations

import click

from protdidi.cli import cli
from protdidi.cli.options import positive_int


@cli.command()
@click.argument("samples", metavar="SAMPLES.fasta")
@click.option("--reference", default=None, metavar="FASTA", help="Natural reference set [default: CATH test split].")
@click.option("--train", default=None, metavar="FASTA", help="Training set for novelty [default: CATH train split].")
@click.option("--judge", default=None, metavar="NAME|PATH",
              help="protdidi-cath-judge (default), an ESM-2 name such as esm2_t33_650M_UR50D, a .pt file or an HF dir.")
@click.option("--pppl-n", type=int, default=100, show_default=True, callback=positive_int("--pppl-n"),
              help="Sequences per set scored with exact pseudo-perplexity.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), metavar="REPORT_DIR")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def evaluate(samples, reference, train, judge, pppl_n, seed, output, quiet):
    """Write REPORT_DIR/report.json, report.md and PNG plots (composition, lengths, pseudo-perplexity)."""
    from pathlib import Path

    from protdidi.domains.protein.evaluate import evaluate as run
    from protdidi.domains.protein.evaluate import markdown

    report = run(samples, Path(output), reference, train, judge, pppl_n, seed, progress=not quiet)
    click.echo(markdown(report["rows"], report["judge"]))
