"""Backtesting margin models on daily price histories.

Each day t (after a ``window`` of history) a book is (re)built at constant USD notional, every
model sets its maintenance margin M_t from information up to t only, and the realised loss of
holding the book to t+1 is

    loss_t = −Σ_i q_i·(V_i(S_{t+1}, σ_{t+1}, τ − 1 day) − V_i(S_t, σ_t, τ))

(spot/linear: S, inverse: F·S/S_t, options Black–Scholes). An exceedance is loss_t > M_t.

Daily market at t: spot = close; σ_daily = EWMA (λ = 0.94) of the window's log returns; implied
vol = σ_daily·√365; span16 price_scan = 3·σ_daily, vol_scan = 0.25·implied vol (a vol-scaled
scan, recalibrated daily as clearing houses do); VaR / ES use the window's returns.

Coverage: Kupiec proportion-of-failures test at p = 1 − 0.99 for every model (the usual margin
coverage target; ES 97.5 % is roughly VaR 99 % under normality):

    LR = −2·[(n − x)·ln(1 − p) + x·ln p − (n − x)·ln(1 − x/n) − x·ln(x/n)],  LR ~ χ²₁,
    p-value = erfc(√(LR/2)).

Capital efficiency = mean over days of M_t(model) / M_t(isolated).

Data gaps: a day whose next close is more than one calendar day later (the 2018–2020 Yahoo
files miss a few days) is skipped, since its "next-day" loss spans several days; the skipped
days are listed in the report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import ModelError
from .history import PriceHistory, ewma_covariance
from .instruments import unit_pnl
from .market import Market, UnderlyingParams
from .models import compute_margin
from .portfolio import Portfolio, parse_portfolio
from .riskarray import net_positions

MODELS_BT = ("isolated", "cross", "span16", "paradex", "deribit", "var", "hvar", "es")
COVERAGE = 0.99
NOTIONAL = 1_000_000.0


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
    "multi": Book("multi", 2, _multi, "perpetuals +1M / −0.6M / +0.4M USD across assets"),
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

    @property
    def days(self) -> int:
        return len(self.dates)

    def rows(self):
        for br in self.results:
            iso = br.margins.get("isolated")
            for model, m in br.margins.items():
                x = int(np.sum(br.losses > m))
                n = len(m)
                lr, pv = kupiec(x, n, 1 - COVERAGE)
                eff = float(np.mean(m / iso)) if iso is not None else float("nan")
                yield {"book": br.book, "model": model, "confidence": COVERAGE, "days": n,
                       "exceedances": x, "expected": n * (1 - COVERAGE), "kupiec_lr": lr,
                       "kupiec_p": pv, "capital_efficiency": eff, "mean_margin": float(np.mean(m))}

    def summary(self) -> dict:
        return {"start": self.start, "end": self.end, "days": self.days,
                "max_gap_days": self.max_gap_days, "skipped_gap_days": self.skipped,
                "results": list(self.rows())}


def _day_market(hist: PriceHistory, t: int, window: int) -> Market:
    r = hist.log_returns()[t - window:t]
    sig = np.sqrt(np.diag(ewma_covariance(r)))
    as_of = datetime.fromisoformat(hist.dates[t]).replace(tzinfo=timezone.utc)
    unds = {}
    for k, u in enumerate(hist.names):
        vol = float(sig[k] * math.sqrt(365.0))
        unds[u] = UnderlyingParams(spot=float(hist.closes[t, k]), vol=vol,
                                   price_scan=3.0 * float(sig[k]), vol_scan=0.25 * vol)
    return Market(as_of=as_of, underlyings=unds)


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
            from .pricing import black_scholes
            v0 = black_scholes(p0.spot, inst.strike, m0.tau(inst.expiry), p0.vol, inst.is_call)
            v1 = black_scholes(p1.spot, inst.strike, m1.tau(inst.expiry), p1.vol, inst.is_call)
            pnl += qi * float(v1 - v0)
        else:
            pnl += qi * float(unit_pnl(inst, p0.spot, p0.vol, p1.spot, p1.vol, 0.0))
    return -pnl


def run_backtest(hist: PriceHistory, books: list[str] | None = None, models: list[str] | None = None,
                 window: int = 250, start: int | None = None, alpha_es: float = 0.975) -> BacktestReport:
    """Replay ``hist`` day by day (see module docstring); ``start`` skips to a later day index."""
    books = books or [b for b in BOOKS if BOOKS[b].min_assets <= len(hist.names)]
    models = list(models or MODELS_BT)
    if "isolated" not in models:
        models = ["isolated"] + models
    first = max(window, start or 0)
    gap_starts = {g[0] for g in hist.gaps()}
    all_days = range(first, len(hist.dates) - 1)
    days = [t for t in all_days if hist.dates[t] not in gap_starts]
    if len(days) < 1:
        raise ModelError("history too short for the window")
    report = BacktestReport(hist.dates[first], hist.dates[-2], [hist.dates[t] for t in days],
                            max_gap_days=hist.max_gap_days(),
                            skipped=[hist.dates[t] for t in all_days if hist.dates[t] in gap_starts])
    names = list(hist.names)
    markets = {t: _day_market(hist, t, window) for t in range(first, len(hist.dates))}
    for b in books:
        margins = {m: np.zeros(len(days)) for m in models}
        losses = np.zeros(len(days))
        for k, t in enumerate(days):
            mk = markets[t]
            expiry = (mk.as_of + timedelta(days=30)).isoformat()
            spots = {u: p.spot for u, p in mk.underlyings.items()}
            pf = parse_portfolio({"positions": BOOKS[b].build(names, spots, expiry)}, mk)
            wh = _window_history(hist, t, window)
            for m in models:
                kw = {"history": wh} if m in ("var", "hvar", "es") else {}
                if m == "es":
                    kw["alpha"] = alpha_es
                margins[m][k] = compute_margin(pf, mk, m, **kw).maintenance
            losses[k] = _realised_loss(pf, mk, markets[t + 1])
        report.results.append(BookResult(b, margins, losses))
    return report


def plot_backtest(report: BacktestReport, path: str | Path) -> Path:
    """One panel per book: realised daily loss and each model's margin (PNG, Agg backend)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = max(len(report.results), 1)
    fig, axes = plt.subplots(n, 1, figsize=(11, 3.2 * n), squeeze=False)
    x = np.array([np.datetime64(d) for d in report.dates])
    for ax, br in zip(axes[:, 0], report.results):
        pos = br.losses > 0
        ax.scatter(x[pos], br.losses[pos], s=3, color="black", label="realised loss (> 0)")
        for model, m in br.margins.items():
            ax.plot(x, m, lw=0.9, label=f"{model} ({int(np.sum(br.losses > m))} exc.)")
        ax.set_title(f"book {br.book}: margin vs next-day loss (USD)")
        ax.set_yscale("log", nonpositive="mask")
        ax.legend(fontsize=7, ncol=3, loc="upper left")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
