"""FASTA reading and atomic writing through Biopython, with one clear error per bad input."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from Bio import SeqIO
from Bio.Seq import Seq
from Bio.SeqRecord import SeqRecord

from protdidi.domains.protein.alphabet import encode_protein
from protdidi.errors import UserError
from protdidi.io import write_text_atomic


class FastaError(UserError):
    """A FASTA file is missing, empty or malformed."""


@dataclass(frozen=True)
class ProteinRecord:
    id: str
    seq: str
    description: str = ""


def read_fasta(path: str | Path, validate: bool = True) -> list[ProteinRecord]:
    """Read every record; raise `FastaError` / `InvalidSequence` with a one-line reason."""
    path = Path(path)
    if not path.exists():
        raise FastaError(f"{path}: no such file")
    if path.is_dir():
        raise FastaError(f"{path}: is a directory, not a FASTA file")
    text = path.read_text(errors="replace")
    if not text.strip():
        raise FastaError(f"{path}: file is empty")
    if not text.lstrip().startswith(">"):
        raise FastaError(f"{path}: not FASTA (the first non-blank line must start with '>')")
    try:
        records = list(SeqIO.parse(io.StringIO(text), "fasta"))
    except ValueError as err:
        raise FastaError(f"{path}: malformed FASTA ({err})") from None
    out = []
    for rec in records:
        seq = str(rec.seq).rstrip("*")  # a trailing stop codon is tolerated
        if not seq:
            raise FastaError(f"{path}: record {rec.id!r} has an empty sequence")
        if validate:
            encode_protein(seq, label=f"{path}: record {rec.id!r}")
        out.append(ProteinRecord(id=rec.id, seq=seq.upper(), description=rec.description))
    if not out:
        raise FastaError(f"{path}: no FASTA records found")
    return out


def write_fasta(records: list[ProteinRecord], path: str | Path) -> None:
    """Write records with Biopython; `-` means stdout. Files are written to a temp file, then renamed."""
    seq_records = [SeqRecord(Seq(r.seq), id=r.id, description=r.description) for r in records]
    write_text_atomic(path, lambda handle: SeqIO.write(seq_records, handle, "fasta"))
