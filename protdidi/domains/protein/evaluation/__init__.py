"""Evaluation of protein samples, one job: `evaluate.py` puts the samples beside the reference rows (natural test
split, shuffled, i.i.d.), `report_rows.py` computes one row from the signals (the project judge, trained by
`judge_training.py` and resolved from `--judge` by `judge_loading.py`; metapredict disorder, `disorder.py`;
predicted pLDDT, `plddt.py`; novelty, `novelty.py`; profile-search homology, `homology.py`; the other metrics,
`metrics.py`), `reference_cache.py` keeps the reference rows, and `report.py` writes tables and plots."""
