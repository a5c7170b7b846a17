"""protdidi: distil masked discrete-diffusion language models into few-step generators."""

__version__ = "0.1.0"
