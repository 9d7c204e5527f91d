"""Solvency circuits: "equity ≥ buffer × margin requirement" over committed accounts.

The statement (docs/PROTOCOL.md) for one circuit SHAPE (padded sizes, so one key serves every
portfolio that fits) and one margin-model family:

Public inputs (in this order, names as in :func:`public_input_names`)::

    model          model code (MODEL_CODES), bound into the parameter digest
    buffer_bps     required buffer in basis points: 10000 = 1.0 × requirement
    venue          venue id (a field element, :func:`zkmargin.solvency.bundle.venue_id`)
    epoch          epoch (e.g. YYYYMMDD) and
    nonce          a verifier-chosen nonce: with venue they stop replay (docs/PITFALLS.md #8)
    params_digest  Poseidon digest of the parameter file (digest and constant modes)
    commitment_k   k = 0..K-1: salted Poseidon commitment of account k (docs/PITFALLS.md #12)
    kind_k         k = 0..K-1: what account k may hold (ACCOUNT_KINDS): 0 account (anything),
                   1 positions (no collateral: A = 0), 2 collateral (no positions: Q = 0, U = 0)
    param_j        the parameter vector itself (public-parameters mode only)

Parameter modes (``Shape.params``): ``digest`` (default; parameters are private inputs hashed
in-circuit to the public digest: one key per shape), ``public`` (parameters are public inputs:
cheap to prove, one verifier scalar multiplication per parameter) and ``constant`` (parameters
are circuit constants, so every product with them is linear and free; the digest is still a
public input, pinned to the constant; one key per parameter set).

Private inputs: per account k the vector Q^(k) (N signed quantities, Q = q·1e8), U^(k) (signed
unrealised P&L, 1e-14 USD) and A^(k) (C collateral amounts, A = a·1e8), and its salt; in digest
mode also the parameter vector.

Account commitment (circomlib-compatible :func:`zkmargin.circuits.poseidon.commit`)::

    commitment_k = commit([Q_0 .. Q_{N-1}, U, A_0 .. A_{C-1}] mod r, salt_k)

Account kinds: kind_k = b0 + 2·b1 with boolean b0, b1 and b0·b1 = 0 (so kind_k ∈ {0, 1, 2});
b1·Q_i = 0, b1·U = 0 (a collateral account holds no positions and no P&L) and b0·A_c = 0 (a
positions account holds no collateral). An attester vouches for a commitment in the role of
its kind (a custodian signs "collateral"), and the proof guarantees the account holds nothing
outside that role.

Parameter digest (digest mode: computed in-circuit over private parameters)::

    params_digest = commit([PARAMS_TAG, model, N, C, G, S, meta, params...] mod r, 0)

where ``meta`` is the SHA-256 (248 bits) of everything else in the venue's parameter file
(venue, epoch, instruments, assets, market, scales; :mod:`zkmargin.solvency.params`), so one
digest names the whole file: two files that differ in any field have different digests.

The circuit sums the accounts (Q = Σ_k Q^(k), U = Σ_k U^(k), A = Σ_k A^(k)) -- the combined,
cross-venue portfolio -- and then computes exactly the integer semantics of
:mod:`zkmargin.margin.quantize` (scales Q·PL = 1e-14 USD "money units"):

    E   = Σ_c A_c·H_c + Σ_i Q_i·V_i − Σ_i Q_i⁻ + U                    (equity, Q⁻ = max(0, −Q))
    REQ = requirement of the model (below)
    10000·E − buffer_bps·REQ ≥ 0                                     (the claim)

Models (parameter vectors in :class:`CircuitParams`):

* ``worst_case`` (span16 / grids), G groups (underlyings) of S scenarios each. Instrument i
  belongs to group g iff GM[i][g] = 1 (one-hot; all-zero for padding slots) and LOSS[i][s] is
  its per-unit loss in scenario s of its own group. For each group, with Qg_i = GM[i][g]·Q_i:
      L_gs = Σ_i Qg_i·LOSS[i][s],   slack_g = Σ_i GM[i][g]·Q_i⁻
      m_g ≥ 0,  m_g ≥ L_gs + slack_g (all s),  m_g ≥ floor_g = Σ_i GM[i][g]·FLOOR_i·Q_i⁻
      REQ = Σ_g (m_g + short_g),  short_g = Σ_i GM[i][g]·SHORT_i·Q_i⁻
  The honest witness sets m_g = max(scan_g, floor_g) exactly, so REQ equals
  :func:`~zkmargin.margin.quantize.int_worst_case`; a prover can only make m_g larger.
  Padding scenarios repeat a real scenario of the group (the max is unchanged).
* ``worst_case`` with P > 0 credit-pair slots (``Shape.pairs``; span16 inter-commodity spread
  credits, :func:`~zkmargin.margin.quantize.int_spread_credits`). Extra parameters: D (N)
  dollar deltas, PSM (G) price scan ranges and CM (G) credit caps (both ×10⁶), per pair slot p
  the one-hot rows PG[p], PH[p] (G each) naming its two groups (both all-zero for a padding
  slot) and its rate CR_p (×10⁶), and KC. Per group, m_g is as above WITHOUT m_g ≥ floor_g
  (the floor applies after the credit), and
      X_g = Σ_i Qg_i·D_i  (signed 91 bits: relu gives X⁺, X⁻ = X⁺ − X),
      P_g = PSM_g·X⁺_g,  N_g = PSM_g·X⁻_g                       (< 2^110: scan-risk deltas)
  per pair slot p in order, with P, N the current state vectors:
      α_p = min(Σ_g PG[p][g]·P_g, Σ_g PH[p][g]·N_g),  β_p = min(Σ_g PG[p][g]·N_g, Σ_g PH[p][g]·P_g)
      (exact: gadgets.exact_min, both remainders range-checked at 110 bits, their product 0)
      P_g −= PG[p][g]·α_p + PH[p][g]·β_p,   N_g −= PH[p][g]·α_p + PG[p][g]·β_p,   o_p = α_p + β_p
      B_g = Σ_p (PG[p][g] + PH[p][g])·CR_p·o_p                           (< 2^135)
  and per group the prover's credit κ_g and requirement r_g:
      0 ≤ κ_g < 2^100,  CM_g·10⁶·m_g − 10¹²·κ_g ≥ 0 (141 bits),  B_g − 10¹²·κ_g ≥ 0 (136 bits)
      0 ≤ r_g < 2^100,  r_g − m_g + κ_g ≥ 0,  r_g − floor_g ≥ 0           (100 bits each)
      REQ = Σ_g (r_g + short_g) + KC·Σ_i |Q_i|,   |Q_i| = Q_i + 2·Q_i⁻
  Honest witness: m_g = scan_g, κ_g = ⌊min(CM_g·10⁶·m_g, B_g)/10¹²⌋, r_g = max(m_g − κ_g,
  floor_g), so REQ equals ``int_worst_case(..., credits=...)`` bit for bit. Soundness: the
  offsets o_p, hence B_g, are functions of Q and the parameters only (every min is exact:
  a smaller offset in one tier could free delta for a later tier with a higher rate); the
  prover chooses only m_g ≥ scan_g, κ_g and r_g. For any choice κ_g ≤ c(m_g) =
  ⌊min(CM_g·10⁶·m_g, B_g)/10¹²⌋, and since CM_g ≤ 10⁶ (verifier-checked) c rises by at most 1
  when m_g rises by 1, so m_g − c(m_g) is non-decreasing: r_g ≥ max(m_g − κ_g, floor_g) ≥
  max(scan_g − c(scan_g), floor_g), the honest value. No choice lowers REQ.
* ``es`` (historical ES, Rockafellar–Uryasev), S joint scenarios, tail fraction a/b:
      L_s = Σ_i Q_i·LOSS[i][s] + Σ_i Q_i⁻
      t (signed 92 bits), u_s = max(L_s − t, 0) (relu: one 93-bit signed range check of
      L_s − t per scenario, which also gives u_s ≥ 0 and u_s ≥ L_s − t),
      C ≥ 0,  a·S·(C − t) − b·Σ_s u_s ≥ 0,   REQ = C
  Honest witness: t = the j-th largest loss and C = ES of :func:`int_es`.
* ``quantile`` (scenario VaR, model ``hvar``): the ES parameters (LOSS, a, b) and the same
  losses L_s; with k = ⌊a·S/b⌋ = j − 1 (a floor division in the circuit; a < b makes k < S):
      C ≥ 0 (100 bits),  β_s boolean,  C − L_s + β_s·2^101 ≥ 0 (102 bits) for every s,
      Σ_s β_s ≤ k (13 bits),   REQ = C
  A scenario with β_s = 0 has L_s ≤ C; at most k = j − 1 scenarios are excused, so C is at
  least the j-th largest loss -- the VaR of :func:`int_quantile_var`. (|C − L_s| < 2^101 for
  every witness that passes: a larger |L_s| leaves C − L_s + β·2^101 outside 102 bits for
  both values of β, so such a book has no witness, as the evaluator refuses it.) Honest
  witness: C = max(0, j-th largest L_s), β_s = [L_s > C].
* ``var`` (delta-normal), G underlyings:
      X_u = Σ_i GM[i][u]·Q_i·D_i;  X_u + MONEY/2 = MONEY·δ_u + r_u,  0 ≤ r_u < MONEY
      C0 ≥ 0,  C0²·PS − Σ_uv δ_u·K_uv·δ_v ≥ 0,   REQ = C0·MONEY + KN + KQ·Σ_i |Q_i|
  Honest witness: C0 = ⌈√(δᵀKδ/PS)⌉ of :func:`int_var`.

Ranges (docs/PITFALLS.md #1; every check is a bit decomposition, gadgets.py):

* Q_i combined: signed 58 bits (|Q| < 2^57), via ``relu(−Q, 58)`` which also yields Q⁻;
* A_c combined: 57 bits; U combined: signed 92 bits; 1 ≤ buffer_bps ≤ 2^24 (a zero buffer
  would reduce the claim to E ≥ 0);
* prover-chosen bounds m_g, u_s, C, C0 and every "≥ 0" gap: GAP_BITS = 100 (final claim:
  CLAIM_BITS = 130). With the parameter bounds below no integer in the circuit exceeds 2^125
  in magnitude, far below r/2, so "fits in w bits" proves "≥ 0" (no wrap-around).
* Parameters are NOT range-checked in the circuit: the verifier recomputes the digest (or
  reads the public inputs) from the venue's parameter file and rejects the file unless
  |H|, |V|, |LOSS|, |FLOOR|, |SHORT|, |D| < 2^50, |K| < 2^32, GM one-hot, a·S < 2^22,
  b < 2^10, 0 ≤ KN < 2^100, 0 ≤ KQ < 2^32; with credit pairs also 0 ≤ PSM, CM, CR ≤ 10⁶,
  0 ≤ KC < 2^32, PG/PH rows one-hot on two different groups (or both zero with CR = 0), at
  most 32 pair slots, model span16 (:meth:`CircuitParams.check_bounds`). Poseidon binds the
  in-circuit parameters to exactly those checked values. With credits the largest integer is
  CM·10⁶·m < 2^140, still far below r.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from zkmargin.algebra.constants import R
from zkmargin.errors import ZkmarginError
from zkmargin.margin import units
from zkmargin.margin.registry import default_model, provable_models

from . import gadgets as g
from .builder import LC, ConstraintSystem, to_signed
from .poseidon import commit
from .poseidon_gadget import commit_gadget

#: Model codes (public input ``model``); the circuit family is :data:`MODEL_FAMILY`.
MODEL_CODES = {s.name: s.code for s in provable_models()}
MODEL_FAMILY = {s.name: s.family for s in provable_models()}

#: Domain tag of the parameter digest ("zkmargin/params/v2" as a big-endian integer).
PARAMS_TAG = int.from_bytes(b"zkmargin/params/v2", "big")
#: Account kinds (public input ``kind_k``): what an account may hold, and so which attester
#: role vouches for it.
ACCOUNT_KINDS = ("account", "positions", "collateral")

Q_BITS = 58          # signed width of a (combined) quantity
A_BITS = 57          # collateral amount
U_BITS = 92          # signed width of the unrealised P&L
BUFFER_BITS = 24     # buffer in basis points
GAP_BITS = 100       # prover-chosen bounds and "≥ 0" differences
ES_BITS = 92         # ES: signed width of t; L_s − t is checked at ES_BITS + 1 (|L_s|, |t| < 2^91)
CLAIM_BITS = 130     # 10000·E − buffer·REQ
PARAM_BITS = 50      # |H|, |V|, |LOSS|, |FLOOR|, |SHORT|, |D| < 2^50 (checked by the verifier)
K_BITS = 32
#: span16 spread credits (module docstring): rates and scan ranges are ×10⁶, so the credit
#: CR·o and the cap CM·10⁶·m are in money units ×10¹².
CREDIT_SCALE = units.CREDIT_SCALE
CREDIT_DIV = CREDIT_SCALE * CREDIT_SCALE
MAX_PAIRS = 32
CREDIT_X_BITS = 91       # signed width of X_g = Σ Qg·D (the evaluator's |X| < 2^90)
CREDIT_PN_BITS = 110     # P_g, N_g, α, β, o < 10⁶·2^90 < 2^110
CREDIT_B_BITS = 136      # B_g < 32·2^20·2^110 = 2^135
CREDIT_CAP_BITS = 141    # CM·10⁶·m < 2^20·2^20·2^100 = 2^140
MONEY = units.MONEY
PS = units.PS
BPS = units.BPS
#: How the risk parameters enter: a Poseidon digest (public) over private parameters, the
#: parameters as public inputs, or constants baked into the circuit (one key per parameter set).
PARAM_MODES = ("digest", "public", "constant")


class ParameterError(ZkmarginError):
    """A parameter set does not fit the shape or the documented bounds."""


@dataclass(frozen=True)
class Shape:
    """Padded circuit sizes. ``groups``×``scenarios`` are worst-case groups (S scenarios each);
    for ES ``groups`` is 1 and ``scenarios`` the number of historical scenarios; for VaR
    ``groups`` is the number of underlyings and ``scenarios`` is 0. ``pairs`` (worst case only)
    is the number of span16 spread-credit pair slots; 0 (no credits) leaves the circuit, the
    shape's dictionary and the digest exactly as they were before credits existed."""

    family: str          # worst_case, es, quantile (scenario VaR) or var
    instruments: int
    assets: int
    groups: int
    scenarios: int
    accounts: int = 1
    params: str = "digest"
    pairs: int = 0

    @property
    def params_public(self) -> bool:
        return self.params == "public"

    @property
    def params_constant(self) -> bool:
        return self.params == "constant"

    def __post_init__(self):
        if self.family not in ("worst_case", "es", "quantile", "var"):
            raise ParameterError(f"unknown model family {self.family!r}")
        for name in ("instruments", "assets", "groups", "accounts"):
            if not 1 <= getattr(self, name) <= 256:
                raise ParameterError(f"shape: {name} must be in 1..256")
        if self.params not in PARAM_MODES:
            raise ParameterError(f"shape: params must be one of {', '.join(PARAM_MODES)}")
        if self.family != "var" and not 1 <= self.scenarios <= 4096:
            raise ParameterError("shape: scenarios must be in 1..4096")
        if not 0 <= self.pairs <= MAX_PAIRS or (self.pairs and self.family != "worst_case"):
            raise ParameterError(f"shape: pairs (spread-credit slots, worst case only) must be in 0..{MAX_PAIRS}")

    @property
    def account_length(self) -> int:
        """Length of one committed account vector: N quantities, U, C amounts."""
        return self.instruments + 1 + self.assets

    def as_dict(self) -> dict:
        d = {"family": self.family, "instruments": self.instruments, "assets": self.assets,
             "groups": self.groups, "scenarios": self.scenarios, "accounts": self.accounts,
             "params": self.params}
        if self.pairs:          # only then: a shape without credits hashes as it always did
            d["pairs"] = self.pairs
        return d

    def sizes(self) -> list[int]:
        """The sizes the parameter digest hashes: N, C, G, S (and P when there are pair slots)."""
        out = [self.instruments, self.assets, self.groups, self.scenarios]
        return out + [self.pairs] if self.pairs else out

    @classmethod
    def from_dict(cls, d: dict) -> "Shape":
        try:
            return cls(str(d["family"]), int(d["instruments"]), int(d["assets"]), int(d["groups"]),
                       int(d["scenarios"]), int(d.get("accounts", 1)), str(d.get("params", "digest")),
                       int(d.get("pairs", 0)))
        except (KeyError, TypeError, ValueError) as e:
            raise ParameterError(f"bad shape: {e}") from None


@dataclass(frozen=True)
class CircuitParams:
    """The public integer risk parameters, padded to a shape (all values are Python ints).

    ``H`` (C) haircut prices, ``V`` (N) per-unit values, ``GM`` (N×G) group one-hot,
    ``LOSS`` (N×S) per-unit losses, ``FLOOR``/``SHORT`` (N) per-short-unit charges,
    ``a``/``b`` ES tail fraction, ``D`` (N) dollar deltas, ``K`` (G×G), ``KN``, ``KQ`` (VaR);
    span16 spread credits (``shape.pairs`` > 0): ``D`` (N), ``PSM``/``CM`` (G), ``PG``/``PH``
    (P×G one-hot rows), ``CR`` (P), ``KC``. Units and rounding: :mod:`zkmargin.margin.quantize`.
    """

    model: str
    shape: Shape
    H: tuple[int, ...]
    V: tuple[int, ...]
    GM: tuple[tuple[int, ...], ...] = ()
    LOSS: tuple[tuple[int, ...], ...] = ()
    FLOOR: tuple[int, ...] = ()
    SHORT: tuple[int, ...] = ()
    a: int = 0
    b: int = 0
    D: tuple[int, ...] = ()
    K: tuple[tuple[int, ...], ...] = ()
    KN: int = 0
    KQ: int = 0
    PSM: tuple[int, ...] = ()
    CM: tuple[int, ...] = ()
    PG: tuple[tuple[int, ...], ...] = ()
    PH: tuple[tuple[int, ...], ...] = ()
    CR: tuple[int, ...] = ()
    KC: int = 0
    #: SHA-256 (248 bits) of the rest of the parameter file, hashed into the digest.
    meta: int = 0

    @property
    def model_code(self) -> int:
        return MODEL_CODES[self.model]

    def vector(self) -> list[int]:
        """The parameter vector in circuit order (signed ints; mod r when hashed)."""
        fam = self.shape.family
        out = list(self.H) + list(self.V)
        if fam == "worst_case":
            out += [x for row in self.GM for x in row] + [x for row in self.LOSS for x in row]
            out += list(self.FLOOR) + list(self.SHORT)
            if self.shape.pairs:
                out += list(self.D) + list(self.PSM) + list(self.CM)
                out += [x for row in self.PG for x in row] + [x for row in self.PH for x in row]
                out += list(self.CR) + [self.KC]
        elif fam in ("es", "quantile"):
            out += [x for row in self.LOSS for x in row] + [self.a, self.b]
        else:
            out += [x for row in self.GM for x in row] + list(self.D)
            out += [x for row in self.K for x in row] + [self.KN, self.KQ]
        return out

    def digest_vector(self) -> list[int]:
        """What the digest hashes: tag, model code, the shape sizes, meta, then :meth:`vector`."""
        s = self.shape
        head = [PARAMS_TAG, self.model_code, *s.sizes(), self.meta]
        return [v % R for v in head + self.vector()]

    def digest(self) -> int:
        """Poseidon digest of the parameters (:func:`commit` of :meth:`digest_vector`, salt 0).
        Computed once per (immutable) parameter set and memoised."""
        cached = self.__dict__.get("_digest")
        if cached is None:
            cached = commit(self.digest_vector(), 0)
            object.__setattr__(self, "_digest", cached)
        return cached

    def check_bounds(self) -> None:
        """Raise :class:`ParameterError` unless sizes match the shape and every value is within
        the bounds the circuit's soundness argument assumes (module docstring)."""
        s = self.shape
        if MODEL_FAMILY.get(self.model) != s.family:
            raise ParameterError(f"model {self.model!r} does not fit a {s.family} shape")
        n, c = s.instruments, s.assets

        def sized(name, seq, length):
            if len(seq) != length:
                raise ParameterError(f"parameter {name}: {len(seq)} values, shape needs {length}")

        def small(name, seq, bits, signed=True):
            for v in seq:
                if not isinstance(v, int) or (abs(v) if signed else v) >= 1 << bits or (not signed and v < 0):
                    raise ParameterError(f"parameter {name} out of range (needs |x| < 2^{bits})")

        sized("H", self.H, c)
        sized("V", self.V, n)
        small("H", self.H, PARAM_BITS)
        small("V", self.V, PARAM_BITS)
        if s.family in ("worst_case", "var"):
            sized("GM", self.GM, n)
            for row in self.GM:
                sized("GM row", row, s.groups)
                if any(x not in (0, 1) for x in row) or sum(row) > 1:
                    raise ParameterError("parameter GM: rows must be one-hot (or all zero)")
        if s.family in ("worst_case", "es", "quantile"):
            sized("LOSS", self.LOSS, n)
            for row in self.LOSS:
                sized("LOSS row", row, s.scenarios)
                small("LOSS", row, PARAM_BITS)
        if s.family == "worst_case":
            sized("FLOOR", self.FLOOR, n)
            sized("SHORT", self.SHORT, n)
            small("FLOOR", self.FLOOR, PARAM_BITS, signed=False)
            small("SHORT", self.SHORT, PARAM_BITS, signed=False)
            if s.pairs:
                self._check_credits(sized, small)
            elif self.D or self.PSM or self.CM or self.PG or self.PH or self.CR or self.KC:
                raise ParameterError("spread-credit parameters need a shape with pair slots")
        if s.family in ("es", "quantile"):
            if not (1 <= self.a < self.b < 1 << 10 and self.a * s.scenarios < 1 << 22):
                raise ParameterError("parameter a/b: need 1 <= a < b < 2^10 and a·S < 2^22")
        if s.family == "var":
            sized("D", self.D, n)
            small("D", self.D, PARAM_BITS)
            sized("K", self.K, s.groups)
            for row in self.K:
                sized("K row", row, s.groups)
                small("K", row, K_BITS)
            small("KN", [self.KN], 100, signed=False)
            small("KQ", [self.KQ], K_BITS, signed=False)

    def _check_credits(self, sized, small) -> None:
        """The bounds the spread-credit constraints' soundness argument needs (module docstring)."""
        s = self.shape
        if self.model != "span16":
            raise ParameterError("spread credits are a span16 option")
        sized("D", self.D, s.instruments)
        small("D", self.D, PARAM_BITS)
        for name, seq, length in (("PSM", self.PSM, s.groups), ("CM", self.CM, s.groups), ("CR", self.CR, s.pairs)):
            sized(name, seq, length)
            if any(not isinstance(v, int) or not 0 <= v <= CREDIT_SCALE for v in seq):
                raise ParameterError(f"parameter {name} out of range (needs 0 <= x <= 10^6)")
        small("KC", [self.KC], K_BITS, signed=False)
        sized("PG", self.PG, s.pairs)
        sized("PH", self.PH, s.pairs)
        for p, (rg, rh) in enumerate(zip(self.PG, self.PH)):
            sized("PG row", rg, s.groups)
            sized("PH row", rh, s.groups)
            if any(x not in (0, 1) for x in (*rg, *rh)) or sum(rg) > 1 or sum(rh) > 1:
                raise ParameterError("parameter PG/PH: rows must be one-hot (or all zero)")
            if sum(rg) != sum(rh) or (sum(rg) == 0 and self.CR[p] != 0) or (sum(rg) and rg == rh):
                raise ParameterError("parameter PG/PH: a pair names two different groups "
                                     "(a padding slot: both rows zero and rate 0)")


@dataclass(frozen=True)
class Account:
    """One committed account (private): Q (N), U, A (C) as ints, and the salt; ``kind``
    (public, an index into :data:`ACCOUNT_KINDS`) says what the account may hold."""

    Q: tuple[int, ...]
    U: int
    A: tuple[int, ...]
    salt: int
    kind: int = 0

    def kind_violation(self) -> str | None:
        """Why the values do not fit the kind (None when they do)."""
        if self.kind not in (0, 1, 2):
            return "kind must be 0 (account), 1 (positions) or 2 (collateral)"
        if self.kind == 2 and (any(self.Q) or self.U):
            return "a collateral account holds no positions and no P&L"
        if self.kind == 1 and any(self.A):
            return "a positions account holds no collateral"
        return None

    def vector(self) -> list[int]:
        return [v % R for v in (*self.Q, self.U, *self.A)]

    def commitment(self) -> int:
        return commit(self.vector(), self.salt % R)


@dataclass(frozen=True)
class Context:
    """Public context of a proof: model code, buffer, venue id, epoch, nonce (field ints)."""

    model: int
    buffer_bps: int
    venue: int
    epoch: int
    nonce: int


def public_input_names(shape: Shape, n_params: int = 0) -> list[str]:
    """Names of the public inputs in wire order (see the module docstring)."""
    names = ["model", "buffer_bps", "venue", "epoch", "nonce"]
    if not shape.params_public:
        names.append("params_digest")
    names += [f"commitment_{k}" for k in range(shape.accounts)]
    names += [f"kind_{k}" for k in range(shape.accounts)]
    if shape.params_public:
        names += [f"param_{j}" for j in range(n_params)]
    return names


@dataclass
class SolvencyCircuit:
    """A built circuit with handles on the signals tests and the prover look at."""

    cs: ConstraintSystem
    shape: Shape
    public_names: list[str]
    equity: LC
    requirement: LC
    extra: dict = field(default_factory=dict)


def _signed_hint(cs: ConstraintSystem, name: str, fn, *args) -> LC:
    """A hint whose function receives signed ints and returns a signed int."""
    return cs.hint(name, lambda *v: fn(*[to_signed(x) for x in v]), *args)


def _dot(cs: ConstraintSystem, xs: Sequence[LC], ys: Sequence[LC], name: str) -> LC:
    """Σ x_j·y_j: one constraint per product of two non-constant LCs, none when either side is
    a constant (constant-parameter mode). The sum is accumulated in one dict (linear time)."""
    terms: dict[int, int] = {}
    for j, (x, y) in enumerate(zip(xs, ys)):
        for k, v in cs.mul(x, y, f"{name}{j}").terms.items():
            terms[k] = (terms.get(k, 0) + v) % R
    return LC(cs, {k: v for k, v in terms.items() if v})


# ---- building blocks shared by the solvency circuit and the venue batch circuit ----------------
# (circuits/venue_circuits.py); each adds exactly the constraints it always did, in the same
# order and sections, so a circuit built from them is the same R1CS.


def param_wires(cs: ConstraintSystem, shape: Shape, vec: Sequence[int]) -> list[LC]:
    """The parameter vector as wires: public inputs (``public`` mode), circuit constants
    (``constant``: products with them are linear, free) or private inputs (``digest``)."""
    if shape.params_public:
        return [cs.public(f"param_{j}", v % R) for j, v in enumerate(vec)]
    if shape.params_constant:
        return [cs.const(v) for v in vec]        # baked into the key: products become linear
    return [cs.private(f"param_{j}", v % R) for j, v in enumerate(vec)]


def account_wires(cs: ConstraintSystem, a: Account, n: int, c: int) -> tuple[list[LC], LC, list[LC], LC]:
    """Private inputs Q (n), U, A (c) and the salt of one account (in the caller's section)."""
    q = [cs.private(f"Q{i}", a.Q[i] % R) for i in range(n)]
    u = cs.private("U", a.U % R)
    am = [cs.private(f"A{j}", a.A[j] % R) for j in range(c)]
    salt = cs.private("salt", a.salt % R)
    return q, u, am, salt


def bind_params(cs: ConstraintSystem, shape: Shape, params: CircuitParams, model: LC,
                digest_pub: LC | None, pv: Sequence[LC]) -> None:
    """Pin the parameter wires: the model code (public mode), the key's own digest (constant
    mode) or the in-circuit Poseidon digest of [tag, model, shape, meta, params] (digest mode)."""
    if shape.params_public:
        with cs.section("model"):
            cs.assert_equal(model, params.model_code, "model code")
    elif shape.params_constant:
        with cs.section("params_digest"):        # the key is made for exactly these parameters
            cs.assert_equal(digest_pub, params.digest(), "params_digest is the key's")
            cs.assert_equal(model, params.model_code, "model code")
    else:
        with cs.section("params_digest"):
            meta = cs.private("params_meta", params.meta % R)
            head = [cs.const(PARAMS_TAG), model, *(cs.const(v) for v in shape.sizes()), meta]
            cs.assert_equal(commit_gadget(cs, head + list(pv), 0), digest_pub, "params_digest")


class ParamViews:
    """Consecutive slices of the parameter wires in :meth:`CircuitParams.vector` order."""

    def __init__(self, pv: Sequence[LC]):
        self.pv, self.pos = list(pv), 0

    def take(self, m: int) -> list[LC]:
        out = self.pv[self.pos:self.pos + m]
        self.pos += m
        return out

    def done(self) -> bool:
        return self.pos == len(self.pv)


def account_ranges(cs: ConstraintSystem, Q: Sequence[LC], U: LC, A: Sequence[LC]) -> list[LC]:
    """Range checks of one (combined) account -- Q signed 58 bits via ``relu(−Q)``, which also
    yields Q⁻; A 57 bits; U signed 92 bits -- returning Q⁻ (in the caller's section)."""
    Qm = [g.relu(cs, -Q[i], Q_BITS, name=f"Qminus{i}") for i in range(len(Q))]   # Q⁻, |Q| < 2^57
    for j in range(len(A)):
        g.range_check(cs, A[j], A_BITS, name=f"A{j}")
    g.signed_range_check(cs, U, U_BITS, name="U")
    return Qm


def equity_lc(cs: ConstraintSystem, H, V, Q, A, Qm, U) -> LC:
    """E = Σ A_c·H_c + Σ Q_i·V_i − Σ Q_i⁻ + U (in the caller's section)."""
    return _dot(cs, A, H, "AH") + _dot(cs, Q, V, "QV") - sum(Qm, cs.const(0)) + U


def requirement_lc(cs: ConstraintSystem, shape: Shape, Q, Qm, views: ParamViews) -> tuple[LC, dict]:
    """The model's requirement REQ from the parameter views after H and V (caller's section)."""
    n, G, S = shape.instruments, shape.groups, shape.scenarios
    take = views.take
    if shape.family == "worst_case":
        base = (take(n * G), take(n * S), take(n), take(n))
        if not shape.pairs:
            return _worst_case(cs, shape, Q, Qm, *base)
        P = shape.pairs
        cr = (take(n), take(G), take(G), take(P * G), take(P * G), take(P), take(1)[0])
        return _worst_case(cs, shape, Q, Qm, *base, credits=cr)
    if shape.family == "es":
        return _es(cs, shape, Q, Qm, take(n * S), take(1)[0], take(1)[0])
    if shape.family == "quantile":
        return _quantile(cs, shape, Q, Qm, take(n * S), take(1)[0], take(1)[0])
    return _var(cs, shape, Q, Qm, take(n * G), take(n), take(G * G), take(1)[0], take(1)[0])


def bind_context(cs: ConstraintSystem, values: Sequence[tuple[LC, str]], buffer: LC) -> None:
    """Keep each context public input inside a constraint (x·x) and prove 1 ≤ buffer ≤ 2^24
    (a zero buffer would reduce any claim to E ≥ 0). Caller opens the ``context`` section."""
    for x, nm in values:
        cs.mul(x, x, f"{nm}_sq")
    g.range_check(cs, buffer - 1, BUFFER_BITS, name="buffer_bps")


def build_solvency_circuit(shape: Shape, params: CircuitParams, accounts: Sequence[Account],
                           ctx: Context) -> SolvencyCircuit:
    """Build constraints and honest witness. Structure depends on ``shape`` only, so a build
    with dummy values (:func:`dummy_inputs`) gives the circuit for the key setup."""
    if len(accounts) != shape.accounts:
        raise ParameterError(f"shape has {shape.accounts} accounts, got {len(accounts)}")
    n, c = shape.instruments, shape.assets
    cs = ConstraintSystem(f"solvency-{shape.family}")
    vec = params.vector()

    # ---- public inputs ---------------------------------------------------------------------
    model = cs.public("model", ctx.model)
    buffer = cs.public("buffer_bps", ctx.buffer_bps)
    venue = cs.public("venue", ctx.venue)
    epoch = cs.public("epoch", ctx.epoch)
    nonce = cs.public("nonce", ctx.nonce)
    digest_pub = None if shape.params_public else cs.public("params_digest", params.digest())
    com_pub = [cs.public(f"commitment_{k}", a.commitment()) for k, a in enumerate(accounts)]
    kind_pub = [cs.public(f"kind_{k}", a.kind) for k, a in enumerate(accounts)]
    pv = param_wires(cs, shape, vec)

    # ---- private inputs: accounts ------------------------------------------------------------
    acct_lcs = []
    for k, a in enumerate(accounts):
        with cs.section(f"account{k}"):
            acct_lcs.append(account_wires(cs, a, n, c))

    # ---- context binding (also keeps every public input inside a constraint) ----------------
    with cs.section("context"):
        bind_context(cs, ((venue, "venue"), (epoch, "epoch"), (nonce, "nonce")), buffer)

    # ---- account kinds: a collateral account holds no positions, a positions account no collateral
    for k, (q, u, am, _) in enumerate(acct_lcs):
        with cs.section(f"kind{k}"):
            b0 = cs.hint("b0", lambda x: 1 if x == 1 else 0, kind_pub[k])
            b1 = cs.hint("b1", lambda x: 1 if x == 2 else 0, kind_pub[k])
            g.assert_bool(cs, b0, "b0")
            g.assert_bool(cs, b1, "b1")
            cs.assert_mul(b0, b1, 0, "not both")
            cs.assert_equal(b0 + b1 * 2, kind_pub[k], "kind = b0 + 2 b1")
            for i in range(n):
                cs.assert_mul(b1, q[i], 0, f"collateral: Q{i} = 0")
            cs.assert_mul(b1, u, 0, "collateral: U = 0")
            for j in range(c):
                cs.assert_mul(b0, am[j], 0, f"positions: A{j} = 0")

    # ---- commitments and parameter digest ------------------------------------------------------
    with cs.section("commitments"):
        for k, (q, u, am, salt) in enumerate(acct_lcs):
            cs.assert_equal(commit_gadget(cs, [*q, u, *am], salt), com_pub[k], f"commitment_{k}")
    bind_params(cs, shape, params, model, digest_pub, pv)

    # ---- parameter views ---------------------------------------------------------------------
    views = ParamViews(pv)
    H, V = views.take(c), views.take(n)

    # ---- combined account, ranges ------------------------------------------------------------
    with cs.section("account"):
        Q = [sum((a[0][i] for a in acct_lcs[1:]), acct_lcs[0][0][i]) for i in range(n)]
        U = sum((a[1] for a in acct_lcs[1:]), acct_lcs[0][1])
        A = [sum((a[2][j] for a in acct_lcs[1:]), acct_lcs[0][2][j]) for j in range(c)]
        Qm = account_ranges(cs, Q, U, A)

    with cs.section("equity"):
        E = equity_lc(cs, H, V, Q, A, Qm, U)

    with cs.section("requirement"):
        REQ, extra = requirement_lc(cs, shape, Q, Qm, views)
    assert views.done()

    with cs.section("claim"):
        gap = cs.mul(buffer, REQ, "buffer_x_req")
        g.range_check(cs, E * BPS - gap, CLAIM_BITS, name="solvency_gap")
    return SolvencyCircuit(cs, shape, public_input_names(shape, len(vec)), E, REQ, extra)


def _worst_case(cs, shape: Shape, Q, Qm, GMf, LOSSf, FLOOR, SHORT, credits=None):
    n, G, S = shape.instruments, shape.groups, shape.scenarios
    GM = [GMf[i * G:(i + 1) * G] for i in range(n)]
    LOSS = [LOSSf[i * S:(i + 1) * S] for i in range(n)]
    fq = [cs.mul(FLOOR[i], Qm[i], f"floorq{i}") for i in range(n)]
    sq = [cs.mul(SHORT[i], Qm[i], f"shortq{i}") for i in range(n)]
    if credits is not None:
        return _worst_case_credits(cs, shape, Q, Qm, GM, LOSS, fq, sq, credits)
    REQ = cs.const(0)
    ms = []
    for gi in range(G):
        with cs.section(f"group{gi}"):
            Qg = [cs.mul(GM[i][gi], Q[i], f"Qg{i}") for i in range(n)]
            slack = _dot(cs, [GM[i][gi] for i in range(n)], Qm, "slack")
            floor = _dot(cs, [GM[i][gi] for i in range(n)], fq, "floor")
            short = _dot(cs, [GM[i][gi] for i in range(n)], sq, "short")
            L = [_dot(cs, Qg, [LOSS[i][s] for i in range(n)], f"L{s}_") for s in range(S)]
            m = _signed_hint(cs, "m", lambda fl, sl, *ls: max(0, fl, max(ls) + sl), floor, slack, *L)
            g.range_check(cs, m, GAP_BITS, name="m")
            for s in range(S):
                g.range_check(cs, m - L[s] - slack, GAP_BITS, name=f"m-L{s}")
            g.range_check(cs, m - floor, GAP_BITS, name="m-floor")
            REQ = REQ + m + short
            ms.append(m)
    return REQ, {"m": ms}


#: 1/2 in the field (the pair update halves an even integer)
_INV2 = (R + 1) // 2


def _worst_case_credits(cs, shape: Shape, Q, Qm, GM, LOSS, fq, sq, credits):
    """span16 with spread credits (module docstring): scan bounds m_g, the exact tiered
    offsets, then per group the prover's credit κ_g and requirement r_g."""
    n, G, S, P = shape.instruments, shape.groups, shape.scenarios, shape.pairs
    D, PSM, CM, PGf, PHf, CR, KC = credits
    PG = [PGf[p * G:(p + 1) * G] for p in range(P)]
    PH = [PHf[p * G:(p + 1) * G] for p in range(P)]
    ms, floors, shorts, Pst, Nst = [], [], [], [], []
    for gi in range(G):
        with cs.section(f"group{gi}"):
            Qg = [cs.mul(GM[i][gi], Q[i], f"Qg{i}") for i in range(n)]
            slack = _dot(cs, [GM[i][gi] for i in range(n)], Qm, "slack")
            floor = _dot(cs, [GM[i][gi] for i in range(n)], fq, "floor")
            short = _dot(cs, [GM[i][gi] for i in range(n)], sq, "short")
            L = [_dot(cs, Qg, [LOSS[i][s] for i in range(n)], f"L{s}_") for s in range(S)]
            # m_g ≥ scan_g only: the short-option floor applies after the credit (r_g below)
            m = _signed_hint(cs, "m", lambda sl, *ls: max(0, max(ls) + sl), slack, *L)
            g.range_check(cs, m, GAP_BITS, name="m")
            for s in range(S):
                g.range_check(cs, m - L[s] - slack, GAP_BITS, name=f"m-L{s}")
            X = _dot(cs, Qg, D, "QD")                                   # Σ_{i∈g} Q_i·D_i
            Xp = g.relu(cs, X, CREDIT_X_BITS, name="X")                 # X⁺; |X| < 2^90
            Pst.append(cs.mul(PSM[gi], Xp, "P"))                        # PSM·X⁺ < 2^110
            Nst.append(cs.mul(PSM[gi], Xp - X, "N"))                    # PSM·X⁻ ≤ 10⁶·2^90 < 2^110
            ms.append(m)
            floors.append(floor)
            shorts.append(short)
    B = [cs.const(0)] * G
    offs = []
    with cs.section("spread_credits"):
        for p in range(P):
            with cs.section(f"pair{p}"):
                # α = min(P_g, N_h), β = min(N_g, P_h) for the pair's groups g, h: exact mins
                a, _, _ = g.exact_min(cs, _dot(cs, PG[p], Pst, "selPg"), _dot(cs, PH[p], Nst, "selNh"),
                                      CREDIT_PN_BITS, name="alpha")
                b, _, _ = g.exact_min(cs, _dot(cs, PG[p], Nst, "selNg"), _dot(cs, PH[p], Pst, "selPh"),
                                      CREDIT_PN_BITS, name="beta")
                o = a + b
                w = cs.mul(CR[p], o, "CR_o")
                for gi in range(G):
                    # PG·α + PH·β = (u + v)/2 and PH·α + PG·β = (u − v)/2 with
                    # u = (PG + PH)·(α + β), v = (PG − PH)·(α − β): two products instead of four
                    u = cs.mul(PG[p][gi] + PH[p][gi], o, f"u{gi}")
                    v = cs.mul(PG[p][gi] - PH[p][gi], a - b, f"v{gi}")
                    Pst[gi] = Pst[gi] - (u + v) * _INV2
                    Nst[gi] = Nst[gi] - (u - v) * _INV2
                    B[gi] = B[gi] + cs.mul(PG[p][gi] + PH[p][gi], w, f"B{gi}")
                offs.append(o)
    REQ = cs.const(0)
    kappas, rs = [], []
    for gi in range(G):
        with cs.section(f"credit{gi}"):
            m = ms[gi]
            kappa = _signed_hint(cs, "kappa", lambda mv, bv, cm: min(cm * CREDIT_SCALE * mv, bv) // CREDIT_DIV,
                                 m, B[gi], CM[gi])
            g.range_check(cs, kappa, GAP_BITS, name="kappa")
            cap = cs.mul(CM[gi], m, "CM_m")
            g.range_check(cs, cap * CREDIT_SCALE - kappa * CREDIT_DIV, CREDIT_CAP_BITS, name="cap-kappa")
            g.range_check(cs, B[gi] - kappa * CREDIT_DIV, CREDIT_B_BITS, name="B-kappa")
            r = _signed_hint(cs, "r", lambda mv, kv, fl: max(mv - kv, fl), m, kappa, floors[gi])
            g.range_check(cs, r, GAP_BITS, name="r")
            g.range_check(cs, r - m + kappa, GAP_BITS, name="r-m+kappa")
            g.range_check(cs, r - floors[gi], GAP_BITS, name="r-floor")
            REQ = REQ + r + shorts[gi]
            kappas.append(kappa)
            rs.append(r)
    with cs.section("credit_slack"):
        absq = sum((Q[i] + Qm[i] * 2 for i in range(n)), cs.const(0))     # |Q| = Q + 2·Q⁻
        REQ = REQ + cs.mul(KC, absq, "KC_absQ")
    return REQ, {"m": ms, "kappa": kappas, "r": rs, "offsets": offs, "B": B}


def _es(cs, shape: Shape, Q, Qm, LOSSf, a, b):
    n, S = shape.instruments, shape.scenarios
    slack = sum(Qm, cs.const(0))
    L = [_dot(cs, Q, [LOSSf[i * S + s] for i in range(n)], f"L{s}_") + slack for s in range(S)]

    def best_t(av, bv, *ls):
        if not 0 < av * S:
            return 0
        j = min(av * S // bv + 1, S) if bv > 0 else S
        return sorted(ls, reverse=True)[j - 1]

    t = _signed_hint(cs, "t", best_t, a, b, *L)
    g.signed_range_check(cs, t, ES_BITS, name="t")
    # u_s = max(L_s − t, 0) exactly: one signed range check of L_s − t per scenario (relu)
    us = [g.relu(cs, L[s] - t, ES_BITS + 1, name=f"u{s}") for s in range(S)]
    usum = sum(us, cs.const(0))

    def es_value(av, bv, tv, su):
        aN = av * S
        if aN <= 0:
            return 0
        total = aN * tv + bv * su
        return max(0, -((-total) // aN))

    C = _signed_hint(cs, "C", es_value, a, b, t, usum)
    g.range_check(cs, C, GAP_BITS, name="C")
    lhs = cs.mul(a, C - t, "a_C_minus_t")
    rhs = cs.mul(b, usum, "b_sum_u")
    g.range_check(cs, lhs * S - rhs, CLAIM_BITS, name="RU_bound")
    return C, {"t": t, "C": C}


#: scenario VaR: |C − L_s| < 2^QUANTILE_W for C < 2^100 and |L_s| < 2^100
QUANTILE_W = 101
RANK_BITS = 13           # Σ β_s ≤ S ≤ 4096 < 2^13


def _quantile(cs, shape: Shape, Q, Qm, LOSSf, a, b):
    n, S = shape.instruments, shape.scenarios
    slack = sum(Qm, cs.const(0))
    L = [_dot(cs, Q, [LOSSf[i * S + s] for i in range(n)], f"L{s}_") + slack for s in range(S)]
    # k = ⌊a·S/b⌋ = j − 1 excused scenarios (a·S < 2^22, 1 ≤ b < 2^10, checked by the verifier
    # and range-checked again by the division)
    k, _ = g.floor_div(cs, a * S, b, 22, 10, name="rank")

    def var_value(av, bv, *ls):
        j = min(av * S // bv + 1, S) if bv > 0 else S
        return max(0, sorted(ls, reverse=True)[j - 1])

    C = _signed_hint(cs, "C", var_value, a, b, *L)
    g.range_check(cs, C, GAP_BITS, name="C")
    betas = []
    for s in range(S):
        beta = _signed_hint(cs, f"beta{s}", lambda cv, lv: 1 if lv > cv else 0, C, L[s])
        g.assert_bool(cs, beta, f"beta{s} boolean")
        g.range_check(cs, C - L[s] + beta * (1 << QUANTILE_W), QUANTILE_W + 1, name=f"C-L{s}")
        betas.append(beta)
    g.range_check(cs, k - sum(betas, cs.const(0)), RANK_BITS, name="excused<=k")
    return C, {"C": C, "k": k, "beta": betas}


def _var(cs, shape: Shape, Q, Qm, GMf, D, Kf, KN, KQ):
    n, G = shape.instruments, shape.groups
    GM = [GMf[i * G:(i + 1) * G] for i in range(n)]
    QD = [cs.mul(Q[i], D[i], f"QD{i}") for i in range(n)]
    off = MONEY * (1 << 44)
    deltas = []
    for u in range(G):
        X = _dot(cs, [GM[i][u] for i in range(n)], QD, f"X{u}_")
        q, _ = g.div_const(cs, X + MONEY // 2 + off, MONEY, 110, name=f"delta{u}")
        deltas.append(q - (1 << 44))
    y = [_dot(cs, Kf[u * G:(u + 1) * G], deltas, f"Kd{u}_") for u in range(G)]
    quad = _dot(cs, deltas, y, "quad")

    def c0_value(qv):
        if qv <= 0:
            return 0
        need = -((-qv) // PS)
        from math import isqrt
        r = isqrt(need)
        return r if r * r >= need else r + 1

    C0 = _signed_hint(cs, "C0", c0_value, quad)
    g.range_check(cs, C0, 64, name="C0")
    c2 = cs.mul(C0, C0, "C0sq")
    g.range_check(cs, c2 * PS - quad, CLAIM_BITS, name="C0sq_PS-quad")
    absq = sum((Q[i] + Qm[i] * 2 for i in range(n)), cs.const(0))     # |Q| = Q + 2·Q⁻
    REQ = C0 * MONEY + KN + cs.mul(KQ, absq, "KQ_absQ")
    return REQ, {"C0": C0, "delta": deltas}


def dummy_inputs(shape: Shape, model: str | None = None) -> tuple[CircuitParams, list[Account], Context]:
    """All-zero inputs of the right sizes (for building the setup circuit)."""
    model = model or default_model(shape.family)
    n, c, G, S = shape.instruments, shape.assets, shape.groups, shape.scenarios
    p = CircuitParams(model, shape, H=(0,) * c, V=(0,) * n,
                      GM=tuple((0,) * G for _ in range(n)) if shape.family in ("worst_case", "var") else (),
                      LOSS=tuple((0,) * S for _ in range(n)) if shape.family != "var" else (),
                      FLOOR=(0,) * n if shape.family == "worst_case" else (),
                      SHORT=(0,) * n if shape.family == "worst_case" else (),
                      a=1 if shape.family in ("es", "quantile") else 0,
                      b=2 if shape.family in ("es", "quantile") else 0,
                      D=(0,) * n if shape.family == "var" or shape.pairs else (),
                      K=tuple((0,) * G for _ in range(G)) if shape.family == "var" else (),
                      PSM=(0,) * G if shape.pairs else (), CM=(0,) * G if shape.pairs else (),
                      PG=tuple((0,) * G for _ in range(shape.pairs)), PH=tuple((0,) * G for _ in range(shape.pairs)),
                      CR=(0,) * shape.pairs)
    accts = [Account((0,) * n, 0, (0,) * c, 0) for _ in range(shape.accounts)]
    return p, accts, Context(MODEL_CODES[model], 1, 0, 0, 0)
