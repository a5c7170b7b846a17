"""The search for a fine-tuning recipe that earns homology: one family, one setting per call, homology only (no
judge, no metapredict), so that settings can be compared in minutes of sampling after each fine-tune.

    python benchmarks/family_recipe.py --family cath-f5 --tag lr5e-4                             # the defaults
    python benchmarks/family_recipe.py --family cath-f5 --tag lr2e-3 --set train.lr=0.002
    python benchmarks/family_recipe.py --family cath-f5 --tag base --init teacher                # no fine-tune

Fine-tunes on the family's training members with the packaged small-data defaults and `--set` overrides (run in
runs/family-recipe/TAG/FAMILY/teacher, resumed when unfinished), or takes `--init` as it is; samples `--n`
sequences at each `--nfe` (ancestral, lengths drawn from the training members, seed 0) and appends one JSON line
to benchmarks/results/family_recipe.jsonl: the setting, its steps and best validation perplexity, and per NFE the
columns of family_design.py (hit rate among held-out and training members, near copies, median identity).
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
    parser.add_argument("--family", required=True)
    parser.add_argument("--tag", required=True, help="names the run directory and the result line")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="fine-tune override")
    parser.add_argument("--init", default=None, help="sample this model as it is instead of fine-tuning")
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--nfe", default="64", help="comma-separated")
    args = parser.parse_args()
    family = next(f for f in json.loads(FAMILIES.read_text())["families"] if f["name"] == args.family)
    train_records, held_records = family_members(family)
    train, held = [r.seq for r in train_records], [r.seq for r in held_records]
    ns = argparse.Namespace(runs=ROOT / "runs" / "family-recipe" / args.tag, finetune_set=args.set, seed=0,
                            batch_size=16)
    spec = args.init or str(finetuned(args.family, write_fasta_once(ns.runs / args.family / "train.fasta",
                                                                    train_records), ns))
    line = {"command": command_line(), "family": args.family, "tag": args.tag, "set": args.set, "model": spec}
    if args.init is None:
        run = Path(spec).parent
        report = json.loads((run / "report.json").read_text())
        log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
        line |= {"steps": max(r["step"] for r in log), "valid_ppl": report["valid"]["nelbo_ppl"],
                 "early_stopped": any("early_stop" in r for r in log)}
    rng = random.Random(0)
    lengths = [len(rng.choice(train)) for _ in range(args.n)]
    for nfe in (int(x) for x in args.nfe.split(",")):
        seqs, _ = sample(spec, lengths, nfe, ns)
        line[f"nfe_{nfe}"] = homology(seqs, held, train, 0, natural=False)
    print(json.dumps(line))
    with open(RESULTS / "family_recipe.jsonl", "a") as f:
        f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
