"""`protdidi train-teacher`: train the masked-diffusion protein teacher."""

from __future__ import annotations

import json

import click

from protdidi.cli import cli
from protdidi.cli.options import run_options


@cli.command("train-teacher")
@run_options("configs/teacher-cath.yaml")
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
