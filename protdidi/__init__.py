"""protdidi: distil masked discrete-diffusion language models into few-step generators.

`from protdidi import load_model, evaluate` is the Python API (`protdidi.api`); it is imported on first use, so that
`import protdidi` (and `protdidi --help`) stays light.
"""

__version__ = "0.1.0"
__all__ = ["__version__", "evaluate", "load_model"]


def __getattr__(name: str):
    if name in ("load_model", "evaluate"):
        from protdidi import api

        return getattr(api, name)
    raise AttributeError(f"module 'protdidi' has no attribute {name!r}")
