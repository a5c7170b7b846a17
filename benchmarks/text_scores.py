"""Rows of the DiDi text studies (`gpu_text_didi.py` on a GPU, `text_didi_curve.py` on this CPU): GenPPL under
protdidi-shakespeare-gpt (the small causal LM trained on the Tiny Shakespeare training split; NOT GPT-2 Large) with
its 95% bootstrap interval, and unigram entropy, of `n` ancestral samples (float64 steps, seed 0) per row."""

from __future__ import annotations

from pathlib import Path

from bench import ROOT, log_records

CORPUS = ROOT / "data" / "text" / "tinyshakespeare.txt"
TOKENIZER = ROOT / "data" / "text" / "bpe-2048"


def checkpoints(run_dir: Path) -> list[dict]:
    """Every student a run kept: its snapshots (at-*min/, at-step*/) and last/, with the step and wall-clock of
    each."""
    records = log_records(run_dir)
    found = [{"checkpoint": r["snapshot"], "step": r["step"], "wall_s": r["wall_s"]} for r in records
             if "snapshot" in r and (run_dir / r["snapshot"] / "model.safetensors").exists()]
    last = run_dir / "last"
    if (last / "model.safetensors").exists():
        step = last_step(last)  # a run killed between saves logged steps that last/ does not hold
        at = [r for r in records if "loss" in r and r["step"] <= step]
        if at:
            found.append({"checkpoint": "last", "step": at[-1]["step"], "wall_s": at[-1]["wall_s"]})
    return found


def last_step(last: Path) -> int:
    """The step a last/ checkpoint holds (its trainer state's; unbounded when it has none)."""
    from protdidi.weights import read_trainer_state

    state = last / "trainer_state.pt"
    return int(read_trainer_state(state)["step"]) if state.exists() else 10**12


def sample_row(model, nfe: int, lm, n: int, device: str, **where) -> dict:
    """One row: `n` samples of `model` at `nfe`, scored; `where` says which model it is."""
    from protdidi.domains.text.evaluate import score_texts
    from protdidi.domains.text.plugin import DOMAIN as TEXT
    from protdidi.generation.driver import generate
    from protdidi.generation.request import Request

    gen = generate(TEXT, model, Request(n, nfe, 0, batch_size=32, device=device))
    return {**where, "nfe": nfe, "seconds": round(gen.seconds, 2), **score_texts(gen.records, lm, 32, device)}


def shuffle_each(windows) -> list:
    """Each token window with its tokens permuted (one seed-0 generator over the windows in order): the shuffled
    reference, same tokens and unigram entropy, no word order."""
    import torch

    g = torch.Generator().manual_seed(0)
    return [w[torch.randperm(len(w), generator=g)] for w in windows]


def natural_row(teacher, lm, n: int, device: str, shuffled: bool = False) -> dict:
    """A reference row: the first `n` test windows of the corpus, scored like samples; with `shuffled`, the same
    windows with each one's tokens permuted (`shuffle_each`)."""
    from protdidi.domains.text.evaluate import score_texts
    from protdidi.domains.text.teacher import TextDataConfig, load_windows
    from protdidi.domains.text.tokenizer import decode

    _, windows = load_windows(TextDataConfig(path=str(CORPUS), tokenizer=str(TOKENIZER), length=teacher.max_length))
    test = shuffle_each(windows["test"][:n]) if shuffled else windows["test"][:n]
    texts = [{"text": t, "tokens": w.tolist()} for t, w in zip(decode(teacher.tokenizer, test), test, strict=True)]
    label = "shuffled test windows" if shuffled else "natural test windows"
    return {"checkpoint": label, "nfe": None, **score_texts(texts, lm, 32, device)}
