"""The project judge `protdidi-cath-judge`: an ESM-2-architecture masked LM trained with the ESM-2 recipe
(15% masking, 80/10/10, token dropout) on the CATH training split only, saved as a fair-esm `.pt`.

It is independent of the teacher: another objective (MLM, not the masked-diffusion NELBO), its own seed
and initialisation. It is never called ESM-2: ESM-2 weights cannot be downloaded on offline machines.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

import torch

from protdidi.adapters.esm_denoiser import frame
from protdidi.adapters.esm_weights import save_fair_esm
from protdidi.atomic_dirs import write_dir_atomic
from protdidi.batching import BatchStream
from protdidi.checkpoint import save_checkpoint
from protdidi.config import to_dict
from protdidi.domains.protein.alphabet import protein_vocab
from protdidi.domains.protein.data import TokenizedSet, split_records
from protdidi.domains.protein.fasta import read_fasta
from protdidi.domains.protein.teacher import DataConfig, ModelConfig
from protdidi.errors import UserError
from protdidi.io import check_output_location, write_text_atomic
from protdidi.models.esm2 import Esm2, Esm2Config
from protdidi.tasks.mdlm import OptimConfig, unigram_nll
from protdidi.tasks.mlm import MlmTask
from protdidi.training_run import Run

JUDGE_NAME = "protdidi-cath-judge"
JUDGE_FILE = f"{JUDGE_NAME}.pt"


@dataclass
class JudgeRunConfig:
    name: str = JUDGE_NAME
    device: str = "auto"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: OptimConfig = field(default_factory=lambda: OptimConfig(seed=1))


def judge_logits(model: Esm2, body: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    return model(frame(body, valid, protein_vocab()))[:, 1:-1]


def train_judge(cfg: JudgeRunConfig, run_dir: Path, resume: bool = False, stop_at: int | None = None,
                ship_to: str | Path | None = None) -> dict:
    """Train (or resume, or with a finished run only re-report) the judge; `ship_to` also writes the shipped
    copy (see `ship_judge`)."""
    if cfg.model.init:
        raise UserError("the judge is trained from scratch (model.init must be empty)")
    if ship_to is not None:
        check_output_location(ship_to, directory=True, inputs=(cfg.data.fasta, run_dir), marker="report.json")
    run = Run(cfg, run_dir, resume, stop_at, seed=cfg.train.seed)
    vocab = protein_vocab()
    splits = split_records(read_fasta(cfg.data.fasta), cfg.data.valid_frac, cfg.data.test_frac)
    if not splits["train"] or not splits["valid"]:
        raise UserError(f"{cfg.data.fasta}: too few records for a train/valid split")
    sets = {k: TokenizedSet.from_records(v).seqs for k, v in splits.items()}
    arch = Esm2Config(num_layers=cfg.model.num_layers, embed_dim=cfg.model.embed_dim,
                      attention_heads=cfg.model.attention_heads, vocab_size=vocab.size, padding_idx=vocab.pad_id,
                      mask_idx=vocab.mask_id, token_dropout=True, dropout=cfg.model.dropout,
                      max_length=cfg.data.max_length)
    model = Esm2(arch)
    run.start()

    def save(path: Path, ema: Esm2, trainer_state) -> None:
        inference = Esm2(Esm2Config(**{**ema.cfg.to_dict(), "dropout": 0.0}))
        inference.load_state_dict(ema.state_dict())
        save_checkpoint(path, {"kind": "judge", "domain": "protein", "name": cfg.name, "train_config": to_dict(cfg)},
                        vocab, {}, trainer_state, files={JUDGE_FILE: lambda p: save_fair_esm(inference, p)})

    stream = BatchStream(sets["train"], cfg.train.batch_size, cfg.data.max_length, vocab.pad_id, cfg.train.seed)
    task = MlmTask(model, judge_logits, stream, sets["valid"], vocab, cfg.train, cfg.data.max_length, run.device, save)
    run.train(task, cfg.train, monitor="valid_mlm_ce", title=cfg.name, panels=[("loss", "valid_mlm_ce")])
    if not run.finished(cfg.train.steps):
        return run.stopped(cfg.train.steps)
    if ship_to is None:
        return write_judge_report(run.dir / "best" / JUDGE_FILE, run.dir / "report.json", sets, cfg.data.max_length)
    return run.write_report(ship_judge(run.dir, Path(ship_to), sets, cfg.data.max_length))  # scored on the copy


def ship_judge(run_dir: Path, dest: Path, sets: dict, max_length: int) -> dict:
    """Copy the best judge into `dest` as a float16 fair-esm `.pt` (the storage type of the published ESM-2
    files; it loads as float32), with the run's config, log and curves, and a report computed from the
    shipped file itself."""
    import shutil

    from protdidi.adapters.esm_weights import load_fair_esm

    def write(tmp: Path) -> None:
        save_fair_esm(load_fair_esm(run_dir / "best" / JUDGE_FILE), tmp / JUDGE_FILE, dtype=torch.float16)
        for name in ("config.yaml", "log.jsonl", "loss.png"):
            shutil.copy(run_dir / name, tmp / name)
        write_judge_report(tmp / JUDGE_FILE, tmp / "report.json", sets, max_length, stored_as="float16")

    write_dir_atomic(dest, write, marker="report.json")
    return json.loads((dest / "report.json").read_text())


def sample_cropped(seqs: list[torch.Tensor], n: int, max_length: int, seed: int = 0) -> list[torch.Tensor]:
    """`n` sequences drawn without replacement with `seed`, each cut to its first `max_length` residues."""
    return [s[:max_length] for s in random.Random(seed).sample(seqs, min(n, len(seqs)))]


def shuffled_copies(seqs: list[torch.Tensor]) -> list[torch.Tensor]:
    """Each sequence with its residues permuted, the i-th with seed i (same composition, no order)."""
    return [s[torch.randperm(len(s), generator=torch.Generator().manual_seed(i))] for i, s in enumerate(seqs)]


def write_judge_report(judge_file: Path, out: Path, sets: dict, max_length: int, stored_as: str = "float32",
                       n: int = 200, seed: int = 0) -> dict:
    """Exact pseudo-perplexity of the best judge on `n` test sequences and on the same sequences shuffled (a
    judge must separate them widely: pooled ratio and the paired fraction where the natural one wins), the
    unigram perplexity of the training composition on the same residues, and the fast mode's correlation."""
    from protdidi.adapters.esm_weights import load_fair_esm
    from protdidi.evaluation.pppl import exact_pppl, fast_pppl

    judge = load_fair_esm(judge_file)
    vocab = protein_vocab()
    test = sample_cropped(sets["test"], n, max_length, seed)
    shuffled = shuffled_copies(test)
    exact, exact_shuffled = exact_pppl(judge, test, vocab), exact_pppl(judge, shuffled, vocab)
    fast = fast_pppl(judge, test, vocab)
    a, b = torch.tensor(exact.nll), torch.tensor(fast.nll)
    pearson = float(torch.corrcoef(torch.stack([a, b]))[0, 1])
    paired = [x < y for x, y in zip(exact.nll, exact_shuffled.nll, strict=True)]
    report = {"judge": JUDGE_NAME, "weights": f"{judge_file.name}, stored as {stored_as}",
              "test_sequences": len(test), "test_pppl": exact.pooled,
              "shuffled_test_pppl": exact_shuffled.pooled,
              "shuffled_over_natural": exact_shuffled.pooled / exact.pooled,
              "natural_beats_its_shuffle": sum(paired) / len(paired),
              "unigram_ppl_same_residues": math.exp(unigram_nll(sets["train"], test, vocab.size, max_length)),
              "fast_pppl": fast.pooled, "fast_vs_exact_pearson_nll": pearson,
              "params": sum(p.numel() for p in judge.parameters())}
    write_text_atomic(out, lambda f: f.write(json.dumps(report, indent=1) + "\n"))
    return report
