"""`protdidi distill`: teacher → few-step student."""

from __future__ import annotations

import json

import click

from protdidi.cli import cli
from protdidi.cli.options import run_options

DOMAINS = ("protein",)


@cli.command()
@click.option("--domain", type=click.Choice(DOMAINS), default="protein", show_default=True)
@click.option("--method", type=click.Choice(["didi", "idlm"]), default=None,
              help="Distillation method (overrides `method` in the config; default didi).")
@click.option("--teacher", default=None, metavar="NAME|DIR|FILE",
              help="Teacher: shipped name, protdidi checkpoint dir, fair-esm .pt or HF dir (overrides `teacher`).")
@run_options("configs/didi-protein.yaml")
def distill(domain, method, config_path, teacher, data, overrides, run_dir, resume, stop_at):
    """Distil a masked-diffusion teacher into a few-step student (DiDi-Instruct or IDLM).

    Writes RUN_DIR/config.yaml, log.jsonl, loss.png, last/ (student EMA, discriminator, trainer_state.pt)
    and best/. Runs under `torchrun --nproc_per_node=K` with DistributedDataParallel.
    """
    from pathlib import Path

    from protdidi.config import load_config
    from protdidi.domains.protein.distill import DistillRunConfig, run_distill

    overrides = list(overrides) + ([f"data.fasta={data}"] if data else []) + ([f"teacher={teacher}"] if teacher else [])
    overrides += [f"method={method}"] if method else []
    cfg = load_config(DistillRunConfig, config_path, overrides)
    result = run_distill(cfg, Path(run_dir), resume=resume, stop_at=stop_at)
    from protdidi.distributed import rank

    if rank() == 0:
        click.echo(json.dumps(result, indent=1))
