"""Training commands say what they are doing: a line as soon as the run is set up, one per logged step (loss, rate,
ETA) and one per evaluation, on stderr; `--quiet` silences them; library callers see nothing unless they ask."""

from __future__ import annotations

import re
import subprocess
import sys

import yaml
from cli_fingerprint import ENV, TOY_LOOP, TOY_TEACHER, sets

from protdidi.progress import StepClock, duration


def protdidi(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "protdidi", *args], capture_output=True, text=True, env=ENV)


def test_durations_and_step_lines():
    assert [duration(s) for s in (0, 45.4, 125, 3 * 3600 + 20 * 60)] == ["0s", "45s", "2m05s", "3h20m"]
    line = StepClock(0, 100).line(0, loss=1.5)
    assert line.startswith("step 0/100  loss 1.5000") and line.endswith("ETA ?")


def test_train_teacher_reports_progress_and_quiet_silences_it(tmp_path, toy_fasta):
    args = ["train-teacher", "--data", str(toy_fasta), *sets(TOY_TEACHER)]
    proc = protdidi(*args, "-o", str(tmp_path / "loud"))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("loud: inputs read; starting") and lines[0].endswith("on cpu")
    assert any(re.fullmatch(r"loud: starting at step 0 of 4 \(a line every 1 steps\)", x) for x in lines)
    steps = [x for x in lines if re.match(r"loud: step \d/4  loss \d+\.\d{4}  .*ETA", x)]
    assert len(steps) == 4 and steps[-1].endswith("ETA 0s")
    assert any(re.fullmatch(r"loud: step 4: valid_nelbo \d+\.\d{4} \(best so far, saved\)", x) for x in lines)
    quiet = protdidi(*args, "--quiet", "-o", str(tmp_path / "quiet"))
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_distill_defaults_to_idlm_and_reports_progress(tmp_path, toy_fasta):
    teacher = tmp_path / "teacher"
    assert protdidi("train-teacher", "--quiet", "--data", str(toy_fasta), *sets(TOY_TEACHER), "-o",
                    str(teacher)).returncode == 0
    proc = protdidi("distill", "--teacher", str(teacher / "best"), "--data", str(toy_fasta),
                    *sets([*TOY_LOOP, "data.max_length=32", "idlm.warmup_steps=1"]), "-o", str(tmp_path / "student"))
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load((tmp_path / "student" / "config.yaml").read_text())["method"] == "idlm"
    assert "with idlm on cpu" in proc.stderr and "student (idlm): step 3/3  loss" in proc.stderr


def test_library_callers_see_no_progress_unless_they_ask():
    code = "from protdidi.progress import progress_line, show_progress; progress_line('hidden'); " \
           "show_progress(True); progress_line('shown'); show_progress(False); progress_line('hidden again')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    assert proc.returncode == 0 and proc.stderr == "shown\n"
