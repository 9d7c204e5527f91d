"""Gadget soundness: honest witnesses satisfy, malicious ones fail (docs/PITFALLS.md #1-#5).

A malicious prover is played with ``cs.solve(inputs, overrides={signal: value})``: the named hint
results are replaced and every later value is recomputed from them, as a cheater would.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkmargin.algebra.constants import R
from zkmargin.circuits import gadgets as g
from zkmargin.circuits.builder import ConstraintSystem, WitnessTampering

FAST = settings(max_examples=40, deadline=None)


def survivors(cs: ConstraintSystem, *, inputs: bool = True) -> list:
    """Single-value mutations of the current honest witness that still satisfy everything.

    ``inputs=False`` mutates only the gadget's internal signals (an input that the gadget
    ignores, like the unselected branch of a select, is genuinely free)."""
    t = WitnessTampering(cs.to_r1cs(), cs.witness())
    return t.survivors() if inputs else t.survivors(t.intermediate_wires())


def failing_sections(cs: ConstraintSystem, w: list[int]) -> set[str]:
    return {f.name for f in cs.check(w)}


def bit_overrides(prefix: str, value: int, n: int) -> dict[str, int]:
    return {f"{prefix}.b{i}": (value >> i) & 1 for i in range(n)}


# ---------------------------------------------------------------------------------------------
# booleans and bits
# ---------------------------------------------------------------------------------------------


def test_assert_bool():
    for v, ok in [(0, True), (1, True), (2, False), (-1, False), (R // 2, False)]:
        cs = ConstraintSystem()
        g.assert_bool(cs, cs.private("f", v))
        assert (cs.check() == []) is ok, v
    cs = ConstraintSystem()
    f = cs.private("f", 1)
    g.assert_bool(cs, f)
    g.assert_bool(cs, f)                    # already proven: no second constraint
    assert len(cs.constraints) == 1


@FAST
@given(st.integers(1, 253).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, 2**n - 1))))
def test_to_bits_honest(nv):
    n, v = nv
    cs = ConstraintSystem()
    bits = g.to_bits(cs, cs.private("x", v), n)
    assert [b.value for b in bits] == [(v >> i) & 1 for i in range(n)]
    assert cs.check() == [] and len(cs.constraints) == n + 1
    assert cs.known_bits(cs.lc(cs.private("y", 0)) * 0 + bits[0]) == 1


def test_to_bits_exhaustive_small_width_is_unique():
    """Width 3: for every x in [-3, 10] and every bit pattern, satisfied iff pattern == bin(x)."""
    for x in range(-3, 11):
        cs = ConstraintSystem()
        g.to_bits(cs, cs.private("x", 0), 3)
        for pattern in range(8):
            w = cs.solve({"x": x}, overrides=bit_overrides("to_bits/x", pattern, 3))
            assert (cs.check(w) == []) == (pattern == x), (x, pattern)


def test_to_bits_non_boolean_bits_fail():
    cs = ConstraintSystem()
    g.to_bits(cs, cs.private("x", 3), 2)
    w = cs.solve(overrides={"to_bits/x.b0": 3, "to_bits/x.b1": 0})   # 3 + 0 = 3, but b0 = 3
    assert failing_sections(cs, w) == {"to_bits/x.b0 boolean"}
    w = cs.solve(overrides={"to_bits/x.b0": 1 - 2, "to_bits/x.b1": 2})  # -1 + 4 = 3
    assert failing_sections(cs, w) == {"to_bits/x.b0 boolean", "to_bits/x.b1 boolean"}


@pytest.mark.parametrize("x", [0, 1, 5, 2**200, 2**254 - R - 1])
def test_to_bits_254_rejects_x_plus_r(x):
    """254 bits of x + r also sum to x mod r; only the `< r` check stops them (docs/PITFALLS.md #2)."""
    cs = ConstraintSystem()
    g.to_bits(cs, cs.private("x", x), 254)
    assert cs.check() == []
    assert x + R < 2**254
    w = cs.solve(overrides=bit_overrides("to_bits/x", x + R, 254))
    bad = failing_sections(cs, w)
    assert bad and all("< r" in name for name in bad), bad


def test_to_bits_254_accepts_r_minus_1_and_counts():
    cs = ConstraintSystem()
    g.to_bits(cs, cs.private("x", R - 1), 254)
    assert cs.check() == []
    assert survivors(cs) == []
    assert cs.counts()["to_bits/le_const"] < 254


def test_bits_le_const_exhaustive():
    for c in range(0, 17):
        for x in range(16):
            cs = ConstraintSystem()
            bits = g.to_bits(cs, cs.private("x", x), 4)
            g.assert_bits_le_const(cs, bits, c)
            assert (cs.check() == []) == (x <= c), (x, c)


def test_to_bits_rejects_bad_width():
    cs = ConstraintSystem()
    with pytest.raises(ValueError):
        g.to_bits(cs, cs.private("x", 1), 255)


# ---------------------------------------------------------------------------------------------
# ranges
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [1, 8, 64, 252, 253])
def test_range_check_boundaries(bits):
    for v in [0, 1, 2**bits - 1, 2**bits, -1, -5, -(2**bits), -(2 ** (bits - 1)), R - 1 - 2**bits]:
        cs = ConstraintSystem()
        g.range_check(cs, cs.private("x", v), bits)
        ok = 0 <= v % R < 2**bits
        assert (cs.check() == []) is ok, (bits, v)
        if v < 0 and bits <= 252:
            assert not ok     # up to 252 bits no wrapped negative passes (2^(bits+1) < r)


def test_range_check_253_cannot_tell_sign():
    """A 253-bit check proves the canonical value < 2^253, but r - 2^253 < 2^253: the field
    element of -2^253 passes.  This is why comparisons stop at 252 bits."""
    cs = ConstraintSystem()
    g.range_check(cs, cs.private("x", -(2**253)), 253)
    assert cs.check() == []
    with pytest.raises(ValueError):
        g.less_than(cs, cs.private("a", 0), cs.private("b", 0), 253)


def test_range_check_failure_names_gadget_and_signal():
    cs = ConstraintSystem()
    with cs.section("margin"):
        g.range_check(cs, cs.private("collateral", -1), 64)
    names = failing_sections(cs, cs.witness())
    assert any(n.startswith("margin/range_check/to_bits/collateral") for n in names), names


def test_range_check_is_remembered_and_tamper_proof():
    cs = ConstraintSystem()
    x = cs.private("x", 200)
    g.range_check(cs, x, 8)
    n = len(cs.constraints)
    g.range_check(cs, x, 16)               # looser bound already implied: free
    assert len(cs.constraints) == n == 9
    assert survivors(cs) == []
    with pytest.raises(ValueError):
        g.range_check(cs, cs.const(256), 8)


@FAST
@given(st.integers(1, 64).flatmap(lambda k: st.tuples(st.just(k), st.integers(-(2**k), 2**k))))
def test_signed_range_check(kv):
    k, v = kv
    cs = ConstraintSystem()
    g.signed_range_check(cs, cs.private("x", v), k)
    assert (cs.check() == []) == (-(2 ** (k - 1)) <= v < 2 ** (k - 1))


@pytest.mark.parametrize("lo,hi", [(-5, 7), (0, 15), (3, 3), (-100, -90), (0, 1000)])
def test_assert_in_range(lo, hi):
    for v in range(lo - 3, hi + 4):
        cs = ConstraintSystem()
        g.assert_in_range(cs, cs.private("x", v), lo, hi)
        assert (cs.check() == []) == (lo <= v <= hi), (lo, hi, v)


# ---------------------------------------------------------------------------------------------
# comparisons
# ---------------------------------------------------------------------------------------------


@FAST
@given(st.integers(1, 252).flatmap(
    lambda n: st.tuples(st.just(n), st.integers(0, 2**n - 1), st.integers(0, 2**n - 1))))
def test_less_than_and_less_equal_honest(nab):
    n, a, b = nab
    cs = ConstraintSystem()
    x, y = cs.private("a", a), cs.private("b", b)
    lt = g.less_than(cs, x, y, n)
    le = g.less_equal(cs, x, y, n)
    assert lt.value == int(a < b) and le.value == int(a <= b)
    assert cs.check() == []


def test_less_than_exhaustive_against_cheating_flag():
    """Width 3: for every (a, b) and every pattern of the difference bits, the constraints
    hold only for in-range inputs and the honest pattern -- the flag cannot lie."""
    cs = ConstraintSystem()
    g.less_than(cs, cs.private("a", 0), cs.private("b", 0), 3)
    for a, b in itertools.product(range(-2, 10), repeat=2):
        honest = cs.solve({"a": a, "b": b})
        in_range = 0 <= a < 8 and 0 <= b < 8
        assert (cs.check(honest) == []) == in_range
        if not in_range:
            continue
        for pattern in range(16):
            w = cs.solve({"a": a, "b": b}, overrides=bit_overrides("less_than/to_bits/lt.diff", pattern, 4))
            assert (cs.check(w) == []) == (pattern == a - b + 8)


@pytest.mark.parametrize("a,b", [(-1, 5), (5, -1), (2**16, 3), (R - 2**16, 0)])
def test_comparisons_enforce_input_ranges(a, b):
    """Wrapped negatives / oversize inputs are rejected by the gadget's own input checks."""
    for gadget in (g.less_than, g.less_equal, g.assert_less_than, g.assert_less_equal):
        cs = ConstraintSystem()
        gadget(cs, cs.private("a", a), cs.private("b", b), 16)
        bad = failing_sections(cs, cs.witness())
        assert bad and any("range_check" in n for n in bad), (gadget.__name__, bad)


def test_comparison_reuses_proven_bounds():
    cs = ConstraintSystem()
    a, b = cs.private("a", 3), cs.private("b", 9)
    g.range_check(cs, a, 32)
    g.range_check(cs, b, 32)
    n = len(cs.constraints)
    g.less_than(cs, a, b, 32)
    assert len(cs.constraints) - n == 34     # no input re-check: bits + 2
    g.less_than(cs, a, b, 16)                # tighter width than proven: inputs re-checked
    assert len(cs.constraints) - n == 34 + 2 * 17 + 18


@pytest.mark.parametrize("a,b", [(3, 4), (4, 4), (5, 4), (0, 0), (0, 65535), (65535, 0)])
def test_assert_less_than_and_le(a, b):
    cs = ConstraintSystem()
    g.assert_less_than(cs, cs.private("a", a), cs.private("b", b), 16)
    assert (cs.check() == []) == (a < b)
    cs = ConstraintSystem()
    g.assert_less_equal(cs, cs.private("a", a), cs.private("b", b), 16)
    assert (cs.check() == []) == (a <= b)
    if a <= b:
        assert survivors(cs) == []


def test_comparison_tampering():
    cs = ConstraintSystem()
    x, y = cs.private("a", 10), cs.private("b", 20)
    g.less_than(cs, x, y, 8)
    g.assert_less_than(cs, x, y, 8)
    assert survivors(cs) == []
    w = cs.solve(overrides={"less_than/to_bits/lt.diff.b8": 1})       # flip the result
    assert cs.check(w)


# ---------------------------------------------------------------------------------------------
# is_zero / select
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("v", [0, 1, -1, 12345, R - 7])
def test_is_zero(v):
    cs = ConstraintSystem()
    out = g.is_zero(cs, cs.private("x", v))
    assert out.value == int(v % R == 0) and cs.check() == []
    w = cs.solve(overrides={"is_zero/isz.out": 1 - out.value})
    assert cs.check(w)
    w = cs.solve(overrides={"is_zero/isz.out": 2})
    assert cs.check(w)
    surv = {s.name for s in survivors(cs)}
    # the inverse is genuinely free when x = 0 (and only then)
    assert surv == ({"is_zero/isz.inv"} if v == 0 else set())


def test_is_equal_and_nonzero():
    cs = ConstraintSystem()
    a, b, c = cs.private("a", 5), cs.private("b", 5), cs.private("c", 6)
    assert g.is_equal(cs, a, b).value == 1
    assert g.is_equal(cs, a, c, name="ne").value == 0
    g.assert_nonzero(cs, a)
    assert cs.check() == []
    assert {s.name for s in survivors(cs)} == {"is_zero/eq.inv"}     # a = b: inverse is free
    cs = ConstraintSystem()
    g.assert_nonzero(cs, cs.private("z", 0))
    assert cs.check()
    for inv in (0, 1, R - 1, 12345):
        assert cs.check(cs.solve(overrides={"nonzero/nz.inv": inv}))


@pytest.mark.parametrize("flag,ok", [(0, True), (1, True), (2, False), (-1, False)])
def test_select_rejects_non_boolean_flag(flag, ok):
    cs = ConstraintSystem()
    out = g.select(cs, cs.private("f", flag), cs.private("a", 10), cs.private("b", 20))
    assert (cs.check() == []) is ok
    if ok:
        assert out.value == (10 if flag else 20)
        assert survivors(cs, inputs=False) == []
        assert cs.check(cs.solve(overrides={"select/sel.t": 0 if flag else 1}))


# ---------------------------------------------------------------------------------------------
# division
# ---------------------------------------------------------------------------------------------


@FAST
@given(st.integers(0, 2**64 - 1), st.integers(1, 2**32 - 1))
def test_floor_and_ceil_div_honest(a, b):
    cs = ConstraintSystem()
    x, y = cs.private("a", a), cs.private("b", b)
    q, rem = g.floor_div(cs, x, y, 64, 32)
    qc, slack = g.ceil_div(cs, x, y, 64, 32)
    assert (q.value, rem.value) == divmod(a, b)
    assert qc.value == -(-a // b) and qc.value * b == a + slack.value
    assert cs.check() == []


def test_floor_div_attacks():
    a, b = 1000, 37                       # q = 27, rem = 1
    cs = ConstraintSystem()
    g.floor_div(cs, cs.private("a", a), cs.private("b", b), 16, 8)
    assert cs.check() == [] and survivors(cs) == []
    # remainder = divisor (q one smaller): the equation holds, rem < b must fail
    w = cs.solve(overrides={"floor_div/div.q": 26, "floor_div/div.rem": 1 + 37})
    bad = failing_sections(cs, w)
    assert bad and all("rem<b" in n for n in bad), bad
    # remainder wrapped negative (q one larger): rem = 1 - 37 = r - 36
    w = cs.solve(overrides={"floor_div/div.q": 28, "floor_div/div.rem": 1 - 37})
    assert cs.check(w)
    # any other rem in [0, b) forces a huge field quotient q = (a - rem)/b mod r: q range fails
    for rem in (0, 2, 36):
        q = (a - rem) * pow(b, -1, R) % R
        w = cs.solve(overrides={"floor_div/div.q": q, "floor_div/div.rem": rem})
        bad = failing_sections(cs, w)
        assert bad and any("div.q" in n for n in bad), bad


def test_division_by_zero_has_no_witness():
    cs = ConstraintSystem()
    g.floor_div(cs, cs.private("a", 10), cs.private("b", 0), 16, 8)
    assert cs.check()
    for q, rem in [(0, 0), (0, 10), (5, 0), (R - 1, 10)]:
        assert cs.check(cs.solve(overrides={"floor_div/div.q": q, "floor_div/div.rem": rem}))


def test_ceil_div_slack_equal_divisor_fails():
    cs = ConstraintSystem()
    g.ceil_div(cs, cs.private("a", 1000), cs.private("b", 37), 16, 8)   # q = 28, slack = 36
    assert cs.check() == [] and survivors(cs) == []
    w = cs.solve(overrides={"ceil_div/cdiv.q": 29, "ceil_div/cdiv.slack": 36 + 37})
    assert cs.check(w)


def test_division_width_overflow_refused_at_build_time():
    cs = ConstraintSystem()
    with pytest.raises(ValueError):
        g.floor_div(cs, cs.private("a", 1), cs.private("b", 1), 200, 53)


@pytest.mark.parametrize("d", [1, 2, 7, 10, 16, 1000])
@pytest.mark.parametrize("ceil", [False, True])
def test_div_const(d, ceil):
    for a in (0, 1, d - 1, d, 12345, 2**20 - 1):
        cs = ConstraintSystem()
        q, rem = g.div_const(cs, cs.private("a", a), d, 20, ceil=ceil)
        expect = -(-a // d) if ceil else a // d
        assert q.value == expect and cs.check() == []
    assert survivors(cs) == []
    # rem = d with q adjusted keeps the linear equation but fails the remainder range
    w = cs.solve(overrides={"div_const/divc.q": q.value + (1 if ceil else -1),
                            "div_const/divc.rem": rem.value + d})
    assert cs.check(w)


# ---------------------------------------------------------------------------------------------
# max / min / relu / sums / packing
# ---------------------------------------------------------------------------------------------


@FAST
@given(st.integers(0, 2**40 - 1), st.integers(0, 2**40 - 1))
def test_max_min(a, b):
    cs = ConstraintSystem()
    x, y = cs.private("a", a), cs.private("b", b)
    assert g.max_(cs, x, y, 40).value == max(a, b)
    assert g.min_(cs, x, y, 40).value == min(a, b)
    assert cs.check() == []


def test_max_tampering():
    cs = ConstraintSystem()
    m = g.max_(cs, cs.private("a", 3), cs.private("b", 9), 8)
    assert m.value == 9 and survivors(cs) == []
    assert cs.check(cs.solve(overrides={"max/less_than/to_bits/max.diff.b8": 1}))


@FAST
@given(st.integers(-(2**31), 2**31 - 1))
def test_relu(v):
    cs = ConstraintSystem()
    out = g.relu(cs, cs.private("x", v), 32)
    assert out.value == max(v, 0) and cs.check() == []
    assert cs.known_bits(out) == 31


def test_relu_attacks():
    cs = ConstraintSystem()
    g.relu(cs, cs.private("x", -5), 16)
    assert survivors(cs) == []
    # claim x >= 0 by flipping the sign bit: the decomposition no longer sums
    assert cs.check(cs.solve(overrides={"relu/to_bits/relu.offset.b15": 1}))
    cs = ConstraintSystem()
    g.relu(cs, cs.private("x", 2**15), 16)          # out of the signed range
    assert cs.check()


def test_sum_bounded():
    cs = ConstraintSystem()
    xs = [cs.private(f"x{i}", 2**16 - 1) for i in range(5)]
    s = g.sum_bounded(cs, xs, 16)
    assert s.value == 5 * (2**16 - 1) and cs.check() == []
    assert cs.known_bits(s) == 19
    with pytest.raises(ValueError):
        g.sum_bounded(cs, xs[:2], 253)               # 2 * 2^253 > r
    with pytest.raises(ValueError):
        g.sum_bounded(cs, xs * 2, 250)               # 10 * 2^250 > r
    cs = ConstraintSystem()
    g.sum_bounded(cs, [cs.private("a", 5), cs.private("b", -1)], 16)   # wrapped negative term
    assert cs.check()


def test_pack_slots_cannot_slide():
    """(a, b) and (a + 2^8, b - 1) pack to the same value; the slot range checks reject it."""
    def build(a, b):
        cs = ConstraintSystem()
        p = g.pack(cs, [cs.private("a", a), cs.private("b", b)], [8, 8])
        return cs, p
    cs, p = build(7, 3)
    assert cs.check() == [] and p.value == 7 + 3 * 256
    cs2, p2 = build(7 + 256, 2)
    assert p2.value == p.value and cs2.check()
    cs3, p3 = build(7 - 256, 4)
    assert p3.value == p.value and cs3.check()
    with pytest.raises(ValueError):
        g.pack(cs, [cs.private("c", 0)] * 2, [200, 60])


def test_gadget_constraint_counts():
    """The documented costs (the report's per-gadget figures)."""
    def cost(f):
        cs = ConstraintSystem()
        f(cs)
        return len(cs.constraints)
    p = ConstraintSystem.private
    assert cost(lambda cs: g.assert_bool(cs, p(cs, "x"))) == 1
    assert cost(lambda cs: g.range_check(cs, p(cs, "x"), 64)) == 65
    assert cost(lambda cs: g.to_bits(cs, p(cs, "x"), 254)) < 254 + 1 + 254
    assert cost(lambda cs: g.less_than(cs, p(cs, "a"), p(cs, "b"), 64)) == 2 * 65 + 66
    assert cost(lambda cs: g.is_zero(cs, p(cs, "x"))) == 2
    assert cost(lambda cs: g.select(cs, p(cs, "f"), p(cs, "a"), p(cs, "b"))) == 2
    assert cost(lambda cs: g.relu(cs, p(cs, "x"), 64)) == 66


@settings(max_examples=25, deadline=None)
@given(st.integers(-(2**20), 2**20 - 1), st.integers(0, 2**24 - 1), st.integers(1, 2**12 - 1),
       st.integers(0, 1))
def test_random_composition_pins_every_internal_signal(loss, collateral, divisor, flag):
    """A margin-like composition: no internal signal can be changed alone (docs/PITFALLS.md #3)."""
    cs = ConstraintSystem()
    x = cs.private("loss", loss)
    c = cs.private("collateral", collateral)
    d = cs.private("divisor", divisor)
    f = cs.private("flag", flag)
    with cs.section("margin"):
        pos = g.relu(cs, x, 22)
        q, _ = g.ceil_div(cs, pos, d, 24, 12)
        need = g.select(cs, f, q, pos)
        ok = g.less_equal(cs, need, c, 24)
        cs.output("ok", ok)
    assert cs.check() == []
    assert ok.value == int((-(-max(loss, 0) // divisor) if flag else max(loss, 0)) <= collateral)
    surv = [s for s in survivors(cs, inputs=False) if not s.name.endswith(".inv")]
    assert surv == []
