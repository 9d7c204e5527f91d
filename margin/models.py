"""All margin models behind one function, :func:`compute_margin`.

| name       | what                                                    | IM / MM                 |
|------------|---------------------------------------------------------|-------------------------|
| isolated   | per-position tiered exchange margin (:mod:`.standard`)  | tier IM / tier MM       |
| cross      | netted per instrument, one collateral pool              | tier IM / tier MM       |
| span16     | CME SPAN 16-scenario scan, sum over underlyings, minus   | IM = MM = span16        |
|            | inter-commodity spread credits when configured          |                         |
| paradex    | Paradex-style grid (:data:`.scenarios.PARADEX`)          | IM = scan+…, MM = 50 %  |
| deribit    | Deribit-style grid (:data:`.scenarios.DERIBIT`)          | IM, MM = 80 % of IM     |
| grid       | any :class:`.scenarios.GridSpec` passed as ``spec``      | per spec                |
| var        | delta-normal VaR (LINEAR: ignores gamma/vega), α = 0.99 | IM = MM = VaR           |
| mcvar      | Monte Carlo VaR, full revaluation, α = 0.99             | IM = MM = VaR           |
| hvar       | historical-simulation VaR, α = 0.99, full revaluation   | IM = MM = VaR           |
| es         | historical expected shortfall, α = 0.975                | IM = MM = ES            |

VaR/ES need data: a covariance (market ``covariance``) or a price history (market ``history``
or the ``history`` argument, a :class:`.history.PriceHistory`). The scenario policy of
``hvar``/``es``/``mcvar`` (vol moves, filtering, stressed period, lookback) comes from the
``historical`` argument, else the market's ``historical`` block, else the legacy policy (vol
frozen, unfiltered, whole history) — see :mod:`.historical`. ``mcvar``, and every scenario
model on a market that embeds a ``vol_history``, move vols (``auto``) unless a policy says
otherwise.

Input checks (:class:`ModelError`, one line): 0.5 ≤ alpha < 1; horizon_days > 0 (and = 1 for
the historical models, whose scenarios are one-day moves); at least one scenario beyond the
quantile ((1 − α)·N ≥ 1); histories must not run past the market's ``as_of``.

Warnings (``details["warnings"]``, printed by the CLI): delta-normal ``var`` on a portfolio with
options; ``hvar``/``es`` with frozen vols on a portfolio with options; returns dropped for
spanning data gaps.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .credits import offsets, spread_credit_amounts
from .errors import ModelError
from .historical import LEGACY, HistoricalConfig, ScenarioSet, check_not_after, historical_scenarios, monte_carlo_scenarios
from .history import PriceHistory, covariance
from .market import Market
from .portfolio import Portfolio
from .registry import MODEL_SPECS
from .result import MarginResult
from .riskarray import RiskArray, grid_risk_array, net_positions, scenario_risk_array, span16_risk_array, worst_case_by_group
from .scenarios import PRESETS, GridSpec
from .standard import cross_margin, isolated_margin
from .valuation import dollar_delta_per_unit, dollar_deltas, equity
from .var import check_alpha, delta_normal_var, hs_var_es, tail_count

MODELS = tuple(s.name for s in MODEL_SPECS)
DEFAULT_ALPHA = {s.name: s.alpha for s in MODEL_SPECS if s.alpha is not None}

W_LINEAR_OPTIONS = ("portfolio holds options: delta-normal VaR is a linear model that ignores gamma "
                    "and vega and under-states option risk; use mcvar (full revaluation)")
W_FROZEN_VOL = ("portfolio holds options but implied vol is frozen in every scenario (legacy policy); "
                "option risk is under-stated: use vol moves (--vol-moves auto / --vol-history)")


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


def holds_options(portfolio: Portfolio) -> bool:
    """True when some option has a non-zero net quantity."""
    instruments, q = net_positions(portfolio)
    return any(i.is_option and qi != 0 for i, qi in zip(instruments, q))


def check_horizon(horizon_days) -> float:
    try:
        h = float(horizon_days)
    except (TypeError, ValueError):
        raise ModelError(f"horizon must be a number of days, got {horizon_days!r}") from None
    if not math.isfinite(h) or h <= 0:
        raise ModelError(f"horizon must be a positive number of days, got {horizon_days}")
    return h


def resolve_config(market: Market, historical: HistoricalConfig | None = None,
                   lookback: int | None = None, model: str | None = None) -> HistoricalConfig:
    """The scenario policy in force: argument, else market block, else legacy — with vol moves
    ``auto`` for ``mcvar`` and for a market that embeds a ``vol_history`` (data given to be
    used); ``lookback`` overrides the policy's."""
    if historical is not None:
        cfg = historical
    elif market.historical is not None:
        cfg = market.historical
    elif model == "mcvar" or market.vol_history is not None:
        cfg = replace(LEGACY, vol_moves="auto")
    else:
        cfg = LEGACY
    if lookback:
        cfg = replace(cfg, lookback=int(lookback))
    return cfg


def group_dollar_deltas(ra: RiskArray, market: Market, quantities=None) -> dict[str, float]:
    """δ_g = Σ_{i∈g} q_i·Δ_i·S_g of a worst-case risk array's instruments (USD)."""
    q = ra.quantities if quantities is None else np.asarray(quantities, float)
    out = {u: 0.0 for u in ra.underlyings}
    for inst, qi in zip(ra.instruments, q):
        if qi:
            out[inst.underlying] += float(qi) * dollar_delta_per_unit(inst, market)
    return out


def scenario_margin(ra: RiskArray, portfolio: Portfolio, market: Market, model: str,
                    mm_fraction: float = 1.0, credits=()) -> MarginResult:
    """IM = Σ_u requirement_u of a worst-case risk array; MM = mm_fraction·IM. With spread
    ``credits`` (span16): requirement_u = max(scan_u − credit_u, floor_u) + short_u
    (:mod:`.credits`)."""
    parts = worst_case_by_group(ra)
    credit = {u: 0.0 for u in ra.underlyings}
    details = {}
    if credits:
        deltas = group_dollar_deltas(ra, market)
        scan = {u: float(parts["scan"][g]) for g, u in enumerate(ra.underlyings)}
        ps = {u: market.underlyings[u].price_scan for u in ra.underlyings}
        credit = spread_credit_amounts(scan, deltas, ps, credits)
        details["spread_credits"] = [
            {"pair": [p.first, p.second], "rate": p.rate, "offset_scan_risk": o}
            for p, o in zip(credits, offsets({u: ps[u] * d for u, d in deltas.items()}, credits))]
    breakdown = {}
    total = 0.0
    for g, u in enumerate(ra.underlyings):
        scan_g = float(parts["scan"][g])
        floor_g = float(parts["floor"][g])
        short_g = float(parts["short"][g])
        req = max(scan_g - credit[u], floor_g) + short_g if credits else float(parts["requirement"][g])
        total += req
        breakdown[u] = {"initial": req, "maintenance": mm_fraction * req,
                        "scan": scan_g, "short_option_minimum": floor_g,
                        "contingency": short_g,
                        "worst_scenario": ra.scenarios[int(parts["worst"][g])].label}
        if credits:
            breakdown[u]["spread_credit"] = float(credit[u])
    im = total
    return MarginResult(model, im, mm_fraction * im, equity(portfolio, market), breakdown, details)


def _cov_for(portfolio: Portfolio, market: Market, unds: list[str], history, cov_method, lam,
             model: str, lookback=None, max_gap_days: int = 1):
    if market.covariance is not None and history is None:
        names, mat = market.covariance
        missing = [u for u in unds if u not in names]
        if missing:
            raise ModelError(f"model {model!r}: covariance lacks {', '.join(missing)}")
        idx = [names.index(u) for u in unds]
        return np.asarray(mat)[np.ix_(idx, idx)], "market covariance", None
    hist = _need(history_of(market, history), unds, model)
    check_not_after(hist.dates[-1], market.as_of.date().isoformat(), "history")
    days, r, dropped = hist.daily_returns(max_gap_days)
    if lookback:
        r = r[-int(lookback):]
    if len(r) < 2:
        raise ModelError(f"model {model!r}: the history has fewer than 2 one-day returns")
    idx = [hist.names.index(u) for u in unds]
    cov = covariance(r[:, idx], cov_method, lam)
    return cov, f"{cov_method} covariance of {len(r)} daily returns", (hist, dropped)


def var_margin(portfolio: Portfolio, market: Market, alpha: float, horizon_days: float,
               history: PriceHistory | None, cov_method: str, lam: float) -> MarginResult:
    deltas = dollar_deltas(portfolio, market)
    unds = list(deltas)
    cov, source, extra = _cov_for(portfolio, market, unds, history, cov_method, lam, "var")
    d = np.array([deltas[u] for u in unds])
    total = delta_normal_var(d, cov, alpha, horizon_days)
    breakdown = {}
    for k, u in enumerate(unds):
        alone = delta_normal_var(d[k:k + 1], cov[k:k + 1, k:k + 1], alpha, horizon_days)
        breakdown[u] = {"initial": alone, "maintenance": alone, "dollar_delta": float(d[k])}
    details = {"alpha": alpha, "horizon_days": horizon_days, "covariance": source,
               "model_class": "linear (delta-normal)",
               "diversification": sum(b["initial"] for b in breakdown.values()) - total}
    warnings = []
    if holds_options(portfolio):
        warnings.append(W_LINEAR_OPTIONS)
    if extra and extra[1]:
        warnings.append(f"{len(extra[1])} return(s) spanning data gaps dropped")
    if warnings:
        details["warnings"] = warnings
    return MarginResult("var", total, total, equity(portfolio, market), breakdown, details)


def historical_array(portfolio: Portfolio, market: Market, hist: PriceHistory,
                     lookback: int | None = None, *, config: HistoricalConfig | None = None,
                     vol_history=None) -> RiskArray:
    """Historical risk array of a portfolio (scenario policy ``config``, else the market's,
    else legacy; ``lookback`` overrides the policy's)."""
    instruments, q = net_positions(portfolio)
    cfg = resolve_config(market, config, lookback)
    scen = historical_scenarios(hist, cfg, vol_history=vol_history if vol_history is not None
                                else market.vol_history, as_of=market.as_of,
                                underlyings=portfolio.underlyings)
    return scenario_risk_array(instruments, q, market, scen)


def model_scenarios(portfolio: Portfolio, market: Market, model: str, *, history=None,
                    historical: HistoricalConfig | None = None, lookback=None, vol_history=None,
                    horizon_days: float = 1.0, cov_method: str = "ewma", lam: float = 0.94) -> ScenarioSet:
    """The scenario set ``hvar``/``es`` (historical) or ``mcvar`` (Monte Carlo) evaluate."""
    unds = portfolio.underlyings
    cfg = resolve_config(market, historical, lookback, model)
    vh = vol_history if vol_history is not None else market.vol_history
    if model == "mcvar":
        cov, source, extra = _cov_for(portfolio, market, unds, history, cov_method, lam, model,
                                      cfg.lookback, cfg.max_gap_days)
        hist = extra[0] if extra else history_of(market, history)
        scen = monte_carlo_scenarios(unds, cov, cfg, horizon_days=horizon_days, hist=hist, vol_history=vh)
        scen.notes["covariance"] = source
        return scen
    hist = _need(history_of(market, history), unds, model)
    return historical_scenarios(hist, cfg, vol_history=vh, as_of=market.as_of, underlyings=unds)


def scenarios_for_shape(market: Market, underlyings, n_scenarios: int, *, history=None,
                        vol_history=None, historical: HistoricalConfig | None = None) -> ScenarioSet:
    """Exactly ``n_scenarios`` historical scenarios under the scenario policy in force (argument,
    else the market's ``historical`` block, else legacy), for a circuit shape of that size: the
    stress scenarios of the policy plus the most recent lookback returns that fill the rest.
    Raises :class:`ModelError` when the history (plus stress period) cannot fill the shape."""
    unds = list(underlyings)
    hist = _need(history_of(market, history), unds, "es")
    base = resolve_config(market, historical)
    vh = vol_history if vol_history is not None else market.vol_history
    lookback = n_scenarios
    for _ in range(8):
        scen = historical_scenarios(hist, replace(base, lookback=lookback), vol_history=vh,
                                    as_of=market.as_of, underlyings=unds)
        if len(scen) == n_scenarios:
            return scen
        lookback -= len(scen) - n_scenarios
        if lookback < 1:
            break
    raise ModelError(f"the history gives {len(scen)} scenarios under the policy, the shape needs {n_scenarios}")


def hs_margin(portfolio: Portfolio, market: Market, model: str, alpha: float,
              history: PriceHistory | None, lookback: int | None, *,
              historical: HistoricalConfig | None = None, vol_history=None,
              scenarios: ScenarioSet | None = None, horizon_days: float = 1.0,
              cov_method: str = "ewma", lam: float = 0.94) -> MarginResult:
    unds = portfolio.underlyings
    scen = scenarios if scenarios is not None else model_scenarios(
        portfolio, market, model, history=history, historical=historical, lookback=lookback,
        vol_history=vol_history, horizon_days=horizon_days, cov_method=cov_method, lam=lam)
    instruments, q = net_positions(portfolio)
    ra = scenario_risk_array(instruments, q, market, scen)
    tail_count(alpha, len(scen))
    pick = 1 if model == "es" else 0
    total = max(0.0, float(hs_var_es(ra.losses(), alpha)[pick]))
    breakdown = {}
    for g, u in enumerate(ra.underlyings):
        if u not in unds:
            continue
        qg = np.where(ra.instrument_group == g, ra.quantities, 0.0)
        alone = max(0.0, float(hs_var_es(ra.losses(qg), alpha)[pick]))
        breakdown[u] = {"initial": alone, "maintenance": alone}
    details = {"alpha": alpha, "scenarios": len(ra.scenarios),
               "diversification": sum(b["initial"] for b in breakdown.values()) - total,
               "scenario_policy": {k: v for k, v in scen.notes.items() if k != "dropped_gap_returns"}}
    warnings = []
    if holds_options(portfolio) and scen.vol_moves is None:
        warnings.append(W_FROZEN_VOL)
    if scen.dropped:
        details["dropped_gap_returns"] = list(scen.dropped)
        warnings.append(f"{len(scen.dropped)} return(s) spanning data gaps dropped from the scenarios")
    if warnings:
        details["warnings"] = warnings
    return MarginResult(model, total, total, equity(portfolio, market), breakdown, details)


def compute_margin(portfolio: Portfolio, market: Market, model: str = "span16", *,
                   alpha: float | None = None, horizon_days: float = 1.0,
                   history: PriceHistory | None = None, cov_method: str = "ewma",
                   lam: float = 0.94, lookback: int | None = None,
                   spec: GridSpec | None = None, historical: HistoricalConfig | None = None,
                   vol_history=None, scenarios: ScenarioSet | None = None,
                   credits=None) -> MarginResult:
    """Margin of ``portfolio`` under ``model`` (see the module table).

    ``historical``: scenario policy for hvar/es/mcvar; ``vol_history``: a
    :class:`~zkmargin.margin.history.VolIndexHistory` (else the market's); ``scenarios``: a
    precomputed scenario set (backtests); ``credits``: span16 spread credits (None: the
    market's ``spread_credits``; ``()``: none)."""
    h = check_horizon(horizon_days)
    if alpha is not None:
        check_alpha(alpha)
    if lookback is not None and lookback < 1:
        raise ModelError(f"lookback must be at least 1 day, got {lookback}")
    if model == "isolated":
        return isolated_margin(portfolio, market)
    if model == "cross":
        return cross_margin(portfolio, market)
    instruments, q = net_positions(portfolio)
    if model == "span16":
        cr = market.spread_credits if credits is None else tuple(credits)
        return scenario_margin(span16_risk_array(instruments, q, market), portfolio, market, model,
                               credits=cr)
    if model in PRESETS or model == "grid":
        spec = spec or PRESETS.get(model)
        if spec is None:
            raise ModelError("model 'grid' needs a GridSpec")
        ra = grid_risk_array(instruments, q, market, spec)
        return scenario_margin(ra, portfolio, market, model, spec.mm_fraction)
    if model not in MODELS:
        raise ModelError(f"unknown model {model!r} (one of {', '.join(MODELS)}, grid)")
    a = alpha if alpha is not None else DEFAULT_ALPHA[model]
    if model == "var":
        return var_margin(portfolio, market, a, h, history, cov_method, lam)
    if model in ("hvar", "es") and h != 1.0:
        raise ModelError(f"model {model!r} uses one-day historical scenarios: horizon must be 1 day")
    return hs_margin(portfolio, market, model, a, history, lookback, historical=historical,
                     vol_history=vol_history, scenarios=scenarios, horizon_days=h,
                     cov_method=cov_method, lam=lam)
