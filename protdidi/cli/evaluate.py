"""`protdidi evaluate`: plausibility, distribution, diversity and novelty of generated proteins."""

from __future__ import annotations

import click

from protdidi.cli import cli
from protdidi.cli.options import domain_option, positive_int


@cli.command()
@domain_option
@click.argument("samples", metavar="SAMPLES.fasta|SAMPLES.jsonl|SAMPLES.txt")
@click.option("--reference", default=None, metavar="FASTA", help="Natural reference set [default: CATH test split].")
@click.option("--train", default=None, metavar="FASTA", help="Training set for novelty [default: CATH train split].")
@click.option("--judge", default=None, metavar="NAME|PATH",
              help="protdidi-cath-judge (default), an ESM-2 name such as esm2_t33_650M_UR50D, a .pt file or an HF dir.")
@click.option("--pppl-n", type=int, default=100, show_default=True, callback=positive_int("--pppl-n"),
              help="Sequences per set scored with exact pseudo-perplexity.")
@click.option("--esmfold", default=None, metavar="DIR",
              help="Proteins: an HF EsmForProteinFolding dir (facebook/esmfold_v1); mean pLDDT runs on a GPU only.")
@click.option("--evaluator", default=None, metavar="NAME|DIR",
              help="Text: the causal LM for GenPPL (default gpt2-large; any HF causal LM name or local dir).")
@click.option("--batch-size", type=int, default=8, show_default=True, callback=positive_int("--batch-size"),
              help="Text: evaluator batch size.")
@click.option("--device", default="cpu", show_default=True, help="Text: torch device for the evaluator.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), metavar="REPORT_DIR")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def evaluate(domain, samples, reference, train, judge, pppl_n, esmfold, evaluator, batch_size, device, seed, output,
             quiet):
    """Write REPORT_DIR/report.json and report.md.

    Proteins: plausibility (judge pseudo-perplexity), distribution, diversity, novelty, and PNG plots.
    Text: generative perplexity under a causal LM and unigram entropy.
    """
    from pathlib import Path

    if domain == "text":
        if reference or train or judge or esmfold:
            raise click.UsageError("--reference, --train, --judge and --esmfold apply to --domain protein only")
        from protdidi.domains.text.evaluate import evaluate_text, markdown

        click.echo(markdown(evaluate_text(samples, Path(output), evaluator, batch_size, device, not quiet)))
        return
    if evaluator:
        raise click.UsageError("--evaluator applies to --domain text only")

    from protdidi.domains.protein.evaluate import evaluate as run
    from protdidi.domains.protein.evaluate import markdown, plddt_note

    report = run(samples, Path(output), reference, train, judge, pppl_n, seed, progress=not quiet, esmfold=esmfold)
    if esmfold and "skipped" in report["esmfold"]:
        click.echo(f"protdidi: ESMFold pLDDT skipped: {report['esmfold']['skipped']}", err=True)
    click.echo(markdown(report["rows"], report["judge"], plddt_note(report)))
