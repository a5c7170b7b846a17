"""`protdidi generate`: sample proteins to FASTA."""

from __future__ import annotations

import sys

import click

from protdidi.cli import cli
from protdidi.cli.options import domain_option, positive_int


@cli.command()
@domain_option
@click.option("--n", "n", type=int, default=1000, show_default=True, callback=positive_int("--n"),
              help="Number of sequences.")
@click.option("--nfe", type=int, default=16, show_default=True, callback=positive_int("--nfe"),
              help="Denoiser evaluations (sampling steps) per sequence.")
@click.option("--length", type=int, default=None, callback=positive_int("--length"),
              help="Length of every sequence [default: proteins, drawn from the training length distribution; "
                   "text, the model's window].")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed; same seed, same file.")
@click.option("--batch-size", type=int, default=16, show_default=True, callback=positive_int("--batch-size"),
              help="Sequences per forward pass (neighbouring lengths share a batch). Small batches stay in CPU cache.")
@click.option("--model", default=None, metavar="NAME|DIR|FILE",
              help="Proteins: shipped model name (default: the shipped default), a protdidi checkpoint directory, "
                   "a fair-esm .pt file or an HF EsmForMaskedLM directory. Text (required): a protdidi text "
                   "checkpoint directory, an MDLM/DUO .ckpt or an HF MDLM directory.")
@click.option("--sampler", type=click.Choice(["ancestral", "rgas"]), default="ancestral", show_default=True,
              help="ancestral, or rgas (reward-guided; needs a distilled student's discriminator).")
@click.option("--device", default="cpu", show_default=True, help="torch device (cpu, cuda, cuda:1, ...).")
@click.option("--tokenizer", default=None, metavar="DIR|NAME",
              help="Text models from an MDLM .ckpt/HF dir: their tokenizer (default gpt2).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "txt"]), default=None,
              help="Text output format [default: txt for *.txt, else jsonl].")
@click.option("-o", "--output", required=True, metavar="FILE",
              help="Output path (FASTA for proteins; JSONL or text for text), or - for stdout.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def generate(domain, n, nfe, length, seed, batch_size, model, sampler, device, tokenizer, fmt, output, quiet):
    """Generate protein sequences (FASTA) or text windows (JSONL / plain text).

    Each FASTA header holds an id, the length, the model name, the NFE and the seed; each JSONL record holds
    the text, its token ids, the model, the NFE and the seed.
    """
    if domain == "text":
        _generate_text(n, nfe, length, seed, batch_size, model, sampler, device, tokenizer, fmt, output, quiet)
        return
    if tokenizer or fmt:
        raise click.UsageError("--tokenizer and --format apply to --domain text only")
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


def _generate_text(n, nfe, length, seed, batch_size, model, sampler, device, tokenizer, fmt, output, quiet):
    from protdidi.domains.text.generate import generate_text, write_samples
    from protdidi.domains.text.models import load_text_model

    if not model:
        raise click.UsageError("--domain text needs --model (a protdidi text checkpoint, MDLM .ckpt or HF dir)")
    loaded = load_text_model(model, tokenizer)
    report = generate_text(loaded, n, nfe, length, seed, batch_size, sampler, device, progress=not quiet)
    write_samples(report.records, output, fmt)
    if not quiet:
        cost = "".join(f", {k.replace('_', ' ')}={v:g}/seq" for k, v in report.extra.items())
        click.echo(f"{n} samples of {report.records[0]['length']} tokens, nfe={nfe}{cost}, {report.seconds:.1f} s "
                   f"({n / report.seconds:.2f} samples/s) -> {output}", err=True)
    sys.stdout.flush()
