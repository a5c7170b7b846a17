"""Optional ESMFold pLDDT: the code path on a tiny random EsmForProteinFolding (CPU), and clean skipping."""

import json
import subprocess
import sys

import pytest
import torch

from protdidi.domains.protein.evaluation.plddt import esmfold_plddt, load_esmfold, plddt_skip_reason
from protdidi.errors import UserError


def tiny_esmfold_dir(path):
    from transformers import EsmConfig, EsmForProteinFolding

    trunk = {"num_blocks": 1, "sequence_state_dim": 32, "pairwise_state_dim": 32, "sequence_head_width": 16,
             "pairwise_head_width": 16,
             "structure_module": {"c_s": 32, "c_z": 32, "c_ipa": 16, "no_heads_ipa": 2, "no_qk_points": 2,
                                  "no_v_points": 2, "num_blocks": 1, "no_transition_layers": 1,
                                  "no_resnet_blocks": 1, "no_angles": 7}}
    cfg = EsmConfig(vocab_size=33, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                    is_folding_model=True, mask_token_id=32, pad_token_id=1, position_embedding_type="rotary",
                    token_dropout=True, esmfold_config={"trunk": trunk, "fp16_esm": False, "lddt_head_hid_dim": 16})
    torch.manual_seed(0)
    EsmForProteinFolding(cfg).save_pretrained(path)
    return path


def test_esmfold_plddt_on_a_tiny_model(tmp_path):
    model = load_esmfold(tiny_esmfold_dir(tmp_path / "esmfold"), device="cpu")
    seqs = ["MKTAYIAKQR", "GSHMLEDPVA", "MKV"]
    one_by_one = esmfold_plddt(model, seqs, batch_size=1)
    batched = esmfold_plddt(model, seqs, batch_size=3)
    assert all(0.0 < v < 100.0 for v in one_by_one)
    assert batched == pytest.approx(one_by_one, abs=1e-3)  # padding does not change a sequence's score
    direct = model.infer([seqs[0]])
    exists = direct["atom37_atom_exists"].float()
    assert one_by_one[0] == pytest.approx(100 * float((direct["plddt"] * exists).sum() / exists.sum()), abs=1e-4)


def test_plddt_skips_cleanly(tmp_path):
    assert "no ESMFold weights" in plddt_skip_reason(None)
    (tmp_path / "dir").mkdir()
    if not torch.cuda.is_available():
        assert plddt_skip_reason(str(tmp_path / "dir")) == "no GPU on this machine"
    assert plddt_skip_reason(str(tmp_path / "dir"), device="cpu") is None
    with pytest.raises(UserError, match="not a directory"):
        plddt_skip_reason(str(tmp_path / "missing"))
    with pytest.raises(UserError, match="cannot load"):
        load_esmfold(tmp_path / "dir", device="cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU skip path")
def test_evaluate_records_the_skipped_plddt(tmp_path, toy_fasta):
    from fixtures import write_fair_esm_pt

    samples = tmp_path / "samples.fasta"
    samples.write_text(">s1\nMKTAYIAKQRQISFVKSHFSRQ\n>s2\nMKVLAAGIVGLLAAHHEEW\n")
    args = [sys.executable, "-m", "protdidi", "evaluate", str(samples), "--reference", str(toy_fasta),
            "--train", str(toy_fasta), "--judge", str(write_fair_esm_pt(tmp_path / "judge.pt")), "--quiet",
            "--pppl-n", "2", "--esmfold", str(tiny_esmfold_dir(tmp_path / "esmfold")), "-o", str(tmp_path / "rep")]
    proc = subprocess.run(args, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "ESMFold pLDDT skipped: no GPU on this machine" in proc.stderr
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert report["esmfold"] == {"skipped": "no GPU on this machine"}
    assert "esmfold_plddt" not in report["rows"][0]
    assert "ESMFold pLDDT skipped" in (tmp_path / "rep" / "report.md").read_text()
