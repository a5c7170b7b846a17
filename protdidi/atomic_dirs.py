"""Directory outputs written atomically (checkpoints, reports, tokenizers), the completion of a swap that a kill
interrupted, and the lock that keeps one process per run directory."""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from protdidi.errors import UserError
from protdidi.io import check_replaceable, raise_if_full, temp_prefix


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap_leftovers(path: Path, suffix: str) -> list[Path]:
    """Siblings of `path` that `write_dir_atomic` made for it and left behind (`.NAME.XXXXXXXX<suffix>`), newest
    first. Only names of that exact shape are ever touched: a user's `.NAME.old` is not one."""
    prefix = temp_prefix(path)
    found = [p for p in path.parent.glob(f"{glob.escape(prefix)}*{suffix}")
             if p.is_dir() and len(p.name) == len(prefix) + 8 + len(suffix)]
    return sorted(found, key=lambda p: p.stat().st_mtime_ns, reverse=True)


def finish_swap(path: str | Path) -> bool:
    """Complete a `write_dir_atomic` into `path` that was killed part-way, and remove what it left: a finished new
    directory (`.ready`) takes `path`'s place, a `path` moved aside (`.old`) comes back if nothing took its place,
    and unfinished temporaries (`.tmp`) go. Call it only while no other process writes `path` (a run's lock).
    Returns whether anything was left to finish or remove."""
    path = Path(path)
    ready, old, tmp = (_swap_leftovers(path, s) for s in (".ready", ".old", ".tmp"))
    if ready:
        if path.exists():
            aside = Path(tempfile.mkdtemp(prefix=temp_prefix(path), suffix=".old", dir=path.parent))
            os.replace(path, aside)
            old.append(aside)
        os.replace(ready.pop(0), path)
    elif old and not path.exists():
        os.replace(old.pop(0), path)
    for leftover in [*ready, *old, *tmp]:
        shutil.rmtree(leftover, ignore_errors=True)
    if ready or old or tmp:
        _fsync_dir(path.parent)
    return bool(ready or old or tmp)


def write_dir_atomic(path: str | Path, write: Callable[[Path], None], marker: str) -> Path:
    """Call `write(tmp_dir)`, fsync and open up (0644 files, 0755 dirs) everything in it, then swap it into
    `path`, replacing an empty directory or an earlier output (one that holds `marker`, a file `write` writes) and
    nothing else (`check_replaceable`). A failure leaves the old directory (if any) and no partial one.

    The swap is two renames, with a complete directory always on disk: the finished temporary is first renamed to
    `.NAME.XXXXXXXX.ready`, the old `path` to `.NAME.XXXXXXXX.old`, then the ready one to `path`. A process
    killed between them leaves names that `finish_swap` completes. Every name used is new (mkdtemp), so nothing
    this function did not create is ever removed."""
    path = Path(path)
    if path.is_dir():
        check_replaceable(path, marker)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent))
    made = [tmp]
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
        ready = Path(str(tmp)[: -len(".tmp")] + ".ready")
        os.replace(tmp, ready)
        made = [ready]
        _fsync_dir(path.parent)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=temp_prefix(path), suffix=".old", dir=path.parent))
            os.replace(path, old)  # onto the empty directory just made: replaced atomically
            made.append(old)
        os.replace(ready, path)
        _fsync_dir(path.parent)
        made.remove(ready)
    except BaseException as err:
        if len(made) == 2 and not path.exists():  # failed between the renames: the old directory goes back
            os.replace(made.pop(), path)
        for leftover in made:
            shutil.rmtree(leftover, ignore_errors=True)
        raise_if_full(err, path)
        raise
    for leftover in made:  # the old directory
        shutil.rmtree(leftover, ignore_errors=True)
    return path


def swap_pending(path: str | Path) -> bool:
    """Whether a killed `write_dir_atomic` into `path` left anything for `finish_swap`."""
    path = Path(path)
    return path.parent.is_dir() and any(_swap_leftovers(path, s) for s in (".ready", ".old", ".tmp"))


class DirLock:
    """An exclusive lock on a directory (a POSIX record lock on its `.lock` file), held until the process ends: one
    process writes a run directory at a time. Taking a lock another process holds is a
    `UserError`, at once. (POSIX locks belong to the process, so one process may lock a directory again, as the
    Python API does when it resumes a run it has just stopped.)"""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # EACCES or EAGAIN: held by another process
            holder = os.read(self.fd, 64).decode(errors="replace").strip()
            os.close(self.fd)
            raise UserError(f"{self.path}: another protdidi process{f' (pid {holder})' if holder else ''} is "
                            "writing this run directory; wait for it or choose another") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode(), 0)
