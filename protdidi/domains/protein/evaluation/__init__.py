"""Evaluation of protein samples, one job: `evaluate.py` puts the samples beside the reference rows (natural test
split, shuffled, i.i.d.), `report_rows.py` computes one row from the signals (the project judge, trained by
`judge_training.py` and resolved from `--judge` by `judge_loading.py`; metapredict disorder, `disorder.py`;
predicted pLDDT, `plddt.py`; novelty, `novelty.py`; profile-search homology, `homology.py`; the other metrics,
`metrics.py`), `reference_cache.py` keeps the reference rows, `per_sequence.py` makes one record per sample
(per_sequence.csv), `report.py` writes tables and plots, and `report_html.py` the self-contained report.html."""
