"""The import map of the `protdidi` package, from its source (ast; nothing is imported), checked against the layers
of ARCHITECTURE.md: a module may import its own layer and the layers below it, never one above, and no two modules
may import each other through any chain (imports inside functions included).

    python tests/import_map.py        # prints the layers, each module's imports, and any violation
"""

from __future__ import annotations

import ast
import fnmatch
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "protdidi"

# Lowest first. Patterns match dotted module names; the first layer with a matching pattern wins.
LAYERS = [
    ("foundation", ["protdidi.errors", "protdidi.io", "protdidi.atomic_dirs", "protdidi.malloc", "protdidi.config",
                    "protdidi.registry",
                    "protdidi.vocab", "protdidi.schedule", "protdidi.stats", "protdidi.progress", "protdidi.precision",
                    "protdidi.assets"]),
    ("core", ["protdidi.weights", "protdidi.denoiser", "protdidi.batching", "protdidi.distributed",
              "protdidi.trainer", "protdidi.discriminator", "protdidi.models*"]),
    ("engines", ["protdidi.sampling*", "protdidi.adapters*", "protdidi.tasks*", "protdidi.evaluation*"]),
    ("runs", ["protdidi.checkpoint", "protdidi.generation*", "protdidi.training_run"]),
    ("methods", ["protdidi.methods*"]),
    ("domains", ["protdidi.domains*"]),
    ("interface", ["protdidi", "protdidi.api", "protdidi.cli*", "protdidi.__main__"]),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    for index, (_, patterns) in enumerate(LAYERS):
        if any(fnmatch.fnmatchcase(module, p) for p in patterns):
            return index
    raise KeyError(f"{module} is in no layer of tests/import_map.py (add it to LAYERS and ARCHITECTURE.md)")


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The protdidi modules `path` imports anywhere in its body (`from a import b` counts a.b when it is a module)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("protdidi")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("protdidi"):
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules}
    return {m for m in out if m in modules}


def import_map() -> dict[str, set[str]]:
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(f) for f in files}
    return {module_name(f): imports_of(f, modules) - {module_name(f)} for f in files}


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return [f"{m} ({LAYERS[layer_of(m)][0]}) imports {d} ({LAYERS[layer_of(d)][0]})"
            for m, deps in sorted(graph.items()) for d in sorted(deps) if layer_of(d) > layer_of(m)]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted. A package's `__init__`
    importing its own submodules is not counted (Python resolves that order by design)."""
    edges = {m: {d for d in deps if not d.startswith(m + ".")} for m, deps in graph.items()}
    index, low, stack, on_stack, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    graph = import_map()
    for index, (name, _) in enumerate(LAYERS):
        print(f"## {index} {name}")
        for m in sorted(m for m in graph if layer_of(m) == index):
            print(f"  {m}: {', '.join(sorted(graph[m])) or '-'}")
    bad, loops = upward_imports(graph), cycles(graph)
    print("upward imports:", bad or "none")
    print("cycles:", loops or "none")
    return 1 if bad or loops else 0


if __name__ == "__main__":
    sys.exit(main())
