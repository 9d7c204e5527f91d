"""Option chains with forwards: parity-implied forwards and pricing errors against marks.

Input: a Deribit-style option snapshot CSV with columns ``option_type`` (call/put), ``strike``,
``maturity`` (``YYYY-MM-DD HH:MM:SS``, UTC), ``mark_price`` (in coin), ``mark_iv`` (percent),
``index_price`` (USD) and optionally ``creation`` (listing time).

Coin-quoted marks. Deribit quotes an option in the coin; the quote equals the option's USD
Black-76 value divided by the forward of its expiry (the option's "underlying price"), so the
USD value of a mark m is m·F. Put–call parity in coin then reads c − p = 1 − K/F, i.e.

    F_K = K / (1 − (c − p))            for a strike K quoted as both call and put.

Parity forward of an expiry (:func:`parity_forwards`): the median of F_K over the (up to) three
strikes with the smallest |c − p| — the strikes nearest the money, where both marks are
informative (deep in-the-money marks carry little information about F; the choice of the
strike minimising |c − p| follows the CBOE VIX forward rule). Expiries without a call/put pair
take the forward from the market's forward curve (:meth:`Market.forward`, interpolating the
implied carry between the expiries that have one).

Pricing check (:func:`pricing_errors`): every quote is re-priced with Black-76 at its own
``mark_iv`` (r = 0, τ ACT/365 from ``as_of``) on (a) the parity forwards, (b) the spot index
as the forward (what a model without forwards does), and compared with the USD mark m·F.

The snapshot file carries no timestamp. ``as_of`` defaults to the latest ``creation`` time in
the file — every listed option existed by then, so it is a lower bound of the snapshot time.

Run ``python -m zkmargin.margin.chains SNAPSHOT.csv [--as-of ISO] [--json] [--write-market FILE]``
for the report (``--write-market`` also writes a market.json whose ``forwards`` are the parity
forwards, ready for ``zkmargin margin``).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .errors import InputError
from .pricing import black76


@dataclass(frozen=True)
class Quote:
    right: str            # "call" | "put"
    strike: float
    expiry: datetime
    mark: float           # coin
    iv: float             # fraction
    index: float          # USD
    created: datetime | None = None


def _utc(raw: str, where: str, field: str) -> datetime:
    try:
        t = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(where, field, f"not a date-time: {raw.strip()!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def read_chain(path: str | Path) -> list[Quote]:
    """Quotes of a Deribit-style snapshot CSV (module docstring); errors name file and line."""
    where = f"chain {Path(path).name}"
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise InputError(where, "(file)", f"cannot read: {exc.strerror}") from None
    need = ("option_type", "strike", "maturity", "mark_price", "mark_iv", "index_price")
    if not rows or any(k not in rows[0] for k in need):
        raise InputError(where, "columns", f"need {', '.join(need)}")
    out = []
    for n, r in enumerate(rows, start=2):
        right = r["option_type"].strip().lower()
        if right not in ("call", "put"):
            raise InputError(where, f"line {n} option_type", "must be call or put")
        try:
            k, m, iv, s = (float(r[c]) for c in ("strike", "mark_price", "mark_iv", "index_price"))
        except ValueError:
            raise InputError(where, f"line {n}", "strike, mark_price, mark_iv, index_price must be numbers") from None
        if not (k > 0 and m >= 0 and iv > 0 and s > 0) or not all(map(math.isfinite, (k, m, iv, s))):
            raise InputError(where, f"line {n}", "strike, mark_iv and index_price must be positive, mark_price >= 0")
        created = _utc(r["creation"], where, f"line {n} creation") if r.get("creation") else None
        out.append(Quote(right, k, _utc(r["maturity"], where, f"line {n} maturity"), m, iv / 100.0, s, created))
    return out


def default_as_of(quotes: list[Quote]) -> datetime:
    """The latest listing time in the file (a lower bound of the snapshot time)."""
    created = [q.created for q in quotes if q.created is not None]
    if not created:
        raise InputError("chain", "creation", "no listing times: pass as_of")
    return max(created)


def parity_forwards(quotes: list[Quote], n_strikes: int = 3) -> dict[datetime, float]:
    """F per expiry from coin parity c − p = 1 − K/F (module docstring)."""
    pairs: dict[tuple[datetime, float], dict[str, float]] = {}
    for q in quotes:
        pairs.setdefault((q.expiry, q.strike), {})[q.right] = q.mark
    by_exp: dict[datetime, list[tuple[float, float]]] = {}
    for (t, k), d in pairs.items():
        if "call" in d and "put" in d:
            diff = d["call"] - d["put"]
            if diff < 1.0:
                by_exp.setdefault(t, []).append((abs(diff), k / (1.0 - diff)))
    return {t: float(np.median([f for _, f in sorted(v)[:n_strikes]])) for t, v in sorted(by_exp.items())}


def forward_market_doc(quotes: list[Quote], as_of: datetime, underlying: str = "BTC",
                       forwards: dict[datetime, float] | None = None) -> dict:
    """A market.json document: spot = median index, vol = median mark IV, ``forwards`` the
    parity forwards of the expiries after ``as_of``."""
    fw = parity_forwards(quotes) if forwards is None else forwards
    spot = float(np.median([q.index for q in quotes]))
    return {"as_of": as_of.isoformat().replace("+00:00", "Z"),
            "underlyings": {underlying: {
                "spot": spot, "vol": float(np.median([q.iv for q in quotes])),
                "forwards": {t.isoformat().replace("+00:00", "Z"): f for t, f in fw.items() if t > as_of}}}}


def pricing_errors(quotes: list[Quote], as_of: datetime | None = None, underlying: str = "BTC") -> dict:
    """Black-76 at each quote's mark IV on parity forwards and on spot, against the USD mark
    m·F (module docstring). Returns per-quote arrays and the forwards used."""
    from .market import parse_market
    as_of = as_of or default_as_of(quotes)
    live = [q for q in quotes if q.expiry > as_of]
    if not live:
        raise InputError("chain", "maturity", "no option expires after as_of")
    fw = parity_forwards(live)
    market = parse_market(forward_market_doc(live, as_of, underlying, fw))
    F = np.array([fw.get(q.expiry) or market.forward(underlying, q.expiry) for q in live])
    tau = np.array([(q.expiry - as_of).total_seconds() / (365.0 * 86400.0) for q in live])
    K = np.array([q.strike for q in live])
    iv = np.array([q.iv for q in live])
    call = np.array([q.right == "call" for q in live])
    S = np.array([q.index for q in live])
    mark_usd = np.array([q.mark for q in live]) * F
    with_fwd = black76(F, K, tau, iv, call)
    with_spot = black76(S, K, tau, iv, call)
    interpolated = sorted({q.expiry for q in live if q.expiry not in fw})
    return {"as_of": as_of, "quotes": live, "forward": F, "spot": S, "mark_usd": mark_usd,
            "err_forward": with_fwd - mark_usd, "err_spot": with_spot - mark_usd,
            "forwards": fw, "interpolated_expiries": interpolated}


def summarise(res: dict, min_mark_usd: float = 50.0) -> dict:
    """Percentiles of |error| in USD, relative to the mark (marks ≥ ``min_mark_usd``) and in
    basis points of the forward, for both forwards."""
    out = {"as_of": res["as_of"].isoformat(), "quotes": len(res["quotes"]),
           "forwards": {t.date().isoformat(): round(f, 2) for t, f in res["forwards"].items()},
           "interpolated_expiries": [t.date().isoformat() for t in res["interpolated_expiries"]],
           "relative_error_marks_at_least_usd": min_mark_usd}
    big = res["mark_usd"] >= min_mark_usd
    for name in ("forward", "spot"):
        e = res[f"err_{name}"]
        a = np.abs(e)
        rel = np.abs(e[big] / res["mark_usd"][big])
        bp = a / res["forward"] * 1e4
        out[name] = {
            "abs_usd": {p: float(np.percentile(a, q)) for p, q in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))},
            "rel": {p: float(np.percentile(rel, q)) for p, q in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))},
            "bp_of_forward": {p: float(np.percentile(bp, q)) for p, q in (("p50", 50), ("p90", 90), ("max", 100))},
            "mean_signed_usd": float(np.mean(e)),
        }
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m zkmargin.margin.chains",
                                 description="price an option snapshot with parity forwards vs spot")
    ap.add_argument("snapshot")
    ap.add_argument("--as-of", default=None, help="snapshot time (ISO); default: latest listing time")
    ap.add_argument("--underlying", default="BTC")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--write-market", default=None, help="write a market.json with the parity forwards")
    args = ap.parse_args(argv)
    try:
        quotes = read_chain(args.snapshot)
        as_of = _utc(args.as_of, "--as-of", "time") if args.as_of else None
        res = pricing_errors(quotes, as_of, args.underlying)
        s = summarise(res)
        if args.write_market:
            doc = forward_market_doc(res["quotes"], res["as_of"], args.underlying, res["forwards"])
            Path(args.write_market).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write {args.write_market}: {exc.strerror}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(s, indent=2))
        return 0
    print(f"{s['quotes']} quotes, as_of {s['as_of']}; parity forwards: {s['forwards']}")
    if s["interpolated_expiries"]:
        print(f"forward interpolated (no call/put pair) for: {', '.join(s['interpolated_expiries'])}")
    for name, label in (("forward", "parity forward (Black-76)"), ("spot", "spot as forward")):
        e = s[name]
        print(f"{label:28s} |err| USD p50 {e['abs_usd']['p50']:8.2f}  p90 {e['abs_usd']['p90']:8.2f}  "
              f"p99 {e['abs_usd']['p99']:8.2f}  max {e['abs_usd']['max']:8.2f} | rel p50 {e['rel']['p50']:.2%} "
              f"p90 {e['rel']['p90']:.2%} max {e['rel']['max']:.2%} | bp of F p50 {e['bp_of_forward']['p50']:.1f} "
              f"max {e['bp_of_forward']['max']:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
