"""`protdidi finetune`: a trained teacher fine-tuned on one protein family, with small-data defaults."""

from __future__ import annotations

import json

import click

from protdidi.cli import cli
from protdidi.cli.options import domain_option, run_dir_options


@cli.command()
@domain_option
@click.argument("family", metavar="FAMILY.fasta")
@click.option("--init", "init", default="teacher", show_default=True, metavar="NAME|DIR|FILE",
              help="The teacher to start from: a shipped name, a protdidi checkpoint directory, fair-esm .pt or HF "
                   "EsmForMaskedLM dir.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, metavar="YAML",
              help="Start from this YAML instead of the small-data defaults (protdidi/assets/configs/"
                   "finetune-family.yaml in the installed package); RUN_DIR/config.yaml keeps what ran.")
@run_dir_options
def finetune(domain, family, init, config_path, overrides, run_dir, resume, stop_at):
    """Fine-tune a teacher on FAMILY.fasta (one protein family, 50 to 5,000 sequences).

    A tenth of the family (by id hash) is held out for validation; the best validation checkpoint is kept in
    RUN_DIR/best and the run stops once it stops improving. Then distil it (`protdidi distill --teacher
    RUN_DIR/best`) or generate from it (`protdidi generate --model RUN_DIR/best`). The model is named for RUN_DIR.
    """
    from pathlib import Path

    from protdidi.config import load_config
    from protdidi.domains import DOMAINS
    from protdidi.errors import UserError

    plugin = DOMAINS.get(domain)
    if plugin.finetune_config is None:
        raise UserError(f"finetune has no small-data config for --domain {domain}; use train-teacher with "
                        "--set model.init=MODEL")
    overrides = [f"model.init={init}", f"{plugin.data_key}={family}", *overrides]
    cfg = load_config(plugin.teacher_config, config_path or plugin.finetune_config, overrides)
    click.echo(json.dumps(plugin.train_teacher(cfg, Path(run_dir), resume=resume, stop_at=stop_at), indent=1))
