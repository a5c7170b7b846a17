"""`protdidi train-judge`: train the project judge (ESM-2 recipe MLM on the training split)."""

from __future__ import annotations

import json

import click

from protdidi.cli import cli
from protdidi.cli.options import KeyValue


@cli.command("train-judge")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, metavar="YAML",
              help="Run config (configs/judge-cath.yaml); defaults are used for keys it omits.")
@click.option("--data", default=None, metavar="FASTA", help="Training FASTA (overrides data.fasta).")
@click.option("--set", "overrides", multiple=True, type=KeyValue(), help="Override a config key.")
@click.option("-o", "--output", "run_dir", required=True, type=click.Path(file_okay=False), metavar="RUN_DIR")
@click.option("--resume", is_flag=True, help="Continue the run in RUN_DIR from its last checkpoint.")
@click.option("--stop-at", type=int, default=None, metavar="STEP", help="Checkpoint and stop after STEP.")
def train_judge(config_path, data, overrides, run_dir, resume, stop_at):
    """Train protdidi-cath-judge, saved as a fair-esm .pt under RUN_DIR/best/ (with report.json)."""
    from pathlib import Path

    from protdidi.config import load_config
    from protdidi.domains.protein.judge import JudgeRunConfig
    from protdidi.domains.protein.judge import train_judge as run

    overrides = list(overrides) + ([f"data.fasta={data}"] if data else [])
    cfg = load_config(JudgeRunConfig, config_path, overrides)
    click.echo(json.dumps(run(cfg, Path(run_dir), resume=resume, stop_at=stop_at), indent=1))
