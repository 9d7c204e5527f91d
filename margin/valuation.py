"""Equity and sensitivities of a portfolio at the market's current state.

equity = Σ_assets amount·price·(1 − haircut)  +  Σ_positions q·mark
(marks per :func:`zkmargin.margin.instruments.unit_mark`, dated futures and options on the
market's forward for their expiry). Dollar delta per underlying δ_u = Σ_{i on u} q_i·Δ_i·S_u
(USD P&L per unit relative move of S_u, Δ_i = ∂V_i/∂S_u including the forward ratio).
"""

from __future__ import annotations

from dataclasses import dataclass

from .instruments import Instrument, Position, unit_delta, unit_mark
from .market import Market
from .portfolio import Portfolio


def instrument_vol(inst: Instrument, market: Market) -> float:
    """The vol an instrument is priced with: its own ``vol`` or the underlying's flat vol."""
    return inst.vol if inst.vol is not None else market.underlyings[inst.underlying].vol


@dataclass(frozen=True)
class Equity:
    """Equity in USD with its parts: haircut collateral per asset and marks per underlying."""

    total: float
    collateral: dict[str, float]
    marks: dict[str, float]


def collateral_value(portfolio: Portfolio, market: Market) -> dict[str, float]:
    """Haircut USD value per collateral asset: amount·price·(1 − h)."""
    out = {}
    for asset, amount in portfolio.collateral.items():
        c = market.collateral[asset]
        out[asset] = amount * c.price * (1.0 - c.haircut)
    return out


def position_mark(pos: Position, market: Market) -> float:
    """q·mark of one position (USD)."""
    inst = pos.instrument
    S = market.underlyings[inst.underlying].spot
    return pos.quantity * unit_mark(pos, S, instrument_vol(inst, market), market.tau(inst.expiry),
                                    market.basis(inst))


def equity(portfolio: Portfolio, market: Market) -> Equity:
    coll = collateral_value(portfolio, market)
    marks: dict[str, float] = {}
    for pos in portfolio.positions:
        u = pos.instrument.underlying
        marks[u] = marks.get(u, 0.0) + position_mark(pos, market)
    return Equity(total=sum(coll.values()) + sum(marks.values()), collateral=coll, marks=marks)


def dollar_delta_per_unit(inst: Instrument, market: Market) -> float:
    """Δ_i·S: USD P&L per unit for a relative move of 1 (100 %) in the underlying, linearised."""
    S = market.underlyings[inst.underlying].spot
    return unit_delta(inst, S, instrument_vol(inst, market), market.tau(inst.expiry),
                      market.basis(inst)) * S


def dollar_deltas(portfolio: Portfolio, market: Market) -> dict[str, float]:
    """δ_u = Σ_{i on u} q_i·Δ_i·S_u for every underlying held."""
    out: dict[str, float] = {}
    for pos in portfolio.positions:
        u = pos.instrument.underlying
        out[u] = out.get(u, 0.0) + pos.quantity * dollar_delta_per_unit(pos.instrument, market)
    return out
