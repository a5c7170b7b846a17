"""Read Lightning/`torch.save` checkpoints without importing (or trusting) the classes they pickled.

MDLM/DUO `.ckpt` files hold tensors next to OmegaConf configs, tokenizers and loop states. Loading them with
`weights_only=True` fails on those classes, and loading them unrestricted would run whatever they name. This
unpickler lets through tensors, storages, dtypes and plain containers; every other class becomes an inert
placeholder that records what it was given, so the weights and the config values can still be read.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

_SAFE_BUILTINS = {"dict", "list", "tuple", "set", "frozenset", "int", "float", "complex", "str", "bytes",
                  "bytearray", "bool", "slice", "range", "object"}
_SAFE = {
    ("collections", "OrderedDict"), ("collections", "defaultdict"), ("copyreg", "_reconstructor"),
    ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"), ("torch._tensor", "_rebuild_from_type_v2"),
    ("torch.nn.parameter", "Parameter"), ("torch", "Tensor"), ("torch", "Size"), ("torch", "device"),
}


class Placeholder:
    """An object of a class the checkpoint named but we did not load; keeps its arguments and state."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    def __setstate__(self, state):
        self.state = state

    def __setitem__(self, key, value):  # pickled dict subclasses
        self.__dict__.setdefault("items", {})[key] = value

    def append(self, value):  # pickled list subclasses
        self.__dict__.setdefault("values", []).append(value)

    def extend(self, values):
        for value in values:
            self.append(value)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module == "builtins" and name in _SAFE_BUILTINS) or (module, name) in _SAFE:
            return super().find_class(module, name)
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        return type(name, (Placeholder,), {"__module__": f"placeholder.{module}"})


class _PickleModule:
    """What `torch.load(pickle_module=...)` needs: an `Unpickler` and `load`."""

    Unpickler = _Unpickler
    __name__ = "protdidi_tolerant_pickle"

    @staticmethod
    def load(file, **kwargs):
        return _Unpickler(file, **kwargs).load()


def load_tolerant(path: str | Path) -> dict:
    """`torch.load` a checkpoint on CPU, with foreign classes replaced by `Placeholder`s."""
    return torch.load(str(path), map_location="cpu", weights_only=False, pickle_module=_PickleModule)


def _unwrap(value):
    """OmegaConf keeps leaf values in nodes whose pickled state has `_val`."""
    state = getattr(value, "state", None) if isinstance(value, Placeholder) else None
    return state["_val"] if isinstance(state, dict) and "_val" in state else value


def _children(obj) -> dict | list | None:
    if isinstance(obj, Placeholder):
        state = getattr(obj, "state", None)
        merged = {**obj.__dict__, **(state if isinstance(state, dict) else {})}
        merged.pop("state", None)
        return merged
    if isinstance(obj, dict):
        return obj
    if isinstance(obj, (list, tuple)):
        return list(obj)
    return None


def find_value(obj, key: str, depth: int = 12):
    """The first value stored under `key` anywhere in a loaded object (dicts, lists, placeholders' state,
    OmegaConf's `_content` maps and `_val` leaves), breadth first, or None."""
    level = [obj]
    for _ in range(depth):
        nxt = []
        for item in level:
            kids = _children(item)
            if isinstance(kids, dict):
                if key in kids:
                    return _unwrap(kids[key])
                nxt.extend(kids.values())
            elif kids is not None:
                nxt.extend(kids)
        level = [k for k in nxt if _children(k) is not None]
        if not level:
            break
    return None
