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

from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from .common import EXIT_BAD_INPUT, check, emit_json, fail, guard, verdict
from .options import MarginModel, parse_alpha, parse_horizon, value_of

VOL_MODE_HELP = "vol moves in historical scenarios: none, proxy (EWMA realised-vol change), index (--vol-history), auto"


def _fail(msg: str) -> None:
    fail(msg, EXIT_BAD_INPUT)


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


def _fmt(v) -> str:
    return f"{v:,.2f}" if isinstance(v, float) else str(v)


def _title(res) -> str:
    """``margin · model hvar · α 0.99`` (the confidence and horizon of VaR / ES models)."""
    d = res.details
    title = f"margin · model {res.model}"
    if "alpha" in d:
        title += f" · α {d['alpha']:g}"
    if "horizon_days" in d:
        title += f", horizon {d['horizon_days']:g} d"
    return title


def _grid(res):
    """The breakdown table: one row per underlying, then the total (marked diversified when the
    model nets risk across underlyings, so the total is below the rows' sum)."""
    from .tables import Column, Grid

    grid = Grid(_title(res) + " · USD", [Column("underlying"), Column("initial", right=True),
                                         Column("maintenance", right=True), Column("detail", wrap=True)])
    for u, b in res.breakdown.items():
        if not isinstance(b, dict):
            continue
        extra = "\n".join(f"{k}={_fmt(v)}" for k, v in b.items() if k not in ("initial", "maintenance"))
        grid.rows.append([str(u), _fmt(float(b["initial"])), _fmt(float(b["maintenance"])), extra])
    div = res.details.get("diversification")
    label = "total (diversified)" if div else "total"
    grid.total = [label, _fmt(res.initial), _fmt(res.maintenance), ""]
    if div:
        grid.notes.append(f"diversified: the total nets risk across underlyings, {_fmt(float(div))} USD below "
                          "the sum of the rows")
    return grid


def _print_table(res, int_res=None) -> None:
    from .tables import console, show

    con = console()
    show(con, _grid(res))
    con.print(f"equity {res.equity.total:,.2f} USD (haircut collateral "
              f"{sum(res.equity.collateral.values()):,.2f} + marks {sum(res.equity.marks.values()):,.2f})",
              markup=False)
    status = "OK" if res.excess >= 0 else "BELOW MAINTENANCE (exit status 1)"
    con.print(f"requirement {res.requirement:,.2f} USD · excess over maintenance {res.excess:,.2f} USD",
              markup=False)
    con.print(f"status: {status}", markup=False)
    pol = res.details.get("scenario_policy")
    if pol:
        con.print(f"scenarios: {pol.get('scenarios')} ({pol.get('stress_scenarios', 0)} stress), "
                  f"vol moves {pol.get('vol_moves')}, filtered {pol.get('filtered')}", markup=False)
    if int_res is not None:
        con.print(f"integer evaluator: requirement {int_res.requirement} · equity {int_res.equity} "
                  f"(units of 1e-14 USD) · solvent={int_res.solvent}", markup=False)
    for w in res.details.get("warnings", []):
        con.print(f"[yellow]warning:[/yellow] {escape(str(w))}")


def margin_cmd(
    portfolio: Path = typer.Argument(..., help="portfolio.json"),
    market: Path = typer.Option(..., "--market", help="market.json"),
    model: MarginModel = typer.Option(MarginModel.span16, "--model", help="margin model"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object (schema in docs/CLI.md)"),
    history: Optional[list[str]] = typer.Option(None, "--history", metavar="U=FILE",
                                                help="daily prices of one underlying, as U=FILE (repeatable)"),
    vol_history: Optional[list[str]] = typer.Option(None, "--vol-history", metavar="U=FILE",
                                                    help="vol index of one underlying (Close in vol points), as U=FILE (repeatable)"),
    vol_moves: Optional[str] = typer.Option(None, "--vol-moves", help=VOL_MODE_HELP),
    filtered: Optional[bool] = typer.Option(None, "--filtered/--unfiltered", help="filtered historical simulation (EWMA vol rescaling)"),
    stress: Optional[str] = typer.Option(None, "--stress", metavar="FIRST:LAST",
                                         help="stressed period (ISO days), always in the scenario set"),
    lookback: Optional[int] = typer.Option(None, "--lookback", min=2, max=100_000,
                                           help="historical lookback in days (default: the policy's, else all)"),
    alpha: Optional[float] = typer.Option(None, "--alpha", parser=parse_alpha, metavar="FLOAT",
                                          help="confidence for var/mcvar/hvar/es, in [0.5, 1)"),
    horizon: float = typer.Option(1.0, "--horizon", parser=parse_horizon, metavar="DAYS",
                                  help="horizon in days for var/mcvar, in (0, 3650]"),
    integer: bool = typer.Option(False, "--integer", help="also run the exact integer evaluator"),
) -> None:
    """Margin requirement and equity of a portfolio under one model.

    Exit codes: 0 equity covers maintenance, 1 below maintenance, 2 bad input or usage."""
    from ..margin.market import load_market
    from ..margin.models import compute_margin
    from ..margin.portfolio import load_portfolio
    from ..margin.quantize import integer_margin

    name = value_of(model)

    def run():
        mkt = load_market(market)
        pf = load_portfolio(portfolio, mkt)
        hist = _parse_histories(history)
        vh = _parse_vol_histories(vol_history)
        cfg = _policy(mkt.historical, value_of(vol_moves), filtered, stress, vh, lookback)
        opts = dict(alpha=alpha, horizon_days=horizon, history=hist, historical=cfg, vol_history=vh)
        res = compute_margin(pf, mkt, name, **opts)
        return res, (integer_margin(pf, mkt, name, **opts) if integer else None)

    res, int_res = guard(run)
    below = res.excess < 0
    if as_json:
        checks = [check("equity covers maintenance", not below,
                        f"equity {res.equity.total:,.2f} USD is below the maintenance margin "
                        f"{res.maintenance:,.2f} USD")]
        out = verdict("margin", not below, checks, ok_word="OK", bad_word="BELOW MAINTENANCE", **res.as_dict())
        if int_res is not None:
            out["integer"] = {"requirement": str(int_res.requirement), "equity": str(int_res.equity),
                              "unit_usd": "1e-14", "solvent": int_res.solvent}
        out["below_maintenance"] = below
        emit_json(out)
    else:
        _print_table(res, int_res)
    if below:
        raise typer.Exit(code=1)


def backtest_cmd(
    prices: list[Path] = typer.Argument(..., help="Yahoo-style daily CSV(s); the underlying is named from the file (btc_usd_daily.csv: BTC) or by --names"),
    names: Optional[str] = typer.Option(None, "--names", help="comma-separated underlying names, one per CSV"),
    models: Optional[list[MarginModel]] = typer.Option(None, "--model", help="model(s) to test (repeat; default: all)"),
    books: Optional[list[str]] = typer.Option(None, "--book", help="book(s): long, short, multi, short_strangle (default: all that fit)"),
    window: int = typer.Option(250, "--window", min=10, max=100_000,
                               help="lookback days for vol / covariance / historical scenarios"),
    vol_history: Optional[list[str]] = typer.Option(None, "--vol-history", metavar="U=FILE",
                                                    help="vol index of one underlying, as U=FILE: implied vol and vol moves from the index"),
    vol_moves: str = typer.Option("auto", "--vol-moves", help=VOL_MODE_HELP),
    filtered: bool = typer.Option(True, "--filtered/--unfiltered", help="filtered historical simulation for hvar/es (default on)"),
    stress: Optional[str] = typer.Option(None, "--stress", metavar="FIRST:LAST",
                                         help="stressed period always in the hvar/es scenarios"),
    span_credits: bool = typer.Option(True, "--span-credits/--no-span-credits", help="span16 inter-commodity spread credits (calibrated daily)"),
    alpha_es: float = typer.Option(0.975, "--alpha-es", parser=parse_alpha, metavar="FLOAT",
                                   help="ES confidence, in [0.5, 1)"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="write a PNG: FILE.png, or a directory for DIR/backtest.png"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table (schema in docs/CLI.md)"),
) -> None:
    """Replay daily prices: exceedances (Kupiec POF) and requirement ÷ isolated per model.

    Exit codes: 0 done, 2 bad input or usage."""
    from ..margin.backtest import BASELINE, BOOKS, plot_backtest, run_backtest
    from ..margin.historical import HistoricalConfig, parse_stress
    from ..margin.history import load_histories

    def run():
        if names:
            labels = [n.strip() for n in names.split(",")]
            if len(labels) != len(prices):
                _fail("--names needs one name per CSV")
        else:
            labels = [p.stem.split("_")[0].upper() for p in prices]
        if len(set(labels)) != len(labels):
            _fail("two price files map to the same underlying name; use --names")
        hist = load_histories(dict(zip(labels, prices)))
        vh = _parse_vol_histories(vol_history)
        cfg = HistoricalConfig(vol_moves=value_of(vol_moves), filtered=filtered,
                               stress=parse_stress(stress, "--stress", "period") if stress else None)
        chosen_books = books or [b for b in BOOKS if BOOKS[b].min_assets <= len(labels)]
        report = run_backtest(hist, books=chosen_books, models=[value_of(m) for m in models] if models else None,
                              window=window, alpha_es=alpha_es, vol_history=vh, config=cfg,
                              span_credits=span_credits)
        try:
            written = plot_backtest(report, plot) if plot is not None else None
        except OSError as exc:
            _fail(f"cannot write the plot: {exc.strerror}")
        return report, written

    report, written = guard(run)
    if as_json:
        out = {"command": "backtest", "exit_code": 0, **report.summary()}
        if written is not None:
            out["plot"] = str(written)
        emit_json(out)
        return
    _print_backtest(report, BASELINE)
    if written is not None:
        typer.echo(f"plot written to {written}")


def _print_backtest(report, baseline: str) -> None:
    """The backtest table (short headers, explained under it) and the run's settings."""
    from .tables import Column, Grid, console, show

    grid = Grid(f"backtest {report.start} → {report.end} ({report.days} days, coverage "
                f"{report.settings['coverage']:.0%})",
                [Column("book"), Column("model"), Column("exceed.", True), Column("exp.", True),
                 Column("LR", True), Column("p", True), Column("95 %", True), Column("÷ iso.", True)])
    for row in report.summary()["results"]:
        grid.rows.append([row["book"], row["model"], str(row["exceedances"]), f"{row['expected']:.1f}",
                          f"{row['kupiec_lr']:.2f}", f"{row['kupiec_p']:.3f}",
                          "pass" if row["passes_95"] else "FAIL", f"{row['requirement_ratio']:.3f}"])
    grid.notes.append(f"exceed.: days the loss exceeded the requirement; exp.: expected exceedances; LR: Kupiec "
                      f"POF likelihood ratio; p: its p-value (95 %: pass when p >= 0.05); ÷ iso.: req ÷ isolated, "
                      f"the mean daily requirement over the {baseline} requirement (baseline {baseline}, whose "
                      f"own exceedances are in its row)")
    pol = report.settings["scenario_policy"]
    grid.notes.append(f"hvar/es/mcvar scenarios: vol moves {pol['vol_moves']}, filtered {pol['filtered']}, "
                      f"stress {pol['stress']}; span16 credits {'on' if report.settings['span_credits'] else 'off'}")
    if report.skipped:
        grid.notes.append(f"skipped {len(report.skipped)} day(s) before a data gap: {', '.join(report.skipped)}")
    for why, ds in report.skipped_other.items():
        grid.notes.append(f"skipped {len(ds)} day(s): {why} ({ds[0]} .. {ds[-1]})")
    show(console(), grid)


def register(app: typer.Typer) -> None:
    """Add this area's verbs to the root app."""
    app.command("margin")(margin_cmd)
    app.command("backtest")(backtest_cmd)
