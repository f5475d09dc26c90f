"""The layers of ``sim/`` (docs/architecture.md): arrows point down, no import cycles, Hydra and
files stay out of the model.

The checks read the source with :mod:`ast` (imports inside functions included), and each is
also run on a small deliberately broken package, so a check that could never fail would show.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parent.parent / "sim"

#: Layer of each top-level part of ``sim``: a module may import only its own layer or lower.
LAYERS = {
    "config": 0,
    # composing a run knits configuration, model checks (KPI names, memory) together
    "config.compose": 2,
    "data": 0,
    "core": 1,
    "booking": 1,
    "services": 1,
    "experiments": 2,
    "tools": 3,
    "report": 3,
    "cli": 3,
    "api": 3,
    "__main__": 3,
    # the web app drives the command line (its preflight, its commands) and reads with the
    # report's loaders, so it sits above both
    "app": 4,
}
#: The model: pure, no Hydra, no files.
MODEL_PARTS = ("core", "booking", "services")
WRITING_CALLS = ("write_text", "write_bytes", "to_csv", "to_parquet", "savefig", "mkdir")


def modules(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module under ``package``."""
    found = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    """Modules of the package that ``path`` imports, anywhere in the file."""
    package = path.relative_to(next(p for p in path.parents if p.name == "sim").parent).parts[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                raise AssertionError(f"{path}: relative import; use absolute imports")
            if node.module.split(".")[0] == package:
                for alias in node.names:
                    name = f"{node.module}.{alias.name}"
                    out.add(name if name in known else node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == package)
    return {m for m in out if m in known}


def import_graph(package: Path) -> dict[str, set[str]]:
    known = modules(package)
    return {name: imports_of(path, known) - {name} for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def layer(module: str) -> int | None:
    """The layer of ``sim.<part>[.<module>...]``: the most specific entry of ``LAYERS``."""
    parts = module.split(".")[1:]
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return LAYERS[".".join(parts[:n])]
    return 0 if not parts else None


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, deps in sorted(graph.items()):
        here = layer(module)
        for dep in sorted(deps):
            there = layer(dep)
            if here is not None and there is not None and there > here:
                bad.append(f"{module} -> {dep}")
    return bad


def model_violations(package: Path) -> list[str]:
    """Hydra/OmegaConf imports and file writes inside the model parts."""
    bad = []
    for name, path in modules(package).items():
        parts = name.split(".")
        if len(parts) < 2 or parts[1] not in MODEL_PARTS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if any(n.split(".")[0] in ("hydra", "omegaconf") for n in names):
                    bad.append(f"{name}: imports Hydra/OmegaConf")
            elif isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in WRITING_CALLS or called == "open":
                    bad.append(f"{name}: calls {called}()")
    return bad


# ------------------------------------------------------------------------------ the real code


def test_no_import_cycles():
    assert cycles(import_graph(SIM)) == []


def test_imports_point_down_the_layers():
    graph = import_graph(SIM)
    unknown = sorted(m for m in graph if layer(m) is None)
    assert unknown == [], f"give these parts of sim/ a layer in LAYERS: {unknown}"
    assert upward_imports(graph) == []


def test_the_model_has_no_hydra_and_writes_no_files():
    assert model_violations(SIM) == []


# ------------------------------------------------------- the checks fail on a broken package


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A package named ``sim`` with a cycle, an upward import and a model that writes files."""
    pkg = tmp_path / "sim"
    files = {
        "__init__.py": "",
        "core/__init__.py": "",
        "core/a.py": "from sim.core import b\n",
        "core/b.py": "def f():\n    from sim.core.a import x\n",
        "core/writes.py": "import hydra\n\ndef f(p):\n    p.write_text('x')\n",
        "experiments/__init__.py": "",
        "experiments/run.py": "",
        "config/__init__.py": "",
        "config/schema.py": "from sim.experiments import run\n",
    }
    for rel, text in files.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    return pkg


def test_checks_find_a_cycle_an_upward_import_and_a_writing_model(broken: Path):
    graph = import_graph(broken)
    assert cycles(graph) == [["sim.core.a", "sim.core.b"]]
    assert upward_imports(graph) == ["sim.config.schema -> sim.experiments.run"]
    assert model_violations(broken) == [
        "sim.core.writes: imports Hydra/OmegaConf",
        "sim.core.writes: calls write_text()",
    ]


# ------------------------------------------------------------------- the map sends you there


DOC = SIM.parent / "docs" / "architecture.md"


def test_the_module_map_names_every_module():
    """docs/architecture.md's map reaches every file of sim/ in one hop (the report's files
    are named in its row of the commands table)."""
    doc = DOC.read_text(encoding="utf-8")
    missing = []
    for path in sorted(SIM.rglob("*.py")):
        rel = path.relative_to(SIM.parent).as_posix()
        if path.name == "__init__.py" or rel in doc:
            continue
        if rel.startswith("sim/report/") and f"`{path.name}`" in doc:
            continue
        missing.append(rel)
    assert missing == [], f"add these to docs/architecture.md's module map: {missing}"


def test_every_routing_rule_named_in_the_map_exists():
    """The table of routing rules names functions of sim/booking/rules.py that exist."""
    import re

    from sim.booking import rules

    doc = DOC.read_text(encoding="utf-8")
    start = doc.index("### Where each routing rule lives")
    section = doc[start : doc.index("### Adding a service")]
    rows = "\n".join(line for line in section.splitlines() if line.startswith("| "))
    named = set(re.findall(r"`([a-z_0-9]+)`", rows))
    assert named and all(hasattr(rules, n) for n in named), sorted(
        n for n in named if not hasattr(rules, n)
    )
