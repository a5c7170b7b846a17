"""`protdidi generate`: sample proteins to FASTA."""

from __future__ import annotations

import sys

import click

from protdidi.cli import cli
from protdidi.cli.options import positive_int


@cli.command()
@click.option("--n", "n", type=int, default=1000, show_default=True, callback=positive_int("--n"),
              help="Number of sequences.")
@click.option("--nfe", type=int, default=16, show_default=True, callback=positive_int("--nfe"),
              help="Denoiser evaluations (sampling steps) per sequence.")
@click.option("--length", type=int, default=None, callback=positive_int("--length"),
              help="Length of every sequence [default: drawn from the training length distribution].")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed; same seed, same file.")
@click.option("--batch-size", type=int, default=16, show_default=True, callback=positive_int("--batch-size"),
              help="Sequences per forward pass (neighbouring lengths share a batch). Small batches stay in CPU cache.")
@click.option("--model", default=None, metavar="NAME|DIR|FILE",
              help="Shipped model name (default: the shipped default), a protdidi checkpoint directory, "
                   "a fair-esm .pt file or an HF EsmForMaskedLM directory.")
@click.option("--sampler", type=click.Choice(["ancestral", "rgas"]), default="ancestral", show_default=True,
              help="ancestral, or rgas (reward-guided; needs a distilled student's discriminator).")
@click.option("--device", default="cpu", show_default=True, help="torch device (cpu, cuda, cuda:1, ...).")
@click.option("-o", "--output", required=True, metavar="FILE", help="FASTA output path, or - for stdout.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def generate(n, nfe, length, seed, batch_size, model, sampler, device, output, quiet):
    """Generate protein sequences and write them as FASTA.

    Each header holds an id, the length, the model name, the NFE and the seed.
    """
    from protdidi.domains.protein.fasta import write_fasta
    from protdidi.domains.protein.generate import generate_proteins
    from protdidi.domains.protein.models import load_protein_model

    loaded = load_protein_model(model)
    report = generate_proteins(loaded, n, nfe, length, seed, batch_size, sampler, device, progress=not quiet)
    write_fasta(report.records, output)
    if not quiet:
        cost = "".join(f", {k.replace('_', ' ')}={v:g}/seq" for k, v in report.extra.items())
        click.echo(f"{n} sequences, {report.residues} residues, nfe={nfe}{cost}, {report.seconds:.1f} s "
                   f"({n / report.seconds:.1f} seq/s) -> {output}", err=True)
    sys.stdout.flush()
