"""`--precision auto|fp32|bf16`: decided from what the hardware reports, refused where bf16 would run emulated, the
weights cast once, and the choice recorded with the output."""

from __future__ import annotations

import pytest
import torch

import protdidi.precision as P
from protdidi.errors import UserError


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    with_units = tmp_path / "bf16"
    with_units.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_tile amx_bf16\n\n")
    without = tmp_path / "plain"
    without.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f\n")
    assert P.cpu_bf16_flags(with_units) == ["avx512_bf16", "amx_bf16"]
    assert P.cpu_bf16_flags(without) == [] and P.cpu_bf16_flags(tmp_path / "missing") == []


def test_resolution_follows_native_support(monkeypatch):
    monkeypatch.setattr(P, "native_bf16", lambda device: False)
    assert P.resolve_precision("fp32", "cpu") == "fp32" and P.resolve_precision("auto", "cpu") == "fp32"
    with pytest.raises(UserError, match="neither avx512_bf16 nor amx_bf16"):
        P.resolve_precision("bf16", "cpu")
    with pytest.raises(UserError, match="expected one of auto, fp32, bf16"):
        P.resolve_precision("fp16", "cpu")
    monkeypatch.setattr(P, "native_bf16", lambda device: True)
    assert P.resolve_precision("auto", "cpu") == "bf16" and P.resolve_precision("bf16", "cpu") == "bf16"


def test_cli_refuses_bf16_without_native_support_before_the_model_loads(tmp_path, monkeypatch, capsys):
    import protdidi.domains.protein.plugin as plugin
    from protdidi.cli import main

    monkeypatch.setattr(P, "native_bf16", lambda device: False)
    monkeypatch.setattr(plugin.ProteinDomain, "load_model", lambda *a, **k: pytest.fail("the model was loaded"))
    out = tmp_path / "x.fasta"
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--n", "2", "--precision", "bf16", "-o", str(out)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and err.startswith("protdidi: error: --precision bf16")
    assert not out.exists()


def test_bf16_weights_generate_and_say_so(monkeypatch):
    from protdidi import load_model

    monkeypatch.setattr(P, "native_bf16", lambda device: True)
    model = load_model("idlm", precision="auto")
    assert {p.dtype for p in model.loaded.denoiser.parameters()} == {torch.bfloat16}
    records = model.generate(n=2, nfe=2, seed=0, length=20, records=True)
    assert all(r.description.endswith("precision=bf16") and len(r.seq) == 20 for r in records)
    plain = load_model("idlm").generate(n=2, nfe=2, seed=0, length=20, records=True)
    assert all("precision" not in r.description for r in plain)
