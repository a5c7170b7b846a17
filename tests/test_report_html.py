"""evaluate's per-sequence outputs: per_sequence.csv, the records in the returned report, and report.html opened in
a real headless Chromium (offline: every sample row shown, sorting by a column works, no console errors, nothing
fetched). The browser test skips, saying why, only where no Chromium is installed (`.ci/run` installs Debian's)."""

from __future__ import annotations

import csv
import json
import math

import pytest
from browser import Browser, find_browser
from fixtures import write_fair_esm_pt

from protdidi.domains.protein.evaluation.per_sequence import FIELDS, kept, mark_best

MOTIF_HEADER = "len=12 model=m nfe=4 seed=0 sampler=ancestral contig=2,WHHW,1-3 spacers=2/3 motif_at=3-6"
SAMPLES = [("u1", "len=22 model=m nfe=4", "MKTAYIAKQRQISFVKSHFSRQ"),
           ("m1", MOTIF_HEADER, "GAWHHWKLP"),            # kept: WHHW at 3-6
           ("m2", MOTIF_HEADER, "GAWHAWKLP"),            # the motif was not kept
           ("t1", "template=MK__AY designed=3-4", "MKQQAY"),
           ("h1", "", "MSTLKEHHHHHHGSLVKAEDLLKRW")]        # a His-tag


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    from protdidi import evaluate

    tmp = tmp_path_factory.mktemp("report")
    judge = write_fair_esm_pt(tmp / "judge.pt")
    samples = tmp / "samples.fasta"
    samples.write_text("".join(f">{i} {d}\n{s}\n" for i, d, s in SAMPLES))
    from fixtures import write_toy_fasta

    small = write_toy_fasta(tmp / "small.fasta")
    returned = evaluate(str(samples), str(tmp / "r"), reference=str(small), train=str(small), judge=str(judge),
                        pppl_n=3)
    return tmp / "r", returned


def test_kept_checks_every_fixed_letter():
    assert kept("GAWHHWKLP", "__WHHW___") is True
    assert kept("GAWHAWKLP", "__WHHW___") is False
    assert kept("GAWHHWKLP", None) is None and kept("GAW", "__WHHW___") is None


def test_the_best_designs_pass_every_filter_and_lead_the_judge_ranking():
    def design(pppl, disorder=0.0, tag=False, low=0.0, fixed=None):
        return {"judge_pppl": pppl, "judge_fast_pppl": 2.0, "disorder_fraction": disorder, "his_tag": tag,
                "low_complexity_fraction": low, "fixed_kept": fixed, "best": False}

    hit, miss = {"evalue": 1e-9}, None
    rows = [design(15.0, disorder=0.5), design(16.0, tag=True), design(17.0, low=0.3), design(18.0, fixed=False),
            *(design(19.0 + k) for k in range(20))]
    mark_best(rows, [miss] * len(rows))
    assert [r["best"] for r in rows[:4]] == [False] * 4
    assert [k for k, r in enumerate(rows) if r["best"]] == [4, 5]  # the tenth of 20 passing, lowest first
    for r in rows:
        r["best"] = False
    mark_best(rows, [hit] + [miss] * 22 + [hit])  # a homolog ranks first, but does not excuse a failed filter
    assert [k for k, r in enumerate(rows) if r["best"]] == [4, 23]


def test_per_sequence_csv_holds_every_sample_and_agrees_with_the_returned_report(report_dir):
    out, returned = report_dir
    rows = list(csv.DictReader(open(out / "per_sequence.csv", newline="")))
    assert [r["id"] for r in rows] == [i for i, _, _ in SAMPLES]
    assert list(rows[0]) == list(FIELDS)
    by_id = {r["id"]: r for r in rows}
    assert by_id["m1"]["fixed_kept"] == "True" and by_id["m2"]["fixed_kept"] == "False"
    assert by_id["t1"]["fixed_kept"] == "True" and by_id["u1"]["fixed_kept"] == ""
    assert by_id["m1"]["condition"] == "contig=2,WHHW,1-3"
    assert by_id["h1"]["his_tag"] == "True" and by_id["u1"]["his_tag"] == "False"
    assert by_id["m2"]["best"] == "False"  # a design that lost its motif is never among the best
    assert sum(r["judge_pppl"] != "" for r in rows) == 3  # exact only on the --pppl-n subset
    written = json.loads((out / "report.json").read_text())
    assert json.dumps(returned, sort_keys=True) == json.dumps(written, sort_keys=True)
    for record, row in zip(returned["sequences"], rows, strict=True):
        assert record["sequence"] == row["sequence"] and record["length"] == int(row["length"])
        assert math.isclose(record["judge_fast_pppl"], float(row["judge_fast_pppl"]))
    samples = returned["rows"][0]
    assert samples["his_tag_rate"] == pytest.approx(1 / len(SAMPLES))
    assert all("his_tag_rate" in r for r in returned["rows"])


def test_report_html_in_a_headless_browser(report_dir):
    executable = find_browser()
    if executable is None:
        pytest.skip("no Chromium found (Debian: apt-get install chromium; .ci/run installs it)")
    out, returned = report_dir
    html = (out / "report.html").read_text()
    assert "http://" not in html and "https://" not in html  # nothing to fetch
    browser = Browser(executable)
    try:
        browser.open((out / "report.html").as_uri())
        ids = "Array.from(document.querySelectorAll('#sequences tbody tr')).map(r => r.cells[0].textContent)"
        assert sorted(browser.evaluate(ids)) == sorted(i for i, _, _ in SAMPLES)
        assert browser.evaluate("document.querySelectorAll('#summary tbody tr').length") == len(returned["rows"])
        assert browser.evaluate("document.querySelectorAll('.plots img').length") == 4
        assert browser.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        column = list(FIELDS).index("length")
        rows = "Array.from(document.querySelectorAll('#sequences tbody tr'))"
        lengths = f"{rows}.map(r => r.cells[{column}].textContent)"
        heading = f"document.querySelectorAll('#sequences th')[{column}]"
        browser.evaluate(f"{heading}.click()")
        ascending = [int(v) for v in browser.evaluate(lengths)]
        assert ascending == sorted(len(s) for _, _, s in SAMPLES)
        browser.evaluate(f"{heading}.click()")
        assert [int(v) for v in browser.evaluate(lengths)] == sorted(ascending, reverse=True)
        browser.evaluate("document.querySelectorAll('#sequences th')[0].click()")
        assert browser.evaluate(ids) == sorted(i for i, _, _ in SAMPLES)
        best = browser.evaluate("document.querySelectorAll('#sequences tr.best').length")
        assert best == sum(r["best"] for r in returned["sequences"])
        assert browser.console_errors() == []
        assert all(url.startswith(("file:", "data:")) for url in browser.requests())
    finally:
        browser.close()
