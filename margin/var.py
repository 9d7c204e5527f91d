"""Correlation-aware risk measures: delta-normal VaR, historical VaR and expected shortfall.

Delta-normal (parametric) VaR at confidence α over h days:

    VaR = z_α·√h·√(δᵀΣδ),   δ_u = Σ_{i on u} q_i·Δ_i·S_u  (USD),  Σ = cov of daily log returns

Historical simulation with full revaluation over N joint scenarios, losses L_s (USD,
:class:`~zkmargin.margin.riskarray.RiskArray` of kind ``historical``); with k = (1 − α)·N,
sorted losses L_(1) ≥ L_(2) ≥ … and j = ⌊k⌋ + 1 (capped at N):

    VaR_α = L_(j)
    ES_α  = min_t  t + (1/k)·Σ_s max(L_s − t, 0)   (Rockafellar–Uryasev), attained at t = L_(j)

which equals the mean of the k worst losses when k is an integer. Requirements are max(0, ·).
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ModelError
from .pricing import norm_ppf


def delta_normal_var(deltas: np.ndarray, cov: np.ndarray, alpha: float = 0.99,
                     horizon_days: float = 1.0) -> float:
    """z_α·√h·√(δᵀΣδ) in USD; δ and Σ in the same underlying order."""
    d = np.asarray(deltas, float)
    var = float(d @ np.asarray(cov, float) @ d)
    return norm_ppf(alpha) * math.sqrt(horizon_days) * math.sqrt(max(var, 0.0))


def tail_count(alpha: float, n: int) -> float:
    """k = (1 − α)·N, the (possibly fractional) number of tail scenarios."""
    k = (1.0 - alpha) * n
    if k <= 0:
        raise ModelError("confidence too high for the number of scenarios")
    return k


def hs_var_es(losses: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(VaR, ES) of the last axis of ``losses`` (per module docstring); vectorised over rows."""
    L = np.asarray(losses, float)
    n = L.shape[-1]
    k = tail_count(alpha, n)
    j = min(int(math.floor(k)) + 1, n)
    # the j-th largest = element n − j in ascending order
    t = np.partition(L, n - j, axis=-1)[..., n - j]
    excess = np.maximum(L - t[..., None], 0.0).sum(axis=-1)
    return t, t + excess / k
