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
* :mod:`.chains`       option chains: parity-implied forwards, pricing errors against marks
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
