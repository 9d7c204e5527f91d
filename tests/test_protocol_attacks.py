"""The protocol-soundness attack suite: a hostile trader (and a careless attester) against the
protocol around the proof.

Every test builds the attack through the public library (or the CLI) and sees it rejected by a
named check. Where the library's own prover refuses the attack early (duplicate commitments,
a foreign attestation), the attacker goes around it: :func:`forge` builds the circuit and an
honest Groth16 proof directly, so the rejection shown is the verifier's, not the prover's
politeness. The numbering follows the review in docs/PROTOCOL.md ("Attacks and the checks
that stop them").
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from fractions import Fraction

import pytest
from solvency_flow import EPOCH, NONCE, ROLES, SPAN, base, failed, make_flow

from zkmargin.algebra.constants import R
from zkmargin.circuits.margin_circuits import ACCOUNT_KINDS, MODEL_CODES, Context, Shape, build_solvency_circuit
from zkmargin.circuits.solvency import evaluate
from zkmargin.errors import ZkmarginError
from zkmargin.margin.quantize import MONEY, QuantizationError
from zkmargin.solvency import trust as tr
from zkmargin.solvency.attest import Ledger, account_ref, attest, sign_account
from zkmargin.solvency.bundle import Bundle, Statement, venue_id
from zkmargin.solvency.keys import setup_keys, setup_record, vk_fingerprint
from zkmargin.solvency.opening import make_opening
from zkmargin.solvency.params import ProtocolError, make_params_file, params_from_json
from zkmargin.solvency.prove import prove_solvency

THREE = Shape("worst_case", 8, 3, 2, 16, accounts=3)


def forge(pf, keys, accounts, attestations, *, nonce=NONCE, buffer_bps=10_000) -> Bundle:
    """An honest Groth16 proof of ``accounts`` under ``pf``, wrapped in a bundle by hand (no
    prover-side checks). The circuit must be satisfiable: the proof itself is never fake."""
    from zkmargin.prover.groth16 import prove
    ctx = Context(MODEL_CODES[pf.model], buffer_bps, venue_id(pf.venue), pf.epoch, nonce)
    circ = build_solvency_circuit(pf.shape, pf.params, accounts, ctx)
    assert circ.cs.check() == [], "the attack needs a satisfiable circuit"
    out = prove(keys.pk, circ.cs.witness_limbs())
    st = Statement(pf.model, buffer_bps, pf.venue, pf.epoch, nonce, pf.digest, pf.shape,
                   tuple((a.commitment(), ACCOUNT_KINDS[a.kind]) for a in accounts))
    return Bundle(st, list(zip(circ.public_names, out.public_signals)), out.proof, vk_fingerprint(keys.vk),
                  list(attestations))


def groth16_ok(report) -> bool:
    return "groth16" not in failed(report)


@pytest.fixture(scope="module")
def span(tmp_path_factory):
    return make_flow(tmp_path_factory.mktemp("span"))


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    """Positions at VenueA (kind positions) and collateral at CustodianX (kind collateral),
    sized so that the two together are INSOLVENT, but would be solvent with the custodian's
    collateral counted twice. A 3-account shape leaves room for the double count."""
    tmp = tmp_path_factory.mktemp("split")
    md, pd, _ = base()
    positions = dict(pd, collateral={}, account="trader")
    flow = make_flow(tmp, shape=THREE, portfolios=[dict(positions, account="flow-p"),
                                                   dict(pd, positions=[], account="flow-c1"),
                                                   dict(pd, positions=[], account="flow-c2")],
                     holders=["VenueA", "CustodianX", "CustodianY"],
                     kinds=["positions", "collateral", "collateral"])
    pf = flow.pf
    op_p = make_opening(positions, pf, kind="positions")
    empty = make_opening(dict(pd, positions=[], collateral={}), pf, kind="collateral")
    ev = evaluate(pf.params, [op_p.account, empty.account, empty.account])
    usd = Fraction(ev.requirement - ev.equity, MONEY) * Fraction(3, 4)      # 0.75 of the gap
    cust = dict(pd, positions=[], collateral={"USDC": round(float(usd), 2)}, account="trader")
    op_c = make_opening(cust, pf, kind="collateral")
    assert not evaluate(pf.params, [op_p.account, op_c.account, empty.account]).solvent(10_000)
    assert evaluate(pf.params, [op_p.account, op_c.account, op_c.account]).solvent(10_000)
    return dict(flow=flow, positions=positions, cust=cust, op_p=op_p, op_c=op_c, empty=empty)


# ------------------------------------------------------------------------ 1. no double counting

def test_1a_same_commitment_twice_is_rejected(split, tmp_path):
    """[venue, custodian, custodian]: one attestation for both copies of the custodian's account."""
    f, op_p, op_c = split["flow"], split["op_p"], split["op_c"]
    with pytest.raises(ProtocolError, match="counted twice"):          # the honest prover refuses ...
        prove_solvency(f.pf, f.keys.pk, [op_p, op_c, op_c], nonce=NONCE, buffer_bps=10_000)
    att_p = sign_account(f.sk["VenueA"], "VenueA", op_p, f.pf, split["positions"], Ledger(tmp_path / "v.jsonl"))
    att_c = sign_account(f.sk["CustodianX"], "CustodianX", op_c, f.pf, split["cust"], Ledger(tmp_path / "c.jsonl"))
    evil = forge(f.pf, f.keys, [op_p.account, op_c.account, op_c.account], [att_p, att_c])
    rep = f.verify(evil)                                                # ... and the verifier too
    assert groth16_ok(rep) and "distinct commitments" in failed(rep)
    evil.attestations = [att_p, att_c, att_c]                           # one attestation, listed twice
    assert {"distinct commitments", "attestation #3 (CustodianX) account"} <= failed(f.verify(evil))


def test_1b_same_account_under_two_salts_is_refused_by_the_ledger(split, tmp_path):
    f, op_p = split["flow"], split["op_p"]
    pd_c = dict(split["cust"], account="trader-2")
    ledger = Ledger(tmp_path / "custodian.jsonl")
    first = make_opening(pd_c, f.pf, kind="collateral")
    second = make_opening(pd_c, f.pf, kind="collateral")               # same account, new salt
    assert first.commitment != second.commitment
    a1 = sign_account(f.sk["CustodianX"], "CustodianX", first, f.pf, pd_c, ledger)
    with pytest.raises(ProtocolError, match="already has a signed commitment"):
        sign_account(f.sk["CustodianX"], "CustodianX", second, f.pf, pd_c, ledger)
    with pytest.raises(ProtocolError, match="already has a signed commitment"):       # spelt another way
        sign_account(f.sk["CustodianX"], "CustodianX", second, f.pf, dict(pd_c, account="TRADER-2"), ledger)
    with pytest.raises(ProtocolError, match="exactly these holdings"):                 # named another way
        sign_account(f.sk["CustodianX"], "CustodianX", second, f.pf, dict(pd_c, account="t2"), ledger)
    with pytest.raises(ProtocolError, match="your record names account"):
        sign_account(f.sk["CustodianX"], "CustodianX", second, f.pf, pd_c, ledger, account="someone-else")
    # signing the same commitment again is harmless: the same attestation
    assert sign_account(f.sk["CustodianX"], "CustodianX", first, f.pf, pd_c, ledger) == a1
    # a custodian that lost its ledger signs the second one anyway: the verifier still sees one account
    careless = sign_account(f.sk["CustodianX"], "CustodianX", second, f.pf, pd_c,
                            Ledger(ledger.path.with_name("lost.jsonl")))
    assert careless.account_ref == a1.account_ref
    att_p = sign_account(f.sk["VenueA"], "VenueA", op_p, f.pf, split["positions"], Ledger(tmp_path / "v.jsonl"))
    evil = forge(f.pf, f.keys, [op_p.account, first.account, second.account], [att_p, a1, careless])
    rep = f.verify(evil)
    assert groth16_ok(rep) and "attestation #3 (CustodianX) account" in failed(rep)
    assert "commitment_2 attested" in failed(rep)


def test_1_honest_split_account_is_insolvent(split):
    f, op_p, op_c, empty = split["flow"], split["op_p"], split["op_c"], split["empty"]
    from zkmargin.circuits.solvency import InsolventError
    with pytest.raises(InsolventError):
        prove_solvency(f.pf, f.keys.pk, [op_p, op_c, empty], nonce=NONCE, buffer_bps=10_000)


# ------------------------------------------------------------------------ 2. parameters are bound

@pytest.fixture(scope="module")
def two_venues(span):
    """VenueB: same instruments and shape, a milder market (smaller scans); an account that is
    insolvent under VenueA's parameters but solvent under VenueB's."""
    md, pd, insts = base()
    mild = copy.deepcopy(md)
    for u in mild["underlyings"].values():
        u["price_scan"] = u["price_scan"] / 3
        u["vol_scan"] = u["vol_scan"] / 3
    kb = tr.new_key()
    pfb = make_params_file("VenueB", EPOCH, "span16", insts, mild, SPAN).signed(kb, "VenueB")
    bare = dict(pd, collateral={})
    ev_a = evaluate(span.pf.params, [make_opening(bare, span.pf).account])
    ev_b = evaluate(pfb.params, [make_opening(bare, pfb).account])
    assert ev_b.requirement < ev_a.requirement and ev_a.equity == ev_b.equity
    usd = float(Fraction((ev_a.requirement + ev_b.requirement) // 2 - ev_a.equity, MONEY))
    poor = dict(pd, collateral={"USDC": round(usd, 2)}, account="acct-9")
    op_a = make_opening(poor, span.pf)
    assert not evaluate(span.pf.params, [op_a.account]).solvent(10_000)
    assert evaluate(pfb.params, [op_a.account]).solvent(10_000)        # same vector, other meaning
    trust = span.trust.with_key("VenueB", tr.public_hex(kb), ROLES["venue"])
    return dict(pfb=pfb, kb=kb, poor=poor, op_a=op_a, trust=trust)


def test_2_attestation_under_venue_a_cannot_be_proven_under_venue_b(tmp_path, span, two_venues):
    pfb, op_a, poor = two_venues["pfb"], two_venues["op_a"], two_venues["poor"]
    att = sign_account(span.sk["VenueA"], "VenueA", op_a, span.pf, poor, Ledger(tmp_path / "l.jsonl"))
    forged_opening = replace(op_a, params_digest=pfb.digest)           # the trader edits its opening
    with pytest.raises(ProtocolError, match="another epoch or parameter file"):
        prove_solvency(pfb, span.keys.pk, [forged_opening], nonce=NONCE, buffer_bps=10_000, attestations=[att])
    evil = forge(pfb, span.keys, [op_a.account], [att])                # around the prover
    # the auditor is handed VenueB's file by the trader
    rep = span.verify(evil, pf=pfb, trust=two_venues["trust"])
    assert groth16_ok(rep)
    assert {"attestation #1 (VenueA) parameter file", "commitment_0 attested"} <= failed(rep)
    assert "expected venue" in failed(span.verify(evil, pf=pfb, trust=two_venues["trust"], venue="VenueA"))
    # the auditor uses VenueA's own file: the statement's digest is not that file's
    assert "parameter digest" in failed(span.verify(evil))


def test_2_a_lookalike_file_with_venue_b_numbers_is_refused(span, two_venues):
    """VenueB's numbers relabelled as VenueA's: another digest, and not signed by VenueA."""
    pfb = two_venues["pfb"]
    doc = pfb.to_json()
    doc["venue"] = "VenueA"
    doc.pop("signature")
    with pytest.raises(ProtocolError, match="meta does not match"):
        params_from_json(doc)
    look = make_params_file("VenueA", EPOCH, "span16", pfb.instruments, pfb.market, SPAN)
    assert look.params.vector() == pfb.params.vector() and look.digest != pfb.digest
    att = attest(span.sk["VenueA"], "VenueA", commitment=two_venues["op_a"].commitment, epoch=EPOCH,
                 params_digest=span.pf.digest, role="account", account_ref="00" * 16)
    evil = forge(look, span.keys, [two_venues["op_a"].account], [att])
    rep = span.verify(evil, pf=look)
    assert groth16_ok(rep)
    assert {"parameter file signature", "attestation #1 (VenueA) parameter file"} <= failed(rep)
    forged_sig = look.signed(two_venues["kb"], "VenueA")               # VenueB's key under VenueA's name
    assert "parameter file signature" in failed(span.verify(evil, pf=forged_sig))


# ------------------------------------------------------------------------ 3. --no-dev judges the key

def test_3_development_flag_comes_from_the_setup_record_not_the_bundle(span):
    doc = span.doc()
    doc["development_only"] = False                                     # the v1 field: no longer read
    with pytest.raises(ZkmarginError, match="unknown field 'development_only'"):
        Bundle.from_json(doc)
    assert span.record.development_only                                 # the documented dev flow says so
    assert "setup" in failed(span.verify(allow_development=False))
    assert "setup" in failed(span.verify(allow_development=False, setup=None))
    # a record edited to claim a ceremony: its signature breaks
    from zkmargin.solvency.keys import setup_record_from_json
    rec = span.record.to_json()
    rec["phase1"]["source"] = "ceremony"
    rec["development_only"] = False
    lying = setup_record_from_json(rec)
    rep = span.verify(allow_development=False, setup=lying)
    assert "setup record signature" in failed(rep)
    assert "phase-2 contribution" in {c.name: c.detail for c in rep.checks}["setup"]   # and one party only
    # ... re-signed by the trader's own key: not a key trusted for setups
    resigned = lying.signed(tr.new_key(), "VenueA")
    assert "setup record signature" in failed(span.verify(allow_development=False, setup=resigned))
    # a record for another key
    other = replace(span.record, vk_fingerprint="sha256:" + "0" * 64)
    assert "setup record" in failed(span.verify(setup=other))


def test_3_a_dev_ptau_passed_as_ceremony_is_still_development(span):
    from zkmargin.prover.setup import circuit_power
    from zkmargin.solvency.keys import cache_dir, setup_circuit
    cs = setup_circuit(span.pf.shape, "span16").cs
    need = circuit_power(len(cs.constraints), cs.n_public)
    # the smallest cached development ptau that fits (a larger one only costs time)
    powers = sorted(int(p.stem[len("dev-power"):]) for p in cache_dir().glob("dev-power*.ptau")
                    if p.stem[len("dev-power"):].isdigit())
    fit = [h for h in powers if h >= need]
    if not fit:
        pytest.skip("no cached development ptau for this shape")
    keys = setup_keys(span.pf.shape, cache_dir() / f"dev-power{fit[0]}.ptau", model="span16")
    assert keys.development_only and keys.phase1["source"] == "development"


# ------------------------------------------------------------------------ 4. the verdict is verified

def test_4_display_fields_are_refused_and_names_cannot_inject_lines(span):
    for key, value in (("claim", "1 x"), ("buffer", 1.0), ("params_venue", "VenueA"), ("venue_id", "1")):
        doc = span.doc()
        doc["statement"][key] = value
        with pytest.raises(ZkmarginError, match="unknown field"):
            Bundle.from_json(doc)
    doc = span.doc()
    doc["statement"]["venue"] = "VenueA\n  ok   groth16"
    with pytest.raises(ZkmarginError, match="statement.venue"):
        Bundle.from_json(doc)


def test_4_tiny_buffer_is_refused_by_default(tmp_path):
    """An insolvent account proven at buffer 0.0001: valid Groth16, refused unless asked for."""
    _, pd, _ = base()
    poor = dict(pd, collateral={"USDC": 40_000.0})
    f = make_flow(tmp_path, portfolios=[poor], buffer_bps=1)
    rep = f.verify()
    assert groth16_ok(rep) and failed(rep) == {"buffer"}
    assert f.verify(min_buffer_bps=1).valid
    assert failed(f.verify(min_buffer_bps=2)) == {"buffer"}
    doc = f.doc()
    doc["statement"]["buffer_bps"] = 0
    with pytest.raises(ZkmarginError, match="buffer_bps"):
        Bundle.from_json(doc)


# ------------------------------------------------------------------------ 5. roles mean something

def test_5_a_custodian_cannot_vouch_for_a_full_account(split):
    f = split["flow"]
    _, pd, _ = base()
    full = make_opening(pd, f.pf, kind="account")
    # a careless custodian signs the full account (its tool would refuse the role for this kind) ...
    att = attest(f.sk["CustodianX"], "CustodianX", commitment=full.commitment, epoch=EPOCH,
                 params_digest=f.pf.digest, role="account",
                 account_ref=account_ref(f.sk["CustodianX"], "t", EPOCH, f.pf.digest))
    evil = forge(f.pf, f.keys, [full.account, split["empty"].account,
                                make_opening(dict(pd, positions=[], collateral={}), f.pf, kind="collateral").account],
                 [att])
    rep = f.verify(evil)
    assert groth16_ok(rep)
    assert {"attestation #1 (CustodianX) trust", "commitment_0 attested"} <= failed(rep)


def test_5_collateral_kind_cannot_carry_positions(split):
    """Relabelling the full account as 'collateral' to fit the custodian's role: no witness."""
    f = split["flow"]
    _, pd, _ = base()
    with pytest.raises(ProtocolError, match="collateral account holds no positions"):
        make_opening(pd, f.pf, kind="collateral")
    full = make_opening(pd, f.pf, kind="account")
    relabelled = replace(full.account, kind=2)
    ctx = Context(MODEL_CODES["span16"], 10_000, venue_id(f.pf.venue), EPOCH, NONCE)
    circ = build_solvency_circuit(f.pf.shape, f.pf.params, [relabelled, split["empty"].account,
                                                           split["empty"].account], ctx)
    assert [c for c in circ.cs.check() if "kind0" in c.name]


def test_5_statement_kind_must_match_the_attested_role(split):
    f = split["flow"]
    doc = f.doc()
    doc["statement"]["accounts"][1]["kind"] = "account"                # collateral account relabelled
    rep = f.verify(doc)
    assert {"groth16", "attestation #2 (CustodianX) role"} <= failed(rep)


# ------------------------------------------------------------------------ 6. the parameter file header

def test_6_params_for_another_epoch_or_venue(span):
    md, _, insts = base()
    tomorrow = make_params_file("VenueA", EPOCH + 1, "span16", insts, md, SPAN).signed(span.sk["VenueA"], "VenueA")
    rep = span.verify(pf=tomorrow)
    assert {"parameter digest", "epoch", "attestation #1 (VenueA) parameter file"} <= failed(rep)
    doc = span.pf.to_json()
    for edit in (lambda d: d.__setitem__("epoch", EPOCH + 1),
                 lambda d: d["instruments"][0].__setitem__("instrument", "RENAMED"),
                 lambda d: d["assets"].reverse(),
                 lambda d: d["market"]["underlyings"]["BTC"].__setitem__("spot", 1.0),
                 lambda d: d["options"].__setitem__("alpha", "0.5")):
        d = copy.deepcopy(doc)
        edit(d)
        with pytest.raises(ProtocolError, match="meta does not match"):
            params_from_json(d)


def test_6_venue_check_recomputes_the_numbers(span):
    from zkmargin.solvency.params import recompute_problems
    assert recompute_problems(span.pf) == []
    loss = [list(r) for r in span.pf.params.LOSS]
    loss[0][0] -= 1
    cheap = replace(span.pf, params=replace(span.pf.params, LOSS=tuple(map(tuple, loss))))
    assert recompute_problems(cheap) == ["LOSS"]


# ------------------------------------------------------------------------ 7. conservative quantisation

@pytest.mark.parametrize("qty", [1.000000001, 0.30000000000000004, -2.123456789123, 1e-9])
def test_7_quantities_are_never_rounded(span, qty):
    _, pd, _ = base()
    doc = copy.deepcopy(pd)
    doc["positions"][0]["quantity"] = qty
    with pytest.raises(QuantizationError, match="not a multiple of 1e-8") as e:
        make_opening(doc, span.pf)
    assert str(qty) not in str(e.value) and str(abs(qty)) not in str(e.value)


def test_7_split_positions_sum_exactly(span):
    _, pd, _ = base()
    doc = copy.deepcopy(pd)
    p = doc["positions"][4]                       # 0.5 BTC spot as 0.1 + 0.2 + 0.2
    doc["positions"][4:5] = [dict(p, quantity=0.1), dict(p, quantity=0.2), dict(p, quantity=0.2)]
    assert make_opening(doc, span.pf, salt=5).account == make_opening(pd, span.pf, salt=5).account


def test_7_nonce_and_buffer_ranges(span):
    for nonce in (-1, R):
        with pytest.raises(ProtocolError, match="nonce"):
            prove_solvency(span.pf, span.keys.pk, span.ops, nonce=nonce, buffer_bps=10_000)
    with pytest.raises(ProtocolError, match="buffer"):
        prove_solvency(span.pf, span.keys.pk, span.ops, nonce=1, buffer_bps=0)


# ------------------------------------------------------------------------ 8. no secret in a message

def test_8_error_messages_carry_no_amounts(span):
    _, pd, _ = base()
    for edit, secret in ((lambda d: d["collateral"].__setitem__("BTC", 2e9), "2000000000"),
                         (lambda d: d["positions"][0].__setitem__("quantity", -2.123456789123), "2123456789")):
        doc = copy.deepcopy(pd)
        edit(doc)
        with pytest.raises(ZkmarginError) as e:
            make_opening(doc, span.pf)
        assert secret not in str(e.value).replace(".", "").replace(",", "")


# ------------------------------------------------------------------------ the review's own findings

def test_unsigned_or_wrongly_signed_parameter_file(span):
    unsigned = replace(span.pf, signature=None)
    assert "parameter file signature" in failed(span.verify(pf=unsigned))
    by_custodian_role = span.trust.with_key("VenueA", tr.public_hex(span.sk["VenueA"]), ["account"])
    rep = span.verify(trust=by_custodian_role)
    assert "parameter file signature" in failed(rep) and "setup record signature" in failed(rep)


def test_no_trust_file_is_not_a_pass(span):
    assert failed(span.verify(trust=None)) == {"trust"}
    rep = span.verify(trust=None, allow_unattested=True)
    assert rep.valid and any("nobody vouches" in n for n in rep.notes)


def test_attestation_for_another_epoch_or_commitment(span):
    op = span.ops[0]
    ref = account_ref(span.sk["VenueA"], "acct-0", EPOCH - 1, span.pf.digest)
    old = attest(span.sk["VenueA"], "VenueA", commitment=op.commitment, epoch=EPOCH - 1,
                 params_digest=span.pf.digest, role="account", account_ref=ref)
    doc = span.doc()
    doc["attestations"] = [old.to_json()]
    assert {"attestation #1 (VenueA) epoch", "commitment_0 attested"} <= failed(span.verify(doc))
    stray = attest(span.sk["VenueA"], "VenueA", commitment=op.commitment + 1, epoch=EPOCH,
                   params_digest=span.pf.digest, role="account", account_ref=ref)
    doc = span.doc()
    doc["attestations"].append(stray.to_json())
    assert "attestation #2 (VenueA) commitment" in failed(span.verify(doc))


def test_attester_signs_only_what_its_books_say(tmp_path, span):
    _, pd, _ = base()
    richer = dict(pd, collateral=dict(pd["collateral"], USDC=10_000_000.0))
    op = make_opening(richer, span.pf)
    with pytest.raises(ProtocolError, match="does not match account"):
        sign_account(span.sk["VenueA"], "VenueA", op, span.pf, pd, Ledger(tmp_path / "l.jsonl"))
    with pytest.raises(ProtocolError, match="cannot be attested as 'collateral'"):
        sign_account(span.sk["VenueA"], "VenueA", span.ops[0], span.pf, pd, Ledger(tmp_path / "l.jsonl"),
                     role="collateral")
    with pytest.raises(ZkmarginError, match="record.account"):
        sign_account(span.sk["VenueA"], "VenueA", span.ops[0], span.pf, dict(pd, account=""),
                     Ledger(tmp_path / "l.jsonl"))


def test_statement_venue_swapped_to_the_expected_one(span):
    doc = span.doc()
    doc["statement"]["venue"] = "VenueB"
    rep = span.verify(doc, venue="VenueB")
    assert {"venue", "groth16"} <= failed(rep)


def test_trust_file_v1_is_refused_with_a_way_out():
    with pytest.raises(tr.TrustError, match="lists no roles"):
        tr.trust_from_json({"format": "zkmargin/trust/v1", "keys": {"A": "00" * 32}})


def test_public_input_outside_the_field_is_refused(span):
    doc = span.doc()
    doc["public_inputs"][3]["value"] = str(int(doc["public_inputs"][3]["value"]) + R)
    with pytest.raises(ZkmarginError, match="out of range"):
        Bundle.from_json(doc)
    doc = span.doc()
    doc["version"] = 1
    with pytest.raises(ProtocolError, match="version"):
        Bundle.from_json(doc)


# ------------------------------------------------------------------------ nothing lost (CLI)

def test_cli_never_replaces_secrets_and_checks_outputs_first(tmp_path):
    from typer.testing import CliRunner

    from zkmargin.cli.main import app
    md, pd, _ = base()
    (tmp_path / "market.json").write_text(json.dumps(md))
    (tmp_path / "p.json").write_text(json.dumps(pd))
    d = str(tmp_path)

    def run(*args):
        r = CliRunner().invoke(app, list(args))
        assert "Traceback" not in r.output
        return r

    assert run("attest", "keygen", "V", "--out", f"{d}/k.json").exit_code == 0
    key = (tmp_path / "k.json").read_text()
    r = run("attest", "keygen", "V", "--out", f"{d}/k.json")
    assert r.exit_code == 2 and "--force" in r.output and (tmp_path / "k.json").read_text() == key
    assert run("venue", "params", f"{d}/p.json", "--market", f"{d}/market.json", "--venue", "V", "--epoch", "1",
               "--key", f"{d}/k.json", "--out", f"{d}/params.json").exit_code == 0
    commit = ("commit", f"{d}/p.json", "--params", f"{d}/params.json", "--out", f"{d}/c.json", "--opening", f"{d}/o.json")
    assert run(*commit).exit_code == 0
    before = ((tmp_path / "c.json").read_text(), (tmp_path / "o.json").read_text())
    r = run(*commit)                                                  # a second commit: both or neither
    assert r.exit_code == 2 and "--force" in r.output
    assert ((tmp_path / "c.json").read_text(), (tmp_path / "o.json").read_text()) == before
    sign = ("attest", "sign", f"{d}/o.json", "--params", f"{d}/params.json", "--portfolio", f"{d}/p.json",
            "--epoch", "1", "--key", f"{d}/k.json", "--out", f"{d}/att.json")
    assert run(*sign).exit_code == 0
    assert run(*commit, "--force").exit_code == 0                     # a new salt for the same account ...
    r = run(*sign, "--force")                                         # ... is not signed a second time
    assert r.exit_code == 2 and "already has a signed commitment" in r.output
    r = run("prove", "--params", f"{d}/params.json", "--zkey", f"{d}/missing.zkey", "--opening", f"{d}/o.json",
            "--nonce", "1", "--out", f"{d}/nodir/b.json")
    assert r.exit_code == 2 and "nodir does not exist" in r.output     # before reading anything heavy
    r = run("prove", "--params", f"{d}/params.json", "--zkey", f"{d}/missing.zkey", "--opening", f"{d}/o.json",
            "--nonce", "-1")
    assert r.exit_code == 2
    assert not list(tmp_path.glob(".*.tmp")) and not list(tmp_path.glob(".*staged"))


# ------------------------------------------------------------------------ second review (red team)

def test_r1_the_verifying_key_must_be_vouched_for(span, two_venues):
    """A key the prover made would accept anything: with a trust file, a setup record signed by
    the parameter file's own venue is required."""
    rep = span.verify(setup=None)
    assert "setup record" in failed(rep)
    assert span.verify(setup=None, trust=None, allow_unattested=True).valid     # explicitly unvouched
    pfb, kb = two_venues["pfb"], two_venues["kb"]
    other = setup_record(span.keys, pfb).signed(kb, "VenueB")       # VenueB vouches for the same key
    rep = span.verify(setup=other, trust=two_venues["trust"])
    assert {"setup record", "setup record signature"} <= failed(rep)


def test_r5_parameter_slots_name_one_thing_each(span):
    md, _, insts = base()
    for assets, why in ((("USDC", "USDC", "BTC"), "appears twice"), (("USDC", "ZZZ"), "not priced")):
        with pytest.raises(ProtocolError, match=why):
            make_params_file("VenueA", EPOCH, "span16", insts, md, SPAN, assets=assets)
    with pytest.raises(ProtocolError, match="appears twice"):
        make_params_file("VenueA", EPOCH, "span16", [insts[0], insts[0]], md, SPAN)
    doc = span.pf.to_json()
    doc["assets"] = ["USDC", "USDC", "BTC"]
    with pytest.raises(ProtocolError, match="appears twice"):
        params_from_json(doc)


def test_r6_demo_only_ever_touches_its_own_folder(tmp_path):
    from typer.testing import CliRunner

    from zkmargin.cli.main import app
    work = tmp_path / "work"
    (work / "secret").mkdir(parents=True)
    (work / "bundle.json").write_text("{}")
    (work / "secret" / "prod_venue_key.json").write_text("precious")
    r = CliRunner().invoke(app, ["demo", "--out", str(work)])
    assert r.exit_code == 2 and (work / "secret" / "prod_venue_key.json").read_text() == "precious"


def test_r6_outputs_are_never_replaced_without_force(tmp_path, span):
    from typer.testing import CliRunner

    from zkmargin.cli.main import app
    from zkmargin.solvency.params import write_params
    write_params(span.pf, tmp_path / "params.json")
    key = tmp_path / "venue_key.json"
    tr.write_private_key(key, "VenueA", span.sk["VenueA"])
    before = key.read_text()
    r = CliRunner().invoke(app, ["venue", "params", str(tmp_path / "params.json"), "--market", str(tmp_path / "params.json"),
                                 "--venue", "VenueA", "--epoch", "1", "--out", str(key)])
    assert r.exit_code == 2 and key.read_text() == before
    r = CliRunner().invoke(app, ["venue", "setup", str(tmp_path / "params.json"), "--out-dir", str(tmp_path / "keys")])
    assert r.exit_code == 0, r.output
    zkey = (tmp_path / "keys" / "circuit.zkey").read_bytes()
    r = CliRunner().invoke(app, ["venue", "setup", str(tmp_path / "params.json"), "--out-dir", str(tmp_path / "keys")])
    assert r.exit_code == 2 and "--force" in r.output and "setup:" not in r.output      # refused before any work
    assert (tmp_path / "keys" / "circuit.zkey").read_bytes() == zkey


def test_r7_a_huge_parameter_file_is_refused_before_the_digest(span):
    doc = span.pf.to_json()
    doc["shape"] = dict(doc["shape"], instruments=256, scenarios=4096)
    with pytest.raises(ProtocolError, match="more than 65536 parameters"):
        params_from_json(doc)
    unsigned = span.pf.to_json()
    unsigned.pop("signature")
    with pytest.raises(ProtocolError, match="not signed"):        # with a trust file: refused before Poseidon
        params_from_json(unsigned, trust=span.trust)


def test_r8_a_torn_ledger_fails_closed(tmp_path, span):
    _, pd, _ = base()
    ledger = Ledger(tmp_path / "l.jsonl")
    sign_account(span.sk["VenueA"], "VenueA", make_opening(pd, span.pf), span.pf, pd, ledger)
    with open(ledger.path, "ab") as f:
        f.write(b'{"account":"acct-4","account_ref":"9')              # a crash in the middle of a line
    other = dict(pd, account="acct-4", collateral={"USDC": 1.0})
    with pytest.raises(ProtocolError, match="unfinished entry"):
        sign_account(span.sk["VenueA"], "VenueA", make_opening(other, span.pf), span.pf, other, ledger)


def test_r9_vk_fingerprint_cannot_fake_output_lines(span):
    doc = span.doc()
    doc["vk_fingerprint"] = "x\nVALID: equity >= 2 x s"
    with pytest.raises(ZkmarginError, match="vk_fingerprint"):
        Bundle.from_json(doc)


def test_r10_what_is_hashed_is_what_is_used(span):
    doc = span.pf.to_json()
    opt = next(d for d in doc["instruments"] if "expiry" in d)
    opt["expiry"] = opt["expiry"].replace(":00Z", ":00.5Z")
    with pytest.raises(ProtocolError, match="canonical form"):
        params_from_json(doc)


@pytest.mark.slow
def test_r4_production_grade_means_a_ceremony_and_two_contributions(tmp_path):
    """A ptau one party made is 'unknown' unless the venue names the ceremony (then its chain is
    verified); one phase-2 contribution is not enough for --no-dev; a second one is."""
    from zkmargin.prover import phase2
    from zkmargin.prover import ptau as pt
    from zkmargin.solvency.keys import record_for_zkey
    md, pd, insts = base()
    tiny = Shape("worst_case", 1, 1, 1, 16)
    one = [insts[0]]
    key = tr.new_key()
    pf = make_params_file("VenueT", EPOCH, "span16", one, md, tiny, assets=("USDC",)).signed(key, "VenueT")
    acc = pt.prepare_phase2(pt.contribute(pt.new_accumulator(12), "alice"))
    pt.write_ptau(acc, tmp_path / "p12.ptau")
    from zkmargin.solvency.keys import _file_phase1
    assert _file_phase1(tmp_path / "p12.ptau", acc)["source"] == "unknown"         # unnamed: not a ceremony
    keys = setup_keys(tiny, tmp_path / "p12.ptau", model="span16", ceremony="test ceremony")
    rec = setup_record(keys, pf)
    assert rec.phase1["source"] == "ceremony" and "test ceremony" in rec.phase1["ceremony"]
    assert "phase-2 contribution" in rec.production_problem()
    pk2, _ = phase2.contribute(keys.pk, "bob")
    rec2 = record_for_zkey(pk2, pf, tmp_path / "p12.ptau", ceremony="test ceremony")
    assert len(rec2.phase2) == 2 and rec2.production_problem() is None
