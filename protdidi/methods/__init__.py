"""Distillation methods over the vocabulary-agnostic core, named by string (`method: didi|idlm`)."""

from protdidi.methods.didi import DidiConfig, DidiTask, DistillLoopConfig
from protdidi.methods.idlm import IdlmConfig, IdlmTask

METHODS = {"didi": (DidiConfig, DidiTask), "idlm": (IdlmConfig, IdlmTask)}


def method_parts(name: str):
    """(config class, task class) of a method; unknown names are an error."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; known: {sorted(METHODS)}")
    return METHODS[name]


__all__ = ["METHODS", "DidiConfig", "DidiTask", "DistillLoopConfig", "IdlmConfig", "IdlmTask", "method_parts"]
