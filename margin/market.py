"""The market: as-of time, per-underlying prices and risk parameters, collateral prices.

Parsed from ``market.json`` (FORMATS.md). Optional extensions:

* per underlying ``tiers``: ``[[cap_usd or null, mm_rate, im_rate], ...]`` for isolated/cross;
* ``covariance``: ``{"underlyings": [..], "matrix": [[..]]}`` — covariance of daily log returns;
* ``history``: ``{"dates": [..], "closes": {"BTC": [..], ...}}`` — daily closes for
  historical-simulation models and for estimating a covariance.

Defaults when absent: price_scan 0.15, vol_scan 0.10 (the FORMATS.md example values),
extreme_multiple 2, extreme_cover 0.35, short_option_minimum 0 (MARGIN_MODELS.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .errors import InputError
from .tiers import BINANCE_BTCUSDT, TierTable, tier_table_from_list

SECONDS_PER_YEAR = 365.0 * 86400.0


@dataclass(frozen=True)
class UnderlyingParams:
    """Spot S (USD), flat implied vol σ, and the venue's span16 parameters for one underlying."""

    spot: float
    vol: float
    price_scan: float = 0.15
    vol_scan: float = 0.10
    extreme_multiple: float = 2.0
    extreme_cover: float = 0.35
    short_option_minimum: float = 0.0
    tiers: TierTable = BINANCE_BTCUSDT


@dataclass(frozen=True)
class CollateralAsset:
    """Collateral asset price (USD) and haircut h ∈ [0, 1): counts as amount·price·(1 − h)."""

    price: float
    haircut: float = 0.0


@dataclass(frozen=True)
class Market:
    as_of: datetime
    underlyings: dict[str, UnderlyingParams]
    collateral: dict[str, CollateralAsset] = field(default_factory=dict)
    covariance: tuple[tuple[str, ...], np.ndarray] | None = None
    history: tuple[list[str], dict[str, np.ndarray]] | None = None

    def tau(self, expiry: datetime | None) -> float:
        """Time to expiry in years, ACT/365 from ``as_of`` (0 for non-expiring)."""
        if expiry is None:
            return 0.0
        return max((expiry - self.as_of).total_seconds(), 0.0) / SECONDS_PER_YEAR

    def with_spots(self, spots: dict[str, float]) -> "Market":
        """A copy with new spot prices (collateral priced in the same asset moves too)."""
        unds = {u: replace(p, spot=float(spots.get(u, p.spot))) for u, p in self.underlyings.items()}
        coll = {a: replace(c, price=float(spots[a])) if a in spots else c
                for a, c in self.collateral.items()}
        return replace(self, underlyings=unds, collateral=coll)


def parse_time(value, where: str, fieldname: str) -> datetime:
    """ISO-8601 time (``Z`` allowed); naive times are taken as UTC."""
    if not isinstance(value, str):
        raise InputError(where, fieldname, "must be an ISO-8601 date/time string")
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(where, fieldname, f"not an ISO-8601 date/time: {value!r}") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t


def number(obj: dict, key: str, where: str, *, default=None, minimum=None, strict=False,
           maximum=None, secret: bool = False) -> float:
    """Read a finite number field, with optional default and bounds (named errors). With
    ``secret`` (a trader's quantities, strikes, amounts) the message never shows the value."""
    if key not in obj:
        if default is None:
            raise InputError(where, key, "missing")
        return default
    v = obj[key]
    try:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
            raise OverflowError
    except OverflowError:
        raise InputError(where, key, "must be a finite number" + ("" if secret else f", got {str(v)[:40]!r}")) from None
    v = float(v)
    got = "" if secret else f", got {v:g}"
    if minimum is not None and (v < minimum or (strict and v == minimum)):
        raise InputError(where, key, f"must be {'>' if strict else '>='} {minimum:g}{got}")
    if maximum is not None and v > maximum:
        raise InputError(where, key, f"must be <= {maximum:g}{got}")
    return v


def parse_market(data: dict) -> Market:
    """Validate and build a :class:`Market` from the decoded ``market.json``."""
    if not isinstance(data, dict):
        raise InputError("market", "(root)", "must be a JSON object")
    as_of = parse_time(data.get("as_of"), "market", "as_of") if "as_of" in data else None
    if as_of is None:
        raise InputError("market", "as_of", "missing")
    raw = data.get("underlyings")
    if not isinstance(raw, dict) or not raw:
        raise InputError("market", "underlyings", "missing or empty")
    unds = {}
    for name, p in raw.items():
        where = f"market.underlyings.{name}"
        if not isinstance(p, dict):
            raise InputError(where, "(object)", "must be an object")
        tiers = BINANCE_BTCUSDT
        if "tiers" in p:
            try:
                tiers = tier_table_from_list(p["tiers"])
            except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
                raise InputError(where, "tiers", f"not a tier table ({str(exc)[:80]})") from None
        unds[name] = UnderlyingParams(
            spot=number(p, "spot", where, minimum=0.0, strict=True),
            vol=number(p, "vol", where, minimum=0.0),
            price_scan=number(p, "price_scan", where, default=0.15, minimum=0.0),
            vol_scan=number(p, "vol_scan", where, default=0.10, minimum=0.0),
            extreme_multiple=number(p, "extreme_multiple", where, default=2.0, minimum=0.0),
            extreme_cover=number(p, "extreme_cover", where, default=0.35, minimum=0.0),
            short_option_minimum=number(p, "short_option_minimum", where, default=0.0, minimum=0.0),
            tiers=tiers,
        )
    coll = {}
    raw_coll = data.get("collateral", {})
    if not isinstance(raw_coll, dict):
        raise InputError("market", "collateral", "must be an object {asset: {price, haircut}}")
    for name, c in raw_coll.items():
        where = f"market.collateral.{name}"
        if not isinstance(c, dict):
            raise InputError(where, "(object)", "must be an object")
        coll[name] = CollateralAsset(
            price=number(c, "price", where, minimum=0.0),
            haircut=number(c, "haircut", where, default=0.0, minimum=0.0, maximum=1.0))
    cov = None
    if "covariance" in data:
        c = data["covariance"]
        try:
            names = tuple(c["underlyings"])
            mat = np.asarray(c["matrix"], float)
            if not all(isinstance(n, str) for n in names) or mat.ndim != 2 or not np.all(np.isfinite(mat)):
                raise ValueError
        except (KeyError, TypeError, ValueError, IndexError):
            raise InputError("market", "covariance", "needs 'underlyings' and a numeric 'matrix'") from None
        if mat.shape != (len(names), len(names)) or not np.allclose(mat, mat.T):
            raise InputError("market", "covariance", "matrix must be square, symmetric, one row per underlying")
        cov = (names, mat)
    hist = None
    if "history" in data:
        h = data["history"]
        try:
            if not isinstance(h["dates"], list) or not all(isinstance(d, str) for d in h["dates"]):
                raise ValueError
            dates = list(h["dates"])
            closes = {u: np.asarray(v, float) for u, v in h["closes"].items()}
            if any(v.ndim != 1 for v in closes.values()):
                raise ValueError
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            raise InputError("market", "history", "needs 'dates' and numeric 'closes' per underlying") from None
        for u, v in closes.items():
            if len(v) != len(dates) or np.any(~np.isfinite(v)) or np.any(v <= 0):
                raise InputError("market", f"history.closes.{u}", "one positive close per date")
        hist = (dates, closes)
    return Market(as_of=as_of, underlyings=unds, collateral=coll, covariance=cov, history=hist)


def load_json(path: str | Path, what: str) -> dict:
    """Read a JSON object with the strict reader (size, nesting, NaN, duplicate keys); problems
    raise :class:`~zkmargin.formats.jsonio.JSONFormatError` naming the file."""
    from zkmargin.formats.jsonio import MAX_JSON_BYTES, read_object
    return read_object(path, what, MAX_JSON_BYTES)


def load_market(path: str | Path) -> Market:
    return parse_market(load_json(path, "market"))
