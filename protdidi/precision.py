"""Inference precision (`--precision auto|fp32|bf16`): which one a device runs well, decided from what the hardware
reports, never assumed.

bf16 keeps the weights in bfloat16 (cast once when the model loads); the categorical sampling step stays float64.
`auto` is bf16 on a CUDA device that supports it and on a CPU that reports native bf16 instructions (`avx512_bf16`
or `amx_bf16` among the flags of /proc/cpuinfo), fp32 elsewhere. Asking for bf16 where there is no native support
is an error: a CPU without those units emulates bf16 many times slower than fp32."""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from protdidi.errors import UserError

PRECISIONS = ("auto", "fp32", "bf16")
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.cache
def cpu_bf16_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    """The native-bf16 instruction flags this CPU reports (empty where it reports none, or no /proc/cpuinfo)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return [f for f in BF16_FLAGS if f in flags]


def native_bf16(device: torch.device | str) -> bool:
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return device.type == "cpu" and bool(cpu_bf16_flags())


def resolve_precision(name: str, device: torch.device | str) -> str:
    """"fp32" or "bf16" for `--precision name` on `device`; a word other than `PRECISIONS`, or bf16 where the device
    has no native support, is a `UserError` (raised before any model is loaded)."""
    if name not in PRECISIONS:
        raise UserError(f"--precision {name!r}: expected one of {', '.join(PRECISIONS)}")
    if name == "fp32":
        return name
    if native_bf16(device):
        return "bf16"
    if name == "auto":
        return "fp32"
    where = "this CPU reports neither avx512_bf16 nor amx_bf16" if torch.device(device).type == "cpu" else \
        f"{device} does not support bf16"
    raise UserError(f"--precision bf16: {where}, so bf16 would run emulated, slower than fp32; use --precision fp32 "
                    "or auto")


def with_precision(model, precision: str):
    """A loaded model (`checkpoint.LoadedModel`) with its denoiser's weights cast to `precision` once, in place."""
    if precision != model.precision:
        model.denoiser.to(DTYPES[precision])
        model.precision = precision
    return model
