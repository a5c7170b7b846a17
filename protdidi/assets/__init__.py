"""Shipped weights and data live in this package directory (so a non-editable install carries them)."""

from pathlib import Path

ASSETS = Path(__file__).resolve().parent
# Shipped data files → sha256 of their uncompressed content, checked whenever they are read.
SHIPPED_DATA = {
    ASSETS / "data" / "cath-s40-v4.1.0.fasta.xz": "fa9f533695f001b5d547ff315bf1c17ec14e9c768fd0d00c34086ba7705fa4e0",
}
