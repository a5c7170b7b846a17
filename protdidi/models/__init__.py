"""Backbone networks. Each has its own small config dataclass, never the run config."""
