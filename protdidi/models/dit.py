"""The MDLM/DUO "DiT" text backbone: adaLN-conditioned pre-LN blocks, rotary attention, untied output layer.

Module and parameter names (and their registration order) follow the public MDLM `DIT` so that its
Lightning checkpoints (`backbone.*`, EMA shadow lists in parameter order) and the HF `kuleshov-group/mdlm-owt`
safetensors load unchanged; see `protdidi.adapters.mdlm_weights`. Written here from the architecture
description (spec §1.2), not copied. Runs in fp32 (the reference autocasts the blocks to bf16 on GPU).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from protdidi.models.rotary import Rotary, check_heads


@dataclass
class DitConfig:
    vocab_size: int = 50258
    hidden_size: int = 768
    n_heads: int = 12
    n_blocks: int = 12
    cond_dim: int = 128
    mlp_ratio: int = 4
    dropout: float = 0.1
    max_length: int = 1024
    time_conditioning: bool = False  # MDLM-OWT: False, σ is zeroed before the network sees it

    def __post_init__(self) -> None:
        check_heads(self.hidden_size, self.n_heads)

    def to_dict(self) -> dict:
        return asdict(self)


class ScaleOnlyLayerNorm(nn.Module):
    """LayerNorm without bias (computed in fp32), as in the reference."""

    def __init__(self, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x.float(), (x.shape[-1],)) * self.weight


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN: x·(1 + scale) + shift, with per-sequence shift/scale Float[B, D]."""
    return torch.addcmul(shift[:, None], x, 1 + scale[:, None])


class TokenEmbedding(nn.Module):
    """A [V, D] table; integer ids look rows up, probability vectors Float[B, L, V] give probs @ table."""

    def __init__(self, vocab_size: int, dim: int):
        super().__init__()
        self.embedding = nn.Parameter(torch.empty(vocab_size, dim))
        nn.init.kaiming_uniform_(self.embedding, a=math.sqrt(5))

    def forward(self, ids: torch.Tensor, soft: torch.Tensor | None = None) -> torch.Tensor:
        if soft is None:
            return self.embedding[ids]
        return soft.to(self.embedding.dtype) @ self.embedding


class SigmaEmbedding(nn.Module):
    """Sinusoidal features (cos first, 256 of them) of σ → Linear → SiLU → Linear."""

    def __init__(self, cond_dim: int, freq_dim: int = 256):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, cond_dim), nn.SiLU(), nn.Linear(cond_dim, cond_dim))

    def forward(self, sigma: torch.Tensor) -> torch.Tensor:
        half = self.freq_dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=sigma.device, dtype=torch.float32) / half)
        args = sigma.float()[:, None] * freqs[None]
        return self.mlp(torch.cat((args.cos(), args.sin()), dim=-1))


class DitBlock(nn.Module):
    # Registration order matters: MDLM's EMA checkpoints list parameters in this order.
    def __init__(self, cfg: DitConfig):
        super().__init__()
        d = cfg.hidden_size
        self.heads = cfg.n_heads
        self.norm1 = ScaleOnlyLayerNorm(d)
        self.attn_qkv = nn.Linear(d, 3 * d, bias=False)
        self.attn_out = nn.Linear(d, d, bias=False)
        self.norm2 = ScaleOnlyLayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, cfg.mlp_ratio * d), nn.GELU(approximate="tanh"),
                                 nn.Linear(cfg.mlp_ratio * d, d))
        self.adaLN_modulation = nn.Linear(cfg.cond_dim, 6 * d)
        self.dropout = nn.Dropout(cfg.dropout)
        self.rotary = Rotary(d // cfg.n_heads)

    def forward(self, x: torch.Tensor, c: torch.Tensor, attn_mask: torch.Tensor | None) -> torch.Tensor:
        b, n, d = x.shape
        shift1, scale1, gate1, shift2, scale2, gate2 = self.adaLN_modulation(c).chunk(6, dim=-1)
        qkv = self.attn_qkv(modulate(self.norm1(x), shift1, scale1))
        qkv = qkv.view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k = self.rotary(qkv[:2])
        att = F.scaled_dot_product_attention(q, k, qkv[2], attn_mask=attn_mask)
        att = self.attn_out(att.transpose(1, 2).reshape(b, n, d))
        x = x + gate1[:, None] * self.dropout(att)
        h = self.mlp(modulate(self.norm2(x), shift2, scale2))
        return x + gate2[:, None] * self.dropout(h)


class DitOutput(nn.Module):
    def __init__(self, cfg: DitConfig):
        super().__init__()
        self.norm_final = ScaleOnlyLayerNorm(cfg.hidden_size)
        self.linear = nn.Linear(cfg.hidden_size, cfg.vocab_size)
        self.adaLN_modulation = nn.Linear(cfg.cond_dim, 2 * cfg.hidden_size)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=-1)
        return self.linear(modulate(self.norm_final(x), shift, scale))


class Dit(nn.Module):
    """forward(ids, sigma, valid=None, soft=None) → logits Float[B, L, V]; `hidden` gives the last block's output."""

    def __init__(self, cfg: DitConfig):
        super().__init__()
        self.cfg = cfg
        self.vocab_embed = TokenEmbedding(cfg.vocab_size, cfg.hidden_size)
        self.sigma_map = SigmaEmbedding(cfg.cond_dim)
        self.blocks = nn.ModuleList(DitBlock(cfg) for _ in range(cfg.n_blocks))
        self.output_layer = DitOutput(cfg)
        for module in [*(blk.adaLN_modulation for blk in self.blocks), self.output_layer.adaLN_modulation,
                       self.output_layer.linear]:  # adaLN-zero and a zero output layer, as in the reference
            nn.init.zeros_(module.weight)
            nn.init.zeros_(module.bias)

    def condition(self, sigma: torch.Tensor) -> torch.Tensor:
        if not self.cfg.time_conditioning:
            sigma = torch.zeros_like(sigma)
        return F.silu(self.sigma_map(sigma))

    def hidden(self, ids: torch.Tensor, sigma: torch.Tensor, valid: torch.Tensor | None = None,
               soft: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(last block output Float[B, L, D], conditioning Float[B, C]). Padding (valid False) is never attended."""
        x = self.vocab_embed(ids, soft)
        c = self.condition(sigma)
        attn_mask = None if valid is None or bool(valid.all()) else valid[:, None, None, :]
        for block in self.blocks:
            x = block(x, c, attn_mask)
        return x, c

    def forward(self, ids: torch.Tensor, sigma: torch.Tensor, valid: torch.Tensor | None = None,
                soft: torch.Tensor | None = None) -> torch.Tensor:
        x, c = self.hidden(ids, sigma, valid, soft)
        return self.output_layer(x, c)
