"""European option pricing: Black–Scholes and Black-76, with greeks.

All functions are vectorised over numpy arrays (broadcasting) and use rates r (continuously
compounded) and carry q, both 0 by default as the project's models require.

Black-76 on a forward F with discount factor D = exp(−r·T):

    d1 = (ln(F/K) + σ²T/2) / (σ√T),   d2 = d1 − σ√T
    call = D·(F·N(d1) − K·N(d2)),      put = D·(K·N(−d2) − F·N(−d1))

Black–Scholes on spot S is Black-76 with F = S·exp((r − q)·T). At T = 0 (or σ = 0) the value is
the discounted intrinsic value max(±(F − K), 0). Greeks are with respect to the spot S for
Black–Scholes (delta ∂V/∂S, gamma ∂²V/∂S², vega ∂V/∂σ per 1.00 of vol, theta ∂V/∂t per year
of calendar time, i.e. −∂V/∂T).

The normal CDF uses ``math.erfc`` element-wise (scipy is not a dependency we can rely on);
the arrays priced here are instruments × scenarios, i.e. small.
"""

from __future__ import annotations

import math

import numpy as np

_ERFC = np.frompyfunc(math.erfc, 1, 1)
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def norm_cdf(x: np.ndarray | float) -> np.ndarray:
    """Standard normal CDF N(x) = erfc(−x/√2)/2, element-wise."""
    x = np.asarray(x, dtype=float)
    return 0.5 * np.asarray(_ERFC(-x / _SQRT2), dtype=float)


def norm_pdf(x: np.ndarray | float) -> np.ndarray:
    """Standard normal density φ(x) = exp(−x²/2)/√(2π)."""
    x = np.asarray(x, dtype=float)
    return _INV_SQRT_2PI * np.exp(-0.5 * x * x)


def norm_ppf(p: float) -> float:
    """Inverse standard normal CDF by bisection on :func:`norm_cdf` (|error| < 1e-12)."""
    if not 0.0 < p < 1.0:
        raise ValueError("probability must be in (0, 1)")
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if 0.5 * math.erfc(-mid / _SQRT2) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-13:
            break
    return 0.5 * (lo + hi)


def _d1_d2(F, K, T, sigma):
    sqrt_t = np.sqrt(T)
    s = sigma * sqrt_t
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = (np.log(F / K) + 0.5 * s * s) / s
    d2 = d1 - s
    return d1, d2, s


def black76(F, K, T, sigma, is_call, r: float = 0.0) -> np.ndarray:
    """Black-76 value of a European option on a forward F (see module docstring)."""
    F, K, T, sigma, is_call = np.broadcast_arrays(
        np.asarray(F, float), np.asarray(K, float), np.asarray(T, float),
        np.asarray(sigma, float), np.asarray(is_call, bool))
    disc = np.exp(-r * T)
    intrinsic = np.where(is_call, np.maximum(F - K, 0.0), np.maximum(K - F, 0.0))
    live = (T > 0) & (sigma > 0) & (K > 0) & (F > 0)
    d1, d2, _ = _d1_d2(np.where(live, F, 1.0), np.where(live, K, 1.0),
                       np.where(live, T, 1.0), np.where(live, sigma, 1.0))
    call = F * norm_cdf(d1) - K * norm_cdf(d2)
    put = K * norm_cdf(-d2) - F * norm_cdf(-d1)
    value = np.where(is_call, call, put)
    return disc * np.where(live, value, intrinsic)


def black_scholes(S, K, T, sigma, is_call, r: float = 0.0, q: float = 0.0) -> np.ndarray:
    """Black–Scholes value on spot S: Black-76 with forward F = S·exp((r − q)·T)."""
    T = np.asarray(T, float)
    F = np.asarray(S, float) * np.exp((r - q) * T)
    return black76(F, K, T, sigma, is_call, r=r)


def bs_greeks(S, K, T, sigma, is_call, r: float = 0.0, q: float = 0.0) -> dict[str, np.ndarray]:
    """Analytic Black–Scholes greeks: ``delta``, ``gamma``, ``vega``, ``theta``.

    delta = e^{−qT}·N(d1) (call) or e^{−qT}·(N(d1) − 1) (put); gamma = e^{−qT}φ(d1)/(Sσ√T);
    vega = S·e^{−qT}·φ(d1)·√T; theta = −∂V/∂T (per year). At expiry (T = 0 or σ = 0) delta is
    the intrinsic slope (1, 0 or −1; 1/2 exactly at the money) and the others are 0.
    """
    S, K, T, sigma, is_call = np.broadcast_arrays(
        np.asarray(S, float), np.asarray(K, float), np.asarray(T, float),
        np.asarray(sigma, float), np.asarray(is_call, bool))
    live = (T > 0) & (sigma > 0) & (K > 0) & (S > 0)
    Tl = np.where(live, T, 1.0)
    sl = np.where(live, sigma, 1.0)
    Sl = np.where(live, S, 1.0)
    Kl = np.where(live, K, 1.0)
    F = Sl * np.exp((r - q) * Tl)
    d1, d2, s = _d1_d2(F, Kl, Tl, sl)
    dq = np.exp(-q * Tl)
    dr = np.exp(-r * Tl)
    pdf1 = norm_pdf(d1)
    n1 = norm_cdf(d1)
    delta = np.where(is_call, dq * n1, dq * (n1 - 1.0))
    gamma = dq * pdf1 / (Sl * s)
    vega = Sl * dq * pdf1 * np.sqrt(Tl)
    common = -Sl * dq * pdf1 * sl / (2.0 * np.sqrt(Tl))
    theta_call = common - r * Kl * dr * norm_cdf(d2) + q * Sl * dq * n1
    theta_put = common + r * Kl * dr * norm_cdf(-d2) - q * Sl * dq * norm_cdf(-d1)
    theta = np.where(is_call, theta_call, theta_put)
    itm = np.where(is_call, np.sign(S - K), np.sign(K - S))
    dead_delta = np.where(is_call, 1.0, -1.0) * np.where(itm > 0, 1.0, np.where(itm == 0, 0.5, 0.0))
    zero = np.zeros_like(delta)
    return {
        "delta": np.where(live, delta, dead_delta),
        "gamma": np.where(live, gamma, zero),
        "vega": np.where(live, vega, zero),
        "theta": np.where(live, theta, zero),
    }
