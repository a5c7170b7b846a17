"""Evaluation metrics on hand-made sequences with known answers; `protdidi evaluate` end to end and on bad input."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from fixtures import write_fair_esm_pt

from protdidi.domains.protein.alphabet import STANDARD_RESIDUES
from protdidi.domains.protein.data import split_records
from protdidi.domains.protein.evaluation import metrics as M
from protdidi.domains.protein.evaluation.judge_loading import load_judge
from protdidi.domains.protein.fasta import read_fasta
from protdidi.models.esm2 import Esm2


def test_homopolymer_metrics():
    s = "A" * 30
    assert M.longest_homopolymer(s) == 30
    assert M.longest_homopolymer("ACCCDDA") == 3
    assert M.shannon_entropy_bits(s) == 0.0
    assert M.low_complexity_fraction(s) == 1.0
    assert M.max_residue_fraction(s) == 1.0
    assert M.shannon_entropy_bits(STANDARD_RESIDUES) == pytest.approx(math.log2(20))
    assert M.low_complexity_fraction(STANDARD_RESIDUES * 3) == 0.0  # every 12-window has 12 distinct residues


def test_composition_divergences_and_shuffles():
    seq = ("MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQHDFSAGE"
           "GLYTHMKALRPDEDRLSPLHSVYVDQWDWERVMGDGERQFSTLKSTVEAIWAGIKATEAAVSEEFGLAPFLPDQIHFVHSQELLSRYPDL"
           "DAKGRERAIAKDLGAVFLVGIGGKLSDGHRHDVRAPDYDDWSTPSELGHAGLNGDILVWNPVLEDAFELSSMGIRVDADTLKHQLALTGD"
           "EDRLELEWHQALLRGEMPQTIGGGIGQSRLTMLLLQLPHIGQVQAGVWPAACRESVPALL")
    shuffled = "".join(np.random.default_rng(0).permutation(list(seq)))
    p, q = M.composition([seq]), M.composition([shuffled])
    assert np.allclose(p, q) and M.js_divergence(p, q) == 0.0 and M.kl_divergence(p, q) == 0.0
    assert M.js_divergence(M.dipeptide_composition([seq], 1.0), M.dipeptide_composition([shuffled], 1.0)) > 0.01
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert M.js_divergence(a, b) == pytest.approx(math.log(2))  # disjoint supports: the maximum
    assert M.kl_divergence(np.array([0.5, 0.5]), np.array([0.25, 0.75])) == pytest.approx(
        0.5 * math.log(2) + 0.5 * math.log(2 / 3))


def test_uniqueness_identity_and_novelty_on_a_duplicate_set():
    base = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQ"
    other = "GSHMSLEQLLEQVKQAVAEAGRLLAEGKSPEEIAELLKKLAEEVGDPELAKKALE"
    assert M.uniqueness([base, base, other, base]) == 0.5
    assert M.identity(base, base) == 1.0
    assert M.identity(base, base[:20] + "W" + base[21:]) == pytest.approx(1 - 1 / len(base))
    assert M.identity(base, base[10:40]) == 1.0  # a fragment is identical over the shorter length
    assert M.mean_pairwise_identity([base, base]) == 1.0
    got = M.max_identity_to([base, other[:30] + base[30:]], [other, base[:50]])
    assert got[0] == 1.0 and got[1] < 0.9
    assert M.ks_statistic([1, 2, 3], [1, 2, 3]) == 0.0 and M.ks_statistic([1, 2], [5, 6]) == 1.0


def test_judge_loads_through_the_fair_esm_path(tmp_path):
    """A fair-esm .pt (here a tiny ESM-2 written in the official format) loads as a judge exactly as the
    shipped judge does: both go through `load_fair_esm`."""
    judge = load_judge(str(write_fair_esm_pt(tmp_path / "esm2_tiny.pt")))
    assert isinstance(judge.model, Esm2) and judge.name == "esm2_tiny"


def test_shipped_judge_is_the_default_and_a_fair_esm_file():
    """`protdidi evaluate` without --judge uses the shipped protdidi-cath-judge, stored as a float16 fair-esm
    .pt and read by the same loader as an ESM-2 file; it is named as itself, never as ESM-2."""
    from protdidi.adapters.esm_weights import load_fair_esm
    from protdidi.assets import ASSETS

    judge = load_judge(None)
    assert judge.name == "protdidi-cath-judge" and isinstance(judge.model, Esm2)
    assert judge.model.cfg.token_dropout and next(judge.model.parameters()).dtype == torch.float32
    direct = load_fair_esm(ASSETS / "protdidi-cath-judge" / "protdidi-cath-judge.pt")
    assert all(torch.equal(a, b) for a, b in zip(judge.model.parameters(), direct.parameters(), strict=True))
    report = json.loads((ASSETS / "protdidi-cath-judge" / "report.json").read_text())
    assert report["judge"] == "protdidi-cath-judge" and "float16" in report["weights"]
    assert report["params"] == sum(p.numel() for p in judge.model.parameters())


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "protdidi", *args], capture_output=True, text=True,
                          env=None if env is None else {**os.environ, **env})


def test_evaluate_default_sets_come_from_the_cath_fasta_or_say_how_to_replace_it(tmp_path, toy_fasta):
    judge = write_fair_esm_pt(tmp_path / "judge.pt")
    samples = tmp_path / "samples.fasta"
    samples.write_text(">s1\nMKTAYIAKQRQISFVKSHFSRQ\n")
    args = ["evaluate", str(samples), "--judge", str(judge), "--quiet", "--pppl-n", "1"]
    proc = run(*args, "-o", str(tmp_path / "never"), env={"PROTDIDI_CATH_FASTA": str(tmp_path / "nowhere.fa")})
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "PROTDIDI_CATH_FASTA" in proc.stderr and "--reference" in proc.stderr and "--train" in proc.stderr
    assert not (tmp_path / "never").exists()
    proc = run(*args, "-o", str(tmp_path / "rep"), env={"PROTDIDI_CATH_FASTA": str(toy_fasta)})
    assert proc.returncode == 0, proc.stderr
    split = split_records(read_fasta(str(toy_fasta)))
    natural = json.loads((tmp_path / "rep" / "report.json").read_text())["rows"][1]
    assert natural["set"] == "natural reference" and natural["n"] == len(split["test"]) > 0


def test_evaluate_end_to_end_and_bad_input(tmp_path, toy_fasta):
    judge = write_fair_esm_pt(tmp_path / "judge.pt")
    samples = tmp_path / "samples.fasta"
    samples.write_text(">s1\nMKTAYIAKQRQISFVKSHFSRQ\n>s2\nAAAAAAAAAAAAAAAAAAAA\n>s3\nMKTAYIAKQRQISFVKSHFSRQ\n")
    common = ["--reference", str(toy_fasta), "--train", str(toy_fasta), "--judge", str(judge), "--quiet",
              "--pppl-n", "3"]
    proc = run("evaluate", str(samples), *common, "-o", str(tmp_path / "rep"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    sets = [r["set"] for r in report["rows"]]
    assert sets == ["samples", "natural reference", "natural, each shuffled", "natural, each reversed",
                    "random (i.i.d. composition)"]
    assert report["rows"][0]["uniqueness"] == pytest.approx(2 / 3)
    assert report["rows"][0]["frac_residue_over_25pct"] == pytest.approx(1 / 3)
    natural = report["rows"][1]
    assert "judge_pppl_vs_natural" not in natural
    for row in report["rows"][:1] + report["rows"][2:]:
        vs = row["judge_pppl_vs_natural"]
        assert vs["ratio"] == pytest.approx(row["judge_pppl"] / natural["judge_pppl"], abs=1e-4)
        assert vs["ci95"][0] <= vs["ratio"] <= vs["ci95"][1]
        for measure in ("disorder_fraction", "frac_over_30pct_disordered", "predicted_plddt"):
            diff = row[f"{measure}_vs_natural"]
            assert diff["difference"] == pytest.approx(row[measure] - natural[measure], abs=2e-4)
            assert diff["ci95"][0] <= diff["difference"] <= diff["ci95"][1]
            assert row[f"{measure}_ci95"][0] <= row[measure] <= row[f"{measure}_ci95"][1]
    assert "vs natural" in (tmp_path / "rep" / "report.md").read_text()
    for name in ("report.md", "composition.png", "lengths.png", "pppl.png", "disorder.png"):
        assert (tmp_path / "rep" / name).exists()
    empty = tmp_path / "empty.fasta"
    empty.write_text("")
    bad = tmp_path / "bad.fasta"
    bad.write_text(">x\nMKT1AY\n")
    for args in ([str(empty), *common], [str(bad), *common],
                 [str(samples), *common[:4], "--judge", str(tmp_path / "missing.pt")]):
        out = tmp_path / "never"
        proc = run("evaluate", *args, "-o", str(out))
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert not out.exists() and not list(tmp_path.glob(".never*"))
