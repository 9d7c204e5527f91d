"""Input rules: dates with a time of day, gaps, misaligned histories, histories past as_of,
unknown keys, bad --alpha / --horizon, and the exit status of ``zkmargin margin``."""

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from zkmargin.cli import cmd_margin
from zkmargin.margin.errors import InputError, ModelError
from zkmargin.margin.history import PriceHistory, align, load_histories, read_price_csv
from zkmargin.margin.market import parse_market
from zkmargin.margin.models import compute_margin
from zkmargin.margin.portfolio import parse_portfolio

app = typer.Typer()
cmd_margin.register(app)
runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[1] / "margin" / "samples"
PF, MK = str(SAMPLES / "portfolio.json"), str(SAMPLES / "market.json")


def write_csv(path, rows, header="Date,Open,High,Low,Close,Adj Close,Volume"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def daily(start_day, closes, fmt="{d}"):
    from datetime import date, timedelta
    d0 = date.fromisoformat(start_day)
    return [f"{fmt.format(d=(d0 + timedelta(days=k)).isoformat())},1,1,1,{c},{c},1" for k, c in enumerate(closes)]


def test_time_of_day_in_date_column(tmp_path):
    # the Kaggle "coin_Bitcoin.csv" layout: SNo,Name,Symbol,Date,High,Low,Open,Close,...
    f = tmp_path / "coin_Bitcoin.csv"
    f.write_text("SNo,Name,Symbol,Date,High,Low,Open,Close,Volume,Marketcap\n"
                 "1,Bitcoin,BTC,2013-04-29 23:59:59,1,1,1,144.5,0,1\n"
                 "2,Bitcoin,BTC,2013-04-30 23:59:59,1,1,1,139.0,0,1\n"
                 "3,Bitcoin,BTC,2013-05-01T23:59:59Z,1,1,1,116.99,0,1\n")
    dates, closes = read_price_csv(f)
    assert dates == ["2013-04-29", "2013-04-30", "2013-05-01"] and closes.tolist() == [144.5, 139.0, 116.99]
    # the CLI accepts it end to end
    rows = daily("2020-01-01", np.linspace(100, 130, 40), fmt="{d} 23:59:59")
    f2 = write_csv(tmp_path / "coin_X.csv", rows)
    res = runner.invoke(app, ["backtest", str(f2), "--window", "20", "--model", "span16", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["days"] > 0


def test_two_rows_on_one_day_is_an_error(tmp_path):
    f = write_csv(tmp_path / "x.csv", ["2020-01-01 00:00:00,1,1,1,5,5,1", "2020-01-01 12:00:00,1,1,1,6,6,1"])
    with pytest.raises(InputError, match="second row for 2020-01-01") as err:
        read_price_csv(f)
    assert "line 3" in err.value.field


def test_gap_returns_are_dropped_not_used_as_one_day_moves():
    h = PriceHistory(("2020-01-01", "2020-01-02", "2020-01-05", "2020-01-06"), ("BTC",),
                     np.array([[100.0], [110.0], [55.0], [56.0]]))
    ends, r, dropped = h.daily_returns()
    assert ends == ["2020-01-02", "2020-01-06"] and dropped == ["2020-01-05"]
    assert r[:, 0] == pytest.approx([np.log(1.1), np.log(56 / 55)])
    assert h.daily_returns(max_gap_days=3)[2] == []
    # a model built on it reports the dropped return
    m = parse_market({"as_of": "2020-01-07T00:00:00Z", "underlyings": {"BTC": {"spot": 56.0, "vol": 0.5}},
                      "history": {"dates": list(h.dates), "closes": {"BTC": [100.0, 110.0, 55.0, 56.0]}}})
    pf = parse_portfolio({"positions": [{"type": "perpetual", "underlying": "BTC", "quantity": 1.0}]}, m)
    res = compute_margin(pf, m, "hvar", alpha=0.5)
    assert res.details["dropped_gap_returns"] == ["2020-01-05"]
    assert res.details["scenarios"] == 2      # the −50 % three-day move is not a scenario


def test_misaligned_histories_name_the_ranges(tmp_path):
    a = write_csv(tmp_path / "a.csv", daily("2020-01-01", [1, 2, 3]))
    b = write_csv(tmp_path / "b.csv", daily("2021-01-01", [1, 2, 3]))
    with pytest.raises(InputError) as err:
        load_histories({"BTC": a, "ETH": b})
    msg = str(err.value)
    assert "share 0 date" in msg and "BTC 2020-01-01..2020-01-03" in msg and "ETH 2021-01-01..2021-01-03" in msg
    res = runner.invoke(app, ["backtest", str(a), str(b), "--names", "BTC,ETH"])
    assert res.exit_code == 2 and "share 0 date" in res.output and "confidence" not in res.output
    assert "Traceback" not in res.output
    # partially overlapping series align on the common dates; holes become gaps
    c = write_csv(tmp_path / "c.csv", daily("2020-01-01", [1, 2, 3, 4, 5]))
    d = write_csv(tmp_path / "d.csv", [r for k, r in enumerate(daily("2020-01-01", [1, 2, 3, 4, 5])) if k != 2])
    h = align({"A": read_price_csv(c), "B": read_price_csv(d)})
    assert h.dates == ("2020-01-01", "2020-01-02", "2020-01-04", "2020-01-05") and h.max_gap_days() == 2


def test_history_past_as_of_is_rejected(tmp_path):
    f = write_csv(tmp_path / "btc.csv", daily("2024-04-01", np.linspace(60000, 70000, 60)))   # to 2024-05-30
    res = runner.invoke(app, ["margin", PF, "--market", MK, "--model", "es", "--history", f"BTC={f}",
                              "--history", f"ETH={f}"])
    assert res.exit_code == 2 and "after the market as_of 2024-05-24" in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("doc,where,field", [
    ({"postions": []}, "portfolio", "postions"),
    ({"positions": [{"type": "perpetual", "underlying": "BTC", "quantity": 1, "qty": 2}]}, "positions[0]", "qty"),
    ({"positions": [], "colateral": {}}, "portfolio", "colateral"),
])
def test_unknown_portfolio_keys_rejected(doc, where, field):
    m = parse_market(json.loads(Path(MK).read_text()))
    with pytest.raises(InputError) as err:
        parse_portfolio(doc, m)
    assert err.value.where.startswith(where) and err.value.field == field


def test_postions_typo_fails_on_the_cli(tmp_path):
    pf = tmp_path / "p.json"
    pf.write_text(json.dumps({"collateral": {"USDC": 1000}, "postions": [
        {"type": "perpetual", "underlying": "BTC", "quantity": 5.0}]}))
    res = runner.invoke(app, ["margin", str(pf), "--market", MK])
    assert res.exit_code == 2 and "postions" in res.output and "did you mean 'positions'" in res.output
    assert res.output.count("\n") == 1


@pytest.mark.parametrize("patch,field", [
    ({"undelyings": {}}, "undelyings"),
    ({"underlyings": {"BTC": {"spot": 1.0, "vol": 0.5, "pricescan": 0.2}}}, "pricescan"),
    ({"collateral": {"USDC": {"price": 1.0, "hair_cut": 0.1}}}, "hair_cut"),
    ({"spread_credits": [{"pair": ["BTC", "ETH"], "rate": 0.5, "ratio": 2}]}, "ratio"),
    ({"historical": {"vol_move": "proxy"}}, "vol_move"),
])
def test_unknown_market_keys_rejected(patch, field):
    doc = {"as_of": "2024-05-24T08:00:00Z",
           "underlyings": {"BTC": {"spot": 1.0, "vol": 0.5}, "ETH": {"spot": 1.0, "vol": 0.5}}}
    doc.update(patch)
    with pytest.raises(InputError) as err:
        parse_market(doc)
    assert err.value.field == field


@pytest.mark.parametrize("args,needle", [
    (["--model", "var", "--alpha", "1.5"], "alpha"),
    (["--model", "es", "--alpha", "0"], "alpha"),
    (["--model", "hvar", "--alpha", "nan"], "alpha"),
    (["--model", "var", "--horizon", "-1"], "horizon"),
    (["--model", "var", "--horizon", "0"], "horizon"),
    (["--model", "es", "--horizon", "10"], "horizon must be 1 day"),
    (["--model", "hvar", "--alpha", "0.999"], "needs at least 1000 scenarios"),
    (["--model", "es", "--lookback", "0"], "lookback"),
    (["--model", "es", "--vol-moves", "sideways"], "vol_moves"),
    (["--model", "es", "--stress", "2023-13-01:2023-12-31"], "stress"),
])
def test_bad_model_options_are_one_line_errors(args, needle):
    res = runner.invoke(app, ["margin", PF, "--market", MK, *args])
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and needle in res.output
    assert res.output.count("\n") == 1 and "Traceback" not in res.output


def test_margin_exit_status_below_maintenance(tmp_path):
    doc = json.loads(Path(PF).read_text())
    doc["collateral"] = {"USDC": 10.0}
    pf = tmp_path / "thin.json"
    pf.write_text(json.dumps(doc))
    res = runner.invoke(app, ["margin", str(pf), "--market", MK, "--model", "span16"])
    assert res.exit_code == 1 and "BELOW MAINTENANCE" in res.output
    res = runner.invoke(app, ["margin", str(pf), "--market", MK, "--model", "span16", "--json"])
    assert res.exit_code == 1 and json.loads(res.output)["below_maintenance"] is True
    res = runner.invoke(app, ["margin", PF, "--market", MK, "--model", "span16", "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["below_maintenance"] is False


def test_error_messages_carry_no_quantities_or_amounts():
    m = parse_market(json.loads(Path(MK).read_text()))
    with pytest.raises(InputError) as err:
        parse_portfolio({"collateral": {"USDC": -123456.5}, "positions": []}, m)
    assert "123456" not in str(err.value)
    with pytest.raises(InputError) as err:
        parse_portfolio({"positions": [{"type": "perpetual", "underlying": "BTC", "quantity": 1.5,
                                        "entry_price": -98765.0}]}, m)
    assert "98765" not in str(err.value) and err.value.field == "entry_price"


def test_library_checks_alpha_and_horizon():
    m = parse_market(json.loads(Path(MK).read_text()))
    pf = parse_portfolio(json.loads(Path(PF).read_text()), m)
    for kw in ({"alpha": 1.0}, {"alpha": 0.3}, {"horizon_days": float("inf")}, {"horizon_days": -2}):
        with pytest.raises(ModelError):
            compute_margin(pf, m, "var", **kw)
