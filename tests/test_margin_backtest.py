"""Backtests on the real BTC/ETH/XRP daily histories in $ZKMARGIN_DATA (skipped if absent),
Kupiec test, and the vectorised many-account evaluators."""

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from zkmargin.cli import cmd_margin
from zkmargin.margin.backtest import kupiec, run_backtest
from zkmargin.margin.batch import es_batch, worst_case_batch
from zkmargin.margin.history import load_histories
from zkmargin.margin.market import load_market
from zkmargin.margin.models import historical_array, history_of
from zkmargin.margin.portfolio import load_portfolio
from zkmargin.margin.riskarray import net_positions, risk_array, worst_case_by_group
from zkmargin.margin.var import hs_var_es

app = typer.Typer()
cmd_margin.register(app)
runner = CliRunner()
#: the real price series (not in the repository): a folder named by $ZKMARGIN_DATA
DATA = Path(os.environ.get("ZKMARGIN_DATA") or "ZKMARGIN_DATA-not-set")
SAMPLES = Path(__file__).resolve().parents[1] / "margin" / "samples"
FILES = {"BTC": "btc_usd_daily_2018_2020.csv", "ETH": "eth_usd_daily_2018_2020.csv",
         "XRP": "xrp_usd_daily_2018_2020.csv"}
need_data = pytest.mark.skipif(not all((DATA / f).exists() for f in FILES.values()),
                               reason="no $ZKMARGIN_DATA folder with the price series")


def test_kupiec():
    lr, p = kupiec(5, 250, 0.01)
    expect = -2 * (245 * math.log(0.99) + 5 * math.log(0.01) - 245 * math.log(0.98) - 5 * math.log(0.02))
    assert lr == pytest.approx(expect) and p == pytest.approx(math.erfc(math.sqrt(expect / 2)))
    assert kupiec(0, 100, 0.01)[0] == pytest.approx(-200 * math.log(0.99))
    assert kupiec(1, 100, 0.01)[1] == pytest.approx(1.0)


@need_data
def test_real_histories_load_and_align():
    h = load_histories({u: DATA / f for u, f in FILES.items()})
    assert h.closes.shape == (1092, 3) and h.dates[0] == "2018-01-01"
    assert h.max_gap_days() == 3     # the Yahoo files miss a few days: found, not hidden
    assert [g[0] for g in h.gaps()] == ["2020-04-16", "2020-10-08", "2020-10-11"]
    r = h.log_returns()
    assert np.all(np.isfinite(r)) and np.corrcoef(r.T)[0, 1] > 0.5   # BTC/ETH correlated


@need_data
def test_backtest_btc_eth_xrp():
    h = load_histories({u: DATA / f for u, f in FILES.items()})
    rep = run_backtest(h, books=["long", "multi", "short_strangle"],
                       models=["isolated", "cross", "span16", "var", "es"], window=250, start=len(h.dates) - 181)
    rows = {(r["book"], r["model"]): r for r in rep.summary()["results"]}
    assert rep.days + len(rep.skipped) == 180 and rep.skipped == ["2020-10-08", "2020-10-11"]
    for (b, m), r in rows.items():
        assert 0 <= r["exceedances"] <= 180 and 0 <= r["kupiec_p"] <= 1
        if m == "isolated":
            assert r["capital_efficiency"] == pytest.approx(1.0)
    # a risk-based model covers a directional book far better than 125× exchange maintenance
    assert rows[("long", "es")]["exceedances"] < rows[("long", "cross")]["exceedances"]
    assert rows[("long", "es")]["exceedances"] <= 8 and rows[("multi", "span16")]["exceedances"] <= 8
    # correlation-aware VaR charges a long/short multi-asset book less than the per-underlying SPAN sum
    assert rows[("multi", "var")]["mean_margin"] < rows[("multi", "span16")]["mean_margin"]


@need_data
def test_cli_backtest_writes_plot(tmp_path):
    png = tmp_path / "bt.png"
    res = CliRunner().invoke(app, ["backtest", str(DATA / FILES["BTC"]), str(DATA / FILES["ETH"]),
                                   "--model", "span16", "--model", "es", "--book", "multi",
                                   "--window", "500", "--plot", str(png), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert {r["model"] for r in out["results"]} == {"isolated", "span16", "es"}
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"


def test_cli_backtest_bad_file(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("Date,Close\n2020-01-02,5\n2020-01-01,6\n")
    res = CliRunner().invoke(app, ["backtest", str(bad), "--plot", str(tmp_path / "p.png")])
    assert res.exit_code != 0 and "dates must increase" in res.output and "Traceback" not in res.output


def test_batch_matches_single_account():
    mk = load_market(SAMPLES / "market.json")
    pf = load_portfolio(SAMPLES / "portfolio.json", mk)
    rng = np.random.default_rng(0)
    instruments, q = net_positions(pf)
    Q = np.round(rng.normal(0, 3, size=(64, len(q))), 3)
    ra = risk_array(pf, mk, "span16")
    batch = worst_case_batch(ra, Q)
    for k in range(0, 64, 9):
        assert batch[k] == pytest.approx(worst_case_by_group(ra, Q[k])["requirement"].sum())
    rh = historical_array(pf, mk, history_of(mk, None))
    es = es_batch(rh, Q, 0.975)
    for k in range(0, 64, 9):
        assert es[k] == pytest.approx(max(0.0, hs_var_es(rh.losses(Q[k]), 0.975)[1]))
