"""The exact integer evaluators bound the float ones from the safe side, and follow their
documented circuit forms."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zkmargin.margin.market import load_market
from zkmargin.margin.models import compute_margin
from zkmargin.margin.portfolio import parse_portfolio
from zkmargin.margin.quantize import (
    MONEY,
    PS,
    QuantizationError,
    ceil_scaled,
    ceil_sqrt,
    es_certificate_holds,
    floor_scaled,
    int_es,
    int_var,
    integer_margin,
    quantize_quantity,
    round_scaled,
)

SAMPLES = Path(__file__).resolve().parents[1] / "margin" / "samples"
MARKET = load_market(SAMPLES / "market.json")
EXP = ["2024-05-31T08:00:00Z", "2024-06-28T08:00:00Z", "2024-12-27T08:00:00Z"]
USD_TOL = 1e-7   # float evaluator's own rounding noise on these sizes (USD)


def position():
    und = st.sampled_from(["BTC", "ETH"])
    qty = st.integers(-50_000, 50_000).map(lambda k: k / 1000)
    linear = st.builds(lambda t, u, q, e: {"type": t, "underlying": u, "quantity": q,
                                           **({"entry_price": e} if e else {}),
                                           **({"expiry": EXP[1]} if t == "future" else {})},
                       st.sampled_from(["perpetual", "future", "spot"]), und, qty,
                       st.one_of(st.none(), st.floats(1000, 90000)))
    inverse = st.builds(lambda u, q, f: {"type": "inverse_perpetual", "underlying": u, "quantity": q,
                                         "face_value": f, "entry_price": 3000.0},
                        und, st.integers(-5000, 5000), st.sampled_from([1.0, 10.0, 100.0]))
    option = st.builds(lambda u, q, k, r, e: {"type": "option", "underlying": u, "quantity": q,
                                              "strike": k * (68000 if u == "BTC" else 3700), "right": r,
                                              "expiry": e},
                       und, qty, st.floats(0.5, 1.6), st.sampled_from(["call", "put"]), st.sampled_from(EXP))
    return st.one_of(linear, inverse, option)


portfolios = st.builds(lambda ps, usdc, btc: parse_portfolio(
    {"collateral": {"USDC": usdc, "BTC": btc}, "positions": ps}, MARKET),
    st.lists(position(), min_size=1, max_size=8), st.floats(0, 1e6), st.floats(0, 10))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(portfolios, st.sampled_from(["span16", "paradex", "deribit", "es", "var"]))
def test_integer_bounds_float_from_safe_side(pf, model):
    fl = compute_margin(pf, MARKET, model)
    im = integer_margin(pf, MARKET, model)
    tol = USD_TOL * (1 + abs(fl.initial))
    assert im.requirement_usd >= fl.initial - tol
    assert im.equity_usd <= fl.equity.total + USD_TOL * (1 + abs(fl.equity.total))
    # and it is tight: within micro-dollars per unit (VaR: a few USD of rounding)
    slack = 10.0 if model == "var" else 1e-3 * (1 + sum(abs(p.quantity) for p in pf.positions))
    assert im.requirement_usd <= fl.initial + slack + tol


def test_insolvent_float_portfolio_stays_insolvent():
    raw = {"positions": [{"type": "perpetual", "underlying": "BTC", "quantity": -3.0},
                         {"type": "option", "underlying": "BTC", "right": "put", "strike": 60000.0,
                          "expiry": EXP[1], "quantity": -7.5}]}
    pf = parse_portfolio(raw, MARKET)
    for model in ("span16", "paradex", "es", "var"):
        need = compute_margin(pf, MARKET, model)
        short_by_a_cent = need.initial - need.equity.total - 0.01
        pf2 = parse_portfolio({**raw, "collateral": {"USDC": short_by_a_cent}}, MARKET)
        assert compute_margin(pf2, MARKET, model).equity.total < need.initial
        assert not integer_margin(pf2, MARKET, model).solvent
        pf3 = parse_portfolio({**raw, "collateral": {"USDC": short_by_a_cent + 20.0}}, MARKET)
        assert integer_margin(pf3, MARKET, model).solvent


def test_es_certificate_form():
    pf = parse_portfolio({"positions": [{"type": "perpetual", "underlying": "ETH", "quantity": 12.5},
                                        {"type": "option", "underlying": "BTC", "right": "call",
                                         "strike": 72000.0, "expiry": EXP[1], "quantity": -2.0}]}, MARKET)
    im = integer_margin(pf, MARKET, "es")
    res = int_es(im.params, im.account.Q)
    assert es_certificate_holds(im.params, im.account.Q, res.es, res.t)
    assert not es_certificate_holds(im.params, im.account.Q, res.es - 1, res.t)
    for t in (res.t - 10**12, res.t + 10**12, 0):      # any other t never certifies less
        assert not es_certificate_holds(im.params, im.account.Q, res.es - 1, t)


def test_var_circuit_form():
    pf = parse_portfolio({"positions": [{"type": "perpetual", "underlying": "BTC", "quantity": 1.25},
                                        {"type": "perpetual", "underlying": "ETH", "quantity": -30.0}]}, MARKET)
    im = integer_margin(pf, MARKET, "var")
    r = int_var(im.params, im.account.Q)
    assert r.c0 ** 2 * PS >= r.quad > (r.c0 - 1) ** 2 * PS
    assert r.delta_usd == (85000, -111000)
    assert im.requirement == r.var >= r.c0 * MONEY


def test_conversions_are_exact_and_directed():
    assert ceil_scaled(0.1, 10) == 2 and floor_scaled(0.1, 10) == 1    # 0.1 is slightly above 1/10
    assert ceil_scaled(-0.1, 10) == -1 and floor_scaled(-0.1, 10) == -2
    assert round_scaled(2.5, 1) == 3 and ceil_scaled(3.0, 1) == 3
    assert [ceil_sqrt(n) for n in (0, 1, 2, 4, 5, 10**40)] == [0, 1, 2, 2, 3, 10**20]
    assert quantize_quantity(0.1) == 10**7 and quantize_quantity(-1.23456789) == -123456789
    with pytest.raises(QuantizationError):
        quantize_quantity(1e-9)
    with pytest.raises(QuantizationError):
        quantize_quantity(1e10)
