"""The design card's commands on a fresh, non-editable install, run from an empty directory with no data options:
the package must carry everything they need (CATH FASTA, weights, the judge, the reference rows)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(command, cwd, env):
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, f"{' '.join(map(str, command))}\n{proc.stderr[-3000:]}"
    return proc


def test_non_editable_install_runs_distill_generate_and_evaluate_from_an_empty_directory(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PROTDIDI_CATH_FASTA", "PYTHONPATH")}
    build = tmp_path / "src"  # a copy of the tracked tree, so that the build leaves nothing in the repository
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, files):
        if not (ROOT / name.decode()).is_file():
            continue
        target = build / name.decode()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / name.decode()).read_bytes())
    _run([python, "-m", "pip", "install", "--quiet", "--no-deps", str(build)], tmp_path, env)
    empty = tmp_path / "empty"
    empty.mkdir()
    where = _run([python, "-c", "import protdidi; print(protdidi.__file__)"], empty, env).stdout.strip()
    assert where.startswith(str(venv)), where  # the installed copy, not the repository
    protdidi = [str(venv / "bin" / "protdidi")]
    _run([*protdidi, "distill", "--domain", "protein", "--stop-at", "2", "-o", "run"], empty, env)
    assert (empty / "run" / "config.yaml").is_file()
    _run([*protdidi, "generate", "--n", "12", "--nfe", "4", "-o", "samples.fasta"], empty, env)
    proc = _run([*protdidi, "evaluate", "samples.fasta", "--quiet", "-o", "r"], empty, env)
    assert "shipped with protdidi" in proc.stdout and (empty / "r" / "report.json").is_file()
