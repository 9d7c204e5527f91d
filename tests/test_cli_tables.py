"""Snapshots of every table the CLI prints, at 80 columns (a pipe's width), and the vertical
layout of a narrow terminal (issue 17): nothing cut off with ``…``, no line wider than the
terminal, α in VaR / ES titles, a diversified total said to be diversified.

Snapshots live in tests/test_cli_snapshots/; after an intended change of a model's numbers
or of the layout, regenerate them with ``ZKMARGIN_UPDATE_SNAPSHOTS=1`` and review the diff.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from zkmargin.cli.main import app

SNAPSHOTS = Path(__file__).with_name("test_cli_snapshots")
runner = CliRunner()


def table(args: list[str], columns: int = 80, code: int = 0) -> str:
    r = runner.invoke(app, args, env={"COLUMNS": str(columns)})
    assert r.exit_code == code, r.output
    lines = [line.rstrip() for line in r.stdout.splitlines()]
    for line in lines:
        assert len(line) <= columns, line
    assert "…" not in r.stdout
    return "\n".join(lines) + "\n"


def snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("ZKMARGIN_UPDATE_SNAPSHOTS"):
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with ZKMARGIN_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("model", ["span16", "cross", "var", "hvar"])
def test_margin_table_at_80_columns(samples, model):
    text = table(["margin", str(samples / "portfolio.json"), "--market", str(samples / "market.json"),
                  "--model", model])
    snapshot(f"margin_{model}", text)
    if model in ("var", "hvar"):
        assert "α 0.99" in text.splitlines()[0] and "total (diversified)" in text
        assert "diversified: the total nets risk across underlyings" in text
    else:
        assert "α" not in text and "diversified" not in text
    if model == "span16":                         # every detail item whole, one per line
        assert "short_option_minimum=100.00" in text


def test_margin_table_narrow_is_vertical(samples):
    text = table(["margin", str(samples / "portfolio.json"), "--market", str(samples / "market.json")], columns=40)
    snapshot("margin_span16_40", text)
    lines = text.splitlines()
    assert lines[0] == "margin · model span16 · USD" and "  initial      39,417.76" in lines


def test_margin_json_is_complete_whatever_the_width(samples):
    args = ["margin", str(samples / "portfolio.json"), "--market", str(samples / "market.json"), "--json"]
    wide = runner.invoke(app, args, env={"COLUMNS": "200"}).stdout
    assert runner.invoke(app, args, env={"COLUMNS": "20"}).stdout == wide
    assert json.loads(wide)["breakdown"]["ETH"]["short_option_minimum"] == 100.0


def _prices(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.03, 90)))
    rows = [f"{(date(2021, 1, 1) + timedelta(days=k)).isoformat()},{c}" for k, c in enumerate(closes)]
    f = tmp_path / "btc_usd.csv"
    f.write_text("Date,Close\n" + "\n".join(rows) + "\n")
    return f


def test_backtest_table_at_80_columns(tmp_path):
    text = table(["backtest", str(_prices(tmp_path)), "--window", "30", "--model", "span16", "--model", "isolated"])
    snapshot("backtest", text)
    assert "short_strangle" in text and "isolated" in text and "req ÷ isolated" in text
    assert text.splitlines()[1].split() == ["book", "model", "exceed.", "exp.", "LR", "p", "95", "%", "÷", "iso."]


def test_backtest_table_narrow_is_vertical(tmp_path):
    text = table(["backtest", str(_prices(tmp_path)), "--window", "30", "--model", "span16"], columns=50)
    assert "\nlong\n  model" in text and "  LR" in text
