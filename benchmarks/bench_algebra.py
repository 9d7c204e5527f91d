"""Benchmarks of the BN254 algebra core, beside py_ecc for contrast.

Prints: F_r and F_q multiply (ns/op, dependent chain; the F_q multiply of both engines -- the
portable IR and, on a CPU with BMI2/ADX, the MULX/ADCX/ADOX assembly -- and independent
multiplies, as a throughput figure), the F_q2 multiply and square with lazy reduction beside
the same built from F_q multiplies, G1 MSM at 2^14 and 2^16, G2 MSM at
2^14, NTT at 2^16, one pairing, a 4-pair product check -- all after compilation -- and the same
operations timed with py_ecc (extrapolated where a full py_ecc run would take minutes).

    .venv/bin/python benchmarks/bench_algebra.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import time

import numba as nb

from zkmargin.algebra import (
    G1_GEN,
    G2_GEN,
    g1_fixed_base_muls,
    g1_mul,
    g2_fixed_base_muls,
    g2_mul,
    ints_to_array,
    mont,
    msm_g1,
    msm_g2,
    ntt,
    pairing_product_is_one,
)
from zkmargin.algebra.constants import Q, R
from zkmargin.algebra.field import fe_load, fq_mul, fq_vec_to_mont, fr_mul, fr_vec_to_mont
from zkmargin.algebra.fq2 import (
    fq2_mul,
    fq2_mul_by_parts,
    fq2_mul_xi,
    fq2_mul_xi_by_parts,
    fq2_sqr,
    fq2_sqr_by_parts,
)


@nb.njit(cache=True)
def _chain_fq(a, b, n):
    for _ in range(n):
        a = fq_mul(a, b)
    return a


@nb.njit(cache=True)
def _chain_fr(a, b, n):
    for _ in range(n):
        a = fr_mul(a, b)
    return a


def _engine_loops(engine: str):
    """(dependent chain, four independent chains) of F_q multiplies with one engine; compiled
    here, not cached."""
    mul = mont.make_field_intrinsics(Q, mul_engine=engine)[0]

    @nb.njit
    def chain(a, b, n):
        for _ in range(n):
            a = mul(a, b)
        return a

    @nb.njit
    def independent(a, b, c, d, e, n):
        for _ in range(n):
            a, b, c, d = mul(a, e), mul(b, e), mul(c, e), mul(d, e)
        return a, b, c, d

    return chain, independent


def engine_rows(a, b) -> dict:
    """F_q multiply per engine, interleaved so that the machine's load falls on both alike."""
    engines = ["ir"] + (["adx"] if mont.host_has_adx() else [])
    loops = {e: _engine_loops(e) for e in engines}
    n = 2_000_000
    best = {(e, kind): float("inf") for e in engines for kind in (0, 1)}
    for e, (chain, independent) in loops.items():
        chain(a, b, 10), independent(a, b, a, b, a, 10)
    for _ in range(3):
        for e, (chain, independent) in loops.items():
            best[e, 0] = min(best[e, 0], best_of(lambda: chain(a, b, n), 1) / n)
            best[e, 1] = min(best[e, 1], best_of(lambda: independent(a, b, a, b, a, n // 4), 1) / n)
    rows = {}
    for e in engines:
        ratio = "" if e == "ir" else f"  ({best[e, 0] / best['ir', 0]:.2f}x / {best[e, 1] / best['ir', 1]:.2f}x the IR engine)"
        rows[f"Fq multiply, {e} engine (chain / independent)"] = \
            f"{best[e, 0] * 1e9:.1f} / {best[e, 1] * 1e9:.1f} ns/op{ratio}"
    return rows


@nb.njit(cache=True)
def _chain_fq2(a, b, n, op, by_parts):
    """n dependent F_q2 operations: op 0 multiply by b, 1 square, 2 multiply by xi."""
    for _ in range(n):
        if op == 1:
            a = fq2_sqr_by_parts(a) if by_parts else fq2_sqr(a)
        elif op == 2:
            a = fq2_mul_xi_by_parts(a) if by_parts else fq2_mul_xi(a)
        else:
            a = fq2_mul_by_parts(a, b) if by_parts else fq2_mul(a, b)
    return a


_FQ2_OPS = ((0, "multiply", "lazy reduction / from Fq multiplies"),
            (1, "square", "lazy reduction / from Fq multiplies"),
            (2, "multiply by xi", "one reduction / from Fq additions"))


def fq2_rows(a, b) -> dict:
    """F_q2 multiply, square and multiply by xi = 9 + u, dependent chains: what the kernels use
    beside the reference built from F_q operations, interleaved."""
    x, y = (a, b), (b, a)
    n = 1_000_000
    best = {(op, parts): float("inf") for op, _, _ in _FQ2_OPS for parts in (False, True)}
    for key in best:
        _chain_fq2(x, y, 10, *key)
    for _ in range(3):
        for key in best:
            best[key] = min(best[key], best_of(lambda: _chain_fq2(x, y, n, *key), 1) / n)
    rows = {}
    for op, name, how in _FQ2_OPS:
        fast, parts = best[op, False], best[op, True]
        rows[f"Fq2 {name}, {how}"] = f"{fast * 1e9:.1f} / {parts * 1e9:.1f} ns/op  ({fast / parts:.2f}x)"
    return rows


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the 2^16 sizes")
    args = ap.parse_args()
    rng = random.Random(1)
    print(f"threads: {nb.get_num_threads()}; field multiply engine: {mont.default_mul_engine()}")

    rows = {}
    vals = ints_to_array([rng.randrange(R), rng.randrange(R)])
    for name, conv, chain in (("Fq", fq_vec_to_mont, _chain_fq), ("Fr", fr_vec_to_mont, _chain_fr)):
        m = conv(vals)
        a, b = fe_load(m, 0), fe_load(m, 1)
        chain(a, b, 10)
        n = 5_000_000
        t = best_of(lambda: chain(a, b, n))
        rows[f"{name} multiply"] = f"{t / n * 1e9:.1f} ns/op"
        if name == "Fq":
            rows.update(engine_rows(a, b))
            rows.update(fq2_rows(a, b))

    sizes = [14] if args.quick else [14, 16]
    n_max = 1 << max(sizes)
    scalars = ints_to_array([rng.randrange(R) for _ in range(n_max)])
    points = g1_fixed_base_muls(G1_GEN, ints_to_array([rng.randrange(1, R) for _ in range(n_max)]))
    msm_g1(points[:64], scalars[:64])
    for k in sizes:
        t = best_of(lambda: msm_g1(points[:1 << k], scalars[:1 << k]))
        rows[f"G1 MSM 2^{k}"] = f"{t:.3f} s"
    # a witness-like vector: mostly 0/1 and small values, a few full-size
    wit = [rng.choice([0, 0, 1, 1, 1, rng.randrange(1 << 16)]) if rng.random() > 0.02 else rng.randrange(R)
           for _ in range(n_max)]
    t = best_of(lambda: msm_g1(points, ints_to_array(wit)))
    rows[f"G1 MSM 2^{max(sizes)} witness-like scalars"] = f"{t:.3f} s"

    g2_points = g2_fixed_base_muls(G2_GEN, ints_to_array([rng.randrange(1, R) for _ in range(1 << 14)]))
    msm_g2(g2_points[:64], scalars[:64])
    t = best_of(lambda: msm_g2(g2_points, scalars[:1 << 14]), repeat=2)
    rows["G2 MSM 2^14"] = f"{t:.3f} s"

    v = ints_to_array([rng.randrange(R) for _ in range(1 << 16)])
    ntt(v[:4])
    rows["NTT 2^16"] = f"{best_of(lambda: ntt(v)) * 1e3:.1f} ms"

    p = g1_mul(G1_GEN, 12345)
    q = g2_mul(G2_GEN, 67890)
    pairs4 = [(p, q), (g1_mul(p, R - 1), q), (G1_GEN, G2_GEN), (g1_mul(G1_GEN, R - 1), G2_GEN)]
    assert pairing_product_is_one(pairs4)
    rows["one pairing (product check of 1 pair)"] = f"{best_of(lambda: pairing_product_is_one([(p, q)]), 5) * 1e3:.2f} ms"
    rows["4-pair product check"] = f"{best_of(lambda: pairing_product_is_one(pairs4), 5) * 1e3:.2f} ms"

    # py_ecc contrast
    from py_ecc import optimized_bn128 as pe
    k = rng.randrange(R)
    t_mul = best_of(lambda: pe.multiply(pe.G1, k), 3)
    t_mul2 = best_of(lambda: pe.multiply(pe.G2, k), 1)
    t_pair = best_of(lambda: pe.pairing(pe.G2, pe.G1), 1)
    pe_rows = {
        "py_ecc G1 scalar multiply": f"{t_mul * 1e3:.1f} ms",
        "py_ecc G1 MSM 2^16 (naive, extrapolated)": f"{t_mul * (1 << 16):.0f} s",
        "py_ecc G2 MSM 2^14 (naive, extrapolated)": f"{t_mul2 * (1 << 14):.0f} s",
        "py_ecc pairing": f"{t_pair * 1e3:.0f} ms",
        "py_ecc 4-pair check (4 Miller loops + 1 final exp, est.)": f"{t_pair * 1e3 * 3.2:.0f} ms",
    }
    width = max(len(k) for k in list(rows) + list(pe_rows))
    print("zkmargin (compiled):")
    for k, val in rows.items():
        print(f"  {k:<{width}}  {val}")
    print("py_ecc (reference):")
    for k, val in pe_rows.items():
        print(f"  {k:<{width}}  {val}")


if __name__ == "__main__":
    main()
