"""Instruments and their per-unit valuation.

One :class:`Instrument` describes a contract; a :class:`Position` is a signed quantity of it
(negative = short) plus the position's own ``entry_price``.

Units (all values in USD). ``b`` is the instrument's forward ratio F/S from the market
(:meth:`~zkmargin.margin.market.Market.basis`: F(T)/S for dated futures and options, 1 for
spot and perpetuals, and 1 for every instrument of a market without forwards):

* ``spot``: one unit of the underlying, worth S.
* ``perpetual`` (linear, USD-settled): one unit, marked at spot: P&L of S → S' is S' − S.
* ``future`` (linear, dated): one unit marked at its forward F = b·S: P&L b·(S' − S) (the
  forward moves with spot at a fixed ratio).
* ``inverse_perpetual`` / ``inverse_future`` (coin-margined): one contract of face value F_v USD;
  the USD P&L of a move S → S' is F_v·(S'/S − 1) per contract (the ratio of forwards equals
  the ratio of spots).
* ``option``: a European call/put on one unit, Black-76 on the forward b·S with r = 0
  (Black–Scholes on spot when b = 1).

Marks (what a position adds to equity): spot q·S; perpetual q·(S − entry); dated future
q·(F − entry); inverse q·F_v·(X/entry − 1) with X = S (perpetual) or F (future); option
q·V(F, σ, T). Without an ``entry_price`` a future/perpetual is taken as freshly marked (mark 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from .pricing import black76, bs_greeks

LINEAR_KINDS = ("future", "perpetual")
INVERSE_KINDS = ("inverse_future", "inverse_perpetual")
KINDS = ("spot", *LINEAR_KINDS, *INVERSE_KINDS, "option")
EXPIRING_KINDS = ("future", "inverse_future", "option")


@dataclass(frozen=True)
class Instrument:
    """A contract. ``strike``/``right`` only for options, ``face_value`` only for inverse ones,
    ``expiry`` for futures and options. ``vol`` optionally overrides the underlying's flat vol."""

    kind: str
    underlying: str
    name: str
    expiry: datetime | None = None
    strike: float | None = None
    right: str | None = None
    face_value: float | None = None
    vol: float | None = None

    @property
    def is_option(self) -> bool:
        return self.kind == "option"

    @property
    def is_linear(self) -> bool:
        return self.kind in LINEAR_KINDS

    @property
    def is_inverse(self) -> bool:
        return self.kind in INVERSE_KINDS

    @property
    def is_call(self) -> bool:
        return self.right == "call"


@dataclass(frozen=True)
class Position:
    """A signed quantity of an instrument. ``index`` is the position's place in the input file."""

    instrument: Instrument
    quantity: float
    entry_price: float | None = None
    index: int = 0


def default_name(kind: str, underlying: str, expiry: datetime | None, strike: float | None,
                 right: str | None, face_value: float | None) -> str:
    """A readable instrument name, e.g. ``BTC-20240628-70000-C`` or ``BTC-PERP``."""
    if kind == "spot":
        return f"{underlying}-SPOT"
    if kind == "perpetual":
        return f"{underlying}-PERP"
    if kind == "inverse_perpetual":
        return f"{underlying}-INVPERP-{face_value:g}"
    day = expiry.strftime("%Y%m%d") if expiry else "?"
    if kind == "future":
        return f"{underlying}-{day}"
    if kind == "inverse_future":
        return f"{underlying}-INV-{day}-{face_value:g}"
    return f"{underlying}-{day}-{strike:g}-{'C' if right == 'call' else 'P'}"


def unit_pnl(inst: Instrument, S0: float, sigma0: float, S1, sigma1, tau: float,
             basis: float = 1.0) -> np.ndarray:
    """P&L per unit (USD) of moving the market from (S0, σ0) to (S1, σ1), same time τ.

    spot/perpetual: S1 − S0; dated future: b·(S1 − S0); inverse: F_v·(S1/S0 − 1);
    option: V(b·S1, σ1) − V(b·S0, σ0) (Black-76, r = 0).
    """
    S1 = np.asarray(S1, float)
    if inst.is_option:
        v0 = black76(basis * S0, inst.strike, tau, sigma0, inst.is_call)
        return black76(basis * S1, inst.strike, tau, sigma1, inst.is_call) - v0
    if inst.is_inverse:
        return inst.face_value * (S1 / S0 - 1.0)
    if inst.kind == "future":
        return basis * (S1 - S0)
    return S1 - S0


def unit_mark(pos: Position, S: float, sigma: float, tau: float, basis: float = 1.0) -> float:
    """What one unit of the position adds to equity (USD); see module docstring."""
    inst = pos.instrument
    if inst.kind == "spot":
        return float(S)
    if inst.is_option:
        return float(black76(basis * S, inst.strike, tau, sigma, inst.is_call))
    if pos.entry_price is None:
        return 0.0
    X = basis * S if inst.kind in ("future", "inverse_future") else S
    if inst.is_inverse:
        return float(inst.face_value * (X / pos.entry_price - 1.0))
    return float(X - pos.entry_price)


def unit_delta(inst: Instrument, S: float, sigma: float, tau: float, basis: float = 1.0) -> float:
    """∂(value per unit)/∂S: 1 spot/perpetual, b dated future, F_v/S inverse (P&L
    F_v·(S'/S − 1)), option b·N(d1)-type Black-76 delta (call b·N(d1), put b·(N(d1) − 1))."""
    if inst.is_option:
        return float(basis * bs_greeks(basis * S, inst.strike, tau, sigma, inst.is_call)["delta"])
    if inst.is_inverse:
        return float(inst.face_value / S)
    if inst.kind == "future":
        return float(basis)
    return 1.0


def unit_notional(inst: Instrument, S: float, basis: float = 1.0) -> float:
    """Notional per unit in USD: S for spot/perpetual/option, b·S for a dated future, F_v for
    inverse contracts."""
    if inst.is_inverse:
        return float(inst.face_value)
    if inst.kind == "future":
        return float(basis * S)
    return float(S)
