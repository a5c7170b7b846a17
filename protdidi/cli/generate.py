"""`protdidi generate`: sample proteins to FASTA (or text windows to JSONL / plain text)."""

from __future__ import annotations

import sys

import click

from protdidi.cli import cli
from protdidi.cli.options import domain_option, positive_int, seed_option
from protdidi.sampling import SAMPLERS

MIN_RECORD_BYTES = 64  # no record of either domain is shorter (header or JSON keys alone)


@cli.command()
@domain_option
@click.option("--n", "n", type=int, default=1000, show_default=True, callback=positive_int("--n"),
              help="Number of sequences.")
@click.option("--nfe", type=int, default=16, show_default=True, callback=positive_int("--nfe"),
              help="Denoiser evaluations (sampling steps) per sequence.")
@click.option("--length", default=None, metavar="N|MIN-MAX",
              help="Length of every sequence [default: proteins, drawn from the training length distribution; "
                   "text, the model's window]; with --motif, MIN-MAX bounds the total length.")
@seed_option
@click.option("--batch-size", type=int, default=16, show_default=True, callback=positive_int("--batch-size"),
              help="Sequences per forward pass (neighbouring lengths share a batch). Small batches stay in CPU cache.")
@click.option("--model", default=None, metavar="NAME|DIR|FILE",
              help="Proteins: shipped model name (default: the shipped default), a protdidi checkpoint directory, "
                   "a fair-esm .pt file or an HF EsmForMaskedLM directory. Text (required): a protdidi text "
                   "checkpoint directory, an MDLM/DUO .ckpt or an HF MDLM directory.")
@click.option("--sampler", type=click.Choice(SAMPLERS.names()), default="ancestral", show_default=True,
              help="ancestral; confidence (reveal the most confident draws first, MaskGIT/DPLM); or rgas "
                   "(reward-guided; needs a distilled student's discriminator).")
@click.option("--temperature", type=float, default=None, metavar="T",
              help="Divide the model's log-probabilities by T before every draw (ancestral, confidence; below 1: "
                   "sharper) [default: 1]; recorded in each header.")
@click.option("--device", default="cpu", show_default=True,
              help="torch device (cpu, cuda, cuda:1, ...), or auto (CUDA when present, else CPU).")
@click.option("--precision", default="fp32", show_default=True, metavar="auto|fp32|bf16",
              help="Weights in fp32 or bf16 (the sampling step stays float64); auto: bf16 where the device has native "
                   "bf16 (CUDA, CPUs with avx512_bf16/amx_bf16), else fp32. Recorded in each header when bf16.")
@click.option("--tokenizer", default=None, metavar="DIR|NAME",
              help="Text models from an MDLM .ckpt/HF dir: their tokenizer (default gpt2).")
@click.option("--template", default=None, metavar="SEQ|FASTA",
              help="Conditional generation. Proteins: a sequence (or a FASTA of them) whose '_' positions are designed "
                   "and every other letter kept; --n samples per template. Text: a prompt the window starts with.")
@click.option("--redesign", default=None, metavar="START-END[,...]",
              help="Proteins: also design these 1-based, inclusive ranges of --template.")
@click.option("--motif", default=None, metavar="CONTIG",
              help="Proteins: motif scaffolding, e.g. 10-40,MOTIFSEQ,5-15,MOTIF2,10-40 (ranges are designed spacers "
                   "with lengths drawn per sample; letters are fixed motifs).")
@click.option("--exclude", default=None, metavar="NAME[,NAME]",
              help="Proteins: draw again every sample that shows one of these artefacts: his-tag (six or more H in a "
                   "row), low-complexity (20%+ of 12-residue windows below 2.2 bits); recorded in each header.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "txt"]), default=None,
              help="Text output format [default: txt for *.txt, else jsonl].")
@click.option("-o", "--output", required=True, metavar="FILE",
              help="Output path (FASTA for proteins; JSONL or text for text), or - for stdout.")
@click.option("--shard", default=None, metavar="I/N",
              help="Generate only the I-th (0-based) of N contiguous parts of the job: same seed and --n on every "
                   "part; the parts' files concatenated in order are the whole job's file.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def generate(domain, n, nfe, length, seed, batch_size, model, sampler, temperature, device, precision, tokenizer,
             template, redesign, motif, exclude, fmt, shard, output, quiet):
    """Generate protein sequences (FASTA) or text windows (JSONL / plain text), unconditionally or conditioned on a
    template, redesigned ranges or a motif contig.

    Each FASTA header holds an id, the length, the model name, the NFE, the seed, the sampler and the condition
    (template id and designed ranges, or the contig with its drawn spacer lengths); each JSONL record holds the text,
    its token ids, the model, the NFE and the seed. Records are written as they are made (chunks of 1,024 samples)
    to a temporary file, renamed at the end, so memory stays flat for any --n and an interrupted run leaves no file.
    """
    from protdidi.domains import DOMAINS
    from protdidi.generation.driver import stream
    from protdidi.generation.request import Request
    from protdidi.generation.result import Generated
    from protdidi.io import check_free_space, check_output_location
    from protdidi.precision import resolve_precision, with_precision

    plugin = DOMAINS.get(domain)
    plugin.check_options("generate", tokenizer=tokenizer, format=fmt, template=template, redesign=redesign,
                         motif=motif, exclude=exclude)
    check_output_location(output, directory=False, inputs=(template, model, tokenizer))
    check_free_space(output, n * MIN_RECORD_BYTES)
    # a bad --shard, --temperature or --precision, or a device this machine lacks, fails here, before the model loads
    request = Request(n, nfe, seed, length, template, redesign, motif, batch_size, sampler, device, shard,
                      progress=not quiet, temperature=temperature, exclude=exclude)
    precision = resolve_precision(precision, request.device)
    loaded = with_precision(plugin.load_model(model, tokenizer), precision)
    tally = Generated()
    plugin.write((record for part in stream(plugin, loaded, request) for record in tally.count(part).records),
                 output, fmt)
    if not quiet:
        click.echo(plugin.summary(tally, output), err=True)
    sys.stdout.flush()
