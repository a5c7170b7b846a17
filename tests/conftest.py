import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from fixtures import write_toy_fasta

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
    return write_toy_fasta(tmp_path / "toy.fasta")
