"""Backtesting margin models on daily price histories.

Each day t (after a ``window`` of history) a book is (re)built at constant USD notional, every
model sets its maintenance margin M_t from information up to t only, and the realised loss of
holding the book to the next day is

    loss_t = −Σ_i q_i·(V_i(S_{t+1}, σ_{t+1}, τ − 1 day) − V_i(S_t, σ_t, τ))

(spot/linear: S, inverse: F·S/S_t, options Black–Scholes on spot: the backtest markets carry
no forwards). An **exceedance** is loss_t > M_t.

Daily market at t
-----------------
* spot = close_t; σ_daily = EWMA (λ = 0.94) of the window's one-day log returns;
* implied vol σ_t: the vol index level of day t when a vol history is given for the underlying
  (``vol_history``, e.g. Deribit DVOL), else σ_daily·√365 (realised vol stands in for implied);
  the realised loss re-prices the options at σ_{t+1} of the next day, so vol moves are in it;
* span16: price_scan = 3·σ_daily, vol_scan = 0.25·σ_t (a vol-scaled scan, recalibrated daily as
  clearing houses do); with ≥ 2 assets and ``span_credits`` on, inter-commodity spread credits
  calibrated from the window's EWMA covariance (:func:`.credits.calibrate_spread_credits`);
* var / mcvar: EWMA covariance of the window's returns; hvar / es: the window's returns as the
  lookback, under the scenario policy ``config`` (:mod:`.historical`; default: vol moves
  ``auto`` — the vol index where given, else the EWMA proxy — filtered historical simulation
  (returns rescaled to today's EWMA vol, the CCP practice), no stress period). The EWMA
  filters run over the whole history up to t (no look-ahead).

Coverage: Kupiec proportion-of-failures test at p = 1 − 0.99 for every model (the usual margin
coverage target; ES 97.5 % is roughly VaR 99 % under normality):

    LR = −2·[(n − x)·ln(1 − p) + x·ln p − (n − x)·ln(1 − x/n) − x·ln(x/n)],  LR ~ χ²₁,
    p-value = erfc(√(LR/2)).

A model passes at 95 % when p-value ≥ 0.05: too many exceedances (under-margined) and too few
(over-margined) both fail.

Requirement ratio = mean over days of M_t(model) / M_t(isolated). The baseline ``isolated`` is
always run and its own exceedances are reported, so the ratio is read against a baseline whose
coverage is visible (exchange maintenance margin is thin: it is not a safe reference). The JSON
key ``capital_efficiency`` is kept as an alias of ``requirement_ratio`` for older scripts.

Days skipped (listed in the report): a day whose next close is more than one calendar day later
(its "next-day" loss spans several days); days before the first full window; with a vol
history, days without an index value for t or t+1 and days whose lookback is not covered by
the index; with a stress period, days up to the end of that period (it must be in the past).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from .credits import calibrate_spread_credits
from .errors import ModelError
from .historical import (
    HistoricalConfig,
    monte_carlo_scenarios,
    normal_draws,
    scenario_source,
    scenarios_from_source,
    source_prefix,
)
from .history import PriceHistory, VolIndexHistory, ewma_covariance
from .instruments import unit_pnl
from .market import Market, UnderlyingParams
from .models import compute_margin
from .portfolio import Portfolio, parse_portfolio
from .pricing import black_scholes
from .riskarray import net_positions

MODELS_BT = ("isolated", "cross", "span16", "paradex", "deribit", "var", "mcvar", "hvar", "es")
COVERAGE = 0.99
NOTIONAL = 1_000_000.0
BASELINE = "isolated"
DEFAULT_CONFIG = HistoricalConfig(vol_moves="auto", filtered=True)


@dataclass(frozen=True)
class Book:
    """A named book: ``build(names, spots, expiry_iso)`` → position dicts (portfolio.json style)."""

    name: str
    min_assets: int
    build: Callable[[list[str], dict[str, float], str], list[dict]]
    description: str = ""


def _long(names, spots, expiry):
    u = names[0]
    return [{"type": "perpetual", "underlying": u, "quantity": NOTIONAL / spots[u]}]


def _short(names, spots, expiry):
    u = names[0]
    return [{"type": "perpetual", "underlying": u, "quantity": -NOTIONAL / spots[u]}]


def _multi(names, spots, expiry):
    weights = [1.0, -0.6, 0.4, -0.2]
    return [{"type": "perpetual", "underlying": u, "quantity": w * NOTIONAL / spots[u]}
            for u, w in zip(names, weights)]


def _short_strangle(names, spots, expiry):
    u = names[0]
    q = -NOTIONAL / spots[u]
    return [{"type": "option", "underlying": u, "right": "put", "strike": 0.9 * spots[u],
             "expiry": expiry, "quantity": q},
            {"type": "option", "underlying": u, "right": "call", "strike": 1.1 * spots[u],
             "expiry": expiry, "quantity": q}]


BOOKS: dict[str, Book] = {
    "long": Book("long", 1, _long, "long 1M USD perpetual on the first asset"),
    "short": Book("short", 1, _short, "short 1M USD perpetual on the first asset"),
    "multi": Book("multi", 2, _multi, "perpetuals +1M / −0.6M / +0.4M / −0.2M USD across the assets"),
    "short_strangle": Book("short_strangle", 1, _short_strangle,
                           "short 30-day 90 %/110 % strangle, 1M USD notional per leg"),
}


def kupiec(x: int, n: int, p: float) -> tuple[float, float]:
    """(LR statistic, p-value) of the Kupiec POF test for x exceedances in n days."""
    if n == 0:
        return 0.0, 1.0
    if x == 0:
        lr = -2.0 * n * math.log(1.0 - p)
    elif x == n:
        lr = -2.0 * n * math.log(p)
    else:
        phat = x / n
        lr = -2.0 * ((n - x) * math.log(1 - p) + x * math.log(p)
                     - (n - x) * math.log(1 - phat) - x * math.log(phat))
    lr = max(lr, 0.0)
    return lr, math.erfc(math.sqrt(lr / 2.0))


@dataclass
class BookResult:
    book: str
    margins: dict[str, np.ndarray]
    losses: np.ndarray


@dataclass
class BacktestReport:
    start: str
    end: str
    dates: list[str]
    results: list[BookResult] = field(default_factory=list)
    max_gap_days: int = 1
    skipped: list[str] = field(default_factory=list)
    names: tuple[str, ...] = ()
    prices: np.ndarray | None = None          # closes on ``dates`` (days × names)
    settings: dict = field(default_factory=dict)
    skipped_other: dict = field(default_factory=dict)

    @property
    def days(self) -> int:
        return len(self.dates)

    def rows(self):
        for br in self.results:
            iso = br.margins.get(BASELINE)
            iso_x = int(np.sum(br.losses > iso)) if iso is not None else None
            for model, m in br.margins.items():
                exc = br.losses > m
                x = int(np.sum(exc))
                n = len(m)
                lr, pv = kupiec(x, n, 1 - COVERAGE)
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = float(np.mean(m / iso)) if iso is not None else float("nan")
                yield {"book": br.book, "model": model, "confidence": COVERAGE, "days": n,
                       "exceedances": x, "expected": n * (1 - COVERAGE), "kupiec_lr": lr,
                       "kupiec_p": pv, "passes_95": pv >= 0.05, "requirement_ratio": ratio,
                       "capital_efficiency": ratio, "baseline": BASELINE,
                       "baseline_exceedances": iso_x, "mean_margin": float(np.mean(m)),
                       "exceedance_dates": [d for d, e in zip(self.dates, exc) if e]}

    def summary(self) -> dict:
        return {"start": self.start, "end": self.end, "days": self.days,
                "max_gap_days": self.max_gap_days, "skipped_gap_days": self.skipped,
                "skipped_other": self.skipped_other, "settings": self.settings,
                "results": list(self.rows())}


def _window_returns(src_r: np.ndarray, n: int, window: int) -> np.ndarray:
    return src_r[max(0, n - window):n]


def _day_market(hist: PriceHistory, t: int, sig_daily: np.ndarray, vols: np.ndarray,
                credits=()) -> Market:
    as_of = datetime.fromisoformat(hist.dates[t]).replace(tzinfo=timezone.utc)
    unds = {}
    for k, u in enumerate(hist.names):
        unds[u] = UnderlyingParams(spot=float(hist.closes[t, k]), vol=float(vols[k]),
                                   price_scan=3.0 * float(sig_daily[k]), vol_scan=0.25 * float(vols[k]))
    return Market(as_of=as_of, underlyings=unds, spread_credits=tuple(credits))


def _window_history(hist: PriceHistory, t: int, window: int) -> PriceHistory:
    return PriceHistory(hist.dates[t - window:t + 1], hist.names, hist.closes[t - window:t + 1])


def _realised_loss(pf: Portfolio, m0: Market, m1: Market) -> float:
    """−P&L of holding the book from m0 to m1 (time passes: τ shrinks by the day count)."""
    instruments, q = net_positions(pf)
    pnl = 0.0
    for inst, qi in zip(instruments, q):
        p0 = m0.underlyings[inst.underlying]
        p1 = m1.underlyings[inst.underlying]
        if inst.is_option:
            v0 = black_scholes(p0.spot, inst.strike, m0.tau(inst.expiry), p0.vol, inst.is_call)
            v1 = black_scholes(p1.spot, inst.strike, m1.tau(inst.expiry), p1.vol, inst.is_call)
            pnl += qi * float(v1 - v0)
        else:
            pnl += qi * float(unit_pnl(inst, p0.spot, p0.vol, p1.spot, p1.vol, 0.0))
    return -pnl


def run_backtest(hist: PriceHistory, books: list[str] | None = None, models: list[str] | None = None,
                 window: int = 250, start: int | None = None, alpha_es: float = 0.975, *,
                 vol_history: VolIndexHistory | None = None, config: HistoricalConfig | None = None,
                 span_credits: bool = True, lam: float = 0.94) -> BacktestReport:
    """Replay ``hist`` day by day (see module docstring); ``start`` skips to a later day index.
    ``config``: scenario policy of hvar / es / mcvar (its lookback is set to ``window``)."""
    if window < 20:
        raise ModelError(f"window must be at least 20 days, got {window}")
    books = books or [b for b in BOOKS if BOOKS[b].min_assets <= len(hist.names)]
    for b in books:
        if b not in BOOKS:
            raise ModelError(f"unknown book {b!r} (one of {', '.join(BOOKS)})")
        if BOOKS[b].min_assets > len(hist.names):
            raise ModelError(f"book {b!r} needs at least {BOOKS[b].min_assets} price histories")
    models = list(dict.fromkeys(models or MODELS_BT))
    for m in models:
        if m not in MODELS_BT:
            raise ModelError(f"unknown model {m!r} (one of {', '.join(MODELS_BT)})")
    if BASELINE not in models:
        models = [BASELINE] + models
    cfg = replace(config or DEFAULT_CONFIG, lookback=window)
    names = list(hist.names)
    vh = vol_history
    if vh is not None:
        unknown = [u for u in vh.series if u not in names]
        if unknown:
            raise ModelError(f"vol history for {', '.join(unknown)} but no price history for it")
    src = scenario_source(hist, cfg, vh, names)
    # valid-return count available at each row t (returns ending on or before dates[t])
    row_of_label = {d: k for k, d in enumerate(hist.dates)}
    n_at = np.zeros(len(hist.dates), int)
    for k, d in enumerate(src.labels):
        n_at[row_of_label[d]:] = k + 1

    def implied(t: int) -> np.ndarray | None:
        n = n_at[t]
        r = _window_returns(src.returns, n, window)
        sig = np.sqrt(np.diag(ewma_covariance(r, lam))) if len(r) else np.zeros(len(names))
        out = sig * math.sqrt(365.0)
        if vh is not None:
            for k, u in enumerate(names):
                if u in vh.series:
                    lv = vh.level(u, hist.dates[t])
                    if lv is None:
                        return None
                    out[k] = lv
        return out

    first = max(window, start or 0)
    gap_starts = {g[0] for g in hist.gaps()}
    all_days = range(first, len(hist.dates) - 1)
    skipped = [hist.dates[t] for t in all_days if hist.dates[t] in gap_starts]
    other: dict[str, list[str]] = {}
    days = []
    vols_at: dict[int, np.ndarray] = {}
    need_index = vh is not None and cfg.vol_moves in ("index", "auto")
    for t in all_days:
        if hist.dates[t] in gap_starts:
            continue
        if n_at[t] < window:
            other.setdefault("window not full (gaps)", []).append(hist.dates[t])
            continue
        if cfg.stress is not None and hist.dates[t] <= cfg.stress[1]:
            other.setdefault("stress period not yet in the past", []).append(hist.dates[t])
            continue
        v0, v1 = implied(t), implied(t + 1)
        if v0 is None or v1 is None:
            other.setdefault("no vol index value for the day or the next", []).append(hist.dates[t])
            continue
        if need_index and src.vol_moves is not None:
            n = n_at[t]
            block = src.vol_moves[max(0, n - window):n]
            if not np.all(np.isfinite(block)):
                other.setdefault("lookback not covered by the vol index", []).append(hist.dates[t])
                continue
        vols_at[t], vols_at[t + 1] = v0, v1
        days.append(t)
    if not days:
        raise ModelError("no day can be backtested: history too short for the window "
                         "(or not covered by the vol history / stress period)")
    report = BacktestReport(hist.dates[days[0]], hist.dates[days[-1]], [hist.dates[t] for t in days],
                            max_gap_days=hist.max_gap_days(), skipped=skipped, names=tuple(names),
                            prices=hist.closes[days], skipped_other=other)
    report.settings = {"window": window, "alpha_es": alpha_es, "coverage": COVERAGE,
                       "span_credits": bool(span_credits and len(names) > 1),
                       "scenario_policy": {k: v for k, v in cfg.describe().items()},
                       "implied_vol": {u: ("vol index" if vh is not None and u in vh.series else
                                           "EWMA realised vol x sqrt(365)") for u in names}}
    draws = None
    if "mcvar" in models:
        n_idx = sum(1 for u in names if vh is not None and u in vh.series) if cfg.vol_moves != "none" else 0
        draws = normal_draws(len(names) + n_idx, cfg)
    markets: dict[int, Market] = {}
    scen_cache: dict[int, object] = {}
    mc_cache: dict[tuple, object] = {}
    for t in sorted(set(days) | {t + 1 for t in days}):
        n = n_at[t]
        r = _window_returns(src.returns, n, window)
        cov = ewma_covariance(r, lam)
        sig = np.sqrt(np.diag(cov))
        credits = calibrate_spread_credits(names, cov) if span_credits and len(names) > 1 else ()
        markets[t] = _day_market(hist, t, sig, vols_at[t], credits)
    for b in books:
        margins = {m: np.zeros(len(days)) for m in models}
        losses = np.zeros(len(days))
        for k, t in enumerate(days):
            mk = markets[t]
            expiry = (mk.as_of + timedelta(days=30)).isoformat()
            spots = {u: p.spot for u, p in mk.underlyings.items()}
            pf = parse_portfolio({"positions": BOOKS[b].build(names, spots, expiry)}, mk)
            for m in models:
                kw: dict = {}
                if m in ("hvar", "es"):
                    if t not in scen_cache:
                        scen_cache[t] = scenarios_from_source(source_prefix(src, n_at[t]), cfg)
                    kw["scenarios"] = scen_cache[t]
                    if m == "es":
                        kw["alpha"] = alpha_es
                elif m == "mcvar":
                    unds = tuple(pf.underlyings)
                    key = (t, unds)
                    if key not in mc_cache:
                        idx = [names.index(u) for u in unds]
                        n = n_at[t]
                        cov = ewma_covariance(_window_returns(src.returns, n, window), lam)[np.ix_(idx, idx)]
                        wh = _window_history(hist, t, min(window, t))
                        mc_cache[key] = monte_carlo_scenarios(unds, cov, cfg, hist=wh, vol_history=vh,
                                                              draws=draws)
                    kw["scenarios"] = mc_cache[key]
                elif m == "var":
                    kw["history"] = _window_history(hist, t, min(window, t))
                margins[m][k] = compute_margin(pf, mk, m, **kw).maintenance
            losses[k] = _realised_loss(pf, mk, markets[t + 1])
        report.results.append(BookResult(b, margins, losses))
    return report


# ----------------------------------------------------------------------------- plotting

PALETTE = {"isolated": ("#000000", "--"), "cross": ("#7f7f7f", ":"), "span16": ("#1f77b4", "-"),
           "paradex": ("#17becf", "-."), "deribit": ("#8c564b", "-."), "var": ("#9467bd", ":"),
           "mcvar": ("#e377c2", "-"), "hvar": ("#2ca02c", "-"), "es": ("#d62728", "-")}


def plot_path(path: str | Path, default_name: str = "backtest.png") -> Path:
    """``--plot`` target: a ``.png`` path is the file, anything else a directory (created)
    that receives ``default_name``."""
    p = Path(path)
    if p.suffix.lower() == ".png":
        p.parent.mkdir(parents=True, exist_ok=True)
        return p
    p.mkdir(parents=True, exist_ok=True)
    return p / default_name


def plot_backtest(report: BacktestReport, path: str | Path) -> Path:
    """Price path (rebased to 100) in a top panel, then one panel per book: realised next-day
    loss, each model's margin (distinct colour and line style), exceedance days marked with the
    model's colour; legend outside the data. PNG via the Agg backend; returns the file written."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = plot_path(path)
    n = len(report.results)
    heights = [1.2] + [2.2] * n
    fig, axes = plt.subplots(n + 1, 1, figsize=(12.5, sum(heights) * 1.6 + 0.6), sharex=True,
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    x = np.array([np.datetime64(d) for d in report.dates])
    top = axes[0, 0]
    if report.prices is not None and len(report.prices):
        for k, u in enumerate(report.names):
            top.plot(x, 100.0 * report.prices[:, k] / report.prices[0, k], lw=1.0, label=u)
    top.set_yscale("log")
    top.set_ylabel("price\n(rebased to 100)")
    top.set_title(f"backtest {report.start} → {report.end}: {report.days} days, "
                  f"coverage target {COVERAGE:.0%} (Kupiec)")
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    rows = {(r["book"], r["model"]): r for r in report.rows()}
    for ax, br in zip(axes[1:, 0], report.results):
        pos = br.losses > 0
        ax.scatter(x[pos], br.losses[pos], s=4, color="#bbbbbb", label="realised loss (> 0)", zorder=1)
        for j, (model, m) in enumerate(br.margins.items()):
            colour, style = PALETTE.get(model, (f"C{j}", "-"))
            r = rows[(br.book, model)]
            ax.plot(x, m, lw=1.1, color=colour, ls=style, zorder=2,
                    label=f"{model}: {r['exceedances']} exc. (exp. {r['expected']:.1f}), "
                          f"p={r['kupiec_p']:.2f}, req/iso {r['requirement_ratio']:.2f}")
        # exceedance marks: models with many exceedances first, so the rare ones stay visible
        order = sorted(br.margins, key=lambda mm: -int(((br.losses > br.margins[mm])).sum()))
        for j, model in enumerate(order):
            exc = br.losses > br.margins[model]
            if exc.any():
                colour, _ = PALETTE.get(model, (f"C{j}", "-"))
                ax.scatter(x[exc], br.losses[exc], s=24, marker="x", color=colour, zorder=3 + j)
        ax.set_yscale("log", nonpositive="mask")
        ax.set_ylabel("USD (log scale)")
        ax.set_title(f"book {br.book}: maintenance margin vs next-day loss; × = exceedance "
                     f"(loss above that model's margin)", fontsize=9)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    axes[-1, 0].set_xlabel("day t (loss from t to t + 1)")
    fig.tight_layout()
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out
