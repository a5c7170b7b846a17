"""`protdidi train-teacher`: train a masked-diffusion teacher (protein ESM-2-shaped, or text DiT)."""

from __future__ import annotations

import json

import click

from protdidi.cli import cli
from protdidi.cli.options import data_override, domain_option, run_options


@cli.command("train-teacher")
@domain_option
@run_options("configs/teacher-cath.yaml or configs/text-teacher.yaml")
def train_teacher(domain, config_path, data, overrides, run_dir, resume, stop_at):
    """Train a masked-diffusion teacher with MDLM's NELBO.

    Proteins: a FASTA split by id hash. Text: a corpus packed into BOS…EOS windows, split contiguously.
    Writes RUN_DIR/config.yaml, log.jsonl, loss.png, last/ (with trainer_state.pt), best/ and report.json.
    """
    from pathlib import Path

    from protdidi.config import load_config

    if domain == "text":
        from protdidi.domains.text.teacher import TextTeacherRunConfig as Config
        from protdidi.domains.text.teacher import train_text_teacher as run
    else:
        from protdidi.domains.protein.teacher import TeacherRunConfig as Config
        from protdidi.domains.protein.teacher import train_teacher as run

    cfg = load_config(Config, config_path, list(overrides) + data_override(domain, data))
    report = run(cfg, Path(run_dir), resume=resume, stop_at=stop_at)
    click.echo(json.dumps(report, indent=1))
