"""Every registered distillation method describes itself consistently: the run config has its section, its task
is a `DistillTask`, its plots name what it logs, its teacher-pool declaration follows its config, and its
students record what `--sampler` needs."""

import pytest
import torch

from protdidi.adapters.esm_denoiser import EsmDenoiser
from protdidi.batching import BatchStream
from protdidi.checkpoint import LoadedModel
from protdidi.errors import UserError
from protdidi.methods import METHODS
from protdidi.methods.base import DistillLoopConfig, DistillTask
from protdidi.methods.distillation import DistillRunConfig
from protdidi.methods.sample_quality import make_evaluator
from protdidi.models.esm2 import Esm2Config
from protdidi.schedule import LogLinearSchedule


@pytest.mark.parametrize("name", METHODS.names())
def test_each_method_describes_itself(name, vocab):
    torch.manual_seed(0)
    tiny_denoiser = EsmDenoiser.from_config(Esm2Config(num_layers=4, embed_dim=32, attention_heads=4, max_length=64),
                                            vocab).eval()  # 4 blocks: the default discriminator unfreezes 4
    method = METHODS.get(name)
    assert method.name == name
    run_cfg = DistillRunConfig(method=name)
    section = getattr(run_cfg, name)
    assert isinstance(section, method.config) and issubclass(method.task, DistillTask)
    seqs = [torch.randint(4, 24, (n,), generator=torch.Generator().manual_seed(n)) for n in (9, 12, 15, 20)]
    loop = DistillLoopConfig(steps=2, batch_size=2, eval_samples=2, eval_nfe=2)
    teacher = LoadedModel(tiny_denoiser, "tiny", LogLinearSchedule(), 64)
    saved = {}
    task = method.task(tiny_denoiser, LogLinearSchedule(), BatchStream(seqs, 2, 32, vocab.pad_id, 0), section, loop,
                       torch.device("cpu"), make_evaluator(teacher, [8, 8], loop, 32, "cpu"),
                       lambda path, ema, components, extra, state: saved.update(components=components, extra=extra))
    reported = set(task.train_step(0)) | set(task.evaluate())
    plotted = {key for panel in method.panels for key in panel}
    assert plotted <= reported, plotted - reported
    assert method.teacher_pool(section) is None  # the defaults train on data
    extra = method.checkpoint_config(run_cfg)
    task.save(None, None)
    assert tuple(saved["components"]) == method.components
    has_disc = "discriminator" in method.components
    assert set(extra) <= {"sampler"} and ("sampler" in extra) == has_disc  # RGAS's settings ship with its disc
    assert ("discriminator" in saved["extra"]) == has_disc  # config.json says how to rebuild it (`loaded.py`)


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(UserError, match="unknown method 'nope'; known: didi, idlm"):
        METHODS.get("nope")


@pytest.mark.parametrize("snapshots", [(0,), (3,)])
def test_step_snapshots_lie_inside_the_run(snapshots):
    with pytest.raises(ValueError, match="snapshot_steps"):
        DistillLoopConfig(steps=2, snapshot_steps=snapshots)
