"""Stage timeline of `zkmargin venue setup` for a parameter file (the library call it makes).

    .venv/bin/python benchmarks/bench_venue_setup.py PARAMS [--cache DIR] [--profile OUT.prof]

Runs :func:`zkmargin.solvency.keys.setup_keys` for the file's shape and prints every stage line
and progress stage with the wall and process CPU seconds (all threads) since the start, then
the total; on a shared machine the CPU seconds are the steadier figure.  ``--cache DIR`` points
``$ZKMARGIN_CACHE`` at DIR (an empty folder: the first-ever setup, which makes and checks the
development powers of tau too); without it the usual cache is used.  ``--profile`` also writes
a cProfile of the call and prints its top entries.  The documented session's file comes from
``zkmargin samples DIR`` and ``zkmargin venue params`` (docs/PROTOCOL.md).
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("params")
    ap.add_argument("--cache", help="$ZKMARGIN_CACHE for the run (an empty folder: first-ever setup)")
    ap.add_argument("--profile", help="write a cProfile here")
    args = ap.parse_args()
    if args.cache:
        os.makedirs(args.cache, exist_ok=True)
        os.environ["ZKMARGIN_CACHE"] = args.cache

    from zkmargin.solvency.keys import setup_keys
    from zkmargin.solvency.params import read_params

    t0, c0 = time.perf_counter(), time.process_time()
    last: list[str] = [""]

    def stamp(line: str) -> None:
        print(f"[{time.perf_counter() - t0:8.1f} s wall, {time.process_time() - c0:8.1f} s cpu] {line}", flush=True)

    def ticks(what: str, done: int, total: int) -> None:
        if what != last[0]:
            last[0] = what
            stamp(f"  {what} ({done}/{total})")

    pf = read_params(args.params)
    prof = None
    if args.profile:
        import cProfile
        prof = cProfile.Profile()
        prof.enable()
    setup_keys(pf.shape, None, model=pf.model, progress=stamp, params=pf.params, ticks=ticks)
    if prof is not None:
        import pstats
        prof.disable()
        prof.dump_stats(args.profile)
        pstats.Stats(args.profile).sort_stats("cumulative").print_stats(30)
    stamp(f"done; load average {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
