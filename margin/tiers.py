"""Tiered (notional-bracket) margin rates, Binance style.

A table is a list of brackets (upper notional bound, maintenance rate, initial rate), sorted by
bound; the last bound may be ``inf``. For a notional N in bracket n (floor_n < N ≤ cap_n):

    MM = N·mm_rate_n − cum_n,   cum_n = floor_n·(mm_rate_n − mm_rate_{n−1}) + cum_{n−1},  cum_0 = 0

and the same construction with the initial rates for IM. The cum amounts make MM a continuous,
piecewise-linear, convex function of N, equal to Σ_n (slice of N in bracket n)·rate_n.

Default: Binance BTCUSDT brackets (docs/MARGIN_MODELS.md) with initial rate = 1 / max leverage.
Above 50M USD the defaults use
50M–100M: 12.5 %, 100M–200M: 15 %, 200M–300M: 25 %, above: 50 % (a venue overrides them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TierTable:
    """Brackets as parallel tuples: ``caps`` (upper bounds, USD), ``mm_rates``, ``im_rates``."""

    caps: tuple[float, ...]
    mm_rates: tuple[float, ...]
    im_rates: tuple[float, ...]

    def _charge(self, notional, rates) -> np.ndarray:
        n = np.abs(np.asarray(notional, float))
        total = np.zeros_like(n)
        floor = 0.0
        for cap, rate in zip(self.caps, rates):
            total += np.clip(n - floor, 0.0, cap - floor) * rate
            floor = cap
        return total

    def maintenance(self, notional):
        """MM(N) = N·rate_n − cum_n for |N| (vectorised)."""
        return self._charge(notional, self.mm_rates)

    def initial(self, notional):
        """IM(N), same bracket construction with the initial rates."""
        return self._charge(notional, self.im_rates)

    def cum(self) -> list[float]:
        """The Binance 'maintenance amount' cum_n of every bracket."""
        out, prev_rate, prev_cum, floor = [], 0.0, 0.0, 0.0
        for cap, rate in zip(self.caps, self.mm_rates):
            prev_cum = floor * (rate - prev_rate) + prev_cum
            out.append(prev_cum)
            prev_rate, floor = rate, cap
        return out


_LEVERAGE = (125, 100, 50, 20, 10, 5, 4, 3, 2, 1)
BINANCE_BTCUSDT = TierTable(
    caps=(5e4, 2.5e5, 1e6, 1e7, 2e7, 5e7, 1e8, 2e8, 3e8, math.inf),
    mm_rates=(0.004, 0.005, 0.01, 0.025, 0.05, 0.10, 0.125, 0.15, 0.25, 0.50),
    im_rates=tuple(1.0 / lev for lev in _LEVERAGE),
)


def tier_table_from_list(rows: list) -> TierTable:
    """Parse ``[[cap or null, mm_rate, im_rate], ...]`` (cap null = unbounded)."""
    caps, mm, im = [], [], []
    for row in rows:
        cap, m, i = row
        caps.append(math.inf if cap is None else float(cap))
        mm.append(float(m))
        im.append(float(i))
    if caps != sorted(caps) or caps[-1] != math.inf:
        raise ValueError("tier caps must increase and the last must be null (unbounded)")
    return TierTable(tuple(caps), tuple(mm), tuple(im))
