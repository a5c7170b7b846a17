import itertools
import math

import pytest
import torch

from protdidi.checkpoint import read_vocab, save_checkpoint
from protdidi.config import apply_overrides, from_dict, load_config
from protdidi.denoiser import nelbo, nelbo_by_mask_count, subs
from protdidi.domains.protein.teacher import TeacherRunConfig
from protdidi.errors import CheckpointError, ConfigError
from protdidi.schedule import LogLinearSchedule
from protdidi.vocab import Vocab
from protdidi.weights import load_weights


def test_subs_forbids_specials_and_carries_over(vocab):
    logits = torch.randn(2, 5, vocab.size)
    xt = torch.tensor([[32, 5, 32, 9, 24], [32, 32, 32, 32, 32]])
    lp = subs(logits, xt, vocab)
    masked = xt == vocab.mask_id
    assert torch.isneginf(lp[..., list(vocab.special)][masked]).all()
    assert torch.allclose(lp[masked].exp().sum(-1), torch.ones(int(masked.sum())))
    assert (lp[~masked].argmax(-1) == xt[~masked]).all()
    assert (lp[~masked].exp().sum(-1) == 1).all()


def test_nelbo_matches_hand_computation(tiny_denoiser, vocab):
    """With t fixed, the NELBO is Σ_masked −log p(x0|x_t) / t over the masked positions, per valid token."""
    x0 = torch.tensor([[5, 6, 7, 8, 9, 10], [11, 12, 13, 1, 1, 1]])
    valid = x0 != vocab.pad_id
    t = torch.tensor([0.5, 0.9])
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    terms = nelbo(tiny_denoiser, x0, valid, LogLinearSchedule(), g1, t=t)
    from protdidi.schedule import add_noise

    xt = add_noise(x0, LogLinearSchedule().alpha(t), vocab.mask_id, g2, valid)
    with torch.no_grad():
        lp = tiny_denoiser(xt, t, valid)
    masked = (xt == vocab.mask_id) & valid
    expected = sum(-lp[b, i, x0[b, i]] / t[b] for b, i in masked.nonzero().tolist())
    assert int(terms.tokens) == 9
    assert torch.allclose(terms.total, torch.as_tensor(expected, dtype=torch.float32), rtol=1e-5)


def _enumerated_nelbo(denoiser, seq: torch.Tensor, mask_id: int) -> float:
    """Exact continuous-time NELBO (t over [0, 1]) of one sequence under a t-free denoiser, by enumerating every
    masked set S: Σ_m 1/C(L, m) Σ_{|S|=m} (1/m) Σ_{i∈S} −log p(x0_i | x0 with S masked)."""
    n = len(seq)
    total = 0.0
    for m in range(1, n + 1):
        for subset in itertools.combinations(range(n), m):
            xt = seq.clone()
            xt[list(subset)] = mask_id
            with torch.no_grad():
                lp = denoiser(xt[None], torch.tensor([0.5]))[0]
            total += sum(-float(lp[i, seq[i]]) for i in subset) / m / math.comb(n, m)
    return total


def test_mask_count_estimator_is_unbiased_and_lower_variance(tiny_denoiser, vocab):
    """Both NELBO estimators average to the enumerated value; the mask-count one with far less spread."""
    x0 = torch.tensor([[5, 9, 13, 17], [6, 10, 14, vocab.pad_id]])
    valid = x0 != vocab.pad_id
    exact = sum(_enumerated_nelbo(tiny_denoiser, x0[b, valid[b]], vocab.mask_id) for b in range(2)) / 7
    xs, vs = x0.repeat(64, 1), valid.repeat(64, 1)  # 64 copies of the pair: one draw = 128 sequence draws
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        by_count = torch.tensor([float(nelbo_by_mask_count(tiny_denoiser, xs, vs, g).per_token)
                                 for _ in range(60)])
        by_t = torch.tensor([float(nelbo(tiny_denoiser, xs, vs, LogLinearSchedule(), g).per_token)
                             for _ in range(60)])
    # `nelbo` integrates t over [1e-3, 1] with α(1) = 1e-3: within ~3e-3 of the [0, 1] integral here.
    for draws, slack in ((by_count, 0.0), (by_t, 3e-3)):
        assert abs(float(draws.mean()) - exact) < 4 * float(draws.std()) / math.sqrt(len(draws)) + slack
    assert float(by_count.std()) < 0.5 * float(by_t.std())
    tiny_denoiser.time_conditioned = True
    with pytest.raises(ValueError, match="ignores t"):
        nelbo_by_mask_count(tiny_denoiser, x0, valid, g)


def test_checkpoint_round_trip_and_errors(tmp_path, tiny_denoiser, vocab):
    path = save_checkpoint(tmp_path / "ck", {"kind": "test"}, vocab, {"model": tiny_denoiser})
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors", "vocab.json"]
    clone = type(tiny_denoiser).from_config(tiny_denoiser.backbone.cfg, vocab)
    load_weights(clone, path)
    x = torch.full((1, 4), 32)
    assert torch.equal(clone(x, torch.ones(1)), tiny_denoiser(x, torch.ones(1)))
    # Overwriting is atomic and leaves no temporary directories behind.
    save_checkpoint(tmp_path / "ck", {"kind": "test"}, vocab, {"model": tiny_denoiser})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]
    other = Vocab(name="abc", tokens=("a", "b", "<m>", "<p>"), mask_id=2, pad_id=3, sampleable=(0, 1))
    with pytest.raises(CheckpointError, match="does not match"):
        read_vocab(path, expected=other)
    weights = path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="truncated"):
        load_weights(clone, path)
    weights.unlink()
    with pytest.raises(CheckpointError, match="missing"):
        load_weights(clone, path)


def test_config_is_strict(tmp_path):
    cfg = from_dict(TeacherRunConfig, {"train": {"lr": 1}, "model": {"embed_dim": 96}})
    assert cfg.train.lr == 1.0 and cfg.model.embed_dim == 96 and cfg.model.num_layers == 6
    with pytest.raises(ConfigError, match=r"unknown config key: train\.lrr"):
        from_dict(TeacherRunConfig, {"train": {"lrr": 1}})
    with pytest.raises(ConfigError, match=r"train\.steps: expected int"):
        from_dict(TeacherRunConfig, {"train": {"steps": "many"}})
    assert apply_overrides({"a": {"b": 1}}, ["a.c=2.5", "d=x"]) == {"a": {"b": 1, "c": 2.5}, "d": "x"}
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  steps: 5\nbogus: 1\n")
    with pytest.raises(ConfigError, match="bogus"):
        load_config(TeacherRunConfig, path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(TeacherRunConfig, tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        load_config(TeacherRunConfig, None, ["train.steps"])


def test_rotary_matches_the_rotate_half_formula_bit_for_bit():
    """The in-place rotation computes x·cos + rotate_half(x)·sin exactly as the concatenating form does, and its
    gradient is the same."""
    from protdidi.models.rotary import Rotary

    rot = Rotary(8)
    x = torch.randn(2, 3, 5, 8, generator=torch.Generator().manual_seed(0), requires_grad=True)
    cos, sin = rot.tables(5, x.device)
    reference = torch.addcmul(x * cos, torch.cat((x[..., 4:], x[..., :4]), dim=-1), sin)
    out = rot(x)
    assert torch.equal(out, reference)
    weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
    (grad,) = torch.autograd.grad((out * weights).sum(), x)
    (expected,) = torch.autograd.grad((reference * weights).sum(), x)
    assert torch.allclose(grad, expected, atol=1e-6)
