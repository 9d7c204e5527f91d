"""The package layering of docs/ARCHITECTURE.md, checked from the source.

Every ``import`` and ``from ... import`` of every module of the package is read with :mod:`ast`
-- the ones inside functions too, since a local import is still a dependency, only a later one.
The imports are folded into a graph between the sub-packages (``zkmargin.algebra``,
``zkmargin.formats`` ...; ``zkmargin.solvency.venue`` counts as ``solvency``) and two rules are
checked:

* no cycle between packages;
* no upward import: a package imports only packages of a strictly lower layer of
  :data:`LAYERS`, so two packages of one layer (prover and verifier) never import each other.

A new sub-package fails the test until it is given a layer here and in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import ast
import os
from collections import defaultdict
from pathlib import Path

import pytest

import zkmargin

ROOT = Path(zkmargin.__file__).resolve().parent

#: Lowest first.  ``base`` is the top-level package itself (``zkmargin/__init__.py``, only the
#: version) and its plain modules (``zkmargin.errors``, ``zkmargin._lazy``); every other entry
#: is a sub-package.
LAYERS: list[tuple[str, ...]] = [
    ("base",),
    ("algebra",),
    ("formats",),
    ("margin",),
    ("circuits", "prover", "verifier"),
    ("solvency",),
    ("service",),
    ("cli",),
]
LAYER_OF = {pkg: i for i, names in enumerate(LAYERS) for pkg in names}

#: Folders of the repository that are not part of the installed package.
_NOT_PACKAGE = {"tests", "benchmarks", "node_modules", "build", "dist", "docs", ".venv", ".git",
                "__pycache__", "_native", "out", "bench-out"}


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the installed package."""
    mods = {}
    for folder, subdirs, files in os.walk(ROOT):
        subdirs[:] = sorted(d for d in subdirs
                            if d not in _NOT_PACKAGE and not d.endswith(".egg-info")
                            and not d.startswith("."))
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = Path(folder) / name
            parts = ["zkmargin", *path.relative_to(ROOT).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = path
    return mods


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import of the file, at any depth."""
    is_pkg = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [] if node.module else [a.name for a in node.names]
            else:
                target, names = node.module or "", []
            found.append((target, node.lineno))
            # ``from . import x`` names sub-modules, not the package itself
            found += [(f"{target}.{n}", node.lineno) for n in names]
    return [(t, line) for t, line in found if t == "zkmargin" or t.startswith("zkmargin.")]


def package_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or (ROOT / f"{parts[1]}.py").is_file():
        return "base"
    return parts[1]


def _package_edges() -> dict[tuple[str, str], list[str]]:
    """(importing package, imported package) -> the import sites ``module:line -> target``."""
    mods = _modules()
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module, path in mods.items():
        for target, line in _imports(module, path):
            if target not in mods and target.rsplit(".", 1)[0] in mods:
                target = target.rsplit(".", 1)[0]  # ``from pkg import name`` of a non-module
            a, b = package_of(module), package_of(target)
            if a != b:
                edges[(a, b)].append(f"{module}:{line} -> {target}")
    return edges


def test_the_scan_sees_the_package():
    mods = _modules()
    assert "zkmargin.prover.groth16" in mods and "zkmargin.solvency.venue.prove" in mods
    assert not any(m.startswith("zkmargin.tests") for m in mods)
    # local (function-level) imports are counted
    sites = [s for sites in _package_edges().values() for s in sites]
    assert any(s.startswith("zkmargin.cli.") for s in sites)


def test_every_package_has_a_layer():
    pkgs = {package_of(m) for m in _modules()}
    missing = sorted(pkgs - set(LAYER_OF))
    assert not missing, f"packages without a layer in LAYERS (and docs/ARCHITECTURE.md): {missing}"


def test_no_upward_or_sideways_import():
    bad = []
    for (a, b), sites in sorted(_package_edges().items()):
        if a in LAYER_OF and b in LAYER_OF and LAYER_OF[b] >= LAYER_OF[a]:
            bad += [f"{a} (layer {LAYER_OF[a]}) imports {b} (layer {LAYER_OF[b]}): {s}"
                    for s in sites]
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)


def test_no_cycle_between_packages():
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in _package_edges():
        graph[a].add(b)
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            pytest.fail("import cycle between packages: " + " -> ".join(cycle))


def test_the_checker_catches_a_cycle_and_an_upward_import(tmp_path):
    # the rules themselves, on a made-up graph: prover -> verifier is sideways (same layer)
    assert LAYER_OF["prover"] == LAYER_OF["verifier"]
    assert LAYER_OF["algebra"] < LAYER_OF["formats"] < LAYER_OF["prover"] < LAYER_OF["solvency"]
    mod = tmp_path / "m.py"
    mod.write_text("def f():\n    from ..verifier.groth16 import verify\n", encoding="utf-8")
    assert _imports("zkmargin.prover.m", mod) == [("zkmargin.verifier.groth16", 2)]
