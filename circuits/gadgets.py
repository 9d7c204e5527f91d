"""Sound arithmetic gadgets on top of :mod:`zkmargin.circuits.builder`.

Every function takes the constraint system first and returns LCs.  Each gadget opens a section
named after itself (``range_check``, ``less_than``, ...), so ``cs.report()`` counts constraints
per gadget and a failing constraint names the gadget and the signal, e.g.
``margin/range_check/collateral.b17 boolean``.

Soundness rules this module enforces (docs/PITFALLS.md #1-#5):

* **Bounds are proven, never assumed.**  A value is "k-bit" only once constraints force
  ``0 <= x < 2^k`` as integers (a bit decomposition with k <= 253, so the decomposition is
  unique because ``2^253 < r``).  The constraint system remembers which LCs are proven bounded
  (``cs.known_bits``); comparisons, division and bounded sums *range-check their inputs
  themselves* unless a bound at least as tight is already proven -- there is no way to call
  them on an unbounded input.
* **Negative numbers wrap.**  ``-1`` is ``r - 1``.  Signed values are checked with an explicit
  two's-complement width (:func:`signed_range_check`); differences that must be ``>= 0`` are
  range-checked (:func:`assert_less_equal`).
* **No overflow.**  Widths are checked at build time so that no intermediate integer reaches r
  (e.g. ``n * 2^bits < r`` for sums, ``a_bits + b_bits + 1 <= 253`` for division).
* **Every hint is pinned** by the constraints right after it.

Constraint costs (measured; "proven" = inputs already range-checked, else add n + 1 per input):

    assert_bool                      1
    to_bits n (n <= 253)             n + 1          to_bits 254 (with < r)     508
    range_check / signed n           n + 1          assert_in_range [lo, hi]   2 (k + 1), k = bitlen(hi - lo)
    less_than / less_equal n         n + 2          (64 bits, inputs unproven: 196)
    assert_less_than / _equal n      n + 1
    is_zero / is_equal               2              assert_nonzero             1
    select                           1 (+1 if the flag is not yet proven boolean)
    max_ / min_ n                    n + 3          relu n (signed)            n + 2
    exact_min n (inputs unproven)    2 (n + 1) + 1  (returns min and both remainders, proven n-bit)
    floor_div / ceil_div 64 / 32     230 (unproven inputs; 132 if proven)
    div_const 64 / 10^6              154 (q 46, rem 42, a 65, equation 1)
    sum_bounded, pack                0 beyond the terms' range checks
"""

from __future__ import annotations

from typing import Sequence

from zkmargin.algebra.constants import R
from zkmargin.circuits.builder import LC, ConstraintSystem, Term, to_signed

__all__ = [
    "MAX_BITS", "assert_bool", "to_bits", "from_bits", "assert_bits_le_const", "range_check",
    "signed_range_check", "assert_in_range", "less_than", "less_equal", "assert_less_than",
    "assert_less_equal", "is_zero", "is_equal", "assert_nonzero", "select", "floor_div",
    "ceil_div", "div_const", "max_", "min_", "exact_min", "relu", "sum_bounded", "pack",
]

#: Widest decomposition that is unique without an extra check: 2^253 < r < 2^254.
MAX_BITS = 253
#: Widest input of a comparison: the difference needs one more bit.
MAX_CMP_BITS = MAX_BITS - 1
#: r has 254 bits
FIELD_BITS = R.bit_length()


def _label(cs: ConstraintSystem, x: LC, name: str | None) -> str:
    """A short name for gadget signals: explicit, else the signal's own last name component."""
    if name:
        return name
    if len(x.terms) == 1:
        (k, c), = x.terms.items()
        if k and c == 1:
            return cs.names[k].rsplit("/", 1)[-1]
    return "lc"


# ---------------------------------------------------------------------------------------------
# Booleans and bits
# ---------------------------------------------------------------------------------------------


def assert_bool(cs: ConstraintSystem, x: Term, label: str = "boolean") -> LC:
    """Constrain ``x ∈ {0, 1}`` via ``x * (x − 1) = 0`` (1 constraint).  Returns ``x``."""
    x = cs.lc(x)
    if cs.known_bits(x) is not None and cs.known_bits(x) <= 1:
        return x
    cs.assert_mul(x, x - 1, 0, label)
    cs._record_bits(x, 1)
    return x


def from_bits(cs: ConstraintSystem, bits: Sequence[Term]) -> LC:
    """``sum_i bits[i] * 2^i`` (little-endian; free)."""
    terms: dict[int, int] = {}
    for i, b in enumerate(bits):
        for k, c in cs.lc(b).terms.items():
            v = (terms.get(k, 0) + c * (1 << i)) % R
            if v:
                terms[k] = v
            else:
                terms.pop(k, None)
    return LC(cs, terms)


def to_bits(cs: ConstraintSystem, x: Term, n: int, name: str | None = None) -> list[LC]:
    """Little-endian bits ``b_0 .. b_{n-1}`` of ``x`` with ``x = sum b_i 2^i``.

    Constraints: n booleans + 1 sum.  For ``n <= 253`` the decomposition is unique and proves
    ``0 <= x < 2^n``.  ``n = 254`` (the full field) adds :func:`assert_bits_le_const` with
    ``r − 1`` so that ``x`` and ``x + r`` cannot both decompose (docs/PITFALLS.md #2).
    """
    if not 0 <= n <= FIELD_BITS:
        raise ValueError(f"bit width must be in [0, {FIELD_BITS}], got {n}")
    x = cs.lc(x)
    label = _label(cs, x, name)
    with cs.section("to_bits"):
        bits = cs.hints([f"{label}.b{i}" for i in range(n)],
                        lambda v: [(v >> i) & 1 for i in range(n)], x)
        cs._assert_fresh_bits_boolean(bits, label)      # b_i * (b_i − 1) = 0 for each i
        cs.assert_equal(from_bits(cs, bits), x, f"{label} = sum of bits")
        if n == FIELD_BITS:
            assert_bits_le_const(cs, bits, R - 1, name=f"{label} < r")
    if n <= MAX_BITS:
        cs._record_bits(x, n)
    return bits


def assert_bits_le_const(cs: ConstraintSystem, bits: Sequence[LC], c: int, name: str = "le_const") -> None:
    """Constrain ``sum bits_i 2^i <= c`` for boolean-constrained ``bits`` and a constant ``c >= 0``.

    Scan from the most significant bit keeping ``eq`` = "the bits above equal c's bits"
    (a product of the bits where c has a 1).  Where c has a 0, ``eq * b_i = 0``: while the
    prefix still equals c the bit must be 0, otherwise x would exceed c at its first difference.
    If the scan ends equal, x = c.  Cost: one constraint per bit of c below its top bit (roughly).
    """
    n = len(bits)
    if c < 0:
        raise ValueError("constant must be non-negative")
    if c >= (1 << n) - 1:
        return  # every n-bit value is <= c
    with cs.section("le_const"):
        zero_positions = [i for i in range(n) if not (c >> i) & 1]
        lowest_zero = min(zero_positions)
        eq: LC | None = None    # None: the (empty) prefix is equal, i.e. eq = 1
        for i in range(n - 1, lowest_zero - 1, -1):
            if (c >> i) & 1:
                eq = bits[i] if eq is None else cs.mul(eq, bits[i], f"{name}.eq{i}")
            elif eq is None:
                cs.assert_zero(bits[i], f"{name}: bit {i} must be 0")
            else:
                cs.assert_mul(eq, bits[i], 0, f"{name}: bit {i} must be 0 while equal")


# ---------------------------------------------------------------------------------------------
# Ranges
# ---------------------------------------------------------------------------------------------


def range_check(cs: ConstraintSystem, x: Term, bits: int, name: str | None = None) -> LC:
    """Constrain ``0 <= x < 2^bits`` (integers; bits <= 253).  ``bits + 1`` constraints, or none
    if an equal or tighter bound is already proven.  Returns ``x``.

    Read as a *signed* quantity this proves ``x >= 0`` only for ``bits <= 252``: the field
    element of a negative ``−k`` is ``r − k``, which is below ``2^253`` once ``k > r − 2^253``.
    """
    if not 0 <= bits <= MAX_BITS:
        raise ValueError(f"range width must be in [0, {MAX_BITS}], got {bits}")
    x = cs.lc(x)
    if x.is_constant():
        if x.constant_value() >> bits:
            raise ValueError(f"constant {x.constant_value()} does not fit in {bits} bits")
        return x
    known = cs.known_bits(x)
    if known is not None and known <= bits:
        return x
    with cs.section("range_check"):
        to_bits(cs, x, bits, name=_label(cs, x, name))
    return x


def _ensure_bits(cs: ConstraintSystem, x: LC, bits: int, name: str | None = None) -> None:
    known = cs.known_bits(x)
    if known is None or known > bits:
        range_check(cs, x, bits, name)


def signed_range_check(cs: ConstraintSystem, x: Term, bits: int, name: str | None = None) -> LC:
    """Constrain ``−2^(bits−1) <= x < 2^(bits−1)`` (two's-complement width ``bits``)."""
    if not 1 <= bits <= MAX_BITS:
        raise ValueError(f"signed width must be in [1, {MAX_BITS}], got {bits}")
    x = cs.lc(x)
    with cs.section("signed_range"):
        range_check(cs, x + (1 << (bits - 1)), bits, name=_label(cs, x, name) + "+offset")
    return x


def assert_in_range(cs: ConstraintSystem, x: Term, lo: int, hi: int, name: str | None = None) -> LC:
    """Constrain ``lo <= x <= hi`` for integers ``lo <= hi`` (may be negative).

    With ``k = bitlen(hi − lo)``: ``x − lo`` and ``hi − x`` both in ``[0, 2^k)``.  If x were out of
    range one of them would be negative, i.e. ``>= r − 2^k``, which does not fit in k bits.
    """
    if lo > hi:
        raise ValueError("empty range")
    k = (hi - lo).bit_length()
    if k > MAX_CMP_BITS:
        raise ValueError("range too wide")
    x = cs.lc(x)
    label = _label(cs, x, name)
    with cs.section("in_range"):
        range_check(cs, x - lo, k, name=f"{label}-lo")
        if hi - lo + 1 != 1 << k:
            range_check(cs, cs.const(hi) - x, k, name=f"hi-{label}")
    if lo >= 0:
        cs._record_bits(x, hi.bit_length())
    return x


# ---------------------------------------------------------------------------------------------
# Comparisons (inputs are range-checked to `bits` unless already proven)
# ---------------------------------------------------------------------------------------------


def _check_cmp_bits(bits: int) -> None:
    if not 1 <= bits <= MAX_CMP_BITS:
        raise ValueError(f"comparison width must be in [1, {MAX_CMP_BITS}], got {bits}")


def less_than(cs: ConstraintSystem, a: Term, b: Term, bits: int, name: str = "lt") -> LC:
    """Boolean ``[a < b]`` for ``a, b ∈ [0, 2^bits)`` (enforced here).

    ``d = a − b + 2^bits`` lies in ``[1, 2^(bits+1))``; decompose it into ``bits + 1`` bits; its
    top bit is 1 iff ``a >= b``.  Cost ``bits + 2`` plus any input range checks.
    """
    _check_cmp_bits(bits)
    a, b = cs.lc(a), cs.lc(b)
    with cs.section("less_than"):
        _ensure_bits(cs, a, bits)
        _ensure_bits(cs, b, bits)
        d_bits = to_bits(cs, a - b + (1 << bits), bits + 1, name=f"{name}.diff")
        lt = 1 - d_bits[bits]
    cs._record_bits(lt, 1)
    return lt


def less_equal(cs: ConstraintSystem, a: Term, b: Term, bits: int, name: str = "le") -> LC:
    """Boolean ``[a <= b] = 1 − [b < a]`` for ``a, b ∈ [0, 2^bits)`` (enforced)."""
    le = 1 - less_than(cs, b, a, bits, name=name)
    cs._record_bits(le, 1)
    return le


def assert_less_than(cs: ConstraintSystem, a: Term, b: Term, bits: int, name: str = "lt") -> None:
    """Constrain ``a < b`` for ``a, b ∈ [0, 2^bits)`` (enforced): ``b − a − 1 ∈ [0, 2^bits)``.

    If ``a >= b`` then ``b − a − 1 ∈ [−2^bits, −1]``, i.e. ``>= r − 2^bits``: not ``bits``-bit.
    """
    _check_cmp_bits(bits)
    a, b = cs.lc(a), cs.lc(b)
    with cs.section("assert_lt"):
        _ensure_bits(cs, a, bits)
        _ensure_bits(cs, b, bits)
        range_check(cs, b - a - 1, bits, name=f"{name}.gap")


def assert_less_equal(cs: ConstraintSystem, a: Term, b: Term, bits: int, name: str = "le") -> None:
    """Constrain ``a <= b`` for ``a, b ∈ [0, 2^bits)`` (enforced): ``b − a ∈ [0, 2^bits)``."""
    _check_cmp_bits(bits)
    a, b = cs.lc(a), cs.lc(b)
    with cs.section("assert_le"):
        _ensure_bits(cs, a, bits)
        _ensure_bits(cs, b, bits)
        range_check(cs, b - a, bits, name=f"{name}.gap")


# ---------------------------------------------------------------------------------------------
# Zero tests and selection
# ---------------------------------------------------------------------------------------------


def is_zero(cs: ConstraintSystem, x: Term, name: str = "isz") -> LC:
    """Boolean ``[x = 0]``: hints ``out``, ``inv``; constraints ``x·inv = 1 − out`` and ``x·out = 0``.

    If x ≠ 0 the second forces out = 0, then the first forces inv = 1/x.  If x = 0 the first
    forces out = 1 (inv is then genuinely free and irrelevant).  2 constraints.
    """
    x = cs.lc(x)
    with cs.section("is_zero"):
        out = cs.hint(f"{name}.out", lambda v: 1 if v == 0 else 0, x)
        inv = cs.hint(f"{name}.inv", lambda v: pow(v, -1, R) if v else 0, x)
        cs.assert_mul(x, inv, 1 - out, f"{name}: x*inv = 1 - out")
        cs.assert_mul(x, out, 0, f"{name}: x*out = 0")
    cs._record_bits(out, 1)
    return out


def is_equal(cs: ConstraintSystem, a: Term, b: Term, name: str = "eq") -> LC:
    """Boolean ``[a = b]`` (2 constraints)."""
    return is_zero(cs, cs.lc(a) - cs.lc(b), name=name)


def assert_nonzero(cs: ConstraintSystem, x: Term, name: str = "nz") -> None:
    """Constrain ``x ≠ 0`` by exhibiting its inverse (1 constraint)."""
    x = cs.lc(x)
    with cs.section("nonzero"):
        inv = cs.hint(f"{name}.inv", lambda v: pow(v, -1, R) if v else 0, x)
        cs.assert_mul(x, inv, 1, f"{name}: x*inv = 1")


def select(cs: ConstraintSystem, flag: Term, a: Term, b: Term, name: str = "sel") -> LC:
    """``flag ? a : b`` = ``b + flag·(a − b)``; ``flag`` is constrained boolean (if not already).

    1 constraint (+1 for the boolean check); free if ``a − b`` is constant and flag known boolean.
    """
    flag, a, b = cs.lc(flag), cs.lc(a), cs.lc(b)
    with cs.section("select"):
        assert_bool(cs, flag, f"{name}.flag boolean")
        out = b + cs.mul(flag, a - b, f"{name}.t")
    kb_a, kb_b = cs.known_bits(a), cs.known_bits(b)
    if kb_a is not None and kb_b is not None:
        cs._record_bits(out, max(kb_a, kb_b))
    return out


# ---------------------------------------------------------------------------------------------
# Division
# ---------------------------------------------------------------------------------------------


def _div(cs: ConstraintSystem, a: LC, b: LC, a_bits: int, b_bits: int, ceil: bool,
         name: str) -> tuple[LC, LC]:
    if not (1 <= a_bits and 1 <= b_bits and a_bits + b_bits + 1 <= MAX_BITS):
        raise ValueError(f"need a_bits + b_bits + 1 <= {MAX_BITS} so q*b + rem cannot wrap")
    _ensure_bits(cs, a, a_bits, f"{name}.a")
    _ensure_bits(cs, b, b_bits, f"{name}.b")

    def hint(av: int, bv: int) -> tuple[int, int]:
        if bv == 0:
            return 0, 0               # no valid witness exists; rem < b will fail
        q, rem = divmod(av, bv)
        if ceil and rem:
            return q + 1, bv - rem
        return q, rem

    q, rem = cs.hints([f"{name}.q", f"{name}.rem" if not ceil else f"{name}.slack"], hint, a, b)
    range_check(cs, q, a_bits, name=f"{name}.q")          # q <= a < 2^a_bits
    assert_less_than(cs, rem, b, b_bits, name=f"{name}.rem<b")   # 0 <= rem < b (so b >= 1)
    # floor: q*b = a − rem ; ceil: q*b = a + slack
    cs.assert_mul(q, b, a + rem if ceil else a - rem, f"{name}: q*b = a {'+' if ceil else '-'} rem")
    return q, rem


def floor_div(cs: ConstraintSystem, a: Term, b: Term, a_bits: int, b_bits: int,
              name: str = "div") -> tuple[LC, LC]:
    """``(q, rem)`` with ``a = q·b + rem``, ``0 <= rem < b`` (strict), ``0 <= q < 2^a_bits``.

    Inputs: ``a ∈ [0, 2^a_bits)``, ``b ∈ [1, 2^b_bits)`` (range-checked here unless proven).
    All integers stay below ``2^(a_bits + b_bits + 1) <= 2^253 < r``, so the field equation
    is the integer equation.  Cost: ``a_bits + 1`` (q) + ``b_bits + 1`` (rem) + ``b_bits + 1``
    (rem < b) + 1, plus input range checks.
    """
    a, b = cs.lc(a), cs.lc(b)
    with cs.section("floor_div"):
        return _div(cs, a, b, a_bits, b_bits, False, name)


def ceil_div(cs: ConstraintSystem, a: Term, b: Term, a_bits: int, b_bits: int,
             name: str = "cdiv") -> tuple[LC, LC]:
    """``(q, slack)`` with ``q·b = a + slack``, ``0 <= slack < b``: ``q = ceil(a / b)``.

    For conservative rounding of losses and margins (round up).  Same bounds and cost as
    :func:`floor_div`.
    """
    a, b = cs.lc(a), cs.lc(b)
    with cs.section("ceil_div"):
        return _div(cs, a, b, a_bits, b_bits, True, name)


def div_const(cs: ConstraintSystem, a: Term, d: int, a_bits: int, *, ceil: bool = False,
              name: str = "divc") -> tuple[LC, LC]:
    """Division by a constant ``d >= 1``: ``(q, rem)`` with ``a = q·d + rem``, ``0 <= rem < d``
    (or ``q·d = a + rem`` with ``ceil=True``).  The product is linear, so the cost is just the
    range checks of q (``bitlen((2^a_bits − 1)/d) + 1``) and rem (``bitlen(d − 1) + 1``, twice if
    d is not a power of two), plus ``a``'s range check if not yet proven."""
    if d < 1:
        raise ValueError("divisor must be a positive constant")
    if not 1 <= a_bits <= MAX_CMP_BITS:
        raise ValueError(f"a_bits must be in [1, {MAX_CMP_BITS}]")
    a = cs.lc(a)
    q_max = ((1 << a_bits) - 1 + (d - 1 if ceil else 0)) // d
    with cs.section("div_const"):
        _ensure_bits(cs, a, a_bits, f"{name}.a")

        def hint(av: int) -> tuple[int, int]:
            q, rem = divmod(av, d)
            if ceil and rem:
                return q + 1, d - rem
            return q, rem

        q, rem = cs.hints([f"{name}.q", f"{name}.rem"], hint, a)
        range_check(cs, q, q_max.bit_length(), name=f"{name}.q")
        assert_in_range(cs, rem, 0, d - 1, name=f"{name}.rem")
        cs.assert_equal(q * d, a + rem if ceil else a - rem, f"{name}: q*d = a {'+' if ceil else '-'} rem")
    return q, rem


# ---------------------------------------------------------------------------------------------
# Max / min / relu / sums / packing
# ---------------------------------------------------------------------------------------------


def max_(cs: ConstraintSystem, a: Term, b: Term, bits: int, name: str = "max") -> LC:
    """``max(a, b)`` for ``a, b ∈ [0, 2^bits)`` (enforced).  Cost ``bits + 3`` + input checks."""
    with cs.section("max"):
        lt = less_than(cs, a, b, bits, name=name)
        return select(cs, lt, b, a, name=name)


def min_(cs: ConstraintSystem, a: Term, b: Term, bits: int, name: str = "min") -> LC:
    """``min(a, b)`` for ``a, b ∈ [0, 2^bits)`` (enforced)."""
    with cs.section("min"):
        lt = less_than(cs, a, b, bits, name=name)
        return select(cs, lt, a, b, name=name)


def exact_min(cs: ConstraintSystem, a: Term, b: Term, bits: int, name: str = "xmin") -> tuple[LC, LC, LC]:
    """``(m, a − m, b − m)`` with ``m = min(a, b)`` exactly, for integers ``a, b ∈ [0, 2^bits)``.

    The caller vouches that ``a`` and ``b`` are such integers (e.g. remainders returned by an
    earlier call, or products of range-checked values and verifier-checked parameters); the
    inputs are *not* range-checked here, which is what makes the gadget cheap to chain.

    Hint ``m``; constraints ``a − m ∈ [0, 2^bits)``, ``b − m ∈ [0, 2^bits)`` (bit
    decompositions) and ``(a − m)·(b − m) = 0``. The product forces ``m = a`` or ``m = b`` (a
    field has no zero divisors); if ``m = a`` the second range check says ``b − a`` is an
    integer in ``[0, 2^bits)`` -- since ``|b − a| < 2^bits`` and ``2^(bits+1) < r`` this means
    ``b ≥ a`` -- so ``m = min(a, b)``; symmetrically for ``m = b``. No other value satisfies the
    three constraints, and both remainders come back proven ``bits`` wide (so they can feed the
    next call). Cost ``2·(bits + 1) + 1``.
    """
    if not 1 <= bits <= MAX_CMP_BITS:
        raise ValueError(f"width must be in [1, {MAX_CMP_BITS}], got {bits}")
    a, b = cs.lc(a), cs.lc(b)
    with cs.section("exact_min"):
        m = cs.hint(f"{name}.min", lambda x, y: x if to_signed(x) <= to_signed(y) else y, a, b)
        ra, rb = a - m, b - m
        range_check(cs, ra, bits, name=f"{name}.a-min")
        range_check(cs, rb, bits, name=f"{name}.b-min")
        cs.assert_mul(ra, rb, 0, f"{name}: (a-min)(b-min) = 0")
    return m, ra, rb


def relu(cs: ConstraintSystem, x: Term, bits: int, name: str = "relu") -> LC:
    """``max(x, 0)`` for a signed ``x ∈ [−2^(bits−1), 2^(bits−1))`` (enforced).

    Decompose ``x + 2^(bits−1)`` into ``bits`` bits (this is the signed range check); the top bit
    is ``[x >= 0]``; the result is ``top · x``, proven to fit in ``bits − 1`` bits.
    Cost ``bits + 2``.
    """
    if not 2 <= bits <= MAX_BITS:
        raise ValueError(f"signed width must be in [2, {MAX_BITS}]")
    x = cs.lc(x)
    with cs.section("relu"):
        b = to_bits(cs, x + (1 << (bits - 1)), bits, name=f"{name}.offset")
        out = cs.mul(b[bits - 1], x, f"{name}.out")
    cs._record_bits(out, bits - 1)
    return out


def sum_bounded(cs: ConstraintSystem, terms: Sequence[Term], bits: int, name: str = "sum") -> LC:
    """``sum(terms)`` of values each in ``[0, 2^bits)`` (range-checked here unless proven).

    Asserts at build time that ``n · (2^bits − 1) < r`` -- the integer sum cannot wrap -- and
    records the proven width ``bitlen(n · (2^bits − 1))`` of the result, so it can feed a
    comparison without another range check.
    """
    n = len(terms)
    top = n * ((1 << bits) - 1)
    if top >= R or top.bit_length() > MAX_BITS:
        raise ValueError(f"{n} terms of {bits} bits can overflow the field")
    acc = cs.const(0)
    with cs.section("sum_bounded"):
        for i, t in enumerate(terms):
            t = cs.lc(t)
            _ensure_bits(cs, t, bits, f"{name}[{i}]")
            acc = acc + t
    if n:
        cs._record_bits(acc, top.bit_length())
    return acc


def pack(cs: ConstraintSystem, values: Sequence[Term], widths: Sequence[int], name: str = "pack") -> LC:
    """Pack values into one field element, slot i at bit offset ``sum(widths[:i])``.

    Each slot is range-checked to its width (else values could slide between slots under the
    same packed value, docs/PITFALLS.md #5); the total width must be <= 253.
    """
    if len(values) != len(widths):
        raise ValueError("one width per value")
    if sum(widths) > MAX_BITS:
        raise ValueError(f"packed width {sum(widths)} exceeds {MAX_BITS} bits")
    acc = cs.const(0)
    off = 0
    with cs.section("pack"):
        for i, (v, w) in enumerate(zip(values, widths)):
            v = cs.lc(v)
            _ensure_bits(cs, v, w, f"{name}[{i}]")
            acc = acc + v * (1 << off)
            off += w
    cs._record_bits(acc, off)
    return acc
