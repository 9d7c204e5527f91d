"""The market: as-of time, per-underlying prices and risk parameters, collateral prices.

Parsed from ``market.json`` (fields in docs/MARGIN_MODELS.md). **Unknown fields are rejected** at every level (a
typo such as ``"undelyings"`` or ``"pricescan"`` is an :class:`InputError` naming the field and
the closest known one), so a misspelt parameter can never fall back silently to its default.

Fields of the root object:

* ``as_of`` (required), ``underlyings`` (required), ``collateral``;
* ``covariance``: ``{"underlyings": [..], "matrix": [[..]]}`` — covariance of daily log returns;
* ``history``: ``{"dates": [..], "closes": {"BTC": [..], ...}}`` — daily closes for
  historical-simulation models and for estimating a covariance;
* ``vol_history``: ``{"dates": [..], "levels": {"BTC": [..]}}`` — a daily implied-vol index
  per underlying in vol points (Deribit DVOL style: 55.3 = 55.3 %), for vol-aware scenarios;
* ``historical``: the scenario policy of ``hvar`` / ``es`` / ``mcvar``
  (:class:`~zkmargin.margin.historical.HistoricalConfig`; absent = legacy frozen-vol
  historical simulation);
* ``spread_credits``: inter-commodity spread credits for ``span16``, a list in priority order of
  ``{"pair": ["BTC", "ETH"], "rate": 0.6}`` (:mod:`.credits`).

Fields of ``underlyings.<U>``: ``spot`` and ``vol`` (required); ``price_scan`` 0.15,
``vol_scan`` 0.10, ``extreme_multiple`` 2, ``extreme_cover`` 0.35, ``short_option_minimum`` 0
(defaults when absent); ``tiers``: ``[[cap_usd or null, mm_rate, im_rate], ...]`` for
isolated/cross; ``forwards``: ``{"<expiry ISO time>": forward price USD, ...}``.

Forwards
--------
Dated futures and options are valued on the forward F(T) of their expiry T (Black-76 for
options); spot, perpetuals and collateral stay on spot S. With pillars (τ_k, F_k) from
``forwards`` (τ in years ACT/365 from ``as_of``) and y = ln(F/S):

* at a pillar, F = F_k exactly;
* between pillars (and between τ = 0, y = 0 and the first pillar) y is linear in τ;
* beyond the last pillar the carry rate y_last/τ_last is held: y = τ·y_last/τ_last.

Without ``forwards`` F(T) = S for every T (the behaviour of older market files). Scenarios keep
the ratio F/S fixed ("sticky basis"): a spot move S → S' moves every forward to F·S'/S.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .errors import InputError
from .tiers import BINANCE_BTCUSDT, TierTable, tier_table_from_list

SECONDS_PER_YEAR = 365.0 * 86400.0

ROOT_KEYS = ("as_of", "underlyings", "collateral", "covariance", "history", "vol_history",
             "historical", "spread_credits")
UNDERLYING_KEYS = ("spot", "vol", "price_scan", "vol_scan", "extreme_multiple", "extreme_cover",
                   "short_option_minimum", "tiers", "forwards")
COLLATERAL_KEYS = ("price", "haircut")


def check_keys(obj: dict, allowed, where: str) -> None:
    """Reject any key of ``obj`` not in ``allowed`` (InputError naming it and the closest one)."""
    from zkmargin.formats.jsonio import printable
    for key in obj:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), list(allowed), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(allowed)})"
            raise InputError(where, printable(key, 40), f"unknown field{hint}")


@dataclass(frozen=True)
class UnderlyingParams:
    """Spot S (USD), flat implied vol σ, the venue's span16 parameters for one underlying, and
    its forward pillars ``forwards`` ((expiry, F) sorted by expiry; empty: F = S)."""

    spot: float
    vol: float
    price_scan: float = 0.15
    vol_scan: float = 0.10
    extreme_multiple: float = 2.0
    extreme_cover: float = 0.35
    short_option_minimum: float = 0.0
    tiers: TierTable = BINANCE_BTCUSDT
    forwards: tuple[tuple[datetime, float], ...] = ()


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
    vol_history: object | None = None          # history.VolIndexHistory
    historical: object | None = None           # historical.HistoricalConfig
    spread_credits: tuple = ()                 # credits.SpreadCredit, priority order

    def tau(self, expiry: datetime | None) -> float:
        """Time to expiry in years, ACT/365 from ``as_of`` (0 for non-expiring)."""
        if expiry is None:
            return 0.0
        return max((expiry - self.as_of).total_seconds(), 0.0) / SECONDS_PER_YEAR

    def forward(self, underlying: str, expiry: datetime | None) -> float:
        """F(T) for ``underlying`` (module docstring); S when there is no expiry or no pillar."""
        p = self.underlyings[underlying]
        return p.spot * self.forward_ratio(underlying, expiry)

    def forward_ratio(self, underlying: str, expiry: datetime | None) -> float:
        """F(T)/S: 1 without an expiry or without pillars (module docstring)."""
        p = self.underlyings[underlying]
        if expiry is None or not p.forwards:
            return 1.0
        tau = self.tau(expiry)
        if tau <= 0.0:
            return 1.0
        for t_k, f_k in p.forwards:
            if t_k == expiry:
                return f_k / p.spot
        pts = [(self.tau(t), math.log(f / p.spot)) for t, f in p.forwards]
        pts = [(t, y) for t, y in pts if t > 0]
        if not pts:
            return 1.0
        prev_t, prev_y = 0.0, 0.0
        for t_k, y_k in pts:
            if tau <= t_k:
                y = prev_y + (y_k - prev_y) * (tau - prev_t) / (t_k - prev_t)
                return math.exp(y)
            prev_t, prev_y = t_k, y_k
        return math.exp(tau * prev_y / prev_t)

    def basis(self, inst) -> float:
        """F/S of an instrument: the forward ratio of its expiry for dated futures and options,
        1 for spot, perpetuals and inverse perpetuals."""
        if inst.kind in ("future", "inverse_future", "option"):
            return self.forward_ratio(inst.underlying, inst.expiry)
        return 1.0

    def with_spots(self, spots: dict[str, float]) -> "Market":
        """A copy with new spot prices (collateral priced in the same asset moves too; forward
        pillars move with spot, keeping F/S)."""
        unds = {}
        for u, p in self.underlyings.items():
            if u in spots:
                s = float(spots[u])
                fw = tuple((t, f * s / p.spot) for t, f in p.forwards)
                unds[u] = replace(p, spot=s, forwards=fw)
            else:
                unds[u] = p
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
    ``secret`` (a trader's quantities, strikes, amounts, entry prices) the message never shows
    the value."""
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


def _forwards(raw, where: str, as_of: datetime) -> tuple[tuple[datetime, float], ...]:
    if not isinstance(raw, dict):
        raise InputError(where, "forwards", "must be an object {expiry ISO time: forward price}")
    out = []
    for key, val in raw.items():
        t = parse_time(key, f"{where}.forwards", key)
        if t < as_of:
            raise InputError(f"{where}.forwards", key, "expiry is before the market as_of")
        f = number(raw, key, f"{where}.forwards", minimum=0.0, strict=True)
        out.append((t, f))
    out.sort(key=lambda x: x[0])
    if len({t for t, _ in out}) != len(out):
        raise InputError(where, "forwards", "two pillars for the same expiry")
    return tuple(out)


def _underlying(name: str, p, as_of: datetime) -> UnderlyingParams:
    where = f"market.underlyings.{name}"
    if not isinstance(p, dict):
        raise InputError(where, "(object)", "must be an object")
    check_keys(p, UNDERLYING_KEYS, where)
    tiers = BINANCE_BTCUSDT
    if "tiers" in p:
        try:
            tiers = tier_table_from_list(p["tiers"])
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            raise InputError(where, "tiers", f"not a tier table ({str(exc)[:80]})") from None
    return UnderlyingParams(
        spot=number(p, "spot", where, minimum=0.0, strict=True),
        vol=number(p, "vol", where, minimum=0.0),
        price_scan=number(p, "price_scan", where, default=0.15, minimum=0.0),
        vol_scan=number(p, "vol_scan", where, default=0.10, minimum=0.0),
        extreme_multiple=number(p, "extreme_multiple", where, default=2.0, minimum=0.0),
        extreme_cover=number(p, "extreme_cover", where, default=0.35, minimum=0.0),
        short_option_minimum=number(p, "short_option_minimum", where, default=0.0, minimum=0.0),
        tiers=tiers,
        forwards=_forwards(p["forwards"], where, as_of) if "forwards" in p else (),
    )


def _vol_history(h, unds) -> object:
    from .history import VolIndexHistory
    if not isinstance(h, dict):
        raise InputError("market", "vol_history", "must be an object {dates, levels}")
    check_keys(h, ("dates", "levels"), "market.vol_history")
    try:
        dates = [str(d) for d in h["dates"]]
        levels = {u: np.asarray(v, float) for u, v in h["levels"].items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InputError("market", "vol_history", "needs 'dates' and numeric 'levels' per underlying") from None
    if dates != sorted(set(dates)):
        raise InputError("market", "vol_history.dates", "dates must increase")
    series = {}
    for u, v in levels.items():
        if u not in unds:
            raise InputError("market.vol_history.levels", u, "not an underlying of the market")
        if len(v) != len(dates) or np.any(~np.isfinite(v)) or np.any(v <= 0) or np.any(v > 1000):
            raise InputError("market", f"vol_history.levels.{u}", "one positive level (vol points) per date")
        series[u] = (tuple(dates), v / 100.0)
    return VolIndexHistory(series)


def parse_market(data: dict) -> Market:
    """Validate and build a :class:`Market` from the decoded ``market.json``."""
    from .credits import parse_spread_credits
    from .historical import parse_historical_config

    if not isinstance(data, dict):
        raise InputError("market", "(root)", "must be a JSON object")
    check_keys(data, ROOT_KEYS, "market")
    as_of = parse_time(data.get("as_of"), "market", "as_of") if "as_of" in data else None
    if as_of is None:
        raise InputError("market", "as_of", "missing")
    raw = data.get("underlyings")
    if not isinstance(raw, dict) or not raw:
        raise InputError("market", "underlyings", "missing or empty")
    unds = {name: _underlying(name, p, as_of) for name, p in raw.items()}
    coll = {}
    raw_coll = data.get("collateral", {})
    if not isinstance(raw_coll, dict):
        raise InputError("market", "collateral", "must be an object {asset: {price, haircut}}")
    for name, c in raw_coll.items():
        where = f"market.collateral.{name}"
        if not isinstance(c, dict):
            raise InputError(where, "(object)", "must be an object")
        check_keys(c, COLLATERAL_KEYS, where)
        coll[name] = CollateralAsset(
            price=number(c, "price", where, minimum=0.0),
            haircut=number(c, "haircut", where, default=0.0, minimum=0.0, maximum=1.0))
    cov = None
    if "covariance" in data:
        c = data["covariance"]
        if isinstance(c, dict):
            check_keys(c, ("underlyings", "matrix"), "market.covariance")
        try:
            names = tuple(c["underlyings"])
            mat = np.asarray(c["matrix"], float)
            if not all(isinstance(n, str) for n in names) or mat.ndim != 2 or not np.all(np.isfinite(mat)):
                raise ValueError
        except (KeyError, TypeError, ValueError, IndexError):
            raise InputError("market", "covariance", "needs 'underlyings' and a numeric 'matrix'") from None
        if mat.shape != (len(names), len(names)) or not np.allclose(mat, mat.T):
            raise InputError("market", "covariance", "matrix must be square, symmetric, one row per underlying")
        if not np.all(np.isfinite(mat)):
            raise InputError("market", "covariance", "matrix entries must be finite")
        cov = (names, mat)
    hist = None
    if "history" in data:
        h = data["history"]
        if isinstance(h, dict):
            check_keys(h, ("dates", "closes"), "market.history")
        try:
            if not isinstance(h["dates"], list) or not all(isinstance(d, str) for d in h["dates"]):
                raise ValueError
            dates = list(h["dates"])
            closes = {u: np.asarray(v, float) for u, v in h["closes"].items()}
            if any(v.ndim != 1 for v in closes.values()):
                raise ValueError
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            raise InputError("market", "history", "needs 'dates' and numeric 'closes' per underlying") from None
        from .history import parse_day
        try:
            days = [parse_day(str(d)).isoformat() for d in dates]
        except ValueError:
            raise InputError("market", "history.dates", "every date must be an ISO date") from None
        if any(b <= a for a, b in zip(days, days[1:])):
            raise InputError("market", "history.dates", "dates must increase (one per day)")
        for u, v in closes.items():
            if len(v) != len(dates) or np.any(~np.isfinite(v)) or np.any(v <= 0):
                raise InputError("market", f"history.closes.{u}", "one positive close per date")
        hist = (days, closes)
    vh = _vol_history(data["vol_history"], unds) if "vol_history" in data else None
    hcfg = parse_historical_config(data["historical"]) if "historical" in data else None
    credits = parse_spread_credits(data["spread_credits"], unds) if "spread_credits" in data else ()
    return Market(as_of=as_of, underlyings=unds, collateral=coll, covariance=cov, history=hist,
                  vol_history=vh, historical=hcfg, spread_credits=credits)


def load_json(path: str | Path, what: str) -> dict:
    """Read a JSON object with the strict reader (size, nesting, NaN, duplicate keys); problems
    raise :class:`~zkmargin.formats.jsonio.JSONFormatError` naming the file."""
    from zkmargin.formats.jsonio import MAX_JSON_BYTES, read_object
    return read_object(path, what, MAX_JSON_BYTES)


def load_market(path: str | Path) -> Market:
    return parse_market(load_json(path, "market"))
