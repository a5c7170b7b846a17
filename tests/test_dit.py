"""DiT parity: tiny checkpoints written in the MDLM Lightning `.ckpt` and HF `mdlm-owt` formats load unchanged,
and their logits match an independent forward computation written from the raw tensors."""

import json
import math
import sys
import types

import pytest
import torch
from safetensors.torch import save_file

from protdidi.adapters.mdlm_weights import load_mdlm_ckpt, load_mdlm_hf
from protdidi.errors import CheckpointError

V, D, H, C, NB = 37, 64, 2, 16, 2  # vocab, hidden, heads (head dim 32), cond dim, blocks


def reference_state(seed: int) -> dict[str, torch.Tensor]:
    """Random weights under the reference names, in the reference's parameter order (adaLN non-zero)."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape, s=0.2):
        return torch.randn(*shape, generator=g) * s

    state = {"vocab_embed.embedding": r(V, D, s=1.0), "sigma_map.mlp.0.weight": r(C, 256),
             "sigma_map.mlp.0.bias": r(C), "sigma_map.mlp.2.weight": r(C, C), "sigma_map.mlp.2.bias": r(C)}
    for i in range(NB):
        p = f"blocks.{i}."
        state.update({p + "norm1.weight": 1 + r(D), p + "attn_qkv.weight": r(3 * D, D), p + "attn_out.weight": r(D, D),
                      p + "norm2.weight": 1 + r(D), p + "mlp.0.weight": r(4 * D, D), p + "mlp.0.bias": r(4 * D),
                      p + "mlp.2.weight": r(D, 4 * D), p + "mlp.2.bias": r(D),
                      p + "adaLN_modulation.weight": r(6 * D, C), p + "adaLN_modulation.bias": r(6 * D)})
    state.update({"output_layer.norm_final.weight": 1 + r(D), "output_layer.linear.weight": r(V, D),
                  "output_layer.linear.bias": r(V), "output_layer.adaLN_modulation.weight": r(2 * D, C),
                  "output_layer.adaLN_modulation.bias": r(2 * D)})
    return state


def independent_forward(w: dict, ids: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The DiT maths spelled out with explicit loops over heads and an explicit rotation matrix per position."""
    b, n = ids.shape
    x = w["vocab_embed.embedding"][ids].double()
    half = 128
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float64) / half)
    emb = torch.cat([torch.cos(sigma.double()[:, None] * freqs), torch.sin(sigma.double()[:, None] * freqs)], -1)
    h = emb @ w["sigma_map.mlp.0.weight"].double().T + w["sigma_map.mlp.0.bias"].double()
    h = h * torch.sigmoid(h)
    c = h @ w["sigma_map.mlp.2.weight"].double().T + w["sigma_map.mlp.2.bias"].double()
    c = c * torch.sigmoid(c)

    def ln(v, weight):
        mu = v.mean(-1, keepdim=True)
        var = ((v - mu) ** 2).mean(-1, keepdim=True)
        return (v - mu) / torch.sqrt(var + 1e-5) * weight.double()

    hd = D // H
    inv = 1.0 / 10000 ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd)

    def rotate(v):  # v: [n, hd]; pairs (i, i + hd/2) rotate by angle pos * inv[i]
        out = v.clone()
        for pos in range(n):
            ang = pos * inv
            a, bb = v[pos, : hd // 2], v[pos, hd // 2:]
            out[pos, : hd // 2] = a * torch.cos(ang) - bb * torch.sin(ang)
            out[pos, hd // 2:] = bb * torch.cos(ang) + a * torch.sin(ang)
        return out

    for i in range(NB):
        p = f"blocks.{i}."
        mod = c @ w[p + "adaLN_modulation.weight"].double().T + w[p + "adaLN_modulation.bias"].double()
        s1, sc1, g1, s2, sc2, g2 = mod.chunk(6, -1)
        y = ln(x, w[p + "norm1.weight"]) * (1 + sc1[:, None]) + s1[:, None]
        qkv = y @ w[p + "attn_qkv.weight"].double().T
        q, k, v = qkv.chunk(3, -1)
        att = torch.zeros_like(x)
        for bi in range(b):
            for hi in range(H):
                sl = slice(hi * hd, (hi + 1) * hd)
                qh, kh = rotate(q[bi, :, sl]), rotate(k[bi, :, sl])
                scores = torch.softmax(qh @ kh.T / math.sqrt(hd), -1)
                att[bi, :, sl] = scores @ v[bi, :, sl]
        x = x + g1[:, None] * (att @ w[p + "attn_out.weight"].double().T)
        y = ln(x, w[p + "norm2.weight"]) * (1 + sc2[:, None]) + s2[:, None]
        y = y @ w[p + "mlp.0.weight"].double().T + w[p + "mlp.0.bias"].double()
        y = 0.5 * y * (1 + torch.tanh(math.sqrt(2 / math.pi) * (y + 0.044715 * y**3)))
        x = x + g2[:, None] * (y @ w[p + "mlp.2.weight"].double().T + w[p + "mlp.2.bias"].double())
    mod = c @ w["output_layer.adaLN_modulation.weight"].double().T + w["output_layer.adaLN_modulation.bias"].double()
    shift, scale = mod.chunk(2, -1)
    y = ln(x, w["output_layer.norm_final.weight"]) * (1 + scale[:, None]) + shift[:, None]
    return y @ w["output_layer.linear.weight"].double().T + w["output_layer.linear.bias"].double()


def write_lightning_ckpt(path, state, ema_state=None, n_heads=H, time_conditioning=False):
    """A Lightning-style checkpoint whose hyper-parameters are a class that cannot be imported on load
    (like OmegaConf's DictConfig where omegaconf is not installed)."""
    fake = types.ModuleType("fakeomegaconf")

    class DictConfig:
        def __init__(self, content):
            self._content = content

    DictConfig.__module__ = "fakeomegaconf"
    DictConfig.__qualname__ = "DictConfig"
    fake.DictConfig = DictConfig
    sys.modules["fakeomegaconf"] = fake
    try:
        inv = 1.0 / 10000 ** (torch.arange(0, D // n_heads, 2).float() / (D // n_heads))
        ckpt = {"state_dict": {**{"backbone." + k: v for k, v in state.items()}, "backbone.rotary_emb.inv_freq": inv},
                "hyper_parameters": {"config": DictConfig({"model": DictConfig(
                    {"n_heads": n_heads, "length": 48, "dropout": 0.1}), "time_conditioning": time_conditioning})},
                "epoch": 3, "global_step": 1000}
        if ema_state is not None:
            ckpt["ema"] = {"decay": 0.9999, "num_updates": 1000, "shadow_params": list(ema_state.values())}
        torch.save(ckpt, path)
    finally:
        del sys.modules["fakeomegaconf"]


def write_hf_dir(path, state, n_heads=H):
    path.mkdir()
    (path / "config.json").write_text(json.dumps({
        "model_type": "mdlm", "architectures": ["MDLM"], "vocab_size": V, "model_length": 48, "hidden_dim": D,
        "cond_dim": C, "n_blocks": NB, "n_heads": n_heads, "dropout": 0.1, "time_conditioning": False}))
    save_file({"backbone." + k: v.contiguous() for k, v in state.items()}, str(path / "model.safetensors"))


@pytest.fixture
def ids():
    return torch.randint(0, V, (2, 9), generator=torch.Generator().manual_seed(5))


def test_lightning_ckpt_loads_ema_weights_and_matches_independent_forward(tmp_path, ids):
    raw, ema = reference_state(0), reference_state(1)
    write_lightning_ckpt(tmp_path / "mdlm.ckpt", raw, ema)
    model = load_mdlm_ckpt(tmp_path / "mdlm.ckpt").eval()
    assert model.cfg.n_heads == H and model.cfg.max_length == 48 and model.cfg.n_blocks == NB
    sigma = torch.zeros(2)
    got = model(ids, sigma).double()
    assert torch.allclose(got, independent_forward(ema, ids, sigma), atol=1e-4)
    assert not torch.allclose(got, independent_forward(raw, ids, sigma), atol=1e-2)  # EMA really was used
    raw_model = load_mdlm_ckpt(tmp_path / "mdlm.ckpt", use_ema=False).eval()
    assert torch.allclose(raw_model(ids, sigma).double(), independent_forward(raw, ids, sigma), atol=1e-4)


def test_hf_dir_matches_independent_forward_and_time_input_is_ignored_when_unconditioned(tmp_path, ids):
    state = reference_state(2)
    write_hf_dir(tmp_path / "mdlm-owt", state)
    model = load_mdlm_hf(tmp_path / "mdlm-owt").eval()
    zero = independent_forward(state, ids, torch.zeros(2))
    assert torch.allclose(model(ids, torch.zeros(2)).double(), zero, atol=1e-4)
    # time_conditioning False: σ is zeroed before the network (MDLM-OWT), so any σ gives the same logits.
    assert torch.allclose(model(ids, torch.tensor([0.3, 2.0])).double(), zero, atol=1e-4)


def test_time_conditioned_checkpoint_uses_sigma(tmp_path, ids):
    state = reference_state(3)
    write_lightning_ckpt(tmp_path / "duo.ckpt", state, time_conditioning=True)
    model = load_mdlm_ckpt(tmp_path / "duo.ckpt").eval()
    sigma = torch.tensor([0.3, 2.0])
    assert model.cfg.time_conditioning
    assert torch.allclose(model(ids, sigma).double(), independent_forward(state, ids, sigma), atol=1e-4)


def test_soft_tokens_equal_hard_tokens_at_one_hot(tmp_path, ids):
    state = reference_state(4)
    write_hf_dir(tmp_path / "m", state)
    model = load_mdlm_hf(tmp_path / "m").eval()
    soft = torch.nn.functional.one_hot(ids, V).float()
    assert torch.allclose(model(ids, torch.zeros(2), soft=soft), model(ids, torch.zeros(2)), atol=1e-5)


def test_bad_checkpoints_are_one_clear_error(tmp_path):
    state = reference_state(0)
    del state["blocks.1.attn_out.weight"]
    write_hf_dir(tmp_path / "m", state)
    with pytest.raises(CheckpointError, match="missing"):
        load_mdlm_hf(tmp_path / "m")
    torch.save({"weights": 1}, tmp_path / "x.ckpt")
    with pytest.raises(CheckpointError, match="state_dict"):
        load_mdlm_ckpt(tmp_path / "x.ckpt")
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable"):
        load_mdlm_ckpt(tmp_path / "junk.ckpt")
    # A wrong head count is caught by the rotary buffer the reference stores.
    write_lightning_ckpt(tmp_path / "h.ckpt", reference_state(0), n_heads=1)
    with pytest.raises(CheckpointError, match="rotary"):
        load_mdlm_ckpt(tmp_path / "h.ckpt", n_heads=2)
