"""Property-based tests (Hypothesis) of the FASTA reader and the sequence encoder: whatever the input, they return
valid records / ids or raise the project's own `UserError`, never another exception."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protdidi.domains.protein.alphabet import ACCEPTED_RESIDUES, encode_protein, protein_vocab
from protdidi.domains.protein.fasta import read_fasta
from protdidi.errors import UserError

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LETTERS = ACCEPTED_RESIDUES + ACCEPTED_RESIDUES.lower() + "JjZ*_-.1 \t\r>;é\x00"
header = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=30)
sequence = st.text(alphabet=LETTERS, max_size=60)
fasta_like = st.lists(st.tuples(header, st.lists(sequence, max_size=3)), max_size=5).map(
    lambda recs: "".join(f">{h}\n" + "".join(f"{line}\n" for line in lines) for h, lines in recs))


def read_bytes(raw: bytes, suffix: str = ".fasta"):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"x{suffix}"
        path.write_bytes(raw)
        try:
            return read_fasta(path)
        except UserError as err:
            assert "\n" not in str(err)  # one line on the CLI
            return err


def check_records(result) -> None:
    if isinstance(result, UserError):
        return
    assert result, "a successful read returns at least one record"
    for rec in result:
        assert rec.id and not any(ch.isspace() for ch in rec.id)
        assert rec.seq and set(rec.seq) <= set(ACCEPTED_RESIDUES)


@SETTINGS
@given(st.binary(max_size=400))
def test_any_bytes_give_records_or_a_user_error(raw):
    check_records(read_bytes(raw))


@SETTINGS
@given(fasta_like)
def test_fasta_like_text_gives_records_or_a_user_error(text):
    check_records(read_bytes(text.encode("utf-8")))


@SETTINGS
@given(st.one_of(st.binary(max_size=200), fasta_like.map(lambda t: gzip.compress(t.encode()))))
def test_compressed_input_gives_records_or_a_user_error(raw):
    check_records(read_bytes(raw, ".fasta.gz"))


@SETTINGS
@given(st.text(max_size=80))
def test_encoder_gives_ids_or_a_user_error(seq):
    vocab = protein_vocab()
    try:
        ids = encode_protein(seq, vocab)
    except UserError:
        assert not set(seq) <= set(ACCEPTED_RESIDUES + ACCEPTED_RESIDUES.lower())
        return
    assert len(ids) == len(seq)
    assert "".join(vocab.tokens[i] for i in ids) == seq.upper()
