"""`protdidi distill`: teacher → few-step student."""

from __future__ import annotations

import json

import click

from protdidi.cli import cli
from protdidi.cli.options import data_override, domain_option, run_options
from protdidi.methods import METHODS


@cli.command()
@domain_option
@click.option("--method", type=click.Choice(METHODS.names()), default=None,
              help="Distillation method (overrides `method` in the config; default idlm).")
@click.option("--teacher", default=None, metavar="NAME|DIR|FILE",
              help="Teacher (overrides `teacher`). Proteins: shipped name, protdidi checkpoint dir, fair-esm .pt or "
                   "HF EsmForMaskedLM dir. Text: protdidi text checkpoint dir, MDLM/DUO .ckpt or HF MDLM dir.")
@click.option("--tokenizer", default=None, metavar="DIR|NAME",
              help="Text teachers from .ckpt/HF dirs: their tokenizer (default gpt2; a local dir when offline).")
@run_options("configs/idlm-protein.yaml")
def distill(domain, method, config_path, teacher, tokenizer, data, overrides, run_dir, resume, stop_at):
    """Distil a masked-diffusion teacher into a few-step student (DiDi-Instruct or IDLM).

    Writes RUN_DIR/config.yaml, log.jsonl, loss.png, last/ (student EMA, discriminator, trainer_state.pt)
    and best/. Runs under `torchrun --nproc_per_node=K` with DistributedDataParallel.
    """
    from pathlib import Path

    from protdidi.config import load_config
    from protdidi.distributed import rank
    from protdidi.domains import DOMAINS
    from protdidi.methods.distillation import run_distillation

    plugin = DOMAINS.get(domain)
    plugin.check_options("distill", tokenizer=tokenizer)
    overrides = list(overrides) + data_override(plugin, data) + ([f"teacher={teacher}"] if teacher else [])
    overrides += ([f"method={method}"] if method else []) + ([f"tokenizer={tokenizer}"] if tokenizer else [])
    cfg = load_config(plugin.distill_config, config_path, overrides)
    result = run_distillation(plugin, cfg, Path(run_dir), resume=resume, stop_at=stop_at)
    if rank() == 0:
        click.echo(json.dumps(result, indent=1))
