"""The amino-acid vocabulary with fair-esm's ESM-1b/ESM-2 alphabet ids, so ESM-2 and DPLM weights map as is."""

from __future__ import annotations

from functools import lru_cache

from protdidi.adapters.esm_alphabet import ESM_SPECIAL, ESM_TOKENS
from protdidi.errors import UserError
from protdidi.vocab import Vocab

STANDARD_RESIDUES = "ACDEFGHIKLMNPQRSTVWY"
# Letters accepted in input: the 20 standard residues, X (unknown) and the ambiguous/rare codes B, Z, U, O.
ACCEPTED_RESIDUES = STANDARD_RESIDUES + "XBZUO"
_ACCEPTED = frozenset(ACCEPTED_RESIDUES + ACCEPTED_RESIDUES.lower())


@lru_cache(maxsize=1)
def protein_vocab() -> Vocab:
    """The ESM-2 alphabet; only the 20 standard residues are sampleable, X etc. are accepted as input."""
    index = {tok: i for i, tok in enumerate(ESM_TOKENS)}
    special = tuple(index[t] for t in ESM_SPECIAL)
    return Vocab(
        name="esm2-protein",
        tokens=ESM_TOKENS,
        mask_id=index["<mask>"],
        pad_id=index["<pad>"],
        bos_id=index["<cls>"],
        eos_id=index["<eos>"],
        special=special,
        sampleable=tuple(index[a] for a in STANDARD_RESIDUES),
        joiner="",
    )


class InvalidSequence(UserError):
    """A sequence holds a letter that is not an amino-acid code."""


def check_protein(seq: str, label: str = "sequence") -> None:
    """Raise `InvalidSequence`, naming the first offending letter and its position, unless every letter is an
    accepted amino-acid code (either case)."""
    if _ACCEPTED.issuperset(seq):
        return
    for pos, ch in enumerate(seq, start=1):
        if ch not in _ACCEPTED:
            raise InvalidSequence(f"{label}: {ch!r} at position {pos} is not an amino-acid letter "
                                  f"(accepted: {ACCEPTED_RESIDUES})")


def encode_protein(seq: str, vocab: Vocab | None = None, label: str = "sequence") -> list[int]:
    """Upper-case a residue string and map it to ids; non-amino-acid letters raise `InvalidSequence`."""
    check_protein(seq, label)
    return (vocab or protein_vocab()).encode(seq.upper())
