"""Protein generation plans and output: lengths from the model's training distribution (or a template, or a motif
contig), FASTA records whose headers record the model, NFE, seed, sampler and condition."""

from __future__ import annotations

import torch

from protdidi.checkpoint import LoadedModel
from protdidi.domains.base import Plan, fixed_length
from protdidi.domains.protein.conditions import DESIGN, motif_designs, template_designs
from protdidi.domains.protein.data import draw_lengths
from protdidi.domains.protein.fasta import ProteinRecord
from protdidi.domains.protein.filters import check_fixed, parse_exclude, rejects
from protdidi.errors import UserError


def choose_lengths(model: LoadedModel, n: int, length: int | str | None, generator: torch.Generator) -> list[int]:
    """`--length N` for all (a MIN-MAX range bounds a motif contig only), or n draws from the model's training
    length distribution."""
    length = fixed_length(model, length, "a number (MIN-MAX applies to --motif only)")
    if length is not None:
        return [length] * n
    if not model.lengths:
        raise UserError(f"model {model.name!r} carries no length distribution; pass --length")
    return draw_lengths(model.lengths, n, generator)


def protein_plan(model: LoadedModel, n: int, length: int | str | None, generator: torch.Generator,
                 condition: dict) -> Plan:
    template, redesign, motif, exclude = (condition.get(k) for k in ("template", "redesign", "motif", "exclude"))
    names = parse_exclude(exclude) if exclude is not None else []
    if redesign is not None and template is None:
        raise UserError("--redesign needs --template (the sequence whose ranges are redesigned)")
    if template is not None and motif is not None:
        raise UserError("--template and --motif exclude each other (a motif contig builds its own template)")
    if template is not None:
        if length is not None:
            raise UserError("--template fixes the length; --length does not apply")
        designs = template_designs(template, redesign, n, model.max_length)
    elif motif is not None:
        designs = motif_designs(motif, None if length is None else str(length), n, model.max_length, generator)
    else:
        lengths = choose_lengths(model, n, length, generator)
        return Plan(lengths, labels=[f"exclude={','.join(names)}"] * n if names else None,
                    rejects=rejects(names, model.denoiser.vocab.decode) if names else None)
    check_fixed(names, [d.template for d in designs])
    vocab = model.denoiser.vocab
    templates = [torch.tensor([vocab.mask_id if c == DESIGN else vocab.index(c) for c in d.template])
                 for d in designs]
    suffix = f" exclude={','.join(names)}" if names else ""
    return Plan([len(d.template) for d in designs], templates, [d.label + suffix for d in designs],
                rejects(names, vocab.decode) if names else None)


def protein_records(model: LoadedModel, rows: list[torch.Tensor], provenance: dict,
                    labels: list[str] | None = None, start: int = 0) -> list[ProteinRecord]:
    """One record per row: `>protdidi_00000 len=360 model=NAME nfe=16 seed=0 sampler=ancestral [condition]`,
    numbered from `start`."""
    vocab = model.denoiser.vocab
    return [ProteinRecord(id=f"protdidi_{start + i:05d}", seq=vocab.decode(row),
                          description=f"len={len(row)} model={model.name} nfe={provenance['nfe']} "
                                      f"seed={provenance['seed']} sampler={provenance['sampler']}"
                                      + (f" temperature={provenance['temperature']:g}"
                                         if "temperature" in provenance else "")
                                      + (f" precision={provenance['precision']}" if "precision" in provenance else "")
                                      + (f" {labels[i]}" if labels else ""))
            for i, row in enumerate(rows)]
