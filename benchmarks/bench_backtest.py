"""Backtest tables for docs/MARGIN_MODELS.md: runs ``zkmargin backtest`` commands on the real
series in a data folder (``--data``, default ``$ZKMARGIN_DATA``) and prints one Markdown table per model, with each command and its
run time.

Run: .venv/bin/python benchmarks/bench_backtest.py [--data FOLDER] [--quick]

Every number comes from the CLI's ``--json`` output of the command printed beside it, so each
table row can be reproduced by running that command. ``--quick`` runs only the 2018–2020 set.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

import typer
from typer.testing import CliRunner

from zkmargin.cli import cmd_margin

RUNS = [
    ("A", "btc_usd_daily_2018_2020.csv eth_usd_daily_2018_2020.csv xrp_usd_daily_2018_2020.csv", ""),
    ("B", "btc_usd_daily_2018_2020.csv eth_usd_daily_2018_2020.csv", "--book multi"),
    ("B0", "btc_usd_daily_2018_2020.csv eth_usd_daily_2018_2020.csv",
     "--book multi --model span16 --no-span-credits"),
    ("C", "eth_usd_daily_2018_2020.csv", ""),
    ("D", "xrp_usd_daily_2018_2020.csv", ""),
    ("E", "btc_usd_daily_2014_2022.csv", ""),
    ("F", "btc_usd_daily_2020_2025.csv", "--vol-history BTC={data}/btc_dvol_daily_2021_2026.csv"),
    ("G", "btc_usd_daily_2020_2025.csv", ""),
    ("H", "btc_usd_daily_2014_2022.csv", "--model hvar --model es --unfiltered"),
    ("I", "btc_usd_daily_2018_2020.csv eth_usd_daily_2018_2020.csv xrp_usd_daily_2018_2020.csv",
     "--model hvar --model es --unfiltered"),
    ("J", "btc_usd_daily_2020_2025.csv",
     "--model hvar --model es --unfiltered --vol-history BTC={data}/btc_dvol_daily_2021_2026.csv"),
    ("K", "btc_usd_daily_2014_2022.csv",
     "--model hvar --model es --book short_strangle --vol-moves none --unfiltered"),
    ("L", "btc_usd_daily_2014_2022.csv", "--model hvar --model es --stress 2020-03-01:2020-03-31"),
]
QUICK = {"A", "B", "B0", "C", "D"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("ZKMARGIN_DATA", ""),
                    help="folder of the price CSVs (default: $ZKMARGIN_DATA)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default=None, help="comma-separated run ids")
    args = ap.parse_args()
    data = Path(args.data)
    if not args.data or not data.is_dir():
        print(f"no data folder {args.data!r} (--data or $ZKMARGIN_DATA)", file=sys.stderr)
        return 2
    app = typer.Typer()
    cmd_margin.register(app)
    runner = CliRunner()
    only = set(args.only.split(",")) if args.only else (QUICK if args.quick else None)
    per_model: dict[str, list] = {}
    commands = []
    for rid, files, extra in RUNS:
        if only and rid not in only:
            continue
        argv = ["backtest", *[str(data / f) for f in files.split()],
                *shlex.split(extra.format(data=data)), "--json"]
        shown = "zkmargin " + " ".join(a for a in argv if a != "--json").replace(str(data), "$DATA")
        t0 = time.perf_counter()
        res = runner.invoke(app, argv)
        dt = time.perf_counter() - t0
        if res.exit_code != 0:
            print(f"run {rid} failed: {res.output}", file=sys.stderr)
            return 1
        out = json.loads(res.output)
        commands.append((rid, shown, out["start"], out["end"], out["days"], dt))
        assets = "/".join(Path(f).name.split("_")[0].upper() for f in files.split())
        for r in out["results"]:
            per_model.setdefault(r["model"], []).append((rid, assets, r))
    print("## Commands\n")
    print("| run | command | days | period | time |\n|---|---|---|---|---|")
    for rid, shown, a, b, n, dt in commands:
        print(f"| {rid} | `{shown}` | {n} | {a} → {b} | {dt:.0f} s |")
    for model, rows in per_model.items():
        print(f"\n### {model}\n")
        print("| run | assets | book | exceedances | expected | Kupiec p | 95 % | req ÷ isolated | isolated exc. |")
        print("|---|---|---|---|---|---|---|---|---|")
        for rid, assets, r in rows:
            print(f"| {rid} | {assets} | {r['book']} | {r['exceedances']} | {r['expected']:.1f} | "
                  f"{r['kupiec_p']:.3f} | {'pass' if r['passes_95'] else 'FAIL'} | "
                  f"{r['requirement_ratio']:.3f} | {r['baseline_exceedances']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
