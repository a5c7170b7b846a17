"""`protdidi evaluate` beyond the project judge: metapredict's disorder and predicted pLDDT, the reference-row
cache (keys, corrupt entries, unwritable directories, --no-cache, the shipped rows), the MMseqs2 novelty search,
and the CATH FASTA shipped inside the package."""

import json
import lzma
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures import write_fair_esm_pt

from protdidi.domains.protein import fasta as F
from protdidi.domains.protein.data import CATH_FASTA, split_records
from protdidi.domains.protein.evaluation.disorder import DisorderScores, predict_disorder, readable
from protdidi.domains.protein.evaluation.homology import HOMOLOGY_COLUMNS
from protdidi.domains.protein.evaluation.novelty import mmseqs_search, python_search
from protdidi.domains.protein.evaluation.reference_cache import SHIPPED, ReferenceCache, reference_key
from protdidi.domains.protein.evaluation.report_rows import NOVELTY_COLUMNS
from protdidi.domains.protein.fasta import FastaError, read_fasta


@pytest.fixture(scope="module")
def cath_test():
    """A fixed set: the first 80 sequences of the CATH test split (shipped FASTA) without unknown residues."""
    split = split_records(read_fasta(CATH_FASTA))
    return [r.seq for r in split["test"] if "X" not in r.seq][:80], [r.seq for r in split["train"]]


def test_natural_sequences_are_predicted_less_disordered_than_their_shuffles(cath_test):
    natural = cath_test[0]
    rng = random.Random(0)
    shuffled = ["".join(rng.sample(s, len(s))) for s in natural]
    ours, theirs = predict_disorder(natural), predict_disorder(shuffled)
    assert ours.lengths == [len(s) for s in natural] and not ours.skipped
    diff = ours.differences(theirs, seed=0)
    assert diff["disorder_fraction"]["ci95"][1] < 0  # natural less disordered, the whole interval
    assert diff["predicted_plddt"]["ci95"][0] > 0  # and predicted more confidently folded
    columns = ours.columns(seed=0)
    assert columns["metapredict_n"] == 80 and columns["disorder_fraction"] < 0.15


def test_metapredict_reads_bUXZ_by_its_own_conversion_and_skips_other_letters():
    assert readable("mkbuxz") == "MKNCGQ"
    assert readable("MKVO") is None and readable("MK-V") == "MKV"
    scores = predict_disorder(["MKTAYIAKQRQISFVKSHFSRQ", "MKOLAAG", "MKXXAYIAKQRQISFVKSHF"])
    assert scores.skipped == [1] and scores.lengths == [22, 20]
    empty = DisorderScores()
    assert empty.differences(scores, 0) == {} and empty.columns(0)["metapredict_n"] == 0


def test_reference_key_changes_with_every_input(tmp_path):
    judge = write_fair_esm_pt(tmp_path / "j.pt")
    other = write_fair_esm_pt(tmp_path / "k.pt", seed=1)
    base = reference_key(judge, ["MKV"], ["AAA"], {"pppl_n": 3})
    assert base == reference_key(judge, ["MKV"], ["AAA"], {"pppl_n": 3})
    assert len({base, reference_key(other, ["MKV"], ["AAA"], {"pppl_n": 3}),
                reference_key(judge, ["MKW"], ["AAA"], {"pppl_n": 3}),
                reference_key(judge, ["MKV"], ["AAC"], {"pppl_n": 3}),
                reference_key(judge, ["MKV"], ["AAA"], {"pppl_n": 4})}) == 5


def test_cache_round_trip_and_corrupt_entries_are_reported_and_not_trusted(tmp_path):
    warnings = []
    cache = ReferenceCache(True, warnings.append, root=tmp_path)
    cache.store("k1", {"rows": [1, 2]})
    assert cache.load("k1")[0] == {"rows": [1, 2]} and not warnings
    path = tmp_path / "reference-rows" / "k1.json"
    path.write_text(path.read_text()[:40])  # truncated
    assert cache.load("k1") is None and "unreadable" in warnings[-1]
    cache.store("k1", {"rows": [1, 2]})
    entry = json.loads(path.read_text())
    entry["payload"]["rows"] = [1, 3]  # edited without updating the checksum
    path.write_text(json.dumps(entry))
    assert cache.load("k1") is None and "checksum" in warnings[-1]
    assert ReferenceCache(False, warnings.append, root=tmp_path).load("k1") is None


def evaluate_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "protdidi", "evaluate", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def test_evaluate_caches_reference_rows_recomputes_corrupt_ones_and_survives_an_unwritable_cache(tmp_path, toy_fasta):
    judge = write_fair_esm_pt(tmp_path / "judge.pt")
    samples = tmp_path / "s.fasta"
    samples.write_text(">s1\nMKTAYIAKQRQISFVKSHFSRQ\n>s2\nMKVBZUOLAAGIVKSHFSRQ\n")
    small = tmp_path / "small.fasta"
    small.write_text("\n".join(toy_fasta.read_text().splitlines()[:40]) + "\n")  # 20 records
    common = [str(samples), "--reference", str(small), "--train", str(small), "--judge", str(judge),
              "--quiet", "--pppl-n", "2"]
    cache = tmp_path / "cache"
    env = {"PROTDIDI_CACHE_DIR": str(cache)}

    def report(proc, out):
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
        return json.loads((out / "report.json").read_text())

    first = report(evaluate_cli(*common, "-o", str(tmp_path / "r1"), env=env), tmp_path / "r1")
    assert first["reference_rows"]["source"] == first["reference_rows"]["homology_source"] == "computed"
    assert all(set(HOMOLOGY_COLUMNS) <= set(r) for r in first["rows"])  # samples and every reference row
    assert "phmmer" in first["homology"] and "homology hit rate" in (tmp_path / "r1" / "report.md").read_text()
    assert first["metapredict"]["skipped_samples"] == ["s2"] and first["rows"][0]["metapredict_n"] == 1
    proc = evaluate_cli(*common, "-o", str(tmp_path / "r2"), env=env)
    second = report(proc, tmp_path / "r2")
    assert second["reference_rows"]["source"].startswith("user cache")
    assert second["rows"][1:] == first["rows"][1:]
    assert proc.stderr.count("protdidi: warning: metapredict skipped 1 of 2 samples") == 1
    assert second["reference_rows"]["novelty_source"].startswith("user cache")
    assert second["reference_rows"]["homology_source"].startswith("user cache")
    entry = cache / "reference-rows" / f"{first['reference_rows']['key']}.json"
    entry.write_text(entry.read_text()[:100])
    proc = evaluate_cli(*common, "-o", str(tmp_path / "r3"), env=env)
    third = report(proc, tmp_path / "r3")
    assert third["reference_rows"]["source"] == "computed" and "unreadable" in proc.stderr
    assert third["rows"][1:] == first["rows"][1:] and json.loads(entry.read_text())["key"]  # rewritten whole
    # Another training set: only the novelty columns depend on it, so only they are computed again.
    other = tmp_path / "other-train.fasta"
    other.write_text("\n".join(toy_fasta.read_text().splitlines()[40:80]) + "\n")
    moved = [*common[:4], str(other), *common[5:]]
    fourth = report(evaluate_cli(*moved, "-o", str(tmp_path / "r6"), env=env), tmp_path / "r6")
    assert fourth["reference_rows"]["source"].startswith("user cache")
    assert fourth["reference_rows"]["novelty_source"] == fourth["reference_rows"]["homology_source"] == "computed"
    apart = {*NOVELTY_COLUMNS, *HOMOLOGY_COLUMNS}  # the homology database defaults to the training set
    assert [{k: v for k, v in r.items() if k not in apart} for r in fourth["rows"][1:]] == \
        [{k: v for k, v in r.items() if k not in apart} for r in first["rows"][1:]]
    assert [r["max_identity_to_train_mean"] for r in fourth["rows"]] != \
        [r["max_identity_to_train_mean"] for r in first["rows"]]
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    proc = evaluate_cli(*common, "-o", str(tmp_path / "r4"), env={"PROTDIDI_CACHE_DIR": str(blocker / "cache")})
    assert report(proc, tmp_path / "r4")["rows"][1:] == first["rows"][1:]
    assert proc.stderr.count("cannot write the cache directory") == 1
    proc = evaluate_cli(*common, "--no-cache", "-o", str(tmp_path / "r5"),
                        env={"PROTDIDI_CACHE_DIR": str(tmp_path / "c2")})
    fifth = report(proc, tmp_path / "r5")["reference_rows"]
    assert fifth["source"] == fifth["novelty_source"] == fifth["homology_source"] == "computed (--no-cache)"
    assert not (tmp_path / "c2").exists()


def test_the_shipped_reference_rows_are_found_for_the_defaults(cath_test):
    """The two entries shipped in the package answer the default call (project judge, CATH test/train splits,
    default settings): their keys are the ones `evaluate` computes now, and they pass their checksums."""
    from protdidi.domains.protein.evaluation.evaluate import default_settings, homology_settings, novelty_settings
    from protdidi.domains.protein.evaluation.judge_loading import load_judge

    split = split_records(read_fasta(CATH_FASTA))
    test, train = [r.seq for r in split["test"]], [r.seq for r in split["train"]]
    key = reference_key(load_judge(None).path, test, [], default_settings(pppl_n=100, seed=0))
    novelty_key = reference_key(None, test, train, novelty_settings(seed=0, novelty="python"))
    warnings = []
    store = ReferenceCache(True, warnings.append, root=Path("/nonexistent"))
    homology_key = reference_key(None, test, train, homology_settings(seed=0))
    found, novelty, homology = store.load(key), store.load(novelty_key), store.load(homology_key)
    assert None not in (found, novelty, homology) and not warnings, sorted(p.name for p in SHIPPED.glob("*.json"))
    assert "shipped" in found[1] and "shipped" in novelty[1] and "shipped" in homology[1]
    assert list(homology[0]["rows"]) == list(novelty[0]["rows"])
    assert [r["set"] for r in found[0]["rows"]] == list(novelty[0]["rows"]) and \
        found[0]["rows"][0]["set"] == "natural reference"


def _mutated(seqs, rate, rng):
    return ["".join(c if rng.random() >= rate else rng.choice("ACDEFGHIKLMNPQRSTVWY") for c in s) for s in seqs]


@pytest.mark.skipif(shutil.which("mmseqs") is None, reason="MMseqs2 (Debian package mmseqs2) is not installed")
def test_mmseqs_and_python_novelty_agree_on_close_hits(cath_test):
    """On a fixed set (training sequences mutated at 0, 10 and 30%, so true identities near 1.0, 0.9 and 0.7) the
    two searches give the same maximum identity within 0.02; this is the tolerance the README states."""
    train = cath_test[1][:3000]
    rng = random.Random(0)
    picked = rng.sample(train, 30)
    queries = picked[:10] + _mutated(picked[10:20], 0.1, rng) + _mutated(picked[20:], 0.3, rng)
    ours, theirs = python_search(queries, train), mmseqs_search(queries, train)
    assert min(ours) >= 0.6
    assert max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) <= 0.02


def test_novelty_mmseqs_without_the_binary_is_one_line(tmp_path, toy_fasta):
    samples = tmp_path / "s.fasta"
    samples.write_text(">s1\nMKTAYIAKQRQISFVKSHFSRQ\n")
    proc = evaluate_cli(str(samples), "--reference", str(toy_fasta), "--train", str(toy_fasta), "--novelty", "mmseqs",
                        "-o", str(tmp_path / "r"), env={"PATH": str(Path(sys.executable).parent)})
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "mmseqs2" in proc.stderr, proc.stderr
    assert not (tmp_path / "r").exists()


def test_shipped_cath_fasta_is_read_compressed_and_checked(tmp_path, monkeypatch):
    records = read_fasta(CATH_FASTA)
    assert len(records) == 20006 and records[0].id.startswith("cath|4_1_0|")
    damaged = tmp_path / "cath.fasta.xz"
    damaged.write_bytes(lzma.compress(b">a\nMKV\n"))
    monkeypatch.setitem(F.SHIPPED_DATA, damaged.resolve(), "0" * 64)
    with pytest.raises(FastaError, match="sha256"):
        read_fasta(damaged)
    broken = tmp_path / "broken.fasta.xz"
    broken.write_bytes(b"not xz at all")
    with pytest.raises(FastaError, match="cannot decompress"):
        read_fasta(broken)


def test_python_api_evaluate_is_the_cli_evaluate(tmp_path, toy_fasta):
    from protdidi import evaluate
    from protdidi.errors import UserError

    judge = write_fair_esm_pt(tmp_path / "judge.pt")
    samples = tmp_path / "s.fasta"
    samples.write_text(">s1\nMKTAYIAKQRQISFVKSHFSRQ\n>s2\nMKVBZUOLAAGIVKSHFSRQ\n")
    small = tmp_path / "small.fasta"
    small.write_text("\n".join(toy_fasta.read_text().splitlines()[:40]) + "\n")
    with pytest.warns(UserWarning, match="metapredict skipped 1 of 2 samples"):
        report = evaluate(str(samples), str(tmp_path / "r"), reference=str(small), train=str(small), judge=str(judge),
                          pppl_n=2)
    written = json.loads((tmp_path / "r" / "report.json").read_text())
    assert json.dumps(report, sort_keys=True) == json.dumps(written, sort_keys=True)  # NaN != NaN, hence text
    assert report["rows"][0]["set"] == "samples" and report["rows"][0]["metapredict_n"] == 1
    with pytest.raises(UserError, match="--judge does not apply to --domain text"):
        evaluate(str(samples), str(tmp_path / "t"), domain="text", judge=str(judge))


def test_an_output_that_is_a_file_fails_before_any_work(tmp_path, toy_fasta):
    samples = tmp_path / "s.fasta"
    samples.write_text(">s1\nMKTAYIAKQRQISFVKSHFSRQ\n")
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    for out in (taken, taken / "report"):
        proc = evaluate_cli(str(samples), "--reference", str(toy_fasta), "--train", str(toy_fasta), "-o", str(out))
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert taken.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.fasta", "taken", "toy.fasta"]
