"""Bad input is rejected with a message naming the position and the field; the CLI exits cleanly."""

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from zkmargin.cli import cmd_margin
from zkmargin.margin.errors import InputError
from zkmargin.margin.market import parse_market
from zkmargin.margin.portfolio import parse_portfolio

app = typer.Typer()
cmd_margin.register(app)
runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[1] / "margin" / "samples"
MARKET = {"as_of": "2024-05-24T08:00:00Z",
          "underlyings": {"BTC": {"spot": 68000.0, "vol": 0.55}},
          "collateral": {"USDC": {"price": 1.0, "haircut": 0.0}}}
OPT = {"type": "option", "underlying": "BTC", "right": "call", "strike": 70000.0,
       "expiry": "2024-06-28T08:00:00Z", "quantity": -5.0}


def bad(position, match_where, match_field):
    mk = parse_market(MARKET)
    with pytest.raises(InputError) as err:
        parse_portfolio({"positions": [{"type": "spot", "underlying": "BTC", "quantity": 1}, position]}, mk)
    assert match_where in err.value.where and err.value.field == match_field
    return str(err.value)


def test_unknown_type():
    msg = bad({"type": "swaption", "underlying": "BTC", "quantity": 1}, "positions[1]", "type")
    assert "swaption" in msg


def test_missing_fields():
    bad({"type": "perpetual", "underlying": "BTC"}, "positions[1]", "quantity")
    bad({k: v for k, v in OPT.items() if k != "strike"}, "positions[1]", "strike")
    bad({k: v for k, v in OPT.items() if k != "expiry"}, "positions[1]", "expiry")
    bad({"type": "inverse_perpetual", "underlying": "BTC", "quantity": 1}, "positions[1]", "face_value")


def test_negative_strike_names_instrument():
    msg = bad({**OPT, "strike": -1.0, "instrument": "BTC-28JUN24-X"}, "BTC-28JUN24-X", "strike")
    assert "positions[1]" in msg


def test_expiry_before_as_of():
    bad({**OPT, "expiry": "2024-05-01T08:00:00Z"}, "positions[1]", "expiry")


def test_underlying_missing_from_market():
    bad({**OPT, "underlying": "DOGE"}, "positions[1]", "underlying")


def test_bad_values():
    bad({**OPT, "quantity": "lots"}, "positions[1]", "quantity")
    bad({**OPT, "right": "straddle"}, "positions[1]", "right")
    with pytest.raises(InputError, match="spot"):
        parse_market({**MARKET, "underlyings": {"BTC": {"spot": -5, "vol": 0.5}}})
    with pytest.raises(InputError, match="as_of"):
        parse_market({"underlyings": MARKET["underlyings"]})
    with pytest.raises(InputError, match="collateral"):
        parse_portfolio({"collateral": {"DOGE": 5}, "positions": []}, parse_market(MARKET))




def test_cli_table_and_json():
    res = runner.invoke(app, ["margin", str(SAMPLES / "portfolio.json"), "--market", str(SAMPLES / "market.json"),
                              "--model", "span16"])
    assert res.exit_code == 0, res.output
    assert "BTC" in res.output and "equity" in res.output
    res = runner.invoke(app, ["margin", str(SAMPLES / "portfolio.json"), "--market", str(SAMPLES / "market.json"),
                              "--model", "span16", "--json", "--integer"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["requirement"] > 0 and out["equity"] > 0 and set(out["breakdown"]) == {"BTC", "ETH"}
    assert int(out["integer"]["requirement"]) >= out["requirement"] * 1e14 * (1 - 1e-12)


@pytest.mark.parametrize("model", ["isolated", "cross", "paradex", "deribit", "var", "hvar", "es"])
def test_cli_every_model(model):
    res = runner.invoke(app, ["margin", str(SAMPLES / "portfolio.json"), "--market", str(SAMPLES / "market.json"),
                              "--model", model, "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["model"] == model


def test_cli_bad_input_is_one_line_without_traceback(tmp_path):
    pf = tmp_path / "p.json"
    pf.write_text(json.dumps({"positions": [{**OPT, "expiry": "2020-01-01T00:00:00Z", "instrument": "OLD-C"}]}))
    res = runner.invoke(app, ["margin", str(pf), "--market", str(SAMPLES / "market.json")])
    assert res.exit_code != 0
    assert "OLD-C" in res.output and "expiry" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["margin", str(pf), "--market", str(SAMPLES / "market.json"), "--model", "nope"])
    assert res.exit_code != 0 and "Traceback" not in res.output
    pf.write_text("{not json")
    res = runner.invoke(app, ["margin", str(pf), "--market", str(SAMPLES / "market.json")])
    assert res.exit_code == 2 and "not valid JSON" in res.output
