"""IDLM: the generator gradient's closed form, no gradient from unmasked positions, the fake step, the frozen
teacher, a zero student gradient when student = teacher = fake (with dropout), each phase's train/eval modes,
and exact resume through `protdidi distill --method idlm`."""

import json
import subprocess
import sys

import pytest
import torch
from fixtures import record_modes
from safetensors.torch import load_file

from protdidi.adapters.esm_denoiser import EsmDenoiser
from protdidi.batching import BatchStream
from protdidi.checkpoint import save_model_dir
from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
from protdidi.methods.base import DistillLoopConfig
from protdidi.methods.idlm import IdlmConfig, IdlmTask, fake_loss, generator_loss, recorrupt
from protdidi.models.esm2 import Esm2Config
from protdidi.schedule import LogLinearSchedule


def test_generator_gradient_matches_closed_form():
    torch.manual_seed(0)
    b, n, v = 2, 5, 7
    z = torch.randn(b, n, v, requires_grad=True)
    teacher_lp, fake_lp = torch.log_softmax(torch.randn(b, n, v), -1), torch.log_softmax(torch.randn(b, n, v), -1)
    masked = torch.tensor([[True, False, True, True, False], [False, True, True, False, True]])
    lam = torch.tensor([2.0, 0.5])
    loss = generator_loss(torch.log_softmax(z, -1), teacher_lp, fake_lp, masked, lam, torch.tensor(1))
    loss.backward()
    g = torch.softmax(z.detach(), -1)
    a = teacher_lp - fake_lp
    closed = -lam[:, None, None] * g * (a - (g * a).sum(-1, keepdim=True))
    closed = closed * masked[..., None]
    assert torch.allclose(z.grad, closed, atol=1e-6)
    assert (z.grad[~masked] == 0).all(), "unmasked positions must contribute no gradient"


def test_forbidden_ids_do_not_poison_the_gradient():
    z = torch.randn(1, 3, 5, requires_grad=True)
    forbidden = torch.tensor([False, False, False, False, True])
    lp = torch.log_softmax(z.masked_fill(forbidden, float("-inf")), -1)
    t_lp = torch.log_softmax(torch.randn(1, 3, 5).masked_fill(forbidden, float("-inf")), -1)
    loss = generator_loss(lp, t_lp, t_lp.roll(1, -1).masked_fill(forbidden, float("-inf")),
                          torch.ones(1, 3, dtype=torch.bool), torch.ones(1), torch.tensor(3))
    loss.backward()
    assert torch.isfinite(z.grad).all()


def test_recorruption_draws_from_the_soft_output():
    g = torch.Generator().manual_seed(0)
    probs = torch.zeros(1, 4000, 5)
    probs[..., 2] = 0.75
    probs[..., 3] = 0.25
    valid = torch.ones(1, 4000, dtype=torch.bool)
    valid[0, -100:] = False
    x = recorrupt(probs, torch.tensor([0.5]), valid, 9, 1, g)
    assert (x[~valid] == 1).all()
    x = x[valid][None]
    kept = x[x != 9]
    assert abs((x == 9).float().mean().item() - 0.5) < 0.03
    assert abs((kept == 2).float().mean().item() - 0.75) < 0.03 and set(kept.tolist()) <= {2, 3}


def make_task(teacher, vocab):
    seqs = [torch.randint(4, 24, (int(n),), generator=torch.Generator().manual_seed(i))
            for i, n in enumerate([9, 12, 15, 20])]
    cfg = IdlmConfig(student_lr=1e-3, fake_lr=1e-3, warmup_steps=1)
    return IdlmTask(teacher, LogLinearSchedule(), BatchStream(seqs, 4, 32, vocab.pad_id, 0), cfg,
                    DistillLoopConfig(steps=5, batch_size=4), torch.device("cpu"), lambda m: {}, None)


def test_teacher_gets_no_gradient_and_fake_step_lowers_its_loss(any_denoiser, vocab):
    task = make_task(any_denoiser, vocab)
    before = {k: v.clone() for k, v in task.teacher.state_dict().items()}
    student_before = {k: v.clone() for k, v in task.student.state_dict().items()}
    task.train_step(0)
    assert all(p.grad is None for p in task.teacher.parameters())
    assert all(torch.equal(v, before[k]) for k, v in task.teacher.state_dict().items())
    assert any(not torch.equal(v, student_before[k]) for k, v in task.student.state_dict().items())
    # Fixed batch: soft targets and corrupted inputs held constant over two fake steps.
    g = torch.Generator().manual_seed(0)
    x0, valid = task.stream.batch(0)
    with torch.no_grad():
        probs = task._student_outputs(x0, valid, g).exp()
    xt2, t2, masked, lam = task._recorrupted(probs, valid, g)
    losses = []
    for _ in range(2):
        loss = fake_loss(probs, task.fake(xt2, t2, valid), masked, lam, valid.sum())
        task.fake_opt.zero_grad()
        loss.backward()
        task.fake_opt.step()
        losses.append(float(loss.detach()))
    assert losses[1] < losses[0]


def test_generator_step_is_zero_when_student_teacher_and_fake_agree(any_denoiser, vocab):
    """At initialisation student = teacher = fake, so the advantage log f* − log f is exactly 0 and so is the
    student's gradient, also when the networks were built with dropout (the fake must score in eval mode).
    The fake's optimiser is held still so that the fake step leaves it equal to the teacher."""
    task = make_task(any_denoiser, vocab)
    task.fake_opt.step = lambda *args, **kwargs: None
    student0 = {k: v.clone() for k, v in task.student.state_dict().items()}
    logs = task.train_step(0)
    assert logs["grad_norm"] == 0.0 and logs["loss"] == 0.0, logs
    assert all(torch.equal(v, student0[k]) for k, v in task.student.state_dict().items())


def test_each_phase_runs_its_networks_in_a_declared_mode(any_denoiser, vocab):
    """Fake step: the student's targets in eval mode, the fake in training mode. Generator step: the student in
    training mode, teacher and fake scoring in eval mode (as the released code freezes the other network)."""
    task = make_task(any_denoiser, vocab)
    calls = record_modes({name: getattr(task, name) for name in ("student", "fake", "teacher")})
    task.train_step(0)
    assert calls == [("student", False), ("fake", True), ("student", True), ("teacher", False), ("fake", False)]


def test_idlm_distill_resume_is_exact_and_generates(tmp_path, vocab, toy_fasta):
    torch.manual_seed(0)
    teacher = tmp_path / "teacher"
    save_model_dir(teacher, EsmDenoiser.from_config(Esm2Config(num_layers=2, embed_dim=32, attention_heads=4,
                                                               max_length=64), vocab),
                   {"domain": "protein", "name": "tiny", "schedule": {"name": "loglinear", "eps": 1e-3},
                    "lengths": {"12": 2, "20": 3}})
    sets = ["loop.batch_size=4", "loop.eval_samples=4", "loop.log_every=1", "loop.eval_every=100",
            "loop.save_every=2", "loop.steps=6", "idlm.warmup_steps=1", "idlm.student_lr=1e-3", "idlm.fake_lr=1e-3",
            "data.max_length=32", "device=cpu"]
    args = [sys.executable, "-m", "protdidi", "distill", "--method", "idlm", "--teacher", str(teacher), "--data",
            str(toy_fasta), *[a for s in sets for a in ("--set", s)]]
    snaps = ["--set", "loop.snapshot_steps=[2,6]"]
    subprocess.run([*args, *snaps, "--set", "loop.snapshot_minutes=[0]", "-o", str(tmp_path / "ref")], check=True,
                   capture_output=True)
    assert (tmp_path / "ref" / "at-0min" / "model.safetensors").exists()  # the equal-time snapshot
    ref_log = [json.loads(x) for x in (tmp_path / "ref" / "log.jsonl").read_text().splitlines()]
    assert [(r["step"], r["snapshot"]) for r in ref_log if "snapshot" in r] == [
        (1, "at-0min"), (2, "at-step2"), (6, "at-step6")]
    subprocess.run([*args, *snaps, "--stop-at", "3", "-o", str(tmp_path / "part")], check=True, capture_output=True)
    subprocess.run([*args, *snaps, "--resume", "-o", str(tmp_path / "part")], check=True, capture_output=True)
    for run, name in (("part", "at-step2"), ("ref", "at-step6")):  # a step snapshot is the EMA student of its step
        other = tmp_path / "ref" / ("at-step2" if name == "at-step2" else "last")
        a, b = load_file(str(tmp_path / run / name / "model.safetensors")), load_file(str(other / "model.safetensors"))
        assert all(torch.equal(a[k], b[k]) for k in a), (run, name)
    a2, a6 = (load_file(str(tmp_path / "ref" / n / "model.safetensors")) for n in ("at-step2", "at-step6"))
    assert any(not torch.equal(a2[k], a6[k]) for k in a2)  # the student moved between the snapshots
    walls = [r["wall_s"] for r in map(json.loads, (tmp_path / "part" / "log.jsonl").read_text().splitlines())
             if "loss" in r]
    assert walls == sorted(walls) and len(walls) == 6  # training wall-clock continues across the resume
    for name in ("model.safetensors", "fake.safetensors"):
        a, b = load_file(str(tmp_path / "ref" / "last" / name)), load_file(str(tmp_path / "part" / "last" / name))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    cfg = json.loads((tmp_path / "ref" / "last" / "config.json").read_text())
    assert cfg["method"] == "idlm" and cfg["name"] == "ref" and "sampler" not in cfg  # named for its run directory
    student = PROTEIN.load_model(str(tmp_path / "ref" / "last"))
    assert student.load_discriminator is None
    out = subprocess.run([sys.executable, "-m", "protdidi", "generate", "--model", str(tmp_path / "ref" / "last"),
                          "--n", "3", "--nfe", "4", "-o", "-", "--quiet"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.count(">") == 3
    bad = subprocess.run([sys.executable, "-m", "protdidi", "generate", "--model", str(tmp_path / "ref" / "last"),
                          "--n", "3", "--nfe", "4", "--sampler", "rgas", "-o", "-"], capture_output=True, text=True)
    assert bad.returncode == 2 and "rgas" in bad.stderr and bad.stderr.count("\n") == 1


@pytest.mark.parametrize("method", ["nope"])
def test_unknown_method_is_one_line(tmp_path, toy_fasta, method):
    proc = subprocess.run([sys.executable, "-m", "protdidi", "distill", "--data", str(toy_fasta), "--set",
                           f"method={method}", "-o", str(tmp_path / "x")], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
