"""What a domain plug-in provides: models, generation plans and output records, training and evaluation.

A domain is one object (`DOMAIN` in `protdidi/domains/<name>/plugin.py`, registered in `protdidi.domains.DOMAINS`)
that knows its vocabulary, data, model formats, output format and evaluation. The CLI and the Python API call its
methods and never ask which domain it is; options that only some domains take are declared in `options` and
checked in one place (`Domain.check_options`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from protdidi.checkpoint import LoadedModel
from protdidi.config import check_seed
from protdidi.distributed import pick_device
from protdidi.errors import UserError
from protdidi.generation.result import Generated
from protdidi.io import check_output_location
from protdidi.vocab import Vocab


@dataclass
class Plan:
    """What to generate: one length per sample, and for conditional generation one template per sample (ids, the
    mask id where designed) with the header fields that record its condition."""

    lengths: list[int]
    templates: list[torch.Tensor] | None = None
    labels: list[str] | None = None
    rejects: Callable[[torch.Tensor], bool] | None = None  # a generated row the domain's filters refuse is redrawn


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
    distill_config: type = None  # the `distill` config dataclass (a `protdidi.methods.distillation.DistillRunConfig`)
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

    def describe(self, tally: Generated) -> tuple[str, str]:
        """(what was generated, e.g. "8 sequences, 960 residues"; the rate, e.g. "12.3 seq/s")."""
        raise NotImplementedError

    def summary(self, tally: Generated, output: str) -> str:
        """The closing stderr line of `generate`: count, size, NFE, extra network calls, wall-clock."""
        what, rate = self.describe(tally)
        extra = "".join(f", {k.replace('_', ' ')}={v:g}/seq" for k, v in tally.extra.items())
        return f"{what}, nfe={tally.nfe}{extra}, {tally.seconds:.1f} s ({rate}) -> {output}"

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
