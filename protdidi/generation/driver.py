"""The one generation loop, for every domain and sampler.

`stream` runs a `Request` in chunks of `CHUNK` samples, each with its own generator (`chunk_generator`): the domain
plans the chunk (lengths, templates), `generate_rows` samples it in batches of neighbouring lengths (sorted, so
padding wastes little compute; padded positions are hidden from attention), `sample_batch` runs the sampler's plan
step by step on one batch and counts every denoiser call, and the domain turns the rows into output records. The CLI
writes the chunks as they come; `generate` joins them. Everything random comes from the chunk's generator, consumed
in a fixed order (batches by increasing length, ties in input order), so the same seed and batch size give the same
records, and `--shard I/N` (a contiguous block of chunks) concatenates to the whole job.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import numpy as np
import torch
from tqdm import tqdm

from protdidi.checkpoint import LoadedModel
from protdidi.errors import UserError
from protdidi.generation.request import CHUNK, Request
from protdidi.generation.result import Generated
from protdidi.malloc import return_freed_memory
from protdidi.sampling import SAMPLERS
from protdidi.sampling.base import Sampler, State, start_state

MAX_REDRAWS = 20  # rounds of drawing again the samples a domain's filters reject (`--exclude`)


def build_sampler(model: LoadedModel, name: str, **settings) -> Sampler:
    """The named sampler for this model, with `settings` (e.g. temperature) over its defaults; a sampler that needs a
    discriminator needs a student that has one."""
    cls = SAMPLERS.get(name)
    if not cls.needs_discriminator:
        return cls(schedule=model.schedule, **settings)
    if model.load_discriminator is None:
        raise UserError(f"--sampler {name} needs a distilled student with a discriminator; "
                        f"{model.name!r} is a {model.kind} without one")
    return cls(schedule=model.schedule, discriminator=model.load_discriminator(),
               **{**model.sampler_defaults, **settings})


class Counted:
    """A denoiser whose calls (forward or logits) are counted: the NFE as it happened, not as it was asked for."""

    def __init__(self, denoiser):
        self.module, self.calls = denoiser, 0

    @property
    def vocab(self):
        return self.module.vocab

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.module(*args, **kwargs)

    def logits(self, *args, **kwargs):
        self.calls += 1
        return self.module.logits(*args, **kwargs)


def sample_batch(sampler: Sampler, denoiser, num: int, length: int, steps: int,
                 generator: torch.Generator | None = None, device: torch.device | str = "cpu",
                 valid: torch.Tensor | None = None, template: torch.Tensor | None = None) -> Generated:
    """`num` sequences of `length` tokens from the sampler's plan for `steps` steps. `valid` (Bool[num, length]) marks
    the positions of shorter sequences in a padded batch (the rest stay padding and are hidden from attention);
    `template` (Long[num, length]) fixes tokens and marks designed positions with the mask id (`start_state`)."""
    if num < 1 or length < 1 or steps < 1:
        raise ValueError(f"num, length and steps must be >= 1 (got {num}, {length}, {steps})")
    start = time.perf_counter()
    counted = Counted(denoiser)
    x = start_state(num, length, denoiser.vocab, device, valid, template)
    valid = None if valid is None else valid.to(device)
    region = torch.ones((num, length), dtype=torch.bool, device=device) if valid is None else valid
    state = State(counted, x, valid, region, denoiser.vocab.sampleable_mask(device), generator)
    for step in sampler.plan(steps):
        state.x = sampler.step(state, step)
    calls, rows = counted.calls, list(state.x)
    return Generated(rows, calls, time.perf_counter() - start, state.extra)


def generate_rows(model: LoadedModel, lengths: list[int], nfe: int, generator: torch.Generator, batch_size: int,
                  sampler: str | Sampler = "ancestral", device: str = "cpu", progress: bool = True,
                  templates: list[torch.Tensor] | None = None, bar: tqdm | None = None) -> Generated:
    """One sequence per entry of `lengths` with `nfe` denoiser calls each, in batches of up to `batch_size` sorted by
    length. `sampler`: a name, or a sampler already built (`build_sampler`) and shared by several calls.
    `templates` (conditional generation): per sample, Long[length] ids to keep, with the mask id at the positions to
    design. `bar`: a progress bar to advance (one spanning several calls); without it, one of its own when
    `progress`."""
    n = len(lengths)
    if n < 1 or nfe < 1 or batch_size < 1:
        raise ValueError(f"lengths, nfe and batch_size must be >= 1 (got {n}, {nfe}, {batch_size})")
    order = sorted(range(n), key=lambda i: (lengths[i], i))
    engine = build_sampler(model, sampler) if isinstance(sampler, str) else sampler
    model.denoiser.to(device).eval()
    rows: dict[int, torch.Tensor] = {}
    extra: dict[str, float] = {}
    calls = set()
    start = time.perf_counter()
    own = bar is None
    if own:
        bar = progress_bar(n, model.name, nfe, progress)
    try:
        for b in range(0, n, batch_size):
            chunk = order[b:b + batch_size]
            sizes = torch.tensor([lengths[i] for i in chunk])
            valid = torch.arange(int(sizes.max()))[None, :] < sizes[:, None]
            batch = None
            if templates is not None:
                batch = torch.full(valid.shape, model.denoiser.vocab.pad_id, dtype=torch.long)
                for r, i in enumerate(chunk):
                    batch[r, :lengths[i]] = templates[i]
            gen = sample_batch(engine, model.denoiser, len(chunk), valid.shape[1], nfe, generator, device,
                               None if bool(valid.all()) else valid, batch)
            calls.add(gen.nfe)
            for key, value in gen.extra.items():  # per-sequence counts: weight by the batch size
                extra[key] = extra.get(key, 0) + value * len(chunk)
            for i, row in zip(chunk, gen.rows, strict=True):
                rows[i] = row.cpu()[: lengths[i]]
            del gen
            return_freed_memory()  # flat memory over any --n: what this batch freed goes back to the system
            bar.update(len(chunk))
    finally:
        if own:
            bar.close()
    seconds = time.perf_counter() - start
    return Generated([rows[i] for i in range(n)], max(calls), seconds, {k: v / n for k, v in extra.items()})


def stream(domain, model: LoadedModel, request: Request) -> Iterator[Generated]:
    """The samples of `request`, chunk by chunk (`CHUNK` samples per template each), as they are made, with their
    records. `domain` (a `protdidi.domains.base.Domain`) plans each chunk with the chunk's generator
    (`chunk_generator(seed, k)`) and makes its records, numbered as in the whole job."""
    # one sampler for all chunks; a sampler this model cannot run fails here
    engine = build_sampler(model, request.sampler, **request.sampler_settings)
    provenance = {**request.provenance, **({"precision": model.precision} if model.precision != "fp32" else {})}
    bar, done = None, 0  # done: records of the whole job before this chunk
    try:
        for k in request.chunks:
            size = min(CHUNK, request.n - k * CHUNK)
            g = chunk_generator(request.seed, k)
            plan = domain.plan(model, size, request.length, g, request.condition)
            per_sample = len(plan.lengths) // size  # templates given: one sample of each per draw
            if bar is None:  # once the first plan has passed its checks
                done = k * CHUNK * per_sample
                total = sum(min(CHUNK, request.n - j * CHUNK) for j in request.chunks) * per_sample
                bar = progress_bar(total, model.name, request.nfe, request.progress)
            part = generate_rows(model, plan.lengths, request.nfe, g, request.batch_size, engine, request.device,
                                 templates=plan.templates, bar=bar)
            if plan.rejects is not None:
                redraw_rejected(model, plan, part, request, g, engine)
            part.records = domain.records(model, part.rows, provenance, plan.labels, start=done)
            yield part
            done += len(plan.lengths)
    finally:
        if bar is not None:
            bar.close()


def redraw_rejected(model: LoadedModel, plan, part: Generated, request: Request, generator: torch.Generator,
                    engine: Sampler) -> None:
    """Draw again, with the chunk's generator, every row of `part` that `plan.rejects`, until none is (at most
    `MAX_REDRAWS` rounds; the rows that pass at once are those of a run without the filter). Adds `redrawn` (samples
    drawn again per kept sample: each cost `nfe` more denoiser calls) and the time to `part`."""
    redrawn = 0
    for rounds in range(MAX_REDRAWS + 1):
        bad = [i for i, row in enumerate(part.rows) if plan.rejects(row)]
        if not bad:
            break
        if rounds == MAX_REDRAWS:
            raise UserError(f"--exclude {request.exclude}: {len(bad)} of {len(part.rows)} samples still show an "
                            f"excluded artefact after {MAX_REDRAWS} redraws; this model writes it too often, so drop "
                            "the filter or change the condition")
        again = generate_rows(model, [plan.lengths[i] for i in bad], request.nfe, generator, request.batch_size,
                              engine, request.device, progress=False,
                              templates=None if plan.templates is None else [plan.templates[i] for i in bad])
        for i, row in zip(bad, again.rows, strict=True):
            part.rows[i] = row
        redrawn, part.seconds = redrawn + len(bad), part.seconds + again.seconds
    part.extra["redrawn"] = redrawn / len(part.rows)


def generate(domain, model: LoadedModel, request: Request) -> Generated:
    """All of `stream`, in memory."""
    return Generated.joined(list(stream(domain, model, request)))


def chunk_generator(seed: int, chunk: int) -> torch.Generator:
    """The generator of one chunk: chunk 0 is seeded with `seed` itself (so runs of up to `CHUNK` samples are those
    of earlier versions), chunk k > 0 with a 63-bit seed derived from (seed, k) by numpy's SeedSequence."""
    if chunk == 0:
        return torch.Generator().manual_seed(seed)
    hi, lo = np.random.SeedSequence([seed, chunk]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed((int(hi) << 32 | int(lo)) >> 1)


def progress_bar(total: int | None, name: str, nfe: int, progress: bool) -> tqdm:
    return tqdm(total=total, desc=f"generate ({name}, nfe={nfe})", file=sys.stderr, disable=not progress, unit="seq",
                dynamic_ncols=True)
