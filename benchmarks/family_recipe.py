"""The search for a fine-tuning recipe that earns homology: one family, one setting per call, homology only (no
judge, no metapredict), so that settings can be compared in minutes of sampling after each fine-tune.

    python benchmarks/family_recipe.py --family cath-f5 --tag lr5e-4                             # the defaults
    python benchmarks/family_recipe.py --family cath-f5 --tag lr2e-3 --set train.lr=0.002
    python benchmarks/family_recipe.py --family cath-f5 --tag base --init teacher                # no fine-tune
    python benchmarks/family_recipe.py --family cath-f5 --tag long --set train.patience=null --stages 500,1000,2000
    python benchmarks/family_recipe.py --family cath-f5 --tag lr2e-3-T0.7 --init RUN/best --temperature 0.7
    python benchmarks/family_recipe.py --table        # every line so far as benchmarks/results/family_recipe.md

Fine-tunes on the family's training members with the packaged small-data defaults and `--set` overrides (run in
runs/family-recipe/TAG/FAMILY/teacher, resumed when unfinished), or takes `--init` as it is; samples `--n`
sequences at each `--nfe` (ancestral, lengths drawn from the training members, seed 0) and appends one JSON line
to benchmarks/results/family_recipe.jsonl: the setting, its steps and best validation perplexity, and per NFE the
columns of family_design.py (hit rate among held-out and training members, near copies, median identity).
`--sampler` and `--temperature` pick the decoding (ancestral at temperature 1 unless given). `--augment-hmm N` adds
N sequences emitted by a profile HMM of the training members (pyfamsa + pyhmmer, as family_design.py's hmm row) to
what the fine-tune trains on: does the model learn the family's profile from them?
`--stages S1,S2,...` trains to each step in turn (the run's schedule unchanged) and samples its latest weights at
each, one line per stage: the fine-tune's course from learning the family to copying it.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from bench import RESULTS, ROOT, command_line
from families import FAMILIES
from family import family_members, finetuned, homology, sample, write_fasta_once


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family")
    parser.add_argument("--tag", help="names the run directory and the result line")
    parser.add_argument("--table", action="store_true", help="write family_recipe.md from the lines so far")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="fine-tune override")
    parser.add_argument("--init", default=None, help="sample this model as it is instead of fine-tuning")
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--nfe", default="64", help="comma-separated")
    parser.add_argument("--sampler", default="ancestral", choices=("ancestral", "confidence"))
    parser.add_argument("--temperature", type=float, default=None)
    parser.add_argument("--augment-hmm", type=int, default=0, metavar="N")
    parser.add_argument("--stages", default=None, help="comma-separated steps: sample the latest weights at each")
    args = parser.parse_args()
    if args.table:
        return write_table()
    if not (args.family and args.tag):
        parser.error("--family and --tag are required (or --table)")
    family = next(f for f in json.loads(FAMILIES.read_text())["families"] if f["name"] == args.family)
    train_records, held_records = family_members(family)
    train, held = [r.seq for r in train_records], [r.seq for r in held_records]
    ns = argparse.Namespace(runs=ROOT / "runs" / "family-recipe" / args.tag, finetune_set=args.set, seed=0,
                            batch_size=16)
    if args.augment_hmm:
        from family_design import hmm_samples

        from protdidi.domains.protein.fasta import ProteinRecord

        emitted, _ = hmm_samples(train, args.augment_hmm, 0)
        train_records = train_records + [ProteinRecord(id=f"hmm{i}", seq=s) for i, s in enumerate(emitted)]
    if args.init is not None:
        record(args, ns, args.init, train, held, {})
    elif args.stages is None:
        best = finetuned(args.family, write_fasta_once(ns.runs / args.family / "train.fasta", train_records), ns)
        record(args, ns, str(best), train, held, fine_tune_summary(best.parent))
    else:
        for stage in (int(x) for x in args.stages.split(",")):
            last = finetuned(args.family, write_fasta_once(ns.runs / args.family / "train.fasta", train_records),
                             ns, stop_at=stage).parent / "last"
            record(args, ns, str(last), train, held, fine_tune_summary(last.parent, stage) | {"stage": stage})


def fine_tune_summary(run: Path, upto: int | None = None) -> dict:
    """Steps trained, the latest training loss, the latest and best validation perplexity (up to step `upto`)."""
    log = [r for r in map(json.loads, (run / "log.jsonl").read_text().splitlines())
           if upto is None or r.get("step", 0) <= upto]
    valid = [r["valid_ppl"] for r in log if "valid_ppl" in r]
    losses = [r["loss"] for r in log if "loss" in r]
    return {"steps": max(r.get("step", 0) for r in log), "train_loss": losses[-1] if losses else None,
            "valid_ppl": valid[-1] if valid else None, "best_valid_ppl": min(valid) if valid else None,
            "early_stopped": any("early_stop" in r for r in log)}


def record(args, ns, spec: str, train: list[str], held: list[str], summary: dict) -> None:
    """Sample `spec` at each NFE (lengths drawn from the training members, seed 0) and append one result line."""
    line = {"command": command_line(), "family": args.family, "tag": args.tag, "set": args.set, "model": spec,
            "sampler": args.sampler, "temperature": args.temperature, "augment_hmm": args.augment_hmm}
    settings = {} if args.temperature is None else {"temperature": args.temperature}
    line |= summary
    rng = random.Random(0)
    lengths = [len(rng.choice(train)) for _ in range(args.n)]
    for nfe in (int(x) for x in args.nfe.split(",")):
        seqs, _ = sample(spec, lengths, nfe, ns, args.sampler, **settings)
        line[f"nfe_{nfe}"] = homology(seqs, held, train, 0, natural=False)
    print(json.dumps(line), flush=True)
    with open(RESULTS / "family_recipe.jsonl", "a") as f:
        f.write(json.dumps(line) + "\n")


def write_table() -> None:
    """family_recipe.md: every result line, after the natural, shuffled and HMM rows of family_design.json."""
    from bench import table

    design = json.loads((RESULTS / "family_design.json").read_text())
    refs = [[f"{r['family']}: {r['set']} (family_design.py)", "–", "–", "–", "–", *cells(r)]
            for r in design["rows"] if r["set"] in ("natural", "shuffled", "hmm")]
    lines = [json.loads(x) for x in (RESULTS / "family_recipe.jsonl").read_text().splitlines() if x.strip()]
    rows = []
    for d in lines:
        parts = Path(d["model"]).parts
        given = parts[parts.index("family-recipe") + 1] + f" ({parts[-1]})" if "family-recipe" in parts else d["model"]
        model = "shipped teacher" if d["model"] == "teacher" else \
            (f"fine-tune, step {d['steps']}" if d.get("steps") else f"as fine-tuned in {given}")
        extra = [*d["set"], *([f"+{d['augment_hmm']} HMM emissions"] if d.get("augment_hmm") else [])]
        decoding = f"{d.get('sampler') or 'ancestral'}" + (f" T={d['temperature']:g}" if d.get("temperature") else "")
        ppl = f"{d['valid_ppl']:.2f}" if d.get("valid_ppl") else "–"
        settings = " ".join(extra) or ("defaults" if d.get("steps") else "–")
        rows += [[f"{d['family']}: {d['tag']}", model, settings, ppl, decoding, *cells(v)]
                 for k, v in d.items() if k.startswith("nfe_")]
    text = "\n".join(["# Fine-tuning recipes: does a family teacher's sample find its family?", "",
                      "Lines of `benchmarks/family_recipe.py` (each line's command is in family_recipe.jsonl; "
                      "`python benchmarks/family_recipe.py --table` rewrites this file). Samples: 64 per line at "
                      "64 NFE, lengths drawn from the training members, seed 0. Hit rate: phmmer hit (E < 1e-3 at "
                      "Z = 20,006) among the family's held-out members, 95% bootstrap interval; train: among the "
                      "training members; near copies: best training hit >= 90% identity over >= 80%.", "",
                      *table(["line", "model", "fine-tune settings", "valid NELBO ppl", "decoding",
                              "hit rate (held-out)", "hit rate (train)", "near copies", "median identity (train)"],
                             refs + rows)]) + "\n"
    (RESULTS / "family_recipe.md").write_text(text)
    print(text)


def cells(r: dict) -> list[str]:
    return ["{:.3f} ({:.3f}–{:.3f})".format(r["hit_rate"], *r["hit_rate_ci95"]), f"{r['hit_rate_train']:.3f}",
            f"{r['near_copy_rate']:.3f}", f"{r['median_identity_train']:.3f}"]


if __name__ == "__main__":
    main()
