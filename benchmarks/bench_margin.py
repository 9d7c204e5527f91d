"""Benchmark: span16 and historical ES for 10,000 accounts × 50 instruments.

Run: .venv/bin/python benchmarks/bench_margin.py [--accounts N] [--instruments M] [--scenarios S]

A synthetic universe (5 underlyings; perpetuals, futures, inverse perpetuals and options), a
random dense quantity matrix, S historical scenarios (synthetic fat-tailed returns). Times the
risk-array build (once per day for a venue) and the per-account evaluation separately; the
target is ≤ 1 s for the evaluation of all accounts.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta, timezone

import numpy as np

from zkmargin.margin.batch import es_batch, worst_case_batch
from zkmargin.margin.instruments import Instrument
from zkmargin.margin.market import Market, UnderlyingParams
from zkmargin.margin.riskarray import historical_risk_array, span16_risk_array, worst_case_by_group


def universe(n_instr: int, rng: np.random.Generator):
    as_of = datetime(2024, 5, 24, 8, tzinfo=timezone.utc)
    spots = {"BTC": 68000.0, "ETH": 3700.0, "SOL": 165.0, "XRP": 0.52, "DOGE": 0.16}
    market = Market(as_of, {u: UnderlyingParams(spot=s, vol=0.5 + 0.1 * k) for k, (u, s) in enumerate(spots.items())})
    kinds = ["perpetual", "future", "inverse_perpetual", "option", "option", "option"]
    instruments = []
    for k in range(n_instr):
        u = list(spots)[k % len(spots)]
        kind = kinds[(k // len(spots)) % len(kinds)]
        expiry = as_of + timedelta(days=int(rng.integers(2, 180)))
        strike = spots[u] * float(rng.uniform(0.6, 1.5))
        instruments.append(Instrument(
            kind=kind, underlying=u, name=f"{u}-{k}",
            expiry=expiry if kind in ("future", "option") else None,
            strike=strike if kind == "option" else None,
            right=("call" if k % 2 else "put") if kind == "option" else None,
            face_value=10.0 if kind == "inverse_perpetual" else None))
    return market, instruments, list(spots)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=10_000)
    ap.add_argument("--instruments", type=int, default=50)
    ap.add_argument("--scenarios", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    market, instruments, unds = universe(args.instruments, rng)
    Q = np.round(rng.normal(0, 5, size=(args.accounts, args.instruments)), 3)

    t0 = time.perf_counter()
    ra = span16_risk_array(instruments, np.zeros(args.instruments), market)
    t_build_span = time.perf_counter() - t0
    returns = rng.standard_t(3, size=(args.scenarios, len(unds))) * 0.03
    t0 = time.perf_counter()
    rh = historical_risk_array(instruments, np.zeros(args.instruments), market,
                               [f"d{k}" for k in range(args.scenarios)], unds, returns)
    t_build_hist = time.perf_counter() - t0

    def best(fn):
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t)
        return min(times), out

    t_span, span = best(lambda: worst_case_batch(ra, Q))
    t_es, es = best(lambda: es_batch(rh, Q, 0.975))
    # spot check against the single-account path
    one = worst_case_by_group(ra, Q[7])["requirement"].sum()
    assert abs(one - span[7]) <= 1e-6 * (1 + one)

    print(f"accounts={args.accounts} instruments={args.instruments} underlyings={len(unds)}")
    print(f"span16: risk array build {t_build_span * 1e3:.1f} ms ({ra.pnl.shape[1]} scenarios); "
          f"evaluation {t_span * 1e3:.1f} ms  (mean requirement {span.mean():,.0f} USD)")
    print(f"ES 97.5%: risk array build {t_build_hist * 1e3:.1f} ms ({args.scenarios} scenarios, full revaluation); "
          f"evaluation {t_es * 1e3:.1f} ms  (mean ES {es.mean():,.0f} USD)")


if __name__ == "__main__":
    main()
