"""FASTA reading and atomic writing through Biopython, with one clear error per bad input."""

from __future__ import annotations

import gzip
import hashlib
import io
import lzma
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from Bio import SeqIO
from Bio.Seq import Seq
from Bio.SeqRecord import SeqRecord

from protdidi.assets import SHIPPED_DATA
from protdidi.domains.protein.alphabet import InvalidSequence, check_protein
from protdidi.errors import UserError
from protdidi.io import write_text_atomic


class FastaError(UserError):
    """A FASTA file is missing, empty or malformed."""


@dataclass(frozen=True)
class ProteinRecord:
    id: str
    seq: str
    description: str = ""


DECOMPRESS = {".xz": (lzma.decompress, lzma.LZMAError), ".gz": (gzip.decompress, gzip.BadGzipFile)}


def _read_text(path: Path) -> str:
    """The file's text, decompressed by suffix (.xz, .gz); a shipped data file must match its sha256."""
    raw = path.read_bytes()
    if path.suffix in DECOMPRESS:
        decompress, error = DECOMPRESS[path.suffix]
        try:
            raw = decompress(raw)
        except (error, EOFError) as err:
            raise FastaError(f"{path}: cannot decompress ({err})") from None
    expected = SHIPPED_DATA.get(path.resolve())
    if expected is not None and hashlib.sha256(raw).hexdigest() != expected:
        raise FastaError(f"{path}: the shipped data file is damaged (sha256 mismatch); reinstall protdidi")
    if b"\0" in raw:
        raise FastaError(f"{path}: a binary file, not FASTA")
    return raw.decode(errors="replace")


def read_fasta(path: str | Path, validate: bool = True) -> list[ProteinRecord]:
    """Read every record (plain, .xz or .gz); raise `FastaError` / `InvalidSequence` with a one-line reason."""
    path = Path(path)
    if not path.exists():
        raise FastaError(f"{path}: no such file")
    if path.is_dir():
        raise FastaError(f"{path}: is a directory, not a FASTA file")
    text = _read_text(path)
    if not text.strip():
        raise FastaError(f"{path}: file is empty")
    if not text.lstrip().startswith(">"):
        raise FastaError(f"{path}: not FASTA (the first non-blank line must start with '>')")
    try:
        records = list(SeqIO.parse(io.StringIO(text), "fasta"))
    except ValueError as err:
        raise FastaError(f"{path}: malformed FASTA ({err})") from None
    out = []
    for n, rec in enumerate(records, start=1):
        if not rec.id:
            raise FastaError(f"{path}: record {n} has no id (nothing after '>')")
        try:
            seq = str(rec.seq).rstrip("*")  # a trailing stop codon is tolerated
        except UnicodeDecodeError:  # Biopython keeps sequences as ASCII bytes
            raise InvalidSequence(f"{path}: record {rec.id!r}: a non-ASCII character in the sequence") from None
        if not seq:
            raise FastaError(f"{path}: record {rec.id!r} has an empty sequence")
        if validate:
            check_protein(seq, label=f"{path}: record {rec.id!r}")
        out.append(ProteinRecord(id=rec.id, seq=seq.upper(), description=rec.description))
    if not out:
        raise FastaError(f"{path}: no FASTA records found")
    check_not_nucleotide(out, path)
    return out


NUCLEOTIDES = frozenset("ACGTUN")


def check_not_nucleotide(records: list[ProteinRecord], path: Path) -> None:
    """Refuse a file that is nucleotide sequence: every letter one of A, C, G, T, U, N, at least three of A, C, G,
    T/U present, and a record of 20 letters or more (at natural amino-acid frequencies a 20-residue protein uses
    only those letters with a chance below 1e-11; shorter or single-letter files are left alone)."""
    letters = {ch for r in records for ch in r.seq if ch != "_"}
    if letters <= NUCLEOTIDES and len(letters & set("ACGTU")) >= 3 and max(len(r.seq) for r in records) >= 20:
        raise FastaError(f"{path}: looks like nucleotide sequence (only the letters {''.join(sorted(letters))}); "
                         "protdidi reads protein FASTA")


def write_fasta(records: Iterable[ProteinRecord], path: str | Path) -> None:
    """Write records with Biopython as they come; `-` means stdout. Files are written to a temp file, then
    renamed."""
    seq_records = (SeqRecord(Seq(r.seq), id=r.id, description=r.description) for r in records)
    write_text_atomic(path, lambda handle: SeqIO.write(seq_records, handle, "fasta"))
