"""`protdidi train-teacher`: train the masked-diffusion protein teacher."""

from __future__ import annotations

import json

import click

from protdidi.cli import cli
from protdidi.cli.options import KeyValue


@cli.command("train-teacher")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, metavar="YAML",
              help="Run config (configs/teacher-cath.yaml); defaults are used for keys it omits.")
@click.option("--data", default=None, metavar="FASTA", help="Training FASTA (overrides data.fasta).")
@click.option("--set", "overrides", multiple=True, type=KeyValue(), help="Override a config key, e.g. train.lr=3e-4.")
@click.option("-o", "--output", "run_dir", required=True, type=click.Path(file_okay=False), metavar="RUN_DIR")
@click.option("--resume", is_flag=True, help="Continue the run in RUN_DIR from its last checkpoint.")
@click.option("--stop-at", type=int, default=None, metavar="STEP",
              help="Checkpoint and stop after STEP (the schedule still spans train.steps); finish later with --resume.")
def train_teacher(config_path, data, overrides, run_dir, resume, stop_at):
    """Train a masked-diffusion teacher on a protein FASTA (split by id hash into train/valid/test).

    Writes RUN_DIR/config.yaml, log.jsonl, loss.png, last/ (with trainer_state.pt), best/ and report.json.
    """
    from pathlib import Path

    from protdidi.config import load_config
    from protdidi.domains.protein.teacher import TeacherRunConfig
    from protdidi.domains.protein.teacher import train_teacher as run

    overrides = list(overrides) + ([f"data.fasta={data}"] if data else [])
    cfg = load_config(TeacherRunConfig, config_path, overrides)
    report = run(cfg, Path(run_dir), resume=resume, stop_at=stop_at)
    click.echo(json.dumps(report, indent=1))
