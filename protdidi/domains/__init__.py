"""Domains: everything that knows what tokens mean (alphabets, file formats, framing, length models)."""
