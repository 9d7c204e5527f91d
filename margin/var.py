"""Correlation-aware risk measures: delta-normal VaR, historical / Monte Carlo VaR and ES.

Delta-normal (parametric, **linear**) VaR at confidence α over h days:

    VaR = z_α·√h·√(δᵀΣδ),   δ_u = Σ_{i on u} q_i·Δ_i·S_u  (USD),  Σ = cov of daily log returns

It ignores gamma and vega, so it under-states the risk of option books; the models layer labels
it linear and attaches a warning when the portfolio holds options (use ``mcvar``).

Scenario VaR / ES over N scenarios with losses L_s (USD, a risk array of kind ``historical``).
Exact rank rule — the tail count is computed in rational arithmetic, never in floats:

* the confidence α is read as the decimal it was written as (the shortest decimal string of the
  float, ``repr``), so 1 − α = a/b exactly with gcd(a, b) = 1 (0.9 → 1/10, 0.975 → 1/40);
* k = a·N / b (a rational number) and j = ⌊a·N / b⌋ + 1, an integer floor division;
* with the losses sorted L_(1) ≥ L_(2) ≥ … ≥ L_(N):

      VaR_α = L_(j)          — the smallest loss exceeded by at most k scenarios
      ES_α  = L_(j) + (b / (a·N))·Σ_s max(L_s − L_(j), 0)   (Rockafellar–Uryasev at t = L_(j))

  which is the mean of the k worst losses when k is an integer. Example: α = 0.9, N = 250 gives
  k = 25 exactly, so VaR is the 26th worst loss (floating point would give 24.999999999999993
  and take the 25th).

Valid inputs: 0.5 ≤ α < 1 and k ≥ 1 (at least one scenario beyond the quantile; fewer means the
history is too short for the confidence). Requirements are max(0, ·).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .errors import ModelError
from .pricing import norm_ppf

MIN_ALPHA = 0.5


def delta_normal_var(deltas: np.ndarray, cov: np.ndarray, alpha: float = 0.99,
                     horizon_days: float = 1.0) -> float:
    """z_α·√h·√(δᵀΣδ) in USD; δ and Σ in the same underlying order."""
    d = np.asarray(deltas, float)
    var = float(d @ np.asarray(cov, float) @ d)
    return norm_ppf(alpha) * math.sqrt(horizon_days) * math.sqrt(max(var, 0.0))


def tail_fraction_exact(alpha) -> tuple[int, int]:
    """(a, b) with 1 − α = a/b exactly, α read as its decimal string (module docstring)."""
    try:
        f = 1 - Fraction(repr(float(alpha)) if not isinstance(alpha, (str, Fraction)) else alpha)
    except (ValueError, TypeError):
        raise ModelError(f"confidence alpha must be a number, got {alpha!r}") from None
    if not 0 < f < 1:
        raise ModelError(f"confidence alpha must be in (0, 1), got {alpha}")
    return f.numerator, f.denominator


def check_alpha(alpha, what: str = "alpha") -> float:
    """Raise :class:`ModelError` unless 0.5 ≤ α < 1 (a finite number)."""
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise ModelError(f"{what} must be a number, got {alpha!r}") from None
    if not math.isfinite(a) or not MIN_ALPHA <= a < 1.0:
        raise ModelError(f"{what} (confidence) must be in [{MIN_ALPHA}, 1), got {alpha}")
    return a


def tail_rank(alpha, n: int) -> tuple[int, int, int]:
    """(a, b, j): 1 − α = a/b and the rank j = ⌊a·N/b⌋ + 1 (capped at N) of VaR."""
    a, b = tail_fraction_exact(alpha)
    if n < 1:
        raise ModelError("no scenarios")
    return a, b, min(a * n // b + 1, n)


def tail_count(alpha: float, n: int) -> Fraction:
    """k = (1 − α)·N as an exact fraction; at least 1 is required (module docstring)."""
    a, b = tail_fraction_exact(alpha)
    k = Fraction(a * n, b)
    if k < 1:
        need = -(-b // a)
        raise ModelError(f"confidence {alpha} needs at least {need} scenarios "
                         f"(one beyond the quantile); the scenario set has {n}")
    return k


def hs_var_es(losses: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(VaR, ES) of the last axis of ``losses`` (module docstring, exact rank); vectorised
    over rows."""
    L = np.asarray(losses, float)
    n = L.shape[-1]
    tail_count(alpha, n)
    a, b, j = tail_rank(alpha, n)
    # the j-th largest = element n − j in ascending order
    t = np.partition(L, n - j, axis=-1)[..., n - j]
    excess = np.maximum(L - t[..., None], 0.0).sum(axis=-1)
    return t, t + excess * b / (a * n)
