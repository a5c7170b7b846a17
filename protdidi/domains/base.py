"""What a domain plug-in provides, and the flows every domain shares (generation, checkpoint loading).

A domain is one object (`DOMAIN` in `protdidi/domains/<name>/plugin.py`, registered in `protdidi.domains.DOMAINS`)
that knows its vocabulary, data, model formats, output format and evaluation. The CLI and the Python API call its
methods and never ask which domain it is; options that only some domains take are declared in `options` and
checked in one place (`Domain.check_options`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import torch

from protdidi.config import check_seed
from protdidi.distributed import pick_device
from protdidi.errors import UserError
from protdidi.generation import (
    CHUNK,
    TokenGeneration,
    check_counts,
    chunk_generator,
    generate_rows,
    parse_shard,
    progress_bar,
    shard_chunks,
)
from protdidi.io import check_output_location
from protdidi.loaded import LoadedModel, build_sampler
from protdidi.vocab import Vocab


@dataclass
class Plan:
    """What to generate: one length per sample, and for conditional generation one template per sample (ids, the
    mask id where designed) with the header fields that record its condition."""

    lengths: list[int]
    templates: list[torch.Tensor] | None = None
    labels: list[str] | None = None


@dataclass
class Generated:
    """Records in the domain's output format, with what the summary line reports."""

    records: list
    tokens: TokenGeneration

    @property
    def lengths(self) -> list[int]:
        return [len(row) for row in self.tokens.rows]

    @classmethod
    def joined(cls, parts: list[Generated]) -> Generated:
        tally = Tally()
        for part in parts:
            tally.add(part)
        tokens = TokenGeneration([r for p in parts for r in p.tokens.rows], tally.nfe, tally.seconds, tally.extra)
        return cls([r for p in parts for r in p.records], tokens)


@dataclass
class Tally:
    """What the closing line of `generate` reports, summed over chunks as they stream past (`add`)."""

    n: int = 0
    tokens: int = 0
    seconds: float = 0.0
    nfe: int = 0
    extra: dict = field(default_factory=dict)  # per-sequence counters, averaged over all samples

    def add(self, part: Generated) -> Generated:
        k = len(part.records)
        for key, value in part.tokens.extra.items():
            self.extra[key] = (self.extra.get(key, 0.0) * self.n + value * k) / (self.n + k)
        self.n, self.tokens = self.n + k, self.tokens + sum(part.lengths)
        self.seconds, self.nfe = self.seconds + part.tokens.seconds, part.tokens.nfe
        return part


def fixed_length(model: LoadedModel, length: int | str | None, expected: str) -> int | None:
    """`--length N` as a number within 1..the model's maximum (None stays None); `expected` says what a value that
    is not a number should have been."""
    if isinstance(length, str):
        if not length.strip().isdigit():
            raise UserError(f"--length {length!r}: expected {expected}")
        length = int(length)
    if length is not None and not 1 <= length <= model.max_length:
        raise UserError(f"--length {length} is outside 1..{model.max_length} (the model's maximum)")
    return length


# The options of `evaluate` that every domain takes, with their defaults (the rest are domain-specific).
EVALUATE_DEFAULTS = {"pppl_n": 100, "seed": 0, "batch_size": 8, "device": "cpu"}
REPORT_MARKER = "report.json"  # every evaluate report directory holds it; only such a directory is replaced


class Domain:
    name: str = ""
    data_key: str = ""  # the config key that --data sets
    teacher_config: type = None  # the `train-teacher` config dataclass
    finetune_config: Path | None = None  # the small-data YAML `finetune` starts from (None: this domain has none)
    distill_config: type = None  # the `distill` config dataclass (a `protdidi.methods.run.DistillRunConfig`)
    options: ClassVar[dict[str, frozenset[str]]] = {}  # command → the domain-specific CLI options it takes

    def check_options(self, command: str, **given) -> None:
        """`given`: the domain-specific options of `command` (name → value, None when not given). An option this
        domain does not take is an error, so that nothing is silently ignored (the CLI and the Python API)."""
        accepted = self.options.get(command, frozenset())
        unused = [f"--{name.replace('_', '-')}" for name, value in given.items()
                  if value is not None and name not in accepted]
        if unused:
            raise UserError(f"{' and '.join(unused)} {'does' if len(unused) == 1 else 'do'} not apply to "
                            f"--domain {self.name}")

    # -- models -------------------------------------------------------------------------------------------
    def load_model(self, spec: str | None, tokenizer: str | None = None) -> LoadedModel:
        """A shipped name, a protdidi checkpoint directory, or a published format this domain reads."""
        raise NotImplementedError

    def weights_file(self, spec: str) -> Path:
        """The file holding a model's weights (what a student's teacher reference fingerprints)."""
        raise NotImplementedError

    def checkpoint_vocab(self, path: Path, cfg: dict) -> tuple[Vocab, dict]:
        """The vocabulary a protdidi checkpoint of this domain must carry, and its `LoadedModel` fields."""
        raise NotImplementedError

    # -- generation ---------------------------------------------------------------------------------------
    def plan(self, model: LoadedModel, n: int, length: int | str | None, generator: torch.Generator,
             condition: dict) -> Plan:
        """Lengths (and templates) of the samples. `condition` holds the conditioning options the domain takes
        (`options["generate"]`), None where not given; without any, `n` unconditional samples."""
        raise NotImplementedError

    def records(self, model: LoadedModel, rows: list[torch.Tensor], provenance: dict,
                labels: list[str] | None = None, start: int = 0) -> list:
        """Output records (FASTA records, JSONL dicts) for generated token rows, numbered from `start`; `labels`
        record each condition."""
        raise NotImplementedError

    def text_of(self, record) -> str:
        """A record's sequence or text, as the Python API returns it."""
        raise NotImplementedError

    def write(self, records: Iterable, path: str, fmt: str | None = None) -> None:
        """Write records (any iterable: they may still be generated while written) atomically; `-` is stdout."""
        raise NotImplementedError

    def describe(self, tally: Tally) -> tuple[str, str]:
        """(what was generated, e.g. "8 sequences, 960 residues"; the rate, e.g. "12.3 seq/s")."""
        raise NotImplementedError

    def summary(self, tally: Tally, output: str) -> str:
        """The closing stderr line of `generate`: count, size, NFE, extra network calls, wall-clock."""
        what, rate = self.describe(tally)
        extra = "".join(f", {k.replace('_', ' ')}={v:g}/seq" for k, v in tally.extra.items())
        return f"{what}, nfe={tally.nfe}{extra}, {tally.seconds:.1f} s ({rate}) -> {output}"

    def generate(self, model: LoadedModel, n: int, nfe: int, length: int | str | None = None, seed: int = 0,
                 batch_size: int = 16, sampler: str = "ancestral", device: str = "cpu", progress: bool = True,
                 condition: dict | None = None, shard: str | None = None) -> Generated:
        """n samples (per template, when conditioned) with `nfe` denoiser calls each, all in memory (`chunks`)."""
        return Generated.joined(list(self.chunks(model, n, nfe, length, seed, batch_size, sampler, device, progress,
                                                 condition, shard)))

    def chunks(self, model: LoadedModel, n: int, nfe: int, length: int | str | None = None, seed: int = 0,
               batch_size: int = 16, sampler: str = "ancestral", device: str = "cpu", progress: bool = True,
               condition: dict | None = None, shard: str | None = None) -> Iterator[Generated]:
        """The samples of `generate`, chunk by chunk (`CHUNK` samples per template each), as they are made. Each
        chunk's generator (`chunk_generator(seed, k)`) draws its lengths (or spacer lengths) where the domain draws
        them, then every sampling step: the same seed and batch size give the same records, and `shard` "I/N"
        makes the I-th of N contiguous blocks of chunks, numbered as in the whole job."""
        check_counts(n, nfe, batch_size, seed)
        chunks = shard_chunks(n, parse_shard(shard))
        engine = build_sampler(model, sampler)  # one for all chunks; a sampler this model cannot run fails here
        provenance = {"nfe": nfe, "seed": seed, "sampler": sampler}
        bar, done = None, 0  # done: records of the whole job before this chunk
        try:
            for k in chunks:
                size = min(CHUNK, n - k * CHUNK)
                g = chunk_generator(seed, k)
                plan = self.plan(model, size, length, g, condition or {})
                per_sample = len(plan.lengths) // size  # templates given: one sample of each per draw
                if bar is None:  # once the first plan has passed its checks
                    done = k * CHUNK * per_sample
                    total = sum(min(CHUNK, n - j * CHUNK) for j in chunks) * per_sample
                    bar = progress_bar(total, model.name, nfe, progress)
                tokens = generate_rows(model, plan.lengths, nfe, g, batch_size, sampler, device,
                                       templates=plan.templates, bar=bar, engine=engine)
                yield Generated(self.records(model, tokens.rows, provenance, plan.labels, start=done), tokens)
                done += len(plan.lengths)
        finally:
            if bar is not None:
                bar.close()

    # -- training and evaluation --------------------------------------------------------------------------
    def train_teacher(self, cfg, run_dir: Path, resume: bool = False, stop_at: int | None = None) -> dict:
        raise NotImplementedError

    def distill_setup(self, cfg, device: torch.device):
        """The teacher, data, evaluator and checkpoint fields of a distillation run (`DistillSetup`)."""
        raise NotImplementedError

    def evaluate(self, samples: str, out_dir: Path, options: dict, progress: bool = True
                 ) -> tuple[dict, str, list[str]]:
        """Write a report into `out_dir`; returns the report, its Markdown table and lines for stderr."""
        raise NotImplementedError

    def evaluate_file(self, samples: str, out_dir: str | Path, progress: bool = True, **options
                      ) -> tuple[dict, str, list[str]]:
        """`evaluate` for the CLI and the Python API alike: the shared options get their defaults, and a
        domain-specific option this domain does not take (given, not None) is an error."""
        specific = {name: value for name, value in options.items() if name not in EVALUATE_DEFAULTS}
        self.check_options("evaluate", **specific)
        options = {**EVALUATE_DEFAULTS, **options}
        for name in ("pppl_n", "batch_size"):
            if options[name] < 1:
                raise UserError(f"--{name.replace('_', '-')} must be >= 1 (got {options[name]})")
        check_seed(options["seed"])
        options["device"] = str(pick_device(options["device"]))
        check_output_location(out_dir, directory=True, marker=REPORT_MARKER,
                              inputs=(samples, *(v for v in specific.values() if isinstance(v, str))))
        return self.evaluate(samples, Path(out_dir), options, progress)
