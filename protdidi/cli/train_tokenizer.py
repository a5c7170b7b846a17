"""`protdidi train-tokenizer`: a byte-level BPE for offline text runs, saved in the HF GPT-2 format."""

from __future__ import annotations

import click

from protdidi.cli import cli
from protdidi.cli.options import positive_int


@cli.command("train-tokenizer")
@click.argument("corpus", nargs=-1, required=True, metavar="TEXT_FILE...")
@click.option("--vocab-size", type=int, default=2048, show_default=True, callback=positive_int("--vocab-size"),
              help="Tokens including <|endoftext|> (the mask is appended later, as MDLM does).")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), metavar="DIR")
def train_tokenizer(corpus, vocab_size, output):
    """Train a GPT-2-style byte-level BPE on TEXT_FILEs; DIR then loads with AutoTokenizer, offline."""
    from pathlib import Path

    from protdidi.domains.text.data import read_documents
    from protdidi.domains.text.tokenizer import TOKENIZER_MARKER, train_bpe
    from protdidi.errors import UserError
    from protdidi.io import check_output_location

    check_output_location(output, directory=True, inputs=corpus, marker=TOKENIZER_MARKER)
    for f in corpus:
        if Path(f).is_dir():
            raise UserError(f"{f}: is a directory; give the text files")
        read_documents(f)  # the file exists and is UTF-8 text with something in it
    out = train_bpe(list(corpus), vocab_size, output)
    click.echo(f"tokenizer -> {out}", err=True)
