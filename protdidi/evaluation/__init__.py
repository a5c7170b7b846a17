"""Scoring sequences with a masked LM over any `Vocab`: pseudo-perplexity (exact and single-pass)."""
