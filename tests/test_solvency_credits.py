"""Issue 12, circuit half: span16 spread credits, scenario-policy ES arrays and the var refusal
in the solvency circuits (builder level; the Groth16 end-to-end runs are marked slow).

* files without the new options give byte-identical R1CS and digests (pinned on main before
  the change);
* span16 with credits: witness == integer evaluator (``int_worst_case(..., credits=)``), the
  tamper sweep, and the attacks -- inflated offsets, a non-exact min that moves delta to a
  later higher-rate tier, a credit above its cap or above B, a requirement below its bound --
  each failing, while the one freedom the prover has (raising a scan bound m_g) never lowers
  the requirement;
* es from a scenario policy (vol moves, filtering): the parameter file holds the margin
  engine's own scenario arrays, recomputable from the file;
* delta-normal var is refused for instrument lists with options.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import replace
from importlib import resources

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zkmargin.circuits.builder import WitnessTampering, to_signed
from zkmargin.circuits.margin_circuits import CircuitParams, Context, ParameterError, Shape, build_solvency_circuit, dummy_inputs
from zkmargin.circuits.solvency import account_of, credits_of, evaluate, venue_params
from zkmargin.formats.r1cs import r1cs_to_bytes
from zkmargin.margin import quantize as qz
from zkmargin.margin.historical import LEGACY
from zkmargin.margin.market import parse_market
from zkmargin.margin.portfolio import parse_portfolio
from zkmargin.margin.riskarray import net_positions
from zkmargin.solvency.params import ProtocolError, make_params_file, params_from_json, recompute_problems


def _sample(name):
    return json.loads(resources.files("zkmargin.margin").joinpath("samples", name).read_text())


def _r1cs_hash(cs) -> str:
    return hashlib.sha256(r1cs_to_bytes(cs.to_r1cs())).hexdigest()[:32]


def _value(cs, lc, w) -> int:
    """Signed value of ``lc`` under the witness ``w`` (wire order)."""
    pos = {k: i for i, k in enumerate(cs._order())}
    return to_signed(sum(c * w[pos[k]] for k, c in lc.terms.items()))


CTX = Context(1, 10_000, 11, 20240524, 5)


# ----------------------------------------------------------------------------- no change without options

#: SHA-256 (first 128 bits) of the R1CS of existing shapes, and parameter-file digests of the
#: sample, computed on main before spread credits and scenario policies reached the circuits.
PINNED_R1CS = {
    "span16": (Shape("worst_case", 8, 3, 2, 16), "span16", "25d55719b464c5851fd4712410968de6"),
    "span16pub": (Shape("worst_case", 4, 2, 2, 16, params="public"), "span16", "87827f32fe1de49fd71fb537a853a956"),
    "var": (Shape("var", 8, 3, 2, 0), "var", "1d481d82859f4570afc8c3cd7d94babc"),
    "es24": (Shape("es", 8, 3, 1, 24), "es", "ddb944a2ced9a88f662fd0b073e41fb5"),
}
PINNED_DIGESTS = {
    "span16": 20757032570089598959948786900641062319356451516397782919932725098617786311197,
    "es24": 1940008812506913663658840402128233237042720044458337141668556633895697432307,
    "var_linear": 21151901879535058991749441517921607570436353231563710013690756461929671012161,
}


@pytest.mark.parametrize("name", sorted(PINNED_R1CS))
def test_existing_shapes_give_the_same_r1cs(name):
    shape, model, want = PINNED_R1CS[name]
    p, a, c = dummy_inputs(shape, model)
    assert _r1cs_hash(build_solvency_circuit(shape, p, a, c).cs) == want
    assert "pairs" not in shape.as_dict()


def test_existing_batch_circuit_is_unchanged():
    from zkmargin.circuits.venue_circuits import build_batch_circuit, dummy_batch
    s = Shape("worst_case", 4, 2, 1, 16)
    p, ctx = dummy_batch(s)
    assert _r1cs_hash(build_batch_circuit(s, p, [], 4, ctx).cs) == "d2882c1e04bfed9f6ce71849164feb27"


def test_existing_parameter_files_give_the_same_digest():
    md, pd = _sample("market.json"), _sample("portfolio.json")
    m = parse_market(md)
    insts, _ = net_positions(parse_portfolio(pd, m))
    assert make_params_file("VenueA", 20240524, "span16", insts, md, PINNED_R1CS["span16"][0]).digest \
        == PINNED_DIGESTS["span16"]
    assert make_params_file("VenueA", 20240524, "es", insts, md, PINNED_R1CS["es24"][0]).digest \
        == PINNED_DIGESTS["es24"]
    lin = [i for i in insts if not i.is_option]
    assert make_params_file("VenueA", 20240524, "var", lin, md, PINNED_R1CS["var"][0]).digest \
        == PINNED_DIGESTS["var_linear"]


# ----------------------------------------------------------------------------- span16 with credits

AS_OF = "2024-05-24T08:00:00Z"
EXP = "2024-06-28T08:00:00Z"
UNDS = {"BTC": {"spot": 68000.0, "vol": 0.55, "price_scan": 0.12},
        "ETH": {"spot": 3700.0, "vol": 0.65, "price_scan": 0.15},
        "SOL": {"spot": 160.0, "vol": 0.8, "price_scan": 0.2}}
#: the lower-rate tier first: BTC's delta goes to SOL at 0.5 before ETH gets the rest at 0.7,
#: so a prover skipping tier 1 would earn more credit
CREDITS = [{"pair": ["BTC", "SOL"], "rate": 0.5}, {"pair": ["BTC", "ETH"], "rate": 0.7}]
CALL = {"type": "option", "underlying": "BTC", "right": "call", "strike": 68000.0, "expiry": EXP}
VENUE_BOOK = [{"type": "perpetual", "underlying": u, "quantity": 0.0} for u in UNDS] + [dict(CALL, quantity=0.0)]
CSHAPE = Shape("worst_case", 6, 1, 3, 16, pairs=3)           # 2 pairs + 1 padding slot


def cmarket_doc():
    return {"as_of": AS_OF, "underlyings": UNDS, "collateral": {"USDC": {"price": 1.0}},
            "spread_credits": CREDITS}


def perp(u, usd):
    return {"type": "perpetual", "underlying": u, "quantity": round(usd / UNDS[u]["spot"], 4)}


#: scan-risk deltas BTC +120k, SOL −100k, ETH −100k: tier 1 offsets 100k, tier 2 the last 20k
HEDGED = {"collateral": {"USDC": 2e6}, "positions": [perp("BTC", 1e6), perp("SOL", -5e5), perp("ETH", -666666.0)]}
#: long calls: the delta (0.5·100·68000·0.12 ≈ 410k of scan-risk delta) overstates the scan
#: risk, so BTC's credit is capped at 0.7·m_BTC
CAPPED = {"collateral": {"USDC": 2e6}, "positions": [dict(CALL, quantity=100.0), perp("ETH", -3e6)]}


@pytest.fixture(scope="module")
def cvenue():
    m = parse_market(cmarket_doc())
    insts, _ = net_positions(parse_portfolio({"positions": VENUE_BOOK}, m))
    return m, insts, venue_params("span16", insts, m, CSHAPE)


def _credit_circuit(cvenue, book, shape=CSHAPE):
    m, insts, params = cvenue
    if shape != CSHAPE:
        params = venue_params("span16", insts, m, shape)
    p = parse_portfolio(book, m)
    acct = account_of(p, m, insts, tuple(m.collateral), shape, 4242)
    return p, params, acct, build_solvency_circuit(shape, params, [acct], CTX)


@pytest.fixture(scope="module")
def hedged(cvenue):
    return _credit_circuit(cvenue, HEDGED)


@pytest.fixture(scope="module")
def capped(cvenue):
    return _credit_circuit(cvenue, CAPPED)


def test_credit_parameters_follow_the_market(cvenue):
    m, insts, params = cvenue
    params.check_bounds()
    cr = credits_of(params)
    ref = qz.quantize_spread_credits(insts, m, ("BTC", "ETH", "SOL"), m.spread_credits)
    assert cr.pairs == ref.pairs + ((0, 0, 0),)             # one padding slot
    assert (cr.PSM, cr.CM, cr.KC) == (ref.PSM, ref.CM, ref.KC) and cr.D[:len(insts)] == ref.D
    assert cr.pairs[:2] == ((0, 2, 500_000), (0, 1, 700_000)) and cr.CM == (700_000, 700_000, 500_000)
    assert params.PG[2] == params.PH[2] == (0, 0, 0) and params.CR[2] == 0


@pytest.mark.parametrize("which", ["hedged", "capped"])
def test_credit_witness_equals_integer_evaluator(cvenue, hedged, capped, which):
    p, params, acct, circ = hedged if which == "hedged" else capped
    m = cvenue[0]
    assert circ.cs.check() == []
    ref = qz.integer_margin(p, m, "span16")                   # the market's credits
    ev = evaluate(params, [acct])
    assert circ.requirement.value == ev.requirement == ref.requirement
    assert circ.equity.value == ev.equity == ref.equity
    # the credit is real: below the requirement without credits (+ the KC rounding slack)
    assert ref.requirement < qz.integer_margin(p, m, "span16", credits=()).requirement
    model = _scenario_model(params)
    res = qz.int_worst_case(model, tuple(acct.Q), credits_of(params))
    assert [k.value for k in circ.extra["kappa"]] == list(res.credit)
    assert [o.value for o in circ.extra["offsets"]] == list(res.offsets)
    assert [mm.value for mm in circ.extra["m"]] == list(res.scan)


def _scenario_model(params):
    s = params.shape
    groups = tuple(row.index(1) if 1 in row else -1 for row in params.GM)
    full = tuple(tuple(params.LOSS[i][k % s.scenarios] if groups[i] == k // s.scenarios else 0
                       for k in range(s.groups * s.scenarios)) for i in range(s.instruments))
    return qz.IntScenarioModel(tuple(f"g{g}" for g in range(s.groups)), groups,
                               tuple(k // s.scenarios for k in range(s.groups * s.scenarios)),
                               full, params.FLOOR, params.SHORT)


def test_the_books_exercise_tiers_and_cap(hedged, capped):
    _, params, acct, circ = hedged
    offs = [o.value for o in circ.extra["offsets"]]
    assert offs[0] > 0 and offs[1] > 0 and offs[2] == 0      # both tiers used, padding idle
    _, params, acct, circ = capped
    k, m, B = (circ.extra[x][0].value for x in ("kappa", "m", "B"))
    cap = params.CM[0] * qz.SCAN_RANGE_SCALE * m
    assert cap < B and k == cap // 10**12 < B // 10**12     # the cap binds for BTC


def test_credit_circuit_every_private_value_is_pinned(hedged):
    assert WitnessTampering.from_cs(hedged[3].cs).survivors() == []


def _forge(circ, overrides):
    w = circ.cs.solve(overrides=overrides)
    return w, {f.name for f in circ.cs.check(w)}, _value(circ.cs, circ.requirement, w)


ALPHA = "requirement/spread_credits/pair{}/exact_min/alpha.min"
BETA = "requirement/spread_credits/pair{}/exact_min/beta.min"


def test_attack_inflated_offset_fails(hedged):
    circ = hedged[3]
    for p in range(3):
        for f in (lambda v: v + 1, lambda v: 2 * v + 1, lambda v: v + 10**20):
            _, bad, _ = _forge(circ, {ALPHA.format(p): f})
            assert bad and all("exact_min" in b for b in bad if "spread_credits" in b), bad
            assert any(f"pair{p}/exact_min" in b for b in bad)


def test_attack_non_exact_min_moving_delta_to_a_higher_tier_fails(hedged):
    """Tier 1 (BTC/SOL, 0.5) offset set to 0 leaves BTC's delta for tier 2 (BTC/ETH, 0.7): the
    forged witness would lower the requirement, and the exact min refuses it."""
    _, params, acct, circ = hedged
    honest = circ.requirement.value
    w, bad, req = _forge(circ, {ALPHA.format(0): 0, BETA.format(0): 0})
    assert req < honest                                   # the attack would pay ...
    assert any("pair0/exact_min/alpha: (a-min)(b-min) = 0" in b for b in bad), bad    # ... but fails
    # the same forgery as "tiers in another order": the evaluator with the order swapped
    # gives the forged (lower) requirement, the circuit only the published order's
    cr = credits_of(params)
    swapped = replace(cr, pairs=(cr.pairs[1], cr.pairs[0], cr.pairs[2]))
    model = _scenario_model(params)
    assert qz.int_worst_case(model, acct.Q, swapped).requirement < honest == \
        qz.int_worst_case(model, acct.Q, cr).requirement


def test_attack_credit_above_cap_or_offsets_fails(hedged, capped):
    # capped book: the credit bound by B (larger than the cap) breaks the cap check
    circ = capped[3]
    B = circ.extra["B"][0].value
    _, bad, req = _forge(circ, {"requirement/credit0/kappa": B // 10**12})
    assert req < circ.requirement.value
    assert any("credit0" in b and "cap-kappa" in b for b in bad), bad
    # hedged book: one unit above the honest credit (= ⌊B/10¹²⌋ here) breaks B − 10¹²κ ≥ 0
    circ = hedged[3]
    _, bad, _ = _forge(circ, {"requirement/credit1/kappa": lambda v: v + 1})
    assert any("credit1" in b and "B-kappa" in b for b in bad), bad
    _, bad, _ = _forge(circ, {"requirement/credit1/kappa": lambda v: -1})
    assert any("credit1" in b and "kappa" in b for b in bad), bad


def test_attack_requirement_below_its_bounds_fails(hedged):
    circ = hedged[3]
    for g in range(3):
        _, bad, req = _forge(circ, {f"requirement/credit{g}/r": lambda v: v - 1})
        assert req < circ.requirement.value and any(f"credit{g}" in b for b in bad), bad
    # the scan bound itself cannot drop below a scenario loss
    _, bad, _ = _forge(circ, {"requirement/group0/m": lambda v: v - 1})
    assert any("group0" in b for b in bad)


@pytest.mark.parametrize("which", ["hedged", "capped"])
def test_raising_a_scan_bound_never_lowers_the_requirement(hedged, capped, which):
    """The prover's one freedom: any m_g ≥ scan_g (with its best credit) is a valid witness,
    and the requirement never falls (credit ≤ CM·m/10⁶ with CM ≤ 10⁶)."""
    circ = (hedged if which == "hedged" else capped)[3]
    honest = circ.requirement.value
    for g in range(3):
        for d in (1, 999_999, 10**6, 10**12 + 7, 10**18):
            w, bad, req = _forge(circ, {f"requirement/group{g}/m": lambda v, d=d: v + d})
            assert not bad and req >= honest, (g, d, bad)


def test_scan_ranges_are_exact_because_offsets_are_not_monotone():
    """Why PSM is not floored (integer evaluator, changed with the circuit): a smaller scan-risk
    delta of g in tier 1 (g, h; rate 0.1) leaves h's delta for tier 2 (h, k; rate 0.9), so the
    TOTAL credit rises -- a floored scan range would not be conservative."""
    Q, groups = (10**10, -10**10, 10**10), (0, 1, 2)
    scan = [10**40] * 3                                    # caps far away
    cr = qz.IntSpreadCredits(((0, 1, 100_000), (1, 2, 900_000)), (10**6,) * 3, (10**6,) * 3,
                             (10**6,) * 3, 0)
    exact, _ = qz.int_spread_credits(cr, groups, Q, scan)
    floored, _ = qz.int_spread_credits(replace(cr, PSM=(10**6 - 1, 10**6, 10**6)), groups, Q, scan)
    assert sum(floored) > sum(exact)
    doc = cmarket_doc()
    doc["underlyings"] = dict(UNDS, SOL=dict(UNDS["SOL"], price_scan=0.1234567))
    m = parse_market(doc)
    insts, _ = net_positions(parse_portfolio({"positions": VENUE_BOOK}, m))
    with pytest.raises(qz.QuantizationError, match="multiple of 1e-6"):
        venue_params("span16", insts, m, CSHAPE)
    doc["spread_credits"] = CREDITS[1:]                    # SOL in no pair: its scan is unused
    venue_params("span16", insts, parse_market(doc), CSHAPE).check_bounds()


def test_credit_bounds_are_checked(cvenue):
    _, _, params = cvenue
    bad = [dict(CM=(10**6 + 1,) + params.CM[1:]), dict(PSM=(10**6 + 1,) + params.PSM[1:]),
           dict(CR=(10**6 + 1,) + params.CR[1:]), dict(KC=1 << 32),
           dict(PG=((1, 1, 0),) + params.PG[1:]),                       # two-hot
           dict(PH=(params.PG[0],) + params.PH[1:]),                    # a pair of one group
           dict(CR=params.CR[:2] + (5,)),                               # a rated padding slot
           dict(PG=params.PG[:2] + ((0, 1, 0),)),                       # a half-empty slot
           dict(D=params.D[:-1]), dict(model="paradex")]
    for kw in bad:
        with pytest.raises(ParameterError):
            replace(params, **kw).check_bounds()
    with pytest.raises(ParameterError):            # credit parameters without pair slots
        replace(params, shape=replace(CSHAPE, pairs=0)).check_bounds()
    with pytest.raises(ParameterError):
        Shape("es", 4, 1, 1, 8, pairs=1)
    with pytest.raises(ParameterError):
        Shape("worst_case", 4, 1, 1, 8, pairs=33)


def test_too_few_pair_slots_is_refused(cvenue):
    m, insts, _ = cvenue
    with pytest.raises(ParameterError, match="pair slots"):
        venue_params("span16", insts, m, replace(CSHAPE, pairs=1))
    with pytest.raises(ParameterError, match="span16"):
        venue_params("paradex", insts, m, Shape("worst_case", 6, 1, 3, 16, pairs=2))


def test_credit_parameter_file_round_trip(cvenue):
    m, insts, params = cvenue
    pf = make_params_file("VenueC", 7, "span16", insts, cmarket_doc(), CSHAPE)
    doc = json.loads(json.dumps(pf.to_json()))
    assert doc["shape"]["pairs"] == 3 and set(doc["params"]) >= {"D", "PSM", "CM", "PG", "PH", "CR", "KC"}
    back = params_from_json(doc)
    assert back.params == pf.params and back.digest == pf.digest and recompute_problems(back) == []
    # the pair count is hashed: the same numbers under fewer slots are another digest
    assert pf.params.digest_vector()[2:7] == [6, 1, 3, 16, 3]
    edited = json.loads(json.dumps(doc))
    edited["params"]["CR"][0] = "600000"
    with pytest.raises(ProtocolError, match="digest"):
        params_from_json(edited)
    edited = json.loads(json.dumps(doc))
    edited["params"]["CM"][0] = "1000001"
    with pytest.raises(ProtocolError, match="CM"):
        params_from_json(edited)


def test_venue_params_cli_credit_slots(tmp_path):
    from typer.testing import CliRunner

    from zkmargin.cli.main import app
    (tmp_path / "market.json").write_text(json.dumps(cmarket_doc()))
    (tmp_path / "book.json").write_text(json.dumps({"instruments": [
        {k: v for k, v in x.items() if k != "quantity"} for x in VENUE_BOOK]}))
    r = CliRunner()
    base = ["venue", "params", str(tmp_path / "book.json"), "--market", str(tmp_path / "market.json"),
            "--venue", "VenueC", "--epoch", "7", "--instruments-slots", "6", "--scenarios", "16"]
    res = r.invoke(app, base + ["--out", str(tmp_path / "a.json")])
    assert res.exit_code == 0, res.output
    assert "2 spread-credit pair slot(s)" in res.output
    res = r.invoke(app, base + ["--credit-pairs", "4", "--out", str(tmp_path / "b.json")])
    assert res.exit_code == 0 and json.loads((tmp_path / "b.json").read_text())["shape"]["pairs"] == 4
    res = r.invoke(app, base + ["--no-spread-credits", "--out", str(tmp_path / "c.json")])
    assert res.exit_code == 0 and "pairs" not in json.loads((tmp_path / "c.json").read_text())["shape"]
    res = r.invoke(app, base + ["--credit-pairs", "1", "--out", str(tmp_path / "d.json")])
    assert res.exit_code == 2 and "need 2 pair slots" in res.output
    res = r.invoke(app, ["venue", "check", str(tmp_path / "b.json")])
    assert res.exit_code == 0 and res.output.startswith("OK")


def test_credit_venue_batch_circuit(cvenue):
    """The venue batch circuit reuses the requirement block: credits there too."""
    from zkmargin.circuits.venue_circuits import BatchContext, build_batch_circuit, shortfall_of
    m, insts, params = cvenue
    accts = [account_of(parse_portfolio(b, m), m, insts, tuple(m.collateral), CSHAPE, 77 + k)
             for k, b in enumerate((CAPPED, dict(HEDGED, collateral={})))]
    circ = build_batch_circuit(CSHAPE, params, accts, 2, BatchContext(1, 10_000, 3, 7, 0))
    assert circ.cs.check() == []
    assert [sf.value for sf in circ.shortfalls] == [shortfall_of(params, a, 10_000) for a in accts]
    assert circ.shortfalls[0].value == 0 < circ.shortfalls[1].value


# -- random differential test on a tiny public-parameter shape ------------------------------------

TINY = Shape("worst_case", 3, 1, 3, 2, params="public", pairs=3)


@st.composite
def tiny_case(draw):
    n, G, S, P = TINY.instruments, TINY.groups, TINY.scenarios, TINY.pairs
    grp = [draw(st.integers(-1, G - 1)) for _ in range(n)]
    GM = tuple(tuple(1 if g == k else 0 for k in range(G)) for g in grp)
    big = st.integers(-10**12, 10**12)
    LOSS = tuple(tuple(draw(big) for _ in range(S)) for _ in range(n))
    FLOOR = tuple(draw(st.integers(0, 10**11)) for _ in range(n))
    D = tuple(draw(st.integers(-10**11, 10**11)) for _ in range(n))
    scale = st.integers(0, 10**6)
    PSM = tuple(draw(scale) for _ in range(G))
    CM = tuple(draw(scale) for _ in range(G))
    PG, PH, CR = [], [], []
    for _ in range(P):
        if draw(st.booleans()):
            g, h = draw(st.permutations(range(G)))[:2]
            PG.append(tuple(1 if k == g else 0 for k in range(G)))
            PH.append(tuple(1 if k == h else 0 for k in range(G)))
            CR.append(draw(scale))
        else:
            PG.append((0,) * G)
            PH.append((0,) * G)
            CR.append(0)
    params = CircuitParams("span16", TINY, H=(10**15,), V=(0,) * n, GM=GM, LOSS=LOSS, FLOOR=FLOOR,
                           SHORT=(0,) * n, D=D, PSM=PSM, CM=CM, PG=tuple(PG), PH=tuple(PH), CR=tuple(CR),
                           KC=draw(st.integers(0, 40)))
    Q = tuple(draw(st.integers(-10**10, 10**10)) for _ in range(n))
    return params, Q


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_case())
def test_random_credit_books_witness_equals_evaluator(case):
    from zkmargin.circuits.margin_circuits import Account
    params, Q = case
    params.check_bounds()
    acct = Account(Q, 0, (10**17,), 5)
    circ = build_solvency_circuit(TINY, params, [acct], Context(1, 1, 0, 0, 0))
    assert circ.cs.check() == []
    assert circ.requirement.value == evaluate(params, [acct]).requirement


# ----------------------------------------------------------------------------- es from a policy

ES_SHAPE = Shape("es", 8, 3, 1, 24)


def _vol_series(md):
    days = md["history"]["dates"]
    return {"BTC": (tuple(days), [50.0 + 10.0 * math.sin(k / 7.0) for k in range(len(days))])}


@pytest.fixture(scope="module")
def es_policy():
    md, pd = _sample("market.json"), _sample("portfolio.json")
    m = parse_market(md)
    p = parse_portfolio(pd, m)
    insts, _ = net_positions(p)
    pf = make_params_file("VenueA", 20240524, "es", insts, md, ES_SHAPE, alpha="0.9",
                          vol_history=_vol_series(md), filtered=True)
    acct = account_of(p, m, insts, tuple(m.collateral), ES_SHAPE, 31)
    circ = build_solvency_circuit(ES_SHAPE, pf.params, [acct], Context(10, 10_000, 1, 1, 1))
    return md, p, insts, pf, acct, circ


def test_es_policy_arrays_are_the_margin_engines(es_policy):
    from zkmargin.margin.models import scenarios_for_shape
    from zkmargin.margin.riskarray import scenario_risk_array
    md, p, insts, pf, acct, circ = es_policy
    assert pf.options == {"alpha": "0.9", "vol_moves": "auto", "filtered": "true"}
    assert "vol_history" in pf.market and "vol_history" not in md
    m = pf.market_obj()
    cfg = replace(LEGACY, vol_moves="auto", filtered=True)
    scen = scenarios_for_shape(m, ["BTC", "ETH"], 24, historical=cfg)
    assert scen.vol_moves is not None and len(scen) == 24
    im = qz.quantize_es(scenario_risk_array(insts, [0.0] * len(insts), m, scen), "0.9")
    assert pf.params.LOSS[:len(insts)] == im.LOSS
    legacy = make_params_file("VenueA", 20240524, "es", insts, md, ES_SHAPE, alpha="0.9")
    assert legacy.params.LOSS != pf.params.LOSS            # options moved by vol, filtered returns
    # the same scenarios as the margin model's own es on this book
    ref = qz.integer_margin(p, m, "es", alpha="0.9", historical=replace(cfg, lookback=24))
    assert circ.requirement.value == ref.requirement == evaluate(pf.params, [acct]).requirement
    assert circ.cs.check() == []


def test_es_policy_file_is_recomputable_and_bound(es_policy):
    _, _, _, pf, _, _ = es_policy
    doc = json.loads(json.dumps(pf.to_json()))
    back = params_from_json(doc)
    assert back.digest == pf.digest and recompute_problems(back) == []
    for edit in ({"filtered": "false"}, {"vol_moves": "none"}):
        d = json.loads(json.dumps(doc))
        d["options"].update(edit)
        with pytest.raises(ProtocolError, match="meta"):
            params_from_json(d)
    d = json.loads(json.dumps(doc))
    d["market"]["vol_history"]["levels"]["BTC"][-2] += 5.0
    with pytest.raises(ProtocolError, match="meta"):
        params_from_json(d)
    # a venue that edits its vol history and re-hashes is caught by `venue check`
    from zkmargin.solvency.params import meta_hash
    d = json.loads(json.dumps(doc))
    d["market"]["vol_history"]["levels"]["BTC"][-2] += 5.0
    forged = replace(back, market=d["market"])
    forged = replace(forged, params=replace(forged.params, meta=meta_hash(forged.meta_doc())))
    assert "LOSS" in recompute_problems(forged)
    with pytest.raises(ProtocolError, match="es"):
        params_from_json(dict(doc, model="span16", options={"vol_moves": "auto"}))


def test_es_policy_circuit_every_private_value_is_pinned(es_policy):
    assert WitnessTampering.from_cs(es_policy[5].cs).survivors() == []


def test_es_market_historical_block_is_used(es_policy):
    md, p, insts, _, _, _ = es_policy
    mdh = dict(md, historical={"vol_moves": "proxy", "stress": ["2023-06-01", "2023-06-05"]})
    pf = make_params_file("VenueA", 1, "es", insts, mdh, ES_SHAPE)
    assert pf.options == {}
    assert pf.params.LOSS != make_params_file("VenueA", 1, "es", insts, md, ES_SHAPE).params.LOSS
    assert recompute_problems(params_from_json(json.loads(json.dumps(pf.to_json())))) == []


def test_venue_params_cli_vol_history(tmp_path):
    from typer.testing import CliRunner

    from zkmargin.cli.main import app
    md, pd = _sample("market.json"), _sample("portfolio.json")
    (tmp_path / "market.json").write_text(json.dumps(md))
    (tmp_path / "book.json").write_text(json.dumps(pd))
    days, lv = _vol_series(md)["BTC"]
    (tmp_path / "dvol.csv").write_text("Date,Open,High,Low,Close\n" + "".join(
        f"{d},{v:.2f},{v:.2f},{v:.2f},{v:.2f}\n" for d, v in zip(days, lv)))
    r = CliRunner()
    base = ["venue", "params", str(tmp_path / "book.json"), "--market", str(tmp_path / "market.json"),
            "--model", "es", "--venue", "VenueA", "--epoch", "1", "--scenarios", "24"]
    res = r.invoke(app, base + ["--vol-history", f"BTC={tmp_path / 'dvol.csv'}", "--out", str(tmp_path / "p.json")])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "p.json").read_text())
    assert doc["options"] == {"vol_moves": "auto"} and doc["market"]["vol_history"]["levels"]["BTC"][0] == float(f"{lv[0]:.2f}")
    res = r.invoke(app, ["venue", "check", str(tmp_path / "p.json")])
    assert res.exit_code == 0 and res.output.startswith("OK"), res.output
    res = r.invoke(app, base + ["--vol-moves", "sideways", "--out", str(tmp_path / "q.json")])
    assert res.exit_code == 2 and "vol_moves" in res.output
    res = r.invoke(app, base[:6] + ["span16"] + base[7:] + ["--stress", "2023-06-01:2023-06-05",
                                                           "--out", str(tmp_path / "r.json")])
    assert res.exit_code == 2 and "es options" in res.output


# ----------------------------------------------------------------------------- hvar: scenario VaR

Q_SHAPE = Shape("quantile", 8, 3, 1, 40)


def hvar_case():
    """The sample portfolio under an hvar (α = 0.9) parameter file for Q_SHAPE: (portfolio,
    parameter file, account, built circuit)."""
    md, pd = _sample("market.json"), _sample("portfolio.json")
    m = parse_market(md)
    p = parse_portfolio(pd, m)
    insts, _ = net_positions(p)
    pf = make_params_file("VenueA", 20240524, "hvar", insts, md, Q_SHAPE, alpha="0.9", vol_moves="proxy")
    acct = account_of(p, m, insts, tuple(m.collateral), Q_SHAPE, 33)
    circ = build_solvency_circuit(Q_SHAPE, pf.params, [acct], Context(11, 10_000, 1, 1, 1))
    return p, pf, acct, circ


@pytest.fixture(scope="module")
def hvar():
    return hvar_case()


def test_hvar_witness_equals_integer_evaluator(hvar):
    p, pf, acct, circ = hvar
    assert circ.cs.check() == []
    ref = qz.integer_margin(p, pf.market_obj(), "hvar", alpha="0.9",
                            historical=replace(LEGACY, vol_moves="proxy", lookback=40))
    res = qz.int_quantile_var(qz.IntESModel(pf.params.LOSS, pf.params.a, pf.params.b), acct.Q)
    assert circ.requirement.value == ref.requirement == res.var == evaluate(pf.params, [acct]).requirement
    assert circ.extra["k"].value == res.rank - 1 == 4                     # ⌊0.1·40⌋ scenarios excused
    assert sum(b.value for b in circ.extra["beta"]) == sum(1 for L in res.losses if L > res.var) == 4
    assert qz.quantile_certificate_holds(qz.IntESModel(pf.params.LOSS, pf.params.a, pf.params.b), acct.Q,
                                         circ.requirement.value)
    assert recompute_problems(params_from_json(json.loads(json.dumps(pf.to_json())))) == []


def test_hvar_every_private_value_is_pinned(hvar):
    assert WitnessTampering.from_cs(hvar[3].cs).survivors() == []


def test_hvar_attacks_fail(hvar):
    """Excusing one scenario more than j − 1 (the bound then drops to the next loss), a lower
    bound, or a non-boolean excuse weight: no witness."""
    _, pf, acct, circ = hvar
    res = qz.int_quantile_var(qz.IntESModel(pf.params.LOSS, pf.params.a, pf.params.b), acct.Q)
    order = sorted(range(40), key=lambda s: -res.losses[s])
    nxt = res.losses[order[5]]                           # the 6th worst: one more excused
    over = {"requirement/C": nxt, f"requirement/beta{order[4]}": 1}
    w, bad, req = _forge(circ, over)
    assert req < circ.requirement.value and any("excused<=k" in b for b in bad), bad
    _, bad, _ = _forge(circ, {"requirement/C": lambda v: v - 1})           # the VaR scenario excused too
    assert any("excused<=k" in b for b in bad), bad
    _, bad, _ = _forge(circ, {"requirement/C": lambda v: v - 1, f"requirement/beta{order[4]}": 0})
    assert any(f"C-L{order[4]}" in b for b in bad), bad
    # a β of 2 (or −1) would excuse more than it counts: the boolean check refuses it
    _, bad, _ = _forge(circ, {f"requirement/beta{order[0]}": 2})
    assert any(f"beta{order[0]} boolean" in b for b in bad), bad
    # a rank computed with another tail fraction is pinned by the division
    _, bad, _ = _forge(circ, {"requirement/floor_div/rank.q": lambda v: v + 1})
    assert any("rank" in b for b in bad), bad


def test_hvar_bounds_and_cli(tmp_path, hvar):
    _, pf, _, _ = hvar
    for kw in (dict(a=10, b=10), dict(a=0), dict(b=1 << 10)):
        with pytest.raises(ParameterError):
            replace(pf.params, **kw).check_bounds()
    from typer.testing import CliRunner

    from zkmargin.cli.main import app
    md, pd = _sample("market.json"), _sample("portfolio.json")
    (tmp_path / "market.json").write_text(json.dumps(md))
    (tmp_path / "book.json").write_text(json.dumps(pd))
    res = CliRunner().invoke(app, ["venue", "params", str(tmp_path / "book.json"), "--market",
                                   str(tmp_path / "market.json"), "--model", "hvar", "--venue", "VenueA",
                                   "--epoch", "1", "--scenarios", "100", "--vol-moves", "proxy",
                                   "--out", str(tmp_path / "p.json")])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "p.json").read_text())
    assert doc["shape"]["family"] == "quantile" and doc["options"] == {"vol_moves": "proxy"}


# ----------------------------------------------------------------------------- var refuses options

def test_var_is_refused_for_option_instrument_lists(tmp_path):
    md, pd = _sample("market.json"), _sample("portfolio.json")
    m = parse_market(md)
    insts, _ = net_positions(parse_portfolio(pd, m))
    assert any(i.is_option for i in insts)
    with pytest.raises(ParameterError, match="option"):
        venue_params("var", insts, m, Shape("var", 8, 3, 2, 0))
    with pytest.raises(ParameterError, match="option"):
        make_params_file("VenueA", 1, "var", insts, md, Shape("var", 8, 3, 2, 0))
    # an older var file that lists options is not proven either
    from zkmargin.solvency.opening import make_opening
    from zkmargin.solvency.prove import check_context
    lin = [i for i in insts if not i.is_option]
    pf = make_params_file("VenueA", 1, "var", lin, md, Shape("var", 8, 3, 2, 0))
    op = make_opening(dict(pd, positions=[x for x in pd["positions"] if x["type"] != "option"]), pf)
    check_context(pf, [op], nonce=1, buffer_bps=10_000)
    with pytest.raises(ProtocolError, match="option"):
        check_context(replace(pf, instruments=tuple(insts)), [op], nonce=1, buffer_bps=10_000)


# ----------------------------------------------------------------------------- Groth16, end to end

def _forged_bundle(f, op, record, overrides):
    """A Groth16 proof of a forged witness (hints overridden) for the opening ``op``, with the
    holder's honest attestation: what a trader running a modified prover would send."""
    from solvency_flow import NONCE

    from zkmargin.circuits.margin_circuits import MODEL_CODES
    from zkmargin.prover.groth16 import prove
    from zkmargin.solvency.attest import sign_account
    from zkmargin.solvency.bundle import Bundle, Statement, venue_id
    from zkmargin.solvency.keys import vk_fingerprint
    pf = f.pf
    ctx = Context(MODEL_CODES[pf.model], 10_000, venue_id(pf.venue), pf.epoch, NONCE)
    circ = build_solvency_circuit(pf.shape, pf.params, [op.account], ctx)
    w = circ.cs.solve(overrides=overrides)
    bad = {x.name for x in circ.cs.check(w)}
    out = prove(f.keys.pk, circ.cs.witness_limbs(w))
    att = sign_account(f.sk[pf.venue], pf.venue, op, pf, record, f.ledgers[pf.venue])
    st = Statement(pf.model, 10_000, pf.venue, pf.epoch, NONCE, pf.digest, pf.shape, ((op.commitment, "account"),))
    return Bundle(st, list(zip(circ.public_names, out.public_signals)), out.proof, vk_fingerprint(f.keys.vk),
                  [att]), bad


@pytest.mark.slow
def test_credits_end_to_end_groth16(tmp_path, cvenue):
    """span16 with spread credits, digest mode: an honest proof verifies; a trader who is
    solvent only if tier 1's offset is skipped (its delta earning tier 2's higher rate) gets a
    proof the verifier rejects."""
    from fractions import Fraction

    from solvency_flow import failed, make_flow

    from zkmargin.circuits.solvency import InsolventError, check_solvent
    from zkmargin.solvency.opening import make_opening
    m, insts, _ = cvenue
    f = make_flow(tmp_path, "span16", CSHAPE, md=cmarket_doc(), portfolios=[HEDGED], instruments=insts)
    assert f.pf.shape.pairs == 3 and f.verify(venue="VenueA").valid
    assert recompute_problems(f.pf) == []
    # the attack: collateral between the forged and the honest requirement
    over = {ALPHA.format(0): 0, BETA.format(0): 0}
    probe = make_opening(dict(HEDGED, collateral={}, account="probe"), f.pf)
    honest = evaluate(f.pf.params, [probe.account])
    circ = build_solvency_circuit(CSHAPE, f.pf.params, [probe.account], CTX)
    _, _, forged_req = _forge(circ, over)
    usd = Fraction(honest.requirement + forged_req, 2 * qz.MONEY) - Fraction(honest.equity, qz.MONEY)
    poor = dict(HEDGED, collateral={"USDC": round(float(usd), 2)}, account="poor")
    op = make_opening(poor, f.pf)
    with pytest.raises(InsolventError):
        check_solvent(f.pf.params, [op.account], 10_000)
    bundle, bad = _forged_bundle(f, op, poor, over)
    assert bad and all("pair0/exact_min" in b for b in bad), bad      # only the min is violated
    assert failed(f.verify(bundle, venue="VenueA")) == {"groth16"}


@pytest.mark.slow
def test_hvar_end_to_end_groth16(tmp_path):
    """hvar (scenario VaR, vol moves) proven in digest mode; a proof that excuses one scenario
    more than the rank allows is rejected."""
    from solvency_flow import failed, make_flow
    f = make_flow(tmp_path, "hvar", Q_SHAPE, params_options=dict(alpha="0.9", vol_moves="proxy"))
    assert f.verify(venue="VenueA").valid
    acct = f.ops[0].account
    res = qz.int_quantile_var(qz.IntESModel(f.pf.params.LOSS, f.pf.params.a, f.pf.params.b), acct.Q)
    order = sorted(range(40), key=lambda s: -res.losses[s])
    over = {"requirement/C": res.losses[order[5]], f"requirement/beta{order[4]}": 1}
    bundle, bad = _forged_bundle(f, f.ops[0], _sample("portfolio.json"), over)
    assert bad and all("excused<=k" in b for b in bad), bad
    assert failed(f.verify(bundle, venue="VenueA")) == {"groth16"}


@pytest.mark.slow
def test_es_policy_end_to_end_groth16(tmp_path):
    """es with vol moves and filtering in the parameter file: an honest proof verifies and the
    file recomputes; a proof of a lowered ES bound is rejected."""
    from solvency_flow import failed, make_flow
    md = _sample("market.json")
    f = make_flow(tmp_path, "es", ES_SHAPE,
                  params_options=dict(alpha="0.9", vol_history=_vol_series(md), filtered=True))
    assert f.pf.options["vol_moves"] == "auto" and f.verify(venue="VenueA").valid
    assert recompute_problems(params_from_json(json.loads(json.dumps(f.pf.to_json())))) == []
    op = f.ops[0]
    record = _sample("portfolio.json")             # the venue's own record of the account
    bundle, bad = _forged_bundle(f, op, record, {"requirement/C": lambda v: v - 10**12})
    assert bad and all("RU_bound" in b for b in bad), bad
    assert failed(f.verify(bundle, venue="VenueA")) == {"groth16"}
