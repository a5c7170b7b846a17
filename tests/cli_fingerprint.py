"""A fingerprint of what the CLI and the Python API produce, for refactors that must not change behaviour.

    python tests/cli_fingerprint.py before.json                 # on the old code
    python tests/cli_fingerprint.py after.json                  # on the new code
    python tests/cli_fingerprint.py --compare before.json after.json

Each case runs commands in a fresh temporary directory (one thread, so training is bit-reproducible) and records the
sha256 of what they wrote: generated FASTA/JSONL, the closing stderr line with its timings blanked, error lines,
trained weights, and evaluate's report.json without its timings; paths under the checkout are written as ROOT, so
two checkouts of the same code print the same fingerprint. Cases: every shipped protein model x sampler x
condition (unconditional, template with a redesigned range, motif contig), batching, chunks and shards, the Python
API, a toy teacher, a toy distillation per method and generation from each student, the text domain end to end
(tokenizer, teacher, both methods, RGAS, a prompt), and evaluate.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
ROOT = str(Path(__file__).resolve().parents[1])  # the checkout: paths under it are written as ROOT
TIMING = re.compile(r"\d+(\.\d+)? s \([^)]*\)")
TEMPLATE = "MKTAYIAKQRQISFVKSHFSRQ______________LEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQ"
TOY_TEACHER = ["model.num_layers=1", "model.embed_dim=32", "model.attention_heads=4", "train.batch_size=8",
               "train.warmup_steps=2", "train.eval_every=4", "train.save_every=4", "train.log_every=1",
               "train.eval_batch_size=16", "data.max_length=32", "device=cpu", "train.steps=4"]
TOY_DISTILL = {"didi": ["didi.disc_unfrozen_blocks=1", "didi.warmup_steps=1", "didi.student_lr=1e-3",
                        "didi.disc_lr=1e-3"],
               "idlm": ["idlm.warmup_steps=1", "idlm.student_lr=1e-3", "idlm.fake_lr=1e-3"]}
TOY_LOOP = ["loop.batch_size=2", "loop.eval_samples=2", "loop.log_every=1", "loop.eval_every=2", "loop.save_every=2",
            "loop.steps=3", "device=cpu"]
TEXT_TEACHER = ["model.hidden_size=64", "model.n_heads=1", "model.n_blocks=2", "model.cond_dim=16", "data.length=32",
                "train.batch_size=4", "train.warmup_steps=1", "train.eval_every=2", "train.save_every=2",
                "train.log_every=1", "device=cpu", "train.steps=2"]


def sets(values: list[str]) -> list[str]:
    return [a for v in values for a in ("--set", v)]


def sha(data: bytes) -> str:
    """The first 16 hex digits of the sha256 of `data` with the checkout's path replaced by ROOT."""
    return hashlib.sha256(data.replace(ROOT.encode(), b"ROOT")).hexdigest()[:16]


class Runner:
    def __init__(self, work: Path):
        self.work, self.prints = work, {}

    def cli(self, case: str, *args: str, files: tuple[str, ...] = ()) -> None:
        """Run `protdidi ARGS` in the work directory; record its exit code, stdout, stderr (timings blanked) and
        the named files' bytes."""
        proc = subprocess.run([sys.executable, "-m", "protdidi", *args], cwd=self.work, env=ENV, capture_output=True)
        stderr = TIMING.sub("T", proc.stderr.decode(errors="replace")).replace(ROOT, "ROOT")
        stderr = "\n".join(line for line in stderr.splitlines() if not line.startswith(("generate (", "\r")))
        self.prints[case] = {"rc": proc.returncode, "stdout": sha(proc.stdout), "stderr": stderr.strip()[-300:],
                             **{f: sha((self.work / f).read_bytes()) if (self.work / f).is_file() else None
                                for f in files}}
        print(f"{case}: {self.prints[case]}", flush=True)

    def value(self, case: str, data) -> None:
        self.prints[case] = {"value": sha(json.dumps(data, sort_keys=True, default=str).encode())}
        print(f"{case}: {self.prints[case]}", flush=True)


def protein_generation(r: Runner) -> None:
    conditions = {"uncond": [], "template": ["--template", TEMPLATE, "--redesign", "5-12"],
                  "motif": ["--motif", "5-10,HHEEK,4-8,GWWG,3-6", "--length", "20-30"]}
    for model in ("teacher", "idlm", "didi"):
        for sampler in ("ancestral", "rgas"):
            for name, cond in conditions.items():
                r.cli(f"generate/{model}/{sampler}/{name}", "generate", "--model", model, "--sampler", sampler,
                      "--n", "3", "--nfe", "4", "--seed", "5", "--batch-size", "2", *cond, "-o", "-")
    r.cli("generate/default/length", "generate", "--n", "5", "--nfe", "3", "--length", "17", "-o", "out.fasta",
          files=("out.fasta",))
    for shard in ("", "0/2", "1/2"):
        r.cli(f"generate/chunks/{shard or 'whole'}", "generate", "--model", "teacher", "--n", "1030", "--nfe", "1",
              "--length", "6", "--batch-size", "256", "--quiet", *(["--shard", shard] if shard else []), "-o", "-")
    for bad in (["--nfe", "0"], ["--shard", "2/2"], ["--model", "teacher", "--sampler", "rgas"],
                ["--redesign", "3-4"], ["--length", "9999"]):
        r.cli(f"generate/error/{' '.join(bad)}", "generate", "--n", "2", *bad, "-o", "bad.fasta", files=("bad.fasta",))


def python_api(r: Runner) -> None:
    from protdidi import load_model

    model = load_model("idlm")
    r.value("api/idlm/records", [(x.id, x.seq, x.description) for x in model.generate(n=4, nfe=4, seed=2,
                                                                                          records=True)])
    r.value("api/didi/rgas", model.generate(n=2, nfe=4, seed=3, sampler="ancestral")
            + load_model("didi").generate(n=2, nfe=4, seed=3, sampler="rgas", motif="4-6,WW,4-6", length="10-14"))


def protein_training(r: Runner) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from fixtures import write_toy_fasta

    write_toy_fasta(r.work / "toy.fasta")
    r.cli("train-teacher/toy", "train-teacher", "--data", "toy.fasta", *sets(TOY_TEACHER), "-o", "teacher",
          files=("teacher/last/model.safetensors", "teacher/best/model.safetensors", "teacher/report.json"))
    for method, extra in TOY_DISTILL.items():
        r.cli(f"distill/{method}", "distill", "--method", method, "--teacher", "teacher/best", "--data", "toy.fasta",
              *sets([*TOY_LOOP, "data.max_length=32", *extra]), "-o", method,
              files=(f"{method}/last/model.safetensors", f"{method}/best/model.safetensors"))
        for sampler in ("ancestral", "rgas"):
            r.cli(f"distill/{method}/generate/{sampler}", "generate", "--model", f"{method}/last", "--sampler",
                  sampler, "--n", "4", "--nfe", "4", "--seed", "1", "-o", "-")


def text_domain(r: Runner) -> None:
    corpus = Path(__file__).resolve().parents[1] / "data" / "text" / "tinyshakespeare.txt"
    (r.work / "small.txt").write_text(corpus.read_text()[:40_000])
    r.cli("text/tokenizer", "train-tokenizer", "small.txt", "--vocab-size", "300", "-o", "tok",
          files=("tok/tokenizer.json",))
    r.cli("text/teacher", "train-teacher", "--domain", "text", "--data", "small.txt",
          *sets([*TEXT_TEACHER, "data.tokenizer=tok"]), "-o", "tt", files=("tt/last/model.safetensors",))
    for method, extra in TOY_DISTILL.items():
        r.cli(f"text/distill/{method}", "distill", "--domain", "text", "--method", method, "--teacher", "tt/best",
              "--data", "small.txt", *sets([*TOY_LOOP, "data.length=32", *extra]), "-o", f"t{method}",
              files=(f"t{method}/last/model.safetensors",))
    for sampler in ("ancestral", "rgas"):
        r.cli(f"text/generate/{sampler}", "generate", "--domain", "text", "--model", "tdidi/last", "--sampler",
              sampler, "--n", "3", "--nfe", "4", "--seed", "3", "-o", "-")
    r.cli("text/generate/prompt", "generate", "--domain", "text", "--model", "tidlm/last", "--template", "the king",
          "--n", "2", "--nfe", "4", "-o", "-")


def evaluation(r: Runner) -> None:
    r.cli("evaluate/samples", "generate", "--model", "idlm", "--n", "12", "--nfe", "4", "--seed", "9", "--quiet",
          "-o", "s.fasta", files=("s.fasta",))
    r.cli("evaluate/report", "evaluate", "s.fasta", "--pppl-n", "4", "-o", "rep", "--quiet")
    report = json.loads((r.work / "rep" / "report.json").read_text())
    r.value("evaluate/report.json", strip_timings(report))


def strip_timings(obj):
    if isinstance(obj, dict):
        return {k: strip_timings(v) for k, v in obj.items() if not re.search(r"seconds|wall|_s$|time", k)}
    if isinstance(obj, list):
        return [strip_timings(v) for v in obj]
    return obj


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?")
    parser.add_argument("--compare", nargs=2, metavar=("A", "B"))
    parser.add_argument("--only", default=None, help="comma-separated parts: generation,api,training,text,evaluate")
    args = parser.parse_args()
    if args.compare:
        a, b = (json.loads(Path(p).read_text()) for p in args.compare)
        diff = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
        for k in diff:
            print(f"DIFFERS {k}:\n  {a.get(k)}\n  {b.get(k)}")
        print(f"{len(a.keys() | b.keys()) - len(diff)} cases identical, {len(diff)} differ")
        sys.exit(1 if diff else 0)
    torch_threads()
    parts = {"generation": protein_generation, "api": python_api, "training": protein_training,
             "text": text_domain, "evaluate": evaluation}
    chosen = args.only.split(",") if args.only else list(parts)
    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(Path(tmp))
        os.chdir(tmp)
        for name in chosen:
            parts[name](runner)
    Path(args.out).write_text(json.dumps(runner.prints, indent=1, sort_keys=True) + "\n")


def torch_threads() -> None:
    import torch

    torch.set_num_threads(1)


if __name__ == "__main__":
    main()
