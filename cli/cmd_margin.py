"""CLI verbs for the margin area (registered by :mod:`zkmargin.cli.main`).

* ``zkmargin margin PORTFOLIO --market MARKET --model M [--json] [--integer]``
* ``zkmargin backtest PRICES.csv [PRICES.csv ...] [--model M ...] [--plot out.png] [--json]``

Thin layer: parse options, call :mod:`zkmargin.margin`, print. Input problems (InputError,
ModelError, QuantizationError) print one line ``error: ...`` and exit 2, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def _fail(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(code=2)


def _parse_histories(items: list[str] | None):
    """``--history BTC=path.csv`` (repeatable) → PriceHistory, or None."""
    if not items:
        return None
    from ..margin.history import load_histories
    paths = {}
    for item in items:
        if "=" not in item:
            _fail(f"--history expects UNDERLYING=path.csv, got {item!r}")
        name, path = item.split("=", 1)
        paths[name.strip()] = path.strip()
    return load_histories(paths)


def _print_table(res, int_res=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"margin · model {res.model}")
    table.add_column("underlying")
    table.add_column("initial (USD)", justify="right")
    table.add_column("maintenance (USD)", justify="right")
    table.add_column("detail")
    for u, b in res.breakdown.items():
        extra = ", ".join(f"{k}={v:,.2f}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in b.items() if k not in ("initial", "maintenance"))
        table.add_row(u, f"{b['initial']:,.2f}", f"{b['maintenance']:,.2f}", extra)
    table.add_row("[bold]total[/bold]", f"[bold]{res.initial:,.2f}[/bold]",
                  f"[bold]{res.maintenance:,.2f}[/bold]", "")
    console.print(table)
    console.print(f"equity {res.equity.total:,.2f} USD  (haircut collateral "
                  f"{sum(res.equity.collateral.values()):,.2f} + marks {sum(res.equity.marks.values()):,.2f})")
    status = "OK" if res.excess >= 0 else "BELOW MAINTENANCE"
    console.print(f"requirement {res.requirement:,.2f} USD · excess over maintenance "
                  f"{res.excess:,.2f} USD · {status}")
    if int_res is not None:
        console.print(f"integer evaluator: requirement {int_res.requirement} · equity {int_res.equity} "
                      f"(units of 1e-14 USD) · solvent={int_res.solvent}")


def margin_cmd(
    portfolio: Path = typer.Argument(..., help="portfolio.json"),
    market: Path = typer.Option(..., "--market", help="market.json"),
    model: str = typer.Option("span16", "--model", help="isolated, cross, span16, paradex, deribit, var, hvar, es"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    history: Optional[list[str]] = typer.Option(None, "--history", help="UNDERLYING=prices.csv (repeatable)"),
    alpha: Optional[float] = typer.Option(None, "--alpha", help="confidence for var/hvar/es"),
    horizon: float = typer.Option(1.0, "--horizon", help="horizon in days for var"),
    integer: bool = typer.Option(False, "--integer", help="also run the exact integer evaluator"),
) -> None:
    """Margin requirement and equity of a portfolio under one model."""
    from ..margin.market import load_market
    from ..margin.models import compute_margin
    from ..margin.portfolio import load_portfolio
    from ..errors import ZkmarginError
    from ..margin.quantize import integer_margin

    try:
        mkt = load_market(market)
        pf = load_portfolio(portfolio, mkt)
        hist = _parse_histories(history)
        res = compute_margin(pf, mkt, model, alpha=alpha, horizon_days=horizon, history=hist)
        int_res = integer_margin(pf, mkt, model, history=hist, alpha=alpha,
                                 horizon_days=horizon) if integer else None
    except ZkmarginError as exc:
        _fail(str(exc))
        return
    if as_json:
        out = res.as_dict()
        if int_res is not None:
            out["integer"] = {"requirement": str(int_res.requirement), "equity": str(int_res.equity),
                              "unit_usd": "1e-14", "solvent": int_res.solvent}
        typer.echo(json.dumps(out, indent=2, default=str))
    else:
        _print_table(res, int_res)


def backtest_cmd(
    prices: list[Path] = typer.Argument(..., help="Yahoo-style daily CSV(s); name from the file (btc_usd_… → BTC) or --names"),
    names: Optional[str] = typer.Option(None, "--names", help="comma-separated underlying names, one per CSV"),
    models: Optional[list[str]] = typer.Option(None, "--model", help="model(s) to test (default: all)"),
    books: Optional[list[str]] = typer.Option(None, "--book", help="book(s): long, multi, short_strangle (default: all that fit)"),
    window: int = typer.Option(250, "--window", help="lookback days for vol / covariance / historical scenarios"),
    plot: Path = typer.Option(Path("backtest.png"), "--plot", help="PNG file for the plot"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
) -> None:
    """Replay daily prices: exceedances (Kupiec POF) and capital efficiency per model."""
    from ..margin.backtest import BOOKS, MODELS_BT, plot_backtest, run_backtest
    from ..errors import ZkmarginError
    from ..margin.history import load_histories

    try:
        if names:
            labels = [n.strip() for n in names.split(",")]
            if len(labels) != len(prices):
                _fail("--names needs one name per CSV")
        else:
            labels = [p.stem.split("_")[0].upper() for p in prices]
        hist = load_histories(dict(zip(labels, prices)))
        chosen_books = books or [b for b in BOOKS if BOOKS[b].min_assets <= len(labels)]
        for b in chosen_books:
            if b not in BOOKS:
                _fail(f"unknown book {b!r} (one of {', '.join(BOOKS)})")
        report = run_backtest(hist, books=chosen_books, models=models or list(MODELS_BT), window=window)
    except ZkmarginError as exc:
        _fail(str(exc))
        return
    plot_backtest(report, plot)
    if as_json:
        typer.echo(json.dumps(report.summary(), indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"backtest {report.start} → {report.end} ({report.days} days)")
    for col in ("book", "model", "conf.", "exceed.", "expected", "Kupiec LR", "p-value", "capital eff."):
        table.add_column(col, justify="right" if col not in ("book", "model") else "left")
    for row in report.summary()["results"]:
        table.add_row(row["book"], row["model"], f"{row['confidence']:.3f}", str(row["exceedances"]),
                      f"{row['expected']:.1f}", f"{row['kupiec_lr']:.2f}", f"{row['kupiec_p']:.3f}",
                      f"{row['capital_efficiency']:.3f}")
    Console().print(table)
    if report.skipped:
        typer.echo(f"skipped {len(report.skipped)} day(s) before a data gap: {', '.join(report.skipped)}")
    typer.echo(f"plot written to {plot}")


def register(app: typer.Typer) -> None:
    """Add this area's verbs to the root app."""
    app.command("margin")(margin_cmd)
    app.command("backtest")(backtest_cmd)
