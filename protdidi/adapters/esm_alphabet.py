"""The token table of fair-esm's "ESM-1b" alphabet, shared by every ESM-2 and DPLM release (and HF `EsmTokenizer`'s
vocab.txt): a fact of the file formats, so the readers and the protein domain both take it from here."""

ESM_TOKENS = (
    "<cls>", "<pad>", "<eos>", "<unk>",
    "L", "A", "G", "V", "S", "E", "R", "T", "I", "D", "P", "K", "Q", "N", "F", "Y", "M", "H", "W", "C",
    "X", "B", "U", "Z", "O", ".", "-",
    "<null_1>", "<mask>",
)
# Ids that are never a residue; everything else in the table is a residue letter (the 20 standard ones, X, B, U, Z, O).
ESM_SPECIAL = ("<cls>", "<pad>", "<eos>", "<unk>", ".", "-", "<null_1>", "<mask>")
