"""Distillation methods over the vocabulary-agnostic core, by name (`method: didi|idlm`).

Each method module defines `METHOD`, a `protdidi.methods.base.Method` that describes it (config, task, plots,
teacher pool, checkpoint fields). This package's import is torch-free; `METHODS.get(name)` imports one method.
"""

from protdidi.registry import Registry

METHODS = Registry("method", {"didi": "protdidi.methods.didi:METHOD", "idlm": "protdidi.methods.idlm:METHOD"})
