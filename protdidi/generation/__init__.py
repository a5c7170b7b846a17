"""Generation, for every domain: a `Request` (validated where it is made, by the CLI or the Python API), one driver
that runs it (chunks, shards, batches by length, the sampler's plan step by step, timing, the counted NFE), and one
result type, `Generated`."""
