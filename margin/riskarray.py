"""Risk arrays: the per-instrument per-scenario P&L matrix that the proof circuits consume.

A :class:`RiskArray` holds, for a list of (netted) instruments and a list of scenarios,

    pnl[i, s] = (V_i(S'_s, σ'_s) − V_i(S, σ)) · cover_s      USD per unit of instrument i

(negative = loss). A portfolio with signed quantities q loses L_s = −Σ_i q_i·pnl[i, s] in
scenario s.

Two kinds:

* ``worst_case`` (span16 and grid models): every scenario moves one underlying; ``scenario_group``
  names it, and instruments on other underlyings have pnl 0 there. The requirement of
  underlying u is  max(Σ_{i∈u} floor_charge_i·q_i⁻, max(0, max_{s∈u} L_s)) + Σ_{i∈u}
  short_charge_i·q_i⁻  (q⁻ = max(0, −q)), and the portfolio requirement is the sum over u.
  For span16 floor_charge = short_option_minimum on options (0 elsewhere) and short_charge = 0.
* ``historical``: every scenario is a joint move of all underlyings (S' = S·exp(r_s), and
  optionally σ' = max(σ·exp(v_s), 0.01) for options), from history or Monte Carlo
  (:mod:`.historical`), used for historical / Monte Carlo VaR and ES.

Dated futures and options are revalued on their forward F = b·S (b = F/S from the market's
forward curve, held fixed in every scenario); without forwards b = 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .instruments import Instrument, unit_delta, unit_pnl
from .market import Market
from .portfolio import Portfolio
from .scenarios import PRESETS, VOL_FLOOR, GridSpec, Scenario, span16_scenarios
from .valuation import instrument_vol


@dataclass(frozen=True)
class RiskArray:
    """See module docstring. Shapes: pnl (n_instr, n_scen); quantities, instrument_group,
    floor_charge, short_charge (n_instr,); scenario_group (n_scen,) (−1 for joint scenarios)."""

    kind: str
    instruments: tuple[Instrument, ...]
    scenarios: tuple
    pnl: np.ndarray
    quantities: np.ndarray
    underlyings: tuple[str, ...]
    instrument_group: np.ndarray
    scenario_group: np.ndarray
    floor_charge: np.ndarray
    short_charge: np.ndarray

    def losses(self, quantities: np.ndarray | None = None) -> np.ndarray:
        """L = −q·pnl; with a 2-D quantities array (accounts × instruments) one row per account."""
        q = self.quantities if quantities is None else np.asarray(quantities, float)
        return -(q @ self.pnl)

    def with_quantities(self, quantities) -> "RiskArray":
        from dataclasses import replace
        return replace(self, quantities=np.asarray(quantities, float))


def net_positions(portfolio: Portfolio) -> tuple[list[Instrument], np.ndarray]:
    """Instruments in order of first appearance with net signed quantities."""
    order: dict[Instrument, float] = {}
    for p in portfolio.positions:
        order[p.instrument] = order.get(p.instrument, 0.0) + p.quantity
    return list(order), np.array(list(order.values()), float)


def _scenario_vols(inst: Instrument, sigma: float, tau: float, scens: list[Scenario],
                   dte_floor: float) -> np.ndarray:
    shifts = np.array([s.vol_shift for s in scens], float)
    modes = [s.vol_mode for s in scens]
    if all(m == "absolute" for m in modes):
        return np.maximum(sigma + shifts, VOL_FLOOR)
    dte = tau * 365.0
    p = 0.30 if dte < 30 else 0.13
    scale = (30.0 / max(dte_floor, dte)) ** p
    rel = np.maximum(sigma * (1.0 + shifts * scale), VOL_FLOOR)
    ab = np.maximum(sigma + shifts, VOL_FLOOR)
    return np.where([m == "absolute" for m in modes], ab, rel)


def _build_worst_case(instruments: list[Instrument], quantities: np.ndarray, market: Market,
                      scen_by_und: dict[str, list[Scenario]], floor_of, short_of,
                      min_delta_rate: float = 0.0, dte_floor: float = 1.0) -> RiskArray:
    unds = tuple(dict.fromkeys(i.underlying for i in instruments)) or ()
    for u in unds:
        if min_delta_rate > 0:
            scen_by_und[u] = scen_by_und[u] + [
                Scenario(u, f"{u} min delta +", 0.0, cover=1.0),
                Scenario(u, f"{u} min delta -", 0.0, cover=1.0)]
    scens: list[Scenario] = [s for u in unds for s in scen_by_und[u]]
    sgroup = np.array([unds.index(s.underlying) for s in scens], int)
    pnl = np.zeros((len(instruments), len(scens)))
    for i, inst in enumerate(instruments):
        u = inst.underlying
        g = unds.index(u)
        cols = np.flatnonzero(sgroup == g)
        S = market.underlyings[u].spot
        sigma = instrument_vol(inst, market)
        tau = market.tau(inst.expiry)
        b = market.basis(inst)
        own = scen_by_und[u]
        base = [s for s in own if not s.label.startswith(f"{u} min delta")]
        nb = len(base)
        S1 = S * (1.0 + np.array([s.price_move for s in base]))
        vols = _scenario_vols(inst, sigma, tau, base, dte_floor)
        cover = np.array([s.cover for s in base])
        pnl[i, cols[:nb]] = unit_pnl(inst, S, sigma, S1, vols, tau, b) * cover
        if min_delta_rate > 0:
            d = min_delta_rate * unit_delta(inst, S, sigma, tau, b) * S
            pnl[i, cols[nb]] = d
            pnl[i, cols[nb + 1]] = -d
    igroup = np.array([unds.index(i.underlying) for i in instruments], int)
    floor = np.array([floor_of(i) for i in instruments], float)
    short = np.array([short_of(i) for i in instruments], float)
    return RiskArray("worst_case", tuple(instruments), tuple(scens), pnl, np.asarray(quantities, float),
                     unds, igroup, sgroup, floor, short)


def span16_risk_array(instruments: list[Instrument], quantities, market: Market) -> RiskArray:
    """The span16 risk array (docs/MARGIN_MODELS.md), 16 scenarios per underlying."""
    unds = dict.fromkeys(i.underlying for i in instruments)
    scen = {}
    for u in unds:
        p = market.underlyings[u]
        scen[u] = span16_scenarios(u, p.price_scan, p.vol_scan, p.extreme_multiple, p.extreme_cover)

    def floor_of(inst: Instrument) -> float:
        return market.underlyings[inst.underlying].short_option_minimum if inst.is_option else 0.0

    return _build_worst_case(instruments, quantities, market, scen, floor_of, lambda i: 0.0)


def grid_risk_array(instruments: list[Instrument], quantities, market: Market, spec: GridSpec) -> RiskArray:
    """A :class:`GridSpec` risk array; min-delta charge as two extra linear scenarios."""
    unds = dict.fromkeys(i.underlying for i in instruments)
    scen = {u: spec.scenarios(u) for u in unds}

    def short_of(inst: Instrument) -> float:
        if not inst.is_option:
            return 0.0
        return spec.short_option_charge * market.underlyings[inst.underlying].spot

    return _build_worst_case(instruments, quantities, market, scen, lambda i: 0.0, short_of,
                             spec.min_delta_rate, spec.dte_floor)


def historical_risk_array(instruments: list[Instrument], quantities, market: Market,
                          labels: list[str], underlyings: list[str], returns: np.ndarray, *,
                          vol_moves: np.ndarray | None = None) -> RiskArray:
    """Full revaluation under joint log returns r (n_obs × n_und): S' = S·exp(r), no time
    decay; option vols unchanged, or with ``vol_moves`` v (same shape) σ' = max(σ·exp(v), 0.01)
    (sticky strike: each option's own vol is scaled)."""
    returns = np.asarray(returns, float)
    if vol_moves is not None:
        vol_moves = np.asarray(vol_moves, float)
        if vol_moves.shape != returns.shape:
            raise ValueError("vol_moves must have the shape of returns")
    pnl = np.zeros((len(instruments), returns.shape[0]))
    for i, inst in enumerate(instruments):
        u = inst.underlying
        k = underlyings.index(u)
        S = market.underlyings[u].spot
        sigma = instrument_vol(inst, market)
        tau = market.tau(inst.expiry)
        S1 = S * np.exp(returns[:, k])
        if inst.is_option and vol_moves is not None:
            sig1 = np.maximum(sigma * np.exp(vol_moves[:, k]), VOL_FLOOR)
        else:
            sig1 = np.full_like(S1, sigma)
        pnl[i] = unit_pnl(inst, S, sigma, S1, sig1, tau, market.basis(inst))
    unds = tuple(underlyings)
    igroup = np.array([unds.index(i.underlying) for i in instruments], int)
    zeros = np.zeros(len(instruments))
    return RiskArray("historical", tuple(instruments), tuple(labels), pnl, np.asarray(quantities, float),
                     unds, igroup, np.full(len(labels), -1, int), zeros, zeros.copy())


def scenario_risk_array(instruments: list[Instrument], quantities, market: Market, scen) -> RiskArray:
    """:func:`historical_risk_array` of a :class:`~zkmargin.margin.historical.ScenarioSet`."""
    return historical_risk_array(instruments, quantities, market, list(scen.labels),
                                 list(scen.underlyings), scen.returns, vol_moves=scen.vol_moves)


def risk_array(portfolio: Portfolio, market: Market, model: str = "span16", **opts) -> RiskArray:
    """Risk array of a portfolio for a scenario model: ``span16``, ``paradex``, ``deribit``,
    ``grid`` (pass ``spec=GridSpec``), or ``historical`` (pass ``labels``, ``underlyings``,
    ``returns``). Positions on the same instrument are netted."""
    instruments, q = net_positions(portfolio)
    if model == "span16":
        return span16_risk_array(instruments, q, market)
    if model in PRESETS or model == "grid":
        spec = opts.get("spec") or PRESETS.get(model)
        if spec is None:
            raise ValueError("model 'grid' needs spec=GridSpec(...)")
        return grid_risk_array(instruments, q, market, spec)
    if model == "historical":
        return historical_risk_array(instruments, q, market, opts["labels"], opts["underlyings"],
                                     opts["returns"])
    raise ValueError(f"no risk array for model {model!r}")


def worst_case_by_group(ra: RiskArray, quantities: np.ndarray | None = None) -> dict:
    """Float evaluation of a worst-case risk array (module docstring formula).

    Returns dict with arrays over underlyings: ``scan`` (max(0, max_s L_s)), ``floor``,
    ``short``, ``requirement`` and ``worst`` (index of the worst scenario per underlying).
    With 2-D quantities (accounts × instruments) every array gains a leading accounts axis.
    """
    q = ra.quantities if quantities is None else np.asarray(quantities, float)
    losses = -(q @ ra.pnl)
    shortq = np.maximum(-q, 0.0)
    n_g = len(ra.underlyings)
    lead = q.shape[:-1]
    scan = np.zeros(lead + (n_g,))
    worst = np.zeros(lead + (n_g,), int)
    floor = np.zeros(lead + (n_g,))
    short = np.zeros(lead + (n_g,))
    for g in range(n_g):
        cols = np.flatnonzero(ra.scenario_group == g)
        block = losses[..., cols]
        worst[..., g] = cols[np.argmax(block, axis=-1)]
        scan[..., g] = np.maximum(block.max(axis=-1), 0.0)
        rows = ra.instrument_group == g
        floor[..., g] = shortq[..., rows] @ ra.floor_charge[rows]
        short[..., g] = shortq[..., rows] @ ra.short_charge[rows]
    req = np.maximum(scan, floor) + short
    return {"scan": scan, "floor": floor, "short": short, "requirement": req, "worst": worst}
