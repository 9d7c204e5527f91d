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
