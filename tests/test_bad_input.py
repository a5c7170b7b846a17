"""The bad-input matrix: every command fed every case that concerns it must exit 2 with exactly one stderr line
starting `protdidi: error:`, raise nothing past the CLI, and leave the output path (and everything around it)
untouched. The commands run in this process (`protdidi.cli.main`), so the whole matrix takes seconds.

docs/robustness.md lists the cases by name; `test_the_docs_list_exactly_the_matrix` keeps the two equal.
"""

from __future__ import annotations

import copy
import json
import os
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from protdidi.checkpoint import save_checkpoint
from protdidi.config import MAX_SEED

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Case:
    name: str  # as docs/robustness.md names it
    args: tuple  # command-line words; "{x}" is replaced by the workspace path x
    expect: str  # a regular expression the one error line must contain


# -- the inputs: each case names a prepared file in the workspace --------------------------------------------------
FASTA_CASES = {  # case → (workspace file, message fragment)
    "missing file": ("missing.fasta", "no such file"),
    "empty file": ("empty.fasta", "empty"),
    "not FASTA": ("text.fasta", "not FASTA"),
    "binary file": ("binary.fasta", "binary"),
    "letters outside the alphabet": ("letters.fasta", "amino-acid letter"),
    "nucleotide FASTA": ("dna.fasta", "nucleotide"),
}
TEXT_CASES = {
    "missing file": ("missing.txt", "no such file"),
    "empty file": ("empty.txt", "no (text|samples)"),
    "binary file": ("binary.txt", "not UTF-8"),
}
CHECKPOINT_CASES = {  # a protdidi checkpoint directory, damaged three ways
    "truncated checkpoint": ("ck-truncated", "truncated"),
    "empty checkpoint": ("ck-empty", "missing"),
    "wrong-vocabulary checkpoint": ("ck-dna", "does not match"),
}
MODEL_CASES = {  # further damage to a protein model directory, as `generate --model`
    "NaN weights": ("ck-nan", "NaN or infinite"),
    "config.json not an object": ("ck-list-json", "not a JSON object"),
    "config.json not UTF-8": ("ck-latin1-json", "not UTF-8"),
    "config.json field of the wrong type": ("ck-wrong-type", "must be"),
    "architecture field out of range": ("ck-huge", "integer in"),
    "length histogram beyond the maximum length": ("ck-long-lengths", "exceed"),
}
DEVICE_CASES = {  # case → (--device value, fragment); cuda:99 is absent on CPU-only and GPU machines alike
    "unknown device": ("bogus", "not a torch device"),
    "absent device": ("cuda:99", "cuda:99"),
}
NUMBER_CASES = {  # option → [(value, fragment)]
    "--n": [("0", "--n"), ("-3", "--n")],
    "--nfe": [("0", "--nfe")],
    "--length": [("0", "--length"), ("-5", "--length"), ("abc", "--length"), ("100000", "maximum")],
    "--batch-size": [("0", "--batch-size")],
    "--seed": [("-1", "--seed"), (str(MAX_SEED + 1), "--seed")],
    "--pppl-n": [("0", "--pppl-n")],
}
PROTEIN_TRAINING = {  # command → (its arguments, learning-rate key, seed key, steps key)
    "train-teacher": (("train-teacher",), "train.lr", "train.seed", "train.steps"),
    "distill": (("distill", "--method", "idlm"), "idlm.student_lr", "loop.seed", "loop.steps"),
    "train-judge": (("train-judge",), "train.lr", "train.seed", "train.steps"),
}
TEXT_TRAINING = {
    "train-teacher --domain text": (("train-teacher", "--domain", "text"), "train.lr", "train.seed", "train.steps"),
    "distill --domain text": (("distill", "--domain", "text", "--teacher", "{ck}"), "didi.student_lr", "loop.seed",
                              "loop.steps"),
    "train-evaluator": (("train-evaluator",), "train.lr", "train.seed", "train.steps"),
}


def config_cases(prefix: tuple, lr: str, seed: str, steps: str) -> list[Case]:
    run = (*prefix, "-o", "{run}")
    return [
        Case("unknown config key", (*run, "--set", "nosuchsection.key=1"), "nosuchsection"),
        Case("config value of the wrong type", (*run, "--set", f"{steps}=many"), steps),
        Case("negative learning rate", (*run, "--set", f"{lr}=-0.001"), "lr|learning rate"),
        Case("NaN learning rate", (*run, "--set", f"{lr}=.nan"), "finite"),
        Case("infinite learning rate", (*run, "--set", f"{lr}=.inf"), "finite"),
        Case("negative seed", (*run, "--set", f"{seed}=-1"), "seed"),
        Case("unknown device in the config", (*run, "--set", "device=bogus"), "not a torch device"),
        Case("missing config file", (*run, "--config", "{missing.yaml}"), "not found"),
        Case("invalid YAML config", (*run, "--config", "{bad.yaml}"), "invalid YAML"),
        Case("--resume of a missing run", (*prefix, "--resume", "-o", "{no-such-run}"), "nothing to resume"),
        Case("--resume of a run with another config", (*prefix, "--resume", "-o", "{other-run}"), "differs"),
        Case("output holds a run", (*prefix, "-o", "{done-run}"), "already holds a run"),
        Case("output in a read-only directory", (*prefix, "-o", "{readonly}/run"), "cannot write"),
        Case("output is a file", (*prefix, "-o", "{good.fasta}"), "a file"),
    ]


def matrix() -> dict[str, list[Case]]:
    out: dict[str, list[Case]] = {}
    gen = ("generate", "--nfe", "2", "--n", "2", "--quiet")
    out["generate"] = [
        *(Case(name, (*gen, "--template", f"{{{f}}}", "-o", "{out.fasta}"), msg) for name, (f, msg) in
          FASTA_CASES.items()),
        Case("duplicate ids", (*gen, "--template", "{dup.fasta}", "-o", "{out.fasta}"), "occurs twice"),
        Case("a 10,000-residue record", (*gen, "--template", "{long.fasta}", "-o", "{out.fasta}"), "maximum"),
        *(Case(name, (*gen, "--model", f"{{{f}}}", "-o", "{out.fasta}"), msg) for name, (f, msg) in
          CHECKPOINT_CASES.items()),
        Case("output in a missing directory", (*gen, "-o", "{missing-dir}/x.fasta"), "no such directory"),
        Case("output in a read-only directory", (*gen, "-o", "{readonly}/x.fasta"), "cannot write"),
        Case("output equal to the input file", (*gen, "--template", "{good.fasta}", "-o", "{good.fasta}"),
             "also an input"),
        Case("output is a directory", (*gen, "-o", "{holds-files}"), "is a directory"),
        Case("output ends in /", (*gen, "-o", "{new-dir}/"), "ends in /"),
        Case("output name too long", (*gen, "-o", "{" + "x" * 300 + ".fasta}"), "longer than"),
        Case("output is a socket", (*gen, "-o", "{socket}"), "is a socket"),
        *(Case(name, (*gen, "--model", f"{{{f}}}", "-o", "{out.fasta}"), msg) for name, (f, msg) in
          MODEL_CASES.items()),
        Case("motif of designed positions only", (*gen, "--motif", "3,__,3", "-o", "{out.fasta}"), "no motif"),
        Case("temperature out of range", (*gen, "--temperature", "0", "-o", "{out.fasta}"), "--temperature"),
        Case("temperature for a sampler without one", (*gen, "--model", "didi", "--sampler", "rgas", "--temperature",
                                                       "0.5", "-o", "{out.fasta}"), "does not apply"),
        Case("unknown filter", (*gen, "--exclude", "his-tags", "-o", "{out.fasta}"), "expected one or more of"),
        Case("unknown precision", (*gen, "--precision", "fp16", "-o", "{out.fasta}"), "expected one of"),
        Case("filter the kept residues already fail", (*gen, "--exclude", "his-tag", "--motif", "5,HHHHHH,5", "-o",
                                                       "{out.fasta}"), "already hold a His-tag"),
        *(Case(f"{opt} out of range", ("generate", opt, v, "-o", "{out.fasta}"), msg)
          for opt in ("--n", "--nfe", "--length", "--batch-size", "--seed") for v, msg in NUMBER_CASES[opt]),
        *(Case(name, (*gen, "--device", v, "-o", "{out.fasta}"), msg) for name, (v, msg) in DEVICE_CASES.items()),
    ]
    ev = ("evaluate", "--quiet")
    out["evaluate"] = [
        *(Case(name, (*ev, f"{{{f}}}", "-o", "{report}"), msg) for name, (f, msg) in FASTA_CASES.items()),
        *(Case(f"{name} (--reference)", (*ev, "{good.fasta}", "--reference", f"{{{f}}}", "-o", "{report}"), msg)
          for name, (f, msg) in FASTA_CASES.items()),
        *(Case(f"{name} (--train)", (*ev, "{good.fasta}", "--train", f"{{{f}}}", "-o", "{report}"), msg)
          for name, (f, msg) in FASTA_CASES.items()),
        *(Case(f"{name} (--homology-db)", (*ev, "{good.fasta}", "--homology-db", f"{{{f}}}", "-o", "{report}"), msg)
          for name, (f, msg) in FASTA_CASES.items()),
        Case("truncated checkpoint", (*ev, "{good.fasta}", "--judge", "{judge-truncated.pt}", "-o", "{report}"),
             "judge-truncated.pt"),
        Case("empty checkpoint", (*ev, "{good.fasta}", "--judge", "{empty.pt}", "-o", "{report}"), "empty.pt"),
        Case("wrong-vocabulary checkpoint", (*ev, "{good.fasta}", "--judge", "{ck-dna}", "-o", "{report}"),
             "ck-dna"),
        Case("output in a read-only directory", (*ev, "{good.fasta}", "-o", "{readonly}/r"), "cannot write"),
        Case("output equal to the input file", (*ev, "{good.fasta}", "-o", "{good.fasta}"), "a file"),
        Case("output holds other files", (*ev, "{good.fasta}", "-o", "{holds-files}"), "holds other files"),
        Case("input inside the output", (*ev, "{old-report}/samples.fasta", "-o", "{old-report}"),
             "delete the input"),
        *(Case(f"{opt} out of range", (*ev, "{good.fasta}", opt, v, "-o", "{report}"), msg)
          for opt in ("--pppl-n", "--seed", "--batch-size") for v, msg in
          NUMBER_CASES.get(opt, [("0", opt)])),
        Case("unknown precision", (*ev, "{good.fasta}", "--precision", "fp16", "-o", "{report}"), "expected one of"),
    ]
    for command, (prefix, lr, seed, steps) in PROTEIN_TRAINING.items():
        data = (*prefix, "-o", "{run}", "--data")
        out[command] = [*(Case(name, (*data, f"{{{f}}}"), msg) for name, (f, msg) in FASTA_CASES.items()),
                        *config_cases(prefix, lr, seed, steps)]
    out["distill"] += [Case(name, ("distill", "--method", "idlm", "--teacher", f"{{{f}}}", "-o", "{run}"), msg)
                       for name, (f, msg) in CHECKPOINT_CASES.items()]
    ft = ("finetune", "-o", "{run}")
    out["finetune"] = [
        *(Case(name, (*ft, f"{{{f}}}"), msg) for name, (f, msg) in FASTA_CASES.items()),
        Case("family of fewer than 10 sequences", (*ft, "{good.fasta}"), "at least 10"),
        Case("family too small to split", (*ft, "{unsplittable.fasta}"), "none for validation"),
        Case("--init not a model", (*ft, "{family.fasta}", "--init", "{no-such-ck}"), "no such path"),
        *(Case(name, (*ft, "{family.fasta}", "--init", f"{{{f}}}"), msg) for name, (f, msg) in
          CHECKPOINT_CASES.items()),
        *config_cases(("finetune", "{family.fasta}"), "train.lr", "train.seed", "train.steps")]
    out["train-judge"].append(Case("--ship output holds other files",
                                   ("train-judge", "-o", "{run}", "--ship", "{holds-files}"), "holds other files"))
    for command, (prefix, lr, seed, steps) in TEXT_TRAINING.items():
        data = (*prefix, "-o", "{run}", "--data")
        out[command] = [*(Case(name, (*data, f"{{{f}}}"), msg) for name, (f, msg) in TEXT_CASES.items()),
                        *config_cases(prefix, lr, seed, steps)]
    tgen = ("generate", "--domain", "text", "--nfe", "2", "--n", "2", "--quiet")
    out["generate --domain text"] = [
        Case("missing checkpoint", (*tgen, "--model", "{no-such-ck}", "-o", "{out.jsonl}"), "no such"),
        Case("truncated checkpoint", (*tgen, "--model", "{ck-truncated}", "-o", "{out.jsonl}"), "truncated"),
        Case("wrong-vocabulary checkpoint", (*tgen, "--model", "{ck}", "-o", "{out.jsonl}"), "protein"),
        Case("output in a missing directory", (*tgen, "--model", "{ck}", "-o", "{missing-dir}/x.jsonl"),
             "no such directory"),
        Case("--seed out of range", (*tgen, "--model", "{ck}", "--seed", "-1", "-o", "{out.jsonl}"), "--seed"),
        Case("protein filter", (*tgen, "--model", "{ck}", "--exclude", "his-tag", "-o", "{out.jsonl}"),
             "does not apply"),
        *(Case(name, (*tgen, "--model", "{ck}", "--device", v, "-o", "{out.jsonl}"), msg)
          for name, (v, msg) in DEVICE_CASES.items()),
    ]
    tev = ("evaluate", "--domain", "text", "--quiet")
    out["evaluate --domain text"] = [
        *(Case(name, (*tev, f"{{{f}}}", "-o", "{report}"), msg) for name, (f, msg) in TEXT_CASES.items()),
        Case("malformed JSONL", (*tev, "{bad.jsonl}", "-o", "{report}"), ":2:"),
        Case("output holds other files", (*tev, "{good.txt}", "-o", "{holds-files}"), "holds other files"),
        *(Case(name, (*tev, "{good.txt}", "--device", v, "-o", "{report}"), msg)
          for name, (v, msg) in DEVICE_CASES.items()),
    ]
    tok = ("train-tokenizer",)
    out["train-tokenizer"] = [
        *(Case(name, (*tok, f"{{{f}}}", "-o", "{tok}"), msg) for name, (f, msg) in TEXT_CASES.items()),
        Case("output in a read-only directory", (*tok, "{good.txt}", "-o", "{readonly}/tok"), "cannot write"),
        Case("output equal to the input file", (*tok, "{good.txt}", "-o", "{good.txt}"), "a file"),
        Case("output holds other files", (*tok, "{good.txt}", "-o", "{holds-files}"), "holds other files"),
        Case("--vocab-size out of range", (*tok, "{good.txt}", "--vocab-size", "0", "-o", "{tok}"), "--vocab-size"),
    ]
    return out


MATRIX = matrix()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Every file the matrix feeds, written once; tests must leave it exactly as it is."""
    from protdidi.adapters.esm_denoiser import EsmDenoiser
    from protdidi.domains.protein.alphabet import protein_vocab
    from protdidi.models.esm2 import Esm2Config
    from protdidi.vocab import Vocab

    w = tmp_path_factory.mktemp("bad-input")
    files = {
        "empty.fasta": "", "text.fasta": "just text\nACDE\n", "letters.fasta": ">a\nACDEFJ\n",
        "dna.fasta": ">a\nACGTTGCAACGTAGCTAGCTAGGATC\n>b\nACGGT\n", "dup.fasta": ">a\nMK__LV\n>a\nMKT__V\n",
        "good.fasta": ">a\nMKTAYIAKQRQISFVKSHFSRQ\n>b\nMSLEQKKGADIISKILQIQNSIGKTTSPSTLKTKLSEISRKEQENARIQ\n",
        "long.fasta": ">long\n" + "MKTAYIAKQR" * 999 + "MKTA______\n", "empty.txt": "  \n",
        "good.txt": "the king is dead\n" * 50,
        "bad.jsonl": '{"text": "ok"}\n{"txt": 1}\n', "bad.yaml": "train: [unclosed\n", "empty.pt": "",
    }
    files["family.fasta"] = "".join(f">m{i}\nMKTAYIAKQRQISFVKSHFSRQ{'LV' * i}\n" for i in range(40))
    files["unsplittable.fasta"] = "".join(f">{i}\nMKTAYIAKQRQISFVKSHFSRQ\n" for i in train_only_ids(12))
    for name, text in files.items():
        (w / name).write_text(text)
    for name in ("binary.fasta", "binary.txt"):
        (w / name).write_bytes(bytes(range(256)) * 4)
    torch_model = EsmDenoiser.from_config(Esm2Config(num_layers=1, embed_dim=16, attention_heads=2, max_length=64),
                                          protein_vocab())
    cfg = {"kind": "teacher", "domain": "protein", "name": "t", "schedule": {"name": "loglinear"},
           "arch": {"type": "esm2", **torch_model.backbone.cfg.to_dict()}}
    for name in ("ck", "ck-truncated", "ck-dna"):
        save_checkpoint(w / name, cfg, protein_vocab(), {"model": torch_model})
    weights = w / "ck-truncated" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    damaged = {"ck-nan": None, "ck-list-json": "[1, 2]", "ck-latin1-json": None,
               "ck-wrong-type": {**cfg, "name": ["not", "a", "name"]},
               "ck-huge": {**cfg, "arch": {**cfg["arch"], "embed_dim": 10**12}},
               "ck-long-lengths": {**cfg, "lengths": {"5000": 3}}}
    for name, config in damaged.items():
        save_checkpoint(w / name, cfg, protein_vocab(), {"model": torch_model})
        if isinstance(config, dict):
            (w / name / "config.json").write_text(json.dumps({"format": "protdidi/1", **config}))
        elif config is not None:
            (w / name / "config.json").write_text(config)
    (w / "ck-latin1-json" / "config.json").write_bytes('{"name": "caf\xe9"}'.encode("latin-1"))
    nan_model = copy.deepcopy(torch_model)
    with torch.no_grad():
        nan_model.backbone.embed_tokens.weight[3, 0] = float("nan")
    save_checkpoint(w / "ck-nan", cfg, protein_vocab(), {"model": nan_model})
    with socket.socket(socket.AF_UNIX) as sock:  # the socket file stays after the socket closes
        sock.bind(str(w / "socket"))
    Vocab(name="dna", tokens=("A", "C", "G", "T", "<m>", "<p>"), mask_id=4, pad_id=5,
          sampleable=(0, 1, 2, 3)).save(w / "ck-dna" / "vocab.json")
    (w / "ck-empty").mkdir()
    from fixtures import write_fair_esm_pt

    judge = write_fair_esm_pt(w / "judge-truncated.pt", layers=1, dim=16, heads=2)
    judge.write_bytes(judge.read_bytes()[:2000])
    (w / "holds-files").mkdir()
    (w / "holds-files" / "notes.txt").write_text("mine\n")
    (w / "old-report").mkdir()
    (w / "old-report" / "report.json").write_text("{}\n")
    (w / "old-report" / "samples.fasta").write_text(files["good.fasta"])
    for run in ("other-run", "done-run"):
        (w / run / "last").mkdir(parents=True)
        (w / run / "config.yaml").write_text("name: another run\n")
    readonly = Path("/proc/sys") if os.geteuid() == 0 else w / "readonly"  # root writes through chmod 0555
    if os.geteuid() != 0:
        readonly.mkdir()
        readonly.chmod(0o555)
    return w, readonly


def train_only_ids(n: int) -> list[str]:
    """n ids that the id-hash split puts in the training set at finetune's data.valid_frac (0.1)."""
    from protdidi.domains.protein.data import split_of

    return [i for i in (f"u{k}" for k in range(1000)) if split_of(i, 0.1, 0.0) == "train"][:n]


def expand(args: tuple, w: Path, readonly: Path) -> list[str]:
    def path(m):
        return str(readonly if m.group(1) == "readonly" else w / m.group(1))

    return [re.sub(r"\{([^}]+)\}", path, a) for a in args]


def snapshot(w: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(w)): (p.stat().st_size, p.stat().st_mtime_ns) for p in w.rglob("*")}


def invoke(argv: list[str], capsys) -> tuple[int, str]:
    """Run `protdidi ARGV` in this process; (exit code, stderr). Anything raised past the CLI fails the test."""
    from protdidi.cli import main

    capsys.readouterr()
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


CASES = [(command, case) for command, cases in MATRIX.items() for case in cases]


@pytest.mark.parametrize("command, case", CASES, ids=[f"{c}: {k.name}" for c, k in CASES])
def test_bad_input(command, case, workspace, capsys):
    w, readonly = workspace
    before = snapshot(w)
    code, err = invoke(expand(case.args, w, readonly), capsys)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("protdidi: error:"), err
    assert re.search(case.expect, lines[0]), lines[0]
    assert "Traceback" not in err
    assert snapshot(w) == before  # no output file, no run directory, no temporary file, inputs untouched


def test_every_command_is_in_the_matrix():
    from protdidi.cli import cli

    covered = {c.split()[0] for c in MATRIX}
    assert covered == set(cli.commands)
    assert {"generate --domain text", "evaluate --domain text", "distill --domain text",
            "train-teacher --domain text"} <= set(MATRIX)


def test_the_docs_list_exactly_the_matrix():
    """docs/robustness.md names every command and every case of the matrix, and no case the matrix does not run."""
    doc = (ROOT / "docs" / "robustness.md").read_text()
    block = doc.split("<!-- bad-input-matrix -->")[1].split("<!-- /bad-input-matrix")[0]
    block = " ".join(block.split())
    listed = set(re.findall(r"\*\*([^*]+)\*\*", block))
    cases = {re.sub(r" \(--[\w-]+\)$", "", case.name) for cases in MATRIX.values() for case in cases}
    assert listed == cases
    assert all(f"`{command}`" in block for command in MATRIX)


def test_a_bad_output_fails_before_any_work(workspace, capsys, monkeypatch):
    """`generate -o` into a missing directory fails before the model is even loaded, in well under a second."""
    import protdidi.domains.protein.plugin as plugin
    import protdidi.generation.driver as driver

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the output location was checked")

    monkeypatch.setattr(plugin.ProteinDomain, "load_model", no_work)
    monkeypatch.setattr(driver, "stream", no_work)
    w, _ = workspace
    start = time.perf_counter()
    code, err = invoke(["generate", "--n", "100000", "-o", str(w / "nowhere" / "x.fasta")], capsys)
    assert code == 2 and "no such directory" in err
    assert time.perf_counter() - start < 1.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the child's CPU time from /proc")
@pytest.mark.parametrize("command, signame, code, line", [
    ("generate", "SIGINT", 130, "interrupted"), ("evaluate", "SIGINT", 130, "interrupted"),
    ("generate", "SIGTERM", 143, "terminated")])
def test_an_interrupt_leaves_no_file_and_says_one_line(command, signame, code, line, tmp_path):
    """Ctrl-C (SIGINT) or SIGTERM once the command is at work (3 CPU-seconds in: past the imports, which are light
    outside the command itself), while `generate` streams into its temporary file: one line, and the folder holds
    what it held before."""
    import signal
    import subprocess
    import sys

    samples = tmp_path / "s.fasta"
    samples.write_text(">a\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ\n")
    args = {"generate": ["generate", "--n", "100000", "--nfe", "64", "-o", str(tmp_path / "out.fasta")],
            "evaluate": ["evaluate", str(samples), "--no-cache", "-o", str(tmp_path / "report")]}[command]
    # A shell starts background jobs with SIGINT ignored, and the child would inherit that: give it the default.
    proc = subprocess.Popen([sys.executable, "-m", "protdidi", *args, "--quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 120
        while proc.poll() is None and cpu_seconds(proc.pid) < 3 and time.time() < deadline:
            time.sleep(0.1)
        if command == "generate":  # records stream into a temporary file from the start
            while proc.poll() is None and not list(tmp_path.glob(".out.fasta.*.tmp")) and time.time() < deadline:
                time.sleep(0.1)
            assert list(tmp_path.glob(".out.fasta.*.tmp"))
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(getattr(signal, signame))
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # a failed check must not leave the job running
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert err.strip().splitlines() == [f"protdidi: error: {line}"], err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["s.fasta"]


def test_what_is_accepted_in_evaluate(tmp_path, toy_fasta):
    """IUPAC codes and lower case as samples, reference and training set; duplicate ids; a record longer than the
    judge's window (a warning, no error); and a second call replacing the earlier report in place."""
    import json
    import warnings

    from fixtures import write_fair_esm_pt

    from protdidi import evaluate

    judge = write_fair_esm_pt(tmp_path / "judge.pt")
    samples = tmp_path / "s.fasta"  # the long record first: seed 0 scores samples 1 and 2 exactly (cheap)
    samples.write_text(">long\n" + "MKTAYIAKQR" * 110 + "\n>s\nmktayiakqrqisfvkshfsrq\n>s\nMKVBZUOLAAGIVKSHFSRQ\n")
    small = tmp_path / "small.fasta"
    small.write_text("\n".join(toy_fasta.read_text().splitlines()[:40]) + "\n>iupac\nMKVBZUXLAAGIVKSHFSRQ\n")
    options = {"reference": str(small), "train": str(small), "judge": str(judge), "pppl_n": 2}
    out = tmp_path / "r"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = evaluate(str(samples), str(out), **options)
    said = " ".join(str(w.message) for w in caught)
    assert "1 samples are longer than 1,022 residues" in said and ": long" in said
    assert report["metapredict"]["skipped_samples"] == ["s"]  # the one with O
    assert report["rows"][0]["n"] == 3 and report["rows"][0]["judge_pppl_n"] == 2
    (out / "stale.txt").write_text("from an earlier report\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = evaluate(str(samples), str(out), **options)
    assert again["reference_rows"]["source"].startswith("user cache")
    assert json.loads((out / "report.json").read_text())["reference_rows"] == again["reference_rows"]
    assert not (out / "stale.txt").exists()  # the earlier report was replaced as a whole


def test_generate_overwrites_an_existing_file_atomically(tmp_path, capsys):
    out = tmp_path / "x.fasta"
    out.write_text("old\n")
    for seed in ("1", "2"):
        code, err = invoke(["generate", "--n", "2", "--nfe", "2", "--length", "12", "--seed", seed, "--quiet",
                            "-o", str(out)], capsys)
        assert code == 0, err
        assert f"seed={seed}" in out.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["x.fasta"]


def test_iupac_and_lower_case_templates_keep_their_letters(tmp_path, capsys):
    out = tmp_path / "x.fasta"
    code, err = invoke(["generate", "--n", "2", "--nfe", "2", "--template", "mkvbzuo___laag", "--quiet", "-o",
                        str(out)], capsys)
    assert code == 0, err
    seqs = [line for line in out.read_text().splitlines() if not line.startswith(">")]
    assert all(s[:7] == "MKVBZUO" and s[10:] == "LAAG" and len(s) == 14 for s in seqs)
