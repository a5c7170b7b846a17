"""Conditional protein generation end to end: templates (inline, lower case, FASTA with several), --redesign,
--motif contigs with --length bounds, the headers that record each condition, the Python API, and one-line errors
for every bad condition (no output file)."""

import re
import subprocess
import sys

import pytest
import torch

from protdidi import load_model
from protdidi.domains.protein.conditions import Contig, designed_ranges, motif_designs, parse_ranges
from protdidi.domains.protein.fasta import read_fasta
from protdidi.errors import UserError

NATIVE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQHDFSAGEGLYTHMKALRPDE"


def run(*args):
    return subprocess.run([sys.executable, "-m", "protdidi", *args], capture_output=True, text=True)


def headers(path):
    return {r.id: dict(f.split("=", 1) for f in r.description.split()[1:]) for r in read_fasta(path)}


def test_template_keeps_every_fixed_residue_and_records_the_condition(tmp_path):
    template = NATIVE[:30] + "_" * 20 + NATIVE[50:].lower()  # lower case is read as upper case
    out = tmp_path / "x.fasta"
    proc = run("generate", "--model", "idlm", "--nfe", "4", "--n", "5", "--template", template, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    records = read_fasta(out)
    assert len(records) == 5 and len({r.seq for r in records}) > 1
    for r in records:
        assert len(r.seq) == len(NATIVE) and r.seq[:30] == NATIVE[:30] and r.seq[50:] == NATIVE[50:]
    assert all(h["template"] == template.upper() and h["designed"] == "31-50" and h["nfe"] == "4"
               for h in headers(out).values())


def test_fasta_templates_and_redesign(tmp_path):
    fasta = tmp_path / "t.fasta"
    fasta.write_text(f">nat1\n{NATIVE}\n>nat2\n{NATIVE[10:80]}\n")
    out = tmp_path / "x.fasta"
    proc = run("generate", "--nfe", "3", "--n", "2", "--template", str(fasta), "--redesign", "5-9,20-22", "-o",
               str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    records, meta = read_fasta(out), list(headers(out).values())
    assert [m["template"] for m in meta] == ["nat1", "nat1", "nat2", "nat2"]
    assert all(m["designed"] == "5-9,20-22" for m in meta)
    for r, native in zip(records, [NATIVE, NATIVE, NATIVE[10:80], NATIVE[10:80]], strict=True):
        keep = [i for i in range(len(native)) if not (4 <= i < 9 or 19 <= i < 22)]
        assert len(r.seq) == len(native) and all(r.seq[i] == native[i] for i in keep)


def test_all_designed_template_is_the_unconditional_draw(tmp_path):
    a, b = tmp_path / "a.fasta", tmp_path / "b.fasta"
    assert run("generate", "--nfe", "3", "--n", "3", "--template", "_" * 30, "-o", str(a), "--quiet").returncode == 0
    assert run("generate", "--nfe", "3", "--n", "3", "--length", "30", "-o", str(b), "--quiet").returncode == 0
    assert [r.seq for r in read_fasta(a)] == [r.seq for r in read_fasta(b)]


def test_motif_contig_draws_spacers_within_bounds_and_keeps_the_motifs(tmp_path):
    out = tmp_path / "m.fasta"
    proc = run("generate", "--nfe", "3", "--n", "12", "--motif", "5-15,WHHW,0-6,cpgc,3-20", "--length", "20-40",
               "-o", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    records, meta = read_fasta(out), list(headers(out).values())
    assert len({m["spacers"] for m in meta}) > 1  # drawn per sample
    for r, m in zip(records, meta, strict=True):
        s1, s2, s3 = map(int, m["spacers"].split("/"))
        assert 5 <= s1 <= 15 and 0 <= s2 <= 6 and 3 <= s3 <= 20 and 20 <= len(r.seq) <= 40
        assert len(r.seq) == s1 + 4 + s2 + 4 + s3
        assert r.seq[s1:s1 + 4] == "WHHW" and r.seq[s1 + 4 + s2:s1 + 8 + s2] == "CPGC"
        a, b = s1 + 1, s1 + 8 + s2
        assert m["motif_at"] == (f"{a}-{b}" if s2 == 0 else f"{a}-{a + 3},{b - 3}-{b}")


def test_contig_and_range_parsing():
    assert Contig.parse("10-40,AbC,5").segments == ((10, 40), "ABC", (5, 5))
    assert Contig.parse("10-40,ABC,5").bounds() == (18, 48)
    assert designed_ranges("AB__C_D__") == "3-4,6,8-9" and designed_ranges("AB__C", fixed=True) == "1-2,5"
    assert parse_ranges("20-22,5-9") == [(5, 9), (20, 22)]
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    assert motif_designs("1-30,WW,1-30", "10-20", 4, 100, g1) == motif_designs("1-30,WW,1-30", "10-20", 4, 100, g2)


@pytest.mark.parametrize(("args", "message"), [
    (["--template", "MKT_B1_"], "neither a FASTA file nor a sequence"),
    (["--template", "MKTJ__"], "'J' at position 4"),
    (["--template", "MKTAYIAK"], "nothing to design"),
    (["--template", "MK__", "--length", "4"], "--length does not apply"),
    (["--template", "_" * 2000], "maximum"),
    (["--template", NATIVE, "--redesign", "5-9,8-12"], "overlap"),
    (["--template", NATIVE, "--redesign", "100-200"], "outside the inline template"),
    (["--template", NATIVE, "--redesign", "9-5"], "START-END"),
    (["--redesign", "5-9"], "needs --template"),
    (["--template", "MK__", "--motif", "5,AA,5"], "exclude each other"),
    (["--motif", ""], "empty segment"),
    (["--motif", "10-40,,5"], "empty segment"),
    (["--motif", "-5,AA,5"], "neither a spacer"),
    (["--motif", "40-10,AA"], "MIN > MAX"),
    (["--motif", "5-10,10-20"], "no motif"),
    (["--motif", "5,AAAAAAAAAAAAAAAAAAAA,5", "--length", "10-20"], "cannot fit"),
    (["--motif", "5,AA,5", "--length", "abc"], "MIN-MAX"),
    (["--length", "10-20"], "applies to --motif only"),
])
def test_bad_conditions_are_one_line_and_write_nothing(tmp_path, args, message):
    out = tmp_path / "x.fasta"
    proc = run("generate", "--nfe", "2", "--n", "2", *args, "-o", str(out))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("protdidi: error:") and message in proc.stderr, proc.stderr
    assert not out.exists() and not list(tmp_path.iterdir())


def test_python_api_is_the_cli(tmp_path):
    model = load_model("idlm")
    template = NATIVE[:20] + "_" * 10
    seqs = model.generate(n=3, nfe=4, seed=2, template=template)
    assert all(isinstance(s, str) and s[:20] == NATIVE[:20] and len(s) == 30 for s in seqs)
    records = model.generate(n=3, nfe=4, seed=2, template=template, records=True)
    assert [r.seq for r in records] == seqs and "designed=21-30" in records[0].description
    model.write(records, str(tmp_path / "api.fasta"))
    assert run("generate", "--nfe", "4", "--n", "3", "--seed", "2", "--template", template, "-o",
               str(tmp_path / "cli.fasta"), "--quiet").returncode == 0
    assert (tmp_path / "api.fasta").read_text() == (tmp_path / "cli.fasta").read_text()
    with pytest.raises(UserError, match="needs --template"):
        model.generate(n=1, nfe=2, redesign="1-3")
    assert re.fullmatch(r"[A-Z]+", model.generate(n=1, nfe=2, length=12)[0])


def test_python_api_checks_the_device_before_loading(monkeypatch):
    """`load_model(device=...)` takes what `generate --device` takes: a device this machine lacks is the CLI's
    UserError before any weights are read; `auto` resolves to a device that then generates."""
    import protdidi.domains.protein.plugin as plugin

    load = plugin.ProteinDomain.load_model
    monkeypatch.setattr(plugin.ProteinDomain, "load_model", lambda *a: pytest.fail("loaded before the check"))
    for device, message in (("bogus", "not a torch device"), ("cuda:99", "cuda:99"), ("meta", "holds no data")):
        with pytest.raises(UserError, match=message):
            load_model("idlm", device=device)
    monkeypatch.setattr(plugin.ProteinDomain, "load_model", load)
    model = load_model("idlm", device="auto")
    assert model.device in ("cpu", "cuda") and len(model.generate(n=1, nfe=2, length=8)[0]) == 8


@pytest.mark.parametrize(("name", "sampler"), [("teacher", "ancestral"), ("didi", "ancestral"), ("idlm", "ancestral"),
                                             ("didi", "rgas")])
def test_shipped_models_keep_the_template_with_every_sampler(name, sampler):
    """The conditioning contract on the shipped models: fixed residues kept, designed ones filled with standard
    residues, the designed positions recorded, NFE as asked."""
    template = NATIVE[:25] + "_" * 15 + NATIVE[40:60] + "__" + NATIVE[62:70]
    records = load_model(name).generate(n=3, nfe=4, seed=1, template=template, sampler=sampler, records=True)
    for r in records:
        assert len(r.seq) == len(template) and set(r.seq) <= set("ACDEFGHIKLMNPQRSTVWY")
        assert all(a == b for a, b in zip(r.seq, template, strict=True) if b != "_")
        assert "designed=26-40,61-62" in r.description and "nfe=4" in r.description
        assert f"sampler={sampler}" in r.description


def test_exclude_draws_tagged_samples_again_and_keeps_the_others():
    """`exclude="his-tag"`: no sample holds a His-tag, every sample without one is the unfiltered run's, the header
    says so, and the redraws are counted (an HHH motif invites six H in a row)."""
    from protdidi import load_model
    from protdidi.domains.protein.filters import FILTERS
    from protdidi.domains.protein.plugin import DOMAIN
    from protdidi.generation.driver import generate
    from protdidi.generation.request import Request

    model = load_model("idlm")
    motif = dict(motif="5-15,HHHEEKWR,3-8", length="20-40")
    plain = model.generate(n=48, nfe=4, seed=5, **motif)
    tagged = [FILTERS["his-tag"][1](s) for s in plain]
    assert any(tagged), "the test needs a tagged sample to redraw"
    filtered = model.generate(n=48, nfe=4, seed=5, exclude="his-tag", records=True, **motif)
    assert not any(FILTERS["his-tag"][1](r.seq) for r in filtered)
    assert [r.seq for r, t in zip(filtered, tagged, strict=True) if not t] == \
        [s for s, t in zip(plain, tagged, strict=True) if not t]
    assert all(r.description.endswith("exclude=his-tag") for r in filtered)
    result = generate(DOMAIN, model.loaded, Request(48, 4, 5, "20-40", motif=motif["motif"], exclude="his-tag"))
    assert result.extra["redrawn"] >= sum(tagged) / 48 and result.nfe == 4


def test_the_corpus_tag_rule_trims_terminal_his_tags_only(tmp_path):
    from protdidi.domains.protein.filters import trim_his_tags
    from protdidi.domains.protein.teacher import DataConfig, checked_splits

    assert trim_his_tags("MGSSHHHHHHSSGLVPRGSHMAKLLVV") == "SSGLVPRGSHMAKLLVV"  # up to the N-terminal tag's end
    assert trim_his_tags("MAKLLVVEKLAAALEHHHHHH") == "MAKLLVVEKLAAALE"  # nearer the C-terminus: from its start
    inside = "A" * 30 + "HHHHHH" + "A" * 30
    assert trim_his_tags(inside) == inside and trim_his_tags("MKHHHHHV") == "MKHHHHHV"  # internal; five H
    fasta = tmp_path / "f.fasta"
    fasta.write_text("".join(f">s{i}\nMHHHHHHGS{'ACDEFGHIKL' * 3}\n" for i in range(40)))
    kept = checked_splits(DataConfig(fasta=str(fasta), valid_frac=0.2, test_frac=0.0))
    trimmed = checked_splits(DataConfig(fasta=str(fasta), valid_frac=0.2, test_frac=0.0, trim_tags=True))
    assert all(r.seq.startswith("MHHHHHH") for r in kept["train"])
    assert all(r.seq.startswith("GSACD") for r in trimmed["train"]) and len(trimmed["train"]) == len(kept["train"])


def test_a_filter_nothing_passes_stops_after_the_last_redraw(monkeypatch):
    import protdidi.generation.driver as driver
    from protdidi.domains.base import Plan
    from protdidi.domains.protein.plugin import DOMAIN
    from protdidi.errors import UserError
    from protdidi.generation.request import Request

    monkeypatch.setattr(driver, "MAX_REDRAWS", 2)
    model = DOMAIN.load_model("idlm")
    seen = []
    plan = Plan([8, 8], rejects=lambda row: seen.append(1) or True)
    part = driver.generate_rows(model, plan.lengths, 1, torch.Generator().manual_seed(0), 4, progress=False)
    with pytest.raises(UserError, match="after 2 redraws"):
        driver.redraw_rejected(model, plan, part, Request(2, 1, exclude="his-tag"), torch.Generator(),
                               driver.build_sampler(model, "ancestral"))
    assert len(seen) == 2 * 3  # both rows checked after each of the 2 redraws and once before
