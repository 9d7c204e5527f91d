"""Black–Scholes / Black-76 pricing and greeks."""

import math

import numpy as np
import pytest

from zkmargin.margin.pricing import black76, black_scholes, bs_greeks, norm_cdf, norm_ppf


def test_known_values():
    # Hull's textbook values: S=K=100, T=1, σ=20 %
    assert black_scholes(100, 100, 1.0, 0.2, True) == pytest.approx(7.965567, abs=1e-5)
    assert black_scholes(100, 100, 1.0, 0.2, True, r=0.05) == pytest.approx(10.450584, abs=1e-5)
    assert black_scholes(100, 100, 1.0, 0.2, False, r=0.05) == pytest.approx(5.573526, abs=1e-5)
    # S=42, K=40, T=0.5, r=10 %, σ=20 % (Hull example 15.6): call 4.76, put 0.81
    assert black_scholes(42, 40, 0.5, 0.2, True, r=0.1) == pytest.approx(4.7594, abs=1e-4)
    assert black_scholes(42, 40, 0.5, 0.2, False, r=0.1) == pytest.approx(0.8086, abs=1e-4)


@pytest.mark.parametrize("S,K,T,sig,r,q", [(68000, 70000, 0.1, 0.55, 0.0, 0.0),
                                           (100, 80, 2.0, 0.3, 0.03, 0.01),
                                           (1.0, 1.5, 0.01, 1.2, 0.0, 0.0)])
def test_put_call_parity(S, K, T, sig, r, q):
    c = black_scholes(S, K, T, sig, True, r, q)
    p = black_scholes(S, K, T, sig, False, r, q)
    assert c - p == pytest.approx(S * math.exp(-q * T) - K * math.exp(-r * T), rel=1e-10, abs=1e-9 * S)


def test_black76_is_bs_on_forward():
    F = 100 * math.exp(0.05)
    assert black76(F, 95, 1.0, 0.25, True, r=0.05) == pytest.approx(
        black_scholes(100, 95, 1.0, 0.25, True, r=0.05), rel=1e-12)


def test_expiry_and_zero_vol_are_intrinsic():
    assert black_scholes(110, 100, 0.0, 0.5, True) == 10.0
    assert black_scholes(90, 100, 0.0, 0.5, False) == 10.0
    assert black_scholes(90, 100, 1.0, 0.0, True) == 0.0
    g = bs_greeks(110, 100, 0.0, 0.5, True)
    assert g["delta"] == 1.0 and g["gamma"] == 0.0


@pytest.mark.parametrize("is_call", [True, False])
@pytest.mark.parametrize("r,q", [(0.0, 0.0), (0.04, 0.02)])
def test_greeks_vs_finite_differences(is_call, r, q):
    S, K, T, sig = 68000.0, 65000.0, 0.25, 0.6
    g = bs_greeks(S, K, T, sig, is_call, r, q)
    h = S * 1e-4
    v = lambda s=S, t=T, vol=sig: float(black_scholes(s, K, t, vol, is_call, r, q))
    assert g["delta"] == pytest.approx((v(S + h) - v(S - h)) / (2 * h), rel=1e-6)
    assert g["gamma"] == pytest.approx((v(S + h) - 2 * v() + v(S - h)) / h**2, rel=1e-4)
    assert g["vega"] == pytest.approx((v(vol=sig + 1e-5) - v(vol=sig - 1e-5)) / 2e-5, rel=1e-6)
    assert g["theta"] == pytest.approx(-(v(t=T + 1e-6) - v(t=T - 1e-6)) / 2e-6, rel=1e-5)


def test_vectorised_and_normal_helpers():
    S = np.array([90.0, 100.0, 110.0])
    vals = black_scholes(S, 100.0, 0.5, 0.3, True)
    assert vals.shape == (3,) and np.all(np.diff(vals) > 0)
    assert norm_cdf(0.0) == 0.5
    assert norm_ppf(0.99) == pytest.approx(2.326347874, abs=1e-8)
    assert norm_ppf(0.975) == pytest.approx(1.959963985, abs=1e-8)
