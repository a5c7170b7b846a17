"""DiDi-Instruct: gradient routing, rewards and their normalisation, ω(τ), the discriminator step, the rollout
(reveal rates, trajectory log-probability, same-τ re-masking, remask_prob), the importance weight, the
teacher-sample pool and its cache, the policy-gradient sign, each phase's
train/eval modes, the RGAS plan, cost counters and tilt gradient (also through ESM-2 token dropout),
checkpoints that reference the teacher, exact resume (also after SIGKILL), and the `distill` command (one line,
exit 1, on NaN). Tests
that take `any_denoiser` run on a plain tiny teacher and on one with dropout 0.1 and token dropout."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from fixtures import kill_after_first_checkpoint, record_modes
from safetensors.torch import load_file

from protdidi.adapters.esm_denoiser import EsmDenoiser
from protdidi.batching import BatchStream
from protdidi.checkpoint import save_model_dir
from protdidi.discriminator import Discriminator
from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
from protdidi.errors import CheckpointError
from protdidi.generation.driver import sample_batch
from protdidi.methods.base import DistillLoopConfig
from protdidi.methods.didi import (
    DidiConfig,
    DidiTask,
    advantage_group,
    kl_and_entropy,
    rollout_times,
    sample_tau,
)
from protdidi.methods.rewards import group_normalize, log_odds_reward, time_weight
from protdidi.methods.rollout import Rollout, trajectory_logprob, two_step_rollout
from protdidi.models.esm2 import Esm2Config
from protdidi.sampling.rgas import RgasSampler, rgas_plan
from protdidi.schedule import LogLinearSchedule

TOY_LOOP = ["loop.batch_size=2", "loop.eval_samples=4", "loop.log_every=1", "didi.disc_unfrozen_blocks=1",
            "didi.warmup_steps=2", "didi.student_lr=1e-3", "didi.disc_lr=1e-3", "data.max_length=32", "device=cpu"]


@pytest.fixture
def teacher_dir(tmp_path, vocab):
    torch.manual_seed(0)
    cfg = Esm2Config(num_layers=2, embed_dim=32, attention_heads=4, max_length=64)
    path = tmp_path / "teacher"
    save_model_dir(path, EsmDenoiser.from_config(cfg, vocab), {"domain": "protein", "name": "tiny-teacher",
                   "schedule": {"name": "loglinear", "eps": 1e-3}, "lengths": {"12": 2, "20": 3, "30": 1}})
    return path


def make_task(teacher, vocab, **overrides):
    seqs = [torch.randint(4, 24, (int(n),), generator=torch.Generator().manual_seed(i)) for i, n in
            enumerate([9, 12, 15, 20, 7, 11])]
    stream = BatchStream(seqs, 2, 32, vocab.pad_id, 0)
    cfg = DidiConfig(**{"disc_unfrozen_blocks": 1, "student_lr": 1e-3, "disc_lr": 1e-3, "warmup_steps": 1,
                        **overrides})
    return DidiTask(teacher, LogLinearSchedule(), stream, cfg, DistillLoopConfig(steps=10, batch_size=2),
                    torch.device("cpu"), lambda m: {}, None)


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_gradients_flow_only_where_intended(any_denoiser, vocab):
    task = make_task(any_denoiser, vocab)
    teacher0, student0, disc0 = snapshot(task.teacher), snapshot(task.student), snapshot(task.disc)
    for step in range(2):
        task.train_step(step)
    assert all(p.grad is None for p in task.teacher.parameters()), "the teacher received gradients"
    assert all(torch.equal(v, teacher0[k]) for k, v in task.teacher.state_dict().items())
    assert any(not torch.equal(v, student0[k]) for k, v in task.student.state_dict().items())
    disc1 = task.disc.state_dict()
    blocks = len(task.disc.trunk.blocks())
    frozen = [k for k in disc1 if k.startswith("trunk.") and f"layers.{blocks - 1}." not in k]
    trainable = [k for k in disc1 if f"layers.{blocks - 1}." in k or k.startswith(("head.", "time_embed."))]
    assert frozen and trainable
    assert all(torch.equal(disc1[k], disc0[k]) for k in frozen), "a frozen discriminator block changed"
    assert all(p.grad is None for n, p in task.disc.named_parameters() if n in frozen)
    changed = [k for k in trainable if not torch.equal(disc1[k], disc0[k])]
    assert any("layers" in k for k in changed) and any(k.startswith("head.") for k in changed)
    # The EMA moved towards the student, by (1 − 0.999) per step.
    assert any(not torch.equal(v, student0[k]) for k, v in task.ema.state_dict().items())


def test_group_normalisation_matches_hand_computation():
    r = torch.tensor([1.0, 2.0, 3.0, 4.0, 10.0, 10.0, 10.0, 10.0])
    a = group_normalize(r, 4)
    s = math.sqrt(5.0 / 3.0)  # unbiased std of 1, 2, 3, 4
    expected = [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s, 0.0, 0.0, 0.0, 0.0]
    assert a.tolist() == pytest.approx(expected, abs=1e-6)
    # One 1 among fifteen 0s: mean 1/16, unbiased std 1/4, so (15/16)/(1/4) = 3.75 is clipped to 3.
    r = torch.zeros(16)
    r[5] = 1.0
    a = group_normalize(r, 16)
    assert a[5].item() == pytest.approx(3.0)
    assert a[0].item() == pytest.approx(-(1 / 16) / 0.25, abs=1e-6)
    with pytest.raises(ValueError):
        group_normalize(torch.zeros(6), 4)


def test_reward_is_clipped_log_odds_over_masked_positions():
    logits = torch.tensor([[0.5, -2.0, 20.0, 3.0]])
    masked = torch.tensor([[True, True, True, False]])
    # log(D + 1e-6) − log(1 − D + 1e-6) ≈ the logit for moderate values; 20 is clipped to 8.
    expected = (0.5 - 2.0 + 8.0) / 3
    assert log_odds_reward(logits, masked).item() == pytest.approx(expected, abs=1e-3)


def test_time_weight_matches_closed_form():
    sched = LogLinearSchedule()
    tau = torch.tensor([0.02, 0.05, 0.1, 0.3, 0.5, 0.98], dtype=torch.float64)
    closed = (1.0 / tau).clamp(0.1, 10.0)
    assert torch.allclose(time_weight(sched, tau), closed, rtol=1e-12)
    # and against the finite difference the released code uses (step 1e-4)
    fd = -(sched.alpha(tau + 1e-4) - sched.alpha(tau)) / 1e-4 / (1 - sched.alpha(tau))
    assert torch.allclose(time_weight(sched, tau), fd.clamp(0.1, 10.0), rtol=1e-6)


def test_tau_draws_follow_the_beta_and_are_clamped():
    g = torch.Generator().manual_seed(0)
    uniform = sample_tau(DidiConfig(), 20000, g, "cpu")
    assert uniform.min() >= 0.02 and uniform.max() <= 0.98
    assert uniform.mean().item() == pytest.approx(0.5, abs=0.01)
    beta25 = sample_tau(DidiConfig(tau_beta=(2.0, 5.0)), 20000, g, "cpu")
    assert beta25.mean().item() == pytest.approx(2 / 7, abs=0.01)  # Beta(2, 5) mean
    assert beta25.var().item() == pytest.approx(10 / (49 * 8), rel=0.08)  # ab / ((a+b)²(a+b+1))


def test_rollout_times_are_per_rollout_or_shared_by_each_group():
    own = rollout_times(DidiConfig(group_size=4), 12, torch.Generator().manual_seed(0), "cpu")
    assert own.unique().numel() == 12  # as released: every rollout its own τ
    shared = rollout_times(DidiConfig(group_size=4, shared_tau=True), 12, torch.Generator().manual_seed(0), "cpu")
    groups = shared.view(3, 4)
    assert (groups == groups[:, :1]).all() and groups[:, 0].unique().numel() == 3
    assert shared.min() >= 0.02 and shared.max() <= 0.98


def test_the_advantage_ablation_normalises_over_the_whole_batch():
    rewards = torch.tensor([0.0, 1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 13.0])
    grouped = group_normalize(rewards, advantage_group(DidiConfig(group_size=4), 8))
    assert torch.allclose(grouped[:4], grouped[4:])  # each group centred on its own mean
    pooled = group_normalize(rewards, advantage_group(DidiConfig(group_size=4, grouped_advantage=False), 8))
    assert (pooled[:4] < 0).all() and (pooled[4:] > 0).all()


def test_kl_and_entropy_on_known_distributions():
    p = torch.tensor([[[0.5, 0.5, 0.0]]]).log()
    q = torch.tensor([[[0.25, 0.75, 0.0]]]).log()
    kl, ent = kl_and_entropy(p, q, torch.tensor([[True]]))
    assert kl.item() == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3), abs=1e-6)
    assert ent.item() == pytest.approx(-(0.25 * math.log(0.25) + 0.75 * math.log(0.75)), abs=1e-6)


def test_one_discriminator_step_lowers_its_loss_on_a_fixed_batch(any_denoiser, vocab):
    task = make_task(any_denoiser, vocab)
    g = torch.Generator().manual_seed(0)
    valid = torch.ones(8, 16, dtype=torch.bool)
    real = torch.randint(4, 8, (8, 16), generator=g)  # a few residues only
    fake = torch.randint(4, 24, (8, 16), generator=g)
    tau = torch.full((8,), 0.3)
    z_real = torch.where(torch.rand(8, 16, generator=g) < 0.3, vocab.mask_id, real)
    z_fake = torch.where(torch.rand(8, 16, generator=g) < 0.3, vocab.mask_id, fake)
    m_real, m_fake = z_real == vocab.mask_id, z_fake == vocab.mask_id
    first = task._discriminator_step(z_real, z_fake, m_real, m_fake, tau, valid)["d_loss"]
    second = task._discriminator_step(z_real, z_fake, m_real, m_fake, tau, valid)["d_loss"]
    assert second < first


def test_discriminator_accepts_soft_tokens(any_denoiser, vocab):
    disc = Discriminator(any_denoiser, 1).eval()
    x = torch.randint(4, 24, (2, 10))
    x[:, ::3] = vocab.mask_id  # masked positions too: token dropout zeroes them and rescales the rest
    t = torch.tensor([0.3, 0.7])
    hard = disc(x, t)
    one_hot = torch.nn.functional.one_hot(x, vocab.size).float()
    assert torch.allclose(disc(x, t, soft=one_hot), hard, atol=1e-5)
    # A fresh discriminator starts time-agnostic (zero last layer); once that layer is non-zero, τ matters.
    assert torch.allclose(disc(x, torch.tensor([0.9, 0.1])), hard)
    torch.nn.init.normal_(disc.time_embed.mlp[2].weight, std=0.5)
    assert not torch.allclose(disc(x, torch.tensor([0.9, 0.1])), disc(x, t))
    with pytest.raises(ValueError):
        Discriminator(any_denoiser, 3)


@pytest.mark.parametrize("steps,ratio,tilt", [(16, 0.5, 8), (8, 0.25, 6), (4, 1.0, 0), (3, 0.0, 3)])
def test_rgas_plan_matches_config(steps, ratio, tilt):
    plan = rgas_plan(steps, ratio, 30.0, 40.0, 4)
    assert [p.kind for p in plan] == ["tilt"] * tilt + ["rerank"] * (steps - tilt)
    hs = [p.guidance for p in plan if p.kind == "tilt"]
    if tilt > 1:
        assert hs[0] == 30.0 and hs[-1] == pytest.approx(40.0)
        assert hs == pytest.approx([30.0 + 10.0 * i / (tilt - 1) for i in range(tilt)])
    assert all(p.candidates == 4 for p in plan if p.kind == "rerank")


def test_rgas_counts_its_discriminator_cost(any_denoiser):
    sampler = RgasSampler(schedule=LogLinearSchedule(), discriminator=Discriminator(any_denoiser, 1), num_candidates=3,
                          rerank_ratio=0.5)
    gen = sample_batch(sampler, any_denoiser, 2, 10, 8, torch.Generator().manual_seed(0))
    assert gen.nfe == 8
    assert gen.extra == {"disc_forwards": 4 + 4 * 3, "disc_backwards": 4}


def test_tilting_moves_samples_towards_what_the_discriminator_likes(any_denoiser, vocab):
    """A discriminator that scores "is this W" per position: gradient tilting must raise W's frequency,
    re-ranking too, and neither may touch the plain sampler's output when switched off."""
    favoured = vocab.tokens.index("W")

    class LikesW(torch.nn.Module):
        vocab = any_denoiser.vocab

        def forward(self, zt, t, valid=None, soft=None):
            probs = soft if soft is not None else torch.nn.functional.one_hot(zt, vocab.size).float()
            return 10.0 * probs[..., favoured]

    def freq(**kw):
        sampler = RgasSampler(schedule=LogLinearSchedule(), discriminator=LikesW(), **kw)
        tokens = torch.stack(sample_batch(sampler, any_denoiser, 16, 30, 8, torch.Generator().manual_seed(1)).rows)
        return (tokens == favoured).float().mean().item()

    base = freq(num_candidates=1, rerank_ratio=0.0, guidance_start=0.0, guidance_end=0.0)
    assert freq(num_candidates=1, rerank_ratio=0.0, guidance_start=40.0, guidance_end=40.0) > base + 0.2
    assert freq(num_candidates=8, rerank_ratio=1.0) > base + 0.01


def test_rgas_tilt_gradient_reaches_the_trunk(any_denoiser, vocab):
    """∂ΣD/∂ℓ at masked positions is non-zero for every trunk, also with ESM-2 token dropout (which zeroes the
    embedding of mask ids: the soft input at masked positions must not be zeroed with them)."""
    disc = Discriminator(any_denoiser, 1).eval()
    g = torch.Generator().manual_seed(0)
    x = torch.randint(4, 24, (3, 16), generator=g)
    masked = torch.rand(3, 16, generator=g) < 0.5
    x = x.masked_fill(masked, vocab.mask_id)
    t = torch.full((3,), 0.5)
    with torch.no_grad():
        logits = any_denoiser.logits(x, t)
    grad = RgasSampler._reward_gradient(disc, logits, x, t, None, masked)
    assert (grad[~masked] == 0).all()
    assert grad[masked].abs().amax() > 1e-3, f"tilt gradient vanished (max {grad[masked].abs().amax():.2e})"
    # Different soft inputs at the masked positions give different scores: the trunk sees them.
    probs = torch.softmax(logits.masked_fill(vocab.special_mask(), float("-inf")), -1)
    uniform = vocab.sampleable_mask().float().expand_as(probs) / vocab.sampleable_mask().sum()
    hard = torch.nn.functional.one_hot(x, vocab.size).float()
    with torch.no_grad():
        a = disc(x, t, soft=torch.where(masked[..., None], probs, hard))
        b = disc(x, t, soft=torch.where(masked[..., None], uniform, hard))
    assert (a - b).abs().amax() > 1e-4


def test_rollout_reveals_at_the_schedule_rates(any_denoiser, vocab):
    """Step 1 (1 → τ) reveals each position with probability (α(τ)−α(1))/(1−α(1)), per sequence's own τ; step 2
    (τ → t_final) reveals the rest but a fraction (1−α(t_final))/(1−α(τ)); re-masking hits each revealed token
    with probability remask_prob; padding stays padding."""
    sched = LogLinearSchedule()
    b, n = 64, 50
    tau = torch.tensor([0.2, 0.8]).repeat_interleave(b // 2)
    valid = torch.ones(b, n, dtype=torch.bool)
    valid[:, -5:] = False
    ro = two_step_rollout(any_denoiser, valid, tau, sched, 0.05, torch.Generator().manual_seed(0), remask_prob=0.5)
    a = lambda t: float(sched.alpha(torch.tensor(t, dtype=torch.float64)))  # noqa: E731
    for half, tt in ((slice(0, b // 2), 0.2), (slice(b // 2, b), 0.8)):
        v = valid[half]
        revealed = (ro.x_tau[half] != vocab.mask_id) & v
        p1 = (a(tt) - a(1.0)) / (1 - a(1.0))
        count = v.sum().item()
        assert abs(revealed.sum().item() / count - p1) < 4 * math.sqrt(p1 * (1 - p1) / count)
        remasked = revealed & (ro.x_mid[half] == vocab.mask_id)
        k = revealed.sum().item()
        assert abs(remasked.sum().item() / k - 0.5) < 4 * math.sqrt(0.25 / k)
        before = (ro.x_mid[half] == vocab.mask_id) & v
        still = before & (ro.x0[half] == vocab.mask_id)
        p2 = (1 - a(0.05)) / (1 - a(tt))
        m = before.sum().item()
        assert abs(still.sum().item() / m - p2) < 4 * math.sqrt(p2 * (1 - p2) / m) + 1 / m
    assert (ro.x0[~valid] == vocab.pad_id).all() and (ro.x_tau[~valid] == vocab.pad_id).all()
    assert torch.equal(ro.x0[ro.x_mid != vocab.mask_id], ro.x_mid[ro.x_mid != vocab.mask_id])


def test_trajectory_logprob_matches_hand_computation(vocab):
    """logp₁ sums the step-1 log-probs of the tokens revealed in x_τ; logp₂ those of the tokens revealed from x_mid
    (a re-masked token counts in step 2 only); padding and still-masked positions count nowhere."""
    m, pad = vocab.mask_id, vocab.pad_id
    A, C, D, E, F, G, H = (vocab.index(c) for c in "ACDEFGH")
    x1 = torch.tensor([[m, m, m, m], [m, m, m, pad]])
    x_tau = torch.tensor([[A, m, C, m], [m, D, m, pad]])
    x_mid = torch.tensor([[A, m, m, m], [m, D, m, pad]])  # C re-masked
    x0 = torch.tensor([[A, E, F, G], [H, D, m, pad]])  # sequence 1 keeps one mask
    ro = Rollout(x1, x_tau, x_mid, x0, torch.tensor([0.4, 0.7]), x1 != pad)
    lp = torch.log_softmax(torch.randn(4, 4, vocab.size, generator=torch.Generator().manual_seed(0)), -1)
    lp1, lp2 = trajectory_logprob(lp, ro, m)
    assert lp1.tolist() == pytest.approx([float(lp[0, 0, A] + lp[0, 2, C]), float(lp[1, 1, D])], abs=1e-6)
    assert lp2.tolist() == pytest.approx([float(lp[2, 1, E] + lp[2, 2, F] + lp[2, 3, G]), float(lp[3, 0, H])],
                                         abs=1e-6)
    xs, ts, vs = ro.inputs()
    assert torch.equal(xs, torch.cat([x1, x_mid])) and ts.tolist() == pytest.approx([1.0, 1.0, 0.4, 0.7])
    assert torch.equal(vs, torch.cat([x1 != pad, x1 != pad]))


def _p_token_at_all_mask(denoiser, token: int, n: int = 20) -> float:
    with torch.no_grad():
        x = torch.full((1, n), denoiser.vocab.mask_id)
        return float(denoiser.eval()(x, torch.ones(1))[..., token].exp().mean())


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_policy_gradient_moves_the_student_towards_the_rewarded_token(any_denoiser, vocab, sign):
    """A known reward (the fraction of W in the sample; its negative) and one student step: the student's
    probability of W rises (falls). A flipped policy-gradient sign fails this."""
    task = make_task(any_denoiser, vocab, kl_beta=0.0, entropy_beta=0.0, group_size=16)
    favoured = vocab.index("W")
    before = _p_token_at_all_mask(task.student, favoured)
    valid = torch.ones(32, 20, dtype=torch.bool)
    ro = two_step_rollout(task.student, valid, torch.full((32,), 0.5), task.schedule, 1e-3,
                          torch.Generator().manual_seed(0))
    reward = sign * (ro.x0 == favoured).float().mean(-1)
    task._student_step(ro, group_normalize(reward, 16))
    after = _p_token_at_all_mask(task.student, favoured)
    assert (after - before) * sign > 0, (before, after)


def test_each_phase_runs_its_networks_in_a_declared_mode(any_denoiser, vocab):
    """DiDi: the rollout and its re-scoring (with gradient) both run the student in eval mode, so that the
    log-probability is that of the policy that drew the sample (no fresh dropout mask in between); the
    discriminator trains in its own step and scores the reward in eval mode; the teacher is always in eval."""
    task = make_task(any_denoiser, vocab)
    calls = record_modes({"student": task.student, "teacher": task.teacher, "disc": task.disc})
    task.train_step(0)
    assert [c for c in calls if c[0] == "student"] == [("student", False)] * 3  # two rollout steps, one re-score
    assert [c for c in calls if c[0] == "disc"] == [("disc", True), ("disc", False)]
    assert [c for c in calls if c[0] == "teacher"] == [("teacher", False)]


def test_real_and_fake_sides_are_remasked_at_the_rollout_tau(any_denoiser, vocab, monkeypatch):
    """"Coupled time": the data and the student sample are re-masked at α(τ) of the τ that split the rollout, and the
    discriminator and reward see that τ."""
    import protdidi.methods.didi as didi

    task = make_task(any_denoiser, vocab)
    seen = {"noise": [], "rollout": []}
    real_noise, real_rollout = didi.add_noise, didi.two_step_rollout

    def noise(x0, alpha, *args):
        seen["noise"].append((x0.clone(), alpha.clone()))
        return real_noise(x0, alpha, *args)

    def rollout(*args, **kwargs):
        seen["rollout"].append(real_rollout(*args, **kwargs))
        return seen["rollout"][-1]

    monkeypatch.setattr(didi, "add_noise", noise)
    monkeypatch.setattr(didi, "two_step_rollout", rollout)
    times = []
    task.disc.register_forward_hook(lambda mod, args, out: times.append(args[1].clone()))
    task.train_step(0)
    (ro,) = seen["rollout"]
    (x_real, alpha_real), (x_fake, alpha_fake) = seen["noise"]
    x_data, _ = task.stream.batch(0)
    assert torch.equal(x_real, x_data.repeat_interleave(task.cfg.group_size, 0)) and torch.equal(x_fake, ro.x0)
    assert torch.equal(alpha_real, task.schedule.alpha(ro.tau)) and torch.equal(alpha_fake, alpha_real)
    assert len(set(ro.tau.tolist())) > 1, "every rollout draws its own τ"
    assert torch.equal(times[0], torch.cat([ro.tau, ro.tau])) and torch.equal(times[1], ro.tau)


def run_cli(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "protdidi", *args], capture_output=True, text=True)
    if check and proc.returncode:
        raise AssertionError(proc.stderr)
    return proc


def distill_args(teacher_dir, toy_fasta, steps, *extra):
    sets = [*TOY_LOOP, f"loop.steps={steps}", *extra]
    return ["distill", "--domain", "protein", "--method", "didi", "--teacher", str(teacher_dir), "--data",
            str(toy_fasta), *[a for s in sets for a in ("--set", s)]]


def weights(path):
    return load_file(str(path / "model.safetensors")), load_file(str(path / "discriminator.safetensors"))


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_distill_writes_a_student_that_references_its_teacher(tmp_path, teacher_dir, toy_fasta, vocab):
    run = tmp_path / "run"
    run_cli(*distill_args(teacher_dir, toy_fasta, 4, "loop.eval_every=2", "loop.save_every=2"), "-o", str(run))
    for name in ("config.yaml", "log.jsonl", "loss.png", "last/trainer_state.pt", "last/model.safetensors",
                 "last/discriminator.safetensors", "last/vocab.json", "best/config.json"):
        assert (run / name).exists(), name
    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert {"loss", "reward", "d_acc", "d_loss", "kl_hi", "entropy"} <= set(log[0])
    assert any("valid_sample_nelbo" in r for r in log)
    cfg = json.loads((run / "last" / "config.json").read_text())
    assert cfg["kind"] == "student" and cfg["teacher"]["spec"] == str(teacher_dir.resolve())
    # The discriminator file holds only its trainable part: no embedding, no frozen first block.
    disc_keys = set(load_file(str(run / "last" / "discriminator.safetensors")))
    assert not any("embed_tokens" in k or "layers.0." in k for k in disc_keys)
    assert any("layers.1." in k for k in disc_keys) and any(k.startswith("head.") for k in disc_keys)
    student = PROTEIN.load_model(str(run / "last"))
    disc = student.load_discriminator()
    assert isinstance(disc, Discriminator) and student.kind == "student"
    # A changed teacher is noticed.
    (teacher_dir / "model.safetensors").write_bytes((teacher_dir / "model.safetensors").read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(CheckpointError, match="not the one"):
        PROTEIN.load_model(str(run / "last")).load_discriminator()


def test_distill_resume_is_exact_even_after_sigkill(tmp_path, teacher_dir, toy_fasta):
    args = distill_args(teacher_dir, toy_fasta, 40, "loop.eval_every=100", "loop.save_every=2")
    run_cli(*args, "-o", str(tmp_path / "ref"))
    run_cli(*args, "--stop-at", "3", "-o", str(tmp_path / "part"))
    run_cli(*args, "--resume", "-o", str(tmp_path / "part"))
    ref = weights(tmp_path / "ref" / "last")
    part = weights(tmp_path / "part" / "last")
    assert same(ref[0], part[0]) and same(ref[1], part[1])
    done = kill_after_first_checkpoint([sys.executable, "-m", "protdidi", *args, "-o", str(tmp_path / "killed")],
                                       tmp_path / "killed" / "last" / "trainer_state.pt")
    assert done < 40, "the run finished before it could be killed"
    run_cli(*args, "--resume", "-o", str(tmp_path / "killed"))
    killed = weights(tmp_path / "killed" / "last")
    assert same(ref[0], killed[0]) and same(ref[1], killed[1])
    strip = [[{k: v for k, v in json.loads(x).items() if k != "wall_s"}
              for x in (tmp_path / d / "log.jsonl").read_text().splitlines()] for d in ("ref", "killed")]
    assert strip[0] == strip[1]


def test_distill_refuses_nan_and_bad_config(tmp_path, teacher_dir, toy_fasta):
    # A finite coefficient whose product overflows float32: the loss of the first step is not finite.
    proc = run_cli(*distill_args(teacher_dir, toy_fasta, 3, "didi.kl_hi_coef=1e300"), "-o", str(tmp_path / "nan"),
                   check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()  # the run's progress lines, then one error line
    assert lines[-1].startswith("protdidi: error: training stopped: ") and "\n".join(lines).count("protdidi:") == 1
    assert ("nan" in proc.stderr or "inf" in proc.stderr) and "last good checkpoint is kept" in proc.stderr
    assert not (tmp_path / "nan" / "last").exists()  # the NaN came in the first step: nothing good to keep
    proc = run_cli(*distill_args(teacher_dir, toy_fasta, 3, "didi.kl_beta=.nan"), "-o", str(tmp_path / "nan2"),
                   check=False)  # a NaN in the config itself is refused before any work
    assert proc.returncode == 2 and "must be a finite number" in proc.stderr and not (tmp_path / "nan2").exists()
    proc = run_cli(*distill_args(teacher_dir, toy_fasta, 3, "didi.no_such_key=1"), "-o", str(tmp_path / "bad"),
                   check=False)
    assert proc.returncode == 2 and "didi.no_such_key" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "bad").exists()
    proc = run_cli(*distill_args(tmp_path / "missing", toy_fasta, 3), "-o", str(tmp_path / "x"), check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1


def test_torchrun_two_processes(tmp_path, teacher_dir, toy_fasta):
    """2 CPU processes (gloo): the run completes, group statistics are global, ranks stay in sync."""
    script = Path(__file__).parent / "ddp_check.py"
    out = tmp_path / "ddp"
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           str(script), str(teacher_dir), str(toy_fasta), str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "ddp_result.json").read_text())
    assert result["group_stats_global"] and result["ranks_in_sync"]
    assert (out / "run" / "last" / "model.safetensors").exists()


@pytest.mark.parametrize("prob", [0.0, 0.5, 1.0])
def test_remask_prob_re_masks_that_share_of_the_revealed_positions(tiny_denoiser, vocab, prob):
    """Step 2 of the rollout starts from x_tau with each revealed position re-masked with probability
    `remask_prob`; masks and padding are never touched, and x0 keeps every position step 2 did not sample."""
    valid = torch.arange(60)[None, :] < torch.tensor([60, 45, 30, 60])[:, None]
    valid = valid.repeat(16, 1)
    tau = torch.full((64,), 0.3)
    ro = two_step_rollout(tiny_denoiser, valid, tau, LogLinearSchedule(), 1e-3, torch.Generator().manual_seed(0),
                          remask_prob=prob)
    revealed = (ro.x_tau != vocab.mask_id) & valid
    remasked = revealed & (ro.x_mid == vocab.mask_id)
    assert torch.equal(ro.x_mid[~revealed], ro.x_tau[~revealed])
    assert torch.equal(ro.x_mid[revealed & ~remasked], ro.x_tau[revealed & ~remasked])
    share = float(remasked.sum() / revealed.sum())
    assert share == pytest.approx(prob, abs=0.03), share
    assert torch.equal(ro.x0[~valid], ro.x1[~valid])


def test_importance_weight_divides_the_time_weight_by_the_tau_density(any_denoiser, vocab, monkeypatch):
    """With importance_weight the per-rollout weight ω(τ)·A is divided by the Beta density of τ; nothing else of
    the iteration changes (same seed, same rollout, same advantage)."""
    from protdidi.methods.didi import beta_density

    seen = []

    def record(self, ro, weight):
        seen.append((ro.tau.clone(), weight.clone()))
        return {"loss": 0.0}

    monkeypatch.setattr(DidiTask, "_student_step", record)
    for flag in (False, True):
        torch.manual_seed(0)  # the discriminator's head is initialised from the global generator
        make_task(any_denoiser, vocab, tau_beta=(2.0, 5.0), importance_weight=flag).train_step(0)
    (tau, plain), (tau_iw, weighted) = seen
    assert torch.equal(tau, tau_iw) and plain.abs().max() > 0
    cfg = DidiConfig(tau_beta=(2.0, 5.0))
    assert torch.allclose(weighted, plain / beta_density(cfg, tau), rtol=1e-5)


def test_teacher_side_pool_is_sampled_once_cached_and_used(tmp_path, teacher_dir, toy_fasta, vocab, monkeypatch):
    """real_side: teacher draws `teacher_pool_size` teacher samples at `teacher_pool_nfe` (lengths from the teacher's
    histogram), saves them in RUN_DIR/teacher_pool.pt, trains on them, and a resumed run reuses the file."""
    import protdidi.methods.distillation as run_module
    from protdidi.config import load_config
    from protdidi.domains.protein.distill import ProteinDistillConfig

    calls, batches = [], []
    real_pool, real_stream = run_module.teacher_pool, run_module.BatchStream

    def pool(setup, size, nfe, seed, device):
        calls.append((size, nfe))
        return real_pool(setup, size, nfe, seed, device)

    def stream(seqs, *args):
        batches.append(seqs)
        return real_stream(seqs, *args)

    monkeypatch.setattr(run_module, "teacher_pool", pool)
    monkeypatch.setattr(run_module, "BatchStream", stream)
    sets = [*TOY_LOOP, "method=didi", f"teacher={teacher_dir}", f"data.fasta={toy_fasta}", "didi.real_side=teacher",
            "didi.teacher_pool_size=6", "didi.teacher_pool_nfe=3", "loop.save_every=1", "loop.eval_every=100"]
    run = tmp_path / "pool"
    run_module.run_distillation(PROTEIN, load_config(ProteinDistillConfig, None, [*sets, "loop.steps=1"]), run)
    saved = torch.load(run / "teacher_pool.pt", weights_only=True)
    assert calls == [(6, 3)] and len(saved) == 6
    assert sorted(len(s) for s in saved) == sorted(len(s) for s in batches[0])
    assert {len(s) for s in saved} <= {12, 20, 30}  # the teacher's length histogram, not the data's lengths
    assert bool(vocab.sampleable_mask()[torch.cat(saved)].all())
    assert all(torch.equal(a, b) for a, b in zip(saved, batches[0], strict=True))
    run_module.run_distillation(PROTEIN, load_config(ProteinDistillConfig, None, [*sets, "loop.steps=2"]), run,
                                resume=True)
    assert calls == [(6, 3)]  # not sampled again
    assert all(torch.equal(a, b) for a, b in zip(saved, batches[1], strict=True))
