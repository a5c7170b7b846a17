"""Run under `torchrun --nproc_per_node=2` by test_didi.py: global group statistics, DDP ranks in sync, and the
distill run itself on 2 gloo processes. Writes OUT/ddp_result.json from rank 0."""

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from protdidi import distributed
from protdidi.batching import BatchStream
from protdidi.config import load_config
from protdidi.domains.protein.distill import ProteinDistillConfig
from protdidi.domains.protein.plugin import DOMAIN as PROTEIN
from protdidi.methods.base import DistillLoopConfig
from protdidi.methods.didi import DidiConfig, DidiTask
from protdidi.methods.distillation import run_distillation
from protdidi.methods.rewards import group_normalize


def main(teacher_dir: str, fasta: str, out: str) -> None:
    out = Path(out)
    distributed.init_from_env(torch.device("cpu"))
    rank, world = distributed.rank(), distributed.world_size()
    assert world == 2
    # One group of 8 spread over both ranks (4 rewards each): the statistics need the other rank's rewards,
    # and a rank-local normalisation would give a different answer.
    full = torch.tensor([0.0, 1.0, 3.0, 3.0, 5.0, 2.0, 9.0, -1.0])
    got = group_normalize(full[4 * rank:4 * rank + 4], 8)
    reference = ((full - full.mean()) / (full.std() + 1e-8)).clamp(-3, 3)[4 * rank:4 * rank + 4]
    local_only = full[4 * rank:4 * rank + 4]
    local_only = (local_only - local_only.mean()) / (local_only.std() + 1e-8)
    stats_ok = bool(torch.allclose(got, reference, atol=1e-6)) and not torch.allclose(got, local_only, atol=1e-3)
    del got

    # A few DDP iterations directly: the student and discriminator stay identical on both ranks.
    teacher = PROTEIN.load_model(teacher_dir)
    seqs = [torch.randint(4, 24, (n,), generator=torch.Generator().manual_seed(i))
            for i, n in enumerate([9, 14, 11, 8])]
    stream = BatchStream(seqs, 1, 32, teacher.denoiser.vocab.pad_id, 7 + rank)
    task = DidiTask(teacher.denoiser, teacher.schedule, stream,
                    DidiConfig(disc_unfrozen_blocks=1, student_lr=1e-3, disc_lr=1e-3, warmup_steps=1),
                    DistillLoopConfig(steps=3, batch_size=1), torch.device("cpu"), lambda m: {}, None)
    for step in range(3):
        task.train_step(step)
    flat = torch.cat([p.detach().reshape(-1) for p in task.student.parameters()]
                     + [v.reshape(-1).float() for v in task.disc.trainable_state().values()])
    both = [torch.empty_like(flat) for _ in range(world)]
    dist.all_gather(both, flat)
    in_sync = bool(torch.equal(both[0], both[1]))

    cfg = load_config(ProteinDistillConfig, None, [
        "method=didi", f"teacher={teacher_dir}", f"data.fasta={fasta}", "data.max_length=32", "device=cpu",
        "loop.steps=4", "loop.batch_size=1", "loop.eval_every=4", "loop.save_every=2", "loop.eval_samples=4",
        "didi.disc_unfrozen_blocks=1", "didi.warmup_steps=1"])
    run_distillation(PROTEIN, cfg, out / "run")
    if rank == 0:
        (out / "ddp_result.json").write_text(json.dumps({"group_stats_global": stats_ok, "ranks_in_sync": in_sync}))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:4])
