"""Exact integer (fixed-point) evaluators — the arithmetic the proof circuits reproduce.

Every model that will be proven has a float evaluator (analytics) and the integer evaluator
here. The functions named ``int_*`` take ONLY Python ints (and tuples of them) and use only
+, −, ×, floor division by public positive constants, comparisons, max and integer square
root, so an R1CS circuit can reproduce their outputs bit for bit. The functions named
``quantize_*`` turn floats into those ints, always in the conservative direction: losses,
charges and requirements are rounded UP, collateral and equity DOWN: if the
integer statement "equity ≥ requirement" holds, the float statement holds too (up to the
float evaluator's own rounding noise, ~1e-15 relative).

Scales
------
* ``PQ = 10**8``   quantities and collateral amounts: Q = q·PQ (1e-8 units, satoshi-exact).
* ``PL = 10**6``   USD per unit: per-unit losses, values, prices, charges (micro-dollars).
* ``MONEY = PQ·PL = 10**14``  the money unit of every integer result: 1 = 10⁻¹⁴ USD.

Rounding of inputs (x a float, conversions are exact rational arithmetic on the float's
binary value, never float multiplication):

* Q_i = q_i·PQ exactly, where q_i is the quantity as written (the shortest decimal that reads
  back as the parsed float, :func:`exact_decimal`); the quantizer REJECTS a q that is not an
  exact multiple of 1e-8 -- a rounded quantity is a different portfolio, and no rounding
  direction is safe for it (a long rounded down can turn an insolvent portfolio solvent);
* A_c = floor(amount_c·PQ)                        (collateral amount, down);
* H_c = floor(price_c·(1 − haircut_c)·PL)          (haircut price, down);
* V_i = floor(value_i·PL)                          (per-unit value in equity: spot S, option
  V(F,σ,T) Black-76 on its forward, 0 for futures/perpetuals, whose P&L since entry is in U);
* U   = floor(PQ·PL·Σ_positions upnl_p)           (signed, unrealised P&L of futures/perps
  since entry: q·(X − entry) linear, q·F_v·(X/entry − 1) inverse, X = S for perpetuals and
  the forward F of the expiry for dated futures);
* LOSS[i][s] = ceil(loss_{i,s}·PL), loss = −pnl per unit incl. cover (up);
* FLOOR_i = ceil(short_option_minimum·PL) (options), SHORT_i = ceil(contingency per short unit·PL).

Because V and LOSS are public per instrument while the sign of Q_i is private, a short
position (Q_i < 0) can be misstated by < 1 money unit per Q-unit in the wrong direction; the
evaluators therefore add the slack  σ(Q) = Σ_i Q_i⁻  (Q⁻ = max(0, −Q)) to every loss and
subtract it from equity. With that, each integer is a proven bound, not an approximation.

Integer semantics (what a circuit must compute)
-----------------------------------------------
Equity (money units):
    E = Σ_c A_c·H_c + Σ_i Q_i·V_i − Σ_i Q_i⁻ + U

Worst-case scenario models (span16 and grids), per underlying group g (instruments I_g,
scenarios S_g):
    L_s     = Σ_{i∈I_g} Q_i·LOSS[i][s]                               for s ∈ S_g
    scan_g  = max(0, max_{s∈S_g} L_s + Σ_{i∈I_g} Q_i⁻)
    floor_g = Σ_{i∈I_g} FLOOR_i·Q_i⁻          (span16: short option minimum × short contracts)
    short_g = Σ_{i∈I_g} SHORT_i·Q_i⁻          (grid contingencies; 0 for span16)
    req_g   = max(scan_g, floor_g) + short_g
    REQ     = Σ_g req_g
  Circuit form: witnesses m_g with m_g ≥ 0, m_g ≥ L_s + Σ Q_i⁻ (every s), m_g ≥ floor_g, and
  E ≥ Σ_g (m_g + short_g) — one range check per inequality, no max needed.

Expected shortfall (historical scenarios s = 1..N, joint across underlyings), with the
confidence given as a decimal string so that 1 − α = a/b exactly (gcd(a, b) = 1):
    L_s = Σ_i Q_i·LOSS[i][s] + Σ_i Q_i⁻
    j   = ⌊a·N / b⌋ + 1 (capped at N);  t = j-th largest L_s
    ES  = max(0, ⌈(a·N·t + b·Σ_s max(L_s − t, 0)) / (a·N)⌉)
  Rockafellar–Uryasev: ES ≤ C  iff  ∃ integer t, u_s ≥ 0, u_s ≥ L_s − t with
  a·N·t + b·Σ_s u_s ≤ a·N·C; t above is the minimiser, so the prover can always succeed
  when C ≥ ES and never when C < ES.

Scenario VaR (``hvar`` historical, ``mcvar`` Monte Carlo; same LOSS matrix and a/b as ES):
    L_s = Σ_i Q_i·LOSS[i][s] + Σ_i Q_i⁻ ;  j = ⌊a·N / b⌋ + 1 (capped at N)
    VaR = max(0, j-th largest L_s)
  Each L_s bounds the true loss from above, and order statistics are monotone, so VaR bounds
  the float VaR from above. Circuit form: VaR ≤ C iff at most j − 1 scenarios have L_s > C:
  booleans β_s, C − L_s + β_s·2^W ≥ 0 (one W+1-bit range check each, W = 93 covers |C − L_s|),
  Σ_s β_s ≤ j − 1, C ≥ 0 (REQ = C); the honest witness is C = VaR, β_s = [L_s > VaR].

Span16 inter-commodity spread credits (opt-in: ``int_worst_case(..., credits=IntSpreadCredits)``,
float model in :mod:`zkmargin.margin.credits`). Public parameters:
    D_i   = round(Δ_i·S·PL)      per-unit dollar delta (nearest), as for VaR
    PSM_g = s_g·10⁶              price scan range of group g (s_g = price_scan ≤ 1), exact
    (g_p, h_p, CR_p), p = 1..P   credit pairs in priority order, CR_p = ⌊c_p·10⁶⌋ (down)
    CM_g  = max{CR_p : p ∋ g}    over every configured pair of g (0 when g is in none)
    KC    = ⌈Σ_p CR_p·max_g PSM_g / 10¹²⌉   rounding slack per unit of Σ|Q|
  (s_g and c_p are read as the decimals they were written as — the shortest decimal string of
  the float, as for alpha — so 0.15 gives PSM = 150000 and 0.3 gives CR = 300000 exactly; the
  floor of CR only cuts digits beyond the scale, and a scan range with more than six decimals
  is refused for an underlying in a pair, see "Conservative rounding".)
Evaluation, with m_g = scan_g of the worst-case model above (m_g is the prover's upper bound in
the circuit):
    Y_g = PSM_g·Σ_{i∈I_g} Q_i·D_i ;  P_g = max(Y_g, 0) ;  N_g = max(−Y_g, 0)
          (scan-risk deltas, in money units × 10⁶)
    for p = 1..P (in order), with g = g_p, h = h_p:
        α_p = min(P_g, N_h) ;  β_p = min(N_g, P_h) ;  o_p = α_p + β_p
        P_g −= α_p ;  N_h −= α_p ;  N_g −= β_p ;  P_h −= β_p
    B_g      = Σ_{p : g ∈ {g_p, h_p}} CR_p·o_p
    credit_g = ⌊min(CM_g·10⁶·m_g, B_g) / 10¹²⌋                            (rounded DOWN)
    req_g    = max(m_g − credit_g, floor_g) + short_g
    REQ      = Σ_g req_g + KC·Σ_i |Q_i|
  Why a prover who may only choose m_g ≥ scan_g cannot lower REQ: the offsets o_p depend on Q
  and the public D, PSM only (the circuit must compute every min exactly, e.g. witness α with
  P − α ≥ 0, N − α ≥ 0 and (P − α)·(N − α) = 0, because a smaller α in one tier could free
  delta for a later tier with a higher rate). The credit is at most CM_g·m_g/10⁶ with
  CM_g ≤ 10⁶ (every rate ≤ 1), so raising m_g by Δ raises the admissible credit by at most Δ:
  m_g − credit_g ≥ ⌈m_g − min(CM_g·10⁶·m_g, B_g)/10¹²⌉, which is non-decreasing in m_g and
  equal to the honest value at m_g = scan_g. The circuit may therefore let the prover pick any
  credit κ_g ≥ 0 with 10¹²·κ_g ≤ CM_g·10⁶·m_g and 10¹²·κ_g ≤ B_g (a smaller κ only raises REQ),
  then r_g ≥ m_g − κ_g, r_g ≥ floor_g and REQ = Σ_g (r_g + short_g) + KC·Σ|Q| with
  |Q_i| = Q_i + 2·Q_i⁻.
  Conservative rounding: CR and the credit are rounded down (the offsets do not depend on CR,
  so a lower rate is a lower credit). PSM is NOT rounded: the price scan range of every
  underlying in a pair must be a multiple of 10⁻⁶ as written (else QuantizationError), because
  the tiered offsets are not monotone in the scan-risk deltas -- lowering P_g by ε in tier 1
  (g, h) leaves ε of N_h for a later tier (h, k) with a higher rate, so a floored scan range can
  RAISE the total credit (by up to 2·Σ_p c_p·ε for a scan-risk delta error ε, and a floored
  scan range errs by up to |Σ Q·D|·10⁻⁶: proportional to the book's delta, not to Σ|Q| as the
  KC slack below is). D_i is rounded to nearest, so
  each Σ_{i∈g} Q_i·D_i is within Σ_{i∈g}|Q_i|/2 of its exact value, the scan-risk deltas within
  PSM_max·Σ|Q|/2 in L1 norm; min, max and the tier updates are 1-Lipschitz in that norm, so every
  o_p is within PSM_max·Σ|Q|/2 and the total credit within KC·Σ|Q| money units of the exact
  one, which REQ adds back.
  Bounds: |Σ Q·D| < 2^90 per group (checked), PSM ≤ 10⁶ < 2^20 ⇒ |Y_g|, o_p < 2^110; ≤ 32
  pairs, CR ≤ 10⁶ < 2^20 ⇒ B_g < 2^135; with m_g < 2^100, CM_g·10⁶·m_g < 2^140 (range checks
  of about 141 bits, far below the field size).

Delta-normal VaR (underlyings u = 1..n, Σ̃ = z_α²·h·Σ the VaR-scaled daily covariance):
    D_i = round(Δ_i·S_u·PL)                    (per-unit dollar delta, nearest, public)
    X_u = Σ_{i on u} Q_i·D_i ;  δ_u = ⌊(X_u + MONEY/2) / MONEY⌋          (whole USD)
    K_uv = round(Σ̃_uv·PS) + (⌊n/2⌋ + 2)·[u = v],  PS = 10**9  (dominates PS·Σ̃, PSD order)
    C0 = the least integer ≥ 0 with C0²·PS ≥ Σ_uv δ_u·K_uv·δ_v       (whole USD)
    VaR = C0·MONEY + KN + KQ·Σ_i |Q_i|
  KN = ⌈√ρ·n·MONEY/2⌉ and KQ = ⌈√ρ/2⌉ (ρ = max row abs sum of Σ̃) bound the effect of the two
  roundings (δ_u to whole dollars, D_i to micro-dollars) by the triangle inequality.
  Circuit form: C0 ≥ 0 and C0²·PS ≥ δᵀKδ, with X_u + MONEY/2 = MONEY·δ_u + r_u, 0 ≤ r_u < MONEY.

Bounds (checked by the quantizers; all intermediate values stay below 2^120):
  |Q_i|, A_c < 2^57;  |LOSS|, |V|, H, FLOOR, SHORT, |D| < 2^50;  ≤ 256 instruments, ≤ 256
  assets  ⇒ every product < 2^107 and every sum < 2^115. Results: |E|, |L_s| < 2^90
  (1.2·10¹³ USD). ES: N ≤ 4096 scenarios, a·N < 2^22, b < 2^10 ⇒ products < 2^113.
  VaR: ≤ 8 underlyings, |δ_u| < 2^38 USD, |K_uv| < 2^32 ⇒ |δᵀKδ| < 2^114.

:func:`integer_margin` runs the whole float → int pipeline for a portfolio and a model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from math import isqrt

import numpy as np

from zkmargin.errors import ZkmarginError

from .instruments import Instrument
from .market import Market
from .portfolio import Portfolio
from .pricing import norm_ppf
from .riskarray import RiskArray
from .units import CREDIT_SCALE, MONEY, PL, PQ, PS
from .valuation import dollar_delta_per_unit, instrument_vol

MAX_Q_BITS = 57
MAX_PRICE_BITS = 50
MAX_RESULT_BITS = 90
MAX_ITEMS = 256
MAX_HIST_SCENARIOS = 4096
MAX_VAR_UNDERLYINGS = 8
MAX_DELTA_BITS = 38
MAX_COV_BITS = 32


class QuantizationError(ZkmarginError):
    """A value cannot be represented within the documented scales and bounds."""


# ----------------------------------------------------------------------------- conversions

def floor_scaled(x: float, scale: int) -> int:
    """⌊x·scale⌋ computed exactly from the binary value of the float x."""
    n, d = float(x).as_integer_ratio()
    return (n * scale) // d


def ceil_scaled(x: float, scale: int) -> int:
    """⌈x·scale⌉ exactly."""
    n, d = float(x).as_integer_ratio()
    return -((-n * scale) // d)


def round_scaled(x: float, scale: int) -> int:
    """Nearest integer to x·scale (halves up), exactly."""
    n, d = float(x).as_integer_ratio()
    return (2 * n * scale + d) // (2 * d)


def floor_decimal(x: float, scale: int) -> int:
    """⌊x·scale⌋ of the decimal the float was written as (:func:`exact_decimal`), exactly."""
    f = exact_decimal(x)
    return (f.numerator * scale) // f.denominator


def ceil_div(a: int, b: int) -> int:
    """⌈a / b⌉ for b > 0."""
    return -((-a) // b)


def ceil_sqrt(n: int) -> int:
    """Least integer r ≥ 0 with r² ≥ n (n ≥ 0)."""
    if n <= 0:
        return 0
    r = isqrt(n)
    return r if r * r == n else r + 1


def money_to_usd(x: int) -> float:
    """Money units (10⁻¹⁴ USD) to a float in USD (for display only)."""
    return float(Fraction(x, MONEY))


def _check_bits(values, bits: int, what: str) -> None:
    """Range check; the message never shows the value (it may be a secret amount)."""
    for v in values:
        if abs(v) >= 1 << bits:
            raise QuantizationError(f"{what} out of range (must be below 2^{bits} in its fixed-point units)")


def exact_decimal(x: float) -> Fraction:
    """The decimal a float was written as: the shortest decimal that reads back as ``x``
    (Python's ``repr``), exactly. ``0.1`` → 1/10, not the binary 0.1000000000000000055…"""
    from decimal import Decimal
    return Fraction(Decimal(repr(float(x))))


def quantize_quantity(q: float) -> int:
    """Q = q·PQ for the quantity as written (:func:`exact_decimal`); it must be an exact
    multiple of 1e-8 (no rounding: module docstring)."""
    if not math.isfinite(q):
        raise QuantizationError("a quantity is not a finite number")
    exact = exact_decimal(q) * PQ
    if exact.denominator != 1:
        raise QuantizationError("a quantity is not a multiple of 1e-8 (the smallest lot): "
                                "quantities are never rounded")
    Q = int(exact)
    _check_bits([Q], MAX_Q_BITS, "quantity")
    return Q


def short_part(Q: int) -> int:
    """Q⁻ = max(0, −Q)."""
    return -Q if Q < 0 else 0


# ----------------------------------------------------------------------------- equity

@dataclass(frozen=True)
class IntEquityParams:
    """Public equity parameters: collateral ``assets`` with haircut prices H (PL scale) and
    per-instrument values V (PL scale)."""

    assets: tuple[str, ...]
    H: tuple[int, ...]
    V: tuple[int, ...]


@dataclass(frozen=True)
class IntAccount:
    """Private account vector: Q per instrument, A per asset, U signed upnl (money units)."""

    Q: tuple[int, ...]
    A: tuple[int, ...]
    U: int


def instrument_value(inst: Instrument, market: Market) -> float:
    """Per-unit value counted in equity besides U: S (spot), V(F,σ,T) (option, Black-76 on
    its forward), 0 otherwise."""
    from .pricing import black76
    S = market.underlyings[inst.underlying].spot
    if inst.kind == "spot":
        return S
    if inst.is_option:
        return float(black76(market.basis(inst) * S, inst.strike, market.tau(inst.expiry),
                             instrument_vol(inst, market), inst.is_call))
    return 0.0


def quantize_equity_params(instruments, market: Market, assets=None) -> IntEquityParams:
    assets = tuple(market.collateral) if assets is None else tuple(assets)
    H = []
    for a in assets:
        c = market.collateral[a]
        H.append((Fraction(c.price) * (1 - Fraction(c.haircut)) * PL).__floor__())
    V = [floor_scaled(instrument_value(i, market), PL) for i in instruments]
    _check_bits(H + V, MAX_PRICE_BITS, "price/value")
    return IntEquityParams(assets, tuple(H), tuple(V))


def exact_upnl(portfolio: Portfolio, market: Market) -> Fraction:
    """Σ over futures/perps with an entry price of q·(X − entry) or q·F_v·(X/entry − 1), exact
    (X = S for perpetuals, the float forward b·S for dated futures)."""
    total = Fraction(0)
    for p in portfolio.positions:
        inst = p.instrument
        if p.entry_price is None or not (inst.is_linear or inst.is_inverse):
            continue
        spot = market.underlyings[inst.underlying].spot
        S = Fraction(market.basis(inst) * spot) if inst.kind in ("future", "inverse_future") else Fraction(spot)
        E = Fraction(p.entry_price)
        q = exact_decimal(p.quantity)         # the same quantity Q is made of
        if inst.is_inverse:
            total += q * Fraction(inst.face_value) * (S / E - 1)
        else:
            total += q * (S - E)
    return total


def exact_net_quantities(portfolio: Portfolio, instruments) -> tuple[int, ...]:
    """Q per instrument of ``instruments``: the sum of the exact Q of every position in it
    (summing the floats first would turn 0.1 + 0.2 into a non-multiple of 1e-8)."""
    index = {inst: k for k, inst in enumerate(instruments)}
    if len(index) > MAX_ITEMS:
        raise QuantizationError(f"more than {MAX_ITEMS} instruments")
    Q = [0] * len(index)
    for p in portfolio.positions:
        if p.instrument not in index:
            raise QuantizationError(f"positions[{p.index}]: instrument is not in the instrument list")
        Q[index[p.instrument]] += quantize_quantity(p.quantity)
    _check_bits(Q, MAX_Q_BITS, "net quantity")
    return tuple(Q)


def quantize_account(portfolio: Portfolio, market: Market, instruments,
                     params: IntEquityParams) -> IntAccount:
    """The integer account over ``instruments``: Q (exact), A (floor), U (floor of the exact upnl)."""
    Q = exact_net_quantities(portfolio, instruments)
    A = tuple(floor_scaled(portfolio.collateral.get(a, 0.0), PQ) for a in params.assets)
    _check_bits(A, MAX_Q_BITS, "collateral amount")
    U = (exact_upnl(portfolio, market) * MONEY).__floor__()
    _check_bits([U], MAX_RESULT_BITS, "unrealised P&L")
    return IntAccount(Q, A, U)


def int_equity(params: IntEquityParams, acct: IntAccount) -> int:
    """E = Σ_c A_c·H_c + Σ_i Q_i·V_i − Σ_i Q_i⁻ + U   (money units)."""
    e = sum(a * h for a, h in zip(acct.A, params.H))
    e += sum(q * v for q, v in zip(acct.Q, params.V))
    e -= sum(short_part(q) for q in acct.Q)
    return e + acct.U


# ----------------------------------------------------------------------------- worst case

@dataclass(frozen=True)
class IntScenarioModel:
    """Public integer parameters of a worst-case model (module docstring)."""

    underlyings: tuple[str, ...]
    instrument_group: tuple[int, ...]
    scenario_group: tuple[int, ...]
    LOSS: tuple[tuple[int, ...], ...]  # [instrument][scenario]
    FLOOR: tuple[int, ...]
    SHORT: tuple[int, ...]


@dataclass(frozen=True)
class IntWorstCase:
    """Outputs of :func:`int_worst_case`; per-group tuples in ``underlyings`` order (``credit``,
    ``offsets``, ``credit_slack`` only with spread credits)."""

    requirement: int
    losses: tuple[int, ...]  # L_s (without the slack)
    slack: tuple[int, ...]
    scan: tuple[int, ...]
    floor: tuple[int, ...]
    short: tuple[int, ...]
    per_group: tuple[int, ...]
    credit: tuple[int, ...] = ()
    offsets: tuple[int, ...] = ()
    credit_slack: int = 0


CREDIT_RATE_SCALE = SCAN_RANGE_SCALE = CREDIT_SCALE
MAX_CREDIT_PAIRS = 32


@dataclass(frozen=True)
class IntSpreadCredits:
    """Public integer parameters of span16 spread credits (module docstring): pairs
    (g, h, CR) in priority order over the model's groups, D per instrument, PSM and CM per
    group, KC. Padding pairs (g, g, 0) are harmless: min(P_g, N_g) = 0."""

    pairs: tuple[tuple[int, int, int], ...]
    D: tuple[int, ...]
    PSM: tuple[int, ...]
    CM: tuple[int, ...]
    KC: int


def quantize_spread_credits(instruments, market: Market, underlyings, credits) -> IntSpreadCredits:
    """D_i = round(Δ_i·S·PL), PSM_g = price_scan_g·10⁶ (exact for paired underlyings),
    CR_p = ⌊c_p·10⁶⌋ (both read as decimals), CM_g, KC. Pairs whose underlyings are not both among ``underlyings`` are left out
    (nothing to offset)."""
    unds = tuple(underlyings)
    pairs = []
    for c in credits:
        if c.first in unds and c.second in unds:
            pairs.append((unds.index(c.first), unds.index(c.second), floor_decimal(c.rate, CREDIT_RATE_SCALE)))
    if len(pairs) > MAX_CREDIT_PAIRS:
        raise QuantizationError(f"more than {MAX_CREDIT_PAIRS} spread-credit pairs")
    for _, _, cr in pairs:
        if not 0 <= cr <= CREDIT_RATE_SCALE:
            raise QuantizationError("spread-credit rate outside [0, 1]")
    paired = {unds[g] for g, h, _ in pairs} | {unds[h] for g, h, _ in pairs}
    psm = []
    for u in unds:
        ps = market.underlyings[u].price_scan
        if not 0.0 <= ps <= 1.0:
            raise QuantizationError(f"price_scan of {u} must be in [0, 1] for spread credits")
        exact = exact_decimal(ps) * SCAN_RANGE_SCALE
        if u in paired and exact.denominator != 1:
            # not rounded: the tiered offsets are not monotone in the scan ranges (docstring)
            raise QuantizationError(f"price_scan of {u} must be a multiple of 1e-6 for spread credits "
                                    "(a rounded scan range could raise the credit)")
        psm.append(floor_decimal(ps, SCAN_RANGE_SCALE))
    # the cap uses every configured pair of the underlying, also those whose partner is absent
    cm = tuple(max([floor_decimal(c.rate, CREDIT_RATE_SCALE) for c in credits if u in (c.first, c.second)],
                   default=0) for u in unds)
    D = tuple(round_scaled(dollar_delta_per_unit(i, market), PL) for i in instruments)
    _check_bits(D, MAX_PRICE_BITS, "dollar delta")
    kc = ceil_div(sum(cr for _, _, cr in pairs) * max(psm, default=0), CREDIT_RATE_SCALE * SCAN_RANGE_SCALE)
    return IntSpreadCredits(tuple(pairs), D, tuple(psm), cm, kc)


def int_spread_credits(cr: IntSpreadCredits, groups: tuple[int, ...], Q: tuple[int, ...],
                       scan: list[int]) -> tuple[list[int], list[int]]:
    """(credit_g per group, o_p per pair) of the module docstring, from the scan bounds m_g."""
    n_g = len(scan)
    X = [0] * n_g
    for q, d, g in zip(Q, cr.D, groups):
        if q and g >= 0:
            X[g] += q * d
    _check_bits(X, MAX_RESULT_BITS, "dollar delta of a group")
    Y = [cr.PSM[g] * X[g] for g in range(n_g)]
    P = [max(y, 0) for y in Y]
    N = [max(-y, 0) for y in Y]
    offs = []
    B = [0] * n_g
    for g, h, rate in cr.pairs:
        a = min(P[g], N[h])
        b = min(N[g], P[h])
        P[g] -= a
        N[h] -= a
        N[g] -= b
        P[h] -= b
        o = a + b
        offs.append(o)
        B[g] += rate * o
        if h != g:
            B[h] += rate * o
    credit = [min(cr.CM[g] * SCAN_RANGE_SCALE * scan[g], B[g]) // (CREDIT_RATE_SCALE * SCAN_RANGE_SCALE)
              for g in range(n_g)]
    return credit, offs


def quantize_worst_case(ra: RiskArray) -> IntScenarioModel:
    """LOSS = ⌈−pnl·PL⌉, FLOOR = ⌈floor_charge·PL⌉, SHORT = ⌈short_charge·PL⌉."""
    if ra.kind != "worst_case":
        raise QuantizationError("not a worst-case risk array")
    if len(ra.instruments) > MAX_ITEMS:
        raise QuantizationError(f"more than {MAX_ITEMS} instruments")
    loss = tuple(tuple(ceil_scaled(-x, PL) for x in row) for row in ra.pnl.tolist())
    floor = tuple(ceil_scaled(x, PL) for x in ra.floor_charge.tolist())
    short = tuple(ceil_scaled(x, PL) for x in ra.short_charge.tolist())
    _check_bits([v for row in loss for v in row] + list(floor) + list(short), MAX_PRICE_BITS, "loss/charge")
    return IntScenarioModel(ra.underlyings, tuple(int(g) for g in ra.instrument_group),
                            tuple(int(g) for g in ra.scenario_group), loss, floor, short)


def int_worst_case(model: IntScenarioModel, Q: tuple[int, ...],
                   credits: IntSpreadCredits | None = None) -> IntWorstCase:
    """REQ = Σ_g max(scan_g, floor_g) + short_g (module docstring), money units; with
    ``credits`` REQ = Σ_g max(scan_g − credit_g, floor_g) + short_g + KC·Σ|Q_i|."""
    n_s = len(model.scenario_group)
    losses = [0] * n_s
    for i, q in enumerate(Q):
        if q:
            row = model.LOSS[i]
            for s in range(n_s):
                losses[s] += q * row[s]
    slack, scan, floor, short, per = [], [], [], [], []
    for g in range(len(model.underlyings)):
        members = [i for i, gi in enumerate(model.instrument_group) if gi == g]
        sl = sum(short_part(Q[i]) for i in members)
        worst = max(losses[s] for s in range(n_s) if model.scenario_group[s] == g)
        sc = max(0, worst + sl)
        fl = sum(model.FLOOR[i] * short_part(Q[i]) for i in members)
        sh = sum(model.SHORT[i] * short_part(Q[i]) for i in members)
        slack.append(sl)
        scan.append(sc)
        floor.append(fl)
        short.append(sh)
        per.append(max(sc, fl) + sh)
    if credits is None:
        req = sum(per)
        _check_bits(losses + [req], MAX_RESULT_BITS, "scenario loss / requirement")
        return IntWorstCase(req, tuple(losses), tuple(slack), tuple(scan), tuple(floor), tuple(short),
                            tuple(per))
    credit, offs = int_spread_credits(credits, model.instrument_group, Q, scan)
    per = [max(scan[g] - credit[g], floor[g]) + short[g] for g in range(len(scan))]
    cslack = credits.KC * sum(abs(q) for q in Q)
    req = sum(per) + cslack
    _check_bits(losses + [req], MAX_RESULT_BITS, "scenario loss / requirement")
    return IntWorstCase(req, tuple(losses), tuple(slack), tuple(scan), tuple(floor), tuple(short),
                        tuple(per), tuple(credit), tuple(offs), cslack)


# ----------------------------------------------------------------------------- ES

@dataclass(frozen=True)
class IntESModel:
    """Historical scenarios: LOSS[i][s] = ⌈−pnl·PL⌉ and the tail fraction 1 − α = a/b."""

    LOSS: tuple[tuple[int, ...], ...]
    a: int
    b: int

    @property
    def n_scenarios(self) -> int:
        return len(self.LOSS[0]) if self.LOSS else 0


def tail_fraction(alpha) -> tuple[int, int]:
    """(a, b) with 1 − α = a/b exactly, α read as a decimal (``0.975`` → (1, 40))."""
    f = 1 - Fraction(str(alpha))
    if not 0 < f < 1:
        raise QuantizationError("alpha must be in (0, 1)")
    return f.numerator, f.denominator


def quantize_es(ra: RiskArray, alpha) -> IntESModel:
    if ra.kind != "historical":
        raise QuantizationError("not a historical risk array")
    n = ra.pnl.shape[1]
    a, b = tail_fraction(alpha)
    if n > MAX_HIST_SCENARIOS or a * n >= 1 << 22 or b >= 1 << 10:
        raise QuantizationError("too many scenarios or too fine a confidence level")
    loss = tuple(tuple(ceil_scaled(-x, PL) for x in row) for row in ra.pnl.tolist())
    _check_bits([v for row in loss for v in row], MAX_PRICE_BITS, "loss")
    return IntESModel(loss, a, b)


@dataclass(frozen=True)
class IntES:
    es: int
    t: int
    losses: tuple[int, ...]  # L_s including the slack


def int_es(model: IntESModel, Q: tuple[int, ...]) -> IntES:
    """ES = max(0, ⌈(a·N·t + b·Σ max(L_s − t, 0)) / (a·N)⌉), t the j-th largest L_s."""
    n = model.n_scenarios
    slack = sum(short_part(q) for q in Q)
    losses = [slack] * n
    for i, q in enumerate(Q):
        if q:
            row = model.LOSS[i]
            for s in range(n):
                losses[s] += q * row[s]
    _check_bits(losses, MAX_RESULT_BITS, "scenario loss")
    aN = model.a * n
    j = min(aN // model.b + 1, n)
    t = sorted(losses, reverse=True)[j - 1]
    total = aN * t + model.b * sum(max(L - t, 0) for L in losses)
    return IntES(max(0, ceil_div(total, aN)), t, tuple(losses))


@dataclass(frozen=True)
class IntQuantileVar:
    var: int
    rank: int
    losses: tuple[int, ...]  # L_s including the slack


def int_quantile_var(model: IntESModel, Q: tuple[int, ...]) -> IntQuantileVar:
    """Scenario VaR = max(0, j-th largest L_s), j = ⌊a·N/b⌋ + 1 (module docstring)."""
    n = model.n_scenarios
    slack = sum(short_part(q) for q in Q)
    losses = [slack] * n
    for i, q in enumerate(Q):
        if q:
            row = model.LOSS[i]
            for s in range(n):
                losses[s] += q * row[s]
    _check_bits(losses, MAX_RESULT_BITS, "scenario loss")
    j = min(model.a * n // model.b + 1, n)
    t = sorted(losses, reverse=True)[j - 1]
    return IntQuantileVar(max(0, t), j, tuple(losses))


def quantile_certificate_holds(model: IntESModel, Q: tuple[int, ...], C: int) -> bool:
    """The circuit's check for a claimed VaR bound C: C ≥ 0 and at most j − 1 scenarios
    have L_s > C."""
    res = int_quantile_var(model, Q)
    return C >= 0 and sum(1 for L in res.losses if L > C) <= res.rank - 1


def es_certificate_holds(model: IntESModel, Q: tuple[int, ...], C: int, t: int) -> bool:
    """The circuit's check for a prover-chosen t: a·N·t + b·Σ max(L_s − t, 0) ≤ a·N·C."""
    res = int_es(model, Q)
    aN = model.a * model.n_scenarios
    return aN * t + model.b * sum(max(L - t, 0) for L in res.losses) <= aN * C


# ----------------------------------------------------------------------------- delta-normal VaR

@dataclass(frozen=True)
class IntVarModel:
    """Public integer VaR parameters (module docstring)."""

    underlyings: tuple[str, ...]
    instrument_group: tuple[int, ...]
    D: tuple[int, ...]
    K: tuple[tuple[int, ...], ...]
    KN: int
    KQ: int


@dataclass(frozen=True)
class IntVar:
    var: int
    delta_usd: tuple[int, ...]
    quad: int
    c0: int


def quantize_var(instruments, market: Market, underlyings, cov: np.ndarray, alpha: float = 0.99,
                 horizon_days: float = 1.0, *, refuse_options: bool = False) -> IntVarModel:
    """D_i, K = round(z²·h·Σ·PS) + (⌊n/2⌋+2)·I, KN, KQ (module docstring). Delta-normal VaR is
    linear; with ``refuse_options`` an instrument list containing options is rejected (a venue
    proving VaR for option books should use the scenario VaR of ``mcvar`` / ``hvar``)."""
    if refuse_options and any(i.is_option for i in instruments):
        raise QuantizationError("delta-normal VaR ignores gamma and vega: not provable for a venue "
                                "that lists options (use mcvar or hvar)")
    unds = tuple(underlyings)
    n = len(unds)
    if n > MAX_VAR_UNDERLYINGS:
        raise QuantizationError(f"more than {MAX_VAR_UNDERLYINGS} underlyings")
    groups = tuple(unds.index(i.underlying) for i in instruments)
    D = tuple(round_scaled(dollar_delta_per_unit(i, market), PL) for i in instruments)
    _check_bits(D, MAX_PRICE_BITS, "dollar delta")
    z = norm_ppf(alpha)
    scaled = (z * z * horizon_days) * np.asarray(cov, float)
    bump = n // 2 + 2
    K = tuple(tuple(round_scaled(float(scaled[u, v]), PS) + (bump if u == v else 0) for v in range(n))
              for u in range(n))
    _check_bits([k for row in K for k in row], MAX_COV_BITS, "scaled covariance")
    rho = Fraction(float(np.abs(scaled).sum(axis=1).max())) * Fraction(1 + 10**-9)
    KN = ceil_sqrt(ceil_div_frac(rho * n * n * MONEY * MONEY, 4))
    KQ = ceil_sqrt(ceil_div_frac(rho, 4))
    return IntVarModel(unds, groups, D, K, KN, KQ)


def ceil_div_frac(x: Fraction, d: int) -> int:
    """⌈x / d⌉ for a rational x."""
    x = Fraction(x) / d
    return -((-x.numerator) // x.denominator)


def int_var(model: IntVarModel, Q: tuple[int, ...]) -> IntVar:
    """VaR = C0·MONEY + KN + KQ·Σ|Q_i| with C0 = ⌈√(δᵀKδ / PS)⌉ (module docstring)."""
    n = len(model.underlyings)
    X = [0] * n
    for q, d, g in zip(Q, model.D, model.instrument_group):
        X[g] += q * d
    delta = [(x + MONEY // 2) // MONEY for x in X]
    _check_bits(delta, MAX_DELTA_BITS, "dollar delta")
    quad = sum(delta[u] * model.K[u][v] * delta[v] for u in range(n) for v in range(n))
    c0 = ceil_sqrt(ceil_div(quad, PS))
    var = c0 * MONEY + model.KN + model.KQ * sum(abs(q) for q in Q)
    return IntVar(var, tuple(delta), quad, c0)


# ----------------------------------------------------------------------------- pipeline

@dataclass(frozen=True)
class IntegerMargin:
    """Integer requirement and equity of one account under one model (money units), with the
    public parameters and the private account vector a circuit needs. ``credits``: span16
    spread-credit parameters when the market configures them; ``warnings`` as in the float
    model (e.g. delta-normal VaR on an option book)."""

    model: str
    requirement: int
    equity: int
    params: object
    equity_params: IntEquityParams
    account: IntAccount
    instruments: tuple[Instrument, ...]
    credits: IntSpreadCredits | None = None
    warnings: tuple[str, ...] = ()

    @property
    def solvent(self) -> bool:
        return self.equity >= self.requirement

    @property
    def requirement_usd(self) -> float:
        return money_to_usd(self.requirement)

    @property
    def equity_usd(self) -> float:
        return money_to_usd(self.equity)


def integer_margin(portfolio: Portfolio, market: Market, model: str = "span16", *,
                   history=None, alpha=None, horizon_days: float = 1.0,
                   lookback: int | None = None, historical=None, vol_history=None,
                   credits=None) -> IntegerMargin:
    """Quantize and evaluate: ``span16`` (with the market's spread credits, or ``credits``;
    ``()`` for none) / ``paradex`` / ``deribit`` (worst case), ``es``, ``hvar`` and ``mcvar``
    (scenario ES / VaR under the same scenario policy as :func:`~zkmargin.margin.models.compute_margin`),
    ``var``."""
    from .history import covariance
    from .models import DEFAULT_ALPHA, W_LINEAR_OPTIONS, _need, check_horizon, history_of, holds_options, model_scenarios
    from .riskarray import net_positions, risk_array, scenario_risk_array
    from .scenarios import PRESETS
    from .var import check_alpha, tail_count

    check_horizon(horizon_days)
    if alpha is not None:
        check_alpha(alpha)
    instruments, q = net_positions(portfolio)
    eparams = quantize_equity_params(instruments, market)
    acct = quantize_account(portfolio, market, instruments, eparams)
    E = int_equity(eparams, acct)
    _check_bits([E], MAX_RESULT_BITS, "equity")
    cparams = None
    warnings: tuple[str, ...] = ()
    if model == "span16" or model in PRESETS:
        ra = risk_array(portfolio, market, model)
        params = quantize_worst_case(ra)
        pairs = (market.spread_credits if credits is None else tuple(credits)) if model == "span16" else ()
        if pairs:
            cparams = quantize_spread_credits(list(ra.instruments), market, ra.underlyings, pairs)
        req = int_worst_case(params, acct.Q, cparams).requirement
    elif model in ("es", "hvar", "mcvar"):
        a = alpha if alpha is not None else DEFAULT_ALPHA[model]
        if model in ("es", "hvar") and float(horizon_days) != 1.0:
            from .errors import ModelError
            raise ModelError(f"model {model!r} uses one-day historical scenarios: horizon must be 1 day")
        scen = model_scenarios(portfolio, market, model, history=history, historical=historical,
                               lookback=lookback, vol_history=vol_history, horizon_days=horizon_days)
        tail_count(a, len(scen))
        params = quantize_es(scenario_risk_array(instruments, q, market, scen), a)
        req = int_es(params, acct.Q).es if model == "es" else int_quantile_var(params, acct.Q).var
    elif model == "var":
        a = alpha if alpha is not None else DEFAULT_ALPHA["var"]
        unds = portfolio.underlyings
        hist = history_of(market, history)
        if market.covariance is not None and history is None:
            names, mat = market.covariance
            idx = [names.index(u) for u in unds]
            cov = mat[np.ix_(idx, idx)]
        else:
            hist = _need(hist, unds, model)
            idx = [hist.names.index(u) for u in unds]
            cov = covariance(hist.daily_returns()[1][:, idx])
        params = quantize_var(instruments, market, unds, cov, a, horizon_days)
        req = int_var(params, acct.Q).var
        if holds_options(portfolio):
            warnings = (W_LINEAR_OPTIONS,)
    else:
        raise QuantizationError(f"no integer evaluator for model {model!r} "
                                "(span16, paradex, deribit, es, hvar, mcvar, var)")
    return IntegerMargin(model, req, E, params, eparams, acct, tuple(instruments), cparams, warnings)
