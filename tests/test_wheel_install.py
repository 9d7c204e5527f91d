"""`pip install .` (not editable) must give a working zkmargin (issue 11): build the wheel from
the checkout's files, install it into a fresh virtualenv, run `zkmargin demo` there (the
installed package's own numba cache starts empty) and check its proof.

The DEVELOPMENT-ONLY dev cache is the session's ($ZKMARGIN_CACHE or ~/.cache/zkmargin: the
solvency tests make the demo circuit's key), and so is the folder of native modules: a module
is named by the digest of its kernel sources and of the environment, so when the fresh venv
has the checkout's interpreter, NumPy and numba, the installed package must find the
checkout's modules and build nothing -- which also shows that the wheel carries every kernel
source unchanged.  This test is about packaging; a cold native build is
tests/test_cold_kernels.py, and the cold first run of the README's command is CI's second job
(`.ci/run`).  Slow (a minute or two: the dependencies install from pip's cache or PyPI); CI
runs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest


def _checkout_files(repo: Path) -> list[str]:
    """The files of the working tree that git would commit (tracked + untracked, not ignored)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=repo, capture_output=True, check=True).stdout.decode()
    return [f for f in out.split("\0") if f and (repo / f).is_file()]


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


@pytest.mark.slow(minutes=3)
def test_wheel_installs_into_a_fresh_venv_and_runs_the_demo(tmp_path, repo_root):
    src = tmp_path / "src"
    for f in _checkout_files(repo_root):         # a clean copy: no build/, .venv or caches
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo_root / f, src / f)
    wheels = tmp_path / "wheels"
    build = _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, src], timeout=600)
    assert "deprecated" not in build.stderr, build.stderr       # e.g. the old license table
    (wheel,) = wheels.glob("zkmargin-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "zkmargin/margin/samples/market.json" in names and "zkmargin/margin/samples/book.json" in names
    assert not any(n.endswith(("package.json", "package-lock.json")) for n in names)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], timeout=300)
    _run([venv / "bin" / "python", "-m", "pip", "install", "-q", wheel], timeout=900)
    from zkmargin.algebra import native

    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "ZKMARGIN_KERNELS", "PYTHONPATH")}
    env["ZKMARGIN_NATIVE_DIR"] = str(native.build_dir())     # the checkout's modules, by digest
    work = tmp_path / "work"                      # not the checkout: only the installed package
    work.mkdir()
    probe = "import zkmargin; from zkmargin.algebra import native; print(zkmargin.__file__); print(native.environment_tag())"
    where, tag = _run([venv / "bin" / "python", "-c", probe], cwd=work, env=env).stdout.split()
    assert Path(where).resolve().is_relative_to(venv.resolve()), where
    def modules() -> list[str]:
        return sorted(p.name for p in native.build_dir().glob(f"zkm_*{EXTENSION_SUFFIXES[0]}"))

    shared = tag == native.environment_tag() and all(
        native.module_path(native.build_dir(), native.module_name(s)).exists() for s in (native.PROVER, native.VERIFIER))
    before = modules()
    demo = _run([venv / "bin" / "zkmargin", "demo", "--out", work / "out"], cwd=work, env=env, timeout=1800)
    assert "demo OK" in demo.stdout, demo.stdout
    if shared:      # same environment, modules built here: the installed sources hash the same
        assert modules() == before, \
            "the installed package built its own native modules: its kernel sources differ from the checkout's"
    for name in ("proof.json", "public.json", "verification_key.json", "bundle.json"):
        assert (work / "out" / name).is_file(), name
    samples = _run([venv / "bin" / "zkmargin", "samples", work / "samples"], cwd=work, env=env)
    assert sorted(p.name for p in (work / "samples").iterdir()) == ["book.json", "market.json", "portfolio.json"], samples.stdout
    snarkjs = repo_root / "node_modules" / ".bin" / "snarkjs"
    if snarkjs.exists() and shutil.which("node"):
        check = _run([snarkjs, "groth16", "verify", work / "out" / "verification_key.json",
                      work / "out" / "public.json", work / "out" / "proof.json"], timeout=300)
        assert "OK" in check.stdout, check.stdout
