"""span16 inter-commodity spread credits: the float model by hand, the tier order, the caps,
the integer evaluator (conservative, tight, non-decreasing in the scan bounds) and parsing."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zkmargin.margin.credits import SpreadCredit, calibrate_spread_credits, offsets
from zkmargin.margin.errors import InputError
from zkmargin.margin.market import parse_market
from zkmargin.margin.models import compute_margin
from zkmargin.margin.portfolio import parse_portfolio
from zkmargin.margin.quantize import IntSpreadCredits, int_worst_case, integer_margin, quantize_worst_case
from zkmargin.margin.riskarray import risk_array

AS_OF = "2024-05-24T08:00:00Z"
EXP = "2024-06-28T08:00:00Z"
UNDS = {"BTC": {"spot": 68000.0, "vol": 0.55, "price_scan": 0.12},
        "ETH": {"spot": 3700.0, "vol": 0.65, "price_scan": 0.15},
        "SOL": {"spot": 160.0, "vol": 0.8, "price_scan": 0.2}}


def market(credits):
    return parse_market({"as_of": AS_OF, "underlyings": UNDS, "collateral": {"USDC": {"price": 1.0}},
                         "spread_credits": credits})


def perp(u, usd):
    return {"type": "perpetual", "underlying": u, "quantity": round(usd / UNDS[u]["spot"], 6)}


def book(m, *positions, usdc=1e6):
    return parse_portfolio({"collateral": {"USDC": usdc}, "positions": list(positions)}, m)


def test_linear_spread_hand_checked():
    m = market([{"pair": ["BTC", "ETH"], "rate": 0.6}])
    pf = book(m, perp("BTC", 1e6), perp("ETH", -0.6e6))
    res = compute_margin(pf, m, "span16")
    # scan-risk deltas: BTC +0.12·1M = 120k, ETH −0.15·0.6M = −90k: 90k of each offset
    assert res.breakdown["BTC"]["spread_credit"] == pytest.approx(0.6 * 90000, rel=1e-6)
    assert res.breakdown["ETH"]["spread_credit"] == pytest.approx(0.6 * 90000, rel=1e-6)
    assert res.requirement == pytest.approx(120000 + 90000 - 2 * 0.6 * 90000, rel=1e-6)
    assert res.details["spread_credits"][0]["offset_scan_risk"] == pytest.approx(90000, rel=1e-6)
    assert compute_margin(pf, m, "span16", credits=()).requirement == pytest.approx(210000, rel=1e-6)


def test_same_direction_books_get_no_credit():
    m = market([{"pair": ["BTC", "ETH"], "rate": 0.9}])
    pf = book(m, perp("BTC", 1e6), perp("ETH", 0.6e6))
    assert compute_margin(pf, m, "span16").requirement == pytest.approx(120000 + 90000, rel=1e-6)


def test_tiers_use_each_delta_once_in_priority_order():
    pairs = [SpreadCredit("BTC", "ETH", 0.7), SpreadCredit("BTC", "SOL", 0.5)]
    # BTC +120, ETH −50, SOL −100 (scan-risk units): tier 1 takes 50, tier 2 the remaining 70
    assert offsets({"BTC": 120.0, "ETH": -50.0, "SOL": -100.0}, pairs) == [50.0, 70.0]
    assert offsets({"BTC": 120.0, "ETH": -500.0, "SOL": -100.0}, pairs) == [120.0, 0.0]
    m = market([{"pair": ["BTC", "ETH"], "rate": 0.7}, {"pair": ["BTC", "SOL"], "rate": 0.5}])
    pf = book(m, perp("BTC", 1e6), perp("ETH", -50000 / 0.15), perp("SOL", -100000 / 0.2))
    res = compute_margin(pf, m, "span16")
    assert res.breakdown["BTC"]["spread_credit"] == pytest.approx(0.7 * 50000 + 0.5 * 70000, rel=1e-6)
    assert res.breakdown["ETH"]["spread_credit"] == pytest.approx(0.7 * 50000, rel=1e-6)
    assert res.breakdown["SOL"]["spread_credit"] == pytest.approx(0.5 * 70000, rel=1e-6)


def test_credit_capped_by_rate_times_own_scan_risk():
    """A long deep-in-the-money call hedged by a short future: delta ≈ 1 but scan risk small."""
    m = market([{"pair": ["BTC", "ETH"], "rate": 0.8}])
    pf = book(m, {"type": "option", "underlying": "BTC", "right": "put", "strike": 40000.0, "expiry": EXP,
                  "quantity": 10.0}, perp("BTC", 0.0001), perp("ETH", -2e6))
    res = compute_margin(pf, m, "span16")
    b = res.breakdown["BTC"]
    assert b["spread_credit"] <= 0.8 * b["scan"] + 1e-9


def test_floor_still_applies_after_credits():
    u = dict(UNDS, ETH=dict(UNDS["ETH"], short_option_minimum=50.0))
    m = parse_market({"as_of": AS_OF, "underlyings": u, "collateral": {"USDC": {"price": 1.0}},
                      "spread_credits": [{"pair": ["BTC", "ETH"], "rate": 1.0}]})
    pf = book(m, perp("BTC", 1e6), perp("ETH", -0.8e6),
              {"type": "option", "underlying": "ETH", "right": "call", "strike": 9000.0, "expiry": EXP,
               "quantity": -20.0})
    res = compute_margin(pf, m, "span16")
    assert res.breakdown["ETH"]["initial"] >= 50.0 * 20 - 1e-9


def test_parsing_rejects_bad_pairs():
    for bad, field in (([{"pair": ["BTC", "BTC"], "rate": 0.5}], "pair"),
                       ([{"pair": ["BTC", "DOGE"], "rate": 0.5}], "pair"),
                       ([{"pair": ["BTC", "ETH"], "rate": 1.5}], "rate"),
                       ([{"pair": ["BTC", "ETH"], "rate": 0.5}, {"pair": ["ETH", "BTC"], "rate": 0.4}], "pair"),
                       ({"pair": ["BTC", "ETH"]}, "spread_credits")):
        with pytest.raises(InputError) as err:
            market(bad)
        assert err.value.field == field


def test_calibration_formula():
    s1, s2, rho = 0.04, 0.05, 0.8
    cov = np.array([[s1 * s1, rho * s1 * s2], [rho * s1 * s2, s2 * s2]])
    (p,) = calibrate_spread_credits(["A", "B"], cov)
    assert p.rate == pytest.approx(1 - math.sqrt((1 - rho) / 2))
    assert calibrate_spread_credits(["A", "B"], np.array([[1.0, -0.2], [-0.2, 1.0]])) == ()


UNIVERSE = [perp("BTC", 1.0), perp("ETH", 1.0), perp("SOL", 1.0),
            {"type": "option", "underlying": "BTC", "right": "call", "strike": 72000.0, "expiry": EXP, "quantity": 1.0},
            {"type": "option", "underlying": "ETH", "right": "put", "strike": 3400.0, "expiry": EXP, "quantity": 1.0},
            {"type": "future", "underlying": "SOL", "quantity": 1.0, "expiry": EXP}]
CREDITS = [{"pair": ["BTC", "ETH"], "rate": 0.65}, {"pair": ["ETH", "SOL"], "rate": 0.4},
           {"pair": ["BTC", "SOL"], "rate": 0.3}]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(-40_000, 40_000), min_size=6, max_size=6))
def test_integer_credits_bound_the_float_model_and_are_tight(ks):
    m = market(CREDITS)
    positions = [dict(p, quantity=k / 1000 * (1e4 / UNDS[p["underlying"]]["spot"] if p["type"] == "perpetual" else 1))
                 for p, k in zip(UNIVERSE, ks) if k]
    positions = [dict(p, quantity=round(p["quantity"], 6)) for p in positions]
    if not positions:
        return
    pf = book(m, *positions)
    fl = compute_margin(pf, m, "span16")
    im = integer_margin(pf, m, "span16")
    assert im.credits is not None
    tol = 1e-7 * (1 + fl.initial)
    assert im.requirement_usd >= fl.initial - tol
    assert im.requirement_usd <= fl.initial + 1e-3 * (1 + sum(abs(p.quantity) for p in pf.positions))
    # without credits the integer requirement is the old one, never below the credited one
    plain = integer_margin(pf, m, "span16", credits=())
    assert plain.credits is None and plain.requirement >= im.requirement - im.credits.KC * sum(map(abs, im.account.Q))


def test_requirement_is_non_decreasing_in_the_scan_bounds():
    """The circuit's prover chooses m_g ≥ scan_g; evaluate the credit formula at inflated m_g."""
    from zkmargin.margin.quantize import int_spread_credits
    m = market(CREDITS)
    pf = book(m, perp("BTC", 2e6), perp("ETH", -1.5e6), perp("SOL", 0.7e6),
              {"type": "option", "underlying": "BTC", "right": "call", "strike": 72000.0, "expiry": EXP,
               "quantity": -3.0})
    im = integer_margin(pf, m, "span16")
    res = int_worst_case(im.params, im.account.Q, im.credits)
    groups = im.params.instrument_group

    def req(scan):
        credit, _ = int_spread_credits(im.credits, groups, im.account.Q, scan)
        return sum(max(s - c, f) + sh for s, c, f, sh in zip(scan, credit, res.floor, res.short))

    base = req(list(res.scan))
    assert base + res.credit_slack == res.requirement
    rng = np.random.default_rng(0)
    for _ in range(200):
        g = int(rng.integers(0, len(res.scan)))
        for bump in (1, 7, int(rng.integers(1, 10**18))):
            scan = list(res.scan)
            scan[g] += bump
            assert req(scan) >= base


def test_padding_pairs_are_harmless():
    m = market(CREDITS)
    pf = book(m, perp("BTC", 1e6), perp("ETH", -0.6e6))
    im = integer_margin(pf, m, "span16")
    c = im.credits
    padded = IntSpreadCredits(c.pairs + ((0, 0, 0), (1, 1, 0)), c.D, c.PSM, c.CM, c.KC)
    assert int_worst_case(im.params, im.account.Q, padded).requirement == \
        int_worst_case(im.params, im.account.Q, c).requirement


def test_default_integer_semantics_unchanged_without_credits():
    m = parse_market({"as_of": AS_OF, "underlyings": UNDS, "collateral": {"USDC": {"price": 1.0}}})
    pf = book(m, perp("BTC", 1e6), perp("ETH", -0.6e6))
    im = integer_margin(pf, m, "span16")
    assert im.credits is None
    model = quantize_worst_case(risk_array(pf, m, "span16"))
    assert im.requirement == int_worst_case(model, im.account.Q).requirement
