"""What to generate: `Request`, made and validated once where a job enters (the CLI, the Python API), and the
arithmetic of its chunks and shards."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from protdidi.config import check_seed
from protdidi.distributed import pick_device
from protdidi.errors import UserError
from protdidi.sampling import SAMPLERS

CHUNK = 1024  # samples (per template) planned, sampled and written at a time; part of what a seed reproduces
SHARD = re.compile(r"^(\d+)/(\d+)$")


@dataclass
class Request:
    """One generation job: `n` samples (per template, when conditioned) with `nfe` denoiser calls each.

    `length`: a number, a MIN-MAX range (motif contigs), or None (the domain's default); `template`, `redesign`,
    `motif`, `exclude`: the conditions a domain may take (None where not given; `exclude` names the domain's
    generation-time filters, whose rejects are drawn again); `temperature`: divides the model's
    log-probabilities before every draw, for samplers that take it (None: the sampler's default, 1); `shard` "I/N":
    only the I-th of N contiguous blocks of chunks. Construction checks everything that does not need the model
    (counts, seed, sampler name and settings, shard, device) and raises `UserError` with the CLI's one-line message;
    `device` becomes the device that will run it."""

    n: int = 8
    nfe: int = 16
    seed: int = 0
    length: int | str | None = None
    template: str | None = None
    redesign: str | None = None
    motif: str | None = None
    batch_size: int = 16
    sampler: str = "ancestral"
    device: str = "cpu"
    shard: str | None = None
    progress: bool = False
    temperature: float | None = None
    exclude: str | None = None

    def __post_init__(self) -> None:
        for name, value in (("--n", self.n), ("--nfe", self.nfe), ("--batch-size", self.batch_size)):
            if value < 1:
                raise UserError(f"{name} must be >= 1 (got {value})")
        check_seed(self.seed)
        if self.temperature is not None and not 0 < self.temperature <= 100:
            raise UserError(f"--temperature must be in (0, 100] (got {self.temperature:g})")
        cls = SAMPLERS.get(self.sampler)
        if self.temperature is not None and "temperature" not in {f.name for f in fields(cls)}:
            raise UserError(f"--temperature does not apply to --sampler {self.sampler}")
        self.chunks = shard_chunks(self.n, parse_shard(self.shard))
        self.device = str(pick_device(self.device))

    @property
    def condition(self) -> dict:
        return {"template": self.template, "redesign": self.redesign, "motif": self.motif, "exclude": self.exclude}

    @property
    def provenance(self) -> dict:
        """What every output record states about how it was made."""
        return {"nfe": self.nfe, "seed": self.seed, "sampler": self.sampler, **self.sampler_settings}

    @property
    def sampler_settings(self) -> dict:
        """What the request sets on the sampler beyond its defaults."""
        return {} if self.temperature is None else {"temperature": self.temperature}


def parse_shard(text: str | None) -> tuple[int, int]:
    """`--shard I/N` (0 <= I < N, the convention of torchrun's RANK) as (I, N); None means the whole job (0, 1)."""
    if text is None:
        return 0, 1
    m = SHARD.match(text.strip())
    if m is None or not int(m.group(1)) < int(m.group(2)):
        raise UserError(f"--shard {text!r}: expected I/N with 0 <= I < N, e.g. 0/4")
    return int(m.group(1)), int(m.group(2))


def shard_chunks(n: int, shard: tuple[int, int]) -> range:
    """The chunks (of `CHUNK` samples) that shard I of N generates: a contiguous block, so that the shards' outputs
    concatenated in order are the unsharded output."""
    i, parts = shard
    chunks = -(-n // CHUNK)
    if parts > chunks:
        raise UserError(f"--shard {i}/{parts}: --n {n} makes {chunks} chunk{'s' * (chunks > 1)} of {CHUNK} samples; "
                        f"use at most {chunks} shard{'s' * (chunks > 1)}")
    return range(i * chunks // parts, (i + 1) * chunks // parts)
