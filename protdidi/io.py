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


def decode_text(raw: bytes, source) -> str:
    """UTF-8 text, or a `UserError` naming `source` (a NUL byte marks a binary file)."""
    if b"\0" not in raw:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
    raise UserError(f"{source}: not UTF-8 text (a binary file?)")


def _exists(path) -> bool:
    try:
        return Path(path).exists()
    except OSError:  # e.g. an inline sequence too long to be a file name
        return False


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def check_output_location(path: str | Path, directory: bool = True, inputs: tuple = (),
                          marker: str | None = None) -> None:
    """Fail before any work when `path` cannot (or must not) be written. A file output (not `directory`) needs an
    existing, writable folder; a directory output may be created with its parents, under a writable folder. An
    existing `path` must be of the right kind; a directory output that replaces an existing directory must find it
    empty or holding an earlier output (its `marker` file). No input (paths that exist) may be the output, or lie
    inside a directory output that replaces what is there. `-` (stdout) always passes."""
    if str(path) == "-" and not directory:
        return
    path = Path(path).absolute()
    if path.exists() and path.is_dir() != directory:
        raise UserError(f"{path}: exists and is {'a file, not a' if directory else 'a'} directory")
    parent = path.parent
    if not directory and not parent.exists():
        raise UserError(f"{path}: no such directory {parent}")
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"{path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{path}: cannot write in {parent} (permission denied or read-only)")
    for given in inputs:
        if given is None or str(given) == "-" or not _exists(given):
            continue  # not a path (an inline sequence, a model name): nothing to protect
        given = Path(given).absolute()
        if _same(given, path):
            raise UserError(f"{path}: is also an input; choose another output")
        if marker is not None and path.resolve() in given.resolve().parents:
            raise UserError(f"{path}: replacing it would delete the input {given}; choose another output")
    if marker is not None and directory and path.is_dir():
        check_replaceable(path, marker)


def check_replaceable(path: Path, marker: str) -> None:
    """An existing directory that an output replaces must be empty or hold an earlier output (its `marker`)."""
    if any(path.iterdir()) and not (path / marker).exists():
        raise UserError(f"{path}: exists and holds other files (no {marker}); protdidi replaces only an empty "
                        "directory or its own earlier output")


def write_file_atomic(path: str | Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp_path)` on a temporary file beside `path`, fsync it, then rename it over `path`. A failure
    (or an interrupt) leaves no file and no partial file behind."""
    path = Path(path)
    if not path.absolute().parent.is_dir():
        raise UserError(f"{path}: no such directory {path.absolute().parent}")
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


def write_dir_atomic(path: str | Path, write: Callable[[Path], None], marker: str) -> Path:
    """Call `write(tmp_dir)`, fsync and open up (0644 files, 0755 dirs) everything in it, then swap it into
    `path`, replacing an empty directory or an earlier output (one that holds `marker`, a file `write` writes) and
    nothing else (`check_replaceable`). A failure leaves the old directory (if any) and no partial one."""
    path = Path(path)
    if path.is_dir():
        check_replaceable(path, marker)
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
