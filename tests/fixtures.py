"""Tiny checkpoints in the official formats, written by the tests themselves (no downloads)."""

from __future__ import annotations

import argparse
import signal
import subprocess
import time
from pathlib import Path

import torch


def _perturb(module: torch.nn.Module, seed: int) -> None:
    # Random init leaves biases at 0 and norms at 1; perturb everything so parity tests see every weight.
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))


def write_fair_esm_pt(path: Path, layers: int = 2, dim: int = 32, heads: int = 4, seed: int = 0) -> Path:
    """An ESM-2 `.pt` as fair-esm publishes it: fairseq-prefixed keys plus a cfg Namespace."""
    import esm

    torch.manual_seed(seed)
    model = esm.model.esm2.ESM2(num_layers=layers, embed_dim=dim, attention_heads=heads,
                                alphabet="ESM-1b", token_dropout=True)
    _perturb(model, seed)
    state = {f"encoder.sentence_encoder.{k}": v for k, v in model.state_dict().items()
             if not k.startswith("contact_head")}
    cfg = argparse.Namespace(encoder_layers=layers, encoder_embed_dim=dim, encoder_attention_heads=heads,
                             token_dropout=True)
    torch.save({"model": state, "cfg": {"model": cfg}}, path)
    return path


def write_hf_esm_dir(path: Path, layers: int = 2, dim: int = 32, heads: int = 4, seed: int = 0) -> Path:
    """An HF `EsmForMaskedLM` directory (the ESM-2 Hub / DPLM release layout)."""
    from transformers import EsmConfig, EsmForMaskedLM

    torch.manual_seed(seed)
    cfg = EsmConfig(vocab_size=33, hidden_size=dim, num_hidden_layers=layers, num_attention_heads=heads,
                    intermediate_size=4 * dim, position_embedding_type="rotary", token_dropout=True,
                    mask_token_id=32, pad_token_id=1, emb_layer_norm_before=False, layer_norm_eps=1e-5,
                    max_position_embeddings=1026, hidden_act="gelu")
    model = EsmForMaskedLM(cfg)
    _perturb(model, seed)
    model.save_pretrained(path)
    return path


def record_modes(modules: dict) -> list[tuple[str, bool]]:
    """Forward hooks that log (name, training) at every call of each module, in call order."""
    calls = []
    for name, module in modules.items():
        module.register_forward_hook(lambda mod, args, out, name=name: calls.append((name, mod.training)))
    return calls


def kill_after_first_checkpoint(args: list[str], state: Path, timeout: float = 120) -> int:
    """Start `args`, SIGKILL it as soon as `state` (a trainer_state.pt) exists; returns the step it holds."""
    import torch

    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while not state.exists() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return torch.load(state, weights_only=False)["step"]


def write_toy_fasta(path: Path) -> Path:
    """120 short random-but-structured proteins (repeated motifs), enough for a split and a few steps."""
    g = torch.Generator().manual_seed(0)
    residues = "ACDEFGHIKLMNPQRSTVWY"
    lines = []
    for i in range(120):
        n = int(torch.randint(12, 40, (), generator=g))
        motif = "".join(residues[int(j)] for j in torch.randint(0, 20, (4,), generator=g))
        lines += [f">toy{i}", (motif * 20)[:n]]
    path.write_text("\n".join(lines) + "\n")
    return path
