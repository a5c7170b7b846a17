"""Loading a Hugging Face model or tokenizer by hub name without stalling on a machine that has no internet.

`from_hub(load, spec)` first calls `load(spec, local_files_only=True)`: a local directory, or a copy already in
the HF cache, loads with no network at all. Only when that fails does it go to the hub, and only if the hub can
be reached: with `HF_HUB_OFFLINE` set, or when the hub's host name does not resolve, the local failure is
raised at once. (The hub client itself retries an unreachable host with backoff, about 23 s per file and a
warning per try, before it gives up.)
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

T = TypeVar("T")


def hub_reachable() -> bool:
    """False when offline mode is set or the hub's host does not resolve; True means "worth a try"."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    host = urlparse(constants.ENDPOINT).hostname
    try:
        socket.getaddrinfo(host, 443)
    except (OSError, UnicodeError):
        return False
    return True


def from_hub(load: Callable[..., T], spec: str) -> T:
    """`load(spec)` (a `from_pretrained`), local files first; the hub only when they fail and it is reachable."""
    try:
        return load(spec, local_files_only=True)
    except (OSError, ValueError):
        if Path(spec).is_dir() or not hub_reachable():
            raise
    return load(spec)
