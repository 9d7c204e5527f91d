"""Price histories: Yahoo-style CSV reading, alignment, log returns, covariance estimates.

CSV columns: Date,Open,High,Low,Close,Adj Close,Volume. Rows whose close is missing/``null``
are skipped; dates must be strictly increasing (else :class:`InputError`).

Covariance of daily log returns r_t (zero mean assumed for EWMA, as RiskMetrics):

* EWMA:   Σ = Σ_k w_k r_{T−k} r_{T−k}ᵀ,  w_k = (1 − λ) λ^k / (1 − λ^n),  λ = 0.94 by default;
* sample: the unbiased sample covariance (mean removed).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from .errors import InputError


@dataclass(frozen=True)
class PriceHistory:
    """Aligned daily closes: ``dates`` (ISO strings), ``names``, ``closes`` (n_days × n_names)."""

    dates: tuple[str, ...]
    names: tuple[str, ...]
    closes: np.ndarray

    def log_returns(self) -> np.ndarray:
        """r_t = ln(C_t / C_{t−1}), shape (n_days − 1, n_names)."""
        return np.diff(np.log(self.closes), axis=0)

    def gaps(self) -> list[tuple[str, str, int]]:
        """(date, next date, calendar days) for every step longer than one day."""
        ds = [date.fromisoformat(d) for d in self.dates]
        return [(self.dates[k], self.dates[k + 1], (b - a).days)
                for k, (a, b) in enumerate(zip(ds, ds[1:])) if (b - a).days > 1]

    def max_gap_days(self) -> int:
        """Largest calendar gap between consecutive dates (1 for a complete daily series)."""
        ds = [date.fromisoformat(d) for d in self.dates]
        return max(((b - a).days for a, b in zip(ds, ds[1:])), default=0)


def read_price_csv(path: str | Path, column: str = "Adj Close") -> tuple[list[str], np.ndarray]:
    """(dates, closes) from a Yahoo-style CSV; falls back to ``Close`` if ``column`` is absent."""
    where = f"history {Path(path).name}"
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise InputError(where, "(file)", f"cannot read: {exc.strerror}") from None
    if not rows:
        raise InputError(where, "(file)", "no data rows")
    col = column if column in rows[0] else "Close"
    if "Date" not in rows[0] or col not in rows[0]:
        raise InputError(where, "columns", "need Date and Close / Adj Close")
    dates, closes = [], []
    for n, row in enumerate(rows, start=2):
        raw = (row.get(col) or "").strip()
        if raw in ("", "null", "NaN", "nan"):
            continue
        try:
            v = float(raw)
        except ValueError:
            raise InputError(where, f"line {n} {col}", f"not a number: {raw!r}") from None
        if not math.isfinite(v) or v <= 0:
            raise InputError(where, f"line {n} {col}", "must be a positive price")
        d = row["Date"].strip()
        if dates and d <= dates[-1]:
            raise InputError(where, f"line {n} Date", "dates must increase")
        dates.append(d)
        closes.append(v)
    return dates, np.array(closes)


def align(series: dict[str, tuple[list[str], np.ndarray]]) -> PriceHistory:
    """Keep only dates present in every series (inner join)."""
    names = tuple(series)
    common = set.intersection(*(set(d) for d, _ in series.values()))
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
