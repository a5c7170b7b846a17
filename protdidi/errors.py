"""Errors that mean "the user's input is wrong": the CLI prints their message as one line and exits 2."""


class UserError(ValueError):
    """Bad input (file, option, config, checkpoint); the message is complete on its own."""


class ConfigError(UserError):
    """A config file or override is invalid (unknown key, wrong type, bad value)."""


class CheckpointError(UserError):
    """A checkpoint directory is missing files, truncated, or does not match the expected vocabulary."""


class ModelOutputError(UserError):
    """A model's forward pass gave NaN or +inf log-probabilities while generating: refused, never written."""


class NonFiniteError(RuntimeError):
    """A loss or gradient became NaN/inf; training stops (exit 1) and keeps the last good checkpoint."""
