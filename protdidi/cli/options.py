"""Shared click option types."""

from __future__ import annotations

import click


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
