"""The README's examples run as written: its Python block, and every `protdidi` command of its ```bash blocks
except those marked as taking minutes or more (`# about N minutes`) and those after them in their block, in order,
in a fresh directory that sees the checkout's data/ and configs/ as a user's checkout would. The docs it links
exist, and it stays a first-ten-minutes page (at most 200 lines, no issue numbers)."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from protdidi.domains.protein.fasta import read_fasta

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def fenced(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def commands() -> list[tuple[str, bool]]:
    """(command, skipped) for every `protdidi` command of the bash blocks, continuation lines joined; skipped: it
    takes minutes (its comment says so), or a command before it in its block does (it needs that one's output)."""
    out = []
    for block in fenced("bash"):
        long = False
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            if line.startswith("protdidi "):
                command, _, comment = line.partition("#")
                long = long or bool(re.search(r"\bminutes?\b", comment))
                out.append((command.strip(), long))
    return out


@pytest.fixture
def checkout_like(tmp_path):
    for name in ("data", "configs"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


def test_readme_is_short_links_what_exists_and_cites_no_issues():
    assert len(README.splitlines()) <= 200
    assert not re.search(r"(?<![\w&])#\d+\b", README) and "session" not in README.lower()
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if not re.match(r"[a-z]+:", target):
            assert (ROOT / target).exists(), target


def test_readme_commands_run_as_written(checkout_like):
    cmds = commands()
    assert len(cmds) >= 8 and sum(not long for _, long in cmds) >= 5
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for command, long in cmds:
        if long:
            continue
        proc = subprocess.run(command, shell=True, cwd=checkout_like, capture_output=True, text=True, env=env)
        assert proc.returncode == 0, f"{command}\n{proc.stderr[-2000:]}"
    motifs = read_fasta(checkout_like / "motifs.fasta")
    assert len(motifs) == 10 and all("HHHEEKWR" in r.seq and "CPGC" in r.seq for r in motifs)
    redesigned = read_fasta(checkout_like / "redesigned.fasta")
    assert len(redesigned) == 8 and {r.description.split("template=")[1].split()[0] for r in redesigned} == \
        {"1a6sA00", "1an8A02"}
    inline = read_fasta(checkout_like / "inpainted.fasta")[0].description
    assert "template=MVLSEGEWQLVLHVW____________________DLKKAGVTV designed=16-35" in inline
    rows = list(csv.DictReader(open(checkout_like / "report" / "per_sequence.csv", newline="")))
    assert len(rows) == 10 and (checkout_like / "report" / "report.html").is_file()


def test_readme_python_example_runs(tmp_path):
    (block,) = fenced("python")
    proc = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    records = read_fasta(tmp_path / "designs.fasta")
    assert len(records) == 8 and all("contig=5-15,WHHW,3-10" in r.description for r in records)
    assert (tmp_path / "designs-report" / "per_sequence.csv").is_file()
