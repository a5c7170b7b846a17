"""Bringing files back from a lent GPU: the device returns at most 8 files of 16 MiB each, so what a device run
keeps goes into one tar cut into parts, each with its sha256 (and the whole tar's), and is checked, joined and
unpacked here. Shared by the one-call device scripts (gpu_teacher.py, gpu_text_didi.py)."""

from __future__ import annotations

import hashlib
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def pack_parts(members: list[tuple[Path, str]], name: str, out: Path, part_bytes: int, work: Path
               ) -> tuple[str, list[dict]]:
    """`members` (path, name inside the tar) as `out/<name>.tar.NN` parts of at most `part_bytes`; returns (sha256
    of the whole tar, [{file, bytes, sha256}] of its parts)."""
    bundle = work / f"{name}.tar"
    with tarfile.open(bundle, "w") as tar:
        for path, arcname in members:
            tar.add(path, arcname=arcname)
    parts, whole = [], hashlib.sha256()
    with open(bundle, "rb") as src:
        for i, chunk in enumerate(iter(lambda: src.read(part_bytes), b"")):
            part = out / f"{name}.tar.{i:02d}"
            part.write_bytes(chunk)
            whole.update(chunk)
            parts.append({"file": part.name, "bytes": len(chunk), "sha256": hashlib.sha256(chunk).hexdigest()})
    bundle.unlink()
    return whole.hexdigest(), parts


@contextmanager
def joined_parts(src: Path, parts: list[dict], tar_sha256: str, who: str) -> Iterator[Path]:
    """The parts in `src` checked against their manifest entries, joined and unpacked into a temporary folder
    (yielded; removed afterwards). A missing or damaged part ends the program with one line naming it."""
    missing = [p["file"] for p in parts if not (src / p["file"]).is_file()]
    if missing:
        sys.exit(f"{who}: {src} lacks {', '.join(missing)} (incomplete transfer?)")
    with tempfile.TemporaryDirectory() as tmp:
        bundle, whole = Path(tmp) / "bundle.tar", hashlib.sha256()
        with open(bundle, "wb") as joined:
            for part in parts:
                data = (src / part["file"]).read_bytes()
                if hashlib.sha256(data).hexdigest() != part["sha256"]:
                    sys.exit(f"{who}: {part['file']} does not match manifest.json (incomplete transfer?)")
                joined.write(data)
                whole.update(data)
        if whole.hexdigest() != tar_sha256:
            sys.exit(f"{who}: the joined parts do not match manifest.json")
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(bundle) as tar:
            tar.extractall(unpacked, filter="data")
        bundle.unlink()
        yield unpacked
