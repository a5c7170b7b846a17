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
    from protdidi.domains import DOMAINS

    plugin = DOMAINS.get(domain)
    cfg = load_config(plugin.teacher_config, config_path, list(overrides) + data_override(plugin, data))
    click.echo(json.dumps(plugin.train_teacher(cfg, Path(run_dir), resume=resume, stop_at=stop_at), indent=1))
