"""An ESM-2-shaped bidirectional transformer (pre-LN, rotary, tied LM head) on `scaled_dot_product_attention`.

Parameter names follow fair-esm's `ESM2` so that its checkpoints map one to one; the HF layout is mapped
in `protdidi.adapters.esm_weights`. Written here from the architecture description, not copied.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from protdidi.models.rotary import Rotary, check_heads


@dataclass
class Esm2Config:
    num_layers: int = 6
    embed_dim: int = 320
    attention_heads: int = 20
    vocab_size: int = 33
    padding_idx: int = 1
    mask_idx: int = 32
    token_dropout: bool = False  # ESM-2's mask-ratio rescaling of embeddings; on for ESM-2 weights
    layer_norm_eps: float = 1e-5
    dropout: float = 0.0  # residual dropout, training only (ESM-2 itself uses none)
    max_length: int = 1024  # longest body (without BOS/EOS) the model accepts

    def __post_init__(self) -> None:
        check_heads(self.embed_dim, self.attention_heads)

    def to_dict(self) -> dict:
        return asdict(self)


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)
        self.rot_emb = Rotary(self.head_dim)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None) -> torch.Tensor:
        b, n, d = x.shape
        # One fused projection (weights concatenated on the fly; cheap next to the matmul) instead of three.
        weight = torch.cat((self.q_proj.weight * self.head_dim**-0.5, self.k_proj.weight, self.v_proj.weight))
        bias = torch.cat((self.q_proj.bias * self.head_dim**-0.5, self.k_proj.bias, self.v_proj.bias))
        qkv = F.linear(x, weight, bias).view(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        # ESM scales q before the rotation (folded into the weights above); SDPA's own scale is then 1.
        q, k = self.rot_emb(qkv[:2])  # one pass over q and k
        out = F.scaled_dot_product_attention(q, k, qkv[2], attn_mask=attn_mask, scale=1.0)
        return self.out_proj(out.transpose(1, 2).reshape(b, n, d))


class TransformerLayer(nn.Module):
    def __init__(self, cfg: Esm2Config):
        super().__init__()
        d = cfg.embed_dim
        self.self_attn_layer_norm = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.self_attn = SelfAttention(d, cfg.attention_heads)
        self.final_layer_norm = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.fc1 = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None) -> torch.Tensor:
        x = x + self.dropout(self.self_attn(self.self_attn_layer_norm(x), attn_mask))
        return x + self.dropout(self.fc2(F.gelu(self.fc1(self.final_layer_norm(x)))))


class LMHead(nn.Module):
    """dense → GELU → LayerNorm → projection tied to the token embedding, plus a bias."""

    def __init__(self, cfg: Esm2Config, weight: nn.Parameter):
        super().__init__()
        self.dense = nn.Linear(cfg.embed_dim, cfg.embed_dim)
        self.layer_norm = nn.LayerNorm(cfg.embed_dim, eps=cfg.layer_norm_eps)
        self.weight = weight
        self.bias = nn.Parameter(torch.zeros(cfg.vocab_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(self.layer_norm(F.gelu(self.dense(x))), self.weight) + self.bias


class Esm2(nn.Module):
    """ESM-2 over framed tokens (`<cls> … <eos> <pad>…`). forward(tokens) → logits Float[B, T, V]."""

    def __init__(self, cfg: Esm2Config):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.embed_dim, padding_idx=cfg.padding_idx)
        self.layers = nn.ModuleList(TransformerLayer(cfg) for _ in range(cfg.num_layers))
        self.emb_layer_norm_after = nn.LayerNorm(cfg.embed_dim, eps=cfg.layer_norm_eps)
        self.lm_head = LMHead(cfg, self.embed_tokens.weight)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """BERT-style init: N(0, 0.02) weights, zero biases; residual projections scaled by depth."""
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * self.cfg.num_layers) if name.endswith(("out_proj.weight", "fc2.weight")) \
                    else 0.02
                nn.init.normal_(p, std=std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def embed(self, tokens: torch.Tensor, soft: torch.Tensor | None = None) -> torch.Tensor:
        """Token embeddings; `soft` (Float[B, T, V] probabilities) replaces the lookup by probs @ E.

        With `token_dropout` (ESM-2's weights) the mask token embeds as 0 and every embedding is scaled by
        (1 − 0.15·0.8)/(1 − fraction of masks among the non-pad tokens). A soft input gets the expectation of
        that rule: the mask id counts with its probability, both in the embedding and in the fraction. A one-hot
        input therefore embeds exactly as its ids, and a distribution over residues at a masked position (the
        reward-guided sampler's soft tokens) keeps its embedding instead of being zeroed with the mask id."""
        pad = tokens.eq(self.cfg.padding_idx)
        weight = self.embed_tokens.weight
        x = self.embed_tokens(tokens) if soft is None else soft.to(weight.dtype) @ weight
        if self.cfg.token_dropout:
            if soft is None:
                is_mask = tokens.eq(self.cfg.mask_idx)
                x = x.masked_fill(is_mask.unsqueeze(-1), 0.0)
                mask_prob = is_mask.to(x.dtype)
            else:
                mask_prob = soft[..., self.cfg.mask_idx].to(x.dtype)
                x = x - mask_prob.unsqueeze(-1) * weight[self.cfg.mask_idx]
            observed = (mask_prob * ~pad).sum(-1) / (~pad).sum(-1).to(x.dtype)
            x = x * (1 - 0.15 * 0.8) / (1 - observed)[:, None, None]
        return x * (~pad).unsqueeze(-1).to(x.dtype)

    def hidden(self, tokens: torch.Tensor, soft: torch.Tensor | None = None) -> torch.Tensor:
        """Final hidden states Float[B, T, D] (after the last layer norm)."""
        pad = tokens.eq(self.cfg.padding_idx)
        # Bool mask broadcast over heads and queries: True = may attend. None when nothing is padded,
        # which lets SDPA pick its fastest kernel.
        attn_mask = (~pad)[:, None, None, :] if bool(pad.any()) else None
        x = self.embed(tokens, soft)
        for layer in self.layers:
            x = layer(x, attn_mask)
        return self.emb_layer_norm_after(x)

    def forward(self, tokens: torch.Tensor, soft: torch.Tensor | None = None) -> torch.Tensor:
        return self.lm_head(self.hidden(tokens, soft))

    def flops_per_token(self, length: int) -> float:
        """Forward FLOPs per token at sequence length `length` (matmuls and attention, 2 per MAC)."""
        d, n_layers, v = self.cfg.embed_dim, self.cfg.num_layers, self.cfg.vocab_size
        per_layer = 2 * (4 * d * d + 8 * d * d) + 2 * 2 * length * d
        return n_layers * per_layer + 2 * (d * d + d * v)
