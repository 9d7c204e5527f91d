"""Inter-commodity spread credits for ``span16`` (CME SPAN style), float model.

SPAN sums the scan risk of each underlying ("combined commodity"). When a venue configures
credit pairs, offsetting positions in two related underlyings earn a credit on the part of
each leg's scan risk that the other leg hedges. The pairs form an ordered tier list (the
market's ``spread_credits``, highest priority first); each dollar of delta is used by at most
one pair, in priority order, as in SPAN's spread-forming procedure.

Definitions, per underlying g (all USD):

* m_g      scan risk of g (the span16 scan, ≥ 0);
* δ_g      net dollar delta Σ_{i∈g} q_i·Δ_i·S_g (P&L per +100 % move, linearised; option deltas
           from Black-76 on the forward, futures F/S);
* s_g      the price scan range of g as a fraction (``price_scan``);
* d_g = s_g·δ_g   the delta's scan risk: what the delta loses on the full scan move (for a
           linear book m_g = |d_g|). Spreads are formed on these risk-weighted deltas, one unit
           of g's scan risk against one unit of h's, so the dollar ratio of a spread is
           s_g/s_h (SPAN's "delta spread ratio", set here by the relative scan ranges);
* P_g = max(d_g, 0), N_g = max(−d_g, 0)    remaining long / short scan-risk delta.

For each pair p = (g, h, c_p) in priority order (c_p ∈ [0, 1] the credit rate; a pair means
the two underlyings move together, so opposite deltas offset):

    a = min(P_g, N_h);   b = min(N_g, P_h);   o_p = a + b        (offset, in scan-risk USD)
    P_g −= a;  N_h −= a;  N_g −= b;  P_h −= b                     (each delta is used once)

Credit and requirement of underlying g (cmax_g = the largest rate of a pair containing g):

    credit_g = min(cmax_g·m_g,  Σ_{p∋g} c_p·o_p)
    req_g    = max(m_g − credit_g, floor_g) + short_g

For a linear book the credit of each leg is exactly SPAN's per-leg credit: rate × (the
leg's spread fraction) × scan risk. The cap cmax_g·m_g keeps the credit below the leg's own
scan risk for option books whose delta overstates the scan, and it makes the requirement
non-decreasing in m_g (see :mod:`.quantize` for the integer form and why a prover cannot lower
it by overstating a scan risk).

Calibration (:func:`calibrate_spread_credits`, used by the backtest and available to venues):
a spread of one unit of g's scan risk against one unit of h's has, under a daily return
correlation ρ, the scan-consistent risk √(2 − 2ρ) units against 2 units when the legs are
charged separately; the credit rate that makes the two equal is

    c = 1 − √((1 − ρ)/2),

defined for ρ > 0 only (non-positively correlated pairs get no pair). Pairs are ordered by
decreasing rate. This is SPAN's principle — the credit is the diversification of a spread at
the scan's own confidence — applied to the return correlation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import InputError


@dataclass(frozen=True)
class SpreadCredit:
    """One credit pair: underlyings ``first``/``second`` and the rate c ∈ [0, 1]."""

    first: str
    second: str
    rate: float


def parse_spread_credits(raw, underlyings) -> tuple[SpreadCredit, ...]:
    """``[{"pair": [U1, U2], "rate": c}, ...]`` (priority order) → validated pairs."""
    from .market import check_keys, number
    if not isinstance(raw, list):
        raise InputError("market", "spread_credits", "must be a list of {pair, rate}")
    out: list[SpreadCredit] = []
    seen = set()
    for k, item in enumerate(raw):
        where = f"market.spread_credits[{k}]"
        if not isinstance(item, dict):
            raise InputError(where, "(object)", "must be an object {pair, rate}")
        check_keys(item, ("pair", "rate"), where)
        pair = item.get("pair")
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise InputError(where, "pair", "must be a list of two underlying names")
        g, h = pair
        if g == h:
            raise InputError(where, "pair", "needs two different underlyings")
        for u in pair:
            if u not in underlyings:
                raise InputError(where, "pair", f"{u!r} is not an underlying of the market")
        key = frozenset(pair)
        if key in seen:
            raise InputError(where, "pair", "the same pair is listed twice")
        seen.add(key)
        out.append(SpreadCredit(g, h, number(item, "rate", where, minimum=0.0, maximum=1.0)))
    return tuple(out)


def offsets(risk_deltas: dict[str, float], pairs) -> list[float]:
    """o_p for every pair in order (module docstring), from scan-risk deltas d_g = s_g·δ_g."""
    P = {u: max(d, 0.0) for u, d in risk_deltas.items()}
    N = {u: max(-d, 0.0) for u, d in risk_deltas.items()}
    out = []
    for p in pairs:
        g, h = p.first, p.second
        if g not in risk_deltas or h not in risk_deltas:
            out.append(0.0)
            continue
        a = min(P[g], N[h])
        b = min(N[g], P[h])
        P[g] -= a
        N[h] -= a
        N[g] -= b
        P[h] -= b
        out.append(a + b)
    return out


def spread_credit_amounts(scan: dict[str, float], deltas: dict[str, float],
                          price_scan: dict[str, float], pairs) -> dict[str, float]:
    """credit_g = min(cmax_g·m_g, Σ_{p∋g} c_p·o_p) for every underlying in ``scan``, from the
    scan risks m_g, dollar deltas δ_g and price scan ranges s_g."""
    o = offsets({u: price_scan[u] * d for u, d in deltas.items()}, pairs)
    out = {}
    for g, m in scan.items():
        rates = [p.rate for p in pairs if g in (p.first, p.second)]
        if not rates:
            out[g] = 0.0
            continue
        weighted = sum(p.rate * op for p, op in zip(pairs, o) if g in (p.first, p.second))
        out[g] = min(max(rates) * m, weighted)
    return out


def calibrate_spread_credits(names, cov: np.ndarray, max_rate: float = 1.0) -> tuple[SpreadCredit, ...]:
    """Pairs with c = 1 − √((1 − ρ)/2) for every positively correlated pair, in decreasing
    order of c (module docstring); ``cov`` is a covariance of daily returns."""
    names = list(names)
    cov = np.asarray(cov, float)
    out = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            si, sj = math.sqrt(max(cov[i, i], 0.0)), math.sqrt(max(cov[j, j], 0.0))
            if si <= 0 or sj <= 0 or cov[i, j] <= 0:
                continue
            rho = min(cov[i, j] / (si * sj), 1.0)
            c = min(max(1.0 - math.sqrt((1.0 - rho) / 2.0), 0.0), max_rate)
            if c > 0:
                out.append(SpreadCredit(names[i], names[j], c))
    out.sort(key=lambda p: -p.rate)
    return tuple(out)
