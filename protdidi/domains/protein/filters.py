"""Generation-time filters (`protdidi generate --exclude NAME[,NAME]`): artefacts a designer does not want in a
design, which the corpus teaches the models (about 9% of CATH S40 domains carry a terminal His-tag). A sample that
shows one is drawn again, with the chunk's own generator, until none does (at most `MAX_REDRAWS` rounds); the
samples that pass the first time are exactly those generated without the filter."""

from __future__ import annotations

import re
from collections.abc import Callable

import torch

from protdidi.domains.protein.conditions import DESIGN
from protdidi.domains.protein.evaluation.metrics import has_his_tag, low_complexity_fraction
from protdidi.errors import UserError

LOW_COMPLEXITY = 0.2  # share of 12-residue windows under 2.2 bits at which a sequence counts as low-complexity
FILTERS: dict[str, tuple[str, Callable[[str], bool]]] = {
    "his-tag": ("six or more H in a row (an expression tag)", has_his_tag),
    "low-complexity": (f"{LOW_COMPLEXITY:.0%} or more of its 12-residue windows below 2.2 bits",
                       lambda seq: low_complexity_fraction(seq) >= LOW_COMPLEXITY),
}


def trim_his_tags(seq: str, end: int = 25, run: int = 6) -> str:
    """`seq` without terminal His-tags (the corpus rule of `data.trim_tags`): everything up to the end of a run of
    `run` or more H that ends within the first `end` residues is dropped, and everything from the start of such a
    run that starts within the last `end` residues (a run counts for the terminus it is nearer to). Linkers beside a
    tag stay; an internal run stays."""
    n = len(seq)
    runs = [m.span() for m in re.finditer(f"H{{{run},}}", seq)]
    # a run belongs to the terminus it is nearer to
    head = max((b for a, b in runs if b <= end and a < n - b), default=0)
    tail = min((a for a, b in runs if a >= n - end and n - b <= a and a >= head), default=n)
    return seq[head:tail]


def parse_exclude(text: str) -> list[str]:
    """`--exclude his-tag,low-complexity` as a list of filter names; an unknown name is a `UserError`."""
    names = [name.strip() for name in text.split(",")]
    unknown = [name for name in names if name not in FILTERS]
    if unknown or not names:
        raise UserError(f"--exclude {text!r}: expected one or more of {', '.join(FILTERS)} (comma-separated)")
    return list(dict.fromkeys(names))


def check_fixed(names: list[str], templates: list[str]) -> None:
    """A template whose kept residues alone already show an excluded artefact could never pass: say so now."""
    for template in templates:
        kept = template.replace(DESIGN, "X")
        for name in names:
            if name == "his-tag" and has_his_tag(kept):
                raise UserError(f"--exclude his-tag: the kept residues of {template[:40]!r} already hold a His-tag")


def rejects(names: list[str], decode: Callable[[torch.Tensor], str]) -> Callable[[torch.Tensor], bool]:
    """Whether a generated row (token ids) shows any of the excluded artefacts."""
    tests = [FILTERS[name][1] for name in names]
    return lambda row: any(test(decode(row)) for test in tests)
