"""`protdidi train-evaluator`: the small causal LM that scores text GenPPL offline (not GPT-2 Large)."""

from __future__ import annotations

import json

import click

from protdidi.cli import cli
from protdidi.cli.options import run_options


@cli.command("train-evaluator")
@run_options("configs/text-evaluator.yaml")
def train_evaluator(config_path, data, overrides, run_dir, resume, stop_at):
    """Train a GPT-2-architecture causal LM on a text corpus; RUN_DIR/best/ is an HF directory that
    `protdidi evaluate --domain text --evaluator RUN_DIR/best` reads. It names itself in every report."""
    from pathlib import Path

    from protdidi.config import load_config
    from protdidi.domains.text.causal_lm import CausalLmRunConfig, train_causal_lm

    cfg = load_config(CausalLmRunConfig, config_path, list(overrides) + ([f"data.path={data}"] if data else []))
    click.echo(json.dumps(train_causal_lm(cfg, Path(run_dir), resume=resume, stop_at=stop_at), indent=1))
