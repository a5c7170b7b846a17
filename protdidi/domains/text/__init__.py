"""The text domain: GPT-2-style tokenizers with an appended mask, packed windows, text I/O, GenPPL."""
