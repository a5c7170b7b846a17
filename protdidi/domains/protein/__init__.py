"""The protein domain: ESM-2 alphabet, FASTA I/O, the CATH split, length distributions."""
