"""Errors raised by the margin engine.

:class:`InputError` is the one error a user sees for bad input files. Its message names the
place of the problem (``positions[2] (BTC-28JUN24-70000-C)``) and the field (``strike``), so the
CLI can print it as one clean line without a traceback.
"""

from __future__ import annotations

from zkmargin.errors import ZkmarginError


class InputError(ZkmarginError):
    """Bad market / portfolio / history input.

    ``where`` names the object (e.g. ``"positions[3] (BTC perpetual)"`` or ``"market"``),
    ``field`` the offending field, ``reason`` what is wrong with it.
    """

    def __init__(self, where: str, field: str, reason: str) -> None:
        self.where = where
        self.field = field
        self.reason = reason
        super().__init__(f"{where}: field '{field}': {reason}")


class ModelError(ZkmarginError):
    """A margin model cannot be evaluated with the data given (e.g. VaR without a covariance)."""
