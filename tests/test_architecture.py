"""The house rules of ARCHITECTURE.md, checked on the source: layers and cycles, file sizes, a torch-free `--help`,
a core that imports no domain library, and no branching on a domain or method name outside its own folder."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from import_map import LAYERS, PACKAGE, cycles, import_map, layer_of, module_name, upward_imports

ROOT = PACKAGE.parent
MAX_LINES = 300


def test_no_import_runs_up_a_layer_and_there_is_no_cycle():
    graph = import_map()
    assert upward_imports(graph) == []
    assert cycles(graph) == []


def test_the_checks_catch_an_upward_import_and_a_cycle():
    graph = {"protdidi.vocab": {"protdidi.methods.distillation"}, "protdidi.methods.distillation": {"protdidi.vocab"}}
    assert upward_imports(graph) == ["protdidi.vocab (foundation) imports protdidi.methods.distillation (methods)"]
    assert cycles(graph) == [["protdidi.methods.distillation", "protdidi.vocab"]]


def test_every_source_file_is_in_a_layer_and_short():
    long = []
    for folder in ("protdidi", "benchmarks"):
        for f in sorted((ROOT / folder).rglob("*.py")):
            if folder == "protdidi":
                layer_of(module_name(f))  # raises for a module in no layer
            lines = len(f.read_text().splitlines())
            if lines > MAX_LINES:
                long.append(f"{f.relative_to(ROOT)}: {lines}")
    assert long == []


# import name → PyPI name, where they differ
DISTRIBUTIONS = {"Bio": "biopython", "yaml": "pyyaml", "huggingface_hub": "huggingface-hub"}


def test_pyproject_declares_exactly_what_the_package_imports():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    imported = set()
    for f in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            imported |= {n.split(".")[0] for n in names}
    third_party = {DISTRIBUTIONS.get(m, m) for m in imported - set(sys.stdlib_module_names) - {"protdidi"}}
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert third_party == {re.split(r"[<>=!~ ;\[]", d, maxsplit=1)[0] for d in declared}


def test_core_imports_no_domain_library():
    """Everything below the domains layer, imported together, pulls in none of the domain libraries."""
    domains = next(i for i, (name, _) in enumerate(LAYERS) if name == "domains")
    core = sorted(m for m in import_map() if layer_of(m) < domains)
    code = ("import sys\n" + "".join(f"import {m}\n" for m in core) +
            "libs = ('esm', 'Bio', 'transformers', 'tokenizers', 'scipy', 'matplotlib')\n"
            "bad = [m for m in libs if m in sys.modules]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("command", [[], ["generate"], ["distill"], ["evaluate"], ["train-teacher"],
                                     ["train-judge"], ["train-evaluator"], ["train-tokenizer"]])
def test_help_does_not_import_torch(command):
    code = ("import sys\nfrom protdidi.cli import main\n"
            f"try:\n    main({[*command, '--help']!r})\nexcept SystemExit as e:\n    assert e.code in (0, None)\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout


def _string_comparisons(path: Path, names: set[str]) -> list[str]:
    """Branches on a plug-in name: `x == "name"`, `x != "name"`, `x in ("name", ...)`, a lookup table keyed by
    names and indexed on the spot (`{"name": ...}[x]`, `{...}.get(x)`), and `TABLE[cfg.method]`/`[cfg.domain]`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        values = []
        if isinstance(node, ast.Compare):
            for part in [node.left, *node.comparators]:
                elements = part.elts if isinstance(part, (ast.Tuple, ast.List, ast.Set)) else [part]
                values += [e.value for e in elements if isinstance(e, ast.Constant)]
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Attribute) and \
                node.slice.attr in ("method", "domain"):
            values.append(f"[...{node.slice.attr}]")
            names = {*names, values[-1]}
        table = node.value if isinstance(node, ast.Subscript) else \
            node.func.value if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) else None
        if isinstance(table, ast.Dict):
            values += [k.value for k in table.keys if isinstance(k, ast.Constant)]
        found += [f"{path.relative_to(ROOT)}:{node.lineno}: {v!r}" for v in values if v in names]
    return found


@pytest.mark.parametrize(("names", "home"), [({"didi", "idlm"}, "protdidi/methods"),
                                             ({"protein", "text"}, "protdidi/domains")])
def test_no_branching_on_a_plug_in_name_outside_its_folder(names, home):
    """Callers ask a method or domain object what it does; only the plug-in's own folder may name it."""
    hits = [hit for f in sorted(PACKAGE.rglob("*.py")) if not str(f).startswith(str(ROOT / home))
            for hit in _string_comparisons(f, names)]
    assert hits == []


def test_the_name_check_sees_a_branch():
    path = ROOT / "tests" / "_branch_probe.py"
    try:
        path.write_text('SHIPPED = {"didi": "a-model-name"}\n'
                        'def f(cfg):\n'
                        '    return cfg.method == "didi" or {"text": 1}.get(cfg.domain) or PANELS[cfg.method]\n')
        assert len(_string_comparisons(path, {"didi", "text"})) == 3
    finally:
        path.unlink()
