"""Load the public MDLM/DUO text teachers into `Dit`.

Two formats, both with `backbone.*` parameter names:
- the Lightning `.ckpt` of the MDLM/DUO repositories (`state_dict`, plus `ema.shadow_params`: one tensor per
  trainable parameter in `backbone.parameters()` order; the EMA weights are used when present);
- the HF `kuleshov-group/mdlm-owt` directory (`config.json` with hidden_dim/cond_dim/n_blocks/n_heads/…,
  `model.safetensors` or `pytorch_model.bin`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from protdidi.adapters.checkpoint_pickle import find_value, load_tolerant
from protdidi.errors import CheckpointError
from protdidi.io import read_json_object
from protdidi.models.dit import Dit, DitConfig
from protdidi.weights import check_finite

log = logging.getLogger(__name__)
PREFIX = "backbone."
ROTARY_BUFFER = "rotary_emb.inv_freq"  # a persistent buffer in the reference; recomputed here


def _strip(state: dict, source: str) -> dict[str, torch.Tensor]:
    out = {k[len(PREFIX):]: v for k, v in state.items() if k.startswith(PREFIX)}
    if not out:
        raise CheckpointError(f"{source}: no `backbone.*` weights (is this an MDLM/DUO checkpoint?)")
    return out


def infer_config(state: dict[str, torch.Tensor], source: str, **given) -> DitConfig:
    """Architecture from weight shapes; `given` supplies what shapes cannot tell (n_heads, length, ...)."""
    try:
        vocab, hidden = state["vocab_embed.embedding"].shape
        cond = state["sigma_map.mlp.0.weight"].shape[0]
        mlp_hidden = state["blocks.0.mlp.0.weight"].shape[0]
    except KeyError as err:
        raise CheckpointError(f"{source}: missing weight {err.args[0]!r}") from None
    n_blocks = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
    n_heads = given.get("n_heads")
    if not n_heads and ROTARY_BUFFER in state:  # the stored rotary table has head_dim / 2 entries
        n_heads = hidden // (2 * state[ROTARY_BUFFER].numel())
    n_heads = int(n_heads or max(hidden // 64, 1))  # every released size uses 64-wide heads
    return DitConfig(vocab_size=vocab, hidden_size=hidden, n_heads=n_heads, n_blocks=n_blocks, cond_dim=cond,
                     mlp_ratio=mlp_hidden // hidden, dropout=float(given.get("dropout", 0.1)),
                     max_length=int(given.get("max_length") or 1024),
                     time_conditioning=bool(given.get("time_conditioning", False)))


def build_dit(state: dict[str, torch.Tensor], cfg: DitConfig, source: str) -> Dit:
    """A `Dit` holding `state` exactly (strict names and shapes; the rotary buffer is checked, not loaded)."""
    state = dict(state)
    model = Dit(cfg)
    inv_freq = state.pop(ROTARY_BUFFER, None)
    own_freq = model.blocks[0].rotary.inv_freq
    if inv_freq is not None and (inv_freq.shape != own_freq.shape
                                 or not torch.allclose(inv_freq.float(), own_freq, rtol=1e-5)):
        raise CheckpointError(f"{source}: rotary frequencies differ from base-10000 rotary embeddings "
                              f"(n_heads={cfg.n_heads} may be wrong)")
    own = model.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if missing or unexpected:
        raise CheckpointError(f"{source}: weights do not fit the DiT (missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]})")
    bad = [k for k in own if own[k].shape != state[k].shape]
    if bad:
        raise CheckpointError(f"{source}: shape mismatch at {bad[:3]}")
    check_finite(state, source)
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model


def load_mdlm_ckpt(path: str | Path, use_ema: bool = True, n_heads: int | None = None) -> Dit:
    """A MDLM/DUO Lightning `.ckpt`. Config values are read from the pickled hyper-parameters when they can be."""
    path = Path(path)
    try:
        ckpt = load_tolerant(path)
    except Exception as err:
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(err).__name__}: {err})") from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"{path}: no `state_dict` (not a Lightning checkpoint)")
    state = _strip(ckpt["state_dict"], str(path))
    model_cfg = find_value(ckpt.get("hyper_parameters", {}), "model") or {}
    given = {key: find_value(model_cfg, key) for key in ("n_heads", "dropout", "length")}
    cfg = infer_config(state, str(path), n_heads=n_heads or given["n_heads"], max_length=given["length"],
                       dropout=given["dropout"] if given["dropout"] is not None else 0.1,
                       time_conditioning=find_value(ckpt.get("hyper_parameters", {}), "time_conditioning"))
    shadow = (ckpt.get("ema") or {}).get("shadow_params") if use_ema else None
    if shadow:
        with torch.device("meta"):  # parameter names in registration order, without allocating a model
            names = [n for n, _ in Dit(cfg).named_parameters()]
        if len(shadow) < len(names):
            raise CheckpointError(f"{path}: EMA has {len(shadow)} tensors for {len(names)} parameters")
        for name, tensor in zip(names, shadow, strict=False):
            if tensor.shape != state[name].shape:
                raise CheckpointError(f"{path}: EMA tensor for {name} has shape {tuple(tensor.shape)}")
            state[name] = tensor
        log.info("%s: using EMA weights (%d updates)", path, int(ckpt["ema"].get("num_updates") or 0))
    return build_dit(state, cfg, str(path))


def load_mdlm_hf(path: str | Path) -> Dit:
    """An HF MDLM directory (`kuleshov-group/mdlm-owt` layout)."""
    path = Path(path)
    conf = read_json_object(path / "config.json")
    if (path / "model.safetensors").exists():
        from safetensors.torch import load_file

        try:
            state = load_file(str(path / "model.safetensors"))
        except Exception as err:
            raise CheckpointError(f"{path}/model.safetensors: unreadable ({err})") from None
    elif (path / "pytorch_model.bin").exists():
        state = torch.load(path / "pytorch_model.bin", map_location="cpu", weights_only=True)
    else:
        raise CheckpointError(f"{path}: no model.safetensors or pytorch_model.bin")
    state = _strip(state, str(path))
    cfg = infer_config(state, str(path), n_heads=conf.get("n_heads"), dropout=conf.get("dropout", 0.1),
                       max_length=conf.get("model_length"), time_conditioning=conf.get("time_conditioning", False))
    if conf.get("hidden_dim") not in (None, cfg.hidden_size) or conf.get("vocab_size") not in (None, cfg.vocab_size):
        raise CheckpointError(f"{path}: config.json does not match the weights' shapes")
    return build_dit(state, cfg, str(path))


def is_mdlm_hf_dir(path: Path) -> bool:
    try:
        conf = read_json_object(path / "config.json")
    except CheckpointError:
        return False
    return conf.get("model_type") == "mdlm" or "MDLM" in conf.get("architectures", [])
