"""Teacher adapters: turn weights in some published format into a `MaskedDenoiser`."""
