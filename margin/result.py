"""The result of a margin calculation."""

from __future__ import annotations

from dataclasses import dataclass, field

from .valuation import Equity


@dataclass(frozen=True)
class MarginResult:
    """Initial and maintenance requirement (USD) of one model, with a per-underlying breakdown.

    ``requirement`` is the initial margin (what must be posted to hold the portfolio; for the
    risk-based models IM = MM unless the model says otherwise). ``breakdown[u]`` holds at least
    ``initial`` and ``maintenance`` for underlying u, plus model-specific parts.
    """

    model: str
    initial: float
    maintenance: float
    equity: Equity
    breakdown: dict[str, dict[str, float | str]]
    details: dict = field(default_factory=dict)

    @property
    def requirement(self) -> float:
        return self.initial

    @property
    def excess(self) -> float:
        """equity − maintenance (negative: liquidation territory)."""
        return self.equity.total - self.maintenance

    def as_dict(self) -> dict:
        """JSON-ready dict: requirement, equity, initial, maintenance, breakdown, ..."""
        return {
            "model": self.model,
            "requirement": self.requirement,
            "equity": self.equity.total,
            "initial": self.initial,
            "maintenance": self.maintenance,
            "excess": self.excess,
            "breakdown": self.breakdown,
            "equity_breakdown": {"collateral": self.equity.collateral, "marks": self.equity.marks},
            "details": self.details,
        }
