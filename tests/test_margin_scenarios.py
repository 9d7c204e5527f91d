"""Vol-aware, filtered and stressed historical scenarios; Monte Carlo scenarios; the models
and the integer evaluator built on them."""

import math
from dataclasses import replace

import numpy as np
import pytest

from zkmargin.margin.errors import InputError, ModelError
from zkmargin.margin.historical import (
    LEGACY,
    HistoricalConfig,
    fit_student_t,
    historical_scenarios,
    monte_carlo_scenarios,
    parse_historical_config,
)
from zkmargin.margin.history import PriceHistory, VolIndexHistory, ewma_vol_path
from zkmargin.margin.market import parse_market
from zkmargin.margin.models import W_FROZEN_VOL, W_LINEAR_OPTIONS, compute_margin
from zkmargin.margin.portfolio import parse_portfolio
from zkmargin.margin.pricing import black76
from zkmargin.margin.quantize import integer_margin

AS_OF = "2024-05-24T08:00:00Z"
EXP = "2024-06-23T08:00:00Z"


def days(n, start="2023-01-01"):
    from datetime import date, timedelta
    d0 = date.fromisoformat(start)
    return [(d0 + timedelta(days=k)).isoformat() for k in range(n)]


def history(n=300, seed=1, vol=0.03, names=("BTC",)):
    rng = np.random.default_rng(seed)
    r = rng.standard_t(4, size=(n - 1, len(names))) * vol / math.sqrt(2)
    closes = 100.0 * np.exp(np.vstack([np.zeros(len(names)), np.cumsum(r, axis=0)]))
    return PriceHistory(tuple(days(n)), tuple(names), closes)


def vol_index(h, seed=2):
    rng = np.random.default_rng(seed)
    lv = 0.6 * np.exp(np.cumsum(rng.normal(0, 0.04, len(h.dates))))
    return VolIndexHistory({"BTC": (h.dates, lv)})


def market(h, **extra):
    doc = {"as_of": AS_OF, "underlyings": {"BTC": {"spot": 100.0, "vol": 0.6}},
           "history": {"dates": list(h.dates), "closes": {u: h.column(u).tolist() for u in h.names}}}
    doc.update(extra)
    return parse_market(doc)


STRANGLE = [{"type": "option", "underlying": "BTC", "right": "put", "strike": 90.0, "expiry": EXP, "quantity": -100.0},
            {"type": "option", "underlying": "BTC", "right": "call", "strike": 110.0, "expiry": EXP, "quantity": -100.0}]


def test_index_vol_moves_are_log_changes_of_the_index_on_the_return_dates():
    h = history(60)
    vh = vol_index(h)
    sc = historical_scenarios(h, HistoricalConfig(vol_moves="index"), vol_history=vh)
    lv = vh.series["BTC"][1]
    assert sc.vol_moves[:, 0] == pytest.approx(np.log(lv[1:] / lv[:-1]))
    assert sc.returns[:, 0] == pytest.approx(h.log_returns()[:, 0])
    # a missing index day is an error naming the date
    d, v = vh.series["BTC"]
    holey = VolIndexHistory({"BTC": (d[:30] + d[31:], np.concatenate([v[:30], v[31:]]))})
    with pytest.raises(InputError, match=d[30]):
        historical_scenarios(h, HistoricalConfig(vol_moves="index"), vol_history=holey)
    with pytest.raises(ModelError, match="needs a vol-index history"):
        historical_scenarios(h, HistoricalConfig(vol_moves="index"))


def test_proxy_vol_moves_follow_the_ewma_vol():
    h = history(80)
    sc = historical_scenarios(h, HistoricalConfig(vol_moves="proxy", lam=0.94))
    sig = ewma_vol_path(h.log_returns(), 0.94, 0.01 / math.sqrt(365))[:, 0]
    assert sc.vol_moves[:, 0] == pytest.approx(np.log(sig[1:] / sig[:-1]))
    # the move is the EWMA update of that day's standardised return: ½ ln(λ + (1 − λ) z²)
    z = h.log_returns()[:, 0] / sig[:-1]
    assert sc.vol_moves[:, 0] == pytest.approx(0.5 * np.log(0.94 + 0.06 * z * z))


def test_filtered_returns_are_rescaled_to_todays_vol():
    h = history(120)
    sc = historical_scenarios(h, HistoricalConfig(filtered=True, lookback=50))
    r = h.log_returns()[:, 0]
    sig = ewma_vol_path(r, 0.94, 0.01 / math.sqrt(365))[:, 0]
    assert len(sc) == 50
    assert sc.returns[:, 0] == pytest.approx(r[-50:] * sig[-1] / sig[-51:-1])


def test_stress_period_is_always_in_and_counted_once():
    h = history(300)
    stress = (h.dates[10], h.dates[19])                 # returns ending on days 10..19
    sc = historical_scenarios(h, HistoricalConfig(lookback=100, stress=stress, filtered=True))
    assert len(sc) == 110 and sc.n_stress == 10
    assert sc.returns[-10:, 0] == pytest.approx(h.log_returns()[9:19, 0])      # unfiltered
    inside = historical_scenarios(h, HistoricalConfig(lookback=100, stress=(h.dates[-5], h.dates[-1])))
    assert len(inside) == 100 and inside.n_stress == 0
    with pytest.raises(InputError, match="stress period"):
        historical_scenarios(h, HistoricalConfig(stress=("2030-01-01", "2030-01-31")))


def test_history_after_as_of_rejected():
    h = history(30)
    with pytest.raises(InputError, match="after the market as_of"):
        historical_scenarios(h, LEGACY, as_of=h.dates[-2])


def test_sticky_strike_scales_each_options_own_vol():
    h = history(60)
    m = market(h)
    vh = vol_index(h)
    legs = [dict(STRANGLE[0], vol=0.8), STRANGLE[1]]
    pf = parse_portfolio({"positions": legs}, m)
    from zkmargin.margin.models import historical_array
    ra = historical_array(pf, m, h, config=HistoricalConfig(vol_moves="index"), vol_history=vh)
    v = np.log(vh.series["BTC"][1][1:] / vh.series["BTC"][1][:-1])
    S1 = 100.0 * np.exp(h.log_returns()[:, 0])
    t = (30 * 86400) / (365 * 86400)
    put = black76(S1, 90.0, t, 0.8 * np.exp(v), False) - black76(100.0, 90.0, t, 0.8, False)
    call = black76(S1, 110.0, t, 0.6 * np.exp(v), True) - black76(100.0, 110.0, t, 0.6, True)
    assert ra.pnl[0] == pytest.approx(put, rel=1e-12) and ra.pnl[1] == pytest.approx(call, rel=1e-12)


def test_vol_moves_raise_a_short_strangles_es_and_warnings():
    h = history(400, seed=5)
    m = market(h)
    pf = parse_portfolio({"positions": STRANGLE}, m)
    frozen = compute_margin(pf, m, "es")
    moved = compute_margin(pf, m, "es", historical=HistoricalConfig(vol_moves="proxy"))
    assert moved.requirement > frozen.requirement
    assert W_FROZEN_VOL in frozen.details["warnings"] and "warnings" not in moved.details
    assert moved.details["scenario_policy"]["vol_moves"] == "proxy"
    assert W_LINEAR_OPTIONS in compute_margin(pf, m, "var").details["warnings"]
    assert compute_margin(pf, m, "var").details["model_class"] == "linear (delta-normal)"


def test_market_historical_block_sets_the_policy():
    h = history(200)
    block = {"vol_moves": "proxy", "filtered": True, "lookback": 120, "stress": [h.dates[5], h.dates[9]]}
    m = market(h, historical=block)
    assert m.historical == parse_historical_config(block)
    pf = parse_portfolio({"positions": STRANGLE}, m)
    res = compute_margin(pf, m, "es")
    assert res.details["scenarios"] == 125 and res.details["scenario_policy"]["filtered"] is True


def test_integer_evaluator_follows_the_same_scenarios():
    h = history(300, seed=9)
    m = market(h, historical={"vol_moves": "proxy", "filtered": True},
               collateral={"USDC": {"price": 1.0}})
    pf = parse_portfolio({"collateral": {"USDC": 1e5}, "positions": STRANGLE + [
        {"type": "perpetual", "underlying": "BTC", "quantity": 30.0}]}, m)
    for model in ("es", "hvar", "mcvar"):
        fl = compute_margin(pf, m, model)
        im = integer_margin(pf, m, model)
        assert fl.requirement - 1e-7 <= im.requirement_usd <= fl.requirement + 1e-3, model


def test_monte_carlo_is_reproducible_antithetic_and_matches_the_covariance():
    cov = np.array([[0.04**2, 0.8 * 0.04 * 0.05], [0.8 * 0.04 * 0.05, 0.05**2]])
    cfg = HistoricalConfig(mc_tails="normal", mc_scenarios=4000)
    a = monte_carlo_scenarios(["BTC", "ETH"], cov, cfg)
    b = monte_carlo_scenarios(["BTC", "ETH"], cov, cfg)
    assert np.array_equal(a.returns, b.returns) and a.vol_moves is None
    assert a.returns[:2000] == pytest.approx(-a.returns[2000:])
    assert np.cov(a.returns.T) == pytest.approx(cov, rel=0.1)
    c = monte_carlo_scenarios(["BTC", "ETH"], cov, replace(cfg, mc_seed=1))
    assert not np.array_equal(a.returns, c.returns)
    h4 = monte_carlo_scenarios(["BTC", "ETH"], cov, cfg, horizon_days=4)
    assert h4.returns == pytest.approx(2 * a.returns)
    with pytest.raises(ModelError):
        HistoricalConfig(mc_scenarios=4097)


def test_student_tail_fit_recovers_known_parameters():
    rng = np.random.default_rng(11)
    for nu in (3.5, 8.0):
        x = rng.standard_t(nu, 20000) * 1.7
        nu_hat, tau = fit_student_t(x)
        assert abs(math.log(nu_hat / nu)) < 0.2 and tau == pytest.approx(1.7, rel=0.05)


def test_mcvar_covers_gamma_where_delta_normal_does_not():
    h = history(300, seed=4)
    m = market(h)
    pf = parse_portfolio({"positions": STRANGLE}, m)
    mc = compute_margin(pf, m, "mcvar")
    dn = compute_margin(pf, m, "var")
    assert mc.requirement > 3 * dn.requirement          # a delta-neutral book is not riskless
    assert mc.details["scenario_policy"]["vol_moves"] == "auto"
    assert mc.details["scenario_policy"]["tails"].startswith("student t")


def test_scenarios_for_a_circuit_shape():
    from zkmargin.margin.models import scenarios_for_shape
    h = history(300)
    m = market(h, historical={"vol_moves": "proxy", "stress": [h.dates[3], h.dates[12]]})
    sc = scenarios_for_shape(m, ["BTC"], 120)
    assert len(sc) == 120 and sc.n_stress == 10 and sc.vol_moves is not None
    legacy = scenarios_for_shape(market(h), ["BTC"], 250)
    assert len(legacy) == 250 and legacy.returns[:, 0] == pytest.approx(h.log_returns()[-250:, 0])
    with pytest.raises(ModelError):
        scenarios_for_shape(market(h), ["BTC"], 400)


def test_embedded_vol_history_switches_vol_moves_on():
    h = history(120)
    vh = vol_index(h)
    d, lv = vh.series["BTC"]
    m = market(h, vol_history={"dates": list(d), "levels": {"BTC": (lv * 100).tolist()}})
    pf = parse_portfolio({"positions": STRANGLE}, m)
    res = compute_margin(pf, m, "es")
    assert res.details["scenario_policy"]["vol_moves"] == "auto"
    assert res.details["scenario_policy"]["vol_source"] == {"BTC": "vol index history"}
    explicit = compute_margin(pf, m, "es", historical=HistoricalConfig(vol_moves="index"),
                              vol_history=vh)
    assert res.requirement == pytest.approx(explicit.requirement, rel=1e-12)
