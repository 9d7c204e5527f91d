"""Synthetic books for benchmarks, tests and demos (never for a real statement).

:func:`venue_instruments` is a small BTC derivatives venue (a perpetual, a dated future, a call
and a put) over the built-in market sample, with USDC and BTC collateral; :func:`portfolios`
draws accounts with a realistic mix: perp-only traders, basis traders (perp against future),
option writers and buyers, collateral-only accounts, and a few undercollateralised accounts
whose shortfall the insurance fund must cover. Quantities are whole multiples of 0.01 (the
trader side never rounds a quantity), amounts of 0.01 USDC / 1e-6 BTC.
"""

from __future__ import annotations

import json
import random
from importlib import resources

INSTRUMENTS = [
    {"type": "perpetual", "underlying": "BTC", "instrument": "BTC-PERP"},
    {"type": "future", "underlying": "BTC", "instrument": "BTC-28JUN24", "expiry": "2024-06-28T08:00:00Z"},
    {"type": "option", "underlying": "BTC", "instrument": "BTC-28JUN24-70000-C", "right": "call",
     "strike": 70000.0, "expiry": "2024-06-28T08:00:00Z"},
    {"type": "option", "underlying": "BTC", "instrument": "BTC-28JUN24-60000-P", "right": "put",
     "strike": 60000.0, "expiry": "2024-06-28T08:00:00Z"},
]
ASSETS = ("USDC", "BTC")


def market_doc() -> dict:
    return json.loads(resources.files("zkmargin.margin").joinpath("samples", "market.json").read_text())


def venue_instruments(market=None):
    from zkmargin.margin.market import parse_market

    from ..params import instruments_from_dicts
    return instruments_from_dicts(INSTRUMENTS, market or parse_market(market_doc()))


def params_file(venue="VenueA", epoch=20240524, *, shape=None):
    """A span16 parameter file for the synthetic venue (shape: 4 instruments, 2 assets, 1 group)."""
    from zkmargin.circuits.margin_circuits import Shape

    from ..params import make_params_file
    shape = shape or Shape("worst_case", 4, 2, 1, 16)
    return make_params_file(venue, epoch, "span16", venue_instruments(), market_doc(), shape, ASSETS)


def _pos(k, q):
    return dict(INSTRUMENTS[k], quantity=round(q, 2))


def portfolios(n: int, seed: int = 1, *, insolvent_share: float = 0.01):
    """``n`` synthetic portfolio documents (account ids ``acct-000000`` ...)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = rng.random()
        pos = []
        usdc = rng.choice([1_000, 5_000, 25_000, 100_000, 500_000]) * rng.uniform(0.5, 2.0)
        btc = rng.choice([0.0, 0.0, 0.1, 0.5, 2.0]) * rng.uniform(0.5, 1.5)
        size = rng.choice([0.01, 0.05, 0.1, 0.5, 1.0, 3.0])
        if kind < 0.35:                        # directional perp trader
            pos = [_pos(0, size * rng.choice([-1, 1]))]
        elif kind < 0.55:                      # basis: long future, short perp
            pos = [_pos(0, -size), _pos(1, size)]
        elif kind < 0.75:                      # option writer, delta hedged with the perp
            pos = [_pos(2, -size), _pos(3, -size), _pos(0, size * 0.2)]
        elif kind < 0.90:                      # option buyer
            pos = [_pos(2 + rng.randrange(2), size)]
        # else: collateral only
        if rng.random() < insolvent_share and pos:       # an undercollateralised account
            usdc, btc = rng.uniform(0, 500), 0.0
        coll = {"USDC": round(usdc, 2)}
        if btc:
            coll["BTC"] = round(btc, 6)
        for p in pos:
            if p["type"] in ("perpetual", "future"):
                p["entry_price"] = round(67_000 + rng.uniform(-3_000, 3_000), 1)
        out.append({"account": f"acct-{i:06d}", "collateral": coll, "positions": [p for p in pos if p["quantity"]]})
    return out


def write_jsonl(path, docs) -> None:
    from zkmargin.formats import jsonio as jio
    jio.write_bytes(path, ("\n".join(json.dumps(d, separators=(",", ":")) for d in docs) + "\n").encode())


__all__ = ["INSTRUMENTS", "ASSETS", "market_doc", "venue_instruments", "params_file", "portfolios", "write_jsonl"]
