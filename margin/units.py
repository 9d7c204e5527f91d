"""The fixed-point scales shared by the margin engine, the circuits and the protocol files.

Every integer the circuits see is a real quantity times one of these powers of ten (see
:mod:`zkmargin.margin.quantize` for the rounding rules and docs/MARGIN_MODELS.md for the models):

* ``PQ``     quantities and collateral amounts: 1 = 10⁻⁸ units (satoshi-exact)
* ``PL``     USD per unit (prices, per-unit losses and charges): 1 = 10⁻⁶ USD
* ``MONEY``  ``PQ·PL``, the unit of every money result: 1 = 10⁻¹⁴ USD
* ``PS``     the covariance scale of delta-normal VaR (``K = round(Σ̃·PS) + …``)
* ``BPS``    basis points: a buffer of ``BPS`` is 1.0 × the requirement
* ``CREDIT_SCALE``  span16 spread credits: rates and scan ranges are ×10⁶
"""

from __future__ import annotations

PQ = 10**8
PL = 10**6
MONEY = PQ * PL
PS = 10**9
BPS = 10_000
CREDIT_SCALE = 10**6

__all__ = ["PQ", "PL", "MONEY", "PS", "BPS", "CREDIT_SCALE"]
