"""Parity of our ESM-2-shaped backbone with the reference implementations, on tiny checkpoints the tests
write in the official formats (fair-esm `.pt`, HF `EsmForMaskedLM` directory)."""

import pytest
import torch
from fixtures import write_fair_esm_pt, write_hf_esm_dir

from protdidi.adapters.esm_weights import load_fair_esm, load_hf_esm
from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
from protdidi.errors import CheckpointError

# Padded batch with masks, so token dropout and the padding mask are both exercised.
TOKENS = torch.tensor([[0, 5, 6, 7, 8, 32, 32, 9, 2, 1, 1],
                       [0, 4, 4, 32, 5, 6, 7, 8, 9, 10, 2]])


def test_fair_esm_pt_parity(tmp_path):
    import esm

    path = write_fair_esm_pt(tmp_path / "esm2_t2_tiny.pt")
    # fair-esm's own local loader calls torch.load with the (now default) weights_only=True, which refuses
    # the Namespace inside real ESM-2 files; build the reference from its core loader instead.
    ref, _, state = esm.pretrained._load_model_and_alphabet_core_v2(torch.load(path, weights_only=False))
    missing, unexpected = ref.load_state_dict(state, strict=False)
    assert not unexpected and all(k.startswith("contact_head") for k in missing)
    ours = load_fair_esm(path)
    with torch.no_grad():
        expected = ref.eval()(TOKENS)["logits"]
        got = ours(TOKENS)
    real = TOKENS != 1
    assert torch.allclose(got[real], expected[real], atol=1e-4)


def test_soft_input_with_token_dropout_is_the_expectation_over_ids(tmp_path):
    """A real ESM-2 file (token_dropout=True): one-hot soft inputs give exactly the logits of the ids (masks and
    padding included); a residue distribution at a masked position embeds as the mixture of those residues'
    embeddings, the ids' mask zeroing aside (so gradients reach it), and the scale counts no mask there."""
    model = load_fair_esm(write_fair_esm_pt(tmp_path / "esm2_t2_tiny.pt"))
    assert model.cfg.token_dropout
    one_hot = torch.nn.functional.one_hot(TOKENS, 33).float()
    with torch.no_grad():
        assert torch.allclose(model(TOKENS, one_hot), model(TOKENS), atol=1e-5)
    is_mask = TOKENS == 32
    mix = torch.zeros(33)
    mix[[5, 6]] = 0.5  # half A, half G at every masked position
    soft = torch.where(is_mask[..., None], mix, one_hot).requires_grad_(True)
    emb = model.embed(TOKENS, soft)
    filled = torch.where(is_mask, 5, TOKENS)  # the same rows with no mask at all: the scale counts no mask
    scale = emb[~is_mask & (TOKENS != 1)] / model.embed(filled)[~is_mask & (TOKENS != 1)]
    assert torch.allclose(scale, torch.ones_like(scale), atol=1e-5)
    expected = 0.5 * (model.embed(torch.where(is_mask, 5, TOKENS)) + model.embed(torch.where(is_mask, 6, TOKENS)))
    assert torch.allclose(emb[is_mask], expected[is_mask], atol=1e-6)
    model(TOKENS, soft)[is_mask].sum().backward()
    assert soft.grad[is_mask].abs().amax() > 0


def test_hf_esm_dir_parity(tmp_path):
    from transformers import EsmForMaskedLM

    path = write_hf_esm_dir(tmp_path / "hf")
    ref = EsmForMaskedLM.from_pretrained(path).eval()
    ours = load_hf_esm(path)
    with torch.no_grad():
        expected = ref(input_ids=TOKENS, attention_mask=(TOKENS != 1).long()).logits
        got = ours(TOKENS)
    real = TOKENS != 1
    assert torch.allclose(got[real], expected[real], atol=1e-4)


def test_dplm_style_prefixed_keys_load(tmp_path):
    """DPLM wraps EsmForMaskedLM as `net`; the same weights with a `net.` prefix must load identically."""
    from safetensors.torch import load_file, save_file

    path = write_hf_esm_dir(tmp_path / "hf")
    plain = load_hf_esm(path)
    state = load_file(str(path / "model.safetensors"))
    save_file({f"net.{k}": v.contiguous() for k, v in state.items()}, str(path / "model.safetensors"))
    prefixed = load_hf_esm(path)
    with torch.no_grad():
        assert torch.equal(plain(TOKENS), prefixed(TOKENS))


def test_loaded_weights_work_as_a_generation_model(tmp_path):
    """`--model` accepts a fair-esm file and an HF directory and yields a usable denoiser."""
    pt = write_fair_esm_pt(tmp_path / "esm2_t2_tiny.pt")
    hf = write_hf_esm_dir(tmp_path / "hf")
    for spec in (str(pt), str(hf)):
        model = PROTEIN.load_model(spec)
        lp = model.denoiser(torch.full((2, 7), 32), torch.ones(2))
        assert lp.shape == (2, 7, 33) and torch.isfinite(lp.logsumexp(-1)).all()


def test_truncated_or_missing_weights_are_clear_errors(tmp_path):
    hf = write_hf_esm_dir(tmp_path / "hf")
    data = (hf / "model.safetensors").read_bytes()
    (hf / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="unreadable"):
        load_hf_esm(hf)
    (hf / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"neither model\.safetensors"):
        load_hf_esm(hf)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable fair-esm"):
        load_fair_esm(bad)
