"""Shared click option types."""

from __future__ import annotations

import click

from protdidi.config import MAX_SEED
from protdidi.domains import DOMAIN_HELP, DOMAINS


class KeyValue(click.ParamType):
    """`section.key=value` override strings."""

    name = "KEY=VALUE"

    def convert(self, value, param, ctx):
        if "=" not in value or value.startswith("="):
            self.fail(f"{value!r} is not KEY=VALUE", param, ctx)
        return value


def positive_int(name: str):
    def check(ctx, param, value):
        if value is not None and value < 1:
            raise click.BadParameter(f"must be >= 1 (got {value})", ctx=ctx, param_hint=name)
        return value

    return check


def seed_option(f):
    return click.option("--seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True,
                        help="Random seed (0..2^63-1); same seed, same output.")(f)


def domain_option(f):
    return click.option("--domain", type=click.Choice(DOMAINS.names()), default="protein", show_default=True,
                        help=DOMAIN_HELP)(f)


def data_override(domain, data: str | None) -> list[str]:
    """`--data` as a config override of the domain's data key (data.fasta for proteins, data.path for text)."""
    return [f"{domain.data_key}={data}"] if data else []


def _quiet(ctx, param, value: bool) -> None:
    from protdidi.progress import show_progress

    show_progress(not value)


def run_dir_options(f):
    """The options of every training run after its inputs: --set, -o RUN_DIR, --resume, --stop-at, --quiet."""
    for option in reversed([
        click.option("--set", "overrides", multiple=True, type=KeyValue(),
                     help="Override a config key, e.g. train.lr=3e-4."),
        click.option("-o", "--output", "run_dir", required=True, type=click.Path(file_okay=False), metavar="RUN_DIR"),
        click.option("--resume", is_flag=True, help="Continue the run in RUN_DIR from its last checkpoint."),
        click.option("--stop-at", type=int, default=None, metavar="STEP",
                     help="Checkpoint and stop after STEP (the schedule still spans all steps); "
                          "finish later with --resume."),
        click.option("--quiet", is_flag=True, expose_value=False, callback=_quiet,
                     help="No progress lines (by default one per logged step on stderr: loss, rate, ETA)."),
    ]):
        f = option(f)
    return f


def run_options(example_config: str):
    """The options every training command shares: --config, --data, then `run_dir_options`."""

    def decorate(f):
        f = run_dir_options(f)
        for option in reversed([
            click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, metavar="YAML",
                         help=f"Run config ({example_config}); defaults are used for keys it omits."),
            click.option("--data", default=None, metavar="FASTA|TEXT",
                         help="Training data: a FASTA (proteins; data.fasta) or a text file/dir (text; data.path)."),
        ]):
            f = option(f)
        return f

    return decorate
