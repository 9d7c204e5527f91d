"""CLI verbs for the margin area (registered by :mod:`zkmargin.cli.main`).

* ``zkmargin margin PORTFOLIO --market MARKET --model M [--json] [--integer]
  [--history U=prices.csv ...] [--vol-history U=volindex.csv ...] [--vol-moves MODE]
  [--filtered] [--stress FIRST:LAST] [--lookback N] [--alpha A] [--horizon H]``
* ``zkmargin backtest PRICES.csv [PRICES.csv ...] [--model M ...] [--book B ...] [--window N]
  [--vol-history U=volindex.csv ...] [--vol-moves MODE] [--unfiltered] [--stress FIRST:LAST]
  [--no-span-credits] [--plot FILE.png | DIR] [--json]``

Exit status of ``margin``: 0 when equity covers the maintenance margin, **1 when equity is below
maintenance** (the account is in liquidation territory; the output says so), 2 for bad input.
``backtest`` exits 0 or 2. Input problems (any :class:`~zkmargin.errors.ZkmarginError`: input,
model, quantization, file-format errors) print one line ``error: ...`` and exit 2, never a
traceback.

Scenario policy of hvar / es / mcvar (see :mod:`zkmargin.margin.historical`): the market's
``historical`` block unless an option below overrides it; ``--vol-history`` alone switches vol
moves to ``auto``. Warnings (delta-normal VaR on options, frozen vols on options, returns dropped
at data gaps) are printed with the table, and are in ``details.warnings`` with ``--json``.

``backtest`` writes a plot only when asked: ``--plot out.png`` writes that file, ``--plot DIR``
writes ``DIR/backtest.png``; the path written is printed.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer

from ..margin.registry import MODEL_SPECS

VOL_MODE_HELP = "vol moves in historical scenarios: none, proxy (EWMA realised-vol change), index (--vol-history), auto"


def _fail(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(code=2)


def _pairs(items: list[str] | None, option: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        if "=" not in item:
            _fail(f"{option} expects UNDERLYING=path.csv, got {item!r}")
        name, path = item.split("=", 1)
        out[name.strip()] = path.strip()
    return out


def _parse_histories(items: list[str] | None):
    """``--history BTC=path.csv`` (repeatable) → PriceHistory, or None."""
    if not items:
        return None
    from ..margin.history import load_histories
    return load_histories(_pairs(items, "--history"))


def _parse_vol_histories(items: list[str] | None):
    if not items:
        return None
    from ..margin.history import load_vol_histories
    return load_vol_histories(_pairs(items, "--vol-history"))


def _policy(base, vol_moves, filtered, stress, vol_history, lookback=None):
    """The scenario policy from a base policy and the CLI overrides (None = not given)."""
    from ..margin.historical import LEGACY, parse_stress
    cfg = base or LEGACY
    changed = False
    if vol_moves is not None:
        cfg = replace(cfg, vol_moves=vol_moves)
        changed = True
    elif vol_history is not None and cfg.vol_moves == "none":
        cfg = replace(cfg, vol_moves="auto")
        changed = True
    if filtered is not None:
        cfg = replace(cfg, filtered=filtered)
        changed = True
    if stress:
        cfg = replace(cfg, stress=parse_stress(stress, "--stress", "period"))
        changed = True
    if lookback is not None:
        cfg = replace(cfg, lookback=lookback)
        changed = True
    return cfg if (changed or base is not None) else None


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
    status = "OK" if res.excess >= 0 else "BELOW MAINTENANCE (exit status 1)"
    console.print(f"requirement {res.requirement:,.2f} USD · excess over maintenance "
                  f"{res.excess:,.2f} USD · {status}", soft_wrap=True)
    pol = res.details.get("scenario_policy")
    if pol:
        console.print(f"scenarios: {pol.get('scenarios')} ({pol.get('stress_scenarios', 0)} stress), "
                      f"vol moves {pol.get('vol_moves')}, filtered {pol.get('filtered')}")
    if int_res is not None:
        console.print(f"integer evaluator: requirement {int_res.requirement} · equity {int_res.equity} "
                      f"(units of 1e-14 USD) · solvent={int_res.solvent}")
    for w in res.details.get("warnings", []):
        console.print(f"[yellow]warning:[/yellow] {w}", soft_wrap=True)


def margin_cmd(
    portfolio: Path = typer.Argument(..., help="portfolio.json"),
    market: Path = typer.Option(..., "--market", help="market.json"),
    model: str = typer.Option("span16", "--model", help=", ".join(s.name for s in MODEL_SPECS)),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    history: Optional[list[str]] = typer.Option(None, "--history", help="UNDERLYING=prices.csv (repeatable)"),
    vol_history: Optional[list[str]] = typer.Option(None, "--vol-history", help="UNDERLYING=volindex.csv, Close in vol points (repeatable)"),
    vol_moves: Optional[str] = typer.Option(None, "--vol-moves", help=VOL_MODE_HELP),
    filtered: Optional[bool] = typer.Option(None, "--filtered/--unfiltered", help="filtered historical simulation (EWMA vol rescaling)"),
    stress: Optional[str] = typer.Option(None, "--stress", help="stressed period FIRST:LAST (ISO days), always in the scenario set"),
    lookback: Optional[int] = typer.Option(None, "--lookback", help="historical lookback in days (default: the policy's, else all)"),
    alpha: Optional[float] = typer.Option(None, "--alpha", help="confidence for var/mcvar/hvar/es, in [0.5, 1)"),
    horizon: float = typer.Option(1.0, "--horizon", help="horizon in days for var/mcvar (> 0)"),
    integer: bool = typer.Option(False, "--integer", help="also run the exact integer evaluator"),
) -> None:
    """Margin requirement and equity of a portfolio under one model (exit 1 below maintenance)."""
    from ..margin.market import load_market
    from ..margin.models import compute_margin
    from ..margin.portfolio import load_portfolio
    from ..errors import ZkmarginError
    from ..margin.quantize import integer_margin

    try:
        mkt = load_market(market)
        pf = load_portfolio(portfolio, mkt)
        hist = _parse_histories(history)
        vh = _parse_vol_histories(vol_history)
        cfg = _policy(mkt.historical, vol_moves, filtered, stress, vh, lookback)
        opts = dict(alpha=alpha, horizon_days=horizon, history=hist, historical=cfg, vol_history=vh)
        res = compute_margin(pf, mkt, model, **opts)
        int_res = integer_margin(pf, mkt, model, **opts) if integer else None
    except ZkmarginError as exc:
        _fail(str(exc))
        return
    if as_json:
        out = res.as_dict()
        if int_res is not None:
            out["integer"] = {"requirement": str(int_res.requirement), "equity": str(int_res.equity),
                              "unit_usd": "1e-14", "solvent": int_res.solvent}
        out["below_maintenance"] = res.excess < 0
        typer.echo(json.dumps(out, indent=2, default=str))
    else:
        _print_table(res, int_res)
    if res.excess < 0:
        raise typer.Exit(code=1)


def backtest_cmd(
    prices: list[Path] = typer.Argument(..., help="Yahoo-style daily CSV(s); name from the file (btc_usd_… → BTC) or --names"),
    names: Optional[str] = typer.Option(None, "--names", help="comma-separated underlying names, one per CSV"),
    models: Optional[list[str]] = typer.Option(None, "--model", help="model(s) to test (default: all)"),
    books: Optional[list[str]] = typer.Option(None, "--book", help="book(s): long, short, multi, short_strangle (default: all that fit)"),
    window: int = typer.Option(250, "--window", help="lookback days for vol / covariance / historical scenarios"),
    vol_history: Optional[list[str]] = typer.Option(None, "--vol-history", help="UNDERLYING=volindex.csv: implied vol and vol moves from the index"),
    vol_moves: str = typer.Option("auto", "--vol-moves", help=VOL_MODE_HELP),
    filtered: bool = typer.Option(True, "--filtered/--unfiltered", help="filtered historical simulation for hvar/es (default on)"),
    stress: Optional[str] = typer.Option(None, "--stress", help="stressed period FIRST:LAST always in the hvar/es scenarios"),
    span_credits: bool = typer.Option(True, "--span-credits/--no-span-credits", help="span16 inter-commodity spread credits (calibrated daily)"),
    alpha_es: float = typer.Option(0.975, "--alpha-es", help="ES confidence"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="write a PNG: FILE.png, or a directory for DIR/backtest.png"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
) -> None:
    """Replay daily prices: exceedances (Kupiec POF) and requirement ÷ isolated per model."""
    from ..errors import ZkmarginError
    from ..margin.backtest import BASELINE, BOOKS, plot_backtest, run_backtest
    from ..margin.historical import HistoricalConfig, parse_stress
    from ..margin.history import load_histories
    from ..margin.var import check_alpha

    try:
        if names:
            labels = [n.strip() for n in names.split(",")]
            if len(labels) != len(prices):
                _fail("--names needs one name per CSV")
        else:
            labels = [p.stem.split("_")[0].upper() for p in prices]
        if len(set(labels)) != len(labels):
            _fail("two price files map to the same underlying name; use --names")
        check_alpha(alpha_es, "--alpha-es")
        hist = load_histories(dict(zip(labels, prices)))
        vh = _parse_vol_histories(vol_history)
        cfg = HistoricalConfig(vol_moves=vol_moves, filtered=filtered,
                               stress=parse_stress(stress, "--stress", "period") if stress else None)
        chosen_books = books or [b for b in BOOKS if BOOKS[b].min_assets <= len(labels)]
        report = run_backtest(hist, books=chosen_books, models=models or None, window=window,
                              alpha_es=alpha_es, vol_history=vh, config=cfg, span_credits=span_credits)
        written = plot_backtest(report, plot) if plot is not None else None
    except ZkmarginError as exc:
        _fail(str(exc))
        return
    except OSError as exc:
        _fail(f"cannot write the plot: {exc.strerror}")
        return
    if as_json:
        out = report.summary()
        if written is not None:
            out["plot"] = str(written)
        typer.echo(json.dumps(out, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"backtest {report.start} → {report.end} ({report.days} days, coverage "
                        f"{report.settings['coverage']:.0%})")
    for col in ("book", "model", "exceed.", "expected", "Kupiec LR", "p-value", "95 %", "req ÷ isolated"):
        table.add_column(col, justify="right" if col not in ("book", "model") else "left")
    for row in report.summary()["results"]:
        table.add_row(row["book"], row["model"], str(row["exceedances"]), f"{row['expected']:.1f}",
                      f"{row['kupiec_lr']:.2f}", f"{row['kupiec_p']:.3f}",
                      "pass" if row["passes_95"] else "FAIL", f"{row['requirement_ratio']:.3f}")
    Console().print(table)
    typer.echo(f"req ÷ isolated: mean daily requirement over the {BASELINE} requirement "
               f"(baseline {BASELINE}, whose own exceedances are in its row)")
    pol = report.settings["scenario_policy"]
    typer.echo(f"hvar/es/mcvar scenarios: vol moves {pol['vol_moves']}, filtered {pol['filtered']}, "
               f"stress {pol['stress']}; span16 credits {'on' if report.settings['span_credits'] else 'off'}")
    if report.skipped:
        typer.echo(f"skipped {len(report.skipped)} day(s) before a data gap: {', '.join(report.skipped)}")
    for why, ds in report.skipped_other.items():
        typer.echo(f"skipped {len(ds)} day(s): {why} ({ds[0]} .. {ds[-1]})")
    if written is not None:
        typer.echo(f"plot written to {written}")


def register(app: typer.Typer) -> None:
    """Add this area's verbs to the root app."""
    app.command("margin")(margin_cmd)
    app.command("backtest")(backtest_cmd)
