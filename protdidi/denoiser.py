"""The denoiser interface, the SUBS parameterisation and the MDLM continuous-time NELBO.

Every network the methods touch (teacher, student, IDLM's fake model) is a `MaskedDenoiser`: it maps
noisy body tokens x_t (no BOS/EOS framing, which adapters add) to log p(x0 | x_t) with SUBS applied.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from protdidi.schedule import LogLinearSchedule, add_noise, antithetic_times
from protdidi.vocab import Vocab


def subs(logits: torch.Tensor, xt: torch.Tensor, vocab: Vocab) -> torch.Tensor:
    """SUBS: forbid special ids (the mask included), normalise, and carry unmasked tokens over.

    logits: Float[B, L, V] raw scores; xt: Long[B, L]. Returns log-probs Float[B, L, V]; at positions
    where x_t is not the mask the row is log one-hot on x_t (0 there, −inf elsewhere).
    """
    forbidden = vocab.special_mask(logits.device)
    logits = logits.masked_fill(forbidden, float("-inf"))
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    unmasked = xt != vocab.mask_id
    carry = torch.full_like(log_probs, float("-inf"))
    carry.scatter_(-1, xt.unsqueeze(-1), 0.0)
    return torch.where(unmasked.unsqueeze(-1), carry, log_probs)


class MaskedDenoiser(nn.Module):
    """Base class: subclasses implement `logits(xt, t, valid)`; `forward` applies SUBS.

    `time_conditioned` says whether `t` changes the output (ESM/DPLM/MDLM-OWT teachers ignore it).
    """

    time_conditioned: bool = False

    def __init__(self, vocab: Vocab):
        super().__init__()
        self.vocab = vocab

    def logits(self, xt: torch.Tensor, t: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, xt: torch.Tensor, t: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        return subs(self.logits(xt, t, valid), xt, self.vocab)

    # The seams distillation needs (DiDi-Instruct's discriminator is a copy of the teacher's trunk):
    def hidden(self, xt: torch.Tensor, t: torch.Tensor, valid: torch.Tensor | None = None,
               soft: torch.Tensor | None = None) -> torch.Tensor:
        """Final hidden states Float[B, L, D] at body positions. `soft` (Float[B, L, V] probabilities)
        replaces the token lookup by probs @ embedding wherever it is given."""
        raise NotImplementedError

    @property
    def hidden_dim(self) -> int:
        raise NotImplementedError

    def blocks(self) -> list[nn.Module]:
        """The trunk's transformer blocks, input side first (the last k are unfrozen in a discriminator)."""
        raise NotImplementedError


@dataclass
class NelboTerms:
    """Summed NELBO (nats) and the number of scored tokens; per-token NELBO = total / tokens."""

    total: torch.Tensor
    tokens: torch.Tensor

    @property
    def per_token(self) -> torch.Tensor:
        return self.total / self.tokens.clamp_min(1)


def nelbo(
    denoiser: MaskedDenoiser,
    x0: torch.Tensor,
    valid: torch.Tensor,
    schedule: LogLinearSchedule,
    generator: torch.Generator | None = None,
    t: torch.Tensor | None = None,
) -> NelboTerms:
    """One Monte-Carlo draw of MDLM's continuous-time NELBO for a batch.

    For each sequence, t ~ antithetic U[1e-3, 1] (unless given), x_t ~ q(x_t|x0), and the loss is
    Σ_masked −log p(x0|x_t) · (−α'(t)/(1−α(t))). Its expectation over t upper-bounds −log p(x0).
    x0: Long[B, L] body tokens; valid: Bool[B, L].
    """
    if t is None:
        t = antithetic_times(x0.shape[0], generator, device=x0.device)
    xt = add_noise(x0, schedule.alpha(t), denoiser.vocab.mask_id, generator, valid)
    log_probs = denoiser(xt, t, valid)
    masked = (xt == denoiser.vocab.mask_id) & valid
    logp_x0 = log_probs.gather(-1, x0.unsqueeze(-1)).squeeze(-1)
    logp_x0 = torch.where(masked, logp_x0, torch.zeros_like(logp_x0))
    weight = schedule.loss_weight(t).to(logp_x0.dtype)[:, None]
    total = -(logp_x0 * weight).sum()
    return NelboTerms(total=total, tokens=valid.sum())


def nelbo_by_mask_count(
    denoiser: MaskedDenoiser,
    x0: torch.Tensor,
    valid: torch.Tensor,
    generator: torch.Generator | None = None,
) -> NelboTerms:
    """One Monte-Carlo draw of the same NELBO as `nelbo`, for a denoiser that ignores t, with far less variance.

    Under the log-linear schedule a length-L sequence's continuous-time NELBO equals
    Σ_{m=1..L} E_{|S|=m}[mean_{i∈S} −log p(x0_i | x0 with S masked)], because
    ∫₀¹ (1/t)·C(L,m)·t^m·(1−t)^(L−m) dt = 1/m. So L × (mean cross-entropy over a uniformly random set of m masked
    positions, m ~ U{1..L}) is unbiased, and no 1/t weight blows up at small t. The m of a batch are
    low-discrepancy (one shared offset, as in MDLM's antithetic t). It integrates t over [0, 1]; `nelbo` draws
    t from [1e-3, 1], which differs by O(1e-3·cross-entropy). Only valid when t does not change the output.
    """
    if denoiser.time_conditioned:
        raise ValueError("nelbo_by_mask_count needs a denoiser that ignores t; use nelbo")
    lengths = valid.sum(-1)
    u = antithetic_times(x0.shape[0], generator, t_min=0.0, device=x0.device)
    count = (1 + (u * lengths).floor().long()).clamp(max=lengths.clamp_min(1))
    keys = torch.rand(x0.shape, generator=generator, device=x0.device).masked_fill(~valid, 2.0)
    rank = keys.argsort(-1).argsort(-1)
    masked = (rank < count[:, None]) & valid
    xt = torch.where(masked, torch.full_like(x0, denoiser.vocab.mask_id), x0)
    log_probs = denoiser(xt, count / lengths.clamp_min(1), valid)
    logp_x0 = log_probs.gather(-1, x0.unsqueeze(-1)).squeeze(-1)
    ce = -torch.where(masked, logp_x0, torch.zeros_like(logp_x0)).sum(-1) / count
    total = (ce * lengths).sum()  # an empty row masks nothing: ce = 0
    return NelboTerms(total=total, tokens=valid.sum())
