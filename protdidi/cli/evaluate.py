"""`protdidi evaluate`: plausibility, distribution, diversity and novelty of generated proteins."""

from __future__ import annotations

import click

from protdidi.cli import cli
from protdidi.cli.options import domain_option, positive_int, seed_option


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
@click.option("--novelty", type=click.Choice(["python", "mmseqs"]), default=None,
              help="Proteins: novelty search; mmseqs needs the MMseqs2 binary on PATH [default: python].")
@click.option("--homology-db", default=None, metavar="FASTA",
              help="Proteins: the database searched for homologs (phmmer) [default: the --train set].")
@click.option("--precision", default=None, metavar="auto|fp32|bf16",
              help="Proteins: the judge's weights in fp32 or bf16; auto: bf16 where the CPU has native bf16 "
                   "(avx512_bf16/amx_bf16), else fp32 [default: fp32].")
@click.option("--no-cache", is_flag=True, default=None,
              help="Proteins: recompute the reference rows instead of reading (or writing) the cache.")
@click.option("--evaluator", default=None, metavar="NAME|DIR",
              help="Text: the causal LM for GenPPL (default gpt2-large; any HF causal LM name or local dir).")
@click.option("--batch-size", type=int, default=8, show_default=True, callback=positive_int("--batch-size"),
              help="Text: evaluator batch size.")
@click.option("--device", default="cpu", show_default=True,
              help="Text: torch device for the evaluator (cpu, cuda, ... or auto).")
@seed_option
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), metavar="REPORT_DIR")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def evaluate(domain, samples, reference, train, judge, pppl_n, esmfold, novelty, homology_db, precision, no_cache,
             evaluator, batch_size, device, seed, output, quiet):
    """Write REPORT_DIR/report.json and report.md.

    Proteins: plausibility under the project judge (pseudo-perplexity) and under metapredict (disorder and
    predicted pLDDT, a signal nobody here trained), homology (HMMER's phmmer against the training set, or
    --homology-db), distribution, diversity, novelty, and PNG plots, beside the
    natural reference and its controls (shuffled, reversed, i.i.d. composition). The reference rows are cached.
    Text: generative perplexity under a causal LM and unigram entropy.
    """
    from pathlib import Path

    from protdidi.domains import DOMAINS

    _, table, notes = DOMAINS.get(domain).evaluate_file(
        samples, Path(output), progress=not quiet, reference=reference, train=train, judge=judge, esmfold=esmfold,
        novelty=novelty, homology_db=homology_db, precision=precision, no_cache=no_cache, evaluator=evaluator,
        pppl_n=pppl_n, seed=seed, batch_size=batch_size, device=device)
    for note in notes:
        click.echo(note, err=True)
    click.echo(table)
