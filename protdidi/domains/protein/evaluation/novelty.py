"""Novelty search: each sample's maximum identity to the training set, by one of two searches.

- `python` (the default, always available): a 3-mer prefilter picks the 50 training sequences that share the
  most 3-mers, and Biopython aligns each (global, free end gaps, BLOSUM62).
- `mmseqs`: MMseqs2 (`mmseqs easy-search`, sensitivity 7.5, e-value ≤ 1000, exact alignment), where the
  `mmseqs` binary is on PATH (Debian package `mmseqs2`).

Both report identity as identical aligned residues over the length of the shorter sequence. A sample without
any MMseqs2 hit gets 0; the Python search always aligns its best 50 candidates, so unrelated sequences get
the identity of chance alignments (about 0.3). On close hits (training sequences mutated at 0-30%) the two
agree within about 0.01 with rare exceptions; `benchmarks/results/evaluate_speed.md` has the parity table.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from protdidi.domains.protein.evaluation import metrics as M
from protdidi.errors import UserError


def python_search(samples: list[str], train: list[str], progress: Callable[[int], None] | None = None) -> list[float]:
    return M.max_identity_to(samples, train, progress=progress)


def _write_fasta(path: Path, seqs: list[str]) -> None:
    path.write_text("".join(f">{i}\n{s}\n" for i, s in enumerate(seqs)))


def mmseqs_search(samples: list[str], train: list[str], progress: Callable[[int], None] | None = None,
                  threads: int | None = None) -> list[float]:
    binary = shutil.which("mmseqs")
    if binary is None:
        raise UserError(f"--novelty mmseqs: {_mmseqs_missing()}")
    best = [0.0] * len(samples)
    with tempfile.TemporaryDirectory(prefix="protdidi-mmseqs-") as tmp:
        tmp = Path(tmp)
        _write_fasta(tmp / "q.fasta", samples)
        _write_fasta(tmp / "t.fasta", train)
        command = [binary, "easy-search", str(tmp / "q.fasta"), str(tmp / "t.fasta"), str(tmp / "hits.m8"),
                   str(tmp / "work"), "--format-output", "query,fident,alnlen,qlen,tlen", "-s", "7.5", "-e", "1000",
                   "--alignment-mode", "3", "-v", "1"] + (["--threads", str(threads)] if threads else [])
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no message"]
            raise UserError(f"--novelty mmseqs: mmseqs easy-search failed ({tail[0]})")
        for line in (tmp / "hits.m8").read_text().splitlines():
            query, fident, alnlen, qlen, tlen = line.split("\t")
            identical = round(float(fident) * int(alnlen))  # fident is over the alignment length
            i = int(query)
            best[i] = max(best[i], identical / min(int(qlen), int(tlen)))
    if progress is not None:
        progress(len(samples))
    return best


@dataclass(frozen=True)
class NoveltySearch:
    run: Callable[..., list[float]]  # (samples, train, progress) -> each sample's maximum identity
    description: str
    missing: Callable[[], str | None] = lambda: None  # why it cannot run here, or None


def _mmseqs_missing() -> str | None:
    return None if shutil.which("mmseqs") else "the mmseqs binary is not on PATH (Debian: apt install mmseqs2)"


NOVELTY_SEARCHES = {
    "python": NoveltySearch(python_search, "3-mer prefilter (top 50) + Biopython global alignment (BLOSUM62)"),
    "mmseqs": NoveltySearch(mmseqs_search, "MMseqs2 easy-search (-s 7.5, -e 1000, exact alignment)",
                            _mmseqs_missing),
}


def novelty_search(name: str) -> NoveltySearch:
    """The search called `name`; an unknown name, or one that cannot run on this machine, is a `UserError`."""
    if name not in NOVELTY_SEARCHES:
        raise UserError(f"--novelty {name!r}: expected one of {', '.join(NOVELTY_SEARCHES)}")
    search = NOVELTY_SEARCHES[name]
    reason = search.missing()
    if reason:
        raise UserError(f"--novelty {name}: {reason}")
    return search
