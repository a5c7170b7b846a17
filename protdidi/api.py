"""The Python API: the same functions the CLI calls, for notebooks and pipelines.

    from protdidi import load_model
    model = load_model("idlm")                               # a shipped name, a checkpoint dir, a fair-esm .pt ...
    seqs = model.generate(n=8, nfe=8, seed=0)                # plain strings
    seqs = model.generate(n=8, nfe=8, template="MKT____________LLV")       # keep letters, design '_'
    seqs = model.generate(n=8, nfe=8, template=native, redesign="20-35")   # redesign a range of a natural sequence
    recs = model.generate(n=8, nfe=8, motif="10-30,HHHEEK,5-15", length="40-60", records=True)  # with provenance
    model.write(recs, "designs.fasta")

    from protdidi import evaluate
    report = evaluate("designs.fasta", "report/")             # what `protdidi evaluate` writes, as a dict

Conditions, lengths, seeds and errors are those of `protdidi generate` (bad input raises `protdidi.errors.UserError`
with the CLI's one-line message).
"""

from __future__ import annotations

from protdidi.domains import DOMAINS


class Model:
    """A loaded model of one domain."""

    def __init__(self, domain, loaded, device: str = "cpu"):
        self.domain, self.loaded, self.device = domain, loaded, device

    @property
    def name(self) -> str:
        return self.loaded.name

    @property
    def max_length(self) -> int:
        return self.loaded.max_length

    def generate(self, n: int = 8, nfe: int = 16, seed: int = 0, *, length: int | str | None = None,
                 template: str | None = None, redesign: str | None = None, motif: str | None = None,
                 batch_size: int = 16, sampler: str = "ancestral", temperature: float | None = None,
                 exclude: str | None = None, records: bool = False, progress: bool = False,
                 shard: str | None = None) -> list:
        """`n` samples (per template) at `nfe` denoiser calls each: their sequences (text), or with `records` the
        output records whose headers/fields record the model, NFE, seed, sampler and condition. `shard` "I/N":
        only the I-th of N contiguous parts of the job, as `protdidi generate --shard`; `exclude` "his-tag" etc.:
        draw again the samples that show those artefacts, as `--exclude`."""
        from protdidi.generation.driver import generate
        from protdidi.generation.request import Request

        self.domain.check_options("generate", template=template, redesign=redesign, motif=motif, exclude=exclude)
        request = Request(n, nfe, seed, length, template, redesign, motif, batch_size, sampler, self.device, shard,
                          progress, temperature, exclude)
        result = generate(self.domain, self.loaded, request)
        return result.records if records else [self.domain.text_of(r) for r in result.records]

    def write(self, records: list, path: str, fmt: str | None = None) -> None:
        """Write records as `protdidi generate` does (FASTA for proteins, JSONL/text for text), atomically."""
        self.domain.write(records, path, fmt)


def load_model(spec: str | None = None, domain: str = "protein", tokenizer: str | None = None,
               device: str = "cpu", precision: str = "fp32") -> Model:
    """`spec`: what `protdidi generate --model` takes (None: the shipped default for proteins); `device` and
    `precision` what its `--device` and `--precision` take (a device this machine lacks, or bf16 where it has no
    native support, raises UserError before the model loads)."""
    from protdidi.distributed import pick_device
    from protdidi.precision import resolve_precision, with_precision

    plugin = DOMAINS.get(domain)
    device = str(pick_device(device))
    precision = resolve_precision(precision, device)
    return Model(plugin, with_precision(plugin.load_model(spec, tokenizer), precision), device)


def evaluate(samples: str, output: str, domain: str = "protein", *, progress: bool = False, cache: bool = True,
             **options) -> dict:
    """`protdidi evaluate SAMPLES -o OUTPUT`: writes the same report directory and returns its report.json as a
    dict. `options` are the CLI's (reference, train, judge, pppl_n, seed, novelty, homology_db, esmfold;
    evaluator, batch_size, device for text); warnings the CLI prints go to Python's `warnings`."""
    import warnings

    report, _, notes = DOMAINS.get(domain).evaluate_file(samples, output, progress=progress,
                                                         no_cache=None if cache else True, **options)
    for note in notes:
        warnings.warn(note.removeprefix("protdidi: warning: "), stacklevel=2)
    return report
