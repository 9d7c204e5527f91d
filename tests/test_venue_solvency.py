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

from venue_flow import B, EPOCH, SHAPE, book_docs, failed, forge_tree, params, portfolio, write_book
from zkmargin.algebra.constants import R
from zkmargin.circuits.builder import WitnessTampering
from zkmargin.circuits.margin_circuits import MODEL_CODES
from zkmargin.circuits.solvency import evaluate
from zkmargin.circuits.venue_circuits import (BatchContext, batch_assignment, build_batch_circuit, dummy_batch,
                                              empty_leaf, leaf_of, merkle_root, shortfall_of)
from zkmargin.solvency.bundle import venue_id
from zkmargin.solvency.opening import make_opening
from zkmargin.solvency.params import ProtocolError
from zkmargin.solvency.venue import files as fl
from zkmargin.solvency.venue.book import VenueInsolventError, build_tree, read_book
from zkmargin.solvency.venue.inclusion import make_inclusion, verify_inclusion
from zkmargin.solvency.venue.prove import prove_tree
from zkmargin.solvency.venue.verify import verify_tree
from zkmargin.verifier.formats import read_verifying_key

FUND = 10**6 * 10**14        # 1M USD


@pytest.fixture(scope="module")
def pf():
    return params()


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None)
    cl = Client(cluster)
    yield cl
    cl.close()
    cluster.close()


@pytest.fixture(scope="module")
def honest(tmp_path_factory, pf, client):
    """The five-account book built, proven (3 batches of 2) and read back."""
    tmp = tmp_path_factory.mktemp("venue")
    book = write_book(tmp / "book", book_docs())
    tree = tmp / "tree"
    st = build_tree(book, pf, tree, buffer_bps=10_000, insurance_fund=FUND, batch=B)
    rep = prove_tree(tree, pf, batch=B, client=client)
    vk = read_verifying_key(tree / "keys" / "verification_key.json")
    return {"tmp": tmp, "book": book, "tree": tree, "st": st, "vk": vk, "report": rep}


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
    rep = verify_inclusion(inc, st, opening=op, portfolio=doc, pf=pf)
    assert rep.valid, rep.summary()


# ------------------------------------------------------------------------------ the honest flow


def test_honest_tree_verifies(honest, pf, client):
    st, vk = honest["st"], honest["vk"]
    assert honest["report"].proven == 3 and honest["report"].duplicates == 0
    assert st.accounts == 5 and st.total_shortfall > 0 and st.total_shortfall <= st.insurance_fund
    rep = verify_tree(honest["tree"], pf, vk=vk, client=client)
    assert rep.valid, rep.summary()
    assert {c.name for c in rep.checks} >= {"parameter file", "leaves", "distinct leaves", "batch files",
                                             "verifying key", "batch roots", "top level", "totals", "shortfall",
                                             "insurance fund", "groth16"}
    # in this process (no cluster) the verdict is the same
    assert verify_tree(honest["tree"], pf, vk=vk, workers=0).valid
    # resuming proves nothing again
    again = prove_tree(honest["tree"], pf, batch=B, client=client)
    assert (again.proven, again.skipped) == (0, 3)


def test_every_client_verifies_its_inclusion(honest, pf):
    st = honest["st"]
    for i, doc in enumerate(book_docs()):
        inc, op = make_inclusion(honest["tree"], doc["account"])
        rep = verify_inclusion(inc, st, opening=op, portfolio=doc, pf=pf)
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
    rep = verify_tree(tree, pf, vk=honest["vk"], workers=0)
    assert "batch files" in failed(rep)
    # the same total edited within the field: the proof no longer verifies, the sums do not add up
    doc["totals"][0] = str(int(doc["totals"][0]) - R - 1)
    p.write_text(json.dumps(doc))
    assert {"groth16", "totals"} <= failed(verify_tree(tree, pf, vk=honest["vk"], workers=0))


def test_attack_account_left_out(honest, tmp_path, pf, client):
    """The venue drops the insolvent account: its client's inclusion proof fails against the
    published tree, and a proofs folder missing a batch is refused."""
    docs = book_docs()
    inc, op = make_inclusion(honest["tree"], "acct-2")
    entries = [e for e in read_book(honest["book"], pf) if e[0] != "acct-2"]
    st2 = build_tree(None, pf, tmp_path / "tree", buffer_bps=10_000, insurance_fund=FUND, batch=B, entries=entries)
    rep = verify_inclusion(replace(inc, root=st2.root), st2, opening=op)
    assert "path" in failed(rep)
    assert "statement" in failed(verify_inclusion(inc, st2, opening=op))
    # the venue hands the client another leaf's path: not the client's commitment
    other, _ = make_inclusion(honest["tree"], "acct-1")
    assert "your commitment" in failed(verify_inclusion(other, honest["st"], opening=op, portfolio=docs[2], pf=pf))
    # a batch left unproven / deleted
    tree = tmp_path / "missing"
    shutil.copytree(honest["tree"], tree)
    fl.proof_path(tree, 1).unlink()
    assert "batch files" in failed(verify_tree(tree, pf, vk=honest["vk"], workers=0))


def test_attack_account_counted_twice(honest, tmp_path, pf, client):
    """The same account twice (e.g. to keep the count after dropping another): the builder
    refuses; a forged tree with real proofs of the duplicated book fails 'distinct leaves'."""
    e = read_book(honest["book"], pf)
    with pytest.raises(ProtocolError, match="counted twice"):
        build_tree(None, pf, tmp_path / "a", buffer_bps=10_000, insurance_fund=FUND, batch=B,
                   entries=[e[0], ("acct-dup", e[0][1])])
    tree = tmp_path / "forged"
    forge_tree(tree, pf, [e[0], ("acct-dup", e[0][1])])
    prove_tree(tree, pf, batch=B, client=client)
    rep = verify_tree(tree, pf, vk=honest["vk"], workers=0)
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
    assert "your commitment" in failed(verify_inclusion(inc, st, opening=trader))
    assert "your portfolio" in failed(verify_inclusion(inc, st, opening=handed, portfolio=docs[2], pf=pf))


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
    rep = verify_tree(tree, pf2, vk=honest["vk"], workers=0)
    assert failed(rep) == {"groth16"} and rep.bad_batches == [0, 1, 2]
    assert "parameter file" in failed(verify_tree(tree, pf, vk=honest["vk"], workers=0))


def test_attack_batch_proof_moved_to_another_position(honest, tmp_path, pf):
    tree = tmp_path / "swap"
    shutil.copytree(honest["tree"], tree)
    p0, p1 = fl.proof_path(tree, 0), fl.proof_path(tree, 1)
    d0, d1 = json.loads(p0.read_text()), json.loads(p1.read_text())
    d0["index"], d1["index"] = 1, 0
    p0.write_text(json.dumps(d1))
    p1.write_text(json.dumps(d0))
    rep = verify_tree(tree, pf, vk=honest["vk"], workers=0)
    assert {"batch roots", "top level", "groth16"} <= failed(rep)


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
    from zkmargin.circuits import poseidon as ref, poseidon_fast as fast
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
    from zkmargin.solvency.params import write_params
    run = CliRunner().invoke
    pfile = tmp_path / "params.json"
    write_params(pf, pfile)
    out = tmp_path / "tree"
    r = run(app, ["venue", "solvency", "build", str(honest["book"]), "--params", str(pfile), "--out", str(out),
                  "--insurance-fund", "1000000", "--batch", "2"])
    assert r.exit_code == 0, r.output
    shutil.copytree(honest["tree"] / "proofs", out / "proofs")      # same book, new salts: proofs do not fit
    shutil.copytree(honest["tree"] / "keys", out / "keys")
    r = run(app, ["venue", "solvency", "verify", str(out), "--params", str(pfile), "--workers", "0"])
    assert r.exit_code == 1 and "FAIL batch roots" in r.output
    r = run(app, ["venue", "solvency", "verify", str(honest["tree"]), "--params", str(pfile), "--workers", "0"])
    assert r.exit_code == 0 and "VALID: 5 accounts" in r.output, r.output
    inc, op = tmp_path / "inc.json", tmp_path / "op.json"
    r = run(app, ["venue", "solvency", "inclusion", str(honest["tree"]), "acct-3", "--out", str(inc),
                  "--opening-out", str(op)])
    assert r.exit_code == 0, r.output
    assert (op.stat().st_mode & 0o777) == 0o600
    r = run(app, ["verify-inclusion", str(inc), "--statement", str(honest["tree"]), "--opening", str(op),
                  "--portfolio", str(honest["book"] / "acct-3.json"), "--params", str(pfile)])
    assert r.exit_code == 0 and "VALID: your account is leaf 3" in r.output, r.output
    # bad input: one line, exit 2; an insolvent book: exit 1; no amount or salt printed
    r = run(app, ["venue", "solvency", "build", str(tmp_path / "nope"), "--params", str(pfile), "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and r.output.count("\n") == 1 and r.output.startswith("error:")
    r = run(app, ["venue", "solvency", "build", str(honest["book"]), "--params", str(pfile), "--out",
                  str(tmp_path / "y")])
    assert r.exit_code == 1 and "insurance fund" in r.output
    r = run(app, ["venue", "solvency", "inclusion", str(honest["tree"]), "acct-99", "--out", str(tmp_path / "i2.json")])
    assert r.exit_code == 2
    secrets = json.loads(op.read_text())
    for v in [secrets["salt"], *secrets["Q"], *secrets["A"]]:
        if len(v) > 3:
            assert v not in r.output
    r = run(app, ["venue", "solvency", "prove", str(honest["tree"]), "--params", str(pfile), "--batch", "3"])
    assert r.exit_code == 2 and "power of two" in r.output


def test_verify_many_bundles(tmp_path, client):
    """Trader bundles verified in chunks on Dask: the valid ones pass, a tampered one is named."""
    from solvency_flow import NONCE, make_flow
    from zkmargin.solvency.bundle import write_bundle
    from zkmargin.solvency.venue.verify import verify_many
    flow = make_flow(tmp_path)
    folder = tmp_path / "bundles"
    folder.mkdir()
    for k in range(3):
        write_bundle(flow.bundle, folder / f"b{k}.json")
    doc = flow.doc()
    doc["statement"]["buffer_bps"] = 20_000
    (folder / "b9.json").write_text(json.dumps(doc))
    rows = verify_many(folder, flow.pf, vk=flow.keys.vk, trust=flow.trust, setup=flow.record, client=client, chunk=2)
    assert [(n, ok) for n, ok, _ in rows] == [("b0.json", True), ("b1.json", True), ("b2.json", True),
                                              ("b9.json", False)]
    assert rows == verify_many(folder, flow.pf, vk=flow.keys.vk, trust=flow.trust, setup=flow.record, workers=0)
    assert NONCE


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
    rep = prove_tree(tree, pf, batch=B, workers=2, processes=True, task=venue_faults.die_once_then_prove)
    assert rep.proven == 3 and sorted(p.name for p in (tree / "proofs").iterdir()) == \
        ["batch-000000.json", "batch-000001.json", "batch-000002.json"]
    assert len(set(venue_faults.MARKERS.read_text().split())) == 3      # each batch's first attempt died
    vk = read_verifying_key(tree / "keys" / "verification_key.json")
    assert verify_tree(tree, pf, vk=vk, workers=0).valid
