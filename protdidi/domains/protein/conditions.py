"""Conditional protein generation: what to keep and what to design, per sample.

- `--template SEQ|FASTA`: residues are kept exactly (lower case read as upper case), `_` marks a designed position.
  A FASTA with several records designs each; `--n` samples per template.
- `--redesign START-END[,...]` (1-based, inclusive): those ranges of the template are designed as well.
- `--motif CONTIG` (RFdiffusion/DPLM style, e.g. `10-40,MOTIFSEQ,5-15,MOTIF2,10-40`): a range (or a single number)
  is a designed spacer whose length is drawn per sample, uniformly; a literal segment is a fixed motif.
  `--length MIN-MAX` bounds the total length (spacer draws are repeated until the total fits).

Each sample becomes a `Design`: its template (residue letters and `_`) and the header fields that record the
condition. Everything is checked before any sampling; a bad condition is a `UserError` naming what is wrong.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from protdidi.domains.protein.alphabet import ACCEPTED_RESIDUES
from protdidi.errors import UserError

DESIGN = "_"
RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


@dataclass(frozen=True)
class Design:
    template: str  # residue letters (kept) and `_` (designed)
    label: str  # header fields recording the condition


def designed_ranges(template: str, fixed: bool = False) -> str:
    """1-based inclusive ranges of the designed positions (or, with `fixed`, of the kept ones), e.g. "11-30,45"."""
    runs, start = [], None
    for i, ch in enumerate(template + ("X" if not fixed else DESIGN), start=1):
        inside = (ch == DESIGN) != fixed
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            runs.append(f"{start}-{i - 1}" if i - 1 > start else str(start))
            start = None
    return ",".join(runs)


def _check_letters(seq: str, what: str) -> str:
    seq = seq.upper()
    for pos, ch in enumerate(seq, start=1):
        if ch != DESIGN and ch not in ACCEPTED_RESIDUES:
            raise UserError(f"{what}: {ch!r} at position {pos} is neither an amino-acid letter nor '{DESIGN}' "
                            f"(the design mark)")
    return seq


def read_templates(spec: str) -> list[tuple[str, str]]:
    """(id, template) pairs from a FASTA file, or for a sequence given inline one pair whose id is the template
    itself (upper case), so that a header's `template=` says what was kept."""
    try:
        is_file = Path(spec).is_file()
    except OSError:  # e.g. a long sequence is too long for a file name
        is_file = False
    if is_file:
        from protdidi.domains.protein.fasta import read_fasta

        records = read_fasta(spec, validate=False)
        seen = set()
        for r in records:
            if r.id in seen:
                raise UserError(f"{spec}: record id {r.id!r} occurs twice; the outputs' headers name their template "
                                "by id, so template ids must be unique")
            seen.add(r.id)
        return [(r.id, _check_letters(r.seq, f"{spec}: record {r.id!r}")) for r in records]
    if not re.fullmatch(r"[A-Za-z_]+", spec):
        if re.search(r"[./\\]", spec):
            raise UserError(f"--template {spec}: no such file")
        raise UserError(f"--template {spec[:40]!r}: neither a FASTA file nor a sequence of letters and '{DESIGN}'")
    template = _check_letters(spec, "--template")
    return [(template, template)]


def number_range(text: str) -> tuple[int, int] | None:
    """`N` or `MIN-MAX` as (MIN, MAX) (MIN may exceed MAX: callers say what they need); None if it is neither."""
    m = RANGE.match(text.strip())
    return None if m is None else (int(m.group(1)), int(m.group(2) or m.group(1)))


def parse_ranges(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        r = number_range(part)
        if r is None or r[0] < 1 or r[1] < r[0]:
            raise UserError(f"--redesign {text!r}: {part!r} is not START-END with 1 <= START <= END")
        out.append(r)
    out.sort()
    for (a, b), (c, _) in itertools.pairwise(out):
        if c <= b:
            raise UserError(f"--redesign {text!r}: ranges {a}-{b} and {c}-… overlap")
    return out


def apply_redesign(template: str, ranges: list[tuple[int, int]], what: str) -> str:
    chars = list(template)
    for a, b in ranges:
        if b > len(chars):
            raise UserError(f"--redesign {a}-{b} is outside {what} (length {len(chars)})")
        chars[a - 1:b] = DESIGN * (b - a + 1)
    return "".join(chars)


def template_designs(spec: str, redesign: str | None, n: int, max_length: int) -> list[Design]:
    """`n` designs per template, in template order."""
    ranges = parse_ranges(redesign) if redesign is not None else []
    out = []
    for rid, template in read_templates(spec):
        what = "the inline template" if rid == template else f"template {rid!r}"
        template = apply_redesign(template, ranges, what)
        if DESIGN not in template:
            raise UserError(f"{what} has nothing to design (mark positions with '{DESIGN}' or use --redesign)")
        if len(template) > max_length:
            raise UserError(f"{what} has {len(template)} residues; the model's maximum is {max_length}")
        out += [Design(template, f"template={rid} designed={designed_ranges(template)}")] * n
    return out


@dataclass(frozen=True)
class Contig:
    """Segments: (min, max) spacer ranges and literal motifs, in order."""

    text: str
    segments: tuple  # each a (min, max) tuple or a motif string

    @classmethod
    def parse(cls, text: str) -> Contig:
        parts = [p.strip() for p in text.split(",")]
        if not text.strip() or any(not p for p in parts):
            raise UserError(f"--motif {text!r}: empty segment (expected e.g. 10-40,MOTIF,5-15)")
        segments = []
        for p in parts:
            spacer = number_range(p)
            if spacer is not None:
                if spacer[1] < spacer[0]:
                    raise UserError(f"--motif {text!r}: spacer {p!r} has MIN > MAX")
                segments.append(spacer)
            elif p.startswith("-") or p[:1].isdigit():
                raise UserError(f"--motif {text!r}: {p!r} is neither a spacer MIN-MAX (>= 0) nor a motif")
            else:  # a motif; '_' inside it marks designed positions, as in a template
                segments.append(_check_letters(p, f"--motif segment {p!r}"))
        if not any(isinstance(s, str) and s.strip(DESIGN) for s in segments):
            raise UserError(f"--motif {text!r} holds no motif (nothing fixed): use unconditional generation")
        return cls(text, tuple(segments))

    def bounds(self) -> tuple[int, int]:
        fixed = sum(len(s) for s in self.segments if isinstance(s, str))
        spacers = [s for s in self.segments if not isinstance(s, str)]
        return fixed + sum(lo for lo, _ in spacers), fixed + sum(hi for _, hi in spacers)

    def draw(self, generator: torch.Generator) -> tuple[str, list[int]]:
        template, drawn = "", []
        for s in self.segments:
            if isinstance(s, str):
                template += s
            else:
                k = int(torch.randint(s[0], s[1] + 1, (), generator=generator))
                drawn.append(k)
                template += DESIGN * k
        return template, drawn


def motif_designs(text: str, length: str | None, n: int, max_length: int, generator: torch.Generator,
                  tries: int = 10_000) -> list[Design]:
    """`n` designs with spacer lengths drawn from `generator`, the total within `--length MIN-MAX`."""
    contig = Contig.parse(text)
    lo, hi = parse_length_range(length, max_length) if length else (1, max_length)
    hi = min(hi, max_length)
    need_lo, need_hi = contig.bounds()
    if need_lo > hi or need_hi < lo:
        raise UserError(f"--motif {text!r} spans {need_lo}-{need_hi} residues, which cannot fit --length "
                        f"{lo}-{hi} (the model's maximum is {max_length})")
    # No spacer can be longer than the whole sequence: cap each at `hi` (also keeps huge bounds drawable).
    contig = Contig(contig.text, tuple(s if isinstance(s, str) else (s[0], min(s[1], hi)) for s in contig.segments))
    out = []
    for _ in range(n):
        for _ in range(tries):
            template, drawn = contig.draw(generator)
            if lo <= len(template) <= hi:
                break
        else:
            raise UserError(f"--motif {text!r}: no spacer draw in {tries} fitted --length {lo}-{hi}")
        out.append(Design(template, f"contig={text} spacers={'/'.join(map(str, drawn))} "
                                    f"motif_at={designed_ranges(template, fixed=True)}"))
    return out


def header_fields(description: str) -> dict[str, str]:
    """A generated record's header fields (`key=value` words) by key."""
    return dict(f.split("=", 1) for f in description.split() if "=" in f)


def template_of_header(fields: dict[str, str]) -> str | None:
    """The template (letters kept, `_` designed) that a generated record's header fields (`header_fields`) describe:
    a motif's contig with its drawn spacers, or an inline template with its designed ranges; None for an
    unconditional record or a template named by a FASTA id (its letters are not in the header)."""
    if "contig" in fields and "spacers" in fields:
        drawn = iter(int(k) for k in fields["spacers"].split("/") if k)
        try:
            return "".join(DESIGN * next(drawn) if number_range(part) else part for part in fields["contig"].split(","))
        except StopIteration:
            return None
    template = fields.get("template", "")
    if not template or not re.fullmatch(r"[A-Z_]+", template):
        return None
    chars = list(template)
    for part in filter(None, fields.get("designed", "").split(",")):
        lo, hi = number_range(part) or (1, 0)
        chars[lo - 1:hi] = DESIGN * len(chars[lo - 1:hi])
    return "".join(chars)


def parse_length_range(text: str, max_length: int) -> tuple[int, int]:
    r = number_range(text)
    if r is None or r[0] < 1 or r[1] < r[0]:
        raise UserError(f"--length {text!r}: expected N or MIN-MAX with 1 <= MIN <= MAX")
    lo, hi = r
    if lo > max_length:
        raise UserError(f"--length {text} is outside 1..{max_length} (the model's maximum)")
    return lo, hi
