"""Large jobs: `generate` streams records chunk by chunk (`CHUNK` samples each, with its own generator), and
`--shard I/N` makes contiguous parts of a job whose files, concatenated in order, are the unsharded file."""

from __future__ import annotations

import pytest
import torch

import protdidi.generation.driver as driver
import protdidi.generation.request as request
from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
from protdidi.errors import UserError
from protdidi.generation.request import Request


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(request, "CHUNK", 3)
    monkeypatch.setattr(driver, "CHUNK", 3)


def run(args, capsys) -> str:
    from protdidi.cli import main

    main(args)
    return capsys.readouterr().out


@pytest.mark.parametrize("condition", [[], ["--template", "MKT___LLV____EEK"], ["--motif", "2-5,HHEE,2-5"]])
def test_shards_concatenate_to_the_unsharded_file(small_chunks, condition, capsys):
    args = ["generate", "--n", "10", "--nfe", "2", "--seed", "5", "--quiet", *condition, "-o", "-"]
    args += [] if condition else ["--length", "12"]
    whole = run(args, capsys)
    parts = [run([*args, "--shard", f"{i}/3"], capsys) for i in range(3)]
    assert "".join(parts) == whole
    assert all(parts)  # 4 chunks of 3 over 3 shards: none is empty
    ids = [line.split()[0][1:] for line in whole.splitlines() if line.startswith(">")]
    assert ids == [f"protdidi_{i:05d}" for i in range(10)]
    again = run([*args, "--shard", "1/3"], capsys)
    assert again == parts[1]  # a shard is reproducible on its own


def test_chunks_have_their_own_generators_and_a_job_within_one_chunk_is_unchanged(small_chunks):
    model = PROTEIN.load_model(None)
    job = driver.generate(PROTEIN, model, Request(7, 2, 4, 12))
    assert [len(r.seq) for r in job.records] == [12] * 7
    g = torch.Generator().manual_seed(4)  # chunk 0: the seed itself, as before chunking
    first = driver.generate_rows(model, [12] * 3, 2, g, 16, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(first.rows, job.rows[:3], strict=True))
    later = driver.generate_rows(model, [12] * 3, 2, driver.chunk_generator(4, 1), 16, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(later.rows, job.rows[3:6], strict=True))
    assert not torch.equal(torch.stack(first.rows), torch.stack(later.rows))


def test_api_shards_split_the_job_at_chunk_boundaries(small_chunks):
    from protdidi import load_model

    m = load_model()
    whole = m.generate(n=8, nfe=2, seed=1, length=10)  # chunks of 3: samples 0-2, 3-5, 6-7
    assert m.generate(n=8, nfe=2, seed=1, length=10, shard="0/2") == whole[:3]  # chunk 0
    assert m.generate(n=8, nfe=2, seed=1, length=10, shard="1/2") == whole[3:]  # chunks 1 and 2


@pytest.mark.parametrize("shard, message", [("3/3", "0 <= I < N"), ("a/b", "I/N"), ("0/0", "0 <= I < N"),
                                            ("0/5", "at most 4 shards")])
def test_bad_shards(small_chunks, shard, message):
    model = PROTEIN.load_model(None)
    with pytest.raises(UserError, match=message):
        driver.generate(PROTEIN, model, Request(10, 2, length=12, shard=shard))
