"""`protdidi train-judge`: train the project judge (ESM-2 recipe MLM on the training split)."""

from __future__ import annotations

import json

import click

from protdidi.cli import cli
from protdidi.cli.options import run_options


@cli.command("train-judge")
@run_options("configs/judge-cath.yaml")
@click.option("--ship", "ship_to", default=None, type=click.Path(file_okay=False), metavar="DIR",
              help="Also write the best judge to DIR as a float16 fair-esm .pt with its report "
                   "(the shipped copy is protdidi/assets/protdidi-cath-judge).")
def train_judge(config_path, data, overrides, run_dir, resume, stop_at, ship_to):
    """Train protdidi-cath-judge, saved as a fair-esm .pt under RUN_DIR/best/ (with report.json).

    With --resume on a finished run, nothing is trained: the report (and --ship copy) is written again."""
    from pathlib import Path

    from protdidi.config import load_config
    from protdidi.domains.protein.evaluation.judge_training import JudgeRunConfig
    from protdidi.domains.protein.evaluation.judge_training import train_judge as run

    overrides = list(overrides) + ([f"data.fasta={data}"] if data else [])
    cfg = load_config(JudgeRunConfig, config_path, overrides)
    click.echo(json.dumps(run(cfg, Path(run_dir), resume=resume, stop_at=stop_at, ship_to=ship_to), indent=1))
