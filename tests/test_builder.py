"""The R1CS builder: LC algebra, constraints, names/sections, witness replay, tampering helper."""

from __future__ import annotations

import doctest
import time

import pytest

from zkmargin.algebra.constants import R
from zkmargin.circuits import builder
from zkmargin.circuits.builder import ConstraintSystem, HintError, WitnessTampering, to_signed


def cubic() -> ConstraintSystem:
    cs = ConstraintSystem("cubic")
    x = cs.private("x", 3)
    y = cs.public("y", 35)
    with cs.section("cube"):
        x2 = cs.mul(x, x, "x2")
        x3 = cs.mul(x2, x, "x3")
    cs.assert_equal(x3 + x + 5, y, "y = x^3 + x + 5")
    return cs


def test_module_docstring_example_runs():
    res = doctest.testmod(builder)
    assert res.failed == 0 and res.attempted > 5


def test_lc_algebra_is_free_and_exact():
    cs = ConstraintSystem()
    a = cs.private("a", 7)
    b = cs.private("b", 5)
    e = 3 * a - b + 2 - a * 2            # = a - b + 2
    assert e.value == 4
    assert (a - a).terms == {}
    assert (-a).value == R - 7
    assert (b - a).signed_value == -2
    assert (e - 4 - a + b).is_constant()
    assert cs.constraints == []            # linear algebra costs nothing
    with pytest.raises(TypeError):
        a * b                               # noqa: B018 - not linear
    with pytest.raises(TypeError):
        bool(a)


def test_lc_from_other_system_rejected():
    a = ConstraintSystem().private("a", 1)
    b = ConstraintSystem().private("b", 1)
    with pytest.raises(ValueError):
        a + b                               # noqa: B018


def test_mul_by_constant_is_free():
    cs = ConstraintSystem()
    a = cs.private("a", 7)
    z = cs.mul(a, cs.const(3))
    assert z.value == 21 and cs.constraints == []


def test_constant_constraints():
    cs = ConstraintSystem()
    cs.assert_equal(cs.const(4), 4)        # trivially true: nothing emitted
    assert cs.constraints == []
    with pytest.raises(ValueError):
        cs.assert_equal(cs.const(4), 5)


def test_honest_witness_satisfies_and_wire_order():
    cs = cubic()
    assert cs.check() == []
    r1 = cs.to_r1cs()
    w = cs.witness()
    assert r1.n_wires == 5 and r1.n_pub_in == 1 and r1.n_prv_in == 1 and r1.n_pub_out == 0
    assert w[0] == 1 and w[1] == 35 and w[2] == 3       # one, public y, private x
    assert r1.wire_names[:3] == ["one", "y", "x"]
    assert r1.check(w) == []
    assert r1.public_signals(w) == [35] == cs.public_values()
    limbs = cs.witness_limbs()
    assert limbs.shape == (5, 4) and limbs[1, 0] == 35 and r1.check(limbs) == []


def test_public_declared_late_still_first():
    cs = ConstraintSystem()
    x = cs.private("x", 2)
    sq = cs.mul(x, x, "sq")
    out = cs.output("sq_out", sq + 1)
    y = cs.public("y", 9)
    cs.assert_equal(out + 4, y)
    r1 = cs.to_r1cs()
    w = cs.witness()
    assert (r1.n_pub_out, r1.n_pub_in, r1.n_prv_in) == (1, 1, 1)
    assert w[:4] == [1, 5, 9, 2]
    assert r1.check(w) == []


def test_failure_names_section_and_signals():
    cs = cubic()
    w = cs.witness()
    w[3] = (w[3] + 1) % R               # corrupt x2 (first intermediate)
    bad = cs.check(w)
    assert [f.name for f in bad] == ["cube/x2 = a*b", "cube/x3 = a*b"]
    assert "cube/x2" in bad[0].signals and "x" in bad[0].signals
    assert "cube/x2" in str(bad[0])
    with pytest.raises(AssertionError, match="cube/x2"):
        cs.assert_satisfied(w)


def test_section_counts_and_report():
    cs = ConstraintSystem("t")
    x = cs.private("x", 2)
    with cs.section("outer"):
        cs.mul(x, x)
        with cs.section("inner"):
            cs.mul(x, x)
            cs.mul(x, x)
    cs.assert_zero(x - 2)
    counts = cs.counts()
    assert counts == {"": 4, "outer": 3, "outer/inner": 2}
    rep = cs.report()
    assert "inner" in rep and "4 constraints" in rep


def test_duplicate_names_get_suffix_and_inputs_unique():
    cs = ConstraintSystem()
    x = cs.private("x", 2)
    cs.mul(x, x, "p")
    cs.mul(x, x, "p")
    assert cs.names[-2:] == ["p", "p#1"]
    with pytest.raises(ValueError):
        cs.private("x", 1)


def test_input_value_range():
    cs = ConstraintSystem()
    assert cs.private("neg", -1).value == R - 1
    with pytest.raises(ValueError):
        cs.private("big", R)
    with pytest.raises(TypeError):
        cs.private("f", 1.5)  # type: ignore[arg-type]


def test_solve_replays_for_new_inputs():
    cs = cubic()
    w = cs.solve({"x": 4, "y": 4**3 + 4 + 5})
    assert cs.check(w) == []
    assert cs.witness()[2] == 3              # current values untouched
    bad = cs.solve({"x": 4, "y": 1})
    assert [f.name for f in cs.check(bad)] == ["y = x^3 + x + 5"]
    with pytest.raises(KeyError):
        cs.solve({"nope": 1})
    cs.set_values({"x": 1, "y": 7})
    assert cs.check() == [] and cs.witness()[2] == 1


def test_hint_errors_are_named():
    cs = ConstraintSystem()
    x = cs.private("x", 0)
    with pytest.raises(HintError, match="inv"):
        cs.hint("inv", lambda v: pow(v, -1, R), x)


def test_multi_output_hint():
    cs = ConstraintSystem()
    x = cs.private("x", 13)
    q, rem = cs.hints(["q", "rem"], lambda v: divmod(v, 5), x)
    assert (q.value, rem.value) == (2, 3)
    assert cs.unconstrained_signals() == ["x", "q", "rem"]
    cs.assert_equal(q * 5 + rem, x)
    assert cs.unconstrained_signals() == []


def test_to_signed():
    assert to_signed(R - 1) == -1 and to_signed(5) == 5 and to_signed(-3) == -3


def test_tampering_finds_unpinned_hint():
    cs = ConstraintSystem()
    x = cs.private("x", 6)
    y = cs.public("y", 36)
    cs.assert_equal(cs.mul(x, x, "sq"), y)
    cs.hint("forgotten", lambda v: v + 1, x)          # never constrained: a bug
    t = WitnessTampering(cs.to_r1cs(), cs.witness())
    surv = {s.name for s in t.survivors()}
    # "forgotten" is free; x -> -x also squares to 36 (genuinely two roots)
    assert "forgotten" in surv and "sq" not in surv
    assert {s.new for s in t.survivors() if s.name == "x"} == {R - 6}


def test_tampering_rejects_unsatisfying_start():
    cs = cubic()
    w = cs.witness()
    w[2] += 1
    with pytest.raises(ValueError):
        WitnessTampering(cs.to_r1cs(), w)


def test_build_and_witness_speed_50k():
    """~50k constraints must build, export, check and re-solve in a few seconds."""
    t0 = time.perf_counter()
    cs = ConstraintSystem("speed")
    xs = [cs.private(f"x{i}", i + 1) for i in range(100)]
    acc = cs.one
    for i in range(50_000):
        acc = cs.mul(acc + xs[i % 100], xs[(i * 7) % 100], "m")
    cs.assert_equal(acc, acc.value)
    t_build = time.perf_counter() - t0
    r1 = cs.to_r1cs()
    w = cs.solve({"x0": 5})
    t_solve = time.perf_counter() - t0 - t_build
    assert cs.check(w)                        # the final equality now fails ...
    assert len(cs.check(w)) == 1              # ... and only it
    assert len(r1.constraints) == 50_001
    # about 1.5 s build + 0.2 s re-solve on an idle 2-core machine; generous for loaded CI
    assert time.perf_counter() - t0 < 20, (t_build, t_solve)


def test_failure_messages_carry_no_values():
    """docs/PITFALLS.md #14: error text names constraints and signals, never private values."""
    cs = ConstraintSystem()
    secret = 987_654_321_123
    x = cs.private("position", secret)
    cs.assert_equal(cs.mul(x, x, "sq"), 5, "sq is five")
    (f,) = cs.check()
    assert "sq is five" in str(f) and "sq" in f.signals
    assert str(secret) not in str(f) and str(secret**2) not in str(f)
    with pytest.raises(AssertionError) as e:
        cs.assert_satisfied()
    assert str(secret) not in str(e.value)
    assert f.a == secret**2 - 5 and f.b == 1  # still inspectable when debugging


def test_tampering_from_cs():
    cs = cubic()
    assert WitnessTampering.from_cs(cs).survivors() == []


def test_numpy_integers_accepted():
    np = pytest.importorskip("numpy")
    cs = ConstraintSystem()
    x = cs.private("x", np.int64(-4))
    y = x * np.int64(3) + np.uint8(2)
    assert x.value == R - 4 and y.signed_value == -10
    assert cs.solve({"x": np.int32(5)})[1] == 5
    with pytest.raises(TypeError):
        cs.private("b", True)


def test_input_name_cannot_shadow_a_signal():
    cs = ConstraintSystem()
    x = cs.private("x", 2)
    cs.mul(x, x, "y")
    with pytest.raises(ValueError):
        cs.public("y", 4)
