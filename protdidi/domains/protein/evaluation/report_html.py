"""`protdidi evaluate`'s report.html: one self-contained page (styles, script and plots inline; nothing fetched)
with the row summary beside the reference rows, the plots, and a per-sequence table that sorts by any column
(click a heading) with the best designs highlighted."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

from protdidi.domains.protein.evaluation.per_sequence import FIELDS
from protdidi.domains.protein.evaluation.report import DISORDER_COLUMNS, ratio_cell, with_ci

PLOTS = (("composition.png", "Residue composition"), ("lengths.png", "Lengths"),
         ("pppl.png", "Judge pseudo-perplexity per sequence"), ("disorder.png", "Disordered fraction per sequence"))

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; font-size: 13px; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
th { background: #f0f0f0; position: sticky; top: 0; }
td.text, th.text { text-align: left; }
#sequences th { cursor: pointer; user-select: none; }
#sequences th.sorted-asc::after { content: " \\25B2"; }
#sequences th.sorted-desc::after { content: " \\25BC"; }
#sequences td.text { white-space: nowrap; }
#sequences td.cond { min-width: 12em; max-width: 24em; white-space: normal; word-break: break-all; text-align: left; }
.scroll { overflow-x: auto; }
#sequences td.seq { font-family: monospace; text-align: left; word-break: break-all; min-width: 30em; }
tr.best td { background: #e3f6e3; }
tr.sample td { font-weight: bold; }
.plots img { max-width: 48%; margin: 0 1% 1em 0; }
.note { color: #555; font-size: 13px; max-width: 70em; }
"""

# Sorts the per-sequence table by the clicked column: numbers by value (data-v), text by its characters,
# empty cells last; a second click reverses the order.
SCRIPT = """
(function () {
  var table = document.getElementById('sequences');
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    th.addEventListener('click', function () {
      var asc = !th.classList.contains('sorted-asc');
      Array.prototype.forEach.call(heads, function (h) { h.classList.remove('sorted-asc', 'sorted-desc'); });
      th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute('data-v'), y = b.cells[col].getAttribute('data-v');
        if (x === '' || y === '') { return (x === '') - (y === ''); }
        var nx = Number(x), ny = Number(y), c;
        c = (isNaN(nx) || isNaN(ny)) ? (x < y ? -1 : x > y ? 1 : 0) : nx - ny;
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
})();
"""


def _cell(value) -> tuple[str, str]:
    """(shown text, sort key) of one per-sequence value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "", ""
    if isinstance(value, bool):
        return ("yes" if value else "no"), str(int(value))
    if isinstance(value, float):
        shown = f"{value:.2e}" if 0 < abs(value) < 1e-3 else f"{value:.3f}"
        return shown, repr(value)
    return str(value), str(value)


def summary_table(rows: list[dict]) -> list[str]:
    """The rows (samples first, then the reference rows) with their intervals."""
    head = ["set", "n", "judge PPPL (95% CI)", "vs natural", *(h for h, _ in DISORDER_COLUMNS.values()),
            "homolog found (95% CI)", "near copies", "median best-hit identity", "His-tag", "entropy (bits)",
            "low-complexity windows"]
    out = ["<table id='summary'><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head)
           + "</tr></thead><tbody>"]
    for k, r in enumerate(rows):
        cells = [r["set"], str(r["n"]), with_ci(r["judge_pppl"], r["judge_pppl_ci95"], "{:.2f}"), ratio_cell(r)]
        cells += [with_ci(r[c], r[f"{c}_ci95"], fmt) for c, (_, fmt) in DISORDER_COLUMNS.items()]
        cells += [with_ci(r["homology_hit_rate"], r["homology_hit_rate_ci95"], "{:.3f}"), f"{r['near_copy_rate']:.3f}",
                  f"{r['median_best_hit_identity']:.3f}", f"{r['his_tag_rate']:.3f}", f"{r['entropy_bits']:.3f}",
                  f"{r['low_complexity_fraction']:.3f}"]
        out.append(f"<tr{' class=sample' if k == 0 else ''}><td class=text>{html.escape(cells[0])}</td>"
                   + "".join(f"<td>{html.escape(c)}</td>" for c in cells[1:]) + "</tr>")
    return [*out, "</tbody></table>"]


def sequence_table(sequences: list[dict]) -> list[str]:
    """Every sample, one row each, best designs first (the page's initial order)."""
    text = {"id", "condition", "homolog", "sequence"}
    out = ["<table id='sequences'><thead><tr>"
           + "".join(f"<th class='{'text' if k in text else 'num'}' title='{html.escape(note, quote=True)}'>"
                     f"{html.escape(k)}</th>" for k, note in FIELDS.items()) + "</tr></thead><tbody>"]
    for r in sorted(sequences, key=lambda r: not r["best"]):
        cells = []
        for k in FIELDS:
            shown, key = _cell(r[k])
            cls = {"sequence": " class=seq", "condition": " class=cond"}.get(k, " class=text" if k in text else "")
            cells.append(f"<td{cls} data-v='{html.escape(key, quote=True)}'>{html.escape(shown)}</td>")
        out.append(f"<tr{' class=best' if r['best'] else ''}>" + "".join(cells) + "</tr>")
    return [*out, "</tbody></table>"]


def write_html(path: Path, report: dict, notes: list[str], plots_dir: Path) -> None:
    """report.html from `report` (as report.json holds it) and the PNG plots already written to `plots_dir`."""
    images = [f"<img alt='{html.escape(title)}' title='{html.escape(title)}' src='data:image/png;base64,"
              f"{base64.b64encode((plots_dir / name).read_bytes()).decode()}'>"
              for name, title in PLOTS if (plots_dir / name).is_file()]
    best = sum(r["best"] for r in report["sequences"])
    page = [
        "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>protdidi evaluate: {html.escape(Path(report['samples']).name)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>protdidi evaluate: {html.escape(Path(report['samples']).name)}</h1>",
        f"<p class=note>Samples: {html.escape(report['samples'])}.</p>",
        f"<p class=note>Judge: {html.escape(report['judge'])} (pseudo-perplexity). Independent signals: "
        "metapredict's disorder and predicted AlphaFold2 pLDDT, and a profile search: "
        f"{html.escape(report['homology'])}. Intervals: 95% bootstrap.</p>",
        *(f"<p class=note>{html.escape(n)}</p>" for n in notes),
        *(f"<p class=note><b>Warning:</b> {html.escape(w)}</p>" for w in report["warnings"]),
        "<h2>Summary</h2>", *summary_table(report["rows"]),
        f"<h2>Sequences ({len(report['sequences'])})</h2>",
        f"<p class=note>{best} highlighted as the best designs: {html.escape(report['best_rule'])}. Click a "
        "heading to sort by it (again to reverse); hover over it for what it holds.</p>",
        "<div class=scroll>", *sequence_table(report["sequences"]), "</div>",
        "<h2>Plots</h2>", "<div class=plots>", *images, "</div>",
        f"<script>{SCRIPT}</script>", "</body></html>"]
    path.write_text("\n".join(page) + "\n", encoding="utf-8")
