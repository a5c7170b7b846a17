"""DiDi-Instruct's discriminator: the teacher's trunk, last k blocks trainable, a time-conditioned per-token head.

D(z_τ, τ) gives one logit per position: the log-odds that the (partly masked) sequence around that position
came from the real side rather than from the student. Inputs may be token ids or probability vectors
(soft tokens, for the reward-guided sampler's gradient tilting).
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from protdidi.denoiser import MaskedDenoiser
from protdidi.errors import CheckpointError, UserError
from protdidi.weights import check_finite


class TimeEmbedding(nn.Module):
    """Sinusoidal features of t ∈ [0, 1] → MLP → Float[B, D]. The last layer starts at zero, so a fresh
    discriminator begins as the time-agnostic trunk and learns how much τ matters."""

    def __init__(self, dim: int, freqs: int = 64):
        super().__init__()
        self.freqs = freqs
        self.mlp = nn.Sequential(nn.Linear(2 * freqs, dim), nn.SiLU(), nn.Linear(dim, dim))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        scale = torch.exp(-math.log(1e4) * torch.arange(self.freqs, device=t.device, dtype=torch.float32)
                          / self.freqs)
        angles = 1000.0 * t.float()[:, None] * scale[None, :]
        return self.mlp(torch.cat([angles.sin(), angles.cos()], dim=-1))


class TokenHead(nn.Module):
    """Spectral-norm Linear(D, D) → SiLU → spectral-norm Linear(D, 1): one logit per position."""

    def __init__(self, dim: int):
        super().__init__()
        self.fc1 = spectral_norm(nn.Linear(dim, dim))
        self.fc2 = spectral_norm(nn.Linear(dim, 1))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.nn.functional.silu(self.fc1(h))).squeeze(-1)


class Discriminator(nn.Module):
    """A frozen copy of `teacher` with its last `unfrozen_blocks` blocks trainable, plus time embedding and head.

    Only the trainable part is saved (`trainable_state`): the frozen rest is the teacher's own weights,
    which a checkpoint references instead of copying.
    """

    def __init__(self, teacher: MaskedDenoiser, unfrozen_blocks: int = 4):
        super().__init__()
        blocks = teacher.blocks()
        if not 1 <= unfrozen_blocks <= len(blocks):
            raise UserError(f"the discriminator's unfrozen blocks (disc_unfrozen_blocks) must be in 1..{len(blocks)}, "
                            f"the teacher's block count (got {unfrozen_blocks})")
        self.trunk = copy.deepcopy(teacher)
        self.trunk.requires_grad_(False)
        self.unfrozen_blocks = unfrozen_blocks
        for block in self.trunk.blocks()[-unfrozen_blocks:]:
            block.requires_grad_(True)
        dim = teacher.hidden_dim
        self.time_embed = TimeEmbedding(dim)
        self.head = TokenHead(dim)

    @property
    def vocab(self):
        return self.trunk.vocab

    def forward(self, zt: torch.Tensor, t: torch.Tensor, valid: torch.Tensor | None = None,
                soft: torch.Tensor | None = None) -> torch.Tensor:
        """Logits Float[B, L]. zt: Long[B, L] ids (masked positions hold the mask id); t: Float[B];
        soft: optional Float[B, L, V] probabilities used instead of the ids' embeddings."""
        h = self.trunk.hidden(zt, t, valid, soft).float()  # a trunk in bf16 (`--precision`) feeds the fp32 head
        return self.head(h + self.time_embed(t)[:, None, :])

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """Trainable parameters and the head's buffers (spectral-norm power-iteration vectors)."""
        keep = {n for n, p in self.named_parameters() if p.requires_grad}
        keep |= {n for n, _ in self.named_buffers() if not n.startswith("trunk.")}
        return {k: v.detach().clone().contiguous() for k, v in self.state_dict().items() if k in keep}

    def load_trainable_state(self, state: dict[str, torch.Tensor], source: str = "discriminator") -> None:
        expected = set(self.trainable_state())
        missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
        if missing or unexpected:
            raise CheckpointError(f"{source}: discriminator weights do not fit (missing {missing[:3]}, "
                                  f"unexpected {unexpected[:3]})")
        own = self.state_dict()
        bad = [k for k in state if own[k].shape != state[k].shape]
        if bad:
            raise CheckpointError(f"{source}: discriminator shape mismatch at {bad[:3]}")
        check_finite(state, source)
        self.load_state_dict(state, strict=False)
