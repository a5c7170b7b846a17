"""`protdidi finetune`: a teacher fine-tuned on one family with the packaged small-data defaults, end to end on a
toy family (then generated from), and the defaults themselves loading strictly."""

from __future__ import annotations

import json

import yaml

from protdidi.config import load_config, to_dict
from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
from protdidi.domains.protein.teacher import TeacherRunConfig
from protdidi.generation.driver import generate
from protdidi.generation.request import Request

SMALL = ["data.max_length=32", "train.batch_size=4", "train.steps=12", "train.eval_every=3", "train.save_every=6",
         "train.eval_batch_size=16", "train.warmup_steps=2", "device=cpu"]


def test_the_small_data_defaults_load_strictly_and_start_from_the_shipped_teacher():
    cfg = load_config(TeacherRunConfig, PROTEIN.finetune_config)
    written = yaml.safe_load(PROTEIN.finetune_config.read_text())
    assert cfg.model.init == "teacher" and cfg.data.test_frac == 0 and cfg.data.valid_frac == 0.1
    assert cfg.train.patience is not None and cfg.train.ema == 0
    assert {k: v for k, v in to_dict(cfg.train).items() if k in written["train"]} == \
        {k: tuple(v) if isinstance(v, list) else v for k, v in written["train"].items()}


def test_finetune_trains_from_the_init_model_and_the_result_generates(tmp_path, toy_fasta):
    from protdidi.cli import main

    run = tmp_path / "my-family"
    try:
        main(["finetune", str(toy_fasta), "-o", str(run), *(a for s in SMALL for a in ("--set", s))])
    except SystemExit as exc:
        assert exc.code in (0, None)
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["model"]["init"] == "teacher" and saved["name"] == "my-family"
    assert saved["data"]["fasta"] == str(toy_fasta) and saved["train"]["steps"] == 12
    report = json.loads((run / "report.json").read_text())
    assert report["splits"]["test"] == 0 and report["splits"]["valid"] > 0
    base = PROTEIN.load_model("teacher")
    tuned = PROTEIN.load_model(str(run / "best"))
    assert tuned.name == "my-family"
    assert tuned.denoiser.backbone.cfg.to_dict() == {**base.denoiser.backbone.cfg.to_dict(), "dropout": 0.1,
                                                    "token_dropout": False, "max_length": 32}
    assert any(not bool((a == b).all()) for a, b in zip(tuned.denoiser.state_dict().values(),
                                                        base.denoiser.state_dict().values(), strict=True))
    assert max(int(k) for k in tuned.lengths) < 40  # the family's own lengths, not CATH's
    gen = generate(PROTEIN, tuned, Request(3, 4, 0, batch_size=8))
    assert len(gen.records) == 3 and all(len(r.seq) < 40 for r in gen.records)
