"""Rotary position embedding shared by the ESM-2 and DiT backbones (rotate-half convention, q and k in one pass)."""

from __future__ import annotations

import torch
from torch import nn


class Rotary(nn.Module):
    """Rotary position embedding (non-interleaved halves), with a cos/sin table cached per length."""

    def __init__(self, head_dim: int):
        super().__init__()
        inv_freq = 1.0 / (10000 ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self._cache: tuple[int, torch.device, torch.Tensor, torch.Tensor] | None = None

    def tables(self, length: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """cos and *signed* sin tables [length, head_dim]: x·cos + swap_halves(x)·sin_signed is the rotation
        (sin_signed = (−sin, sin) on the two halves, i.e. the sign of rotate_half folded into the table)."""
        if self._cache is None or self._cache[0] < length or self._cache[1] != device:
            pos = torch.arange(max(length, 64), device=device, dtype=torch.float32)
            freqs = torch.outer(pos, self.inv_freq.to(device))
            emb = torch.cat((freqs, freqs), dim=-1)
            sin = emb.sin()
            half = sin.shape[-1] // 2
            self._cache = (pos.numel(), device, emb.cos(), torch.cat((-sin[:, :half], sin[:, half:]), dim=-1))
        return self._cache[2][:length], self._cache[3][:length]

    def forward(self, qk: torch.Tensor) -> torch.Tensor:
        """Rotate queries and keys together: qk is [..., length, head_dim] (e.g. q and k stacked in front).

        x·cos, then each half gets the other half times its signed sine added in place: the same arithmetic, bit
        for bit, as adding the half-swapped copy of x, without materialising that copy (one pass over q and k
        fewer; autograd-safe, since the product's backward needs its inputs, not its output)."""
        cos, sin = self.tables(qk.shape[-2], qk.device)
        cos, sin = cos.to(qk.dtype), sin.to(qk.dtype)
        half = qk.shape[-1] // 2
        out = qk * cos
        out[..., :half].addcmul_(qk[..., half:], sin[:, :half])
        out[..., half:].addcmul_(qk[..., :half], sin[:, half:])
        return out


def check_heads(width: int, heads: int) -> None:
    """Attention width must split into heads of even size (rotary rotates pairs)."""
    if width % heads:
        raise ValueError(f"width {width} is not a multiple of the head count {heads}")
    if (width // heads) % 2:
        raise ValueError("rotary embeddings need an even head dimension")
