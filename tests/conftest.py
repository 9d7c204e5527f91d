"""Shared pytest fixtures.

* ``repo_root`` -- the repository root (the folder holding ``package.json``).
* ``node_tools`` -- paths of the node tools in ``node_modules/.bin`` (snarkjs, circom2) and of
  ``node_modules`` itself; skips the test when node or the tools are absent (run ``make node``).
* ``samples`` -- a folder with the built-in sample files (``zkmargin samples``), per module.
* ``pf`` and ``client`` -- the venue-solvency tests' parameter file and Dask client.

``make test`` runs the suite on two pytest-xdist workers, a test file per worker at a time
(``--dist loadfile``, so module fixtures are built once); the slow tests are collected first so
that their minutes overlap the rest of the suite instead of trailing it.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(session, config, items):
    """Files holding a ``slow`` test first, the longest first (``@pytest.mark.slow(minutes=3)``:
    a rough CPU-minutes figure; unmarked slow tests count as 1); within that and among the rest,
    the collected order.  Every xdist worker sorts the same way, so they agree on the order."""
    weight: dict = {}
    for item in items:
        mark = item.get_closest_marker("slow")
        if mark is not None:
            weight[item.path] = max(weight.get(item.path, 0), float(mark.kwargs.get("minutes", 1)))
    items.sort(key=lambda item: -weight.get(item.path, 0))


@dataclass(frozen=True)
class NodeTools:
    """Where the reference JavaScript tools live."""

    node: str                 #: the node executable
    node_modules: Path        #: <repo>/node_modules
    snarkjs: Path             #: node_modules/.bin/snarkjs
    circom2: Path             #: node_modules/.bin/circom2

    def run(self, tool: Path | str, *args: str, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
        """Run a tool from node_modules/.bin (no shell); captures text output, never raises."""
        return subprocess.run([str(tool), *map(str, args)], cwd=cwd, capture_output=True,
                              text=True, timeout=timeout)

    def snarkjs_cmd(self, *args: str, cwd: Path | None = None,
                    timeout: float = 120) -> subprocess.CompletedProcess:
        return self.run(self.snarkjs, *args, cwd=cwd, timeout=timeout)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def node_tools() -> NodeTools:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    nm = REPO_ROOT / "node_modules"
    bin_ = nm / ".bin"
    tools = NodeTools(node=node, node_modules=nm, snarkjs=bin_ / "snarkjs", circom2=bin_ / "circom2")
    missing = [p.name for p in (tools.snarkjs, tools.circom2) if not p.exists()]
    if missing:
        pytest.skip(f"node tools missing from node_modules/.bin: {missing} (run `make node`)")
    return tools


def _tiny_r1cs():
    """x^3 + x + 5 = y (y public) and an output o = 2 x^3 + 7: 2 public, 4 constraints."""
    from zkmargin.circuits.builder import ConstraintSystem

    cs = ConstraintSystem("tiny")
    x = cs.private("x", 3)
    y = cs.public("y", 35)
    x2 = cs.mul(x, x, "x2")
    x3 = cs.mul(x2, x, "x3")
    cs.assert_equal(x3 + x + 5, y)
    cs.output("o", x3 * 2 + 7)
    return cs.to_r1cs()


@pytest.fixture(scope="session")
def make_tiny_r1cs():
    """Factory of a fresh tiny R1CS (setup and zkey tests)."""
    return _tiny_r1cs


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> Path:
    """The built-in sample files (market, portfolio, book ...), written by ``zkmargin samples``."""
    from typer.testing import CliRunner

    from zkmargin.cli.main import app

    d = tmp_path_factory.mktemp("samples")
    assert CliRunner().invoke(app, ["samples", str(d)]).exit_code == 0
    return d


# ---- the venue-solvency tests (tests/test_venue_solvency.py, tests/test_redteam_venue.py) ----


@pytest.fixture(scope="module")
def pf():
    """The small venue book's parameter file (:func:`venue_flow.params`)."""
    from venue_flow import params

    return params()


@pytest.fixture(scope="module")
def client():
    """A Dask client on an in-process LocalCluster (one worker, two threads) for venue builds."""
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None)
    cl = Client(cluster)
    yield cl
    cl.close()
    cluster.close()
