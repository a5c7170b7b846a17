"""Run directories under hostile or careless use: no code runs from a trainer state, a checkpoint save killed at any
of its steps resumes from the newest complete checkpoint exactly, two runs never share a directory, and the atomic
writers never replace or delete what they did not create."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from fixtures import write_toy_fasta
from test_training import TOY

from protdidi.atomic_dirs import finish_swap, write_dir_atomic
from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
from protdidi.errors import UserError
from protdidi.io import check_output_location, write_text_atomic

STEPS = 12


def teacher_args(fasta: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "protdidi", "train-teacher", "--data", str(fasta),
            *[a for s in TOY for a in ("--set", s)], "--set", f"train.steps={STEPS}", "-o", str(out), *extra]


def losses(run: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in map(json.loads, (run / "log.jsonl").open())]


def weights(run: Path) -> dict[str, torch.Tensor]:
    return PROTEIN.load_model(str(run / "last")).denoiser.state_dict()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted toy run (its fasta beside it), the result every interrupted one must reproduce."""
    root = tmp_path_factory.mktemp("ref")
    fasta = write_toy_fasta(root / "toy.fasta")
    subprocess.run(teacher_args(fasta, root / "run"), check=True, capture_output=True)
    return fasta, root / "run"


def test_a_trainer_state_that_names_code_is_refused_and_never_run(tmp_path, reference):
    fasta, _ = reference
    run = tmp_path / "run"
    subprocess.run([*teacher_args(fasta, run), "--stop-at", "4"], check=True, capture_output=True)
    marker = tmp_path / "owned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"step": 4, "best": 0.0, "task": {"x": Payload()}}, run / "last" / "trainer_state.pt")
    done = subprocess.run([*teacher_args(fasta, run), "--resume"], capture_output=True, text=True)
    assert done.returncode == 2 and not marker.exists()
    assert done.stderr.startswith("protdidi: error:") and "resume refused" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_log_line_cut_short_by_a_kill_is_dropped_on_resume(tmp_path, reference):
    fasta, ref = reference
    run = tmp_path / "run"
    subprocess.run([*teacher_args(fasta, run), "--stop-at", "4"], check=True, capture_output=True)
    with open(run / "log.jsonl", "a") as log:
        log.write('{"step": 5, "loss": 3.1')  # the process died while appending this record
    subprocess.run([*teacher_args(fasta, run), "--resume"], check=True, capture_output=True)
    assert losses(run) == losses(ref)


# A child that trains the toy teacher and SIGKILLs itself at one step of the second save of last/: after the
# n-th directory rename (1: temporary -> .ready, 2: last -> .old, 3: .ready -> last) or, for n = 0, while the new
# checkpoint's files are being written (at their first fsync).
KILLER = r"""
import os, signal, sys
import protdidi.checkpoint as ck
point, saves, events = int(sys.argv[1]), [], []
real_replace, real_fsync, real_write = os.replace, os.fsync, ck.write_dir_atomic

def armed():
    return len(saves) == 2

def replace(src, dst):
    real_replace(src, dst)
    if armed() and os.path.isdir(dst):
        events.append(dst)
        if len(events) == point:
            os.kill(os.getpid(), signal.SIGKILL)

def fsync(fd):
    if armed() and point == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    real_fsync(fd)

def write_dir_atomic(path, write, marker):
    if os.path.basename(str(path)) == "last":
        saves.append(path)
    return real_write(path, write, marker)

os.replace, os.fsync, ck.write_dir_atomic = replace, fsync, write_dir_atomic
sys.argv = ["protdidi", *sys.argv[2:]]
from protdidi.cli import main
main()
"""


@pytest.mark.parametrize("point", [0, 1, 2, 3])
def test_a_save_killed_at_any_step_resumes_exactly(tmp_path, reference, point):
    fasta, ref = reference
    run = tmp_path / "run"
    args = teacher_args(fasta, run)[3:]  # after "python -m protdidi"
    killed = subprocess.run([sys.executable, "-c", KILLER, str(point), *args], capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr[-2000:]  # it died inside the save of step 8
    if point == 2:  # the stranded case: no last/ at all, both complete checkpoints beside it
        assert not (run / "last").exists()
    fresh = subprocess.run(teacher_args(fasta, run), capture_output=True, text=True)
    assert fresh.returncode == 2 and "already holds a run" in fresh.stderr  # a fresh run never deletes it
    subprocess.run([*teacher_args(fasta, run), "--resume"], check=True, capture_output=True)
    assert losses(run) == losses(ref)
    a, b = weights(ref), weights(run)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == [".lock"]  # nothing left over


def test_a_second_run_into_the_same_directory_fails_at_once(tmp_path, reference):
    fasta, _ = reference
    run = tmp_path / "run"
    first = subprocess.Popen([*teacher_args(fasta, run), "--set", "train.steps=400"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run / "log.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    for extra in ([], ["--resume"]):
        second = subprocess.run([*teacher_args(fasta, run), "--set", "train.steps=400", *extra],
                                capture_output=True, text=True)
        assert second.returncode == 2, second.stderr
        assert len(second.stderr.strip().splitlines()) == 1 and "protdidi: error:" in second.stderr
    assert first.wait(timeout=600) == 0, first.stderr.read()[-2000:]
    steps = [r["step"] for r in losses(run) if "loss" in r]
    assert steps == list(range(1, 401)) and (run / "report.json").exists()  # the first run's log is its own


def test_the_directory_writer_removes_only_what_it_made(tmp_path):
    out = tmp_path / "out"
    mine = tmp_path / ".out.old"  # a user's own directory with the name the writer once used for its backup
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    for text in ("one", "two"):
        write_dir_atomic(out, lambda d, text=text: (d / "report.json").write_text(text), marker="report.json")
    assert (out / "report.json").read_text() == "two" and (mine / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.old", "out"]
    assert not finish_swap(out)  # nothing to finish


def test_a_failed_write_between_the_renames_puts_the_old_directory_back(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_dir_atomic(out, lambda d: (d / "report.json").write_text("old"), marker="report.json")
    real = os.replace
    calls = []

    def failing(src, dst):
        calls.append(dst)
        if len(calls) == 3:  # .ready -> out
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(UserError, match="no space left"):
        write_dir_atomic(out, lambda d: (d / "report.json").write_text("new"), marker="report.json")
    monkeypatch.setattr(os, "replace", real)
    assert (out / "report.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_special_files_are_written_into_or_refused_never_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    check_output_location(fifo, directory=False)
    write_text_atomic(fifo, lambda f: f.write(">a\nACD\n"))
    reader.join(timeout=30)
    assert got == [">a\nACD\n"] and fifo.is_fifo()

    target = tmp_path / "target.fa"
    target.write_text("old")
    link = tmp_path / "link.fa"
    link.symlink_to(target)
    write_text_atomic(link, lambda f: f.write("new"))
    assert link.is_symlink() and target.read_text() == "new"  # the link stays; its target gets the output

    sock_path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        for call in (lambda: check_output_location(sock_path, directory=False),
                     lambda: write_text_atomic(sock_path, lambda f: f.write("x"))):
            with pytest.raises(UserError, match="is a socket"):
                call()
    assert sock_path.is_socket()

    try:
        os.mknod(tmp_path / "null", 0o666 | 0o020000, os.makedev(1, 3))  # a /dev/null of our own (root only)
    except PermissionError:
        return
    write_text_atomic(tmp_path / "null", lambda f: f.write("discarded"))
    assert (tmp_path / "null").is_char_device()
