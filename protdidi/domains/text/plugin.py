"""The text domain as a plug-in: HF tokenizers with an appended mask, packed windows, JSONL/text out, GenPPL."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from protdidi.domains.base import Domain
from protdidi.domains.text.distill import TextDistillConfig, text_distill_setup
from protdidi.domains.text.generate import text_plan, text_records, write_samples
from protdidi.domains.text.models import checkpoint_vocab, load_text_model
from protdidi.domains.text.teacher import TextTeacherRunConfig, train_text_teacher
from protdidi.errors import UserError
from protdidi.generation.result import Generated


class TextDomain(Domain):
    name = "text"
    data_key = "data.path"
    teacher_config = TextTeacherRunConfig
    distill_config = TextDistillConfig
    options: ClassVar[dict[str, frozenset[str]]] = {
        "generate": frozenset({"tokenizer", "format", "template"}), "distill": frozenset({"tokenizer"}),
        "evaluate": frozenset({"evaluator"})}

    def load_model(self, spec, tokenizer=None):
        if not spec:
            raise UserError("--domain text needs --model (a protdidi text checkpoint, MDLM .ckpt or HF dir)")
        return load_text_model(spec, self, tokenizer)

    def weights_file(self, spec):
        from protdidi.weights import weights_path

        return weights_path(spec)

    def checkpoint_vocab(self, path, cfg):
        return checkpoint_vocab(Path(path))

    def plan(self, model, n, length, generator, condition):
        return text_plan(model, n, length, condition)

    def records(self, model, rows, provenance, labels=None, start=0):
        return text_records(model, rows, provenance, labels, start)

    def text_of(self, record):
        return record["text"]

    def write(self, records, path, fmt=None):
        write_samples(records, path, fmt)

    def describe(self, tally: Generated) -> tuple[str, str]:
        return f"{tally.n} samples of {tally.tokens // tally.n} tokens", f"{tally.n / tally.seconds:.2f} samples/s"

    def train_teacher(self, cfg, run_dir, resume=False, stop_at=None):
        return train_text_teacher(self, cfg, run_dir, resume, stop_at)

    def distill_setup(self, cfg, device):
        return text_distill_setup(self, cfg, device)

    def evaluate(self, samples, out_dir, options, progress=True):
        from protdidi.domains.text.evaluate import evaluate_text, markdown

        report = evaluate_text(samples, Path(out_dir), options.get("evaluator"), options["batch_size"],
                               options["device"], progress)
        return report, markdown(report), []


DOMAIN = TextDomain()
