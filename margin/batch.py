"""Margin for many accounts at once (numpy, vectorised over accounts).

All accounts share one instrument universe and one risk array; only the quantity matrix
Q (accounts × instruments, signed units) differs. Per-account cost is one matrix product
plus a max / partition over scenarios:

* worst-case models (span16, grids): L = −Q·pnl (accounts × scenarios), then per underlying
  max(Σ floor·q⁻, max(0, max_s L)) + Σ short·q⁻, summed over underlyings;
* historical ES / VaR: L = −Q·pnl over the historical scenarios, then
  :func:`zkmargin.margin.var.hs_var_es` row by row (np.partition, O(N) per account).
"""

from __future__ import annotations

import numpy as np

from .riskarray import RiskArray, worst_case_by_group
from .var import hs_var_es


def worst_case_batch(ra: RiskArray, Q: np.ndarray) -> np.ndarray:
    """Requirement (USD) of every account (row of Q) under a worst-case risk array."""
    return worst_case_by_group(ra, np.asarray(Q, float))["requirement"].sum(axis=-1)


def es_batch(ra: RiskArray, Q: np.ndarray, alpha: float = 0.975) -> np.ndarray:
    """Historical expected shortfall (USD, floored at 0) of every account."""
    losses = np.asarray(Q, float) @ (-ra.pnl)
    return np.maximum(hs_var_es(losses, alpha)[1], 0.0)

