import json

import pytest
import torch

from protdidi.domains.protein.alphabet import ESM_TOKENS, encode_protein, protein_vocab
from protdidi.errors import UserError
from protdidi.schedule import LogLinearSchedule, make_schedule, time_grid
from protdidi.vocab import Vocab


def test_protein_ids_match_esm2_alphabet():
    v = protein_vocab()
    assert v.size == 33
    assert (v.bos_id, v.pad_id, v.eos_id, v.mask_id) == (0, 1, 2, 32)
    assert v.encode("LAGVSERTIDPKQNFYMHWC") == list(range(4, 24))
    assert v.index("X") == 24 and v.index("B") == 25 and v.index("U") == 26 and v.index("Z") == 27
    assert v.index("O") == 28 and v.index("<unk>") == 3 and v.index("<null_1>") == 31
    assert sorted(v.sampleable) == list(range(4, 24))  # the 20 standard residues only
    assert v.index("X") not in v.special and v.index("X") not in v.sampleable


def test_protein_ids_match_fair_esm_and_hf():
    import esm

    alphabet = esm.data.Alphabet.from_architecture("ESM-1b")
    assert tuple(alphabet.all_toks) == ESM_TOKENS
    assert alphabet.mask_idx == 32 and alphabet.padding_idx == 1 and alphabet.cls_idx == 0 and alphabet.eos_idx == 2


def test_encode_accepts_x_and_lowercase_rejects_non_residues():
    assert encode_protein("acdX") == [5, 23, 13, 24]
    with pytest.raises(UserError, match="'J' at position 3"):
        encode_protein("ACJ")
    with pytest.raises(UserError):
        encode_protein("AC1")


def test_vocab_json_round_trip(tmp_path):
    v = protein_vocab()
    v.save(tmp_path / "vocab.json")
    w = Vocab.load(tmp_path / "vocab.json")
    assert w == v and w.fingerprint() == v.fingerprint()
    data = json.loads((tmp_path / "vocab.json").read_text())
    data["extra"] = 1
    with pytest.raises(ValueError, match="keys"):
        Vocab.from_dict(data)


def test_vocab_rejects_colliding_special_ids():
    with pytest.raises(ValueError, match="collide"):
        Vocab(name="bad", tokens=("a", "b", "m"), mask_id=2, pad_id=2, sampleable=(0,))
    with pytest.raises(ValueError, match="cannot be sampleable"):
        Vocab(name="bad", tokens=("a", "b", "m"), mask_id=2, pad_id=1, sampleable=(0, 2))


def test_loglinear_alpha_values_and_derivative_by_finite_differences():
    s = LogLinearSchedule(eps=1e-3)
    t = torch.tensor([0.0, 0.25, 0.5, 1.0], dtype=torch.float64)
    assert torch.allclose(s.alpha(t), torch.tensor([1.0, 1 - 0.999 * 0.25, 1 - 0.999 * 0.5, 1e-3], dtype=torch.float64))
    t = torch.linspace(0.05, 0.95, 19, dtype=torch.float64)
    h = 1e-6
    fd = (s.alpha(t + h) - s.alpha(t - h)) / (2 * h)
    assert torch.allclose(s.dalpha(t), fd, atol=1e-8)
    # The NELBO weight −α'/(1−α) is exactly 1/t for this schedule.
    assert torch.allclose(s.loss_weight(t), 1 / t)


def test_schedule_registry_and_grid():
    assert make_schedule({"name": "loglinear", "eps": 0.01}).eps == 0.01
    with pytest.raises(ValueError, match="unknown schedule"):
        make_schedule({"name": "cosine-typo"})
    g = time_grid(4)
    assert g.tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]
