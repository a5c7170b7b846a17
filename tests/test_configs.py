"""Every committed config loads strictly into its class, and protein configs take the data path from the one
shared setting (PROTDIDI_CATH_FASTA, else the default path) instead of hard-coding it."""

from pathlib import Path

import pytest
import yaml

from protdidi.config import load_config, to_dict
from protdidi.domains.protein.data import CATH_FASTA, CATH_FASTA_ENV
from protdidi.domains.protein.distill import ProteinDistillConfig
from protdidi.domains.protein.evaluation.judge_training import JudgeRunConfig
from protdidi.domains.protein.teacher import TeacherRunConfig
from protdidi.domains.text.causal_lm import CausalLmRunConfig
from protdidi.domains.text.distill import TextDistillConfig
from protdidi.domains.text.teacher import TextTeacherRunConfig

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
CLASSES = {"teacher-cath": TeacherRunConfig, "teacher-cath-8m": TeacherRunConfig, "judge-cath": JudgeRunConfig,
           "judge-cath-8m": JudgeRunConfig,
           "didi-protein": ProteinDistillConfig, "idlm-protein": ProteinDistillConfig,
           "text-teacher": TextTeacherRunConfig, "text-evaluator": CausalLmRunConfig,
           "didi-text": TextDistillConfig, "idlm-text": TextDistillConfig,
           "didi-owt": TextDistillConfig, "idlm-owt": TextDistillConfig}
PROTEIN = [name for name, cls in CLASSES.items() if cls in (TeacherRunConfig, JudgeRunConfig, ProteinDistillConfig)]


def test_every_committed_config_has_a_class():
    assert {p.stem for p in CONFIGS.glob("*.yaml")} == set(CLASSES)


def _subset(written, loaded, where=""):
    """Every value the YAML writes is the value the config holds (lists compare with tuples)."""
    if isinstance(written, dict):
        for key, value in written.items():
            _subset(value, loaded[key], f"{where}.{key}")
    elif isinstance(written, list):
        assert list(written) == list(loaded), where
    else:
        assert written == loaded, where


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_committed_config_loads_strictly(name):
    path = CONFIGS / f"{name}.yaml"
    cfg = load_config(CLASSES[name], path)
    _subset(yaml.safe_load(path.read_text()), to_dict(cfg))
    if hasattr(cfg, "method"):
        assert cfg.method == name.split("-")[0]


@pytest.mark.parametrize("name", PROTEIN)
def test_protein_configs_take_the_shared_data_path(name, monkeypatch):
    monkeypatch.delenv(CATH_FASTA_ENV, raising=False)
    assert load_config(CLASSES[name], CONFIGS / f"{name}.yaml").data.fasta == CATH_FASTA
    monkeypatch.setenv(CATH_FASTA_ENV, "/elsewhere/cath.fasta")
    assert load_config(CLASSES[name], CONFIGS / f"{name}.yaml").data.fasta == "/elsewhere/cath.fasta"
