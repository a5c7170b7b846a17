"""Protein families for the family-design benchmark: homology clusters of the CATH S40 domains.

    python benchmarks/families.py    # writes benchmarks/families/cath_s40.json (31 min on 2 cores beside 2 jobs)

The rule: an all-against-all phmmer (pyhmmer) of the 20,006 CATH S40 v4.1.0 domains, an edge wherever either
direction has E < `--evalue` (at the fixed database size of 20,006), the connected components of that graph; a
component of at most `--max-component` members is one family, a larger one (unrelated superfamilies chained
together by a few promiscuous domains) is split into Louvain communities (networkx, `--seed`, resolution 1).
Families are the parts of at least `--min-size` members, largest first; each lists its members' FASTA ids and its
edge density (the FASTA carries no CATH labels: the density is the check that a family is one cluster, not a
chain).

Each family is split 80/20 into training and held-out members by a hash of the id (`family_split`), the same rule
`benchmarks/family_design.py` uses. The edges are kept in `--edges` (not committed) so that a rerun with another
rule skips the search.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from bench import ROOT, command_line, save_json

FAMILIES = ROOT / "benchmarks" / "families" / "cath_s40.json"


def family_split(record_id: str, held_out_frac: float = 0.2) -> str:
    """'held_out' or 'train': sha256("family:" + id) read as a fraction in [0, 1)."""
    digest = hashlib.sha256(f"family:{record_id}".encode()).hexdigest()
    return "held_out" if int(digest[:15], 16) / 16**15 < held_out_frac else "train"


def search(seqs: list[str], evalue: float, edges_file: Path) -> list[tuple[int, int]]:
    """The homology graph's undirected edges (i < j), from `edges_file` when it holds this search's."""
    from tqdm import tqdm

    from protdidi.domains.protein.evaluation.homology import FIXED_Z, hit_pairs

    key = {"n": len(seqs), "evalue": evalue, "z": FIXED_Z,
           "sha256": hashlib.sha256("\n".join(seqs).encode()).hexdigest()}
    if edges_file.is_file():
        saved = json.loads(edges_file.read_text())
        if saved["key"] == key:
            return [tuple(e) for e in saved["edges"]]
    with tqdm(total=len(seqs), desc="phmmer all against all", file=sys.stderr) as bar:
        pairs = hit_pairs(seqs, seqs, evalue, progress=bar.update)
    edges = sorted({(min(i, j), max(i, j)) for i, j, _ in pairs if i != j})
    save_json(edges_file, {"key": key, "edges": edges})
    return edges


def families(n: int, edges: list[tuple[int, int]], max_component: int, min_size: int, seed: int) -> list[dict]:
    """Components of at most `max_component` nodes, Louvain communities of the larger ones; those of at least
    `min_size`, largest first, with their edge density and where they came from."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges)
    parts = []
    for component in sorted(nx.connected_components(graph), key=len, reverse=True):
        if len(component) < min_size:
            break
        if len(component) <= max_component:
            parts.append((sorted(component), "component", len(component)))
        else:
            sub = graph.subgraph(component)
            parts += [(sorted(c), "Louvain community", len(component))
                      for c in nx.community.louvain_communities(sub, seed=seed, resolution=1.0)]
    parts = sorted((p for p in parts if len(p[0]) >= min_size), key=lambda p: (-len(p[0]), p[0][0]))
    return [{"members": nodes, "density": round(nx.density(graph.subgraph(nodes)), 4), "from": kind,
             "component_size": size} for nodes, kind, size in parts]


def main() -> None:
    import networkx
    import pyhmmer

    from protdidi.domains.protein.data import default_cath_fasta
    from protdidi.domains.protein.fasta import read_fasta

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evalue", type=float, default=1e-5)
    parser.add_argument("--max-component", type=int, default=500)
    parser.add_argument("--min-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--edges", type=Path, default=ROOT / "runs" / "families" / "edges.json")
    parser.add_argument("--out", type=Path, default=FAMILIES)
    args = parser.parse_args()
    records = read_fasta(default_cath_fasta())
    edges = search([r.seq for r in records], args.evalue, args.edges)
    found = families(len(records), edges, args.max_component, args.min_size, args.seed)
    out = []
    for k, fam in enumerate(found):
        ids = [records[i].id for i in fam.pop("members")]
        split = {s: [i for i in ids if family_split(i) == s] for s in ("train", "held_out")}
        out.append({"name": f"cath-f{k + 1}", "size": len(ids), **fam,
                    "train": split["train"], "held_out": split["held_out"]})
        print(f"cath-f{k + 1}: {len(ids)} members ({len(split['held_out'])} held out), density {fam['density']}, "
              f"{fam['from']} of {fam['component_size']}", file=sys.stderr)
    save_json(args.out, {"command": command_line(), "rule": {
        "search": f"phmmer all against all, pyhmmer {pyhmmer.__version__}, E < {args.evalue:g} at Z = 20,006, "
                  "an edge where either direction hits",
        "clusters": f"connected components of at most {args.max_component} members; larger ones split into "
                    f"Louvain communities (networkx {networkx.__version__}, seed {args.seed}, resolution 1)",
        "families": f"parts of at least {args.min_size} members", "split": "sha256('family:' + id) < 0.2: held out"},
        "corpus": "CATH S40 v4.1.0 (the shipped copy)", "domains": len(records), "edges": len(edges),
        "families": out})


if __name__ == "__main__":
    main()
