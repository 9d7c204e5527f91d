"""Forwards: the market's forward curve, futures at their forward, options with Black-76 on it,
old market files unchanged, and the Deribit snapshot priced with parity forwards."""

import math
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from zkmargin.margin.chains import Quote, parity_forwards, pricing_errors, read_chain, summarise
from zkmargin.margin.errors import InputError
from zkmargin.margin.market import parse_market
from zkmargin.margin.models import compute_margin
from zkmargin.margin.portfolio import parse_portfolio
from zkmargin.margin.pricing import black76, black_scholes
from zkmargin.margin.quantize import integer_margin
from zkmargin.margin.riskarray import risk_array

#: the real price series (not in the repository): a folder named by $ZKMARGIN_DATA
DATA = Path(os.environ.get("ZKMARGIN_DATA") or "ZKMARGIN_DATA-not-set")
CHAIN = DATA / "deribit_btc_options_2024-05.csv"
AS_OF = "2024-05-24T08:00:00Z"
E1, E2, E3 = "2024-06-28T08:00:00Z", "2024-09-27T08:00:00Z", "2024-07-26T08:00:00Z"


def market(forwards=True, **extra):
    u = {"spot": 68000.0, "vol": 0.55}
    if forwards:
        u["forwards"] = {E1: 69000.0, E2: 72000.0}
    return parse_market({"as_of": AS_OF, "underlyings": {"BTC": u},
                         "collateral": {"USDC": {"price": 1.0}}, **extra})


def tau(e):
    t = datetime.fromisoformat(e.replace("Z", "+00:00"))
    return (t - datetime(2024, 5, 24, 8, tzinfo=timezone.utc)).total_seconds() / (365 * 86400)


def test_forward_curve_pillars_interpolation_extrapolation():
    m = market()
    t1, t2, t3 = (datetime.fromisoformat(e.replace("Z", "+00:00")) for e in (E1, E2, E3))
    assert m.forward("BTC", t1) == pytest.approx(69000.0, rel=1e-15)
    assert m.forward("BTC", t2) == pytest.approx(72000.0, rel=1e-15)
    # between pillars ln(F/S) is linear in tau
    y1, y2 = math.log(69000 / 68000), math.log(72000 / 68000)
    w = (tau(E3) - tau(E1)) / (tau(E2) - tau(E1))
    assert m.forward("BTC", t3) == pytest.approx(68000 * math.exp(y1 + w * (y2 - y1)), rel=1e-12)
    # before the first pillar: linear from (0, 0); after the last: constant carry rate
    early = datetime(2024, 6, 1, 8, tzinfo=timezone.utc)
    te = (early - m.as_of).total_seconds() / (365 * 86400)
    assert m.forward("BTC", early) == pytest.approx(68000 * math.exp(y1 * te / tau(E1)), rel=1e-12)
    late = datetime(2025, 3, 28, 8, tzinfo=timezone.utc)
    tl = (late - m.as_of).total_seconds() / (365 * 86400)
    assert m.forward("BTC", late) == pytest.approx(68000 * math.exp(y2 * tl / tau(E2)), rel=1e-12)
    assert m.forward("BTC", None) == 68000.0
    assert market(forwards=False).forward("BTC", t1) == 68000.0


def test_futures_valued_at_forward_and_options_black76():
    m = market()
    pf = parse_portfolio({"collateral": {"USDC": 1000.0}, "positions": [
        {"type": "future", "underlying": "BTC", "quantity": 2.0, "entry_price": 68500.0, "expiry": E1},
        {"type": "perpetual", "underlying": "BTC", "quantity": -1.0, "entry_price": 68500.0},
        {"type": "option", "underlying": "BTC", "right": "call", "strike": 70000.0, "expiry": E1,
         "quantity": 3.0},
        {"type": "inverse_future", "underlying": "BTC", "quantity": 100.0, "face_value": 10.0,
         "entry_price": 68500.0, "expiry": E1}]}, m)
    eq = compute_margin(pf, m, "cross").equity
    call = float(black76(69000.0, 70000.0, tau(E1), 0.55, True))
    expect = 1000 + 2 * (69000 - 68500) - (68000 - 68500) + 3 * call + 100 * 10 * (69000 / 68500 - 1)
    assert eq.total == pytest.approx(expect, rel=1e-12)
    # span16: a dated future moves with F/S fixed, so its loss is (F/S)·price_scan·S per unit
    pf1 = parse_portfolio({"positions": [{"type": "future", "underlying": "BTC", "quantity": 1.0,
                                          "expiry": E1}]}, m)
    assert compute_margin(pf1, m, "span16").requirement == pytest.approx(0.15 * 69000, rel=1e-12)
    # the option risk array is Black-76 on the moved forward
    ra = risk_array(parse_portfolio({"positions": [{"type": "option", "underlying": "BTC", "right": "put",
                                                     "strike": 65000.0, "expiry": E1, "quantity": -1.0}]}, m), m)
    v0 = black76(69000.0, 65000.0, tau(E1), 0.55, False)
    v1 = black76(69000.0 * (1 - 0.15), 65000.0, tau(E1), 0.55 + 0.10, False)
    assert ra.pnl[0, 12] == pytest.approx(float(v1 - v0), rel=1e-12)     # scenario 13: −1 scan, vol up


def test_old_market_files_unchanged():
    """Without forwards every instrument is valued exactly as before (Black–Scholes on spot)."""
    m = market(forwards=False)
    pf = parse_portfolio({"positions": [
        {"type": "option", "underlying": "BTC", "right": "call", "strike": 70000.0, "expiry": E1, "quantity": -2.0},
        {"type": "future", "underlying": "BTC", "quantity": 1.0, "entry_price": 67000.0, "expiry": E1}]}, m)
    eq = compute_margin(pf, m, "cross").equity
    assert eq.total == -2 * float(black_scholes(68000.0, 70000.0, tau(E1), 0.55, True)) + 1000.0


def test_integer_evaluator_uses_forwards_conservatively():
    m = market()
    pf = parse_portfolio({"collateral": {"USDC": 5e4}, "positions": [
        {"type": "future", "underlying": "BTC", "quantity": -1.5, "entry_price": 68500.0, "expiry": E1},
        {"type": "option", "underlying": "BTC", "right": "put", "strike": 65000.0, "expiry": E1, "quantity": -2.0}]}, m)
    for model in ("span16", "paradex"):
        fl = compute_margin(pf, m, model)
        im = integer_margin(pf, m, model)
        assert fl.equity.total - 1e-6 <= im.equity_usd + 1e-3 and im.equity_usd <= fl.equity.total + 1e-9
        assert im.requirement_usd >= fl.initial - 1e-7 and im.requirement_usd <= fl.initial + 1e-3


def test_forward_field_validation():
    with pytest.raises(InputError, match="forwards"):
        parse_market({"as_of": AS_OF, "underlyings": {"BTC": {"spot": 1.0, "vol": 0.5, "forwards": [1, 2]}}})
    with pytest.raises(InputError, match="before the market as_of"):
        parse_market({"as_of": AS_OF, "underlyings": {"BTC": {"spot": 1.0, "vol": 0.5,
                                                              "forwards": {"2024-01-01T00:00:00Z": 1.0}}}})
    with pytest.raises(InputError) as err:
        parse_market({"as_of": AS_OF, "underlyings": {"BTC": {"spot": 1.0, "vol": 0.5, "forwards": {E1: -3}}}})
    assert err.value.field == E1


def test_parity_forward_recovers_the_forward():
    """Synthetic coin-quoted chain (mark = Black-76 / F): parity gives F back exactly."""
    F, t = 71000.0, 0.2
    exp = datetime(2024, 7, 26, 8, tzinfo=timezone.utc)
    qs = []
    for k in (60000.0, 70000.0, 71000.0, 72000.0, 90000.0):
        for right in ("call", "put"):
            v = float(black76(F, k, t, 0.6, right == "call"))
            qs.append(Quote(right, k, exp, v / F, 0.6, 68000.0))
    assert parity_forwards(qs)[exp] == pytest.approx(F, rel=1e-12)


@pytest.mark.skipif(not CHAIN.exists(), reason="no deribit_btc_options_2024-05.csv in $ZKMARGIN_DATA")
def test_deribit_snapshot_priced_with_parity_forwards():
    quotes = read_chain(CHAIN)
    assert len(quotes) == 578
    res = pricing_errors(quotes)               # as_of: the latest listing time in the file
    s = summarise(res)
    fwd, spot = s["forward"], s["spot"]
    # forwards: a few dollars typically, versus about a thousand with spot as the forward
    assert fwd["abs_usd"]["p50"] < 20 and fwd["abs_usd"]["p90"] < 50
    assert fwd["rel"]["p50"] < 0.005
    assert spot["abs_usd"]["p50"] > 500 and spot["rel"]["p50"] > 0.1
    assert fwd["bp_of_forward"]["max"] < 25
    # forwards rise with maturity (positive basis) and the pairless expiry is interpolated
    f = list(res["forwards"].values())
    assert f[0] > 68700 and max(f) > 76000
    assert [t.date().isoformat() for t in res["interpolated_expiries"]] == ["2024-05-27"]
    assert np.all(np.isfinite(res["err_forward"]))
