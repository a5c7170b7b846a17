"""Read ESM-2 weights from the two published formats into our `Esm2`.

- fair-esm `.pt` (what `esm.pretrained.load_model_and_alphabet_local` reads): a dict with "model"
  (fairseq-prefixed state dict) and "cfg" → "model" (an object with encoder_layers, encoder_embed_dim,
  encoder_attention_heads, token_dropout).
- HF `EsmForMaskedLM` directory (ESM-2 on the Hub, DPLM releases): config.json plus model.safetensors
  or pytorch_model.bin with `esm.*` / `lm_head.*` keys (DPLM checkpoints may prefix them with `net.`).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import torch

from protdidi.adapters.esm_alphabet import ESM_TOKENS
from protdidi.errors import CheckpointError
from protdidi.io import read_json_object
from protdidi.models.esm2 import Esm2, Esm2Config
from protdidi.weights import load_state_strict

# fair-esm builds ESM1bLayerNorm as torch.nn.LayerNorm (default eps) when apex is absent.
FAIR_ESM_LN_EPS = 1e-5
# Keys we recompute or do not use (rotary tables, contact head, HF position ids).
_IGNORED = re.compile(r"(rot_emb\.inv_freq|rotary_embeddings\.inv_freq|^contact_head\.|position_ids$)")


def _cfg_get(cfg, name):
    return cfg[name] if isinstance(cfg, dict) else getattr(cfg, name)


def load_fair_esm(path: str | Path, max_length: int = 1022) -> Esm2:
    """Load a fair-esm ESM-2 `.pt` checkpoint into `Esm2` (strict, ignoring the contact head)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such fair-esm checkpoint file")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{path}: not a readable fair-esm checkpoint ({type(err).__name__})") from None
    if not isinstance(data, dict) or "model" not in data or "cfg" not in data:
        raise CheckpointError(f"{path}: not a fair-esm ESM-2 checkpoint (needs 'model' and 'cfg')")
    mcfg = data["cfg"]["model"]
    state = {re.sub(r"^(encoder\.sentence_encoder\.|encoder\.)", "", k): v for k, v in data["model"].items()}
    cfg = Esm2Config(
        num_layers=int(_cfg_get(mcfg, "encoder_layers")),
        embed_dim=int(_cfg_get(mcfg, "encoder_embed_dim")),
        attention_heads=int(_cfg_get(mcfg, "encoder_attention_heads")),
        vocab_size=state["embed_tokens.weight"].shape[0],
        token_dropout=bool(_cfg_get(mcfg, "token_dropout")),
        layer_norm_eps=FAIR_ESM_LN_EPS,
        max_length=max_length,
    )
    return _build(cfg, state, str(path))


def _hf_key(key: str) -> str | None:
    """Map one HF EsmForMaskedLM key to our name (None for keys we drop)."""
    key = re.sub(r"^(net\.|model\.)", "", key)
    key = re.sub(r"^esm\.contact_head\.", "contact_head.", key)
    # Some writers store LayerNorm parameters under their legacy names.
    key = re.sub(r"(LayerNorm|layer_norm|emb_layer_norm_after)\.gamma$", r"\1.weight", key)
    key = re.sub(r"(LayerNorm|layer_norm|emb_layer_norm_after)\.beta$", r"\1.bias", key)
    rules = [
        (r"^esm\.embeddings\.word_embeddings\.", "embed_tokens."),
        (r"^esm\.encoder\.emb_layer_norm_after\.", "emb_layer_norm_after."),
        (r"^esm\.encoder\.layer\.(\d+)\.attention\.self\.query\.", r"layers.\1.self_attn.q_proj."),
        (r"^esm\.encoder\.layer\.(\d+)\.attention\.self\.key\.", r"layers.\1.self_attn.k_proj."),
        (r"^esm\.encoder\.layer\.(\d+)\.attention\.self\.value\.", r"layers.\1.self_attn.v_proj."),
        (r"^esm\.encoder\.layer\.(\d+)\.attention\.output\.dense\.", r"layers.\1.self_attn.out_proj."),
        (r"^esm\.encoder\.layer\.(\d+)\.attention\.LayerNorm\.", r"layers.\1.self_attn_layer_norm."),
        (r"^esm\.encoder\.layer\.(\d+)\.intermediate\.dense\.", r"layers.\1.fc1."),
        (r"^esm\.encoder\.layer\.(\d+)\.output\.dense\.", r"layers.\1.fc2."),
        (r"^esm\.encoder\.layer\.(\d+)\.LayerNorm\.", r"layers.\1.final_layer_norm."),
        (r"^lm_head\.dense\.", "lm_head.dense."),
        (r"^lm_head\.layer_norm\.", "lm_head.layer_norm."),
        (r"^lm_head\.decoder\.weight$", "lm_head.weight"),
        (r"^lm_head\.bias$", "lm_head.bias"),
        (r"^lm_head\.decoder\.bias$", "lm_head.bias"),
    ]
    for pattern, repl in rules:
        if re.search(pattern, key):
            return re.sub(pattern, repl, key)
    return key


def _read_hf_state(path: Path) -> dict[str, torch.Tensor]:
    st, binf = path / "model.safetensors", path / "pytorch_model.bin"
    try:
        if st.exists():
            from safetensors.torch import load_file

            return load_file(str(st))
        if binf.exists():
            return torch.load(binf, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{path}: unreadable weights ({type(err).__name__}: {err})") from None
    raise CheckpointError(f"{path}: neither model.safetensors nor pytorch_model.bin found")


HF_REQUIRED = ("hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size")


def load_hf_esm(path: str | Path) -> Esm2:
    """Load an HF `EsmForMaskedLM` directory (ESM-2 or DPLM) into `Esm2`."""
    path = Path(path)
    cfg_file = path / "config.json"
    if not cfg_file.exists():
        raise CheckpointError(f"{path}: config.json is missing (not an HF model directory)")
    hf = read_json_object(cfg_file)
    missing = [k for k in HF_REQUIRED if k not in hf]
    if missing:
        raise CheckpointError(f"{path}: not an HF EsmForMaskedLM directory (config.json lacks {', '.join(missing)})")
    if hf.get("position_embedding_type", "rotary") != "rotary" or hf.get("emb_layer_norm_before"):
        raise CheckpointError(f"{path}: only ESM-2-style models (rotary, no embedding layer norm) are supported")
    if hf.get("hidden_act", "gelu") != "gelu" or hf.get("intermediate_size") != 4 * hf["hidden_size"]:
        raise CheckpointError(f"{path}: unsupported activation or intermediate size")
    if hf["vocab_size"] != len(ESM_TOKENS):
        raise CheckpointError(f"{path}: vocab_size {hf['vocab_size']} is not the ESM-2 alphabet's {len(ESM_TOKENS)}")
    cfg = Esm2Config(
        num_layers=hf["num_hidden_layers"], embed_dim=hf["hidden_size"], attention_heads=hf["num_attention_heads"],
        vocab_size=hf["vocab_size"], padding_idx=hf.get("pad_token_id", 1), mask_idx=hf.get("mask_token_id", 32),
        token_dropout=bool(hf.get("token_dropout", False)), layer_norm_eps=hf.get("layer_norm_eps", 1e-12),
        max_length=int(hf.get("max_position_embeddings", 1026)) - 2,
    )
    state = {}
    for key, value in _read_hf_state(path).items():
        new = _hf_key(key)
        state[new] = value
    return _build(cfg, state, str(path))


def _build(cfg: Esm2Config, state: dict[str, torch.Tensor], source: str) -> Esm2:
    model = Esm2(cfg)
    state = {k: v.float() for k, v in state.items() if not _IGNORED.search(k)}
    load_state_strict(model, state, source)
    return model.eval()


def save_fair_esm(model: Esm2, path: str | Path, dtype: torch.dtype | None = None) -> None:
    """Write `model` as a fair-esm ESM-2 `.pt` (fairseq-prefixed keys, cfg Namespace), which `load_fair_esm`
    (and fair-esm itself, where its loader runs) reads like any published ESM-2 file. `dtype` (e.g.
    torch.float16, as the published ESM-2 files are stored) casts the floating-point tensors."""
    cfg = model.cfg
    if cfg.vocab_size != len(ESM_TOKENS):
        raise ValueError("fair-esm files use the 33-token ESM alphabet")
    state = {f"encoder.sentence_encoder.{k}": v.detach().cpu().clone() for k, v in model.state_dict().items()}
    if dtype is not None:
        state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}
    namespace = argparse.Namespace(encoder_layers=cfg.num_layers, encoder_embed_dim=cfg.embed_dim,
                                   encoder_attention_heads=cfg.attention_heads, token_dropout=cfg.token_dropout,
                                   arch="protein_bert_base")
    torch.save({"model": state, "cfg": {"model": namespace}}, path)
