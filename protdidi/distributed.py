"""Process-group helpers for torchrun/DDP runs; every function is a no-op in a single process."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from protdidi.errors import UserError


def pick_device(name: str) -> torch.device:
    """`auto` (CUDA when present, else CPU) or a torch device name this machine has (cpu, cuda, cuda:1, mps, ...).

    Anything else is a UserError, raised before any work: a name torch does not parse, the data-less `meta`
    device, and a device this build or machine lacks (CUDA absent, an index past the last GPU), found by placing
    one element on it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise UserError(f"device {name!r}: not a torch device name (cpu, cuda, cuda:1, mps, ... or auto)") from None
    if device.type == "meta":
        raise UserError("device 'meta' holds no data; use cpu, cuda, ... or auto")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {name!r} requested but CUDA is not available")
    try:
        torch.empty(1, device=device)
    except (RuntimeError, AssertionError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].split(". ")[0].rstrip(".")
        raise UserError(f"device {name!r} is not available here ({reason[:120]})") from None
    return device


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def init_from_env(device: torch.device) -> bool:
    """Join the process group torchrun describes (WORLD_SIZE > 1): gloo on CPU, nccl on CUDA."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or is_distributed():
        return is_distributed()
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return True


def local_device(device: torch.device) -> torch.device:
    """One GPU per process under torchrun (LOCAL_RANK); CPU stays CPU."""
    if device.type == "cuda" and device.index is None and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return device


def all_gather_cat(x: torch.Tensor) -> torch.Tensor:
    """Concatenate equally-shaped tensors from every rank along dim 0, in rank order."""
    if not is_distributed():
        return x
    parts = [torch.empty_like(x) for _ in range(world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)


def mean_across(value: float) -> float:
    """Average a Python number over ranks (for logging)."""
    if not is_distributed():
        return value
    t = torch.tensor([value], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return float(t.item()) / world_size()


def barrier() -> None:
    if is_distributed():
        dist.barrier()
