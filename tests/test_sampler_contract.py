"""One contract over every sampler: carry-over, no mask left, sampleable ids only, seeded, exact NFE, and conditioning
(fixed template tokens kept byte for byte, in padded batches too; an all-designable template is the unconditional
draw); over both denoiser variants (plain; dropout 0.1 with ESM-2 token dropout) and over the plain one with its
weights in bf16 (`--precision bf16`)."""

import itertools

import pytest
import torch

from protdidi.denoiser import MaskedDenoiser
from protdidi.discriminator import Discriminator
from protdidi.generation.driver import sample_batch
from protdidi.sampling import SAMPLERS
from protdidi.schedule import LogLinearSchedule


@pytest.fixture(params=["plain", "dropout-tokendrop", "bf16"])
def sampling_denoiser(vocab, request):
    """The tiny denoiser in each variant of conftest, and the plain one with bf16 weights."""
    from conftest import make_tiny_denoiser

    if request.param == "bf16":
        return make_tiny_denoiser(vocab).to(torch.bfloat16)
    return make_tiny_denoiser(vocab, request.param)


def build(name, denoiser):
    """Every sampler, with what it needs: RGAS gets a (randomly initialised) discriminator on the denoiser."""
    needs = SAMPLERS.get(name).needs_discriminator
    extra = {"discriminator": Discriminator(denoiser, unfrozen_blocks=1)} if needs else {}
    return SAMPLERS.get(name)(schedule=LogLinearSchedule(), **extra)


def run(sampler, denoiser, num, length, steps, **kwargs):
    """The production path: the driver runs the sampler's plan; the result's rows stacked as Long[num, length]."""
    gen = sample_batch(sampler, denoiser, num, length, steps, **kwargs)
    gen.tokens = torch.stack(gen.rows)
    return gen


class Recorder(MaskedDenoiser):
    """Wraps a denoiser and records every input, to check what the sampler did between calls."""

    def __init__(self, inner):
        super().__init__(inner.vocab)
        self.inner, self.inputs = inner, []

    def logits(self, xt, t, valid=None):
        self.inputs.append(xt.clone())
        return self.inner.logits(xt, t, valid)


@pytest.mark.parametrize("name", sorted(SAMPLERS.names()))
@pytest.mark.parametrize("steps", [1, 4, 16])
def test_sampler_contract(name, steps, sampling_denoiser, vocab):
    sampler = build(name, sampling_denoiser)
    rec = Recorder(sampling_denoiser)
    gen = run(sampler, rec, 6, 20, steps, generator=torch.Generator().manual_seed(3))
    assert gen.nfe == steps == len(rec.inputs)
    assert gen.tokens.shape == (6, 20)
    assert not (gen.tokens == vocab.mask_id).any(), "a mask survived the last step"
    assert vocab.sampleable_mask()[gen.tokens].all(), "a non-sampleable id was emitted"
    states = [*rec.inputs, gen.tokens]
    assert (states[0] == vocab.mask_id).all(), "sampling must start from all-mask"
    for before, after in itertools.pairwise(states):
        revealed = before != vocab.mask_id
        assert torch.equal(after[revealed], before[revealed]), "an unmasked token changed"
    again = run(sampler, sampling_denoiser, 6, 20, steps, generator=torch.Generator().manual_seed(3))
    other = run(sampler, sampling_denoiser, 6, 20, steps, generator=torch.Generator().manual_seed(4))
    assert torch.equal(gen.tokens, again.tokens)
    assert not torch.equal(gen.tokens, other.tokens)
    assert gen.seconds > 0


@pytest.mark.parametrize("name", sorted(SAMPLERS.names()))
@pytest.mark.parametrize("steps", [1, 4, 16])
def test_sampler_conditioning_contract(name, steps, sampling_denoiser, vocab):
    """A template fixes some tokens (the mask id marks designed positions): the fixed tokens come out unchanged (also
    rare ids like X that a sampler never emits), every designed position is filled with a sampleable id, NFE is
    `steps` exactly, the first denoiser input is the template, and the draw is seeded."""
    sampler = build(name, sampling_denoiser)
    g = torch.Generator().manual_seed(5)
    template = vocab.sampleable_ids()[torch.randint(0, 20, (6, 20), generator=g)]
    template[0, 3] = vocab.index("X")
    designed = torch.rand(6, 20, generator=g) < 0.4
    designed[1] = True  # one row entirely designed, one entirely fixed
    designed[2] = False
    template = template.masked_fill(designed, vocab.mask_id)
    rec = Recorder(sampling_denoiser)
    gen = run(sampler, rec, 6, 20, steps, generator=torch.Generator().manual_seed(3), template=template)
    assert gen.nfe == steps == len(rec.inputs)
    assert torch.equal(rec.inputs[0], template)
    assert torch.equal(gen.tokens[~designed], template[~designed]), "a fixed token changed"
    assert vocab.sampleable_mask()[gen.tokens[designed]].all() and not (gen.tokens == vocab.mask_id).any()
    again = run(sampler, sampling_denoiser, 6, 20, steps, generator=torch.Generator().manual_seed(3), template=template)
    assert torch.equal(gen.tokens, again.tokens)


@pytest.mark.parametrize("name", sorted(SAMPLERS.names()))
def test_all_designable_template_is_the_unconditional_draw(name, sampling_denoiser, vocab):
    sampler = build(name, sampling_denoiser)
    valid = torch.arange(12)[None, :] < torch.tensor([12, 7, 3])[:, None]
    plain = run(sampler, sampling_denoiser, 3, 12, 6, generator=torch.Generator().manual_seed(1), valid=valid)
    template = torch.full((3, 12), vocab.mask_id)
    cond = run(sampler, sampling_denoiser, 3, 12, 6, generator=torch.Generator().manual_seed(1), valid=valid,
                          template=template)
    assert torch.equal(plain.tokens, cond.tokens)
    fixed = template.clone()
    fixed[:, :2] = vocab.index("M")  # padded rows keep padding; fixed tokens inside them stay
    out = run(sampler, sampling_denoiser, 3, 12, 6, generator=torch.Generator().manual_seed(1), valid=valid,
                         template=fixed)
    assert (out.tokens[:, :2] == vocab.index("M")).all() and (out.tokens[~valid] == vocab.pad_id).all()


@pytest.mark.parametrize("name", sorted(SAMPLERS.names()))
def test_sampler_padded_batch_keeps_padding(name, sampling_denoiser, vocab):
    sampler = build(name, sampling_denoiser)
    valid = torch.arange(12)[None, :] < torch.tensor([12, 7, 3])[:, None]
    gen = run(sampler, sampling_denoiser, 3, 12, 5, generator=torch.Generator().manual_seed(0), valid=valid)
    assert (gen.tokens[~valid] == vocab.pad_id).all()
    assert vocab.sampleable_mask()[gen.tokens[valid]].all()


def test_sampler_rejects_bad_arguments(tiny_denoiser):
    sampler = build("ancestral", tiny_denoiser)
    with pytest.raises(ValueError):
        run(sampler, tiny_denoiser, 2, 5, 0)
    with pytest.raises(ValueError, match="unknown sampler"):
        SAMPLERS.get("nope")


def test_categorical_step_follows_the_posterior(vocab):
    """With α_t→α_s the fraction of positions revealed matches (α_s−α_t)/(1−α_t), and revealed tokens
    follow p(x0|x_t) restricted to sampleable ids, in float64."""
    from protdidi.sampling.base import categorical_step

    n = 40000
    logits = torch.full((1, n, vocab.size), -30.0)
    logits[..., vocab.index("A")] = 0.0
    logits[..., vocab.index("C")] = torch.log(torch.tensor(3.0))
    logits[..., vocab.index("X")] = 5.0  # not sampleable: must never appear
    log_probs = torch.log_softmax(logits, -1)
    xt = torch.full((1, n), vocab.mask_id)
    out = categorical_step(log_probs, xt, 0.2, 0.6, vocab.mask_id, vocab.sampleable_mask(),
                           torch.Generator().manual_seed(0))
    revealed = out != vocab.mask_id
    assert abs(revealed.float().mean().item() - 0.4 / 0.8) < 0.01
    frac_c = (out[revealed] == vocab.index("C")).float().mean().item()
    assert abs(frac_c - 0.75) < 0.01
    assert not (out == vocab.index("X")).any()


@pytest.mark.parametrize("name", [n for n in sorted(SAMPLERS.names()) if not SAMPLERS.get(n).needs_discriminator])
def test_temperature_one_is_the_default_and_below_one_sharpens(name, tiny_denoiser, vocab):
    """temperature=1 draws exactly what the default draws; 0.2 concentrates each sequence on fewer residues (lower
    per-sequence entropy of its composition), still with NFE == steps and no mask left."""
    from protdidi.methods.sample_quality import sequence_entropy

    cls = SAMPLERS.get(name)

    def draw(**kw):
        return run(cls(schedule=LogLinearSchedule(), **kw), tiny_denoiser, 16, 40, 8,
                   generator=torch.Generator().manual_seed(2))

    default, one, cold = draw(), draw(temperature=1.0), draw(temperature=0.2)
    assert torch.equal(default.tokens, one.tokens)
    assert cold.nfe == 8 and not (cold.tokens == vocab.mask_id).any()
    valid = torch.ones_like(cold.tokens, dtype=torch.bool)
    entropy = [float(sequence_entropy(g.tokens, valid, vocab.size).mean()) for g in (default, cold)]
    assert entropy[1] < entropy[0] - 0.1, entropy
