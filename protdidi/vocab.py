"""Vocabulary object shared by every domain: tokens, special ids, sampleable ids, JSON codec.

The core never knows what a token *means*; domains build a `Vocab` and hand it over.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from protdidi.io import read_json_object


@dataclass(frozen=True)
class Vocab:
    """A token table with explicit special ids.

    `special` ids are never predicted by a denoiser (SUBS puts −inf on them; the mask is always among them);
    `sampleable` ids are the ones a sampler may emit (a subset of the non-special ids). BOS, EOS and pad may
    share one id (GPT-2); the mask may not share its id. `joiner` glues decoded tokens together.
    """

    name: str
    tokens: tuple[str, ...]
    mask_id: int
    pad_id: int
    bos_id: int | None = None
    eos_id: int | None = None
    special: tuple[int, ...] = ()
    sampleable: tuple[int, ...] = ()
    joiner: str = ""
    _index: dict = field(default=None, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        n = len(self.tokens)
        ids = {"mask_id": self.mask_id, "pad_id": self.pad_id, "bos_id": self.bos_id, "eos_id": self.eos_id}
        named = {k: v for k, v in ids.items() if v is not None}
        for key, value in named.items():
            if not 0 <= value < n:
                raise ValueError(f"vocab {self.name}: {key}={value} is outside 0..{n - 1}")
        if self.mask_id in {v for k, v in named.items() if k != "mask_id"}:
            raise ValueError(f"vocab {self.name}: the mask id collides with another special id: {named}")
        if len(set(self.tokens)) != n:
            raise ValueError(f"vocab {self.name}: duplicate tokens")
        # The mask is always special (never predicted). BOS/EOS/pad are special only when listed: GPT-2 style
        # vocabularies use one id for all three, and masked-diffusion LMs on text do predict EOS.
        special = set(self.special) | {self.mask_id}
        object.__setattr__(self, "special", tuple(sorted(special)))
        bad = set(self.sampleable) & special
        if bad:
            raise ValueError(f"vocab {self.name}: special ids {sorted(bad)} cannot be sampleable")
        if not self.sampleable:
            raise ValueError(f"vocab {self.name}: no sampleable ids")
        object.__setattr__(self, "sampleable", tuple(sorted(set(self.sampleable))))
        object.__setattr__(self, "_index", {tok: i for i, tok in enumerate(self.tokens)})

    @property
    def size(self) -> int:
        return len(self.tokens)

    def index(self, token: str) -> int:
        return self._index[token]

    def special_mask(self, device=None) -> torch.Tensor:
        """Bool[V], True at ids a denoiser must never predict (mask, pad, bos/eos, other specials)."""
        out = torch.zeros(self.size, dtype=torch.bool, device=device)
        out[list(self.special)] = True
        return out

    def sampleable_mask(self, device=None) -> torch.Tensor:
        """Bool[V], True at ids a sampler may emit."""
        out = torch.zeros(self.size, dtype=torch.bool, device=device)
        out[list(self.sampleable)] = True
        return out

    def sampleable_ids(self, device=None) -> torch.Tensor:
        """Long[S], the ids a sampler may emit, ascending."""
        return torch.tensor(sorted(self.sampleable), dtype=torch.long, device=device)

    def encode(self, tokens) -> list[int]:
        """Map an iterable of token strings to ids; raises KeyError naming the first unknown token."""
        out = []
        for tok in tokens:
            if tok not in self._index:
                raise KeyError(tok)
            out.append(self._index[tok])
        return out

    def decode(self, ids) -> str:
        return self.joiner.join(self.tokens[int(i)] for i in ids)

    def to_dict(self) -> dict:
        return {
            "name": self.name, "tokens": list(self.tokens), "mask_id": self.mask_id, "pad_id": self.pad_id,
            "bos_id": self.bos_id, "eos_id": self.eos_id, "special": list(self.special),
            "sampleable": list(self.sampleable), "joiner": self.joiner,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Vocab:
        expected = {"name", "tokens", "mask_id", "pad_id", "bos_id", "eos_id", "special", "sampleable", "joiner"}
        if set(data) != expected:
            raise ValueError(f"vocab JSON keys {sorted(data)} differ from {sorted(expected)}")
        return cls(
            name=data["name"], tokens=tuple(data["tokens"]), mask_id=data["mask_id"], pad_id=data["pad_id"],
            bos_id=data["bos_id"], eos_id=data["eos_id"], special=tuple(data["special"]),
            sampleable=tuple(data["sampleable"]), joiner=data["joiner"],
        )

    def fingerprint(self) -> str:
        """sha256 of the token table and special ids; sampleable ids are a sampling choice, not identity."""
        ident = {k: v for k, v in self.to_dict().items() if k != "sampleable"}
        return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        return cls.from_dict(read_json_object(path))
