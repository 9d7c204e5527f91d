"""The compiled witness program (circuits/witness_program.py, solvency/witness.py) against the
reference: the builder's own witness, bit for bit, on random inputs of every circuit family."""

from __future__ import annotations

import json
import random
from importlib import resources

import pytest

from zkmargin.algebra.constants import R
from zkmargin.circuits import gadgets as g
from zkmargin.circuits.builder import ConstraintSystem
from zkmargin.circuits.margin_circuits import MODEL_CODES, Account, Context, Shape, build_solvency_circuit
from zkmargin.circuits.solvency import venue_params
from zkmargin.circuits.witness_program import NotSerialisable, compile_program, program_from_bytes
from zkmargin.margin.market import parse_market
from zkmargin.margin.portfolio import parse_portfolio
from zkmargin.margin.riskarray import net_positions
from zkmargin.solvency import witness as sw


def _sample(name):
    return json.loads(resources.files("zkmargin.margin").joinpath("samples", name).read_text())


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZKMARGIN_CACHE", str(tmp_path / "cache"))
    sw.forget()
    yield
    sw.forget()


def _gadget_circuit(x=5, y=-7, z=123456789, custom=False):
    cs = ConstraintSystem("gadgets")
    p = cs.public("p", 3)
    a, b, c = cs.private("a", x), cs.private("b", y), cs.private("c", z)
    with cs.section("s"):
        s = cs.mul(a + p, b * 3 - 1, "s")
        g.relu(cs, b, 40, name="rb")
        g.range_check(cs, c, 40)
        g.exact_min(cs, c, c + 5, 41)
        g.div_const(cs, c, 1000, 40)
        g.floor_div(cs, c, p + 1, 40, 8)
        g.is_zero(cs, a - 5)
        g.assert_nonzero(cs, p)
        cs.output("out", s * 2 + c)
        if custom:
            cs.hint("h", lambda u, v, k=7: (u * k + v) % 11, a, c)
    return cs


def test_program_equals_builder_solve_and_round_trips():
    cs = _gadget_circuit()
    prog = compile_program(cs, ["p"])
    assert prog.solve() == cs.witness()
    loaded = program_from_bytes(prog.to_bytes())
    rng = random.Random(1)
    for _ in range(6):
        asg = {"p": rng.randrange(1, 200), "a": rng.randrange(-50, 50), "b": rng.randrange(-2**30, 2**30),
               "c": rng.randrange(0, 2**39)}
        ref = cs.solve(asg)
        assert prog.solve(asg) == ref
        assert loaded.solve(asg) == ref
        assert loaded.solve(asg) == ref          # the static part from the memo
    assert len(loaded.static_cache) >= 2


def test_a_hint_from_outside_zkmargin_is_not_stored():
    cs = _gadget_circuit(custom=True)
    prog = compile_program(cs, ["p"])
    assert prog.solve({"a": 9}) == cs.solve({"a": 9})          # in memory it works
    with pytest.raises(NotSerialisable):
        prog.to_bytes()


def test_program_file_from_other_source_is_refused(monkeypatch):
    import zkmargin.circuits.witness_program as wp
    data = compile_program(_gadget_circuit(), ["p"]).to_bytes()
    monkeypatch.setattr(wp, "source_fingerprint", lambda mods: "changed")
    with pytest.raises(ValueError, match="other zkmargin source"):
        program_from_bytes(data)


# ------------------------------------------------------------------------------- solvency


def _venue(model, shape, linear=False, credits=False):
    if credits:
        unds = {"BTC": {"spot": 68000.0, "vol": 0.6, "price_scan": 0.12},
                "ETH": {"spot": 3000.0, "vol": 0.7, "price_scan": 0.15},
                "SOL": {"spot": 160.0, "vol": 0.8, "price_scan": 0.2}}
        md = {"as_of": "2024-05-24T08:00:00Z", "underlyings": unds, "collateral": {"USDC": {"price": 1.0}},
              "spread_credits": [{"pair": ["BTC", "SOL"], "rate": 0.5}, {"pair": ["BTC", "ETH"], "rate": 0.7}]}
        book = {"positions": [{"type": "perpetual", "underlying": u, "quantity": 0.0} for u in unds]}
    else:
        md, book = _sample("market.json"), _sample("portfolio.json")
        if linear:
            book = dict(book, positions=[x for x in book["positions"] if x["type"] != "option"])
    m = parse_market(md)
    insts, _ = net_positions(parse_portfolio(book, m))
    return venue_params(model, insts, m, shape)


def _accounts(rng, shape, kinds):
    out = []
    for kind in kinds:
        Q = tuple(0 if kind == 2 else rng.choice([0, rng.randrange(-2**40, 2**40)]) for _ in range(shape.instruments))
        A = tuple(0 if kind == 1 else rng.randrange(0, 2**50) for _ in range(shape.assets))
        U = 0 if kind == 2 else rng.randrange(-2**80, 2**80)
        out.append(Account(Q, U, A, rng.randrange(R), kind))
    return out


CASES = {
    "span16": ("span16", Shape("worst_case", 8, 3, 2, 16), {}),
    "span16-2acct": ("span16", Shape("worst_case", 8, 3, 2, 16, accounts=2), {}),
    "span16-public": ("span16", Shape("worst_case", 8, 3, 2, 16, params="public"), {}),
    "span16-constant": ("span16", Shape("worst_case", 8, 3, 2, 16, params="constant"), {}),
    "credits": ("span16", Shape("worst_case", 4, 1, 3, 16, pairs=3), {"credits": True}),
    "es": ("es", Shape("es", 8, 3, 1, 24), {}),
    "hvar": ("hvar", Shape("quantile", 8, 3, 1, 24), {}),
    "var": ("var", Shape("var", 8, 3, 2, 0), {"linear": True}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_solvency_witness_equals_the_builders(case):
    model, shape, opts = CASES[case]
    params = _venue(model, shape, **opts)
    rng = random.Random(case)
    kinds = [[0], [1, 2]][shape.accounts - 1]
    for trial in range(3):
        accts = _accounts(rng, shape, kinds)
        ctx = Context(MODEL_CODES[model], rng.randrange(1, 30_000), rng.randrange(2**248), 20240524,
                      rng.randrange(R))
        circ = build_solvency_circuit(shape, params, accts, ctx)
        cs = circ.cs
        built_inputs = {n: cs.values[i] for n, i in cs._inputs.items()}
        assert sw.solvency_inputs(shape, params, accts, ctx) == built_inputs
        w, names = sw.solvency_witness(shape, params, accts, ctx)
        assert w == cs.witness(), f"trial {trial}"
        assert names == circ.public_names
        if trial == 0:       # a fresh process: the program and the static values from disk
            sw.forget()


def test_disk_program_is_reused_and_a_bad_file_is_replaced(tmp_path):
    model, shape, _ = CASES["span16"]
    params = _venue(model, shape)
    accts = _accounts(random.Random(5), shape, [0])
    ctx = Context(MODEL_CODES[model], 10_000, 11, 20240524, 5)
    ref = build_solvency_circuit(shape, params, accts, ctx).cs.witness()
    assert sw.solvency_witness(shape, params, accts, ctx)[0] == ref
    folder = sw.cache_folder()
    progs = list(folder.glob("*.zkwp"))
    statics = list(folder.glob("*.static"))
    assert len(progs) == 1 and len(statics) == 1
    sw.forget()
    progs[0].write_bytes(b"not a program")
    statics[0].write_bytes(b"\xff" * 64)
    assert sw.solvency_witness(shape, params, accts, ctx)[0] == ref
    sw.forget()
    assert sw.solvency_witness(shape, params, accts, ctx)[0] == ref       # the rewritten file
    from zkmargin.prover import dev_cache
    n, _ = dev_cache.clear()                                              # `zkmargin cache clear`
    assert n >= 2 and not list(folder.iterdir())


# ----------------------------------------------------------------- compiled evaluation


@pytest.fixture(scope="module", params=["native", "jit"])
def ks(request):
    from zkmargin.algebra.kernel_set import jit_kernel_set, native_kernel_set
    if request.param == "jit":
        return jit_kernel_set()
    k = native_kernel_set()
    if k is None:
        pytest.skip("native kernels unavailable here (ZKMARGIN_KERNELS=jit or no C compiler)")
    return k


def _hint_pair(*v):
    """A Python step with two outputs (any number of inputs)."""
    return (sum(x * x for x in v) + 1, -len(v))


def _random_program(seed: int):
    """A random straight-line program over every opcode: products, bit decompositions (one
    wider than 256 bits), copies and Python hints, reading signals and linear combinations of
    signals computed before them; inputs 1..6, of which 1 and 2 are static."""
    from zkmargin.circuits.witness_program import OP_BITS, OP_COPY, OP_MUL, OP_PY, WitnessProgram
    rng = random.Random(seed)
    n_in = 6
    known = list(range(n_in + 1))
    lcs, ops, ins, outs, aux = [], [], [], [], []
    nxt = n_in + 1

    def ref():
        if rng.random() < 0.4:
            return rng.choice(known)
        if lcs and rng.random() < 0.3:                     # an LC read twice: memoised
            return -rng.randrange(len(lcs)) - 1
        k = rng.randrange(1, 7)
        lcs.append(([rng.choice(known) for _ in range(k)],
                    [rng.choice([1, R - 1, 2, rng.randrange(R), rng.randrange(R, 2 * R)]) for _ in range(k)]))
        return -len(lcs)

    for s in range(60):
        op = rng.choice([OP_MUL, OP_MUL, OP_BITS, OP_COPY, OP_PY])
        if op == OP_MUL:
            i, n_out, a = (ref(), ref()), 1, 0
        elif op == OP_BITS:
            n_out = rng.choice([0, 1, 8, 64, 254, 300])
            i, a = (ref(),), n_out
        elif op == OP_COPY:
            i, n_out, a = (ref(),), 1, 0
        else:
            i, n_out, a = tuple(ref() for _ in range(rng.randrange(0, 4))), 2, 0
        o = tuple(range(nxt, nxt + n_out))
        nxt += n_out
        ops.append(op)
        ins.append(i)
        outs.append(o)
        aux.append(a)
        known.extend(o)
    order = list(range(nxt))
    rng.shuffle(order)
    order.remove(0)
    order.insert(0, 0)
    inputs = {f"x{k}": k + 1 for k in range(n_in)}
    defaults = {name: rng.randrange(R) for name in inputs}
    return WitnessProgram(nxt, order, inputs, defaults, lcs, ops, ins, outs, aux, [_hint_pair], ("x0", "x1"))


@pytest.mark.parametrize("seed", range(6))
def test_compiled_steps_equal_python_ints(ks, seed):
    prog = _random_program(seed)
    rng = random.Random(100 + seed)
    for trial in range(4):
        asg = {name: rng.randrange(R) for name in prog.inputs}
        if trial == 3:
            asg = {"x0": 0, "x1": R - 1, "x2": 1}           # edge values, the rest declared
        ref = prog.solve_limbs(asg, reference=True)
        prog.static_cache.clear()
        assert (prog.solve_limbs(asg, kernels=ks) == ref).all(), trial
        assert (prog.solve_limbs(asg, kernels=ks) == ref).all(), trial     # static part memoised
    # the reference evaluation itself against plain Python on one assignment
    vals = prog.assignment_values(asg)
    for s, op in enumerate(prog.ops):
        args = []
        for r in prog.ins[s]:
            ids, co = (([r], [1]) if r >= 0 else prog.lcs[-r - 1])
            args.append(sum(c * vals[i] for i, c in zip(ids, co)) % R)
        o = prog.outs[s]
        res = ([args[0] * args[1] % R] if op == 0 else [(args[0] >> i) & 1 for i in range(len(o))] if op == 1
               else [args[0]] if op == 2 else [v % R for v in _hint_pair(*args)])
        for i, v in zip(o, res):
            vals[i] = v
    from zkmargin.formats.wtns import limbs_to_ints
    assert limbs_to_ints(prog.solve_limbs(asg, reference=True)) == [vals[i] for i in prog.order]


def test_compiled_gadget_circuit_equals_the_builder(ks):
    cs = _gadget_circuit(custom=True)
    prog = compile_program(cs, ["p"])
    for asg in ({}, {"p": 7, "a": -3, "b": 2**35, "c": 99}, {"p": 1, "c": 2**39 - 1}):
        assert prog.solve(asg, kernels=ks) == cs.solve(asg)
    loaded = program_from_bytes(compile_program(_gadget_circuit(), ["p"]).to_bytes())
    assert loaded.solve({"a": 4}, kernels=ks) == _gadget_circuit().solve({"a": 4})


def test_a_failing_hint_is_named_in_compiled_code_too(ks):
    from zkmargin.circuits.builder import HintError
    cs = ConstraintSystem("h")
    a = cs.private("a", 2)
    cs.hint("inv", lambda v: pow(v, -1, R), a)
    prog = compile_program(cs)
    with pytest.raises(HintError, match="hint #0 failed"):
        prog.solve({"a": 0}, kernels=ks)


def test_program_tables_refuse_every_out_of_range_index():
    """The kernel trusts the tables' indices, so ProgramTables.make must refuse each bad one."""
    import numpy as np

    from zkmargin.algebra.kernel_set import ProgramTables
    prog = _random_program(3)
    good = prog.tables()
    fields = dict(lc_ptr=good.lc_ptr, lc_idx=good.lc_idx, lc_cid=good.lc_cid, coeffs=good.coeffs, ops=good.ops,
                  aux=good.aux, in_ptr=good.in_ptr, ins=good.ins, out_ptr=good.out_ptr, outs=good.outs,
                  phases=good.phases)
    ProgramTables.make(good.n_values, **fields)
    n, n_lcs = good.n_values, len(good.lc_ptr) - 1
    py = int(np.flatnonzero(good.ops == 3)[0])
    mul = int(np.flatnonzero(good.ops == 0)[0])
    bits = int(np.flatnonzero(good.ops == 1)[0])

    def bad(name, pos, value):
        a = np.array(fields[name])
        a[pos] = value
        return {**fields, name: a}

    cases = [bad("lc_idx", 0, n), bad("lc_idx", 1, -1), bad("lc_cid", 0, len(good.coeffs)), bad("lc_cid", 2, -1),
             bad("lc_ptr", 1, good.lc_ptr[2] + 1), bad("lc_ptr", -1, len(good.lc_idx) + 1), bad("lc_ptr", 0, 1),
             bad("ins", 0, n), bad("ins", 1, -n_lcs - 1), bad("outs", 0, n), bad("outs", 1, -1),
             bad("in_ptr", -1, len(good.ins) - 1), bad("in_ptr", 1, good.in_ptr[2] + 1),
             bad("out_ptr", -1, len(good.outs) + 2), bad("ops", 0, 4), bad("ops", 1, -1),
             bad("ops", py, 0), bad("ops", mul, 2), bad("aux", bits, good.aux[bits] + 1),
             {**fields, "aux": good.aux[:-1]}, {**fields, "lc_cid": good.lc_cid[:-1]},
             {**fields, "phases": (good.phases[0], np.array([len(good.ops)]))},
             {**fields, "phases": (np.array([-1]),)}]
    for case in cases:
        with pytest.raises(ValueError):
            ProgramTables.make(n, **case)


def test_run_program_refuses_buffers_that_do_not_fit(ks):
    import numpy as np
    prog = _random_program(1)
    t = prog.tables()
    n_lcs = len(t.lc_ptr) - 1
    vals, lcv, done = np.zeros((t.n_values, 4), np.uint64), np.zeros((n_lcs, 4), np.uint64), np.zeros(n_lcs, np.uint8)
    scratch = np.zeros((max(1, t.max_inputs), 4), np.uint64)
    ks.run_program(t, 0, 0, vals, lcv, done, scratch)
    for args in ((0, 0, vals[:-1], lcv, done, scratch), (0, 0, vals, lcv[:-1], done, scratch),
                 (0, 0, vals, lcv, done.astype(np.int64), scratch),
                 (0, 0, vals, lcv, done, scratch[:0]),
                 (2, 0, vals, lcv, done, scratch), (-1, 0, vals, lcv, done, scratch),
                 (0, len(t.phases[0]) + 1, vals, lcv, done, scratch)):
        with pytest.raises(ValueError):
            ks.run_program(t, *args)


def test_a_tampered_program_file_is_refused_or_evaluates_safely(ks):
    """Each array of a program file, set out of range: loading or checking refuses it (the
    compiled steps never index outside their arrays)."""
    import io

    import numpy as np

    from zkmargin.circuits.builder import HintError
    data = compile_program(_gadget_circuit(custom=False), ["p"]).to_bytes()
    with np.load(io.BytesIO(data)) as z:
        arrays = {k: z[k] for k in z.files}
    for name, a in arrays.items():
        if name in ("meta", "coeffs") or not a.size:
            continue
        info = np.iinfo(a.dtype)
        for value in (max(info.min, -(2**20)), min(info.max, 2**20)):
            b = a.copy()
            b.flat[a.size // 2] = value
            buf = io.BytesIO()
            np.savez(buf, **{**arrays, name: b})
            try:
                prog = program_from_bytes(buf.getvalue())
                prog.solve_limbs({"a": 3}, kernels=ks)
            except (ValueError, KeyError, HintError):
                continue
