"""protdidi: distil masked discrete-diffusion language models into few-step generators.

`from protdidi import load_model` is the Python API (`protdidi.api`); it is imported on first use, so that
`import protdidi` (and `protdidi --help`) stays light.
"""

__version__ = "0.1.0"
__all__ = ["__version__", "load_model"]


def __getattr__(name: str):
    if name == "load_model":
        from protdidi.api import load_model

        return load_model
    raise AttributeError(f"module 'protdidi' has no attribute {name!r}")
