"""Text domain: tokenizer → vocab, OWT-style window packing, the GenPPL protocol, and the end-to-end CLI
(train-tokenizer → train-teacher → distill didi/idlm → generate → train-evaluator → evaluate), offline."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from protdidi.domains.text.data import pack_windows, split_windows
from protdidi.domains.text.genppl import counted_targets, gen_ppl, load_causal_lm, unigram_entropy
from protdidi.domains.text.tokenizer import load_tokenizer, text_vocab, train_bpe
from protdidi.errors import UserError

CORPUS = Path(__file__).resolve().parents[1] / "data" / "text" / "tinyshakespeare.txt"
TINY_TEACHER = ["model.hidden_size=64", "model.n_heads=1", "model.n_blocks=2", "model.cond_dim=16",
                "data.length=32", "train.batch_size=4", "train.warmup_steps=1", "train.eval_every=2",
                "train.save_every=2", "train.log_every=1", "device=cpu"]
TINY_LOOP = ["loop.batch_size=2", "loop.eval_samples=2", "loop.log_every=1", "loop.eval_every=2",
             "loop.save_every=2", "didi.disc_unfrozen_blocks=1", "didi.warmup_steps=1", "data.length=32",
             "device=cpu"]


def sets(values):
    return [a for s in values for a in ("--set", s)]


def run_cli(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "protdidi", *args], capture_output=True, text=True)
    if check and proc.returncode:
        raise AssertionError(proc.stderr)
    return proc


def one_line_error(proc):
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("protdidi: error:"), proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "small.txt"
    path.write_text(CORPUS.read_text()[:40_000])
    return path


@pytest.fixture(scope="module")
def tokenizer_dir(corpus, tmp_path_factory):
    return train_bpe([corpus], 300, tmp_path_factory.mktemp("tok") / "bpe")


def test_vocab_appends_mask_and_keeps_eos_predictable(tokenizer_dir):
    tok = load_tokenizer(str(tokenizer_dir))
    vocab = text_vocab(tok)
    assert vocab.size == len(tok) + 1 == 301 and vocab.mask_id == 300 and vocab.tokens[300] == "[MASK]"
    eot = tok.convert_tokens_to_ids("<|endoftext|>")
    assert vocab.bos_id == vocab.eos_id == vocab.pad_id == eot != vocab.mask_id
    assert vocab.special == (300,)  # only the mask is never predicted
    assert eot in vocab.sampleable and 300 not in vocab.sampleable
    ids = tok("To be, or not to be", add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == "To be, or not to be"


def test_offline_hub_name_is_a_clear_error():
    with pytest.raises(UserError, match="offline"):
        load_tokenizer("surely-not-a-local-dir/gpt2-xyz")


def test_windows_are_bos_chunk_eos_and_splits_are_contiguous():
    stream = torch.arange(10, 32)  # 22 tokens
    w = pack_windows(stream, 6, bos_id=0, eos_id=1)
    assert w.tolist() == [[0, 10, 11, 12, 13, 1], [0, 14, 15, 16, 17, 1], [0, 18, 19, 20, 21, 1],
                          [0, 22, 23, 24, 25, 1], [0, 26, 27, 28, 29, 1]]  # 30, 31 dropped
    parts = split_windows(torch.arange(100, 300), 6, 0, 1, valid_frac=0.1, test_frac=0.1)
    body = {k: v[:, 1:-1].flatten() for k, v in parts.items()}
    assert body["train"].max() < body["valid"].min() and body["valid"].max() < body["test"].min()
    assert len(parts["train"]) == 40 and len(parts["valid"]) == 5 and len(parts["test"]) == 5


def test_counted_targets_keep_non_eos_and_the_first_eos_only():
    e = 9
    ids = torch.tensor([[e, 3, 4, e, 5, e, e],   # BOS=EOS at 0 is the first EOS (not a target)
                        [3, 4, e, 5, e, e, e]])  # first EOS at 2 counts; later ones and padding do not
    assert counted_targets(ids, e).tolist() == [[True, True, False, True, False, False],
                                                [True, True, True, False, False, False]]


def test_unigram_entropy_known_values():
    assert unigram_entropy([[1, 1, 2, 2], [5, 5, 5]]) == pytest.approx([math.log(2), 0.0])


def test_gen_ppl_matches_a_hand_computation(tokenizer_dir, tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    tok = load_tokenizer(str(tokenizer_dir))
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=32, n_layer=1, n_head=2))
    model.save_pretrained(tmp_path / "lm")
    tok.save_pretrained(tmp_path / "lm")
    lm = load_causal_lm(str(tmp_path / "lm"))
    texts = ["<|endoftext|>To be, or not to be<|endoftext|>that is", "Speak, speak."]
    got = gen_ppl(texts, lm, batch_size=2)
    eos = tok.eos_token_id
    total, count = 0.0, 0
    for text in texts:  # one sample at a time, no padding: every non-EOS target plus the first EOS
        ids = torch.tensor([tok(text)["input_ids"]])
        with torch.no_grad():
            logp = F.log_softmax(lm.model(input_ids=ids).logits.float(), -1)
        seen_eos = bool(ids[0, 0] == eos)
        for pos in range(1, ids.shape[1]):
            target = int(ids[0, pos])
            if target == eos and seen_eos:
                continue
            seen_eos |= target == eos
            total -= float(logp[0, pos - 1, target])
            count += 1
    assert got["tokens"] == count
    assert got["gen_ppl"] == pytest.approx(math.exp(total / count), rel=1e-4)


def test_text_pipeline_end_to_end_on_the_cli(corpus, tmp_path):
    tok_dir, teacher_run = tmp_path / "tok", tmp_path / "teacher"
    run_cli("train-tokenizer", str(corpus), "--vocab-size", "300", "-o", str(tok_dir))
    run_cli("train-teacher", "--domain", "text", "--data", str(corpus), "-o", str(teacher_run),
            *sets([*TINY_TEACHER, f"data.tokenizer={tok_dir}", "train.steps=2"]))
    report = json.loads((teacher_run / "report.json").read_text())
    assert report["test"]["unigram_ppl"] > 1 and (teacher_run / "best" / "tokenizer").is_dir()
    students = {}
    for method in ("didi", "idlm"):
        run = tmp_path / method
        run_cli("distill", "--domain", "text", "--method", method, "--teacher", str(teacher_run / "best"),
                "--data", str(corpus), "-o", str(run), *sets([*TINY_LOOP, "loop.steps=2"]))
        cfg = json.loads((run / "last" / "config.json").read_text())
        assert cfg["domain"] == "text" and cfg["kind"] == "student" and cfg["method"] == method
        assert cfg["teacher"]["spec"] == str((teacher_run / "best").resolve())
        assert (run / "last" / "tokenizer").is_dir() and (run / "last" / "trainer_state.pt").exists()
        students[method] = run / "last"
    assert (students["didi"] / "discriminator.safetensors").exists()
    assert (students["idlm"] / "fake.safetensors").exists()
    outs = []
    for seed in (3, 3, 4):
        out = tmp_path / f"s{len(outs)}.jsonl"
        run_cli("generate", "--domain", "text", "--model", str(students["didi"]), "--n", "3", "--nfe", "4",
                "--seed", str(seed), "-o", str(out), "--quiet")
        outs.append(out)
    records = [json.loads(line) for line in outs[0].read_text().splitlines()]
    assert len(records) == 3 and all(r["nfe"] == 4 and r["seed"] == 3 and len(r["tokens"]) == 32 for r in records)
    assert all(r["model"] == "didi" and isinstance(r["text"], str) for r in records)  # named for its run directory
    assert outs[0].read_text() == outs[1].read_text() != outs[2].read_text()
    run_cli("generate", "--domain", "text", "--model", str(students["didi"]), "--sampler", "rgas", "--n", "2",
            "--nfe", "4", "-o", str(tmp_path / "rgas.txt"), "--quiet")
    assert (tmp_path / "rgas.txt").read_text().strip()
    prompted = tmp_path / "prompt.jsonl"  # a prompt prefix: BOS + its tokens are kept, the rest is generated
    run_cli("generate", "--domain", "text", "--model", str(students["idlm"]), "--template", "the king", "--n", "2",
            "--nfe", "4", "-o", str(prompted), "--quiet")
    from protdidi.domains.text.tokenizer import load_tokenizer

    prefix = load_tokenizer(str(tok_dir))("the king", add_special_tokens=False)["input_ids"]
    for r in map(json.loads, prompted.read_text().splitlines()):
        assert r["tokens"][1:1 + len(prefix)] == prefix and r["condition"] == f"prompt_tokens={len(prefix)}"
    bad = run_cli("generate", "--domain", "text", "--model", str(students["idlm"]), "--motif", "5,AA,5", "-o",
                  str(tmp_path / "m.jsonl"), check=False)
    assert "--motif does not apply to --domain text" in one_line_error(bad) and not (tmp_path / "m.jsonl").exists()
    for length, message in (("0", "outside 1..32"), ("x", "expected a number of tokens")):
        bad = run_cli("generate", "--domain", "text", "--model", str(students["idlm"]), "--length", length, "-o",
                      str(tmp_path / "l.jsonl"), check=False)
        assert message in one_line_error(bad) and not (tmp_path / "l.jsonl").exists()
    ev_run = tmp_path / "evaluator"
    run_cli("train-evaluator", "--data", str(corpus), "-o", str(ev_run),
            *sets(["model.n_layer=1", "model.n_embd=32", "model.n_head=2", f"data.tokenizer={tok_dir}",
                   "data.length=32", "train.steps=2", "train.batch_size=4", "train.eval_every=2",
                   "train.save_every=2", "train.warmup_steps=1", "device=cpu", "name=tiny-evaluator"]))
    report_dir = tmp_path / "report"
    proc = run_cli("evaluate", "--domain", "text", str(outs[0]), "--evaluator", str(ev_run / "best"),
                   "-o", str(report_dir), "--quiet")
    report = json.loads((report_dir / "report.json").read_text())
    assert report["evaluator"] == "tiny-evaluator" and report["entropy_of"] == "generator token ids"
    assert report["samples"] == 3 and report["gen_ppl"] > 1 and "tiny-evaluator" in proc.stdout


def test_text_cli_bad_input_is_one_line(tmp_path):
    assert "needs --model" in one_line_error(run_cli("generate", "--domain", "text", "-o", str(tmp_path / "x"),
                                                     check=False))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    line = one_line_error(run_cli("evaluate", "--domain", "text", str(empty), "--evaluator", str(tmp_path),
                                  "-o", str(tmp_path / "r"), check=False))
    assert "no samples" in line and not (tmp_path / "r").exists()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"txt": 1}\n')
    assert ":2:" in one_line_error(run_cli("evaluate", "--domain", "text", str(bad), "-o", str(tmp_path / "r"),
                                           check=False))
    assert "--teacher" in one_line_error(run_cli("distill", "--domain", "text", "-o", str(tmp_path / "d"),
                                                 check=False))
    junk = tmp_path / "mdlm.ckpt"
    junk.write_bytes(b"not a checkpoint")
    assert "not a readable checkpoint" in one_line_error(run_cli(
        "generate", "--domain", "text", "--model", str(junk), "-o", str(tmp_path / "y.jsonl"), check=False))
    assert not (tmp_path / "y.jsonl").exists()
