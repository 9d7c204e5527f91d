"""Backtests of the reworked models on the real series in $ZKMARGIN_DATA (skipped when absent),
and the backtest report / plot behaviour."""

import json
import os
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from zkmargin.cli import cmd_margin
from zkmargin.margin.backtest import plot_backtest, run_backtest
from zkmargin.margin.historical import HistoricalConfig
from zkmargin.margin.history import PriceHistory, load_histories, load_vol_histories

app = typer.Typer()
cmd_margin.register(app)
runner = CliRunner()
#: the real price series (not in the repository): a folder named by $ZKMARGIN_DATA
DATA = Path(os.environ.get("ZKMARGIN_DATA") or "ZKMARGIN_DATA-not-set")
BTC18, ETH18 = DATA / "btc_usd_daily_2018_2020.csv", DATA / "eth_usd_daily_2018_2020.csv"
BTC20, DVOL = DATA / "btc_usd_daily_2020_2025.csv", DATA / "btc_dvol_daily_2021_2026.csv"


def need(*files):
    return pytest.mark.skipif(not all(f.exists() for f in files), reason="no $ZKMARGIN_DATA folder with the price series")


def rows(rep):
    return {(r["book"], r["model"]): r for r in rep.summary()["results"]}


@need(BTC18)
def test_short_strangle_hvar_es_cover_with_vol_moves_and_fail_frozen():
    h = load_histories({"BTC": BTC18})
    moved = rows(run_backtest(h, books=["short_strangle"], models=["hvar", "es"],
                              config=HistoricalConfig(vol_moves="proxy")))
    frozen = rows(run_backtest(h, books=["short_strangle"], models=["hvar", "es"],
                               config=HistoricalConfig(vol_moves="none")))
    for m in ("hvar", "es"):
        assert moved[("short_strangle", m)]["kupiec_p"] >= 0.05, moved[("short_strangle", m)]
        assert frozen[("short_strangle", m)]["kupiec_p"] < 0.05
        assert frozen[("short_strangle", m)]["exceedances"] > 2 * moved[("short_strangle", m)]["exceedances"]


@need(BTC20, DVOL)
def test_short_strangle_with_dvol_history():
    h = load_histories({"BTC": BTC20})
    vh = load_vol_histories({"BTC": DVOL})
    rep = run_backtest(h, books=["short_strangle", "short"], models=["hvar", "es"], vol_history=vh,
                       config=HistoricalConfig(vol_moves="auto"))
    r = rows(rep)
    assert rep.settings["implied_vol"]["BTC"] == "vol index"
    assert rep.start >= "2021-11-01"          # the lookback must be covered by the index (from 2021-03-24)
    assert "lookback not covered by the vol index" in rep.skipped_other
    for b in ("short_strangle", "short"):
        for m in ("hvar", "es"):
            assert r[(b, m)]["kupiec_p"] >= 0.05, r[(b, m)]


@need(BTC18, ETH18)
def test_two_asset_book_span16_credits_no_longer_fail_low():
    h = load_histories({"BTC": BTC18, "ETH": ETH18})
    with_c = rows(run_backtest(h, books=["multi"], models=["span16", "es"], span_credits=True))
    without = rows(run_backtest(h, books=["multi"], models=["span16"], span_credits=False))
    assert without[("multi", "span16")]["kupiec_p"] < 0.05 and without[("multi", "span16")]["exceedances"] < 3
    assert with_c[("multi", "span16")]["kupiec_p"] >= 0.05
    assert with_c[("multi", "span16")]["requirement_ratio"] < without[("multi", "span16")]["requirement_ratio"]


def synthetic(n=120):
    import numpy as np
    rng = np.random.default_rng(0)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.03, n)))
    from datetime import date, timedelta
    d = tuple((date(2021, 1, 1) + timedelta(days=k)).isoformat() for k in range(n))
    return PriceHistory(d, ("BTC",), closes[:, None])


def test_report_rows_name_the_ratio_and_baseline():
    rep = run_backtest(synthetic(), books=["long", "short"], models=["span16"], window=40)
    r = rows(rep)
    assert set(b for b, _ in r) == {"long", "short"}
    row = r[("short", "span16")]
    assert row["baseline"] == "isolated" and row["baseline_exceedances"] == r[("short", "isolated")]["exceedances"]
    assert row["requirement_ratio"] == row["capital_efficiency"]
    assert len(row["exceedance_dates"]) == row["exceedances"]


def test_plot_file_or_directory(tmp_path):
    rep = run_backtest(synthetic(), books=["long", "short_strangle"], models=["span16", "es"], window=40)
    assert plot_backtest(rep, tmp_path / "one.png") == tmp_path / "one.png"
    out = plot_backtest(rep, tmp_path / "figs")
    assert out == tmp_path / "figs" / "backtest.png" and out.read_bytes()[:4] == b"\x89PNG"


def test_cli_writes_no_plot_unless_asked(tmp_path, monkeypatch):
    import numpy as np
    h = synthetic(90)
    f = tmp_path / "btc_usd.csv"
    f.write_text("Date,Close\n" + "\n".join(f"{d},{c}" for d, c in zip(h.dates, h.closes[:, 0])) + "\n")
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["backtest", str(f), "--window", "30", "--model", "span16"])
    assert res.exit_code == 0, res.output
    assert "req ÷ isolated" in res.output and "plot written" not in res.output
    assert not list(tmp_path.rglob("*.png"))
    res = runner.invoke(app, ["backtest", str(f), "--window", "40", "--model", "es", "--plot", "out/figs", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert Path(out["plot"]) == Path("out/figs/backtest.png") and (tmp_path / "out/figs/backtest.png").exists()
    assert {r["book"] for r in out["results"]} >= {"long", "short", "short_strangle"}
    assert np.isfinite([r["requirement_ratio"] for r in out["results"]]).all()
