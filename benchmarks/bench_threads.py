"""How the prover scales with threads, stage by stage, on one .zkey and .wtns.

For each thread count (default 1 and 2, and the machine's cores when more) it runs the
in-process prover ``--runs`` times (the key read and mapped once, the kernels warm), times each
stage through the progress callback, and prints per stage the median seconds and the speed-up
over one thread, then the whole prove's speed-up and efficiency (speed-up / threads).  Use a
dense circuit to see the G2 MSM (benchmarks/bench_dense.py writes them under bench-out/dense);
any snarkjs-compatible .zkey/.wtns pair works.

Run:  .venv/bin/python benchmarks/bench_threads.py ZKEY WTNS [--threads 1 2 16] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path


def load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def timed_prove(pk, witness, ks) -> tuple[float, dict[str, float]]:
    from zkmargin.prover.groth16 import prove

    marks: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    prove(pk, witness, kernels=ks, progress=lambda stage, i, total: marks.append((stage, time.perf_counter())))
    total = time.perf_counter() - t0
    stages = {}
    for (name, start), (_, end) in zip(marks, marks[1:]):
        stages[name] = end - start
    return total, stages


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("zkey", type=Path)
    ap.add_argument("wtns", type=Path)
    ap.add_argument("--threads", type=int, nargs="+", default=None)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    from zkmargin.algebra.kernel_set import KernelSet, default_threads, kernel_set
    from zkmargin.formats.wtns import read_wtns_limbs
    from zkmargin.formats.zkey import read_zkey

    threads = args.threads or sorted({1, 2, default_threads()})
    pk = read_zkey(args.zkey, check_points=False)
    witness = read_wtns_limbs(args.wtns)
    base = kernel_set()
    print(f"{args.zkey.name}: domain 2^{pk.domain_size.bit_length() - 1}, {base.name} kernels; {load()}")
    results = {}
    for t in threads:
        ks = KernelSet(base.k, base.name, threads=t)
        timed_prove(pk, witness, ks)                  # warm: twiddle tables, thread start
        runs = [timed_prove(pk, witness, ks) for _ in range(args.runs)]
        results[t] = (statistics.median(r[0] for r in runs),
                      {name: statistics.median(r[1][name] for r in runs) for name in runs[0][1]})
    one = results[threads[0]]
    width = max(len(name) for name in [*one[1], "whole prove"]) + 2
    header = f"{'stage':<{width}}" + "".join(f"{f'{t} thr s':>10}{'x':>6}" for t in threads)
    print(header)
    for name in one[1]:
        row = f"{name:<{width}}"
        for t in threads:
            s = results[t][1][name]
            row += f"{s:>10.3f}{one[1][name] / s if s else 0:>6.2f}"
        print(row)
    row = f"{'whole prove':<{width}}"
    for t in threads:
        row += f"{results[t][0]:>10.3f}{one[0] / results[t][0]:>6.2f}"
    print(row)
    for t in threads[1:]:
        speedup = one[0] / results[t][0]
        print(f"{t} threads: speed-up {speedup:.2f}x over {threads[0]}, efficiency {speedup / t * threads[0]:.0%}")
    print(load())


if __name__ == "__main__":
    main()
