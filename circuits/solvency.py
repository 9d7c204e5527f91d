"""From the margin engine to circuit inputs, and the native (out-of-circuit) evaluation.

* :func:`venue_params` quantizes a venue's instrument list and market into
  :class:`~zkmargin.circuits.margin_circuits.CircuitParams` padded to a shape, using exactly
  the quantizers of :mod:`zkmargin.margin.quantize` (conservative rounding, docs/PITFALLS.md #13).
* :func:`account_of` turns a portfolio (positions and/or collateral held at one venue or
  custodian) into an :class:`~zkmargin.circuits.margin_circuits.Account` over the venue's
  instrument list and asset list.
* :func:`evaluate` runs the integer evaluators of :mod:`zkmargin.margin.quantize` on the
  combined accounts -- the values the circuit's honest witness must reproduce bit for bit.
* :func:`check_solvent` raises :class:`InsolventError` (shortfall in USD, no secrets) when no
  witness can exist, before any proving work.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np

from zkmargin.errors import ZkmarginError
from zkmargin.margin import quantize as qz
from zkmargin.margin.instruments import Instrument
from zkmargin.margin.market import Market
from zkmargin.margin.portfolio import Portfolio

from .margin_circuits import BPS, MODEL_FAMILY, Account, CircuitParams, ParameterError, Shape


class InsolventError(ZkmarginError):
    """The committed accounts do not cover buffer × requirement: no proof can exist."""

    def __init__(self, equity: int, requirement: int, buffer_bps: int):
        need = Fraction(requirement * buffer_bps, BPS)
        self.shortfall_usd = float((need - equity) / qz.MONEY)
        super().__init__(
            f"insolvent: equity does not cover {buffer_bps / BPS:.4g} x the margin requirement; "
            f"short by {self.shortfall_usd:,.2f} USD -- no proof can be produced")


def _pad(seq, n, fill=0):
    seq = list(seq)
    if len(seq) > n:
        raise ParameterError(f"{len(seq)} entries do not fit a shape of {n}")
    return tuple(seq + [fill] * (n - len(seq)))


def venue_params(model: str, instruments: Sequence[Instrument], market: Market, shape: Shape,
                 assets: Sequence[str] | None = None, *, alpha=None, horizon_days: float = 1.0,
                 historical=None) -> CircuitParams:
    """Quantized risk parameters for ``instruments`` (the venue's list, in slot order) padded
    to ``shape``. ``assets`` defaults to the market's collateral list.

    * span16 with ``shape.pairs`` > 0: the market's ``spread_credits`` as credit parameters
      (:func:`~zkmargin.margin.quantize.quantize_spread_credits`, pairs padded with empty slots);
    * es and hvar (scenario VaR): with a scenario policy -- ``historical`` (a
      :class:`~zkmargin.margin.historical.HistoricalConfig`), else the market's ``historical``
      block -- the scenarios of :func:`~zkmargin.margin.models.scenarios_for_shape` (vol moves,
      filtering, stress period, vol index from the market's ``vol_history``), revalued with
      :func:`~zkmargin.margin.riskarray.scenario_risk_array`; without a policy the last S
      log returns of the market's history with frozen vols, exactly as before policies existed;
    * var: refused for an instrument list with options (delta-normal VaR ignores gamma and
      vega, so it would under-cover option books)."""
    from zkmargin.margin.models import DEFAULT_ALPHA, history_of, scenarios_for_shape
    from zkmargin.margin.riskarray import grid_risk_array, historical_risk_array, scenario_risk_array, span16_risk_array
    from zkmargin.margin.scenarios import PRESETS

    fam = MODEL_FAMILY.get(model)
    if fam != shape.family:
        raise ParameterError(f"model {model!r} needs a {fam} shape, got {shape.family}")
    if shape.pairs and model != "span16":
        raise ParameterError("spread-credit pair slots are a span16 option")
    instruments = list(instruments)
    n, G, S = shape.instruments, shape.groups, shape.scenarios
    if len(instruments) > n:
        raise ParameterError(f"{len(instruments)} instruments do not fit a shape of {n}")
    eq = qz.quantize_equity_params(instruments, market, assets)
    if len(eq.assets) > shape.assets:
        raise ParameterError(f"{len(eq.assets)} collateral assets do not fit a shape of {shape.assets}")
    H, V = _pad(eq.H, shape.assets), _pad(eq.V, n)
    zeros = np.zeros(len(instruments))
    if fam == "worst_case":
        ra = span16_risk_array(instruments, zeros, market) if model == "span16" else \
            grid_risk_array(instruments, zeros, market, PRESETS[model])
        im = qz.quantize_worst_case(ra)
        if len(im.underlyings) > G:
            raise ParameterError(f"{len(im.underlyings)} underlyings do not fit a shape of {G} groups")
        GM, LOSS = [], []
        for i, gi in enumerate(im.instrument_group):
            cols = [s for s, sg in enumerate(im.scenario_group) if sg == gi]
            if len(cols) > S:
                raise ParameterError(f"{len(cols)} scenarios per underlying do not fit a shape of {S}")
            if any(im.LOSS[i][s] for s in range(len(im.scenario_group)) if im.scenario_group[s] != gi):
                raise ParameterError("risk array has losses outside the instrument's group")
            row = [im.LOSS[i][s] for s in cols]
            LOSS.append(tuple(row + [row[0]] * (S - len(row))))    # repeat a real scenario
            GM.append(tuple(1 if g == gi else 0 for g in range(G)))
        # padded groups/instruments: all-zero rows
        GM += [(0,) * G] * (n - len(GM))
        LOSS += [(0,) * S] * (n - len(LOSS))
        kw = _credit_params(instruments, market, im.underlyings, shape) if shape.pairs else {}
        p = CircuitParams(model, shape, H, V, GM=tuple(GM), LOSS=tuple(LOSS),
                          FLOOR=_pad(im.FLOOR, n), SHORT=_pad(im.SHORT, n), **kw)
    elif fam in ("es", "quantile"):        # es and hvar: the same historical loss matrix
        hist = history_of(market, None)
        if hist is None:
            raise ParameterError("ES needs a price history in the market file")
        if historical is None and market.historical is None:     # no policy: as before policies
            r = hist.log_returns()
            labels = list(hist.dates[1:])
            if len(labels) < S:
                raise ParameterError(f"history has {len(labels)} scenarios, shape needs {S}")
            r, labels = r[-S:], labels[-S:]
            ra = historical_risk_array(instruments, zeros, market, labels, list(hist.names), r)
        else:
            unds = list(dict.fromkeys(i.underlying for i in instruments))
            scen = scenarios_for_shape(market, unds, S, historical=historical)
            ra = scenario_risk_array(instruments, zeros, market, scen)
        im = qz.quantize_es(ra, alpha if alpha is not None else DEFAULT_ALPHA[model])
        LOSS = list(im.LOSS) + [(0,) * S] * (n - len(instruments))
        p = CircuitParams(model, shape, H, V, LOSS=tuple(LOSS), a=im.a, b=im.b)
    else:
        if any(i.is_option for i in instruments):
            raise ParameterError("delta-normal var is linear (it ignores gamma and vega) and would under-cover "
                                 "option books: not provable for an instrument list with options (use es or hvar)")
        if market.covariance is None:
            raise ParameterError("VaR needs a covariance in the market file")
        names, mat = market.covariance
        unds = list(dict.fromkeys(i.underlying for i in instruments))
        if len(unds) > G:
            raise ParameterError(f"{len(unds)} underlyings do not fit a shape of {G}")
        idx = [names.index(u) for u in unds]
        cov = np.asarray(mat)[np.ix_(idx, idx)]
        im = qz.quantize_var(instruments, market, unds, cov,
                             alpha if alpha is not None else DEFAULT_ALPHA["var"], horizon_days,
                             refuse_options=True)
        GM = [tuple(1 if g == gi else 0 for g in range(G)) for gi in im.instrument_group]
        GM += [(0,) * G] * (n - len(GM))
        K = [tuple(list(row) + [0] * (G - len(row))) for row in im.K] + [(0,) * G] * (G - len(im.K))
        p = CircuitParams(model, shape, H, V, GM=tuple(GM), D=_pad(im.D, n), K=tuple(K),
                          KN=im.KN, KQ=im.KQ)
    p.check_bounds()
    return p


def _credit_params(instruments, market: Market, underlyings, shape: Shape) -> dict:
    """D, PSM, CM, PG, PH, CR, KC of the market's spread credits, padded to ``shape``
    (group g is the g-th underlying of the risk array, as in GM)."""
    cr = qz.quantize_spread_credits(instruments, market, underlyings, market.spread_credits)
    G, P = shape.groups, shape.pairs
    if len(cr.pairs) > P:
        raise ParameterError(f"{len(cr.pairs)} spread-credit pairs do not fit a shape of {P} pair slots")

    def onehot(g):
        return tuple(1 if k == g else 0 for k in range(G))
    zero = (0,) * G
    return dict(D=_pad(cr.D, shape.instruments), PSM=_pad(cr.PSM, G), CM=_pad(cr.CM, G),
                PG=tuple(onehot(g) for g, _, _ in cr.pairs) + (zero,) * (P - len(cr.pairs)),
                PH=tuple(onehot(h) for _, h, _ in cr.pairs) + (zero,) * (P - len(cr.pairs)),
                CR=_pad([c for _, _, c in cr.pairs], P), KC=cr.KC)


def account_of(portfolio: Portfolio, market: Market, instruments: Sequence[Instrument],
               assets: Sequence[str], shape: Shape, salt: int) -> Account:
    """The integer account of ``portfolio`` over the venue's instrument and asset lists:
    Q exact (1e-8 units), A floored, U floored (quantize.quantize_account)."""
    for p in portfolio.positions:
        if p.instrument not in instruments:
            raise ParameterError(f"positions[{p.index}]: the instrument is not in the venue's parameter file")
    unknown = [a for a in portfolio.collateral if a not in assets and portfolio.collateral[a]]
    if unknown:
        raise ParameterError(f"collateral asset(s) {', '.join(unknown)} not in the venue's parameter file")
    eq = qz.IntEquityParams(tuple(assets), (0,) * len(assets), (0,) * len(instruments))
    acct = qz.quantize_account(portfolio, market, list(instruments), eq)
    return Account(_pad(acct.Q, shape.instruments), acct.U, _pad(acct.A, shape.assets), salt)


def combined(accounts: Sequence[Account]) -> tuple[tuple[int, ...], int, tuple[int, ...]]:
    """(Q, U, A) summed over the accounts: the cross-venue portfolio."""
    Q = tuple(sum(col) for col in zip(*(a.Q for a in accounts)))
    A = tuple(sum(col) for col in zip(*(a.A for a in accounts)))
    return Q, sum(a.U for a in accounts), A


@dataclass(frozen=True)
class Evaluation:
    """Integer equity and requirement (money units, 1e-14 USD) of the combined accounts."""

    equity: int
    requirement: int

    def solvent(self, buffer_bps: int) -> bool:
        return self.equity * BPS >= buffer_bps * self.requirement


def evaluate(params: CircuitParams, accounts: Sequence[Account]) -> Evaluation:
    """The reference integer evaluators of margin/quantize.py on the padded parameters."""
    s = params.shape
    Q, U, A = combined(accounts)
    for v in Q:
        if abs(v) >= 1 << qz.MAX_Q_BITS:
            raise qz.QuantizationError("combined quantity out of range")
    eq = qz.IntEquityParams(tuple(f"a{j}" for j in range(s.assets)), params.H, params.V)
    E = qz.int_equity(eq, qz.IntAccount(Q, A, U))
    if s.family == "worst_case":
        groups = tuple(row.index(1) if 1 in row else -1 for row in params.GM)
        full = tuple(tuple(params.LOSS[i][s_ % s.scenarios] if groups[i] == s_ // s.scenarios else 0
                           for s_ in range(s.groups * s.scenarios)) for i in range(s.instruments))
        model = qz.IntScenarioModel(tuple(f"g{g}" for g in range(s.groups)), groups,
                                    tuple(k // s.scenarios for k in range(s.groups * s.scenarios)),
                                    full, params.FLOOR, params.SHORT)
        req = qz.int_worst_case(model, Q, credits_of(params)).requirement
    elif s.family == "es":
        req = qz.int_es(qz.IntESModel(params.LOSS, params.a, params.b), Q).es
    elif s.family == "quantile":
        req = qz.int_quantile_var(qz.IntESModel(params.LOSS, params.a, params.b), Q).var
    else:
        groups = tuple(row.index(1) if 1 in row else 0 for row in params.GM)
        D = tuple(d if 1 in row else 0 for d, row in zip(params.D, params.GM))
        model = qz.IntVarModel(tuple(f"u{g}" for g in range(s.groups)), groups, D, params.K,
                               params.KN, params.KQ)
        req = qz.int_var(model, Q).var
    return Evaluation(E, req)


def credits_of(params: CircuitParams) -> qz.IntSpreadCredits | None:
    """The spread-credit parameters of a padded parameter set as the integer evaluator takes
    them (None without pair slots): one-hot rows back to group indices, a padding slot (both
    rows zero) as the harmless pair (0, 0, 0)."""
    if not params.shape.pairs:
        return None
    pairs = tuple((rg.index(1), rh.index(1), cr) if 1 in rg else (0, 0, 0)
                  for rg, rh, cr in zip(params.PG, params.PH, params.CR))
    return qz.IntSpreadCredits(pairs, params.D, params.PSM, params.CM, params.KC)


def check_solvent(params: CircuitParams, accounts: Sequence[Account], buffer_bps: int) -> Evaluation:
    """Evaluate and raise :class:`InsolventError` if equity < buffer × requirement."""
    ev = evaluate(params, accounts)
    if not ev.solvent(buffer_bps):
        raise InsolventError(ev.equity, ev.requirement, buffer_bps)
    return ev
