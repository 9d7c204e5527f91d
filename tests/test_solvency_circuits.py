"""Solvency circuits without Groth16: witness == integer evaluator, soundness, insolvency.

Everything here checks constraint satisfaction with the builder (fast). The proof-level tests
are in test_solvency_protocol.py.
"""

from __future__ import annotations

import json
from importlib import resources

import pytest

from zkmargin.circuits.margin_circuits import MODEL_CODES, Context, Shape, build_solvency_circuit, dummy_inputs
from zkmargin.circuits.solvency import InsolventError, account_of, check_solvent, evaluate, venue_params
from zkmargin.margin.market import parse_market
from zkmargin.margin.portfolio import parse_portfolio
from zkmargin.margin.quantize import integer_margin
from zkmargin.margin.riskarray import net_positions


def _sample(name):
    return json.loads(resources.files("zkmargin.margin").joinpath("samples", name).read_text())


@pytest.fixture(scope="module")
def sample():
    md, pd = _sample("market.json"), _sample("portfolio.json")
    m = parse_market(md)
    p = parse_portfolio(pd, m)
    insts, _ = net_positions(p)
    return m, p, insts, pd


@pytest.fixture(scope="module")
def linear(sample):
    """The sample book without its options (delta-normal var is refused for option lists)."""
    m, _, _, pd = sample
    ld = dict(pd, positions=[x for x in pd["positions"] if x["type"] != "option"])
    p = parse_portfolio(ld, m)
    insts, _ = net_positions(p)
    return m, p, insts, ld


SHAPES = {
    "span16": Shape("worst_case", 8, 3, 2, 16),
    "var": Shape("var", 8, 3, 2, 0),
    "es": Shape("es", 8, 3, 1, 365),
}
CTX = dict(buffer_bps=10_000, venue=11, epoch=20240524, nonce=5)


def _build(sample, model, salt=99, shape=None, portfolio=None):
    m, p, insts, _ = sample
    shape = shape or SHAPES[model]
    params = venue_params(model, insts, m, shape)
    acct = account_of(portfolio or p, m, insts, tuple(m.collateral), shape, salt)
    circ = build_solvency_circuit(shape, params, [acct], Context(MODEL_CODES[model], **CTX))
    return params, acct, circ


@pytest.fixture(scope="module")
def span16(sample):
    return _build(sample, "span16")


@pytest.fixture(scope="module")
def var(linear):
    return _build(linear, "var")


@pytest.mark.parametrize("model", ["span16", "var"])
def test_witness_equals_integer_evaluator(sample, linear, span16, var, model):
    params, acct, circ = span16 if model == "span16" else var
    m, p, _, _ = sample if model == "span16" else linear
    ref = integer_margin(p, m, model)
    assert circ.cs.check() == []
    assert circ.requirement.value == ref.requirement          # bit for bit
    assert circ.equity.value == ref.equity
    ev = evaluate(params, [acct])
    assert (ev.equity, ev.requirement) == (ref.equity, ref.requirement)


@pytest.mark.slow
def test_es_witness_equals_integer_evaluator(sample):
    params, acct, circ = _build(sample, "es")
    m, p, _, _ = sample
    ref = integer_margin(p, m, "es")
    assert circ.cs.check() == []
    assert circ.requirement.value == ref.requirement
    assert circ.equity.value == ref.equity


def test_es_small_history(sample):
    """ES on the last 24 scenarios: circuit == evaluator on the same (padded) parameters."""
    shape = Shape("es", 8, 3, 1, 24)
    params, acct, circ = _build(sample, "es", shape=shape)
    assert circ.cs.check() == []
    assert circ.requirement.value == evaluate(params, [acct]).requirement


def test_structure_depends_on_shape_only(span16):
    params, acct, circ = span16
    p0, a0, c0 = dummy_inputs(circ.shape)
    dummy = build_solvency_circuit(circ.shape, p0, a0, c0)
    r1, r2 = circ.cs.to_r1cs(), dummy.cs.to_r1cs()
    assert (r1.n_wires, r1.n_pub_in, len(r1.constraints)) == (r2.n_wires, r2.n_pub_in, len(r2.constraints))
    assert r1.constraints == r2.constraints


def test_public_inputs_named(span16):
    params, acct, circ = span16
    pub = circ.cs.public_values()
    assert circ.public_names == ["model", "buffer_bps", "venue", "epoch", "nonce", "params_digest",
                                 "commitment_0", "kind_0"]
    assert pub[5] == params.digest() and pub[6] == acct.commitment() and pub[7] == acct.kind == 0


def test_insolvent_portfolio_has_no_witness(sample):
    m, p, insts, pd = sample
    poor = dict(pd, collateral={"USDC": 1000.0})
    pp = parse_portfolio(poor, m)
    shape = SHAPES["span16"]
    params = venue_params("span16", insts, m, shape)
    acct = account_of(pp, m, insts, tuple(m.collateral), shape, 123456789)
    with pytest.raises(InsolventError) as e:
        check_solvent(params, [acct], 10_000)
    msg = str(e.value)
    assert "short by" in msg and "USD" in msg
    assert "123456789" not in msg and "1000" not in msg.replace(",", "")[:0] + ""
    # and the circuit itself cannot be satisfied
    circ = build_solvency_circuit(shape, params, [acct], Context(1, **CTX))
    bad = circ.cs.check()
    assert bad and all("claim" in f.name for f in bad)


def test_buffer_enforced(sample, span16):
    params, acct, circ = span16
    ev = evaluate(params, [acct])
    too_high = ev.equity * 10_000 // ev.requirement + 1          # just above equity / requirement
    c2 = build_solvency_circuit(circ.shape, params, [acct], Context(1, too_high, 11, 1, 5))
    assert c2.cs.check()
    ok = build_solvency_circuit(circ.shape, params, [acct], Context(1, too_high - 1, 11, 1, 5))
    assert ok.cs.check() == []


def _names(circ, fragment):
    return [n for n in circ.cs.signal_names() if fragment in n]


def test_malicious_worst_case_bound_fails(span16):
    """Lowering the scenario bound m_g (to hide loss) breaks a range check."""
    params, acct, circ = span16
    for name in _names(circ, "/m"):
        if name.endswith("/m"):
            w = circ.cs.solve(overrides={name: lambda v: v - 1})
            assert circ.cs.check(w), name


def test_malicious_quantity_sign_fails(span16):
    """Claiming a short is long (Q⁻ = 0) via the relu's sign bit fails."""
    params, acct, circ = span16
    short = [i for i, q in enumerate(acct.Q) if q < 0]
    assert short
    name = [n for n in _names(circ, f"Qminus{short[0]}.offset.b{57}") if "boolean" not in n][0]
    w = circ.cs.solve(overrides={name: lambda v: 1 - v})
    assert circ.cs.check(w)


def test_malicious_var_c0_fails(var):
    params, acct, circ = var
    name = [n for n in circ.cs.signal_names() if n.endswith("/C0")][0]
    w = circ.cs.solve(overrides={name: lambda v: v - 1})
    assert circ.cs.check(w)


def test_malicious_es_certificate_fails(sample):
    shape = Shape("es", 8, 3, 1, 24)
    params, acct, circ = _build(sample, "es", shape=shape)
    names = circ.cs.signal_names()
    c_name = [n for n in names if n.endswith("/C")][0]
    assert circ.cs.check(circ.cs.solve(overrides={c_name: lambda v: v - 1}))
    u_name = [n for n in names if n.endswith("u3.out")][0]
    assert circ.cs.check(circ.cs.solve(overrides={u_name: lambda v: v - 1}))
    # Rockafellar–Uryasev: any t gives a valid bound, but never one below the true ES
    t_name = [n for n in names if n.endswith("/t")][0]
    honest = circ.requirement.value
    for shift in (10**12, -10**12):
        w = circ.cs.solve(overrides={t_name: lambda v: v + shift})
        assert circ.cs.check(w) == []
        pos = circ.cs._order().index(next(iter(circ.requirement.terms)))
        assert w[pos] >= honest


def test_commitment_and_digest_bind(span16):
    """Changing a private position or a private parameter breaks the commitment / digest."""
    params, acct, circ = span16
    w = circ.cs.solve({"account0/Q0": acct.Q[0] + 1})
    assert any("commitment" in f.name for f in circ.cs.check(w))
    w = circ.cs.solve({"param_20": params.vector()[20] - 1})
    assert any("params_digest" in f.name for f in circ.cs.check(w))
    w = circ.cs.solve({"epoch": 20240525})      # public context may change freely ...
    assert circ.cs.check(w) == []               # ... but the verifier's public vector pins it


def test_multi_account_sums(sample):
    """Two venues + one custodian: the combined account is what is margined."""
    m, p, insts, pd = sample
    half1 = dict(pd, collateral={}, positions=pd["positions"][:3])
    half2 = dict(pd, collateral={}, positions=pd["positions"][3:])
    cust = dict(pd, positions=[])
    shape = Shape("worst_case", 8, 3, 2, 16, accounts=3)
    params = venue_params("span16", insts, m, shape)
    accts = [account_of(parse_portfolio(d, m), m, insts, tuple(m.collateral), shape, 1000 + k)
             for k, d in enumerate((half1, half2, cust))]
    circ = build_solvency_circuit(shape, params, accts, Context(1, **CTX))
    assert circ.cs.check() == []
    ref = integer_margin(p, m, "span16")
    assert circ.requirement.value == ref.requirement
    assert circ.requirement.value == evaluate(params, accts).requirement


def test_params_bounds_rejected(span16):
    from dataclasses import replace

    from zkmargin.circuits.margin_circuits import ParameterError
    params, _, _ = span16
    with pytest.raises(ParameterError):
        replace(params, H=(1 << 60,) + params.H[1:]).check_bounds()
    with pytest.raises(ParameterError):
        replace(params, GM=((1, 1),) + params.GM[1:]).check_bounds()


@pytest.mark.parametrize("mode", ["public", "constant"])
def test_parameter_modes_agree(sample, span16, mode):
    """All three parameter modes compute the same requirement; digest costs the most."""
    from dataclasses import replace
    params, acct, circ = span16
    shape = replace(circ.shape, params=mode)
    m, p, insts, _ = sample
    p2 = venue_params("span16", insts, m, shape)
    c2 = build_solvency_circuit(shape, p2, [acct], Context(1, **CTX))
    assert c2.cs.check() == []
    assert c2.requirement.value == circ.requirement.value
    assert len(c2.cs.constraints) < len(circ.cs.constraints)
    n_pub = c2.cs.n_public
    assert n_pub == (8 + len(p2.vector()) - 1 if mode == "public" else 8)
    if mode == "constant":   # a prover cannot claim another digest with a constant-parameter key
        w = c2.cs.solve({"params_digest": 1})
        assert c2.cs.check(w)


@pytest.mark.parametrize("which", ["span16", "var"])
def test_every_private_value_is_pinned(span16, var, which):
    """docs/PITFALLS.md #3: no single private witness value (input or hint) can be changed while all
    constraints still hold (mutations v±1, 0, 1, −v)."""
    from zkmargin.circuits.builder import WitnessTampering
    _, _, circ = span16 if which == "span16" else var
    assert WitnessTampering.from_cs(circ.cs).survivors() == []


# ---- account kinds, the buffer floor and the parameter-file hash ---------------------------------

def _kind_circuit(sample, kind, portfolio):
    m, p, insts, pd = sample
    from dataclasses import replace
    shape = SHAPES["span16"]
    params = venue_params("span16", insts, m, shape)
    acct = replace(account_of(parse_portfolio(portfolio, m), m, insts, tuple(m.collateral), shape, 77), kind=kind)
    return build_solvency_circuit(shape, params, [acct], Context(1, **CTX)), acct


def test_collateral_account_cannot_hold_positions(sample):
    """kind 2 (a custodian's collateral account) with positions or P&L has no witness."""
    _, _, _, pd = sample
    circ, acct = _kind_circuit(sample, 2, dict(pd, positions=[]))
    assert acct.kind_violation() is None and circ.cs.check() == []
    circ, acct = _kind_circuit(sample, 2, pd)                 # the full account, labelled collateral
    assert acct.kind_violation()
    bad = circ.cs.check()
    assert bad and all("kind0" in f.name for f in bad)


def test_positions_account_cannot_hold_collateral(sample):
    _, _, _, pd = sample
    circ, acct = _kind_circuit(sample, 1, dict(pd, collateral={}))
    # positions only: the witness exists for the kinds section (the claim may still fail)
    assert not [f for f in circ.cs.check() if "kind0" in f.name]
    circ, acct = _kind_circuit(sample, 1, pd)
    assert [f for f in circ.cs.check() if "kind0" in f.name]


@pytest.mark.parametrize("kind", [3, 4, -1])
def test_kind_outside_the_three_values_has_no_witness(sample, kind):
    _, _, _, pd = sample
    circ, _ = _kind_circuit(sample, kind, dict(pd, positions=[]))
    assert [f for f in circ.cs.check() if "kind0" in f.name]


def test_kind_bits_cannot_be_forged(sample):
    """A prover choosing the kind bits freely cannot make kind 2 carry positions."""
    _, _, _, pd = sample
    circ, _ = _kind_circuit(sample, 2, pd)
    for b0, b1 in ((0, 0), (1, 0), (0, 1), (1, 1)):
        w = circ.cs.solve(overrides={"kind0/b0": lambda v, b0=b0: b0, "kind0/b1": lambda v, b1=b1: b1})
        assert [f for f in circ.cs.check(w) if "kind0" in f.name]


def test_zero_buffer_cannot_be_proven(sample, span16):
    params, acct, circ = span16
    c0 = build_solvency_circuit(circ.shape, params, [acct], Context(1, 0, 11, 1, 5))
    assert [f for f in c0.cs.check() if "buffer_bps" in f.name]
    c1 = build_solvency_circuit(circ.shape, params, [acct], Context(1, 1, 11, 1, 5))
    assert c1.cs.check() == []


def test_parameter_file_hash_is_in_the_digest(span16):
    from dataclasses import replace
    params, acct, circ = span16
    other = replace(params, meta=params.meta + 1)
    assert other.digest() != params.digest()
    w = circ.cs.solve({"params_digest/params_meta": params.meta + 1})     # a prover cannot swap the file's hash
    assert any("params_digest" in f.name for f in circ.cs.check(w))
