"""Optional ESMFold pLDDT: mean predicted lDDT (0-100) per sequence, from an HF `EsmForProteinFolding`
directory (the `facebook/esmfold_v1` release format).

It runs only when the weights are given and a GPU is present (ESMFold on a 2-core CPU takes minutes per
sequence); otherwise `plddt_skip_reason` says why, and the report records the reason instead of numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from protdidi.errors import UserError


def plddt_skip_reason(weights: str | None, device: str | None = None) -> str | None:
    """None when pLDDT can run; else one sentence for the report and stderr."""
    if not weights:
        return "no ESMFold weights given (--esmfold DIR)"
    if not Path(weights).is_dir():
        raise UserError(f"--esmfold {weights}: not a directory (expected an HF EsmForProteinFolding directory)")
    if (device or "cuda").startswith("cuda") and not torch.cuda.is_available():
        return "no GPU on this machine"
    return None


def load_esmfold(path: str | Path, device: str = "cuda"):
    from transformers import EsmForProteinFolding

    try:
        model = EsmForProteinFolding.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as err:
        raise UserError(f"--esmfold {path}: cannot load an EsmForProteinFolding model ({err})") from None
    return model.to(device).eval()


@torch.no_grad()
def esmfold_plddt(model, seqs: list[str], batch_size: int = 4, progress: Callable[[int], None] | None = None
                  ) -> list[float]:
    """Mean pLDDT over each sequence's existing atoms, on the 0-100 scale, in input order."""
    out = [0.0] * len(seqs)
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))  # similar lengths share a batch
    for b in range(0, len(order), batch_size):
        idx = order[b:b + batch_size]
        res = model.infer([seqs[i] for i in idx])
        exists = res["atom37_atom_exists"].float()
        mean = (res["plddt"].float() * exists).sum((1, 2)) / exists.sum((1, 2)).clamp_min(1)
        for r, i in enumerate(idx):
            out[i] = 100.0 * float(mean[r])
        if progress is not None:
            progress(len(idx))
    return out
