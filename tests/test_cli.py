"""CLI behaviour: FASTA output read back by Biopython, determinism, and one-line errors on bad input."""

import subprocess
import sys

import pytest
from Bio import SeqIO
from fixtures import write_fair_esm_pt

from protdidi.checkpoint import save_checkpoint
from protdidi.domains.protein.alphabet import STANDARD_RESIDUES

PROTDIDI = [sys.executable, "-m", "protdidi"]


def run(*args, cwd=None):
    return subprocess.run([*PROTDIDI, *args], capture_output=True, text=True, cwd=cwd)


def one_line_error(proc):
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("protdidi: error:"), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_generate_writes_valid_fasta_deterministically(tmp_path):
    out1, out2, out3 = tmp_path / "a.fasta", tmp_path / "b.fasta", tmp_path / "c.fasta"
    for out, seed in ((out1, 7), (out2, 7), (out3, 8)):
        proc = run("generate", "--n", "6", "--nfe", "4", "--seed", str(seed), "-o", str(out), "--quiet")
        assert proc.returncode == 0, proc.stderr
    records = list(SeqIO.parse(out1, "fasta"))
    assert len(records) == 6
    for rec in records:
        fields = dict(kv.split("=") for kv in rec.description.split()[1:])
        assert fields["nfe"] == "4" and fields["seed"] == "7" and fields["model"] == "protdidi-cath-idlm"
        assert int(fields["len"]) == len(rec.seq) and set(str(rec.seq)) <= set(STANDARD_RESIDUES)
    assert out1.read_text() == out2.read_text()
    assert out1.read_text() != out3.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.fasta", "b.fasta", "c.fasta"]


def test_generate_with_rgas_on_the_shipped_student_reports_discriminator_cost(tmp_path):
    out = tmp_path / "r.fasta"
    proc = run("generate", "--model", "didi", "--n", "3", "--nfe", "4", "--length", "20", "--sampler", "rgas", "-o",
               str(out))
    assert proc.returncode == 0, proc.stderr
    records = list(SeqIO.parse(out, "fasta"))
    assert len(records) == 3 and all("sampler=rgas" in r.description for r in records)
    # 4 steps, ratio 0.5: 2 tilting steps (1 forward + 1 backward each), 2 re-ranking steps (4 forwards each)
    assert "disc forwards=10/seq" in proc.stderr and "disc backwards=2/seq" in proc.stderr
    teacher = run("generate", "--model", "teacher", "--n", "2", "--nfe", "2", "--sampler", "rgas", "-o", "-")
    assert "needs a distilled student" in one_line_error(teacher)


def test_generate_to_stdout_with_fixed_length():
    proc = run("generate", "--n", "3", "--nfe", "2", "--length", "25", "-o", "-", "--quiet")
    assert proc.returncode == 0, proc.stderr
    seqs = [ln for ln in proc.stdout.splitlines() if not ln.startswith(">")]
    assert "".join(seqs).__len__() == 75 and proc.stdout.count(">") == 3


def test_generate_from_fair_esm_file(tmp_path):
    pt = write_fair_esm_pt(tmp_path / "esm2_t2_tiny.pt")
    proc = run("generate", "--n", "2", "--nfe", "3", "--length", "10", "--model", str(pt), "-o", "-", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "model=esm2_t2_tiny" in proc.stdout


@pytest.mark.parametrize("args, message", [
    (["--n", "0"], "--n"), (["--nfe", "0"], "--nfe"), (["--length", "0"], "--length"),
    (["--length", "100000"], "maximum"), (["--batch-size", "0"], "--batch-size"),
    (["--model", "no/such/model"], "no such path"),
])
def test_generate_bad_options(tmp_path, args, message):
    out = tmp_path / "out.fasta"
    line = one_line_error(run("generate", *args, "-o", str(out), "--quiet"))
    assert message in line
    assert list(tmp_path.iterdir()) == []


def test_generate_bad_checkpoints(tmp_path, tiny_denoiser, vocab):
    from protdidi.vocab import Vocab

    ck = tmp_path / "ck"
    save_checkpoint(ck, {"kind": "teacher", "domain": "protein", "name": "t", "schedule": {"name": "loglinear"},
                         "arch": {"type": "esm2", **tiny_denoiser.backbone.cfg.to_dict()}}, vocab,
                    {"model": tiny_denoiser})
    out = tmp_path / "out.fasta"
    ok = run("generate", "--n", "2", "--nfe", "2", "--length", "8", "--model", str(ck), "-o", str(out), "--quiet")
    assert ok.returncode == 0, ok.stderr
    out.unlink()
    weights = ck / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 3])
    assert "truncated" in one_line_error(run("generate", "--model", str(ck), "-o", str(out), "--length", "8"))
    weights.unlink()
    assert "missing" in one_line_error(run("generate", "--model", str(ck), "-o", str(out), "--length", "8"))
    weights.write_bytes(data)
    Vocab(name="dna", tokens=("A", "C", "G", "T", "<m>", "<p>"), mask_id=4, pad_id=5,
          sampleable=(0, 1, 2, 3)).save(ck / "vocab.json")
    assert "does not match" in one_line_error(run("generate", "--model", str(ck), "-o", str(out), "--length", "8"))
    assert not out.exists()


@pytest.mark.parametrize("content, message", [
    (None, "no such file"), ("", "empty"), ("just text\nACDE\n", "not FASTA"),
    (">a\nACDEFJ\n", "'J' at position 6"), (">a\nAC1DE\n", "not an amino-acid"), (">a\n\n>b\nAC\n", "empty sequence"),
])
def test_train_teacher_bad_fasta(tmp_path, content, message):
    fasta = tmp_path / "in.fasta"
    if content is not None:
        fasta.write_text(content)
    line = one_line_error(run("train-teacher", "--data", str(fasta), "-o", str(tmp_path / "run")))
    assert message in line
    assert not (tmp_path / "run").exists()


def test_train_teacher_unknown_config_key(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("train:\n  stepz: 3\n")
    assert "train.stepz" in one_line_error(run("train-teacher", "--config", str(cfg), "-o", str(tmp_path / "r")))
    assert "model.widthh" in one_line_error(run("train-teacher", "--set", "model.widthh=3", "-o", str(tmp_path / "r")))
    assert not (tmp_path / "r").exists()
