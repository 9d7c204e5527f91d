"""Run every benchmark of this folder and print their tables (``make bench``).

    .venv/bin/python benchmarks/run_all.py [--full] [--only algebra,margin,...] [--timeout S]

By default each script runs at quick sizes (minutes in all on a laptop); ``--full`` uses each
script's own defaults, the sizes quoted in the README and docs/. A script whose peer or data is
missing (snarkjs / circom2 from ``make node``, the price series of the backtests) is skipped
with a note, not failed. Each script runs as its own process, so one benchmark's JIT warm-up
or threads do not colour the next; its output is printed as it comes. The exit code is 1 if a
script that ran failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NODE_BIN = ROOT / "node_modules" / ".bin"


def _have_node(*tools: str) -> str | None:
    """None when node and the tools are installed, else why not."""
    if shutil.which("node") is None:
        return "node is not installed"
    missing = [t for t in tools if not (NODE_BIN / t).exists()]
    return f"missing from node_modules/.bin: {', '.join(missing)} (run `make node`)" if missing else None


def _backtest_data() -> Path | None:
    folder = os.environ.get("ZKMARGIN_DATA")
    return Path(folder) if folder and Path(folder).is_dir() else None


#: name -> (quick arguments, reason to skip or None)
def plan() -> dict[str, tuple[list[str], str | None]]:
    snarkjs = _have_node("snarkjs")  # None: installed
    data = _backtest_data()
    return {
        "algebra": (["--quick"], None),
        "pairing": (["--repeat", "5"], None),
        "margin": (["--accounts", "1000", "--instruments", "20", "--scenarios", "250",
                    "--repeat", "1"], None),
        "solvency": (["--only", "span16", "--modes", "digest"], None),
        "setup": (["--powers", "10", "11", "--snarkjs-powers", *(["10"] if snarkjs is None else [])], None),
        "prove": (["--sizes", "12", "--repeat", "1", "--batch", "32", "--ceremony-max", "12"],
                  _have_node("snarkjs", "circom2")),
        "gateway": (["--n", "200", "--clients", "8", "--baseline", "64"], None),
        "dense": (["--sizes", "12", "--runs", "3", "--clean"], _have_node("snarkjs")),
        "verify": (["--repeat", "3", "--batch", "64"], None),
        "trader_prove": (["--known-tau", "--runs", "1"], None),
        "venue_solvency": (["--accounts", "256", "--build-workers", "0", "--layouts", "1x1x2",
                            "--prove-batches", "1"], None),
        "backtest": (["--quick", "--data", str(data)] if data else [],
                     None if data else "no price series: set ZKMARGIN_DATA to a folder of "
                                       "the CSVs the script names"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="each script's own (large) default sizes")
    ap.add_argument("--only", default="", help="comma-separated names (algebra, margin, ...)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per script")
    args = ap.parse_args(argv)
    steps = plan()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(steps)
    unknown = [n for n in names if n not in steps]
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(unknown)} (one of {', '.join(steps)})")
    summary, failed = [], False
    for name in names:
        quick, skip = steps[name]
        script = HERE / f"bench_{name}.py"
        if skip:
            summary.append((name, f"skipped: {skip}"))
            print(f"\n## {name}: skipped ({skip})", flush=True)
            continue
        cmd = [sys.executable, str(script), *([] if args.full else quick)]
        shown = [str(script.relative_to(ROOT)), *cmd[2:]]
        print(f"\n## {name}\n$ python {' '.join(shown)}", flush=True)
        t0 = time.perf_counter()
        try:
            rc = subprocess.run(cmd, cwd=ROOT, timeout=args.timeout).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
        took = time.perf_counter() - t0
        failed |= rc != 0
        summary.append((name, f"{'ok' if rc == 0 else f'FAILED ({rc})'} in {took:.0f} s"))
    print("\n## summary")
    for name, what in summary:
        print(f"  {name:<16} {what}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
