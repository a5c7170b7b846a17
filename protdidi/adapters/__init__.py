"""Adapters: wrap an architecture as a `MaskedDenoiser` (ESM-2 with BOS/EOS framing, the MDLM DiT), read the
published weight formats into it (fair-esm `.pt`, HF ESM-2/DPLM, MDLM/DUO `.ckpt` and HF dirs), and name the
architectures a protdidi checkpoint can hold (`architectures.py`). No domain imports: the ESM token table they need
is a fact of the format (`esm_alphabet.py`)."""
