"""zkmargin.margin — the margin engine.

Modules (one job each):

* :mod:`.pricing`      Black–Scholes / Black-76 values and greeks (r = q = 0 by default)
* :mod:`.instruments`  spot, linear / inverse futures and perpetuals, European options
* :mod:`.market`, :mod:`.portfolio`  market.json / portfolio.json parsing with named errors
* :mod:`.valuation`    equity = haircut collateral + marks; dollar deltas
* :mod:`.tiers`        Binance-style tiered rates
* :mod:`.standard`     ``isolated`` and ``cross`` exchange margin
* :mod:`.scenarios`    the span16 table and configurable grids (Paradex / Deribit presets)
* :mod:`.riskarray`    per-instrument per-scenario P&L matrices (what the circuits consume)
* :mod:`.var`          delta-normal VaR, historical VaR / ES
* :mod:`.models`       :func:`compute_margin` — every model behind one call
* :mod:`.quantize`     exact integer evaluators with conservative rounding (circuit semantics)
* :mod:`.batch`        many accounts at once
* :mod:`.clearing`     margin calls, liquidation, insurance fund, ADL, circuit breaker
* :mod:`.history`, :mod:`.backtest`  price CSVs, covariance, backtests with Kupiec tests
"""

from .errors import InputError, ModelError
from .market import Market, load_market, parse_market
from .models import MODELS, compute_margin
from .portfolio import Portfolio, load_portfolio, parse_portfolio
from .quantize import MONEY, PL, PQ, integer_margin
from .result import MarginResult
from .riskarray import RiskArray, risk_array

__all__ = [
    "InputError", "ModelError", "Market", "load_market", "parse_market", "MODELS", "compute_margin",
    "Portfolio", "load_portfolio", "parse_portfolio", "MONEY", "PL", "PQ", "integer_margin",
    "MarginResult", "RiskArray", "risk_array",
]
