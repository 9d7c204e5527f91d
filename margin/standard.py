"""Standard (non-portfolio) exchange margin: ``cross`` and ``isolated``.

Per-instrument charges (USD), q the signed quantity, S spot, N = |q|·notional per unit:

* spot, linear and inverse futures / perpetuals: MM = tiers.maintenance(N), IM = tiers.initial(N)
  with the underlying's bracket table (Binance BTCUSDT by default, :mod:`.tiers`);
* long option: 0 (its value is in equity; it cannot lose more);
* short option (Deribit standard-margin style): per contract
  IM = max(0.15 − OTM/S, 0.10)·S + mark,  MM = 0.075·S + mark,
  OTM = max(K − F, 0) for a call, max(F − K, 0) for a put, F the option's forward (S without
  forwards), mark the option value (Black-76 on F).
* dated futures use their forward for the notional (|q|·F).

``cross``: positions on the same instrument are netted, one pool backs everything:
requirement = Σ_instruments charge(net q). Solvent iff equity ≥ MM.

``isolated``: each position stands alone and its own mark m_i = q_i·mark_i cannot support another
position. Position i needs allocated collateral c_i ≥ MM_i − m_i (≥ 0), so with total equity
E = C + Σ m_i the condition is E ≥ Σ_i max(MM_i, m_i); the reported requirement is that sum
(likewise for IM). Because the tier charge is convex with charge(0) = 0 it is subadditive, so
isolated ≥ cross always.
"""

from __future__ import annotations

from .instruments import Instrument, unit_notional
from .market import Market
from .portfolio import Portfolio
from .pricing import black76
from .result import MarginResult
from .riskarray import net_positions
from .valuation import equity, instrument_vol, position_mark


def instrument_charge(inst: Instrument, q: float, market: Market) -> tuple[float, float]:
    """(IM, MM) in USD for a net quantity q of one instrument (module docstring)."""
    p = market.underlyings[inst.underlying]
    S = p.spot
    if inst.is_option:
        if q >= 0:
            return 0.0, 0.0
        F = S * market.basis(inst)
        mark = float(black76(F, inst.strike, market.tau(inst.expiry),
                             instrument_vol(inst, market), inst.is_call))
        otm = max(inst.strike - F, 0.0) if inst.is_call else max(F - inst.strike, 0.0)
        im = (max(0.15 - otm / S, 0.10) * S + mark) * -q
        mm = (0.075 * S + mark) * -q
        return im, mm
    notional = abs(q) * unit_notional(inst, S, market.basis(inst))
    return float(p.tiers.initial(notional)), float(p.tiers.maintenance(notional))


def _result(model: str, portfolio: Portfolio, market: Market, rows) -> MarginResult:
    """rows: (underlying, IM part, MM part) triples summed into the breakdown."""
    breakdown: dict[str, dict] = {}
    for u, im, mm in rows:
        b = breakdown.setdefault(u, {"initial": 0.0, "maintenance": 0.0})
        b["initial"] += im
        b["maintenance"] += mm
    im = sum(b["initial"] for b in breakdown.values())
    mm = sum(b["maintenance"] for b in breakdown.values())
    return MarginResult(model, im, mm, equity(portfolio, market), breakdown)


def cross_margin(portfolio: Portfolio, market: Market) -> MarginResult:
    instruments, q = net_positions(portfolio)
    rows = []
    for inst, qi in zip(instruments, q):
        im, mm = instrument_charge(inst, float(qi), market)
        rows.append((inst.underlying, im, mm))
    return _result("cross", portfolio, market, rows)


def isolated_margin(portfolio: Portfolio, market: Market) -> MarginResult:
    rows = []
    for pos in portfolio.positions:
        im, mm = instrument_charge(pos.instrument, pos.quantity, market)
        m = position_mark(pos, market)
        rows.append((pos.instrument.underlying, max(im, m), max(mm, m)))
    return _result("isolated", portfolio, market, rows)
