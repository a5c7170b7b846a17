import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from protdidi.adapters.esm_denoiser import EsmDenoiser
from protdidi.domains.protein.alphabet import protein_vocab
from protdidi.models.esm2 import Esm2Config


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test (and every CLI it starts) gets its own reference-row cache, never the user's."""
    monkeypatch.setenv("PROTDIDI_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def vocab():
    return protein_vocab()


# The shipped protein models use neither dropout nor ESM-2's token dropout; every real fair-esm / HF ESM-2 / DPLM
# checkpoint loads with token_dropout=True, and the text DiT trains with dropout 0.1. Method and sampler tests run
# over both, so that a mode or token-dropout bug cannot hide behind the plain fixture.
DENOISER_VARIANTS = {"plain": {}, "dropout-tokendrop": {"dropout": 0.1, "token_dropout": True}}


def make_tiny_denoiser(vocab, variant: str = "plain") -> EsmDenoiser:
    torch.manual_seed(0)
    cfg = Esm2Config(num_layers=2, embed_dim=32, attention_heads=4, max_length=64, **DENOISER_VARIANTS[variant])
    return EsmDenoiser.from_config(cfg, vocab).eval()


@pytest.fixture
def tiny_denoiser(vocab):
    return make_tiny_denoiser(vocab)


@pytest.fixture(params=sorted(DENOISER_VARIANTS))
def any_denoiser(vocab, request):
    """The tiny denoiser in each variant (no dropout; dropout 0.1 with token_dropout=True)."""
    return make_tiny_denoiser(vocab, request.param)


@pytest.fixture
def toy_fasta(tmp_path):
    """120 short random-but-structured proteins (repeated motifs), enough for a split and a few steps."""
    g = torch.Generator().manual_seed(0)
    residues = "ACDEFGHIKLMNPQRSTVWY"
    lines = []
    for i in range(120):
        n = int(torch.randint(12, 40, (), generator=g))
        motif = "".join(residues[int(j)] for j in torch.randint(0, 20, (4,), generator=g))
        lines += [f">toy{i}", (motif * 20)[:n]]
    path = tmp_path / "toy.fasta"
    path.write_text("\n".join(lines) + "\n")
    return path
