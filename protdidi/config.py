"""Dataclass configs loaded strictly from YAML, with `--set section.key=value` overrides.

Unknown keys, wrong types and bad values are `ConfigError`s naming the dotted key. Each run saves its
resolved config (`to_dict`) next to its outputs.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path

import yaml

from protdidi.errors import ConfigError, UserError

MAX_SEED = 2**63 - 1  # seeds are non-negative and fit a signed 64-bit integer (torch, numpy, JSON reports)


def check_seed(seed: int, name: str = "--seed") -> None:
    """Every seed, on the command line or in a config (any key named `seed`), lies in 0..MAX_SEED."""
    if not 0 <= seed <= MAX_SEED:
        raise UserError(f"{name} must be in 0..{MAX_SEED} (got {seed})")


def from_dict(cls, data: dict, where: str = ""):
    """Build dataclass `cls` from a mapping, recursively; unknown keys and type mismatches raise."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"unknown config key{'s' if len(unknown) > 1 else ''}: "
                          f"{', '.join(_join(where, k) for k in unknown)}")
    kwargs = {name: _coerce(hints[name], value, _join(where, name)) for name, value in data.items()}
    if isinstance(kwargs.get("seed"), int):
        check_seed(kwargs["seed"], _join(where, "seed"))
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where or 'config'}: {err}") from None


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _coerce(tp, value, where: str):
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, where)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(tp)
        fixed = origin is tuple and Ellipsis not in args  # tuple[float, float]: one type per position
        if fixed and len(value) != len(args):
            raise ConfigError(f"{where}: expected {len(args)} values, got {len(value)}")
        types_ = args if fixed else args[:1] * len(value)
        return origin(_coerce(t, v, f"{where}[{i}]") for i, (t, v) in enumerate(zip(types_, value, strict=True)))
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):
        try:  # YAML 1.1 reads "1e-3" (no dot) as a string
            return float(value)
        except ValueError:
            pass
    if tp in (int, float, str, bool) and not (isinstance(value, tp) and not (tp is int and isinstance(value, bool))):
        raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
    if tp is float and not math.isfinite(value):
        raise ConfigError(f"{where}: must be a finite number, got {value!r}")
    return value


def require(ok: bool, message: str) -> None:
    """For a config's `__post_init__`: a value out of range is a ValueError, which `from_dict` reports as a
    `ConfigError` naming the section."""
    if not ok:
        raise ValueError(message)


def check_fraction_split(valid_frac: float, test_frac: float) -> None:
    require(0 <= valid_frac < 1 and 0 <= test_frac < 1 and valid_frac + test_frac < 1,
            "valid_frac and test_frac must be in [0, 1) and leave some training data")


def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply `a.b=value` strings (value parsed as YAML) to a nested mapping; new keys are caught later."""
    data = dict(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not KEY=VALUE")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ConfigError(f"override {item!r}: cannot parse value") from None
        node = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            child = node.get(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {key!r}: {part!r} is not a section")
            node[part] = dict(child)
            node = node[part]
        node[parts[-1]] = value
    return data


def load_config(cls, path: str | Path | None, overrides: list[str] = ()):
    """Read YAML (or start from defaults when `path` is None), apply overrides, build `cls` strictly."""
    data = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: invalid YAML ({str(err).splitlines()[0]})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: top level must be a mapping")
    return from_dict(cls, apply_overrides(data, list(overrides)))


def check_run_dir(run_dir: Path, cfg, resume: bool, extendable: tuple[str, str]) -> None:
    """Before a run writes into `run_dir`: a fresh run refuses a directory that already holds one; a resumed
    run needs its saved `config.yaml` and refuses a changed config (except `extendable`, e.g. the step count)."""
    from protdidi.io import check_output_location

    run_dir = Path(run_dir)
    check_output_location(run_dir)
    if not resume:
        check_fresh_run_dir(run_dir)
        return
    if not (run_dir / "config.yaml").exists():
        raise UserError(f"{run_dir}: nothing to resume (no config.yaml)")
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    now = without_new_nulls(yaml.safe_load(yaml.safe_dump(to_dict(cfg))), saved)  # tuples → lists, as YAML has them
    section, key = extendable
    for d in (saved, now):
        d.get(section, {}).pop(key, None)
    if saved != now:
        raise UserError(f"{run_dir}: the config differs from the one this run started with; resume refused")


def without_new_nulls(now: dict, saved: dict) -> dict:
    """`now` without the keys that `saved` lacks and that hold None: a setting added to a config class after a run
    started (off by default) does not make that run's config differ."""
    out = {}
    for key, value in now.items():
        if isinstance(value, dict) and isinstance(saved.get(key), dict):
            out[key] = without_new_nulls(value, saved[key])
        elif key in saved or value is not None:
            out[key] = value
    return out


def check_fresh_run_dir(run_dir: Path) -> None:
    """A fresh run refuses a directory that holds any part of a run: a log, a checkpoint, or what a checkpoint save
    killed part-way left (which `--resume` completes)."""
    from protdidi.atomic_dirs import swap_pending

    held = [name for name in ("log.jsonl", "last", "best") if (run_dir / name).exists()]
    if held or any(swap_pending(run_dir / name) for name in ("last", "best")):
        raise UserError(f"{run_dir}: already holds a run ({', '.join(held) or 'an unfinished checkpoint'}); "
                        "use --resume or another directory")
