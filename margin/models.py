"""All margin models behind one function, :func:`compute_margin`.

| name       | what                                                  | IM / MM                  |
|------------|-------------------------------------------------------|--------------------------|
| isolated   | per-position tiered exchange margin (:mod:`.standard`) | tier IM / tier MM       |
| cross      | netted per instrument, one collateral pool             | tier IM / tier MM       |
| span16     | CME SPAN 16-scenario scan, sum over underlyings        | IM = MM = span16        |
| paradex    | Paradex-style grid (:data:`.scenarios.PARADEX`)         | IM = scan+…, MM = 50 %  |
| deribit    | Deribit-style grid (:data:`.scenarios.DERIBIT`)         | IM, MM = 80 % of IM     |
| grid       | any :class:`.scenarios.GridSpec` passed as ``spec``     | per spec                |
| var        | delta-normal VaR, α = 0.99, EWMA λ = 0.94 covariance    | IM = MM = VaR           |
| hvar       | historical-simulation VaR, α = 0.99, full revaluation  | IM = MM = VaR           |
| es         | historical expected shortfall, α = 0.975               | IM = MM = ES            |

VaR/ES need data: a covariance (market ``covariance``) or a price history (market ``history``
or the ``history`` argument, a :class:`.history.PriceHistory`).
"""

from __future__ import annotations

import numpy as np

from .errors import ModelError
from .history import PriceHistory, covariance
from .market import Market
from .portfolio import Portfolio
from .result import MarginResult
from .riskarray import (RiskArray, grid_risk_array, historical_risk_array, net_positions,
                        span16_risk_array, worst_case_by_group)
from .scenarios import PRESETS, GridSpec
from .standard import cross_margin, isolated_margin
from .valuation import dollar_deltas, equity
from .var import delta_normal_var, hs_var_es

MODELS = ("isolated", "cross", "span16", "paradex", "deribit", "var", "hvar", "es")
DEFAULT_ALPHA = {"var": 0.99, "hvar": 0.99, "es": 0.975}


def history_of(market: Market, history: PriceHistory | None) -> PriceHistory | None:
    """The explicit history, else the market's embedded ``history``, else None."""
    if history is not None:
        return history
    if market.history is not None:
        dates, closes = market.history
        names = tuple(closes)
        return PriceHistory(tuple(dates), names, np.column_stack([closes[n] for n in names]))
    return None


def _need(hist: PriceHistory | None, unds: list[str], model: str) -> PriceHistory:
    if hist is None:
        raise ModelError(f"model {model!r} needs a price history (market 'history' or --history)")
    missing = [u for u in unds if u not in hist.names]
    if missing:
        raise ModelError(f"model {model!r}: no price history for {', '.join(missing)}")
    return hist


def scenario_margin(ra: RiskArray, portfolio: Portfolio, market: Market, model: str,
                    mm_fraction: float = 1.0) -> MarginResult:
    """IM = Σ_u requirement_u of a worst-case risk array; MM = mm_fraction·IM."""
    parts = worst_case_by_group(ra)
    breakdown = {}
    for g, u in enumerate(ra.underlyings):
        req = float(parts["requirement"][g])
        breakdown[u] = {"initial": req, "maintenance": mm_fraction * req,
                        "scan": float(parts["scan"][g]), "short_option_minimum": float(parts["floor"][g]),
                        "contingency": float(parts["short"][g]),
                        "worst_scenario": ra.scenarios[int(parts["worst"][g])].label}
    im = float(parts["requirement"].sum())
    return MarginResult(model, im, mm_fraction * im, equity(portfolio, market), breakdown)


def var_margin(portfolio: Portfolio, market: Market, alpha: float, horizon_days: float,
               history: PriceHistory | None, cov_method: str, lam: float) -> MarginResult:
    deltas = dollar_deltas(portfolio, market)
    unds = list(deltas)
    if market.covariance is not None and history is None:
        names, mat = market.covariance
        missing = [u for u in unds if u not in names]
        if missing:
            raise ModelError(f"model 'var': covariance lacks {', '.join(missing)}")
        idx = [names.index(u) for u in unds]
        cov = mat[np.ix_(idx, idx)]
        source = "market covariance"
    else:
        hist = _need(history_of(market, history), unds, "var")
        idx = [hist.names.index(u) for u in unds]
        cov = covariance(hist.log_returns()[:, idx], cov_method, lam)
        source = f"{cov_method} covariance of {len(hist.dates) - 1} daily returns"
    d = np.array([deltas[u] for u in unds])
    total = delta_normal_var(d, cov, alpha, horizon_days)
    breakdown = {}
    for k, u in enumerate(unds):
        alone = delta_normal_var(d[k:k + 1], cov[k:k + 1, k:k + 1], alpha, horizon_days)
        breakdown[u] = {"initial": alone, "maintenance": alone, "dollar_delta": float(d[k])}
    details = {"alpha": alpha, "horizon_days": horizon_days, "covariance": source,
               "diversification": sum(b["initial"] for b in breakdown.values()) - total}
    return MarginResult("var", total, total, equity(portfolio, market), breakdown, details)


def historical_array(portfolio: Portfolio, market: Market, hist: PriceHistory,
                     lookback: int | None = None) -> RiskArray:
    """Historical risk array of a portfolio over the (last ``lookback``) daily log returns."""
    instruments, q = net_positions(portfolio)
    r = hist.log_returns()
    labels = list(hist.dates[1:])
    if lookback:
        r, labels = r[-lookback:], labels[-lookback:]
    return historical_risk_array(instruments, q, market, labels, list(hist.names), r)


def hs_margin(portfolio: Portfolio, market: Market, model: str, alpha: float,
              history: PriceHistory | None, lookback: int | None) -> MarginResult:
    unds = portfolio.underlyings
    hist = _need(history_of(market, history), unds, model)
    ra = historical_array(portfolio, market, hist, lookback)
    pick = 0 if model == "hvar" else 1
    total = max(0.0, float(hs_var_es(ra.losses(), alpha)[pick]))
    breakdown = {}
    for g, u in enumerate(ra.underlyings):
        if u not in unds:
            continue
        q = np.where(ra.instrument_group == g, ra.quantities, 0.0)
        alone = max(0.0, float(hs_var_es(ra.losses(q), alpha)[pick]))
        breakdown[u] = {"initial": alone, "maintenance": alone}
    details = {"alpha": alpha, "scenarios": len(ra.scenarios),
               "diversification": sum(b["initial"] for b in breakdown.values()) - total}
    return MarginResult(model, total, total, equity(portfolio, market), breakdown, details)


def compute_margin(portfolio: Portfolio, market: Market, model: str = "span16", *,
                   alpha: float | None = None, horizon_days: float = 1.0,
                   history: PriceHistory | None = None, cov_method: str = "ewma",
                   lam: float = 0.94, lookback: int | None = None,
                   spec: GridSpec | None = None) -> MarginResult:
    """Margin of ``portfolio`` under ``model`` (see the module table)."""
    if model == "isolated":
        return isolated_margin(portfolio, market)
    if model == "cross":
        return cross_margin(portfolio, market)
    instruments, q = net_positions(portfolio)
    if model == "span16":
        return scenario_margin(span16_risk_array(instruments, q, market), portfolio, market, model)
    if model in PRESETS or model == "grid":
        spec = spec or PRESETS.get(model)
        if spec is None:
            raise ModelError("model 'grid' needs a GridSpec")
        ra = grid_risk_array(instruments, q, market, spec)
        return scenario_margin(ra, portfolio, market, model, spec.mm_fraction)
    a = alpha if alpha is not None else DEFAULT_ALPHA.get(model, 0.99)
    if model == "var":
        return var_margin(portfolio, market, a, horizon_days, history, cov_method, lam)
    if model in ("hvar", "es"):
        return hs_margin(portfolio, market, model, a, history, lookback)
    raise ModelError(f"unknown model {model!r} (one of {', '.join(MODELS)}, grid)")
