"""A trader's portfolio: collateral amounts and positions, parsed against a market.

Validation (docs/MARGIN_MODELS.md, "Input files"): every problem raises :class:`InputError` naming the position
(``positions[i] (instrument name)``) and the field — unknown ``type``, missing field, negative
or zero strike, expiry before the market's ``as_of``, an underlying or collateral asset missing
from the market, non-numeric quantities — and **unknown fields** (root: ``account``,
``collateral``, ``positions``; position: ``type``, ``underlying``, ``quantity``, ``instrument``,
``entry_price``, ``expiry``, ``strike``, ``right``, ``face_value``, ``vol``). A misspelt key such
as ``"postions"`` is an error (with the closest known key), never an empty portfolio.
Error messages name places and fields, never quantities or amounts.
"""

from __future__ import annotations

from dataclasses import dataclass

from zkmargin.formats.jsonio import printable

from .errors import InputError
from .instruments import EXPIRING_KINDS, INVERSE_KINDS, KINDS, Instrument, Position, default_name
from .market import Market, check_keys, load_json, number, parse_time

ROOT_KEYS = ("account", "collateral", "positions")
POSITION_KEYS = ("type", "underlying", "quantity", "instrument", "entry_price", "expiry", "strike",
                 "right", "face_value", "vol")


@dataclass(frozen=True)
class Portfolio:
    account: str
    collateral: dict[str, float]
    positions: tuple[Position, ...]

    @property
    def underlyings(self) -> list[str]:
        """Underlyings in order of first appearance."""
        seen: list[str] = []
        for p in self.positions:
            if p.instrument.underlying not in seen:
                seen.append(p.instrument.underlying)
        return seen


def _position(i: int, raw, market: Market) -> Position:
    where = f"positions[{i}]"
    if not isinstance(raw, dict):
        raise InputError(where, "(object)", "must be an object")
    for key in ("type", "underlying", "instrument", "right", "expiry"):
        if key in raw and not isinstance(raw[key], str):
            raise InputError(where, key, "must be a string")
    if "instrument" in raw:
        where = f"positions[{i}] ({printable(raw['instrument'], 60)})"
    check_keys(raw, POSITION_KEYS, where)
    kind = raw.get("type")
    if kind is None:
        raise InputError(where, "type", "missing")
    if kind not in KINDS:
        raise InputError(where, "type", f"unknown type {kind!r} (expected one of {', '.join(KINDS)})")
    und = raw.get("underlying")
    if und is None:
        raise InputError(where, "underlying", "missing")
    if und not in market.underlyings:
        raise InputError(where, "underlying", f"{und!r} is not in the market")
    qty = number(raw, "quantity", where, secret=True)
    expiry = strike = right = face = None
    if kind in EXPIRING_KINDS:
        if "expiry" not in raw:
            raise InputError(where, "expiry", "missing")
        expiry = parse_time(raw["expiry"], where, "expiry")
        if expiry < market.as_of:
            raise InputError(where, "expiry", f"{raw['expiry']} is before the market as_of")
    if kind == "option":
        strike = number(raw, "strike", where, secret=True)
        if strike <= 0:
            raise InputError(where, "strike", "must be positive")
        right = raw.get("right")
        if right is None:
            raise InputError(where, "right", "missing")
        if right not in ("call", "put"):
            raise InputError(where, "right", f"must be 'call' or 'put', got {right!r}")
    if kind in INVERSE_KINDS:
        face = number(raw, "face_value", where, minimum=0.0, strict=True, secret=True)
    entry = None
    if "entry_price" in raw and kind != "option":
        entry = number(raw, "entry_price", where, minimum=0.0, strict=True, secret=True)
    vol = number(raw, "vol", where, minimum=0.0, secret=True) if "vol" in raw else None
    name = raw.get("instrument") or default_name(kind, und, expiry, strike, right, face)
    inst = Instrument(kind=kind, underlying=und, name=str(name), expiry=expiry, strike=strike,
                      right=right, face_value=face, vol=vol)
    return Position(instrument=inst, quantity=qty, entry_price=entry, index=i)


def parse_portfolio(data: dict, market: Market) -> Portfolio:
    """Validate and build a :class:`Portfolio` from decoded ``portfolio.json``."""
    if not isinstance(data, dict):
        raise InputError("portfolio", "(root)", "must be a JSON object")
    check_keys(data, ROOT_KEYS, "portfolio")
    coll = {}
    raw_coll = data.get("collateral", {})
    if not isinstance(raw_coll, dict):
        raise InputError("portfolio", "collateral", "must be an object {asset: amount}")
    for asset in raw_coll:
        if asset not in market.collateral:
            raise InputError(f"portfolio.collateral.{asset}", "asset", "not priced in the market's collateral")
        coll[asset] = number(raw_coll, asset, "portfolio.collateral", minimum=0.0, secret=True)
    raw_pos = data.get("positions", [])
    if not isinstance(raw_pos, list):
        raise InputError("portfolio", "positions", "must be a list")
    positions = tuple(_position(i, p, market) for i, p in enumerate(raw_pos))
    return Portfolio(account=str(data.get("account", "")), collateral=coll, positions=positions)


def load_portfolio(path, market: Market) -> Portfolio:
    return parse_portfolio(load_json(path, "portfolio"), market)
