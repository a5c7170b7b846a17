"""The protein domain as a plug-in: ESM-2 alphabet, FASTA in and out, CATH data, the project judge."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from protdidi.assets import ASSETS
from protdidi.domains.base import Domain
from protdidi.domains.protein.alphabet import protein_vocab
from protdidi.domains.protein.distill import ProteinDistillConfig, protein_distill_setup
from protdidi.domains.protein.fasta import write_fasta
from protdidi.domains.protein.generate import protein_plan, protein_records
from protdidi.domains.protein.models import length_histogram, load_protein_model, weights_file
from protdidi.domains.protein.teacher import TeacherRunConfig, train_teacher
from protdidi.generation.result import Generated


class ProteinDomain(Domain):
    name = "protein"
    data_key = "data.fasta"
    teacher_config = TeacherRunConfig
    finetune_config = ASSETS / "configs" / "finetune-family.yaml"
    distill_config = ProteinDistillConfig
    options: ClassVar[dict[str, frozenset[str]]] = {
        "generate": frozenset({"template", "redesign", "motif", "exclude"}),
        "evaluate": frozenset({"reference", "train", "judge", "esmfold", "novelty", "no_cache",
                                            "homology_db", "precision"})}

    def load_model(self, spec, tokenizer=None):
        return load_protein_model(spec, self)

    def weights_file(self, spec):
        return weights_file(spec)

    def checkpoint_vocab(self, path, cfg):
        return protein_vocab(), {"lengths": length_histogram(cfg.get("lengths", {}), path)}

    def plan(self, model, n, length, generator, condition):
        return protein_plan(model, n, length, generator, condition)

    def records(self, model, rows, provenance, labels=None, start=0):
        return protein_records(model, rows, provenance, labels, start)

    def text_of(self, record):
        return record.seq

    def write(self, records, path, fmt=None):
        write_fasta(records, path)

    def describe(self, tally: Generated) -> tuple[str, str]:
        return f"{tally.n} sequences, {tally.tokens} residues", f"{tally.n / tally.seconds:.1f} seq/s"

    def train_teacher(self, cfg, run_dir, resume=False, stop_at=None):
        return train_teacher(self, cfg, run_dir, resume, stop_at)

    def distill_setup(self, cfg, device):
        return protein_distill_setup(self, cfg, device)

    def evaluate(self, samples, out_dir, options, progress=True):
        from protdidi.domains.protein.evaluation.evaluate import evaluate, notes
        from protdidi.domains.protein.evaluation.report import markdown

        report = evaluate(samples, Path(out_dir), options.get("reference"), options.get("train"),
                          options.get("judge"), options["pppl_n"], options["seed"], progress=progress,
                          esmfold=options.get("esmfold"), novelty=options.get("novelty") or "python",
                          cache=not options.get("no_cache"), homology_db=options.get("homology_db"),
                          precision=options.get("precision") or "fp32")
        warnings = [f"protdidi: warning: {line}" for line in report["warnings"]]
        if options.get("esmfold") and "skipped" in report["esmfold"]:
            warnings.append(f"protdidi: ESMFold pLDDT skipped: {report['esmfold']['skipped']}")
        return report, markdown(report["rows"], report["judge"], notes(report)), warnings


DOMAIN = ProteinDomain()
