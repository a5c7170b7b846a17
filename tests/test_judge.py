"""The project judge: ESM-2 masking recipe, training to a fair-esm file that the judge loader reads."""

import json

import pytest
import torch

from protdidi.config import load_config
from protdidi.domains.protein.evaluation.judge_loading import load_judge
from protdidi.domains.protein.evaluation.judge_training import JUDGE_FILE, JudgeRunConfig, train_judge
from protdidi.tasks.mlm import mlm_corrupt


def test_mlm_corruption_is_15_percent_with_80_10_10(vocab):
    g = torch.Generator().manual_seed(0)
    x0 = torch.randint(4, 24, (200, 500), generator=g)
    valid = torch.ones_like(x0, dtype=torch.bool)
    valid[:, 450:] = False
    inputs, selected = mlm_corrupt(x0, valid, vocab, g)
    assert not selected[~valid].any()
    assert abs(selected[valid].float().mean().item() - 0.15) < 0.005
    masked = (inputs == vocab.mask_id) & selected
    same = (inputs == x0) & selected
    changed = selected & ~masked & ~same
    n = selected.sum().item()
    assert abs(masked.sum().item() / n - 0.8) < 0.01
    # a random replacement equals the original 1 time in 20, so "unchanged" is 10% + 10%/20
    assert abs(same.sum().item() / n - 0.105) < 0.01
    assert abs(changed.sum().item() / n - 0.095) < 0.01
    assert vocab.sampleable_mask()[inputs[changed]].all()
    assert torch.equal(inputs[~selected], x0[~selected])


def test_train_judge_writes_a_fair_esm_judge(tmp_path, toy_fasta):
    cfg = load_config(JudgeRunConfig, None, [
        f"data.fasta={toy_fasta}", "model.num_layers=1", "model.embed_dim=32", "model.attention_heads=4",
        "train.steps=6", "train.batch_size=8", "train.eval_every=3", "train.save_every=3", "train.log_every=1",
        "data.max_length=32", "device=cpu"])
    report = train_judge(cfg, tmp_path / "run")
    pt = tmp_path / "run" / "best" / JUDGE_FILE
    judge = load_judge(str(pt))
    assert judge.model.cfg.token_dropout and judge.model.cfg.num_layers == 1
    assert set(report) >= {"test_pppl", "shuffled_test_pppl", "fast_vs_exact_pearson_nll",
                           "natural_beats_its_shuffle", "unigram_ppl_same_residues"}
    assert json.loads((tmp_path / "run" / "report.json").read_text()) == report
    # A finished run resumed with --ship trains nothing and writes the float16 copy with its own report.
    shipped = train_judge(cfg, tmp_path / "run", resume=True, ship_to=tmp_path / "ship")
    stored = torch.load(tmp_path / "ship" / JUDGE_FILE, weights_only=False)["model"]
    assert {v.dtype for v in stored.values() if v.is_floating_point()} == {torch.float16}
    half = load_judge(str(tmp_path / "ship" / JUDGE_FILE)).model
    assert next(half.parameters()).dtype == torch.float32
    full = dict(judge.model.named_parameters())
    assert all(torch.equal(p, full[k].half().float()) for k, p in half.named_parameters())
    assert json.loads((tmp_path / "ship" / "report.json").read_text()) == shipped
    assert shipped["test_pppl"] == pytest.approx(report["test_pppl"], rel=1e-2)
    assert {p.name for p in (tmp_path / "ship").iterdir()} == {JUDGE_FILE, "report.json", "config.yaml",
                                                              "log.jsonl", "loss.png"}
    log = [json.loads(x) for x in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert any("valid_mlm_ce" in r for r in log)
