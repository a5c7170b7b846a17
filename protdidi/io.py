"""Atomic output: write to a temporary file (or directory) beside the target, fsync, then rename; `-` is stdout."""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from protdidi.errors import CheckpointError, UserError


class OutputClosed(Exception):
    """stdout's reader went away (`protdidi generate -o - | head`): the command ends quietly with exit 0."""


def decode_text(raw: bytes, source) -> str:
    """UTF-8 text, or a `UserError` naming `source` (a NUL byte marks a binary file)."""
    if b"\0" not in raw:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
    raise UserError(f"{source}: not UTF-8 text (a binary file?)")


def read_json_object(path: str | Path) -> dict:
    """A JSON file that must hold an object (a model's config.json, vocab.json ...): missing, unreadable, not
    UTF-8, not JSON or not an object is a `CheckpointError` naming the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing") from None
    except OSError as err:
        raise CheckpointError(f"{path}: unreadable ({err.strerror})") from None
    except UnicodeDecodeError:
        raise CheckpointError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}: not valid JSON ({err.msg})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: not a JSON object")
    return data


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
    if not directory and str(path).endswith(("/", os.sep)):
        raise UserError(f"{path}: names a directory (ends in /); give a file name")
    path = Path(path).absolute()
    existing = next(p for p in path.parents if os.path.isdir(p))  # os.path: no OSError for overlong names
    too_long = [p.name for p in (path, *path.parents) if len(os.fsencode(p.name)) > _name_max(existing)]
    if too_long:
        raise UserError(f"{path}: the name {too_long[0][:40]}... is longer than the file system allows")
    kind = writable_kind(path)
    if kind is not None and directory:
        raise UserError(f"{path}: exists and is a {kind}, not a directory")
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


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def temp_prefix(path: Path) -> str:
    """`.NAME.` for a temporary sibling of `path`, NAME cut so that the temporary name fits where `path` fits."""
    return f".{path.name[:64]}."


def special_kind(path: Path) -> str | None:
    """What an existing `path` is when it is not a regular file or directory ('FIFO', 'character device', ...,
    following symbolic links), else None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    kinds = {stat.S_ISFIFO: "FIFO", stat.S_ISCHR: "character device", stat.S_ISBLK: "block device",
             stat.S_ISSOCK: "socket"}
    return next((name for test, name in kinds.items() if test(mode)), None)


STREAMED = ("FIFO", "character device")  # written into as they are; never replaced


def writable_kind(path: Path) -> str | None:
    """`special_kind(path)`, refusing the kinds protdidi never writes (sockets, block devices)."""
    kind = special_kind(path)
    if kind is not None and kind not in STREAMED:
        raise UserError(f"{path}: is a {kind}; protdidi writes regular files, FIFOs and character devices only")
    return kind


def write_file_atomic(path: str | Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp_path)` on a temporary file beside `path`, fsync it, then rename it over `path`. A failure
    (or an interrupt) leaves no file and no partial file behind. What is not a regular file is never replaced: a
    FIFO or character device (`/dev/null`, `/dev/stdout`) is written into directly, a symbolic link's target is
    replaced (the link stays), and a socket or block device is refused."""
    path = Path(path)
    if writable_kind(path) is not None:  # a FIFO or character device: written into as it is
        try:
            write(path)
        except OSError as err:
            raise_if_full(err, path)
            raise
        return
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    if not path.absolute().parent.is_dir():
        raise UserError(f"{path}: no such directory {path.absolute().parent}")
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        raise_if_full(err, path)
        raise


FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def raise_if_full(err: BaseException, path: Path) -> None:
    """A write that ran out of room (disk full, quota, file size limit) is the user's to fix: one line."""
    if isinstance(err, OSError) and err.errno in FULL:
        raise UserError(f"{path}: {os.strerror(err.errno).lower()}; nothing was written") from None


def check_free_space(path: str | Path, need_bytes: int) -> None:
    """Before any work: refuse an output whose folder has less free space than `need_bytes` (a lower bound of
    what will be written). `-` and devices are not checked."""
    if str(path) == "-" or special_kind(Path(path)) is not None:
        return
    free = shutil.disk_usage(Path(path).absolute().parent).free
    if free < need_bytes:
        raise UserError(f"{path}: needs at least {need_bytes / 2**20:.1f} MiB, and its file system has "
                        f"{free / 2**20:.1f} MiB free")


def write_text_atomic(path: str | Path, write: Callable[[TextIO], None]) -> None:
    """Call `write(handle)` on a text file written atomically (`write_file_atomic`); `-` writes to stdout."""
    if str(path) == "-":
        try:
            write(sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:  # the reader closed the pipe (`| head`): not an OSError for click to report
            raise OutputClosed from None
        return

    def through_handle(tmp: Path) -> None:
        with open(tmp, "w") as handle:
            write(handle)

    write_file_atomic(path, through_handle)
