"""ESM-2-shaped masked LM as a (time-agnostic) masked-diffusion denoiser over body tokens."""

from __future__ import annotations

import torch

from protdidi.denoiser import MaskedDenoiser
from protdidi.models.esm2 import Esm2, Esm2Config
from protdidi.vocab import Vocab


def frame(xt: torch.Tensor, valid: torch.Tensor | None, vocab: Vocab) -> torch.Tensor:
    """Body tokens Long[B, L] → `<cls> body <eos> <pad>…` Long[B, L+2] (EOS right after each body)."""
    b, n = xt.shape
    lengths = torch.full((b,), n, device=xt.device) if valid is None else valid.sum(-1)
    framed = torch.full((b, n + 2), vocab.pad_id, dtype=torch.long, device=xt.device)
    framed[:, 0] = vocab.bos_id
    framed[:, 1:n + 1] = xt if valid is None else torch.where(valid, xt, vocab.pad_id)
    framed[torch.arange(b, device=xt.device), lengths + 1] = vocab.eos_id
    return framed


class EsmDenoiser(MaskedDenoiser):
    """Wraps `Esm2`: adds/removes BOS/EOS framing so the core only sees body tokens. Ignores t."""

    time_conditioned = False
    arch_type, config_class = "esm2", Esm2Config

    def __init__(self, backbone: Esm2, vocab: Vocab):
        super().__init__(vocab)
        if backbone.cfg.vocab_size != vocab.size:
            raise ValueError(f"backbone has {backbone.cfg.vocab_size} tokens, vocab {vocab.size}")
        self.backbone = backbone

    @classmethod
    def from_config(cls, cfg: Esm2Config, vocab: Vocab, schedule=None) -> EsmDenoiser:
        """A fresh model; `schedule` is accepted for a uniform signature and unused (the network ignores t)."""
        return cls(Esm2(cfg), vocab)

    @property
    def max_length(self) -> int:
        return self.backbone.cfg.max_length

    def logits(self, xt: torch.Tensor, t: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        return self.backbone(frame(xt, valid, self.vocab))[:, 1:-1]

    def hidden(self, xt: torch.Tensor, t: torch.Tensor, valid: torch.Tensor | None = None,
               soft: torch.Tensor | None = None) -> torch.Tensor:
        """Final hidden states at body positions, Float[B, L, D]; `soft` Float[B, L, V] gives soft body tokens."""
        tokens = frame(xt, valid, self.vocab)
        if soft is not None:
            framed = torch.nn.functional.one_hot(tokens, self.vocab.size).to(soft.dtype)
            body = soft if valid is None else torch.where(valid[..., None], soft, framed[:, 1:-1])
            soft = torch.cat([framed[:, :1], body, framed[:, -1:]], dim=1)
        return self.backbone.hidden(tokens, soft)[:, 1:-1]

    @property
    def hidden_dim(self) -> int:
        return self.backbone.cfg.embed_dim

    def blocks(self) -> list[torch.nn.Module]:
        return list(self.backbone.layers)
