"""Scoring generated proteins: ESM pseudo-perplexity (exact and single-pass)."""
