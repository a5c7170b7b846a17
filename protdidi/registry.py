"""Name → plug-in tables that import a plug-in only when it is asked for.

The CLI lists the names (for `--help` and `click.Choice`) without importing torch; `get` imports the one plug-in a
command uses. Unknown names are a `UserError` that lists the known ones.
"""

from __future__ import annotations

import importlib

from protdidi.errors import UserError


class Registry:
    """`kind` names what the entries are ("domain", "method", "sampler"); `entries` maps names to
    "module:attribute"."""

    def __init__(self, kind: str, entries: dict[str, str]):
        self.kind, self._entries = kind, dict(entries)

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name: str):
        if name not in self._entries:
            raise UserError(f"unknown {self.kind} {name!r}; known: {', '.join(sorted(self._entries))}")
        module, attribute = self._entries[name].split(":")
        return getattr(importlib.import_module(module), attribute)

    def items(self):
        return [(name, self.get(name)) for name in self._entries]
