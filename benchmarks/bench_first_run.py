"""The README's first command as a new user runs it: a fresh clone, every cache cold, ``make demo``.

Each run clones the current commit into a new temporary folder, clears every cache the project
keeps (numba's ``__pycache__`` kernels, the native module, an empty ``ZKMARGIN_CACHE``), runs
``make demo`` there and checks that it printed ``demo OK``; with ``--snarkjs`` it also runs
``make verify-demo`` (snarkjs from npm). Each output line is time-stamped, so the table splits a
run into its stages:

* ``install``  -- venv + ``pip install -e .`` (from the pip cache when warm);
* ``native``   -- ``zkmargin warmup --no-jit``: the ahead-of-time prover kernels;
* ``demo``     -- ``zkmargin demo``: the JIT kernels it needs, the DEVELOPMENT-ONLY setup (both
  self-checked), then commit, attest, prove, verify.

The machine's load average is printed before and after every run: these machines are shared.

    python benchmarks/bench_first_run.py --runs 5 [--snarkjs] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _cold_env(cache: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CACHE_DIR", "ZKMARGIN_NATIVE_DIR", "ZKMARGIN_KERNELS", "VIRTUAL_ENV")}
    env["ZKMARGIN_CACHE"] = str(cache)
    env["PYTHONUNBUFFERED"] = "1"          # time-stamp the demo's own lines as they come
    return env


def _timed_lines(cmd: list[str], cwd: Path, env: dict, log) -> tuple[int, list[tuple[float, str]]]:
    """Run ``cmd``; every output line with the seconds since the start."""
    t0 = time.perf_counter()
    lines = []
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace")
    assert proc.stdout is not None
    for line in proc.stdout:
        t = time.perf_counter() - t0
        lines.append((t, line.rstrip("\n")))
        log.write(f"{t:8.1f}  {line}")
    return proc.wait(), lines


def _stage_times(lines: list[tuple[float, str]], total: float) -> dict:
    """install / native / demo split from the time stamps of the make recipe's command lines."""
    native = next((t for t, s in lines if "warmup --no-jit" in s), None)
    demo = next((t for t, s in lines if "zkmargin demo" in s), None)
    out = {"install": native, "native": None, "demo": None}
    if native is not None and demo is not None:
        out["native"] = demo - native
        out["demo"] = total - demo
    return out


def one_run(i: int, snarkjs: bool, keep: bool) -> dict:
    work = Path(tempfile.mkdtemp(prefix="zkm-first-run-"))
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(work / "zkmargin")], check=True)
    repo = work / "zkmargin"
    subprocess.run(["git", "checkout", "-q", head], cwd=repo, check=True)
    compiled = [p for p in repo.rglob("*") if p.suffix == ".nbi" or p.name.startswith("zkm_native_")]
    assert not compiled, f"a fresh clone holds compiled kernels: {compiled[:3]}"
    env = _cold_env(work / "dev-cache")
    load_before = _load()
    t0 = time.perf_counter()
    with open(work / "make-demo.log", "w") as log:
        rc, lines = _timed_lines(["make", "demo"], repo, env, log)
        total = time.perf_counter() - t0
        ok = rc == 0 and any("demo OK" in s for _, s in lines)
        snark = None
        if snarkjs and ok:
            rc2, lines2 = _timed_lines(["make", "verify-demo"], repo, env, log)
            snark = rc2 == 0 and any("OK" in s for _, s in lines2)
    row = {"run": i, "commit": head[:10], "ok": ok, "total_s": round(total, 1),
           **{k: (round(v, 1) if v is not None else None) for k, v in _stage_times(lines, total).items()},
           "snarkjs_ok": snark, "load_before": load_before, "load_after": _load()}
    if not ok:
        row["log"] = str(work / "make-demo.log")
        row["tail"] = [s for _, s in lines[-15:]]
    elif not keep:
        subprocess.run(["rm", "-rf", str(work)], check=False)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--snarkjs", action="store_true", help="also run `make verify-demo` (npm)")
    ap.add_argument("--keep", action="store_true", help="keep the clones of green runs")
    ap.add_argument("--json", type=Path, help="write the rows here")
    a = ap.parse_args(argv)
    rows = []
    print(f"{'run':>3} {'ok':>3} {'total s':>8} {'install':>8} {'native':>7} {'demo':>7} {'snarkjs':>7}  load before -> after",
          flush=True)
    for i in range(1, a.runs + 1):
        r = one_run(i, a.snarkjs, a.keep)
        rows.append(r)
        f = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
        print(f"{i:>3} {'yes' if r['ok'] else 'NO':>3} {r['total_s']:>8.1f} {f(r['install']):>8} {f(r['native']):>7} "
              f"{f(r['demo']):>7} {str(r['snarkjs_ok']):>7}  {r['load_before']} -> {r['load_after']}", flush=True)
        if not r["ok"]:
            print("\n".join("    " + s for s in r["tail"]), f"\n    log: {r['log']}", sep="\n", flush=True)
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2) + "\n")
    green = sum(r["ok"] for r in rows)
    print(f"{green}/{len(rows)} runs green")
    return 0 if green == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
