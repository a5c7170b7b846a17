"""Reading tensors safely: safetensors files into a module strictly (readable missing/unexpected lists, tied weights
stored once), finiteness, the weights file a model lives in and its sha256, and a run's trainer_state.pt through
torch's restricted loader (nothing read is ever unpickled beyond tensors and plain containers)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from protdidi.errors import CheckpointError


def read_weights(path: str | Path, component: str = "model") -> dict[str, torch.Tensor]:
    """The tensors of `<component>.safetensors`; a missing or truncated file is a `CheckpointError`."""
    wfile = Path(path) / f"{component}.safetensors"
    if not wfile.exists():
        raise CheckpointError(f"{path}: {wfile.name} is missing")
    try:
        return load_file(str(wfile))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{wfile}: unreadable or truncated weights ({err})") from None


def load_weights(module: nn.Module, path: str | Path, component: str = "model") -> None:
    """Load `<component>.safetensors` into `module` strictly (tied weights may be stored once)."""
    load_state_strict(module, read_weights(path, component), str(Path(path) / f"{component}.safetensors"))


def load_state_strict(module: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Copy `state` into `module`; list missing/unexpected keys and shape mismatches in one message."""
    own = module.state_dict()
    # Tied parameters share storage; one stored name is enough for all of them.
    aliases = _tied_aliases(module)
    missing = [k for k in own if k not in state and not any(a in state for a in aliases.get(k, ()))]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
              for k in state if k in own and state[k].shape != own[k].shape]
    problems = []
    if missing:
        problems.append(f"missing {missing[:5]}{'…' if len(missing) > 5 else ''}")
    if unexpected:
        problems.append(f"unexpected {unexpected[:5]}{'…' if len(unexpected) > 5 else ''}")
    if shapes:
        problems.append(f"shape mismatch {shapes[:3]}")
    if problems:
        raise CheckpointError(f"{source}: weights do not fit the model: {'; '.join(problems)}")
    check_finite(state, source)
    module.load_state_dict(state, strict=False)


def check_finite(state: dict[str, torch.Tensor], source: str) -> None:
    """Weights with a NaN or infinite value are damaged (a diverged run, a corrupted file): a `CheckpointError`
    naming the first such tensors, instead of a model that generates garbage."""
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise CheckpointError(f"{source}: {len(bad)} weight tensor(s) hold NaN or infinite values "
                              f"({', '.join(bad[:3])}); the model is damaged")


def _tied_aliases(module: nn.Module) -> dict[str, tuple[str, ...]]:
    by_ptr: dict[int, list[str]] = {}
    for name, tensor in module.state_dict(keep_vars=True).items():
        by_ptr.setdefault(id(tensor), []).append(name)
    return {n: tuple(x for x in names if x != n) for names in by_ptr.values() for n in names if len(names) > 1}


def weights_path(path: str | Path) -> Path:
    """The file holding a model's weights: the file itself, or a directory's model.safetensors /
    pytorch_model.bin (what a student's teacher reference fingerprints). None found is a CheckpointError."""
    path = Path(path)
    if path.is_file():
        return path
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (path / name).exists():
            return path / name
    raise CheckpointError(f"{path}: no weights file found")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def read_trainer_state(path: Path) -> dict:
    """A run's trainer_state.pt, read with torch's restricted loader (tensors, numbers, strings and plain
    containers; never code named by the file). Anything else, or a file that lacks the trainer's own fields, is a
    `CheckpointError`: a run directory from elsewhere cannot run code on `--resume`."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError for a forbidden class, RuntimeError/EOFError for a damaged file
        raise CheckpointError(f"{path}: not a trainer state protdidi can read safely ({type(err).__name__}); "
                              "resume refused") from None
    if not isinstance(state, dict) or not {"step", "best", "task"} <= state.keys() \
            or not isinstance(state["step"], int) or not isinstance(state["task"], dict):
        raise CheckpointError(f"{path}: not a protdidi trainer state (no step, best and task); resume refused")
    return state
