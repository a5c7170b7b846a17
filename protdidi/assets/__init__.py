"""Shipped weights live in this package directory (so a non-editable install carries them)."""

from pathlib import Path

ASSETS = Path(__file__).resolve().parent
