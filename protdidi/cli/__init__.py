"""`protdidi` command line: a click group whose errors are one line on stderr and a non-zero exit."""

from __future__ import annotations

import logging
import os
import signal
import sys

import click

from protdidi import __version__
from protdidi.errors import NonFiniteError, UserError
from protdidi.io import OutputClosed


class OrderedGroup(click.Group):
    def list_commands(self, ctx):
        return list(self.commands)


@click.group(cls=OrderedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="protdidi")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """Fast protein-sequence generation with distilled masked-diffusion models."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr,
                        force=True)
    from protdidi.progress import show_progress

    show_progress(True)  # a training command's --quiet turns it off
    if not verbose:  # the hub client's warnings (one per failed request) before the command's own error line
        os.environ.setdefault("HF_HUB_VERBOSITY", "error")


def fail(message: str, code: int = 2) -> None:
    click.echo(f"protdidi: error: {message}", err=True)
    sys.exit(code)


class Terminated(BaseException):
    """SIGTERM (a job scheduler's timeout, `kill`): unwinds like Ctrl-C, so that temporary files are removed."""


def _terminate(signum, frame):
    raise Terminated


def main(argv: list[str] | None = None) -> None:
    """Entry point: click usage errors and `UserError`s become one line on stderr, exit 2; Ctrl-C and SIGTERM one
    line, exit 130 / 143, after the atomic writers have removed their temporary files."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        cli.main(args=argv, prog_name="protdidi", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):  # click turns Ctrl-C inside a command into Abort
        fail("interrupted", 130)
    except Terminated:
        fail("terminated", 143)
    except click.ClickException as exc:
        fail(exc.format_message().replace("\n", " "), exc.exit_code or 2)
    except UserError as exc:
        fail(str(exc).replace("\n", " "))
    except NonFiniteError as exc:
        fail(f"training stopped: {exc}; the last good checkpoint is kept", 1)
    except (BrokenPipeError, OutputClosed):  # `protdidi generate -o - | head` is not an error: end quietly, exit 0
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's flush of stdout must not fail
        sys.exit(0)
    finally:
        signal.signal(signal.SIGTERM, previous)


from protdidi.cli import (  # noqa: E402,F401  (registers the subcommands)
    distill,
    evaluate,
    finetune,
    generate,
    train_evaluator,
    train_judge,
    train_teacher,
    train_tokenizer,
)
