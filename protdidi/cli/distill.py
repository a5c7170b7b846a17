"""`protdidi distill`: teacher → few-step student."""

from __future__ import annotations

import json

import click

from protdidi.cli import cli
from protdidi.cli.options import KeyValue

DOMAINS = ("protein",)


@cli.command()
@click.option("--domain", type=click.Choice(DOMAINS), default="protein", show_default=True)
@click.option("--method", type=click.Choice(["didi", "idlm"]), default=None,
              help="Distillation method (overrides `method` in the config; default didi).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, metavar="YAML",
              help="Run config (configs/didi-protein.yaml); defaults are used for keys it omits.")
@click.option("--teacher", default=None, metavar="NAME|DIR|FILE",
              help="Teacher: shipped name, protdidi checkpoint dir, fair-esm .pt or HF dir (overrides `teacher`).")
@click.option("--data", default=None, metavar="FASTA", help="Real-side FASTA (overrides data.fasta).")
@click.option("--set", "overrides", multiple=True, type=KeyValue(),
              help="Override a config key, e.g. didi.student_lr=1e-5.")
@click.option("-o", "--output", "run_dir", required=True, type=click.Path(file_okay=False), metavar="RUN_DIR")
@click.option("--resume", is_flag=True, help="Continue the run in RUN_DIR from its last checkpoint.")
@click.option("--stop-at", type=int, default=None, metavar="STEP",
              help="Checkpoint and stop after STEP (the schedule still spans loop.steps); finish later with --resume.")
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
