"""Every margin model on small hand-checked portfolios, and the ordering isolated ≥ cross ≥ portfolio."""

import math

import numpy as np
import pytest

from zkmargin.margin.errors import ModelError
from zkmargin.margin.market import parse_market
from zkmargin.margin.models import compute_margin
from zkmargin.margin.portfolio import parse_portfolio
from zkmargin.margin.pricing import black_scholes, norm_ppf
from zkmargin.margin.riskarray import risk_array
from zkmargin.margin.tiers import BINANCE_BTCUSDT
from zkmargin.margin.var import hs_var_es

EXP = "2024-06-28T08:00:00Z"
TAU = 35 / 365


def market(**extra):
    m = {
        "as_of": "2024-05-24T08:00:00Z",
        "underlyings": {
            "BTC": {"spot": 68000.0, "vol": 0.55, "price_scan": 0.15, "vol_scan": 0.10},
            "ETH": {"spot": 3700.0, "vol": 0.65, "price_scan": 0.18, "vol_scan": 0.12,
                    "short_option_minimum": 5.0},
        },
        "collateral": {"USDC": {"price": 1.0, "haircut": 0.0}, "BTC": {"price": 68000.0, "haircut": 0.1}},
        "covariance": {"underlyings": ["BTC", "ETH"],
                       "matrix": [[0.035**2, 0.8 * 0.035 * 0.045], [0.8 * 0.035 * 0.045, 0.045**2]]},
    }
    m.update(extra)
    return parse_market(m)


def book(*positions, collateral=None):
    mk = market()
    return parse_portfolio({"account": "t", "collateral": collateral or {"USDC": 100000.0},
                            "positions": list(positions)}, mk), mk


def perp(q, und="BTC", **kw):
    return {"type": "perpetual", "underlying": und, "quantity": q, **kw}


def test_equity_with_haircuts_and_marks():
    pf, mk = book(perp(-2.0, entry_price=67000.0),
                  {"type": "inverse_perpetual", "underlying": "BTC", "quantity": 1000, "face_value": 10.0,
                   "entry_price": 66000.0},
                  {"type": "spot", "underlying": "BTC", "quantity": 0.5},
                  collateral={"USDC": 1000.0, "BTC": 1.5})
    eq = compute_margin(pf, mk, "cross").equity
    expect = 1000 + 1.5 * 68000 * 0.9 - 2 * (68000 - 67000) + 1000 * 10 * (68000 / 66000 - 1) + 0.5 * 68000
    assert eq.total == pytest.approx(expect)


def test_span16_linear_inverse_and_hedge():
    pf, mk = book(perp(1.0))
    assert compute_margin(pf, mk, "span16").requirement == pytest.approx(0.15 * 68000)
    pf, mk = book(perp(-1.0))
    r = compute_margin(pf, mk, "span16")
    assert r.requirement == pytest.approx(0.15 * 68000) and r.breakdown["BTC"]["worst_scenario"] == "BTC#11"
    pf, mk = book({"type": "inverse_perpetual", "underlying": "BTC", "quantity": 1000, "face_value": 10.0})
    assert compute_margin(pf, mk, "span16").requirement == pytest.approx(1000 * 10 * 0.15)
    pf, mk = book(perp(-1.0), {"type": "spot", "underlying": "BTC", "quantity": 1.0})
    assert compute_margin(pf, mk, "span16").requirement == pytest.approx(0.0, abs=1e-9)


def test_span16_extreme_scenario_wins_for_short_otm_option():
    # short deep OTM put: the −2×scan move at 35 % cover dominates the ±1 scan moves
    pf, mk = book({"type": "option", "underlying": "BTC", "right": "put", "strike": 45000.0,
                   "expiry": EXP, "quantity": -1.0})
    v0 = black_scholes(68000, 45000, TAU, 0.55, False)
    losses = [black_scholes(68000 * (1 + p * 0.15), 45000, TAU, max(0.55 + v * 0.10, 0.01), False) - v0
              for p in (0, 1 / 3, -1 / 3, 2 / 3, -2 / 3, 1, -1) for v in (1, -1)]
    losses += [0.35 * (black_scholes(68000 * (1 + s * 0.30), 45000, TAU, 0.55, False) - v0) for s in (1, -1)]
    res = compute_margin(pf, mk, "span16")
    assert res.requirement == pytest.approx(max(losses), rel=1e-12)
    assert res.breakdown["BTC"]["worst_scenario"] == "BTC#16"


def test_span16_short_option_minimum_and_sum_over_underlyings():
    far = {"type": "option", "underlying": "ETH", "right": "call", "strike": 20000.0, "expiry": EXP,
           "quantity": -20.0}
    pf, mk = book(far, perp(1.0))
    res = compute_margin(pf, mk, "span16")
    assert res.breakdown["ETH"]["initial"] == pytest.approx(5.0 * 20)      # SOM × short contracts
    assert res.breakdown["BTC"]["initial"] == pytest.approx(10200.0)
    assert res.requirement == pytest.approx(10200.0 + 100.0)              # no netting across products


def test_risk_array_shape_and_losses():
    pf, mk = book(perp(1.0), perp(2.0, "ETH"))
    ra = risk_array(pf, mk, "span16")
    assert ra.pnl.shape == (2, 32) and list(ra.underlyings) == ["BTC", "ETH"]
    assert ra.pnl[0, 16:].tolist() == [0.0] * 16          # BTC perp flat in ETH scenarios
    assert ra.pnl[0, 10] == pytest.approx(0.15 * 68000)   # scenario 11: +1 scan
    assert ra.pnl[0, 14] == pytest.approx(0.35 * 0.30 * 68000)
    assert ra.losses()[16:].max() == pytest.approx(2 * 0.18 * 3700)
    assert ra.losses()[:16].max() == pytest.approx(0.15 * 68000)


def test_tiers_binance_formula():
    t = BINANCE_BTCUSDT
    assert t.maintenance(100000) == pytest.approx(100000 * 0.005 - 50)   # cum_2 = 50k·(0.5 %−0.4 %)
    assert t.cum()[:3] == pytest.approx([0.0, 50.0, 1300.0])
    assert t.maintenance(2e6) == pytest.approx(2e6 * 0.025 - (1e6 * 0.015 + 1300))
    assert t.initial(100000) == pytest.approx(50000 / 125 + 50000 / 100)


def test_cross_and_isolated_hand_checked():
    pf, mk = book(perp(1.0, entry_price=70000.0), perp(0.5, entry_price=60000.0))
    cross = compute_margin(pf, mk, "cross")
    n = 1.5 * 68000
    assert cross.maintenance == pytest.approx(n * 0.005 - 50)                 # netted: one instrument
    iso = compute_margin(pf, mk, "isolated")
    mm1 = 68000 * 0.005 - 50
    assert iso.maintenance == pytest.approx(max(mm1, -2000.0) + max(34000 * 0.004, 0.5 * 8000))


def test_short_option_standard_margin():
    pf, mk = book({"type": "option", "underlying": "BTC", "right": "call", "strike": 75000.0,
                   "expiry": EXP, "quantity": -2.0})
    res = compute_margin(pf, mk, "cross")
    mark = black_scholes(68000, 75000, TAU, 0.55, True)
    assert res.initial == pytest.approx(2 * (max(0.15 - 7000 / 68000, 0.10) * 68000 + mark))
    assert res.maintenance == pytest.approx(2 * (0.075 * 68000 + mark))


def test_paradex_grid_hand_checked():
    pf, mk = book(perp(1.0))
    res = compute_margin(pf, mk, "paradex")
    assert res.initial == pytest.approx(0.16 * 68000)       # −16 % beats −66 %×24 % and 2 % delta
    assert res.maintenance == pytest.approx(0.5 * 0.16 * 68000)
    # delta-neutral book: the min-delta scenarios give 0, scan 0
    pf, mk = book(perp(1.0), {"type": "spot", "underlying": "BTC", "quantity": -1.0})
    assert compute_margin(pf, mk, "paradex").initial == pytest.approx(0.0, abs=1e-9)


def test_deribit_contingency_per_short_option():
    opt = {"type": "option", "underlying": "BTC", "right": "call", "strike": 200000.0, "expiry": EXP,
           "quantity": -3.0}
    pf, mk = book(opt)
    res = compute_margin(pf, mk, "deribit")
    assert res.breakdown["BTC"]["contingency"] == pytest.approx(3 * 0.01 * 68000)


def test_delta_normal_var_hand_checked():
    pf, mk = book(perp(1.0))
    z = norm_ppf(0.99)
    assert compute_margin(pf, mk, "var").requirement == pytest.approx(z * 68000 * 0.035)
    pf, mk = book(perp(1.0), perp(-10.0, "ETH"))
    d = np.array([68000.0, -37000.0])
    cov = np.array([[0.035**2, 0.8 * 0.035 * 0.045], [0.8 * 0.035 * 0.045, 0.045**2]])
    res = compute_margin(pf, mk, "var", horizon_days=4)
    assert res.requirement == pytest.approx(z * 2 * math.sqrt(d @ cov @ d))
    assert res.details["diversification"] > 0


def test_hs_var_es_formula():
    L = np.arange(1.0, 101.0)       # losses 1..100
    var, es = hs_var_es(L, 0.95)    # k = 5: VaR = 6th largest = 95, ES = mean of 5 worst = 98
    assert var == 95.0 and es == pytest.approx(98.0)
    var, es = hs_var_es(L, 0.975)   # k = 2.5: t = 3rd largest = 98; ES = 98 + (2+1)/2.5
    assert var == 98.0 and es == pytest.approx(98 + 3 / 2.5)


def test_historical_models_need_history():
    pf, mk = book(perp(1.0))
    with pytest.raises(ModelError, match="history"):
        compute_margin(pf, mk, "es")


def test_es_with_embedded_history():
    dates = [f"2024-01-{d:02d}" for d in range(1, 22)]
    closes = [100.0 * (1.01 ** k) for k in range(21)]
    closes[10] = closes[9] * 0.8     # one −20 % day, then recovery
    mk = market(history={"dates": dates, "closes": {"BTC": closes, "ETH": closes}})
    pf = parse_portfolio({"positions": [perp(1.0)]}, mk)
    res = compute_margin(pf, mk, "es", alpha=0.95)        # 20 returns, k = 1: worst loss
    assert res.requirement == pytest.approx(68000 * (1 - 0.8), rel=1e-9)


@pytest.mark.parametrize("pm", ["span16", "paradex", "var"])
def test_isolated_ge_cross_ge_portfolio_for_hedged_books(pm):
    books = [
        [perp(2.0), {"type": "future", "underlying": "BTC", "quantity": -2.0, "expiry": EXP}],
        [perp(1.0, entry_price=60000.0), {"type": "spot", "underlying": "BTC", "quantity": -1.0},
         perp(-10.0, "ETH"), perp(4.0, "ETH"), perp(6.0, "ETH")],
        [{"type": "inverse_perpetual", "underlying": "BTC", "quantity": 6800, "face_value": 10.0},
         perp(-1.0)],
    ]
    for positions in books:
        pf, mk = book(*positions)
        iso = compute_margin(pf, mk, "isolated").maintenance
        cross = compute_margin(pf, mk, "cross").maintenance
        port = compute_margin(pf, mk, pm).maintenance
        assert iso >= cross >= port, (positions, iso, cross, port)
