"""Benchmark the compiled BN254 pairing: one pairing, its Miller loop and final exponentiation,
a 4-pair product check, compile times; beside MCL's figures for the same operations when an MCL
build is there.

    python benchmarks/bench_pairing.py            # warm timings + py_ecc contrast
    python benchmarks/bench_pairing.py --compile  # also: cold compile and cached start
                                                  # (two child processes, fresh cache dir)

Timings are taken after compilation (the first call in the process is excluded) and report
the median and the best of several runs.  Target (issue 2): 4-pair product check <= 20 ms.

MCL (herumi's pairing library, C++ with JIT-generated x86-64 code) is a benchmark peer, not a
dependency.  Its test binary times each curve it supports; the ratios are taken against its
``BN_SNARK1`` block, which is this curve (alt_bn128, the circom/snarkjs/Ethereum BN254).  Its
block named ``BN254`` is another curve (Nogami et al., seed -(2^62 + 2^55 + 1)), whose sparse
seed makes the Miller loop and f^u far cheaper; it is printed beside for reference only.
Built with wall-clock timers (needs g++ and GMP's headers, libgmp-dev on Debian):

    git clone https://github.com/herumi/mcl bench-out/mcl
    make -C bench-out/mcl -j2 bin/bn_test.exe CFLAGS_USER=-DCYBOZU_BENCH_CHRONO
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

MCL_TEST = Path(__file__).resolve().parents[1] / "bench-out" / "mcl" / "bin" / "bn_test.exe"
_UNITS = {"nsec": 1e-9, "usec": 1e-6, "msec": 1e-3, "sec": 1.0}

_CHILD = """
import time
t0 = time.perf_counter()
from zkmargin.algebra.constants import G1_GENERATOR, G2_GENERATOR
from zkmargin.algebra.pairing import pairing, pairing_product_is_one
t1 = time.perf_counter()
pairing(G1_GENERATOR, G2_GENERATOR)
pairing_product_is_one([(G1_GENERATOR, G2_GENERATOR)])
t2 = time.perf_counter()
print(f"{t1 - t0:.2f} {t2 - t1:.2f}")
"""


def timeit(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median, best) wall time in seconds over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times)


def mcl_figures() -> Optional[dict[str, dict[str, float]]]:
    """MCL's timings in seconds per curve block of its test binary ({"BN_SNARK1": {"pairing":
    ..., "millerLoop": ..., "finalExp": ...}, "BN254": ...}), or None without a build (or one
    built with cycle counters)."""
    if not MCL_TEST.exists():
        return None
    out = subprocess.run([str(MCL_TEST)], capture_output=True, text=True, timeout=900,
                         cwd=MCL_TEST.parents[1]).stdout
    parts = re.split(r"^i=\d+ curve=(\S+)\s*$", out, flags=re.M)
    curves: dict[str, dict[str, float]] = {}
    for name, block in zip(parts[1::2], parts[2::2]):
        found = curves.setdefault(name, {})
        for op, value, unit in re.findall(r"^(\S+)\s+([0-9.]+)(nsec|usec|msec|sec)\s*$", block, re.M):
            found.setdefault(op, float(value) * _UNITS[unit])
    return {k: v for k, v in curves.items() if v} or None


def compile_times() -> None:
    """Cold compile (empty NUMBA_CACHE_DIR) then a second process reading that cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("first process (cold compile)", "second process (cached)"):
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", _CHILD], env=env, check=True,
                                 capture_output=True, text=True).stdout.split()
            total = time.perf_counter() - t
            print(f"{label:34s}: import {out[0]} s, first pairing + check {out[1]} s, "
                  f"process total {total:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compile", action="store_true", help="measure cold/cached start")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--no-py-ecc", action="store_true", help="skip the py_ecc contrast")
    args = ap.parse_args()

    import random

    from py_ecc import optimized_bn128 as bn

    from zkmargin.algebra.constants import R
    from zkmargin.algebra.pairing import (
        final_exponentiation,
        g1_to_array,
        g2_to_array,
        miller_loop,
        pairing,
        pairing_check_arrays,
        pairing_product_is_one,
    )

    rnd = random.Random(1)

    def g1(k: int):
        x, y = bn.normalize(bn.multiply(bn.G1, k))
        return int(x.n), int(y.n)

    def g2(k: int):
        x, y = bn.normalize(bn.multiply(bn.G2, k))
        return (int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1]))

    # a valid Groth16-shaped relation: e(-A, B) e(alpha, beta) e(L, gamma) e(C, delta) = 1
    a, b, al, be, l, g, d = (rnd.randrange(1, R) for _ in range(7))
    c = (a * b - al * be - l * g) * pow(d, -1, R) % R
    pairs = [(g1(R - a), g2(b)), (g1(al), g2(be)), (g1(l), g2(g)), (g1(c), g2(d))]
    p0, q0 = pairs[1]

    t = time.perf_counter()
    assert pairing_product_is_one(pairs)
    pairing(p0, q0)
    print(f"first calls in this process (compile or cache load): {time.perf_counter() - t:.2f} s")

    g1a = g1_to_array([p for p, _ in pairs])
    g2a = g2_to_array([q for _, q in pairs])
    n = args.repeat
    med, best = timeit(lambda: pairing(p0, q0), n)
    print(f"pairing (Python ints in/out)      : median {med * 1e3:7.2f} ms  best {best * 1e3:7.2f} ms")
    one_pair = med, best = timeit(lambda: pairing_check_arrays(g1a[1:2], g2a[1:2]), n)
    print(f"1-pair check (arrays)             : median {med * 1e3:7.2f} ms  best {best * 1e3:7.2f} ms")
    med, best = timeit(lambda: pairing_check_arrays(g1a, g2a), n)
    print(f"4-pair product check (arrays)     : median {med * 1e3:7.2f} ms  best {best * 1e3:7.2f} ms"
          "   (target <= 20 ms)")
    med, best = timeit(lambda: pairing_product_is_one(pairs), n)
    print(f"4-pair product check (Python ints): median {med * 1e3:7.2f} ms  best {best * 1e3:7.2f} ms")

    f = miller_loop(g1a[1:2], g2a[1:2])
    # medians: MCL prints the mean of its own timing loop
    ours = {"pairing": one_pair[0],
            "millerLoop": timeit(lambda: miller_loop(g1a[1:2], g2a[1:2]), n)[0],
            "finalExp": timeit(lambda: final_exponentiation(f), n)[0]}
    mcl = mcl_figures() or {}
    same, other = mcl.get("BN_SNARK1", {}), mcl.get("BN254", {})
    if not mcl:
        print("MCL: no build at bench-out/mcl (see this script's docstring): zkmargin figures only")
    print(f"\n{'median of ' + str(n) + ' (MCL: its mean)':34s}  {'zkmargin':>10} {'MCL':>10} {'ratio':>7}   "
          f"{'MCL, the other BN254 curve':>26}")
    for key, label in (("pairing", "one pairing (1-pair check)"), ("millerLoop", "Miller loop"),
                       ("finalExp", "final exponentiation")):
        peer, ref = same.get(key), other.get(key)
        print(f"{label:34s}  {ours[key] * 1e6:7.0f} us "
              + (f"{peer * 1e6:7.0f} us {ours[key] / peer:6.2f}x" if peer else f"{'-':>10} {'-':>7}")
              + (f"   {ref * 1e6:23.0f} us" if ref else ""))

    if not args.no_py_ecc:
        bp, bq = bn.multiply(bn.G1, al), bn.multiply(bn.G2, be)
        med, best = timeit(lambda: bn.pairing(bq, bp), 3)
        print(f"py_ecc optimized_bn128 pairing    : median {med * 1e3:7.1f} ms  best {best * 1e3:7.1f} ms")
    if args.compile:
        compile_times()


if __name__ == "__main__":
    main()
