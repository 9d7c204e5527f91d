"""Price and vol-index histories: CSV reading, alignment, returns, EWMA estimates.

CSV files
---------
Yahoo-style columns ``Date,Open,High,Low,Close,Adj Close,Volume`` (only ``Date`` and ``Adj
Close`` or ``Close`` are read; column names are matched case-insensitively). Rules:

* ``Date`` may carry a time of day (``2013-04-29 23:59:59``, ``2021-03-24T00:00:00Z``): a row is
  a daily bar, so only the calendar day is kept (the date as written, or its UTC date when the
  stamp has a UTC offset). Two rows on the same day, or days that do not increase, are an
  :class:`InputError` naming the file and line.
* Rows whose close is empty / ``null`` / ``NaN`` are skipped (the day becomes a gap); any other
  non-number, zero, negative or infinite close is an error.

Gaps and returns
----------------
:meth:`PriceHistory.log_returns` gives r_t = ln(C_t / C_{t−1}) between consecutive *rows*
(kept for callers that index rows). The margin models never use it directly: they call
:meth:`PriceHistory.daily_returns`, which keeps only returns whose two rows are at most
``max_gap_days`` calendar days apart (default 1). A return across a gap is a multi-day move and
is **dropped** (never silently used as a one-day scenario); the dropped end dates are reported
with the result.

Aligning several series (:func:`align`) keeps the dates present in every series (inner join);
a date missing from one series therefore becomes a gap of the aligned history and is handled by
the rule above. Fewer than two common dates is an error naming the series and their ranges.

Estimates
---------
Covariance of daily log returns r_t (zero mean assumed for EWMA, as RiskMetrics):

* EWMA:   Σ = Σ_k w_k r_{T−k} r_{T−k}ᵀ,  w_k = (1 − λ) λ^k / (1 − λ^n),  λ = 0.94 by default;
* sample: the unbiased sample covariance (mean removed).

:func:`ewma_vol_path` is the recursive EWMA volatility used for filtering and for the vol-move
proxy (:mod:`.historical`).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np

from .errors import InputError

MISSING = ("", "null", "NaN", "nan", "None")


def parse_day(raw: str) -> date:
    """The calendar day of a date or date-time string (ISO 8601, ``Z`` or offset allowed; a
    space may separate date and time). Raises ValueError when it is neither."""
    s = raw.strip()
    if len(s) == 10:
        return date.fromisoformat(s)
    t = datetime.fromisoformat(s.replace("Z", "+00:00"))
    if t.tzinfo is not None:
        t = t.astimezone(timezone.utc)
    return t.date()


@dataclass(frozen=True)
class PriceHistory:
    """Aligned daily closes: ``dates`` (ISO days ``YYYY-MM-DD``), ``names``, ``closes``
    (n_days × n_names)."""

    dates: tuple[str, ...]
    names: tuple[str, ...]
    closes: np.ndarray

    def log_returns(self) -> np.ndarray:
        """r_t = ln(C_t / C_{t−1}) between consecutive rows, shape (n_days − 1, n_names).
        Spans gaps; use :meth:`daily_returns` for one-day scenarios."""
        return np.diff(np.log(self.closes), axis=0)

    def step_days(self) -> np.ndarray:
        """Calendar days between consecutive rows (n_days − 1,)."""
        ds = [date.fromisoformat(d) for d in self.dates]
        return np.array([(b - a).days for a, b in zip(ds, ds[1:])], int)

    def daily_returns(self, max_gap_days: int = 1) -> tuple[list[str], np.ndarray, list[str]]:
        """(end dates, returns, dropped end dates): the log returns whose rows are at most
        ``max_gap_days`` calendar days apart, labelled by the later date, and the end dates of
        the returns dropped because they span a longer gap."""
        r = self.log_returns()
        steps = self.step_days()
        keep = steps <= max_gap_days
        ends = self.dates[1:]
        return ([d for d, k in zip(ends, keep) if k], r[keep],
                [d for d, k in zip(ends, keep) if not k])

    def gaps(self) -> list[tuple[str, str, int]]:
        """(date, next date, calendar days) for every step longer than one day."""
        return [(self.dates[k], self.dates[k + 1], int(n)) for k, n in enumerate(self.step_days()) if n > 1]

    def max_gap_days(self) -> int:
        """Largest calendar gap between consecutive dates (1 for a complete daily series)."""
        s = self.step_days()
        return int(s.max()) if len(s) else 0

    def until(self, last_day: str) -> "PriceHistory":
        """The rows dated on or before ``last_day`` (ISO day)."""
        k = int(np.searchsorted(np.array(self.dates), last_day, side="right"))
        return PriceHistory(self.dates[:k], self.names, self.closes[:k])

    def column(self, name: str) -> np.ndarray:
        return self.closes[:, self.names.index(name)]


def read_price_csv(path: str | Path, column: str = "Adj Close") -> tuple[list[str], np.ndarray]:
    """(ISO days, closes) from a Yahoo-style CSV (module docstring); falls back to ``Close``
    when ``column`` is absent."""
    where = f"history {Path(path).name}"
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise InputError(where, "(file)", f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(where, "(file)", "not a UTF-8 text file") from None
    if len(rows) < 2:
        raise InputError(where, "(file)", "no data rows")
    header = [h.strip().lower() for h in rows[0]]

    def find(name: str) -> int | None:
        return header.index(name.lower()) if name.lower() in header else None

    di = find("Date")
    ci = find(column)
    if ci is None:
        ci = find("Close")
    if di is None or ci is None:
        raise InputError(where, "columns", "need Date and Close / Adj Close")
    col = rows[0][ci].strip()
    days: list[date] = []
    closes: list[float] = []
    for n, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) <= max(di, ci):
            raise InputError(where, f"line {n}", "too few columns")
        raw = row[ci].strip()
        if raw in MISSING:
            continue
        try:
            v = float(raw)
        except ValueError:
            raise InputError(where, f"line {n} {col}", f"not a number: {raw!r}") from None
        if not math.isfinite(v) or v <= 0:
            raise InputError(where, f"line {n} {col}", "must be a positive price")
        try:
            d = parse_day(row[di])
        except ValueError:
            raise InputError(where, f"line {n} Date", f"not a date: {row[di].strip()!r}") from None
        if days and d == days[-1]:
            raise InputError(where, f"line {n} Date", f"a second row for {d.isoformat()} (one row per day)")
        if days and d < days[-1]:
            raise InputError(where, f"line {n} Date", "dates must increase")
        days.append(d)
        closes.append(v)
    if not days:
        raise InputError(where, "(file)", "no data rows with a close")
    return [d.isoformat() for d in days], np.array(closes)


def align(series: dict[str, tuple[list[str], np.ndarray]]) -> PriceHistory:
    """Keep only dates present in every series (inner join); fewer than two common dates is an
    :class:`InputError` naming each series' date range."""
    names = tuple(series)
    common = set.intersection(*(set(d) for d, _ in series.values()))
    if len(names) > 1 and len(common) < 2:
        ranges = ", ".join(f"{n} {d[0]}..{d[-1]}" if d else f"{n} (empty)" for n, (d, _) in series.items())
        raise InputError("histories", "Date", f"the series share {len(common)} date(s), need at least 2 "
                                              f"to align ({ranges})")
    dates = tuple(sorted(common))
    cols = []
    for n in names:
        d, c = series[n]
        idx = {x: k for k, x in enumerate(d)}
        cols.append([c[idx[x]] for x in dates])
    return PriceHistory(dates, names, np.array(cols, float).T.reshape(len(dates), len(names)))


def load_histories(paths: dict[str, str | Path]) -> PriceHistory:
    """Read several CSVs ({underlying: path}) and align them on common dates."""
    return align({u: read_price_csv(p) for u, p in paths.items()})


@dataclass(frozen=True)
class VolIndexHistory:
    """Daily implied-vol index levels per underlying, as fractions (DVOL 55.3 → 0.553).

    ``series[u] = (ISO days, levels)``. Read from CSVs whose ``Close`` is in vol points
    (percent), the convention of Deribit's DVOL and of the VIX family."""

    series: dict[str, tuple[tuple[str, ...], np.ndarray]]

    def level(self, underlying: str, day: str) -> float | None:
        days, lv = self.series[underlying]
        k = int(np.searchsorted(np.array(days), day))
        return float(lv[k]) if k < len(days) and days[k] == day else None

    def last_day(self, underlying: str) -> str:
        return self.series[underlying][0][-1]

    def lookup(self, underlying: str, days) -> np.ndarray:
        """Levels on ``days`` (NaN where the index has no value)."""
        d, lv = self.series[underlying]
        pos = {x: k for k, x in enumerate(d)}
        return np.array([lv[pos[x]] if x in pos else np.nan for x in days], float)


def read_vol_index_points(path: str | Path) -> tuple[tuple[str, ...], np.ndarray]:
    """(days, levels in vol points, as written) from a vol-index CSV with ``Date`` and
    ``Close``; levels above 1000 points are rejected as a unit mistake."""
    days, closes = read_price_csv(path, column="Close")
    if np.any(closes > 1000.0):
        raise InputError(f"vol history {Path(path).name}", "Close",
                         "expected vol points (55.3 = 55.3 %), found values above 1000")
    return tuple(days), closes


def read_vol_index_csv(path: str | Path) -> tuple[tuple[str, ...], np.ndarray]:
    """(days, levels as fractions) from a vol-index CSV with ``Date`` and ``Close`` in vol
    points; levels above 1000 points are rejected as a unit mistake."""
    days, points = read_vol_index_points(path)
    return days, points / 100.0


def load_vol_histories(paths: dict[str, str | Path]) -> VolIndexHistory:
    return VolIndexHistory({u: read_vol_index_csv(p) for u, p in paths.items()})


def ewma_covariance(returns: np.ndarray, lam: float = 0.94) -> np.ndarray:
    """EWMA covariance (zero mean), most recent observation weighted (1 − λ)/(1 − λ^n)."""
    r = np.asarray(returns, float)
    n = r.shape[0]
    w = (1.0 - lam) * lam ** np.arange(n - 1, -1, -1)
    w /= w.sum()
    return (r * w[:, None]).T @ r


def sample_covariance(returns: np.ndarray) -> np.ndarray:
    """Unbiased sample covariance of the rows of ``returns``."""
    return np.atleast_2d(np.cov(np.asarray(returns, float), rowvar=False))


def covariance(returns: np.ndarray, method: str = "ewma", lam: float = 0.94) -> np.ndarray:
    if method == "ewma":
        return ewma_covariance(returns, lam)
    if method == "sample":
        return sample_covariance(returns)
    raise ValueError(f"unknown covariance method {method!r} (ewma or sample)")


EWMA_SEED = 30
"""Returns used to seed the recursive EWMA variance (their mean square)."""


def ewma_vol_path(returns: np.ndarray, lam: float = 0.94, floor: float = 0.0) -> np.ndarray:
    """Recursive EWMA volatility, column-wise, shape (n + 1, k) for n returns:

        v_0 = mean of r² over the first min(n, 30) returns,
        v_t = λ·v_{t−1} + (1 − λ)·r_t²,         σ_t = max(√v_t, floor).

    Row t is the estimate after t returns, i.e. row t − 1 is the forecast for return t (known
    before it), and the last row the estimate today."""
    r = np.atleast_2d(np.asarray(returns, float).T).T
    n = r.shape[0]
    out = np.zeros((n + 1, r.shape[1]))
    if n == 0:
        return out + floor
    v = np.mean(r[:min(n, EWMA_SEED)] ** 2, axis=0)
    out[0] = v
    for t in range(n):
        v = lam * v + (1.0 - lam) * r[t] ** 2
        out[t + 1] = v
    return np.maximum(np.sqrt(out), floor)
