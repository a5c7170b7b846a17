"""Generative perplexity and unigram entropy, following the MDLM/DUO/DiDi protocol (spec §1.4).

Samples are decoded to text, re-tokenised with the evaluator's tokenizer (truncation to its context,
padding with EOS), scored by a causal LM in fp32 with the attention mask, and the NLL is pooled over every
non-EOS target plus the first EOS of each sample (padding excluded). Entropy is each sample's unigram
token entropy (nats), averaged over samples.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from tqdm import tqdm

from protdidi.errors import UserError
from protdidi.io import read_json_object
from protdidi.stats import bootstrap_ci

DEFAULT_EVALUATOR = "gpt2-large"


@dataclass
class CausalLm:
    model: torch.nn.Module
    tokenizer: object
    name: str
    max_length: int


def load_causal_lm(spec: str, device: str = "cpu") -> CausalLm:
    """Any HF causal LM by hub name (online) or local directory (model + tokenizer files)."""
    from pathlib import Path

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from protdidi.domains.text.hub import from_hub

    try:
        tok = from_hub(AutoTokenizer.from_pretrained, spec)
        model = from_hub(AutoModelForCausalLM.from_pretrained, spec).float()
    except (OSError, ValueError) as err:
        hint = "the directory lacks model or tokenizer files" if Path(spec).is_dir() else \
            "not a local directory and not downloadable (offline?); pass a local directory of an HF causal LM"
        raise UserError(f"evaluator {spec!r}: {hint} ({type(err).__name__})") from None
    if tok.eos_token_id is None:
        raise UserError(f"evaluator {spec!r}: its tokenizer has no EOS token")
    tok.pad_token = tok.eos_token
    context = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", 1024)
    name = spec
    meta = Path(spec) / "protdidi_evaluator.json"
    if meta.is_file():  # our offline evaluator names itself (it is not GPT-2 Large)
        name = str(read_json_object(meta).get("name", spec))
    return CausalLm(model.to(device).eval(), tok, name, min(int(context), 1024))


def counted_targets(ids: torch.Tensor, eos_id: int) -> torch.Tensor:
    """Bool[B, N-1] over next-token targets ids[:, 1:]: every non-EOS target, plus the first EOS of the row
    (later EOS and EOS padding are excluded; non-EOS tokens after the first EOS still count)."""
    is_eos = ids == eos_id
    first_eos = is_eos & (is_eos.cumsum(-1) == 1)
    return (~is_eos | first_eos)[:, 1:]


@torch.no_grad()
def sample_nll(texts: list[str], lm: CausalLm, batch_size: int = 8, device: str = "cpu",
               progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Each text's summed NLL and its number of counted targets under `lm`, Float64[N] each."""
    sums, counts = [], []
    for start in tqdm(range(0, len(texts), batch_size), desc=f"GenPPL ({lm.name})", file=sys.stderr,
                      disable=not progress, dynamic_ncols=True):
        enc = lm.tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True, truncation=True,
                           max_length=lm.max_length)
        ids, attn = enc["input_ids"].to(device), enc["attention_mask"].to(device)
        logits = lm.model(input_ids=ids, attention_mask=attn).logits.float()
        nll = F.cross_entropy(logits[:, :-1].transpose(1, 2), ids[:, 1:], reduction="none")
        # Padding never counts (so a score does not depend on batch composition), even where it is an EOS.
        keep = (counted_targets(ids, lm.tokenizer.eos_token_id) & attn[:, 1:].bool()).to(nll.dtype)
        sums += (nll * keep).sum(-1).tolist()
        counts += keep.sum(-1).tolist()
    return torch.tensor(sums, dtype=torch.float64), torch.tensor(counts, dtype=torch.float64)


def gen_ppl(texts: list[str], lm: CausalLm, batch_size: int = 8, device: str = "cpu",
            progress: bool = False) -> dict:
    """Pooled GenPPL = exp(Σ NLL / Σ counted targets) and the per-sample mean NLL."""
    if not texts:
        raise UserError("no samples to score")
    sums_t, counts_t = sample_nll(texts, lm, batch_size, device, progress)
    total, count = float(sums_t.sum()), int(counts_t.sum())
    return {"gen_ppl": math.exp(total / max(count, 1)), "gen_ppl_ci95": bootstrap_ci(sums_t, counts_t),
            "tokens": count, "mean_sample_nll": float((sums_t / counts_t.clamp_min(1)).mean())}


def unigram_entropy(rows: list[list[int]]) -> list[float]:
    """Per-sample Shannon entropy (nats) of the sample's own token histogram."""
    out = []
    for row in rows:
        counts = torch.bincount(torch.as_tensor(row, dtype=torch.long)).double()
        p = counts[counts > 0] / counts.sum()
        out.append(float(-(p * p.log()).sum()))
    return out
