"""The house stays as built (docs/architecture.md): imports between auditor's layers go one way,
no import cycles, no module over 500 lines under auditor/ and benchmarks/, and at most four
modules at auditor's top level. Read from the source with `ast`, so an import inside a function
or under TYPE_CHECKING counts like any other."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "auditor"
MAX_LINES = 500

# Lowest first: a module may import its own layer and the layers before it, never one after.
LAYERS = ("base", "input", "istio", "mesh", "checks", "report", "run", "cli")
# Top-level modules and data packages outside the layers, with the rank of what they may import.
TOP = {"auditor": -1, "auditor.__main__": len(LAYERS), "auditor.frameworks": -1}


def module_names() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = module_names()


def rank(module: str) -> int:
    if module in TOP:
        return TOP[module]
    layer = module.split(".")[1]
    if layer not in LAYERS:
        raise AssertionError(f"{module}: not in a layer folder ({', '.join(LAYERS)})")
    return LAYERS.index(layer)


def imported(module: str, path: Path) -> Iterator[tuple[int, str]]:
    """(line, auditor module) for every import in `path`, resolved to the module it loads."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".")[: None if is_package else -1]
                here = here[: len(here) - (node.level - 1)]
                base = ".".join([*here, *([node.module] if node.module else [])])
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target.startswith("auditor") and target != module:
                yield node.lineno, target


GRAPH = {m: sorted(set(imported(m, p))) for m, p in MODULES.items()}


def test_every_module_is_in_a_layer() -> None:
    for module in MODULES:
        rank(module)


def test_imports_follow_the_layer_order() -> None:
    upward = [
        f"{MODULES[m].relative_to(ROOT)}:{line}: {m} ({m.split('.')[1]}) imports {t}"
        for m, deps in GRAPH.items()
        for line, t in deps
        if rank(t) > rank(m)
    ]
    assert upward == []


def test_no_import_cycles() -> None:
    edges = {m: {t for _, t in deps} for m, deps in GRAPH.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for t in sorted(edges[m]):
            if state.get(t) == 1:
                cycles.append([*path[path.index(t) :], t])
            elif t not in state:
                visit(t)
        path.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
    assert cycles == []


@pytest.mark.parametrize("folder", ["auditor", "benchmarks"])
def test_no_module_over_500_lines(folder: str) -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in sorted((ROOT / folder).rglob("*.py"))
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_at_most_four_top_level_modules() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert top == ["__init__.py", "__main__.py"]


def test_the_checker_sees_a_violation() -> None:
    """The graph is real: the CLI reaches the index through the run layer, and the checks
    import the index; an inverted rank would be reported."""
    assert any(t == "auditor.mesh.index" for _, t in GRAPH["auditor.checks.registry"])
    assert rank("auditor.mesh.index") < rank("auditor.checks.registry")
    assert rank("auditor.cli.options") > rank("auditor.run.scan")
