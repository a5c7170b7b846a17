"""Resolve `--judge`: the shipped project judge, a fair-esm ESM-2 name, a local `.pt`, or an HF directory.

Every path ends in the same fair-esm-format loader (`load_fair_esm`), except HF directories. The shipped
judge is `protdidi-cath-judge`, trained on CATH by this project; it is never reported as ESM-2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from protdidi.assets import ASSETS
from protdidi.errors import UserError

PROJECT_JUDGE = "protdidi-cath-judge"
ESM_NAME = re.compile(r"^esm2_t\d+_\d+[MB]_UR50D$")
ESM_URL = "https://dl.fbaipublicfiles.com/fair-esm/models/{name}.pt"


@dataclass
class Judge:
    model: object  # protdidi.models.esm2.Esm2
    name: str  # what every report prints
    path: Path  # the weights file or HF directory it was loaded from


def _download(name: str) -> Path:
    import torch

    target = Path(torch.hub.get_dir()) / "checkpoints" / f"{name}.pt"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    url = ESM_URL.format(name=name)
    try:
        torch.hub.download_url_to_file(url, str(target), progress=True)
    except Exception as err:  # offline, proxy, HTTP error: say what to do instead
        raise UserError(f"cannot download ESM-2 weights {name!r} ({type(err).__name__}); on an offline machine "
                        f"fetch {url} elsewhere and pass --judge /path/to/{name}.pt") from None
    return target


def load_judge(spec: str | None) -> Judge:
    from protdidi.adapters.esm_weights import load_fair_esm, load_hf_esm

    spec = spec or PROJECT_JUDGE
    if spec == PROJECT_JUDGE:
        path = ASSETS / PROJECT_JUDGE / f"{PROJECT_JUDGE}.pt"
        if not path.exists():
            raise UserError(f"the project judge {PROJECT_JUDGE} is not installed (expected {path}); "
                            "train it with `protdidi train-judge` or pass --judge FILE.pt")
        return Judge(load_fair_esm(path).eval(), PROJECT_JUDGE, path)
    if ESM_NAME.match(spec):
        path = _download(spec)
        return Judge(load_fair_esm(path).eval(), spec, path)
    path = Path(spec)
    if not path.exists():
        raise UserError(f"judge {spec!r}: not {PROJECT_JUDGE}, not an ESM-2 model name and no such path")
    if path.is_dir():
        return Judge(load_hf_esm(path).eval(), path.name, path)
    return Judge(load_fair_esm(path).eval(), path.stem, path)
