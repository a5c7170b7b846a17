"""The MDLM DiT as a masked-diffusion denoiser. Text windows carry their own BOS/EOS, so there is no framing."""

from __future__ import annotations

import torch

from protdidi.denoiser import MaskedDenoiser
from protdidi.models.dit import Dit, DitConfig
from protdidi.schedule import LogLinearSchedule
from protdidi.vocab import Vocab


class DitDenoiser(MaskedDenoiser):
    """Wraps `Dit`. The network's time input is σ(t) = −log α(t) (MDLM's convention); with
    `time_conditioning: False` (the OWT checkpoint) the backbone zeroes it and t changes nothing."""

    arch_type, config_class = "dit", DitConfig

    def __init__(self, backbone: Dit, vocab: Vocab, schedule: LogLinearSchedule | None = None):
        super().__init__(vocab)
        if backbone.cfg.vocab_size != vocab.size:
            raise ValueError(f"backbone has {backbone.cfg.vocab_size} tokens, vocab {vocab.size}")
        self.backbone = backbone
        self.schedule = schedule or LogLinearSchedule()
        self.time_conditioned = backbone.cfg.time_conditioning

    @classmethod
    def from_config(cls, cfg: DitConfig, vocab: Vocab, schedule: LogLinearSchedule | None = None) -> DitDenoiser:
        return cls(Dit(cfg), vocab, schedule)

    @property
    def max_length(self) -> int:
        return self.backbone.cfg.max_length

    def sigma(self, t: torch.Tensor, batch: int, device) -> torch.Tensor:
        """σ(t) per sequence, Float[B]; `t` is a scalar or Float[B]."""
        t = torch.as_tensor(t, dtype=torch.float32, device=device)
        return self.schedule.sigma(t.expand(batch) if t.dim() == 0 else t)

    def logits(self, xt: torch.Tensor, t: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        return self.backbone(xt, self.sigma(t, xt.shape[0], xt.device), valid)

    def hidden(self, xt: torch.Tensor, t: torch.Tensor, valid: torch.Tensor | None = None,
               soft: torch.Tensor | None = None) -> torch.Tensor:
        if soft is not None and valid is not None:
            hard = torch.nn.functional.one_hot(xt, self.vocab.size).to(soft.dtype)
            soft = torch.where(valid[..., None], soft, hard)
        return self.backbone.hidden(xt, self.sigma(t, xt.shape[0], xt.device), valid, soft)[0]

    @property
    def hidden_dim(self) -> int:
        return self.backbone.cfg.hidden_size

    def blocks(self) -> list[torch.nn.Module]:
        return list(self.backbone.blocks)
