"""Inputs that once slipped through: a model whose forward pass turns NaN, a disk that fills while writing, a reader
that closes the pipe, '_' inside a motif, spacer bounds beyond any integer type, and config values that parse but
cannot train. Each ends with one `protdidi: error:` line (or, for a closed pipe, quietly) and nothing written."""

from __future__ import annotations

import errno
import subprocess
import sys

import pytest
import torch

from protdidi.config import load_config
from protdidi.domains.protein.conditions import Contig, motif_designs
from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
from protdidi.errors import ConfigError, ModelOutputError, UserError
from protdidi.generation.driver import generate
from protdidi.generation.request import Request
from protdidi.io import write_text_atomic
from protdidi.tasks.mdlm import OptimConfig


def test_generation_refuses_a_forward_pass_that_turns_nan():
    model = PROTEIN.load_model("idlm")
    with torch.no_grad():
        for p in model.denoiser.parameters():  # finite when loaded, as a damaged or diverged model can be
            p.mul_(1e38)
    with pytest.raises(ModelOutputError, match="NaN"):
        generate(PROTEIN, model, Request(2, 2, length=20))


def test_a_full_disk_is_one_line_and_leaves_no_file(tmp_path):
    out = tmp_path / "x.fasta"

    def fill(handle):
        handle.write(">a\nACD\n")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(UserError, match="no space left on device; nothing was written"):
        write_text_atomic(out, fill)
    assert list(tmp_path.iterdir()) == []


def test_a_generate_refuses_up_front_what_cannot_fit(tmp_path, capsys, monkeypatch):
    import shutil

    from protdidi.cli import main

    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--n", "1000", "-o", str(tmp_path / "x.fasta"), "--quiet"])
    assert exit_info.value.code == 2 and "MiB free" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly():
    cmd = f"{sys.executable} -m protdidi generate --n 64 --nfe 2 --quiet -o - | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith(">protdidi_00000") and done.stderr == ""


def test_underscores_inside_a_motif_are_designed_positions():
    contig = Contig.parse("3,WH__W,3")
    assert contig.segments[1] == "WH__W"
    (design,) = motif_designs("3,WH__W,3", None, 1, 100, torch.Generator().manual_seed(0))
    assert design.template == "___WH__W___" and "motif_at=4-5,8" in design.label
    for spec in ("____", "2,__,2"):
        with pytest.raises(UserError, match="no motif"):
            Contig.parse(spec)


def test_spacer_bounds_beyond_any_integer_type_are_capped_at_the_length():
    designs = motif_designs("1-100000000000000000000000,WH,3", "20-30", 3, 100, torch.Generator().manual_seed(0))
    assert all(20 <= len(d.template) <= 30 for d in designs)


@pytest.mark.parametrize("override, message", [
    ("lr=.nan", "finite"), ("weight_decay=.inf", "finite"), ("betas=[0.9]", "2 values"),
    ("betas=[0.9, 1.5]", "betas"), ("eval_every=0", "eval_every"), ("warmup_steps=-1", "warmup_steps")])
def test_optimiser_values_that_parse_but_cannot_train_are_refused(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(OptimConfig, None, [override])


@pytest.mark.parametrize("cls, override, message", [
    ("protein", "data.max_length=0", "max_length"), ("protein", "model.attention_heads=7", "multiple"),
    ("protein", "data.valid_frac=0.97", "valid_frac"), ("text", "model.n_heads=3", "multiple"),
    ("text", "data.length=1", "length"), ("evaluator", "model.n_head=3", "multiple"),
    ("distill", "loop.eval_nfe=0", "eval_nfe"), ("distill", "didi.student_betas=[0.9, 0.9, 0.9]", "2 values")])
def test_model_and_data_values_that_cannot_train_are_refused_before_any_work(cls, override, message):
    from protdidi.domains.protein.distill import ProteinDistillConfig
    from protdidi.domains.protein.teacher import TeacherRunConfig
    from protdidi.domains.text.causal_lm import CausalLmRunConfig
    from protdidi.domains.text.teacher import TextTeacherRunConfig

    config = {"protein": TeacherRunConfig, "text": TextTeacherRunConfig, "evaluator": CausalLmRunConfig,
              "distill": ProteinDistillConfig}[cls]
    with pytest.raises(ConfigError, match=message):
        load_config(config, None, [override])
