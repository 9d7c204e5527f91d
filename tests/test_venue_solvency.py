"""Venue-wide solvency: the batch circuit, the tree, Dask proving, verification, inclusion, CLI,
and the attacks of docs/VENUE_SOLVENCY.md ("Attacks"), each rejected by a named check.

Where the honest builder refuses an attack early, the attacker goes around it
(:func:`venue_flow.forge_tree` writes the tree folder without the checks, and the batch proofs
are real proofs of that forged book), so what is shown is the verifier's rejection.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from venue_flow import (
    EPOCH,
    KEYS,
    SHAPE,
    TRUST,
    B,
    book_docs,
    edit_statement,
    failed,
    forge_tree,
    params,
    portfolio,
    sign,
    verify,
    write_book,
)

from zkmargin.algebra.constants import R
from zkmargin.circuits.builder import WitnessTampering
from zkmargin.circuits.margin_circuits import MODEL_CODES
from zkmargin.circuits.solvency import evaluate
from zkmargin.circuits.venue_circuits import (
    BatchContext,
    batch_assignment,
    build_batch_circuit,
    dummy_batch,
    empty_leaf,
    leaf_of,
    merkle_root,
    shortfall_of,
)
from zkmargin.formats.snarkjs_json import read_verifying_key
from zkmargin.solvency.bundle import venue_id
from zkmargin.solvency.keys import vk_fingerprint
from zkmargin.solvency.opening import make_opening
from zkmargin.solvency.params import ProtocolError
from zkmargin.solvency.venue import files as fl
from zkmargin.solvency.venue.book import VenueInsolventError, build_tree, read_book
from zkmargin.solvency.venue.inclusion import make_inclusion, verify_inclusion
from zkmargin.solvency.venue.prove import prove_tree

FUND = 10**6 * 10**14        # 1M USD


@pytest.fixture(scope="module")
def honest(tmp_path_factory, pf, client):
    """The five-account book built, proven (3 batches of 2), signed by the venue and read back."""
    tmp = tmp_path_factory.mktemp("venue")
    book = write_book(tmp / "book", book_docs())
    tree = tmp / "tree"
    build_tree(book, pf, tree, buffer_bps=10_000, insurance_fund=FUND, batch=B)
    rep = prove_tree(tree, pf, client=client)
    st = sign(tree, pf)
    vk = read_verifying_key(tree / "keys" / "verification_key.json")
    return {"tmp": tmp, "book": book, "tree": tree, "st": st, "vk": vk, "report": rep}


def copy_tree(honest, dst):
    shutil.copytree(honest["tree"], dst)
    return dst


def ctx(pf, index=0):
    return BatchContext(MODEL_CODES[pf.model], 10_000, venue_id(pf.venue), pf.epoch, index)


def accounts(pf, docs):
    return [op.account for _, op in read_book_entries(pf, docs)]


def read_book_entries(pf, docs, tmp=None):
    import tempfile
    d = Path(tempfile.mkdtemp())
    try:
        return read_book(write_book(d, docs), pf)
    finally:
        shutil.rmtree(d)


# ------------------------------------------------------------------------------ circuit


def test_batch_circuit_equals_the_native_evaluator(pf):
    docs = book_docs()
    accts = accounts(pf, docs[1:3])             # a solvent and the insolvent account
    sfs = [shortfall_of(pf.params, a, 10_000) for a in accts]
    assert sfs[0] == 0 and sfs[1] > 0
    ev = evaluate(pf.params, [accts[1]])        # shortfall = ceil(max(0, REQ - E)) exactly
    assert sfs[1] == ev.requirement - ev.equity
    circ = build_batch_circuit(SHAPE, pf.params, accts, B, ctx(pf, 3))
    assert circ.cs.check() == []
    pub = dict(zip(circ.public_names, circ.cs.public_values()))
    assert pub["shortfall"] == sum(sfs) and pub["count"] == 2 and pub["batch_index"] == 3
    assert pub["root"] == merkle_root([leaf_of(a) for a in accts])
    assert [pub["total_0"], pub["total_1"]] == [sum(a.A[j] for a in accts) for j in range(2)]
    assert [s.value for s in circ.shortfalls] == sfs
    # the circuit built once on dummy values replays the same witness (what the workers do)
    p, dctx = dummy_batch(SHAPE)
    template = build_batch_circuit(SHAPE, p, [], B, dctx)
    assert template.cs.solve(batch_assignment(template, pf.params, accts, ctx(pf, 3))) == circ.cs.witness()
    # a buffer of 1.5 raises the shortfall exactly as the integer rule says
    d = 15_000 * ev.requirement - 10_000 * ev.equity
    assert shortfall_of(pf.params, accts[1], 15_000) == -(-d // 10_000)


def test_tamper_sweep_of_the_batch_circuit(pf):
    """Every private value of a batch (a real account and a padding slot) is pinned: no single
    changed value keeps the constraints satisfied."""
    accts = accounts(pf, book_docs()[2:3])
    circ = build_batch_circuit(SHAPE, pf.params, accts, B, ctx(pf))
    t = WitnessTampering.from_cs(circ.cs)
    assert t.survivors() == []


def test_trader_commitment_is_the_leaf(tmp_path, pf):
    """A trader's own opening (zkmargin commit) in the book keeps its salt: its commitment is the leaf."""
    from zkmargin.solvency.opening import write_opening
    doc = portfolio(7)
    op = make_opening(doc, pf)
    book = tmp_path / "book"
    write_book(book, [portfolio(8)])
    write_opening(op, tmp_path / "commitment.json", book / "acct-7.json")
    st = build_tree(book, pf, tmp_path / "tree", buffer_bps=10_000, insurance_fund=FUND, batch=B)
    leaves = fl.read_leaves(tmp_path / "tree", st)
    assert op.commitment in leaves
    inc, venue_op = make_inclusion(tmp_path / "tree", "acct-7")
    assert inc.leaf == op.commitment and venue_op.account == op.account
    rep = verify_inclusion(inc, st, opening=op, portfolio=doc, pf=pf, epoch=EPOCH, allow_unsigned=True)
    assert rep.valid, rep.summary()


# ------------------------------------------------------------------------------ the honest flow


def test_honest_tree_verifies(honest, pf, client):
    st, vk = honest["st"], honest["vk"]
    assert honest["report"].proven == 3 and honest["report"].duplicates == 0
    assert st.accounts == 5 and st.total_shortfall > 0 and st.total_shortfall <= st.insurance_fund
    rep = verify(honest["tree"], pf, client=client)
    assert rep.valid, rep.summary()
    assert {c.name for c in rep.checks} >= {"parameter file", "expected epoch", "parameter file signature",
                                             "statement signature", "leaves", "distinct leaves", "batch files",
                                             "verifying key", "setup record", "setup record signature", "batch roots",
                                             "top level", "totals", "shortfall", "insurance fund", "groth16"}
    assert st.signature.signer == "VenueA" and st.vk_fingerprint == vk_fingerprint(vk) and st.batch == B
    # in this process (no cluster) the verdict is the same
    assert verify(honest["tree"], pf).valid
    # resuming proves nothing again, and keeps the signed setup record
    again = prove_tree(honest["tree"], pf, client=client)
    assert (again.proven, again.skipped) == (0, 3)
    assert verify(honest["tree"], pf).valid


def test_every_client_verifies_its_inclusion(honest, pf):
    st = honest["st"]
    for i, doc in enumerate(book_docs()):
        inc, op = make_inclusion(honest["tree"], doc["account"])
        rep = verify_inclusion(inc, st, opening=op, portfolio=doc, pf=pf, trust=TRUST, epoch=EPOCH,
                               account=doc["account"])
        assert rep.valid, rep.summary()
        assert inc.index == i


# ------------------------------------------------------------------------------ attacks


def test_attack_negative_balance(tmp_path, pf):
    """A negative collateral balance (to shrink the venue's liabilities) has no witness and is
    refused by the builder."""
    a = accounts(pf, book_docs()[:1])[0]
    neg = replace(a, A=(-10**8, a.A[1]))
    circ = build_batch_circuit(SHAPE, pf.params, [neg], B, ctx(pf))
    names = {f.name for f in circ.cs.check()}
    assert any("slot0/account/range_check" in n and "A0" in n for n in names)
    from zkmargin.solvency.opening import Opening
    with pytest.raises(ProtocolError, match="outside the circuit's ranges"):
        build_tree(None, pf, tmp_path / "t", buffer_bps=10_000, insurance_fund=FUND, batch=B,
                   entries=[("acct-x", Opening(neg, pf.digest))])


def test_attack_overflowing_sum(honest, tmp_path, pf):
    """A balance of r - 1e8 ("-1 BTC" in the field) would make the batch total wrap around r:
    its range check fails; a batch total edited past r is refused on read."""
    a = accounts(pf, book_docs()[:1])[0]
    wrap = replace(a, A=(a.A[0], R - 10**8))
    circ = build_batch_circuit(SHAPE, pf.params, [a, wrap], B, ctx(pf))
    assert any("slot1/account/range_check" in f.name for f in circ.cs.check())
    tree = tmp_path / "tree"
    shutil.copytree(honest["tree"], tree)
    p = fl.proof_path(tree, 0)
    doc = json.loads(p.read_text())
    doc["totals"][0] = str(int(doc["totals"][0]) + R)
    p.write_text(json.dumps(doc))
    rep = verify(tree, pf)
    assert "batch files" in failed(rep)
    # the same total edited within the field: the proof no longer verifies, the sums do not add up
    doc["totals"][0] = str(int(doc["totals"][0]) - R - 1)
    p.write_text(json.dumps(doc))
    assert {"groth16", "totals"} <= failed(verify(tree, pf))


def test_attack_account_left_out(honest, tmp_path, pf, client):
    """The venue drops the insolvent account: its client's inclusion proof fails against the
    published tree, and a proofs folder missing a batch is refused."""
    docs = book_docs()
    inc, op = make_inclusion(honest["tree"], "acct-2")
    entries = [e for e in read_book(honest["book"], pf) if e[0] != "acct-2"]
    st2 = build_tree(None, pf, tmp_path / "tree", buffer_bps=10_000, insurance_fund=FUND, batch=B, entries=entries)
    st2 = replace(st2, vk_fingerprint=honest["st"].vk_fingerprint).signed(KEYS["VenueA"], "VenueA")
    rep = verify_inclusion(replace(inc, root=st2.root), st2, opening=op, trust=TRUST, epoch=EPOCH)
    assert "path" in failed(rep)
    assert "statement" in failed(verify_inclusion(inc, st2, opening=op, trust=TRUST, epoch=EPOCH))
    # the venue hands the client another leaf's path: not the client's commitment
    other, _ = make_inclusion(honest["tree"], "acct-1")
    assert failed(verify_inclusion(other, honest["st"], opening=op, portfolio=docs[2], pf=pf, trust=TRUST,
                                   epoch=EPOCH, account="acct-2")) == {"your commitment"}
    # a batch left unproven / deleted
    tree = copy_tree(honest, tmp_path / "missing")
    fl.proof_path(tree, 1).unlink()
    assert "batch files" in failed(verify(tree, pf))


def test_attack_account_counted_twice(honest, tmp_path, pf, client):
    """The same account twice (e.g. to keep the count after dropping another): the builder
    refuses; a forged tree with real proofs of the duplicated book fails 'distinct leaves'."""
    e = read_book(honest["book"], pf)
    with pytest.raises(ProtocolError, match="counted twice"):
        build_tree(None, pf, tmp_path / "a", buffer_bps=10_000, insurance_fund=FUND, batch=B,
                   entries=[e[0], ("acct-dup", e[0][1])])
    tree = tmp_path / "forged"
    forge_tree(tree, pf, [e[0], ("acct-dup", e[0][1])])
    prove_tree(tree, pf, client=client)
    sign(tree, pf)                                    # the venue itself forges and signs
    rep = verify(tree, pf)
    assert failed(rep) == {"distinct leaves"}         # every proof is real: only the duplicate is caught


def test_attack_leaf_differs_from_the_traders_commitment(honest, tmp_path, pf):
    """The venue books a smaller position than the trader holds (lower requirement): the leaf
    is not the trader's commitment, and the opening the venue hands out is not the portfolio."""
    docs = book_docs()
    trader = make_opening(docs[2], pf)                          # what the trader committed to
    smaller = dict(docs[2], positions=[dict(docs[2]["positions"][0], quantity=-0.01)])
    entries = [(a, op) for a, op in read_book(honest["book"], pf)]
    venue_op = make_opening(smaller, pf, salt=trader.account.salt)
    entries[2] = ("acct-2", venue_op)
    st = build_tree(None, pf, tmp_path / "tree", buffer_bps=10_000, insurance_fund=FUND, batch=B, entries=entries)
    inc, handed = make_inclusion(tmp_path / "tree", "acct-2")
    kw = {"epoch": EPOCH, "allow_unsigned": True}
    assert failed(verify_inclusion(inc, st, opening=trader, **kw)) == {"your commitment"}
    assert failed(verify_inclusion(inc, st, opening=handed, portfolio=docs[2], pf=pf, **kw)) == {"your portfolio"}


def test_attack_shortfall_hidden_in_a_padding_slot(pf):
    """count = 1 but slot 1 holds the insolvent account: the padding constraints fail; claiming
    the slot as used without counting it fails the count."""
    accts = accounts(pf, book_docs()[1:3])
    p, dctx = dummy_batch(SHAPE)
    circ = build_batch_circuit(SHAPE, p, [], B, dctx)
    honest_one = batch_assignment(circ, pf.params, accts[:1], ctx(pf))
    both = batch_assignment(circ, pf.params, accts, ctx(pf))
    hidden = dict(honest_one, **{k: v for k, v in both.items() if k.startswith("slot1/")})
    bad = {f.name for f in circ.cs.check(circ.cs.solve(hidden))}
    assert any("slot1/padding" in n for n in bad)
    # a prover that marks slot 1 as used while count says 1
    w = circ.cs.solve(hidden, overrides={"padding/used1": 1})
    assert any(n.startswith("padding/sum of used") or "used1" in n for n in {f.name for f in circ.cs.check(w)})


def test_attack_batch_proof_reused_in_another_epoch(honest, tmp_path, pf):
    """Last epoch's proofs copied into this epoch's tree (same accounts): every batch fails Groth16
    (epoch and parameter digest are public inputs), and proofs of another venue fail too."""
    pf2 = params(epoch=EPOCH + 1)
    same = fl.read_book_file(honest["tree"] / fl.BOOK)          # the same accounts, the same salts
    entries = [(a, replace(op, params_digest=pf2.digest)) for a, op in same]
    tree = tmp_path / "next"
    build_tree(None, pf2, tree, buffer_bps=10_000, insurance_fund=FUND, batch=B, entries=entries)
    shutil.copytree(honest["tree"] / "proofs", tree / "proofs")
    shutil.copytree(honest["tree"] / "keys", tree / "keys")
    sign(tree, pf2)                 # roots and sums combine: the venue can sign, the proofs still fail
    rep = verify(tree, pf2)
    assert failed(rep) == {"groth16"} and rep.bad_batches == [0, 1, 2]
    assert "parameter file" in failed(verify(tree, pf))


def test_attack_batch_proof_moved_to_another_position(honest, tmp_path, pf):
    tree = copy_tree(honest, tmp_path / "swap")
    p0, p1 = fl.proof_path(tree, 0), fl.proof_path(tree, 1)
    d0, d1 = json.loads(p0.read_text()), json.loads(p1.read_text())
    d0["index"], d1["index"] = 1, 0
    p0.write_text(json.dumps(d1))
    p1.write_text(json.dumps(d0))
    rep = verify(tree, pf)
    assert {"batch roots", "top level", "groth16"} <= failed(rep)


# ------------------------------------------------------------------------------ who vouches: signatures


def test_attack_unsigned_statement(honest, tmp_path, pf):
    """The statement with its signature stripped (anyone could have written it): with a trust
    file 'statement signature' fails; without one 'trust' fails unless unsigned is allowed."""
    tree = copy_tree(honest, tmp_path / "t")
    edit_statement(tree, signature=None)
    assert failed(verify(tree, pf)) == {"statement signature"}
    assert "not signed" in next(c.detail for c in verify(tree, pf).failures)
    assert failed(verify(tree, pf, trust=None)) == {"trust"}
    rep = verify(tree, pf, trust=None, allow_unsigned=True)
    assert rep.valid and any("nobody vouches" in n for n in rep.notes)
    # an unsigned parameter file is refused the same way
    from zkmargin.solvency.params import make_params_file
    bare = make_params_file(pf.venue, pf.epoch, pf.model, pf.instruments, pf.market, pf.shape, pf.assets)
    assert failed(verify(honest["tree"], bare)) == {"parameter file signature"}
    # a client with a trust file refuses the unsigned statement too
    inc, op = make_inclusion(tree, "acct-1")
    assert failed(verify_inclusion(inc, fl.read_statement(tree), opening=op, trust=TRUST, epoch=EPOCH,
                                   account="acct-1")) == {"statement signature"}


def test_attack_statement_signed_by_another_trusted_party(honest, tmp_path, pf):
    """VenueA's statement re-signed by VenueB (trusted for solvency, but for its own statements)
    or by CustodianX (trusted for collateral and reserves), or by Mallory (not trusted), or by
    VenueA with a trust file that does not grant it 'solvency': each fails 'statement signature'."""
    st = fl.read_statement(honest["tree"])
    tree = copy_tree(honest, tmp_path / "t")
    for signer, why in (("VenueB", "not by the venue VenueA"), ("CustodianX", "not by the venue VenueA"),
                        ("Mallory", "not by the venue VenueA")):
        fl.write_statement(tree, replace(st, signature=None).signed(KEYS[signer], signer))
        rep = verify(tree, pf)
        assert failed(rep) == {"statement signature"} and why in rep.failures[0].detail
    # Mallory's key under VenueA's name
    fl.write_statement(tree, replace(st, signature=None).signed(KEYS["Mallory"], "VenueA"))
    rep = verify(tree, pf)
    assert failed(rep) == {"statement signature"} and "not the trusted key" in rep.failures[0].detail
    # the venue's own key, but the auditor trusts it for parameters and setups only
    from zkmargin.solvency import trust as tr
    narrow = tr.Trust({}).with_key("VenueA", tr.public_hex(KEYS["VenueA"]), ("params", "setup"))
    rep = verify(honest["tree"], pf, trust=narrow)
    assert failed(rep) == {"statement signature"} and "not trusted to sign 'solvency'" in rep.failures[0].detail


def test_attack_batch_key_made_by_someone_else(honest, tmp_path, pf, client):
    """Someone other than the venue (who knows its trapdoor, so it accepts anything) makes a batch
    key, proves every batch with it and puts it, with a setup record it signed itself, into the
    published folder. Groth16 passes under that key: only the key checks stop it."""
    from zkmargin.formats.zkey import write_zkey
    from zkmargin.solvency.keys import read_setup_record, setup_keys, setup_record
    from zkmargin.solvency.venue.prove import batch_circuit
    tree = copy_tree(honest, tmp_path / "t")
    signed = fl.read_statement(tree)
    keys = setup_keys(SHAPE, model=pf.model, circuit=batch_circuit(SHAPE, pf.model, B), reuse_dev=False,
                      contributor="mallory")
    zkey = tmp_path / "mallory.zkey"
    write_zkey(keys.pk, zkey)
    rec = setup_record(keys, pf, fl.circuit_name(B))
    for signer in ("Mallory", "CustodianX"):
        bad = rec.signed(KEYS[signer], signer)
        fl.write_statement(tree, replace(signed, vk_fingerprint="", signature=None))
        shutil.rmtree(tree / "proofs")
        prove_tree(tree, pf, zkey=zkey, setup=bad, client=client)
        fl.write_statement(tree, signed)                     # the venue's published statement, untouched
        rep = verify(tree, pf)
        assert failed(rep) == {"verifying key", "setup record signature"}, rep.summary()
        assert "not the one the statement names" in rep.failures[0].detail
        assert "groth16" not in failed(rep)                  # the forged key verifies its own proofs
    # the venue's genuine record handed over with the other key: 'setup record' too
    rep = verify(tree, pf, setup=read_setup_record(honest["tree"] / "keys" / "setup.json"))
    assert failed(rep) == {"verifying key", "setup record"}
    # no record at all, with a trust file
    assert "setup record" in failed(verify(tree, pf, setup=None))
    # the honest tree's development key under --no-dev: refused by name, as on the trader side
    rep = verify(honest["tree"], pf, allow_development=False)
    assert failed(rep) == {"setup"} and "DEVELOPMENT-ONLY" in rep.failures[0].detail


def test_batch_key_record_names_its_circuit(honest, pf):
    """A batch key's record says 'venue-batch/B': the trader side never accepts it for its own
    circuit, the venue side accepts it only for this batch size, and the name is signed."""
    from zkmargin.solvency.keys import read_setup_record, setup_record_from_json
    rec = read_setup_record(honest["tree"] / "keys" / "setup.json")
    assert rec.circuit == "venue-batch/2" and rec.signature_problem(TRUST, "VenueA") is None
    assert not rec.matches(pf) and rec.matches(pf, "venue-batch/2") and not rec.matches(pf, "venue-batch/4")
    doc = rec.to_json()
    doc["circuit"] = "solvency"
    relabelled = setup_record_from_json(doc)
    assert relabelled.matches(pf) and relabelled.signature_problem(TRUST, "VenueA") == "signature does not verify"
    doc["circuit"] = "venue-batch/3x"
    with pytest.raises(ProtocolError, match="circuit"):
        setup_record_from_json(doc)


def test_attack_edited_insurance_fund(honest, tmp_path, pf):
    """The insurance fund raised after signing (to cover a larger shortfall), or the totals or root
    edited: 'statement signature'. A reserves attestation below the stated fund, for another
    epoch, or by a party not trusted for reserves: 'insurance fund attestation'."""
    from zkmargin.solvency.venue.reserves import attest_reserves
    st = fl.read_statement(honest["tree"])
    tree = copy_tree(honest, tmp_path / "t")
    edit_statement(tree, insurance_fund=str(st.insurance_fund * 10))
    rep = verify(tree, pf)
    assert failed(rep) == {"statement signature"} and "does not verify" in rep.failures[0].detail
    edit_statement(tree, insurance_fund=str(st.total_shortfall - 1))      # lowered below the shortfall
    assert failed(verify(tree, pf)) == {"statement signature", "insurance fund"}
    edit_statement(tree, insurance_fund=str(st.insurance_fund), leaves_sha256="00" * 32)
    assert {"statement signature", "leaves"} <= failed(verify(tree, pf))
    fund = st.insurance_fund

    def att(amount, signer="CustodianX", epoch=EPOCH, venue="VenueA"):
        return attest_reserves(venue, epoch, amount, KEYS[signer], signer)
    ok = verify(honest["tree"], pf, reserves=[att(fund // 2), att(fund - fund // 2, "VenueB")],
                trust=TRUST.with_key("VenueB", TRUST.attesters["VenueB"].public_key, ("reserves",)))
    assert ok.valid, ok.summary()
    assert verify(honest["tree"], pf, reserves=[att(fund)]).valid
    for bad, why in (([att(fund - 1)], "less than the stated insurance fund"),
                     ([att(fund, epoch=EPOCH - 1)], "epoch"), ([att(fund, venue="VenueB")], "venue VenueB"),
                     ([att(fund, "VenueB")], "not trusted to sign 'reserves'"), ([att(fund, "Mallory")], "not in the trust"),
                     ([att(fund // 2), att(fund // 2 + 1)], "attests twice")):
        rep = verify(honest["tree"], pf, reserves=bad)
        assert failed(rep) == {"insurance fund attestation"} and why in rep.failures[0].detail, (why, rep.summary())
    forged = replace(att(fund // 2), fund=fund)
    assert "signature does not verify" in verify(honest["tree"], pf, reserves=[forged]).failures[0].detail


def test_attack_statement_from_another_epoch(honest, tmp_path, pf):
    """Last epoch's tree, validly signed, presented when this epoch is checked: with last
    epoch's parameter file 'expected epoch' fails; with this epoch's 'parameter file'. The same
    for a client's inclusion proof. A verifier that names no epoch fails 'expected epoch'."""
    rep = verify(honest["tree"], pf, epoch=EPOCH + 1)
    assert failed(rep) == {"expected epoch"}
    assert failed(verify(honest["tree"], params(epoch=EPOCH + 1), epoch=EPOCH + 1)) == {"parameter file"}
    assert failed(verify(honest["tree"], pf, epoch=None)) == {"expected epoch"}
    # last epoch's signed statement dropped into this epoch's folder
    pf2 = params(epoch=EPOCH + 1)
    tree = tmp_path / "next"
    same = fl.read_book_file(honest["tree"] / fl.BOOK)
    build_tree(None, pf2, tree, buffer_bps=10_000, insurance_fund=FUND, batch=B,
               entries=[(a, replace(op, params_digest=pf2.digest)) for a, op in same])
    shutil.copy(honest["tree"] / "statement.json", tree / "statement.json")
    assert "parameter file" in failed(verify(tree, pf2, vk=honest["vk"], setup=None))
    inc, op = make_inclusion(honest["tree"], "acct-0")
    rep = verify_inclusion(inc, honest["st"], opening=op, trust=TRUST, epoch=EPOCH + 1, account="acct-0")
    assert failed(rep) == {"expected epoch"}
    assert failed(verify_inclusion(inc, honest["st"], opening=op, trust=TRUST, account="acct-0")) == \
        {"expected epoch"}


def test_statement_fields_are_all_signed(honest, tmp_path, pf):
    """Every field of the statement is under the signature: changing any one (root, totals,
    shortfall, epoch, digest, batch, key fingerprint, accounts ...) breaks it."""
    doc = fl.read_statement(honest["tree"]).to_json()
    st = fl.TreeStatement.from_json(doc)
    assert st.signature_problem(TRUST) is None
    changes = {"root": str(st.root + 1), "totals": [str(st.totals[0] + 1), str(st.totals[1])],
               "total_shortfall": str(st.total_shortfall + 1), "insurance_fund": str(st.insurance_fund + 1),
               "epoch": st.epoch + 1, "params_digest": str(st.params_digest + 1), "batch": 4,
               "vk_fingerprint": "sha256:" + "0" * 64, "leaves_sha256": "11" * 32, "accounts": 6, "depth": 4,
               "buffer_bps": 10_001, "venue": "VenueB", "model": "paradex"}
    for k, v in changes.items():
        edited = fl.TreeStatement.from_json(dict(doc, **{k: v}))
        assert edited.signature_problem(TRUST) is not None, k
    assert set(changes) | {"format", "shape", "assets", "signature"} == set(doc)


def test_build_on_dask_equals_the_build_in_this_process(tmp_path, pf, client, monkeypatch):
    """The per-account work in chunks on Dask gives the same tree as in this process; an error in
    a chunk comes back as one message naming the file, never a value."""
    from zkmargin.solvency.venue import book as bk
    monkeypatch.setattr(bk, "CHUNK", 2)                     # 5 accounts: 3 tasks
    folder = tmp_path / "book"
    folder.mkdir()
    for doc in book_docs():                                 # openings: fixed salts, so fixed leaves
        (folder / f"{doc['account']}.json").write_text(json.dumps(make_opening(doc, pf).secret_json()))
    here = build_tree(folder, pf, tmp_path / "a", buffer_bps=10_000, insurance_fund=FUND, batch=B, workers=0)
    there = build_tree(folder, pf, tmp_path / "b", buffer_bps=10_000, insurance_fund=FUND, batch=B, client=client)
    assert here == there and here.accounts == 5
    assert (tmp_path / "a" / "leaves.bin").read_bytes() == (tmp_path / "b" / "leaves.bin").read_bytes()
    assert [a for a, _ in fl.read_book_file(tmp_path / "b" / fl.BOOK)] == [f"acct-{i}" for i in range(5)]
    bad = dict(portfolio(5), positions=[{"type": "perpetual", "underlying": "ETH", "instrument": "ETH-PERP",
                                         "quantity": 1.25}])
    (folder / "zz.json").write_text(json.dumps(bad))
    with pytest.raises(ProtocolError, match="book zz.json") as e:
        build_tree(folder, pf, tmp_path / "c", buffer_bps=10_000, insurance_fund=FUND, batch=B, client=client)
    assert "1.25" not in str(e.value) and not (tmp_path / "c" / "statement.json").exists()


def test_batch_keys_from_setup_prove_and_sign(honest, tmp_path, pf, client):
    """`venue solvency setup` makes the batch key and its signed record; a tree proven with them
    verifies; a record for another batch size or another key is refused before any proving."""
    from zkmargin.solvency.keys import read_setup_record
    from zkmargin.solvency.venue.prove import record_batch_key, setup_batch_keys
    keys = tmp_path / "keys"
    _, rec = setup_batch_keys(pf, B, keys, key=KEYS["VenueA"], signer="VenueA")
    assert read_setup_record(keys / "setup.json") == rec and rec.circuit == "venue-batch/2"
    from zkmargin.errors import ZkmarginError
    with pytest.raises(ZkmarginError, match="refusing to replace"):
        setup_batch_keys(pf, B, keys, key=KEYS["VenueA"], signer="VenueA", force=False)
    with pytest.raises(ProtocolError, match="not the venue"):
        setup_batch_keys(pf, B, tmp_path / "k2", key=KEYS["VenueB"], signer="VenueB")
    tree = copy_tree(honest, tmp_path / "t")
    edit_statement(tree, signature=None, vk_fingerprint="")
    with pytest.raises(ProtocolError, match="venue-batch/2"):
        prove_tree(tree, pf, zkey=keys / "circuit.zkey", setup=replace(rec, circuit="venue-batch/4"), client=client)
    with pytest.raises(ProtocolError, match="venue-batch/2"):
        prove_tree(tree, pf, zkey=keys / "circuit.zkey", setup=replace(rec, vk_fingerprint="sha256:" + "0" * 64),
                   client=client)
    prove_tree(tree, pf, zkey=keys / "circuit.zkey", setup=rec, client=client)
    sign(tree, pf)
    assert verify(tree, pf).valid
    # a record made afresh for the key (after contributions) says where phase 1 came from
    fresh = record_batch_key(pf, B, keys / "circuit.zkey")
    assert fresh.vk_fingerprint == rec.vk_fingerprint and fresh.phase1["source"] == "unknown"
    assert fresh.production_problem() is not None


def test_insolvent_book_and_bad_inputs_are_refused_before_work(tmp_path, pf):
    book = write_book(tmp_path / "book", book_docs())
    with pytest.raises(VenueInsolventError, match="exceeds the insurance fund"):
        build_tree(book, pf, tmp_path / "t", buffer_bps=10_000, insurance_fund=0, batch=B)
    assert not (tmp_path / "t" / "statement.json").exists()
    with pytest.raises(ProtocolError, match="appears twice"):
        docs = book_docs()
        write_book(tmp_path / "dup", docs)
        (tmp_path / "dup" / "zz.json").write_text(json.dumps(docs[0]))
        build_tree(tmp_path / "dup", pf, tmp_path / "t2", buffer_bps=10_000, insurance_fund=FUND, batch=B)
    with pytest.raises(ProtocolError, match="another parameter file"):
        op = make_opening(portfolio(9), params(epoch=EPOCH + 1))
        (tmp_path / "b3").mkdir()
        (tmp_path / "b3" / "x.json").write_text(json.dumps(op.secret_json()))
        build_tree(tmp_path / "b3", pf, tmp_path / "t3", buffer_bps=10_000, insurance_fund=FUND, batch=B)


def test_fast_poseidon_equals_the_reference():
    from zkmargin.circuits import poseidon as ref
    from zkmargin.circuits import poseidon_fast as fast
    rng = random.Random(5)
    for n in (0, 1, 2, 5, 13, 14, 28, 29):
        v, s = [rng.randrange(R) for _ in range(n)], rng.randrange(R)
        assert fast.commit(v, s) == ref.commit(v, s)
        if 1 <= n <= 16:
            assert fast.poseidon(v) == ref.poseidon(v)
    assert empty_leaf(SHAPE) == ref.commit([0] * SHAPE.account_length, 0)


# ------------------------------------------------------------------------------ CLI


def test_cli_flow_and_errors(honest, tmp_path, pf):
    from typer.testing import CliRunner

    from zkmargin.cli.main import app
    from zkmargin.solvency import trust as tr
    from zkmargin.solvency.params import write_params
    run = CliRunner().invoke
    pfile, tfile, kfile, ckey = (tmp_path / n for n in ("params.json", "trust.json", "venue_key.json", "cust_key.json"))
    write_params(pf, pfile)
    tr.write_trust(tfile, TRUST)
    tr.write_private_key(kfile, "VenueA", KEYS["VenueA"])
    tr.write_private_key(ckey, "CustodianX", KEYS["CustodianX"])
    auditor = ["--params", str(pfile), "--trust", str(tfile), "--epoch", str(EPOCH), "--workers", "0"]
    out = tmp_path / "tree"
    r = run(app, ["venue", "solvency", "build", str(honest["book"]), "--params", str(pfile), "--out", str(out),
                  "--insurance-fund", "1000000", "--batch", "2", "--workers", "0"])
    assert r.exit_code == 0, r.output
    shutil.copytree(honest["tree"] / "proofs", out / "proofs")      # same book, new salts: proofs do not fit
    shutil.copytree(honest["tree"] / "keys", out / "keys")
    r = run(app, ["venue", "solvency", "sign", str(out), "--params", str(pfile), "--key", str(kfile)])
    assert r.exit_code == 2 and "do not combine" in r.output          # the venue cannot sign a tree that does not fit
    r = run(app, ["venue", "solvency", "verify", str(out), *auditor])
    assert r.exit_code == 1 and "FAIL batch roots" in r.output and "FAIL statement signature" in r.output
    # the honest tree, signed again through the CLI
    tree = copy_tree(honest, tmp_path / "signed")
    edit_statement(tree, signature=None, vk_fingerprint="")
    r = run(app, ["venue", "solvency", "sign", str(tree), "--params", str(pfile), "--key", str(ckey)])
    assert r.exit_code == 2 and "not the venue" in r.output
    r = run(app, ["venue", "solvency", "sign", str(tree), "--params", str(pfile), "--key", str(kfile)])
    assert r.exit_code == 0, r.output
    r = run(app, ["venue", "solvency", "verify", str(tree), *auditor])
    assert r.exit_code == 0 and "VALID: 5 accounts" in r.output, r.output
    r = run(app, ["venue", "solvency", "verify", str(tree), "--params", str(pfile), "--epoch", str(EPOCH),
                  "--workers", "0"])
    assert r.exit_code == 1 and "FAIL trust" in r.output
    r = run(app, ["venue", "solvency", "verify", str(tree), "--params", str(pfile), "--epoch", str(EPOCH),
                  "--workers", "0", "--allow-unsigned"])
    assert r.exit_code == 0 and "note: no trust file" in r.output
    r = run(app, ["venue", "solvency", "verify", str(tree), *auditor, "--no-dev"])
    assert r.exit_code == 1 and "FAIL setup: DEVELOPMENT-ONLY" in r.output
    r = run(app, ["venue", "solvency", "setup", str(pfile), "--batch", "2", "--out-dir", str(tmp_path / "keys"),
                  "--key", str(kfile)])
    assert r.exit_code == 0 and "venue-batch/2" in r.output and "not signed" not in r.output, r.output
    r = run(app, ["venue", "solvency", "verify", str(tree), *auditor, "--setup", str(tmp_path / "keys" / "setup.json")])
    assert r.exit_code == 0, r.output                      # the same (cached development) key, signed again
    # the custodian attests the fund; the auditor checks it
    res = tmp_path / "reserves.json"
    r = run(app, ["venue", "solvency", "attest-fund", "--venue", "VenueA", "--epoch", str(EPOCH), "--amount",
                  "1000000", "--key", str(ckey), "--out", str(res)])
    assert r.exit_code == 0, r.output
    r = run(app, ["venue", "solvency", "verify", str(tree), *auditor, "--reserves", str(res)])
    assert r.exit_code == 0 and "ok   insurance fund attestation" in r.output, r.output
    inc, op = tmp_path / "inc.json", tmp_path / "op.json"
    r = run(app, ["venue", "solvency", "inclusion", str(tree), "acct-3", "--out", str(inc),
                  "--opening-out", str(op)])
    assert r.exit_code == 0, r.output
    assert (op.stat().st_mode & 0o777) == 0o600
    client_args = ["verify-inclusion", str(inc), "--statement", str(tree), "--opening", str(op),
                   "--portfolio", str(honest["book"] / "acct-3.json"), "--params", str(pfile), "--account", "acct-3"]
    r = run(app, [*client_args, "--trust", str(tfile), "--epoch", str(EPOCH)])
    assert r.exit_code == 0 and "VALID: your account is leaf 3" in r.output, r.output
    r = run(app, [*client_args, "--epoch", str(EPOCH)])
    assert r.exit_code == 1 and "FAIL trust" in r.output
    r = run(app, [*client_args, "--trust", str(tfile), "--epoch", str(EPOCH + 1)])
    assert r.exit_code == 1 and "FAIL expected epoch" in r.output
    # bad input: one line, exit 2; an insolvent book: exit 1; no amount or salt printed
    r = run(app, ["venue", "solvency", "build", str(tmp_path / "nope"), "--params", str(pfile), "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and r.output.count("\n") == 1 and r.output.startswith("error:")
    r = run(app, ["venue", "solvency", "build", str(honest["book"]), "--params", str(pfile), "--out",
                  str(tmp_path / "y"), "--workers", "0"])
    assert r.exit_code == 1 and "insurance fund" in r.output
    r = run(app, ["venue", "solvency", "inclusion", str(honest["tree"]), "acct-99", "--out", str(tmp_path / "i2.json")])
    assert r.exit_code == 2
    secrets = json.loads(op.read_text())
    for v in [secrets["salt"], *secrets["Q"], *secrets["A"]]:
        if len(v) > 3:
            assert v not in r.output
    r = run(app, ["venue", "solvency", "build", str(honest["book"]), "--params", str(pfile), "--out",
                  str(tmp_path / "z"), "--batch", "3"])
    assert r.exit_code == 2 and "power of two" in r.output


def test_verify_many_bundles(tmp_path, client):
    """Trader bundles verified in chunks on Dask: the valid ones pass, a tampered one is named,
    copies of one bundle under other names count once (``duplicate``); with a nonce file each
    bundle must answer the nonce its trader was challenged with."""
    from solvency_flow import NONCE, make_flow

    from zkmargin.solvency.bundle import write_bundle
    from zkmargin.solvency.venue.verify import read_nonces, verify_many
    flow = make_flow(tmp_path)
    folder = tmp_path / "bundles"
    folder.mkdir()
    for k in range(3):
        write_bundle(flow.bundle, folder / f"b{k}.json")
    doc = flow.doc()
    doc["statement"]["buffer_bps"] = 20_000
    (folder / "b9.json").write_text(json.dumps(doc))
    kw = {"vk": flow.keys.vk, "trust": flow.trust, "setup": flow.record}
    rows = verify_many(folder, flow.pf, client=client, chunk=2, **kw)
    assert [(n, ok) for n, ok, _ in rows] == [("b0.json", True), ("b1.json", False), ("b2.json", False),
                                              ("b9.json", False)]
    assert all("duplicate" in why and "b0.json" in why for _, _, why in rows[1:3])
    assert rows == verify_many(folder, flow.pf, workers=0, **kw)
    assert all("no expected nonce" not in r[2] for r in rows)
    # b0 answers its own nonce; b1's trader was challenged with another one (a replayed bundle);
    # b2 has no nonce; b7 was challenged but sent nothing
    nf = tmp_path / "nonces.jsonl"
    nf.write_text("\n".join(json.dumps({"bundle": b, "nonce": str(n)}) for b, n in
                            [("b0.json", NONCE), ("b1.json", NONCE + 1), ("b9.json", NONCE), ("b7.json", 5)]) + "\n")
    rows = {n: (ok, why) for n, ok, why in verify_many(folder, flow.pf, nonces=read_nonces(nf), workers=0, **kw)}
    assert rows["b0.json"][0] and not rows["b1.json"][0] and "expected nonce" in rows["b1.json"][1]
    assert not rows["b2.json"][0] and "no nonce for this bundle" in rows["b2.json"][1]
    assert not rows["b7.json"][0] and "missing" in rows["b7.json"][1]
    assert not rows["b9.json"][0] and set(rows) == {"b0.json", "b1.json", "b2.json", "b7.json", "b9.json"}
    nf.write_text(json.dumps({"bundle": "b0.json", "nonce": "1"}) + "\n" + json.dumps({"bundle": "b0.json", "nonce": "2"}))
    with pytest.raises(ProtocolError, match="second nonce"):
        read_nonces(nf)


@pytest.mark.slow
def test_worker_loss_is_retried_and_each_batch_lands_once(tmp_path, pf):
    """Two worker processes; the first attempt at each batch kills its worker (os._exit). The
    scheduler reschedules, every batch is proven into the result once, and the tree verifies."""
    import venue_faults
    book = write_book(tmp_path / "book", book_docs())
    tree = tmp_path / "tree"
    build_tree(book, pf, tree, buffer_bps=10_000, insurance_fund=FUND, batch=B)
    import os
    os.environ["ZKM_FAULT_MARKERS"] = str(tmp_path / "markers")
    venue_faults.MARKERS.write_text("")
    rep = prove_tree(tree, pf, workers=2, processes=True, task=venue_faults.die_once_then_prove)
    assert rep.proven == 3 and sorted(p.name for p in (tree / "proofs").iterdir()) == \
        ["batch-000000.json", "batch-000001.json", "batch-000002.json"]
    assert len(set(venue_faults.MARKERS.read_text().split())) == 3      # each batch's first attempt died
    sign(tree, pf)
    assert verify(tree, pf).valid
