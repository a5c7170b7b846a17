"""Atomic output: write to a temporary file (or directory) beside the target, fsync, then rename; `-` is stdout."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from protdidi.errors import UserError


def check_output_location(path: str | Path, directory: bool = True) -> None:
    """Fail before any work when `path` cannot be written: the nearest existing folder above it must be a writable
    directory, and an existing `path` must be a directory (`directory`) or a file (not `directory`)."""
    path = Path(path).absolute()
    if path.exists() and path.is_dir() != directory:
        raise UserError(f"{path}: exists and is {'not ' if directory else ''}a directory")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"{path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{path}: cannot write in {parent} (permission denied)")


def write_file_atomic(path: str | Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp_path)` on a temporary file beside `path`, fsync it, then rename it over `path`. A failure
    (or an interrupt) leaves no file and no partial file behind."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, write: Callable[[TextIO], None]) -> None:
    """Call `write(handle)` on a text file written atomically (`write_file_atomic`); `-` writes to stdout."""
    if str(path) == "-":
        write(sys.stdout)
        sys.stdout.flush()
        return

    def through_handle(tmp: Path) -> None:
        with open(tmp, "w") as handle:
            write(handle)

    write_file_atomic(path, through_handle)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_dir_atomic(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp_dir)`, fsync and open up (0644 files, 0755 dirs) everything in it, then swap it into
    `path` (replacing an old one). A failure leaves the old directory (if any) and no partial one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        write(tmp)
        for f in tmp.rglob("*"):
            if f.is_dir():
                f.chmod(0o755)
                continue
            with open(f, "rb") as handle:
                os.fsync(handle.fileno())
            f.chmod(0o644)
        tmp.chmod(0o755)  # mkdtemp makes 0700; outputs are ordinary shared directories
        _fsync_dir(tmp)
        old = path.with_name(f".{path.name}.old")
        had_old = path.exists()
        if had_old:
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
        if had_old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path
