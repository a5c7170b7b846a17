"""`protdidi evaluate`: score a FASTA of generated proteins against natural references.

Rows: the samples, then the reference rows: the natural reference set (default: the CATH test split) and
controls made from it (each sequence shuffled, each reversed, residues i.i.d. from its composition at its
lengths). The reference rows depend only on (judge weights, reference, settings), their novelty columns on
(reference, training set, search, seed); both come from the cache (`reference_cache.py`) when they can, each
apart. Only the samples row is computed on every call.
"""

from __future__ import annotations

import functools
import json
import random
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from protdidi.atomic_dirs import write_dir_atomic
from protdidi.domains.protein.data import default_cath_splits
from protdidi.domains.protein.evaluation import homology, per_sequence
from protdidi.domains.protein.evaluation.disorder import DISORDER_CUTOFF, DISORDER_VERSION, metapredict_version
from protdidi.domains.protein.evaluation.homology import homology_columns
from protdidi.domains.protein.evaluation.judge_loading import load_judge
from protdidi.domains.protein.evaluation.novelty import novelty_search
from protdidi.domains.protein.evaluation.plddt import esmfold_plddt, load_esmfold, plddt_skip_reason
from protdidi.domains.protein.evaluation.reference_cache import ReferenceCache, reference_key
from protdidi.domains.protein.evaluation.report import markdown, plots
from protdidi.domains.protein.evaluation.report_html import write_html
from protdidi.domains.protein.evaluation.report_rows import (
    CONTROLS,
    JUDGE_WINDOW,
    NATURAL,
    Reference,
    homology_hits,
    homology_row,
    hygiene_columns,
    novelty_columns,
    novelty_identities,
    novelty_summary,
    scored_row,
    versus_natural,
)
from protdidi.domains.protein.fasta import read_fasta
from protdidi.errors import UserError
from protdidi.precision import DTYPES, resolve_precision

ROW_VERSION = 3  # bump whenever what a reference row holds, or how it is computed, changes (invalidates caches)


def reference_sets(reference: str | None, train: str | None) -> tuple[list[str], list]:
    """The natural reference sequences and the training records (default: the CATH test and training splits)."""
    split = None
    if reference is None or train is None:
        split = default_cath_splits("--reference and --train FASTA files")
    ref = [r.seq for r in read_fasta(reference)] if reference else [r.seq for r in split["test"]]
    trn = read_fasta(train) if train else split["train"]
    if not ref or not trn:
        raise UserError("the reference and training sets must not be empty")
    return ref, trn


def control_sets(reference: Reference, seed: int) -> dict[str, list[str]]:
    """The natural set and every control made from it, by row name."""
    return {NATURAL: reference.seqs,
            **{name: make(reference.seqs, reference.composition, seed) for name, make in CONTROLS.items()}}


def reference_rows(sets: dict[str, list[str]], reference: Reference, judge, pppl_n: int, seed: int, progress: bool
                   ) -> dict:
    """The reference rows (`sets`: `control_sets`) without their novelty columns (cached under `default_settings`)."""
    rows, details = [], {}
    for name, seqs in sets.items():
        row, details[name] = scored_row(name, seqs, reference, judge, pppl_n, seed, progress)
        rows.append(row)
    return {"rows": rows, "details": details}


def reference_novelty(sets: dict[str, list[str]], train: list[str], novelty, progress: bool) -> dict:
    """The reference rows' novelty columns by row name (cached apart, under `novelty_settings`)."""
    return {"rows": {name: novelty_columns(name, seqs, train, progress, novelty) for name, seqs in sets.items()}}


def reference_homology(sets: dict[str, list[str]], database: list[str], seed: int, progress: bool) -> dict:
    """The reference rows' homology columns by row name (cached apart, under `homology_settings`)."""
    return {"rows": {name: homology_row(name, seqs, database, seed, progress) for name, seqs in sets.items()}}


def homology_settings(seed: int) -> dict:
    """What the reference rows' homology columns depend on besides the reference and database sequences."""
    return {"row_version": ROW_VERSION, "seed": seed, "controls": list(CONTROLS), **homology.search_settings()}


def default_settings(pppl_n: int, seed: int) -> dict:
    """Everything besides the judge and the reference sequences that the reference rows (novelty aside) depend
    on (part of their cache key). The training set and the novelty search are not among them: changing either
    recomputes only the novelty columns."""
    return {"row_version": ROW_VERSION, "pppl_n": pppl_n, "seed": seed, "controls": list(CONTROLS),
            "metapredict": metapredict_version()}


def novelty_settings(seed: int, novelty: str) -> dict:
    """What the reference rows' novelty columns depend on besides the reference and training sequences."""
    return {"row_version": ROW_VERSION, "seed": seed, "controls": list(CONTROLS), "novelty": novelty}


def evaluate(samples_path: str, out_dir: Path, reference: str | None = None, train: str | None = None,
             judge: str | None = None, pppl_n: int = 100, seed: int = 0, progress: bool = True,
             esmfold: str | None = None, novelty: str = "python", cache: bool = True,
             homology_db: str | None = None, precision: str = "fp32") -> dict:
    """Write `out_dir` (report.json, report.md, report.html, per_sequence.csv, plots) and return the report;
    `report["sequences"]` holds the per-sequence records, `report["warnings"]` one line per thing the caller
    should be told (cache problems, sequences metapredict could not read). `homology_db`: the FASTA that homology
    is searched in (default: the training set). `precision`: the judge's weights, as `--precision` (bf16 where the
    CPU has native bf16; the reference rows are then scored, and cached, in bf16 too)."""
    precision = resolve_precision(precision, "cpu")
    records = read_fasta(samples_path)
    database_records = read_fasta(homology_db) if homology_db else None
    search = novelty_search(novelty)
    judge_model = load_judge(judge)
    judge_model.model.to(DTYPES[precision])
    skipped = plddt_skip_reason(esmfold)
    folder = load_esmfold(esmfold) if skipped is None else None
    ref, train_records = reference_sets(reference, train)
    trn = [r.seq for r in train_records]
    database_records = train_records if database_records is None else database_records
    database = [r.seq for r in database_records]
    reference_set = Reference.of(ref)
    warnings: list[str] = []
    settings = {**default_settings(pppl_n, seed), **({"precision": precision} if precision != "fp32" else {})}
    store = ReferenceCache(cache, warnings.append)
    key = reference_key(judge_model.path, ref, [], settings)
    sets = functools.cache(lambda: control_sets(reference_set, seed))  # made once, and only if something needs them
    payload, source = store.fetch(key, lambda: reference_rows(sets(), reference_set, judge_model, pppl_n, seed,
                                                              progress))
    novelty_key = reference_key(None, ref, trn, novelty_settings(seed, novelty))
    found, novelty_source = store.fetch(novelty_key, lambda: reference_novelty(sets(), trn, search.run, progress))
    homology_key = reference_key(None, ref, database, homology_settings(seed))
    homologs, homology_source = store.fetch(homology_key, lambda: reference_homology(sets(), database, seed,
                                                                                     progress))
    samples = [r.seq for r in records]
    row, detail = scored_row("samples", samples, reference_set, judge_model, pppl_n, seed, progress)
    identities = novelty_identities("samples", samples, trn, progress, search.run)
    hits = homology_hits("samples", samples, database, progress)
    row.update({**novelty_summary(identities), **homology_columns(hits, seed)})
    rows = [row, *({**r, **found["rows"][r["set"]], **homologs["rows"][r["set"]]} for r in payload["rows"])]
    seqs_of = {"samples": samples, **sets()}  # every row's sequences, by row name
    for r in rows:
        r.update(hygiene_columns(seqs_of[r["set"]]))
    sequences = per_sequence.records(records, detail, detail["fast_nll"], hits, [r.id for r in database_records],
                                     identities)
    details = {"samples": detail, **payload["details"]}
    for r in rows:
        if r["set"] != NATURAL:
            versus_natural(r, details[r["set"]], details[NATURAL], seed)
    unread = [records[i].id for i in detail["disorder"]["skipped"]]
    long = [r.id for r in records if len(r.seq) > JUDGE_WINDOW]
    if long:
        warnings.append(f"{len(long)} samples are longer than {JUDGE_WINDOW:,} residues; the judge scored their first "
                        f"{JUDGE_WINDOW:,} (its window), metapredict and novelty the whole record: "
                        f"{some(long)}")
    if unread:
        warnings.append(f"metapredict skipped {len(unread)} of {len(samples)} samples (letters other than the 20 "
                        f"residues and B, U, X, Z): {some(unread)}")
    if folder is not None:
        for r in rows:
            subset = random.Random(seed).sample(seqs_of[r["set"]], min(pppl_n, len(seqs_of[r["set"]])))
            bar = tqdm(total=len(subset), desc=f"ESMFold pLDDT ({r['set']})", file=sys.stderr, disable=not progress)
            r["esmfold_plddt"] = float(np.mean(esmfold_plddt(folder, subset, progress=bar.update)))
            bar.close()
    report = {"judge": judge_model.name, "samples": str(samples_path), "seed": seed, "precision": precision,
              "novelty_search": search.description,
              "homology": homology.describe(homology_db or "the training set", len(database)),
              "metapredict": {"version": settings["metapredict"],
                              "disorder": f"{DISORDER_VERSION}, residue disordered at score >= {DISORDER_CUTOFF}",
                              "predicted_plddt": "metapredict's predictor of AlphaFold2 pLDDT (not ESMFold)",
                              "skipped_samples": unread},
              "reference_rows": {"key": key, "source": source, "novelty_key": novelty_key,
                                 "novelty_source": novelty_source, "homology_key": homology_key,
                                 "homology_source": homology_source},
              "esmfold": {"skipped": skipped} if folder is None else {"model": Path(esmfold).name, "n": pppl_n},
              "warnings": warnings, "rows": rows, "best_rule": per_sequence.BEST_RULE, "sequences": sequences}

    def write(tmp: Path) -> None:
        (tmp / "report.json").write_text(json.dumps(report, indent=1) + "\n")
        (tmp / "report.md").write_text(markdown(rows, judge_model.name, notes(report)))
        plots(tmp, rows, details, judge_model.name)
        per_sequence.write_csv(tmp / "per_sequence.csv", sequences)
        write_html(tmp / "report.html", report, notes(report), tmp)

    write_dir_atomic(out_dir, write, marker="report.json")
    return report


def some(ids: list[str], shown: int = 10) -> str:
    """The first `shown` ids, comma-separated, with " ..." when there are more."""
    return ", ".join(ids[:shown]) + (" ..." if len(ids) > shown else "")


def notes(report: dict) -> list[str]:
    info = report["esmfold"]
    cached = report["reference_rows"]
    lines = [f"Judge precision: {report['precision']}. Reference rows: {cached['source']}; their novelty columns: "
             f"{cached['novelty_source']}; their "
             f"homology columns: {cached['homology_source']}. Novelty search: {report['novelty_search']}. "
             f"Homology: {report['homology']}."]
    lines.append(f"ESMFold pLDDT skipped: {info['skipped']}." if "skipped" in info else
                 f"ESMFold pLDDT ({info['model']}) on up to {info['n']} sequences per set.")
    return lines
