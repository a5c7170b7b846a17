"""`protdidi distill --domain protein`: distil a protein teacher into a few-step student (DiDi-Instruct or IDLM)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
import yaml

from protdidi import distributed as dist
from protdidi.batching import BatchStream
from protdidi.checkpoint import save_checkpoint
from protdidi.config import check_run_dir, to_dict
from protdidi.domains.protein.data import TokenizedSet, length_histogram, split_records
from protdidi.domains.protein.fasta import read_fasta
from protdidi.domains.protein.generate import generate_proteins
from protdidi.domains.protein.models import DEFAULT_TEACHER, load_protein_model, teacher_reference
from protdidi.domains.protein.teacher import DataConfig, pick_device
from protdidi.errors import UserError
from protdidi.methods import DidiConfig, DistillLoopConfig, IdlmConfig, method_parts
from protdidi.sampling import AncestralSampler
from protdidi.tasks.mdlm import evaluate_nelbo
from protdidi.tasks.sample_quality import sequence_entropy
from protdidi.trainer import Trainer

log = logging.getLogger(__name__)
PANELS = {"didi": [("loss", "pg"), ("d_loss",), ("d_acc",), ("reward",), ("kl_hi", "kl_lo"), ("entropy",),
                   ("valid_sample_nelbo",), ("valid_sample_entropy",)],
          "idlm": [("loss",), ("fake_loss",), ("valid_sample_nelbo",), ("valid_sample_entropy",)]}


@dataclass
class RgasDefaults:
    """The reward-guided sampler's settings, stored with the student (spec defaults)."""

    num_candidates: int = 4
    rerank_ratio: float = 0.5
    guidance_start: float = 30.0
    guidance_end: float = 40.0


@dataclass
class DistillRunConfig:
    name: str | None = None  # default: protdidi-cath-<method>
    method: str = "didi"  # didi | idlm (protdidi.methods.METHODS)
    device: str = "auto"
    teacher: str = DEFAULT_TEACHER  # shipped name, protdidi checkpoint dir, fair-esm .pt or HF dir
    data: DataConfig = field(default_factory=lambda: DataConfig(max_length=256))
    didi: DidiConfig = field(default_factory=DidiConfig)
    idlm: IdlmConfig = field(default_factory=IdlmConfig)
    loop: DistillLoopConfig = field(default_factory=DistillLoopConfig)
    rgas: RgasDefaults = field(default_factory=RgasDefaults)


def teacher_pool(teacher, lengths: dict[int, int], size: int, nfe: int, seed: int, device) -> list[torch.Tensor]:
    """`size` many-step teacher samples (lengths from the training distribution): the 'teacher' real side."""
    report = generate_proteins(replace(teacher, lengths=lengths), size, nfe, None, seed, 16, device=device,
                               progress=False)
    vocab = teacher.denoiser.vocab
    return [torch.tensor(vocab.encode(r.seq), dtype=torch.long) for r in report.records]


def make_evaluator(teacher, eval_lengths: list[int], loop: DistillLoopConfig, max_length: int, device):
    """Samples from the EMA student at `loop.eval_nfe` on fixed lengths and seed, scored by the teacher's
    NELBO (a proxy until the evaluation suite) and by mean per-sequence entropy."""
    sampler = AncestralSampler(teacher.schedule)
    sizes = torch.tensor(eval_lengths)
    valid = torch.arange(int(sizes.max()))[None, :] < sizes[:, None]

    def evaluate(student) -> dict[str, float]:
        g = torch.Generator(device=device).manual_seed(loop.seed + 99)
        gen = sampler.sample(student, len(eval_lengths), valid.shape[1], loop.eval_nfe, g, device, valid.to(device))
        tokens = gen.tokens.cpu()
        seqs = [row[:n] for row, n in zip(tokens, eval_lengths, strict=True)]
        nll = evaluate_nelbo(teacher.denoiser, seqs, teacher.schedule, max_length, 64, passes=2, device=device)
        ent = sequence_entropy(tokens, valid, student.vocab.size).mean()
        return {"valid_sample_nelbo": nll, "valid_sample_entropy": float(ent)}

    return evaluate


def run_distill(cfg: DistillRunConfig, run_dir: Path, resume: bool = False, stop_at: int | None = None) -> dict:
    run_dir = Path(run_dir)
    try:
        config_cls, task_cls = method_parts(cfg.method)
    except ValueError as err:
        raise UserError(str(err)) from None
    cfg.name = cfg.name or f"protdidi-cath-{cfg.method}"
    check_run_dir(run_dir, cfg, resume, ("loop", "steps"))
    device = dist.local_device(pick_device(cfg.device))
    dist.init_from_env(device)
    primary = dist.rank() == 0
    torch.manual_seed(cfg.loop.seed)
    teacher = load_protein_model(cfg.teacher)
    if teacher.kind != "teacher":
        raise UserError(f"--teacher {cfg.teacher!r} is a distilled student, not a teacher")
    ref = teacher_reference(cfg.teacher)
    max_length = min(cfg.data.max_length, teacher.max_length)
    records = read_fasta(cfg.data.fasta)
    splits = split_records(records, cfg.data.valid_frac, cfg.data.test_frac)
    if not splits["train"] or not splits["valid"]:
        raise UserError(f"{cfg.data.fasta}: too few records for a train/valid split")
    train = TokenizedSet.from_records(splits["train"]).seqs
    lengths = teacher.lengths or length_histogram(splits["train"], max_length)
    method_cfg = getattr(cfg, cfg.method)
    if not isinstance(method_cfg, config_cls):
        raise UserError(f"config section {cfg.method!r} is not a {config_cls.__name__}")
    real_side = getattr(method_cfg, "real_side", "data")
    if primary:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
    real = train
    if real_side == "teacher":
        pool_file = run_dir / "teacher_pool.pt"
        if pool_file.exists():
            real = torch.load(pool_file, weights_only=True)
        else:
            real = teacher_pool(teacher, lengths, method_cfg.teacher_pool_size, method_cfg.teacher_pool_nfe,
                                cfg.loop.seed, device)
            if primary:
                torch.save(real, pool_file)
    stream = BatchStream(real, cfg.loop.batch_size, max_length, teacher.denoiser.vocab.pad_id,
                         cfg.loop.seed + 7919 * dist.rank())
    valid_seqs = TokenizedSet.from_records(splits["valid"]).seqs
    eval_lengths = [min(len(s), max_length) for s in valid_seqs[: cfg.loop.eval_samples]]
    evaluate = make_evaluator(teacher, eval_lengths, cfg.loop, max_length, device)
    arch = {"type": "esm2", **teacher.denoiser.backbone.cfg.to_dict()}

    def save(path: Path, ema, components: dict, extra: dict, trainer_state) -> None:
        config = {"kind": "student", "domain": "protein", "name": cfg.name, "method": cfg.method, "arch": arch,
                  "schedule": teacher.schedule.to_dict(), "lengths": {str(k): v for k, v in lengths.items()},
                  "teacher": ref, **extra, "train_config": to_dict(cfg)}
        if cfg.method == "didi":
            config["sampler"] = to_dict(cfg.rgas)
        save_checkpoint(path, config, ema.vocab, {"model": ema, **components}, trainer_state)

    task = task_cls(teacher.denoiser, teacher.schedule, stream, method_cfg, cfg.loop, device, evaluate, save)
    if primary:
        log.info("distilling %s from %s (%s) on %s, world size %d", cfg.name, cfg.teacher, cfg.method, device,
                 dist.world_size())
    loop = cfg.loop
    result = Trainer(task, run_dir, loop.steps, loop.eval_every, loop.save_every, loop.log_every,
                     monitor="valid_sample_nelbo", title=f"{cfg.name} ({cfg.method})", resume=resume,
                     stop_at=stop_at, primary=primary, panels=PANELS[cfg.method]).run()
    dist.barrier()
    return result


__all__ = ["DistillRunConfig", "RgasDefaults", "run_distill"]
