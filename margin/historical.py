"""Scenario sets for the historical (``hvar``, ``es``) and Monte Carlo (``mcvar``) models.

A scenario s moves every underlying u jointly: spot S_u → S_u·exp(r_{s,u}), and, when vol moves
are on, every option's implied vol σ_i → max(σ_i·exp(v_{s,u}), 0.01) (a relative move of the
vol level, floored at one vol point as in span16). Instruments are then fully revalued
(:func:`~zkmargin.margin.riskarray.historical_risk_array`).

Vol dynamics: **sticky strike**. Each option keeps its own implied vol (the underlying's
``vol`` or its own ``vol`` field) and the scenario scales that level; a spot move alone does
not move an option along a smile. The market format carries one vol per option rather than a
surface, so there is no smile to slide along: sticky delta would need one, and with a flat vol
per underlying the two rules give the same scenarios. Relative (log) vol moves keep the vol of
every strike positive and scale a high-vol wing more than the body, as implied vols do in a
stress.

Policy (:class:`HistoricalConfig`, the market's ``historical`` block or keyword arguments):

``vol_moves``
    ``none``  — implied vol frozen at today's level (the legacy behaviour, the default for
    market files without a ``historical`` block; it under-states the risk of option books);
    ``index`` — v_s = ln(I_{d_s} / I_{d_{s−1}}) from a daily implied-vol index I of the
    underlying (``--vol-history BTC=dvol.csv`` or the market's ``vol_history``), on the same
    two dates as the price return; a missing index value is an error naming the date;
    ``proxy`` — v_s = ln(σ̂_{s} / σ̂_{s−1}), the change of the underlying's EWMA realised vol
    (λ below, floored at 1 vol point annualised) caused by that day's return;
    ``auto``  — ``index`` for underlyings with an index history, ``proxy`` for the others.
``filtered``
    Filtered historical simulation (volatility updating, Hull & White 1998): a lookback return
    is rescaled to today's volatility, r̃_s = r_s·σ̂_T / σ̂_{s−1}, with σ̂ the recursive EWMA
    vol of :func:`~zkmargin.margin.history.ewma_vol_path` (σ̂_{s−1} is the forecast known before
    day s, σ̂_T the estimate after the last return). The vol moves are not rescaled (the proxy
    move is a function of r_s/σ̂_{s−1}, identical before and after filtering).
``lam``
    EWMA decay for filtering and the proxy: 0.94, the RiskMetrics daily value.
``lookback``
    number of most recent daily returns used (all when absent).
``stress``
    ``[first day, last day]``: every daily return ending in that window is always in the
    scenario set, in addition to the lookback (each counted once), unfiltered — the stressed
    moves at their own size. A window without returns in the history is an error.
``max_gap_days``
    returns spanning more calendar days are dropped (default 1; 3 admits weekend gaps).
``mc_scenarios``, ``mc_seed``
    Monte Carlo size (default 4000, as 2000 antithetic pairs; ≤ 4096 for the circuits) and the
    public seed of the normal draws.

Dates: every history must end on or before the market's ``as_of`` day (a later close would be
look-ahead); this is an error, not a truncation.

Monte Carlo (``mcvar``, :func:`monte_carlo_scenarios`): M/2 draws z ~ N(0, I) (numpy PCG64
with the public seed) and their antithetic partners −z. Fat tails: with ``mc_tails`` =
``student`` (default) each pair shares a mixing draw w ~ χ²_ν/ν (seed + 1) and is scaled by
√((ν − 2)/ν)/√w, a multivariate Student t with unit variance. The tail parameter and a
residual scale correction come from the EWMA-standardised one-day returns e_t = r_t/σ̂_{t−1}
of the lookback (the first 30 seed returns excluded): per underlying, the maximum-likelihood
Student t (ν_u, τ_u) of e (:func:`fit_student_t`); ν = the median of the ν_u (or ``mc_nu``), and
c_u = τ_u(ν)·√(ν/(ν − 2)) the fitted standard deviation of e_u at that ν (1 when the EWMA
forecast is unbiased; it exceeds 1 when volatility clusters faster than the EWMA follows).
``normal`` tails use c_u = √mean(e_u²). Without a history (market covariance only) the draws
stay normal and c = 1. Returns r = √h·A·x_r with A Aᵀ = C Σ C, Σ the
daily return covariance (EWMA λ = 0.94 of the lookback, or the market's ``covariance``),
C = diag(c); A from the symmetric eigen-decomposition, so a singular Σ is allowed. Vol
moves: ``index`` and ``auto`` with an index history draw v jointly with r from the EWMA
covariance of (returns, index log changes) on the days where both exist; ``proxy`` uses
v = ½·ln(λ + (1 − λ)·(r_u/(√h·σ_u))²), the EWMA vol update that the simulated return r_u
causes (σ_u the uncorrected EWMA vol of Σ).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError, ModelError
from .history import PriceHistory, VolIndexHistory, ewma_covariance, ewma_vol_path, parse_day

VOL_MODES = ("none", "proxy", "index", "auto")
DEFAULT_LAMBDA = 0.94
VOL_FLOOR_ANNUAL = 0.01
DAYS_PER_YEAR = 365.0
MAX_MC = 4096


@dataclass(frozen=True)
class HistoricalConfig:
    """Scenario policy of the historical and Monte Carlo models (module docstring)."""

    vol_moves: str = "none"
    filtered: bool = False
    lam: float = DEFAULT_LAMBDA
    stress: tuple[str, str] | None = None
    lookback: int | None = None
    max_gap_days: int = 1
    mc_scenarios: int = 4000
    mc_seed: int = 0
    mc_tails: str = "student"
    mc_nu: float | None = None

    def __post_init__(self):
        if self.mc_tails not in ("student", "normal"):
            raise ModelError(f"mc_tails must be 'student' or 'normal', got {self.mc_tails!r}")
        if self.mc_nu is not None and not self.mc_nu > 2.0:
            raise ModelError(f"mc_nu must be above 2 (finite variance), got {self.mc_nu!r}")
        if self.vol_moves not in VOL_MODES:
            raise ModelError(f"vol_moves must be one of {', '.join(VOL_MODES)}, got {self.vol_moves!r}")
        if not 0.0 < self.lam < 1.0:
            raise ModelError(f"EWMA lambda must be in (0, 1), got {self.lam!r}")
        if self.lookback is not None and self.lookback < 1:
            raise ModelError(f"lookback must be at least 1 day, got {self.lookback!r}")
        if self.max_gap_days < 1:
            raise ModelError(f"max_gap_days must be at least 1, got {self.max_gap_days!r}")
        if not 2 <= self.mc_scenarios <= MAX_MC or self.mc_scenarios % 2:
            raise ModelError(f"mc_scenarios must be an even number in [2, {MAX_MC}], got {self.mc_scenarios!r}")
        if self.stress is not None:
            a, b = self.stress
            if a > b:
                raise ModelError(f"stress period {a}..{b}: the first day is after the last")

    @property
    def legacy(self) -> bool:
        return self.vol_moves == "none" and not self.filtered and self.stress is None

    def describe(self) -> dict:
        return {"vol_moves": self.vol_moves, "filtered": self.filtered, "lambda": self.lam,
                "mc_tails": self.mc_tails,
                "stress": list(self.stress) if self.stress else None, "lookback": self.lookback,
                "max_gap_days": self.max_gap_days, "vol_dynamics": "sticky strike"}


LEGACY = HistoricalConfig()


def parse_stress(value, where: str = "historical", fieldname: str = "stress") -> tuple[str, str]:
    """``[first, last]`` or ``"first:last"`` (ISO days) → (first, last)."""
    if isinstance(value, str):
        parts = value.split(":") if value.count(":") == 1 else value.split("..")
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        parts = []
    if len(parts) != 2:
        raise InputError(where, fieldname, "must be [first day, last day] or 'YYYY-MM-DD:YYYY-MM-DD'")
    try:
        a, b = (parse_day(str(x)).isoformat() for x in parts)
    except ValueError:
        raise InputError(where, fieldname, "days must be ISO dates (YYYY-MM-DD)") from None
    if a > b:
        raise InputError(where, fieldname, f"first day {a} is after last day {b}")
    return a, b


def parse_historical_config(raw) -> HistoricalConfig:
    """The market's ``historical`` block → :class:`HistoricalConfig` (unknown keys rejected)."""
    from .market import check_keys, number
    where = "market.historical"
    if not isinstance(raw, dict):
        raise InputError("market", "historical", "must be an object")
    check_keys(raw, ("vol_moves", "filtered", "lambda", "stress", "lookback", "max_gap_days",
                     "mc_scenarios", "mc_seed", "mc_tails", "mc_nu"), where)
    tails = raw.get("mc_tails", "student")
    if tails not in ("student", "normal"):
        raise InputError(where, "mc_tails", "must be 'student' or 'normal'")
    nu = number(raw, "mc_nu", where, minimum=2.0, strict=True) if raw.get("mc_nu") is not None else None
    vm = raw.get("vol_moves", "none")
    if vm not in VOL_MODES:
        raise InputError(where, "vol_moves", f"must be one of {', '.join(VOL_MODES)}")
    filt = raw.get("filtered", False)
    if not isinstance(filt, bool):
        raise InputError(where, "filtered", "must be true or false")

    def integer(key, default, lo, hi):
        if key not in raw:
            return default
        v = raw[key]
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise InputError(where, key, f"must be an integer in [{lo}, {hi}]")
        return v

    lam = number(raw, "lambda", where, default=DEFAULT_LAMBDA, minimum=0.0, strict=True, maximum=0.9999)
    stress = parse_stress(raw["stress"], where) if raw.get("stress") is not None else None
    mc = integer("mc_scenarios", 4000, 2, MAX_MC)
    if mc % 2:
        raise InputError(where, "mc_scenarios", "must be even (antithetic pairs)")
    return HistoricalConfig(vol_moves=vm, filtered=filt, lam=lam, stress=stress,
                            lookback=integer("lookback", None, 1, 100_000),
                            max_gap_days=integer("max_gap_days", 1, 1, 31), mc_scenarios=mc,
                            mc_seed=integer("mc_seed", 0, 0, 2**63 - 1), mc_tails=tails, mc_nu=nu)


@dataclass(frozen=True)
class ScenarioSet:
    """Joint scenarios: ``returns`` and ``vol_moves`` (n_scen × n_und, vol_moves None when
    frozen), labels, the kind of each scenario (``lookback``, ``stress`` or ``mc``), the end
    dates of returns dropped for spanning a gap, and a description for reports."""

    labels: tuple[str, ...]
    underlyings: tuple[str, ...]
    returns: np.ndarray
    vol_moves: np.ndarray | None
    kinds: tuple[str, ...]
    dropped: tuple[str, ...] = ()
    notes: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_stress(self) -> int:
        return sum(1 for k in self.kinds if k == "stress")


def check_not_after(hist_last_day: str, as_of_day: str, what: str) -> None:
    if hist_last_day > as_of_day:
        raise InputError(what, "Date", f"ends {hist_last_day}, after the market as_of {as_of_day}: "
                                       "scenarios may not use later prices")


def _vol_mode_for(mode: str, u: str, vol_history: VolIndexHistory | None) -> str:
    has = vol_history is not None and u in vol_history.series
    if mode == "auto":
        return "index" if has else "proxy"
    if mode == "index" and not has:
        raise ModelError(f"vol_moves 'index' needs a vol-index history for {u} (--vol-history {u}=file.csv)")
    return mode


@dataclass(frozen=True)
class _Source:
    """Everything about a history that does not depend on the day: valid daily returns, their
    start dates, the EWMA vol path and the vol moves per underlying."""

    labels: tuple[str, ...]
    starts: tuple[str, ...]
    names: tuple[str, ...]
    returns: np.ndarray
    sigma: np.ndarray           # (n + 1, u) EWMA path
    vol_moves: np.ndarray | None
    vol_source: dict
    dropped: tuple[str, ...]


def scenario_source(hist: PriceHistory, config: HistoricalConfig,
                    vol_history: VolIndexHistory | None = None, underlyings=None) -> _Source:
    """Precompute returns, EWMA vols and vol moves of ``hist`` (see :func:`historical_scenarios`)."""
    r_all = hist.log_returns()
    steps = hist.step_days()
    keep = steps <= config.max_gap_days
    labels = tuple(d for d, k in zip(hist.dates[1:], keep) if k)
    starts = tuple(d for d, k in zip(hist.dates[:-1], keep) if k)
    dropped = tuple(d for d, k in zip(hist.dates[1:], keep) if not k)
    r = r_all[keep]
    floor = VOL_FLOOR_ANNUAL / math.sqrt(DAYS_PER_YEAR)
    sigma = ewma_vol_path(r, config.lam, floor)
    names = hist.names
    wanted = list(underlyings) if underlyings is not None else list(names)
    vm = None
    source = {}
    if config.vol_moves != "none":
        vm = np.zeros_like(r)
        for k, u in enumerate(names):
            if u not in wanted:
                continue
            mode = _vol_mode_for(config.vol_moves, u, vol_history)
            if mode == "proxy":
                vm[:, k] = np.log(sigma[1:, k] / sigma[:-1, k])
                source[u] = f"proxy: EWMA realised vol change, lambda {config.lam:g}"
            else:
                end = vol_history.lookup(u, labels)
                beg = vol_history.lookup(u, starts)
                vm[:, k] = np.log(end / beg)
                source[u] = "vol index history"
    return _Source(labels, starts, names, r, sigma, vm, source, dropped)


def source_prefix(src: _Source, n: int) -> _Source:
    """The source as it was after its first ``n`` valid returns (the EWMA is causal, so this is
    exactly the source of the history cut after that return)."""
    vm = src.vol_moves[:n] if src.vol_moves is not None else None
    last = src.labels[n - 1] if n else ""
    return _Source(src.labels[:n], src.starts[:n], src.names, src.returns[:n], src.sigma[:n + 1], vm,
                   src.vol_source, tuple(d for d in src.dropped if d <= last))


def _missing_index(src: _Source, idx: np.ndarray) -> None:
    if src.vol_moves is None:
        return
    bad = ~np.isfinite(src.vol_moves[idx])
    if bad.any():
        row, col = np.argwhere(bad)[0]
        s = idx[row]
        raise InputError(f"vol history {src.names[col]}", "Date",
                         f"no index value for {src.starts[s]} or {src.labels[s]} (needed by the "
                         f"scenario of {src.labels[s]})")


def scenarios_from_source(src: _Source, config: HistoricalConfig) -> ScenarioSet:
    """The scenario set of a precomputed source under ``config`` (lookback, filter, stress)."""
    n = len(src.labels)
    if n == 0:
        raise ModelError("the history has no one-day returns (every step spans a gap)")
    lb = range(n) if config.lookback is None else range(max(0, n - config.lookback), n)
    look = np.arange(lb.start, lb.stop)
    stress_idx = np.array([], int)
    if config.stress is not None:
        a, b = config.stress
        inwin = np.array([a <= d <= b for d in src.labels])
        if not inwin.any():
            raise InputError("historical", "stress",
                             f"no one-day returns of the history fall in the stress period {a}..{b}")
        stress_idx = np.setdiff1d(np.flatnonzero(inwin), look)
    r = src.returns[look]
    if config.filtered:
        r = r * (src.sigma[-1] / src.sigma[look])
    rets = np.vstack([r, src.returns[stress_idx]]) if len(stress_idx) else r
    idx = np.concatenate([look, stress_idx])
    _missing_index(src, idx)
    vm = src.vol_moves[idx] if src.vol_moves is not None else None
    labels = tuple(src.labels[i] for i in look) + tuple(f"{src.labels[i]} (stress)" for i in stress_idx)
    kinds = ("lookback",) * len(look) + ("stress",) * len(stress_idx)
    notes = {**config.describe(), "vol_source": dict(src.vol_source), "scenarios": len(labels),
             "stress_scenarios": int(len(stress_idx)), "dropped_gap_returns": list(src.dropped)}
    return ScenarioSet(labels, src.names, rets, vm, kinds, src.dropped, notes)


def historical_scenarios(hist: PriceHistory, config: HistoricalConfig = LEGACY, *,
                         vol_history: VolIndexHistory | None = None, as_of=None,
                         underlyings=None) -> ScenarioSet:
    """The scenario set of ``hist`` under ``config`` (module docstring). ``as_of`` (a datetime
    or ISO day) rejects histories that end after it; ``underlyings`` limits vol-move checks to
    the underlyings actually held."""
    if as_of is not None:
        day = as_of if isinstance(as_of, str) else as_of.date().isoformat()
        check_not_after(hist.dates[-1], day, "history")
    src = scenario_source(hist, config, vol_history, underlyings)
    return scenarios_from_source(src, config)


def _sqrt_psd(cov: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(np.asarray(cov, float))
    return v * np.sqrt(np.clip(w, 0.0, None))


def normal_draws(n_factors: int, config: HistoricalConfig) -> np.ndarray:
    """M × n standard normals: M/2 PCG64 draws from the public seed, then their negatives."""
    rng = np.random.Generator(np.random.PCG64(config.mc_seed))
    z = rng.standard_normal((config.mc_scenarios // 2, n_factors))
    return np.vstack([z, -z])


NU_GRID = np.exp(np.linspace(math.log(2.5), math.log(100.0), 120))
_MC_LABELS: dict[int, tuple[str, ...]] = {}


def fit_student_t(e: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood (ν, τ) of a zero-mean Student t with scale τ for the sample ``e``:
    for each ν of :data:`NU_GRID` the ML scale solves τ² = mean(w·e²), w = (ν + 1)/(ν + e²/τ²)
    (30 fixed-point iterations, all ν at once), and the ν with the largest log-likelihood wins.
    The fitted standard deviation is τ·√(ν/(ν − 2))."""
    e = np.asarray(e, float).ravel()
    e = e[np.isfinite(e)]
    if len(e) < 20:
        raise ModelError("too few returns to estimate the tail parameter (need 20)")
    e2 = e * e
    m2 = float(np.mean(e2))
    if m2 <= 0:
        return float(NU_GRID[-1]), 1.0
    nu = NU_GRID[:, None]
    t2 = np.full((len(NU_GRID), 1), m2)
    for _ in range(30):
        t2 = np.mean((nu + 1.0) / (nu + e2 / t2) * e2, axis=1, keepdims=True)
    lg = np.array([math.lgamma((v + 1) / 2) - math.lgamma(v / 2) for v in NU_GRID])
    ll = len(e) * (lg - 0.5 * np.log(NU_GRID * math.pi * t2[:, 0])) \
        - (NU_GRID + 1) / 2 * np.sum(np.log1p(e2 / (nu * t2)), axis=1)
    k = int(np.argmax(ll))
    return float(NU_GRID[k]), math.sqrt(float(t2[k, 0]))


def _t_scale(e: np.ndarray, nu: float) -> float:
    """ML scale τ of a t with fixed ν for the sample ``e``."""
    e2 = np.asarray(e, float) ** 2
    t2 = float(np.mean(e2)) or 1.0
    for _ in range(30):
        t2 = float(np.mean((nu + 1.0) / (nu + e2 / t2) * e2))
    return math.sqrt(t2)


def standardised_returns(r: np.ndarray, lam: float) -> np.ndarray:
    """e_t = r_t/σ̂_{t−1} (recursive EWMA), the first 30 seed returns dropped."""
    floor = VOL_FLOOR_ANNUAL / math.sqrt(DAYS_PER_YEAR)
    sig = ewma_vol_path(r, lam, floor)
    e = np.atleast_2d(np.asarray(r, float).T).T / sig[:-1]
    return e[min(len(e), 30):]


def monte_carlo_scenarios(names, cov: np.ndarray, config: HistoricalConfig, *,
                          horizon_days: float = 1.0, hist: PriceHistory | None = None,
                          vol_history: VolIndexHistory | None = None,
                          draws: np.ndarray | None = None) -> ScenarioSet:
    """Monte Carlo scenarios under the daily covariance ``cov`` of ``names`` (module docstring).
    With vol moves from an index, ``hist`` and ``vol_history`` give the joint covariance."""
    names = tuple(names)
    n = len(names)
    cov = np.asarray(cov, float)
    h = float(horizon_days)
    mode = {u: (_vol_mode_for(config.vol_moves, u, vol_history) if config.vol_moves != "none" else "none")
            for u in names}
    idx_names = [u for u in names if mode[u] == "index"]
    if idx_names:
        if hist is None:
            raise ModelError("Monte Carlo vol moves from an index need a price history for the joint covariance")
        keep = hist.step_days() <= config.max_gap_days
        days = [d for d, k in zip(hist.dates[1:], keep) if k]
        starts = [d for d, k in zip(hist.dates[:-1], keep) if k]
        rets = hist.log_returns()[keep]
        cols = [rets[:, hist.names.index(u)] for u in names]
        for u in idx_names:
            cols.append(np.log(vol_history.lookup(u, days) / vol_history.lookup(u, starts)))
        X = np.column_stack(cols)
        ok = np.all(np.isfinite(X), axis=1)
        if config.lookback is not None:
            ok &= np.arange(len(days)) >= len(days) - config.lookback
        if ok.sum() < 2:
            raise ModelError("too few days with both price returns and vol-index values for a joint covariance")
        full = ewma_covariance(X[ok], config.lam)
        full[:n, :n] = cov                       # the price block is the model's covariance
    else:
        full = cov
    nf = full.shape[0]
    z = draws if draws is not None else normal_draws(nf, config)
    if z.shape[1] < nf:
        raise ModelError("not enough normal draws for the factors")
    z = z[:, :nf]
    nu = None
    scale_corr = np.ones(n)
    if hist is not None:
        keep = hist.step_days() <= config.max_gap_days
        rr = hist.log_returns()[keep][:, [hist.names.index(u) for u in names]]
        if config.lookback is not None:
            rr = rr[-config.lookback:]
        e = standardised_returns(rr, config.lam)
        if len(e) >= 20:
            if config.mc_tails == "student":
                fits = [fit_student_t(e[:, k]) for k in range(n)]
                nu = config.mc_nu if config.mc_nu is not None else float(np.median([f[0] for f in fits]))
                # standard deviation of the fitted t of each underlying, at the common ν
                scale_corr = np.array([_t_scale(e[:, k], nu) for k in range(n)]) * math.sqrt(nu / (nu - 2.0))
            else:
                scale_corr = np.sqrt(np.mean(e * e, axis=0))
    if config.mc_tails == "student" and config.mc_nu is not None:
        nu = float(config.mc_nu)
    if np.any(scale_corr != 1.0):
        full = full.copy()
        d = np.concatenate([scale_corr, np.ones(full.shape[0] - n)])
        full = full * np.outer(d, d)
    if nu is not None:
        half = len(z) // 2
        rng = np.random.Generator(np.random.PCG64(config.mc_seed + 1))
        w = rng.chisquare(nu, half) / nu
        scale = math.sqrt((nu - 2.0) / nu) / np.sqrt(w)
        z = z * np.concatenate([scale, scale])[:, None]
    x = math.sqrt(h) * (z @ _sqrt_psd(full).T)
    r = x[:, :n]
    vm = None
    if config.vol_moves != "none":
        vm = np.zeros_like(r)
        sd = np.sqrt(np.clip(np.diag(cov), 1e-300, None))     # the EWMA vol itself
        for k, u in enumerate(names):
            if mode[u] == "index":
                vm[:, k] = x[:, n + idx_names.index(u)]
            elif mode[u] == "proxy":
                zu = r[:, k] / (math.sqrt(h) * sd[k])
                vm[:, k] = 0.5 * np.log(config.lam + (1.0 - config.lam) * zu * zu)
    labels = _MC_LABELS.get(len(r))
    if labels is None:
        labels = _MC_LABELS.setdefault(len(r), tuple(f"mc#{k + 1}" for k in range(len(r))))
    notes = {**config.describe(), "scenarios": len(r), "seed": config.mc_seed,
             "horizon_days": h, "vol_source": {u: mode[u] for u in names},
             "tails": f"student t, nu {nu:.3g}" if nu is not None else "normal",
             "residual_scale": [float(x) for x in scale_corr]}
    return ScenarioSet(labels, names, r, vm, ("mc",) * len(r), (), notes)
