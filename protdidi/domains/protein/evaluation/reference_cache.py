"""The reference rows of `protdidi evaluate` (natural reference and its controls), computed once and cached.

Each part is stored under the sha256 of exactly what it depends on: the rows (judge, metapredict and sequence
measures) under the judge's weights, the reference sequences and the settings; their novelty columns apart,
under the reference and training sequences, the search and the controls' seed, so that another training set
or `--novelty mmseqs` recomputes only the novelty search. Entries live in the user cache
(`$PROTDIDI_CACHE_DIR`, else `$XDG_CACHE_HOME/protdidi`, else `~/.cache/protdidi`), and for the defaults
(project judge, CATH test and train splits) inside the package, so that even a first call is fast. An entry
carries the sha256 of its own payload; one that does not parse or does not match is reported and recomputed,
never trusted. Writes are atomic; a cache directory that cannot be written is reported once and evaluation
goes on without it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from protdidi.assets import ASSETS
from protdidi.io import write_file_atomic

CACHE_ENV = "PROTDIDI_CACHE_DIR"
SHIPPED = ASSETS / "reference-rows"
ENTRY_FORMAT = "protdidi-reference-rows"


def cache_root() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "protdidi"


def path_digest(path: Path) -> str:
    """sha256 of a file, or of a directory's files (relative names and contents, in sorted order)."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(str(f.relative_to(path)).encode() if path.is_dir() else b"")
        with open(f, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def reference_key(judge_weights: Path | None, reference: list[str], train: list[str], settings: dict) -> str:
    """sha256 over the judge's weights (None: a part that no judge scores), the reference and training
    sequences, and the settings."""
    h = hashlib.sha256()
    for part in (path_digest(judge_weights) if judge_weights else "", "\n".join(reference), "\n".join(train),
                 json.dumps(settings, sort_keys=True)):
        h.update(hashlib.sha256(part.encode()).digest())
    return h.hexdigest()


def _payload_digest(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class ReferenceCache:
    """`load(key)` → (payload, where) or None; `store(key, payload)`; `fetch(key, compute)` does both.
    `warn` receives one line per problem."""

    def __init__(self, enabled: bool, warn: Callable[[str], None], root: Path | None = None):
        self.enabled, self.warn, self.unwritable = enabled, warn, False
        self.root = (root or cache_root()) / "reference-rows"

    def _read(self, path: Path, key: str) -> dict | None:
        try:
            entry = json.loads(path.read_text())
            ok = (entry.get("format") == ENTRY_FORMAT and entry.get("key") == key
                  and entry.get("sha256") == _payload_digest(entry["payload"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            self.warn(f"cache entry {path} is unreadable ({type(err).__name__}); recomputing it")
            return None
        if not ok:
            self.warn(f"cache entry {path} does not match its checksum; recomputing it")
            return None
        return entry["payload"]

    def load(self, key: str) -> tuple[dict, str] | None:
        if not self.enabled:
            return None
        for where, folder in (("user cache", self.root), ("shipped with protdidi", SHIPPED)):
            path = folder / f"{key}.json"
            if path.is_file():
                payload = self._read(path, key)
                if payload is not None:
                    return payload, f"{where} ({path})"
        return None

    def fetch(self, key: str, compute: Callable[[], dict]) -> tuple[dict, str]:
        """(payload, where it came from): the cached entry, else `compute()`, stored under `key`."""
        cached = self.load(key)
        if cached is not None:
            return cached
        payload = compute()
        self.store(key, payload)
        return payload, "computed" + ("" if self.enabled else " (--no-cache)")

    def store(self, key: str, payload: dict) -> None:
        """Write the entry atomically; a directory that cannot be written is reported once, then left alone."""
        if not self.enabled or self.unwritable:
            return
        entry = {"format": ENTRY_FORMAT, "key": key, "sha256": _payload_digest(payload), "payload": payload}
        text = json.dumps(entry) + "\n"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            write_file_atomic(self.root / f"{key}.json", lambda tmp: tmp.write_text(text))
        except OSError as err:
            self.unwritable = True
            self.warn(f"cannot write the cache directory {self.root} ({err.strerror or type(err).__name__}); "
                      "going on without a cache")
