"""Solvency-proof benchmark: constraints, proving and verification times for a realistic book.

Book: 64 BTC instruments (spot, perpetual, inverse perpetual, two futures, 59 options over two
expiries and a strike ladder) with seeded random quantities and enough collateral to be solvent,
on the sample market (margin/samples/market.json, 365 days of embedded history).

Configurations (``--only`` picks some):

* span16:  64 instruments × 16 scenarios, 1 underlying group
* es:      64 instruments × 250 historical scenarios (ES 97.5 %)

For each, the three parameter modes are built (constraints, public inputs, build time):
``digest`` (Poseidon digest of private parameters), ``public`` (parameters as public inputs)
and ``constant`` (parameters baked into the key). Proving/verification are timed for the modes
in ``--prove`` (default: constant; digest/public need much larger keys). Verifier cost of the
public mode is measured as the IC multi-scalar multiplication over its public inputs.

Run:  .venv/bin/python benchmarks/bench_solvency.py [--only span16,es] [--prove constant,digest]
Keys come from the DEVELOPMENT-ONLY cache (first run pays the powers of tau and setup).
"""

from __future__ import annotations

import argparse
import json
import random
import time
import warnings
from importlib import resources


def book(n: int = 64, seed: int = 7) -> dict:
    rng = random.Random(seed)
    pos = [{"type": "spot", "underlying": "BTC", "quantity": 2.0},
           {"type": "perpetual", "underlying": "BTC", "quantity": -3.0, "entry_price": 67000.0},
           {"type": "inverse_perpetual", "underlying": "BTC", "quantity": 500, "face_value": 10.0,
            "entry_price": 66000.0},
           {"type": "future", "underlying": "BTC", "quantity": 1.5, "entry_price": 68500.0,
            "expiry": "2024-06-28T08:00:00Z"},
           {"type": "future", "underlying": "BTC", "quantity": -1.0, "entry_price": 69000.0,
            "expiry": "2024-09-27T08:00:00Z"}]
    k = 0
    while len(pos) < n:
        expiry = ("2024-06-28T08:00:00Z", "2024-09-27T08:00:00Z")[k % 2]
        strike = 50000.0 + 2000.0 * ((k // 4) % 21)
        right = ("call", "put")[(k // 2) % 2]
        q = round(rng.uniform(-3, 3), 2) or 0.5
        pos.append({"type": "option", "underlying": "BTC", "right": right, "strike": strike,
                    "expiry": expiry, "quantity": q})
        k += 1
    return {"account": "bench", "collateral": {"USDC": 5_000_000.0, "BTC": 10.0}, "positions": pos}


def _sample(name: str) -> dict:
    return json.loads(resources.files("zkmargin.margin").joinpath("samples", name).read_text())


def main() -> None:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="span16,es")
    ap.add_argument("--prove", default="constant")
    ap.add_argument("--modes", default="digest,public,constant")
    args = ap.parse_args()

    import numpy as np

    from zkmargin.algebra import G1_GEN, g1_array_from_points, msm_g1
    from zkmargin.algebra.field import ints_to_array
    from zkmargin.circuits.margin_circuits import MODEL_CODES, Context, Shape, build_solvency_circuit
    from zkmargin.margin.market import parse_market
    from zkmargin.margin.portfolio import parse_portfolio
    from zkmargin.margin.riskarray import net_positions
    from zkmargin.solvency import make_opening, make_params_file, prove_solvency, setup_keys, verify_bundle

    md = _sample("market.json")
    m = parse_market(md)
    pd = book()
    insts, _ = net_positions(parse_portfolio(pd, m))
    configs = {"span16": ("span16", dict(family="worst_case", groups=1, scenarios=16)),
               "es": ("es", dict(family="es", groups=1, scenarios=250))}
    msm_g1(np.repeat(g1_array_from_points([G1_GEN]), 4, axis=0), ints_to_array([1, 2, 3, 4]))  # compile
    rows = []
    for name in args.only.split(","):
        model, kw = configs[name]
        for mode in args.modes.split(","):
            shape = Shape(instruments=64, assets=3, accounts=1, params=mode, **kw)
            pf = make_params_file("BenchVenue", 20240524, model, insts, md, shape)
            op = make_opening(pd, pf, salt=12345)
            t = time.perf_counter()
            circ = build_solvency_circuit(shape, pf.params, [op.account],
                                          Context(MODEL_CODES[model], 10_000, 1, 20240524, 1))
            build = time.perf_counter() - t
            n_c, n_pub = len(circ.cs.constraints), circ.cs.n_public
            # verifier cost of the public inputs: the IC MSM over n_pub points
            pts = np.repeat(g1_array_from_points([G1_GEN]), n_pub, axis=0)
            sc = ints_to_array([(1 << 250) + 12345 * j for j in range(n_pub)])
            t = time.perf_counter()
            msm_g1(pts, sc)
            ic_ms = (time.perf_counter() - t) * 1000
            row = dict(config=f"{name} 64x{kw['scenarios']}", mode=mode, constraints=n_c,
                       public_inputs=n_pub, vk_points=n_pub + 1, build_s=round(build, 2),
                       ic_msm_ms=round(ic_ms, 1))
            print(row, flush=True)
            if mode in args.prove.split(","):
                t = time.perf_counter()
                keys = setup_keys(shape, model=model, params=pf.params, progress=print)
                row["setup_s"] = round(time.perf_counter() - t, 1)
                times = []
                for _ in range(3):
                    bundle, tm = prove_solvency(pf, keys.pk, [op], nonce=1, buffer_bps=10_000, vk=keys.vk)
                    times.append((tm.build_s, tm.prove_s))
                row["witness_s"] = round(min(b for b, _ in times), 2)
                row["prove_s"] = round(min(p for _, p in times), 2)
                vt = []
                for _ in range(3):
                    t = time.perf_counter()
                    rep = verify_bundle(bundle, keys.vk, pf, allow_unattested=True, nonce=1, epoch=20240524)
                    vt.append(time.perf_counter() - t)
                assert rep.valid, rep.summary()
                row["verify_s"] = round(min(vt), 3)
                print(row, flush=True)
            rows.append(row)
    import os
    print(f"\nload average {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("| config | params | constraints | public inputs | build s | IC MSM ms | witness s | prove s | verify s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['config']} | {r['mode']} | {r['constraints']} | {r['public_inputs']} | {r['build_s']} "
              f"| {r['ic_msm_ms']} | {r.get('witness_s', '-')} | {r.get('prove_s', '-')} | {r.get('verify_s', '-')} |")


if __name__ == "__main__":
    main()
