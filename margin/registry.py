"""The margin models, once: name, circuit code and family, default confidence.

The engine (:func:`zkmargin.margin.models.compute_margin`), the circuits
(:data:`zkmargin.circuits.margin_circuits.MODEL_CODES` / ``MODEL_FAMILY``) and the command
line all read their model lists from :data:`MODEL_SPECS`.  A model with a ``code`` can be
proven: the code is the circuit's public input ``model`` and is bound into the parameter digest,
so the codes must never change.  ``family`` names the circuit that proves it:

* ``worst_case``  scenario scan, worst loss per underlying group (span16, the grids)
* ``es``          expected shortfall over historical scenarios
* ``quantile``    historical VaR (an order statistic of the scenario losses)
* ``var``         delta-normal VaR (a quadratic form)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class ModelSpec:
    name: str
    #: circuit model code (public input ``model``); None: engine only, not provable
    code: Optional[int]
    #: circuit family (module docstring); None for engine-only models
    family: Optional[str]
    #: default confidence level for the statistical models
    alpha: Optional[float] = None
    #: needs a price history (historical or Monte-Carlo scenarios)
    scenario: bool = False
    summary: str = ""


#: In the engine's order (``zkmargin margin --model`` help, error messages).
MODEL_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec("isolated", None, None, summary="per-position tiered exchange margin"),
    ModelSpec("cross", None, None, summary="netted per instrument, one collateral pool"),
    ModelSpec("span16", 1, "worst_case", summary="SPAN 16-scenario scan, minus spread credits when configured"),
    ModelSpec("paradex", 2, "worst_case", summary="Paradex-style scenario grid"),
    ModelSpec("deribit", 3, "worst_case", summary="Deribit-style scenario grid"),
    ModelSpec("var", 20, "var", alpha=0.99, summary="delta-normal VaR (linear: ignores gamma/vega)"),
    ModelSpec("mcvar", None, None, alpha=0.99, scenario=True, summary="Monte Carlo VaR, full revaluation"),
    ModelSpec("hvar", 11, "quantile", alpha=0.99, scenario=True, summary="historical-simulation VaR, full revaluation"),
    ModelSpec("es", 10, "es", alpha=0.975, scenario=True, summary="historical expected shortfall"),
)

BY_NAME = {s.name: s for s in MODEL_SPECS}


def model_spec(name: str) -> ModelSpec:
    """The spec of ``name`` (KeyError for an unknown model)."""
    return BY_NAME[name]


def provable_models() -> tuple[ModelSpec, ...]:
    """The models a circuit proves, by code."""
    return tuple(sorted((s for s in MODEL_SPECS if s.code is not None), key=lambda s: s.code))


def default_model(family: str) -> str:
    """The model a circuit family stands for when none is named (the lowest code)."""
    return next(s.name for s in provable_models() if s.family == family)


__all__ = ["ModelSpec", "MODEL_SPECS", "BY_NAME", "model_spec", "provable_models", "default_model"]
