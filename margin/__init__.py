"""zkmargin.margin — the margin engine.

Modules (one job each):

* :mod:`.pricing`      Black–Scholes / Black-76 values and greeks (r = q = 0 by default)
* :mod:`.instruments`  spot, linear / inverse futures and perpetuals, European options
* :mod:`.market`, :mod:`.portfolio`  market.json / portfolio.json parsing with named errors
* :mod:`.valuation`    equity = haircut collateral + marks; dollar deltas
* :mod:`.tiers`        Binance-style tiered rates
* :mod:`.standard`     ``isolated`` and ``cross`` exchange margin
* :mod:`.scenarios`    the span16 table and configurable grids (Paradex / Deribit presets)
* :mod:`.credits`      inter-commodity spread credits for span16 (float model, calibration)
* :mod:`.historical`   scenario sets: vol-aware / filtered / stressed history, Monte Carlo
* :mod:`.riskarray`    per-instrument per-scenario P&L matrices (what the circuits consume)
* :mod:`.var`          delta-normal VaR, scenario VaR / ES with exact ranks
* :mod:`.models`       :func:`compute_margin` — every model behind one call
* :mod:`.quantize`     exact integer evaluators with conservative rounding (circuit semantics)
* :mod:`.batch`        many accounts at once
* :mod:`.clearing`     margin calls, liquidation, insurance fund, ADL, circuit breaker
* :mod:`.history`, :mod:`.backtest`  price / vol-index CSVs, covariance, backtests (Kupiec)
* :mod:`.registry`     the model list (:class:`ModelSpec`: name, circuit code and family, defaults)
* :mod:`.units`        the fixed-point scales (PQ, PL, MONEY, PS, BPS, CREDIT_SCALE)
* :mod:`.chains`       option chains: parity-implied forwards, pricing errors against marks

The names below load their module on first use, so ``zkmargin.margin.units`` or ``.registry``
can be imported (by the circuits) without loading the whole engine.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "errors": ("InputError", "ModelError"),
    "market": ("Market", "load_market", "parse_market"),
    "models": ("MODELS", "compute_margin"),
    "portfolio": ("Portfolio", "load_portfolio", "parse_portfolio"),
    "quantize": ("integer_margin",),
    "units": ("MONEY", "PL", "PQ"),
    "registry": ("ModelSpec", "MODEL_SPECS", "model_spec"),
    "result": ("MarginResult",),
    "riskarray": ("RiskArray", "risk_array"),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
