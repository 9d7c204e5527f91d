"""Red-team review of the venue-wide solvency statement: attacks by the venue (the prover) that
the existing attack tests (tests/test_venue_solvency.py) do not cover.

* the venue chooses ``buffer_bps`` when it builds the tree: a buffer of 0.0001 hides every
  shortfall, and the verifier had no minimum (the trader side requires 1.0 by default);
* the venue signs its own parameter file: LOSS rows it zeroed are a "valid" signed file, so the
  numbers must follow from the file's own market (``parameter numbers``);
* a reserves attestation by the venue itself, where a trust file (wrongly) grants it the role;
* two clients with identical portfolios handed the same venue-drawn opening share one leaf (the
  book counts one account): fixed -- a venue-drawn salt is derived from the client's account id
  (``salt_from``), and the client checks it (``verify-inclusion --account``: ``your salt``).

Each proven tree here has one batch (two accounts), so the module proves two batches in all.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from venue_flow import EPOCH, KEYS, TRUST, B, failed, portfolio, sign, verify, write_book

from zkmargin.solvency import trust as tr
from zkmargin.solvency.venue import files as fl
from zkmargin.solvency.venue.book import VenueInsolventError, build_tree, read_book
from zkmargin.solvency.venue.inclusion import make_inclusion, verify_inclusion
from zkmargin.solvency.venue.prove import prove_tree
from zkmargin.solvency.venue.reserves import attest_reserves, reserves_problem

#: a solvent account and one whose equity (about 6 000 USD) is below its requirement: short at
#: buffer 1.0, compliant at buffer 0.0001
DOCS = [portfolio(0), portfolio(7, perp=2.0, call=0, usdc=2_000.0, btc=0)]


def _proven(tmp, pf, client, *, buffer_bps):
    """The two-account book with no insurance fund, built, proven and signed by the venue."""
    book = write_book(tmp / "book", DOCS)
    tree = tmp / "tree"
    build_tree(book, pf, tree, buffer_bps=buffer_bps, insurance_fund=0, batch=B)
    prove_tree(tree, pf, client=client)
    sign(tree, pf)
    return tree


def test_attack_venue_picks_a_tiny_buffer(tmp_path, pf, client):
    """At buffer 1.0 the book is insolvent (no fund); the venue builds it at 0.0001 instead, proves
    and signs it. Every proof is real and the sums add up: only the verifier's minimum buffer
    (default 1.0, as for a trader's bundle) refuses it."""
    with pytest.raises(VenueInsolventError):
        build_tree(write_book(tmp_path / "b1", DOCS), pf, tmp_path / "t1", buffer_bps=10_000, insurance_fund=0,
                   batch=B)
    tree = _proven(tmp_path, pf, client, buffer_bps=1)
    assert fl.read_statement(tree).total_shortfall == 0
    rep = verify(tree, pf)
    assert failed(rep) == {"buffer"}, rep.summary()
    assert verify(tree, pf, min_buffer_bps=1).valid            # what the venue proved, if one accepts it
    from typer.testing import CliRunner

    from zkmargin.cli.main import app
    args = ["venue", "solvency", "verify", str(tree), "--params", str(tmp_path / "p.json"), "--epoch", str(EPOCH),
            "--allow-unsigned", "--workers", "0"]
    from zkmargin.solvency.params import write_params
    write_params(pf, tmp_path / "p.json")
    res = CliRunner().invoke(app, args)
    assert res.exit_code != 0 and "buffer" in res.output, res.output
    res = CliRunner().invoke(app, args + ["--min-buffer", "0.0001"])
    assert res.exit_code == 0, res.output


def test_attack_venue_signs_parameters_that_do_not_follow_its_market(tmp_path, pf, client):
    """The venue zeroes its scenario losses and signs the file (it holds the params role): the
    insolvent account then needs no margin, the tree proves and verifies except for ``parameter
    numbers``, which re-derives LOSS from the file's own market and instruments."""
    zero = replace(pf.params, LOSS=tuple((0,) * len(r) for r in pf.params.LOSS))
    bad = replace(pf, params=zero, signature=None).signed(KEYS["VenueA"], "VenueA")
    assert bad.digest != pf.digest and bad.signature_problem(TRUST) is None
    tree = _proven(tmp_path, bad, client, buffer_bps=10_000)
    rep = verify(tree, bad)
    assert failed(rep) == {"parameter numbers"}, rep.summary()
    assert "LOSS" in rep.failures[0].detail


def test_attack_the_venue_attests_its_own_insurance_fund():
    """A trust file that (wrongly) grants the venue the reserves role: the venue's attestation of
    its own fund is refused; a custodian's is accepted."""
    trust = TRUST.with_key("VenueA", tr.public_hex(KEYS["VenueA"]), ("params", "setup", "solvency", "reserves"))
    fund = 10**20
    own = attest_reserves("VenueA", EPOCH, fund, KEYS["VenueA"], "VenueA")
    why = reserves_problem([own], trust, "VenueA", EPOCH, fund)
    assert why is not None and "the venue attests its own" in why
    held = attest_reserves("VenueA", EPOCH, fund, KEYS["CustodianX"], "CustodianX")
    assert reserves_problem([held], trust, "VenueA", EPOCH, fund) is None
    assert reserves_problem([held, own], trust, "VenueA", EPOCH, fund) is not None


def test_attack_two_clients_share_one_leaf(tmp_path, pf):
    """alice and bob hold the same portfolio; the venue draws alice's salt, puts only alice in the
    tree and hands bob alice's opening and path. Both clients' checks pass; the totals count one
    account. (No proof is needed to show it: the path and the signed statement are what a client
    checks, and this one-leaf tree is an honest tree of its one account.) Fixed: alice's salt is
    derived from her account id, and bob, checking with his own id, fails ``your salt``; without
    an id the venue-drawn opening fails ``your salt`` too (fail-safe)."""
    alice = dict(portfolio(0), account="alice")
    bob = dict(portfolio(0), account="bob")
    entries = read_book(write_book(tmp_path / "book", [alice]), pf)
    tree = tmp_path / "tree"
    st = build_tree(None, pf, tree, buffer_bps=10_000, insurance_fund=10**30, batch=B, entries=entries)
    st = replace(st, vk_fingerprint="sha256:" + "0" * 64).signed(KEYS["VenueA"], "VenueA")
    fl.write_statement(tree, st)
    inc, op = make_inclusion(tree, "alice")
    assert op.salt_from is not None and op.salt_from.account == "alice"
    rep = verify_inclusion(inc, st, opening=op, portfolio=alice, pf=pf, trust=TRUST, epoch=EPOCH, account="alice")
    assert rep.valid, rep.summary()
    assert "your salt" in {c.name for c in rep.checks}
    rep_bob = verify_inclusion(inc, st, opening=op, portfolio=bob, pf=pf, trust=TRUST, epoch=EPOCH, account="bob")
    assert failed(rep_bob) == {"your salt"}, "bob's account is alice's leaf: the book holds one of the two accounts"
    assert "another account" in rep_bob.failures[0].detail
    # the venue relabels the derivation for bob: the seed no longer derives the leaf's salt
    relabelled = replace(op, salt_from=replace(op.salt_from, account="bob"))
    assert failed(verify_inclusion(inc, st, opening=relabelled, trust=TRUST, epoch=EPOCH, account="bob")) == \
        {"your salt"}
    # a client that names no account is not told its leaf is fine
    rep = verify_inclusion(inc, st, opening=op, trust=TRUST, epoch=EPOCH)
    assert failed(rep) == {"your salt"} and "give --account ID" in rep.failures[0].detail


# ------------------------------------------------------------------------------ venue-drawn salts


def _one_leaf_tree(tmp_path, pf, who="alice"):
    """A signed one-account tree (no proof: the inclusion checks do not need one)."""
    doc = dict(portfolio(0), account=who)
    tree = tmp_path / "tree"
    st = build_tree(write_book(tmp_path / "book", [doc]), pf, tree, buffer_bps=10_000, insurance_fund=10**30,
                    batch=B)
    st = replace(st, vk_fingerprint="sha256:" + "0" * 64).signed(KEYS["VenueA"], "VenueA")
    fl.write_statement(tree, st)
    return tree, st, doc


def test_venue_salt_is_derived_from_the_account_id(tmp_path, pf):
    """The derivation is deterministic, binds every input, and is what build put in the leaf; the
    private book keeps the seed; another seed draws another salt."""
    from zkmargin.algebra.constants import R
    from zkmargin.solvency.opening import SaltFrom, derive_salt, draw_salt
    seed = bytes(range(32))
    s = derive_salt("VenueA", EPOCH, "alice", seed)
    assert s == derive_salt("VenueA", EPOCH, "alice", seed) and 0 < s < R
    assert len({s, derive_salt("VenueB", EPOCH, "alice", seed), derive_salt("VenueA", EPOCH + 1, "alice", seed),
                derive_salt("VenueA", EPOCH, "bob", seed), derive_salt("VenueA", EPOCH, "alice", seed[::-1])}) == 5
    # the length prefixes keep the fields apart: ("ab", "c") is not ("a", "bc")
    assert derive_salt("ab", EPOCH, "c", seed) != derive_salt("a", EPOCH, "bc", seed)
    s1, sf1 = draw_salt("VenueA", EPOCH, "alice")
    s2, sf2 = draw_salt("VenueA", EPOCH, "alice")
    assert s1 != s2 and sf1.seed != sf2.seed and sf1.salt("VenueA", EPOCH) == s1
    assert sf1.seed.hex() not in repr(sf1)
    tree, st, _ = _one_leaf_tree(tmp_path, pf)
    [(acct, op)] = fl.read_book_file(tree / fl.BOOK)
    assert acct == "alice" and isinstance(op.salt_from, SaltFrom) and op.salt_from.account == "alice"
    assert op.account.salt == derive_salt(st.venue, st.epoch, "alice", op.salt_from.seed)
    assert fl.read_book_file(tree / fl.BOOK, check_commitments=False)[0][1] == op
    assert ((tree / fl.BOOK).stat().st_mode & 0o777) == 0o600


def test_tampered_seed_or_account_fails_your_salt(tmp_path, pf):
    tree, st, doc = _one_leaf_tree(tmp_path, pf)
    inc, op = make_inclusion(tree, "alice")
    kw = {"trust": TRUST, "epoch": EPOCH}
    assert verify_inclusion(inc, st, opening=op, account="alice", **kw).valid
    seed = bytearray(op.salt_from.seed)
    seed[0] ^= 1
    bad_seed = replace(op, salt_from=replace(op.salt_from, seed=bytes(seed)))
    rep = verify_inclusion(inc, st, opening=bad_seed, account="alice", **kw)
    assert failed(rep) == {"your salt"}
    assert op.salt_from.seed.hex() not in rep.summary() and str(op.account.salt) not in rep.summary()
    assert failed(verify_inclusion(inc, st, opening=op, account="alicia", **kw)) == {"your salt"}
    # an opening without a derivation, checked with --account, or a commitment alone
    assert failed(verify_inclusion(inc, st, opening=replace(op, salt_from=None), account="alice", **kw)) == \
        {"your salt"}
    assert failed(verify_inclusion(inc, st, commitment=op.commitment, account="alice", **kw)) == {"your salt"}
    # a trader-made opening (no salt_from), checked without --account, has no 'your salt' check
    rep = verify_inclusion(inc, st, opening=replace(op, salt_from=None), **kw)
    assert rep.valid and "your salt" not in {c.name for c in rep.checks}


def test_opening_salt_from_is_read_strictly(tmp_path, pf):
    """The handed-out opening round-trips with its salt_from; a salt_from that is not exactly
    {account: name, seed: 64 lower-case hex digits} is refused, naming no value."""
    from zkmargin.errors import ZkmarginError
    from zkmargin.solvency.opening import opening_from_json
    tree, st, _ = _one_leaf_tree(tmp_path, pf)
    _, op = make_inclusion(tree, "alice")
    doc = op.secret_json()
    assert doc["salt_from"] == {"account": "alice", "seed": op.salt_from.seed.hex()}
    assert opening_from_json(doc) == op
    seed = doc["salt_from"]["seed"]
    for bad in ({"account": "alice", "seed": seed[:-2]}, {"account": "alice", "seed": seed + "00"},
                {"account": "alice", "seed": "zz" + seed[2:]}, {"account": "alice", "seed": seed.upper()},
                {"account": "alice"}, {"seed": seed}, {"account": "alice", "seed": seed, "salt": "1"},
                {"account": "al ice", "seed": seed}, {"account": "alice", "seed": int(seed, 16)}, seed, None):
        with pytest.raises(ZkmarginError) as e:
            opening_from_json(dict(doc, salt_from=bad))
        assert seed not in str(e.value) and seed.upper() not in str(e.value) and seed[:-2] not in str(e.value)


def test_book_opening_with_salt_from_must_derive_its_salt(tmp_path, pf):
    """A handed-out opening put back in a book is accepted under its own account id only."""
    import json as _json
    tree, st, _ = _one_leaf_tree(tmp_path, pf)
    _, op = make_inclusion(tree, "alice")
    for name, ok in (("alice", True), ("bob", False)):
        book = tmp_path / f"book-{name}"
        book.mkdir()
        (book / f"{name}.json").write_text(_json.dumps(op.secret_json()))
        if ok:
            [(acct, again)] = read_book(book, pf)
            assert acct == "alice" and again == op
        else:
            with pytest.raises(Exception, match="salt_from does not derive"):
                read_book(book, pf)


def test_cli_verify_inclusion_account(tmp_path, pf):
    """verify-inclusion --account: exit 0 for alice, 1 for bob ('your salt'), 1 without --account."""
    import json as _json

    from typer.testing import CliRunner

    from zkmargin.cli.main import app
    tree, st, doc = _one_leaf_tree(tmp_path, pf)
    inc, op = tmp_path / "inc.json", tmp_path / "op.json"
    run = CliRunner().invoke
    r = run(app, ["venue", "solvency", "inclusion", str(tree), "alice", "--out", str(inc), "--opening-out", str(op)])
    assert r.exit_code == 0, r.output
    assert (op.stat().st_mode & 0o777) == 0o600 and "salt_from" in _json.loads(op.read_text())
    tfile = tmp_path / "trust.json"
    tr.write_trust(tfile, TRUST)
    args = ["verify-inclusion", str(inc), "--statement", str(tree), "--opening", str(op), "--trust", str(tfile),
            "--epoch", str(EPOCH)]
    r = run(app, [*args, "--account", "alice"])
    assert r.exit_code == 0 and "ok   your salt" in r.output, r.output
    r = run(app, [*args, "--account", "bob"])
    assert r.exit_code == 1 and "FAIL your salt" in r.output, r.output
    r = run(app, args)
    assert r.exit_code == 1 and "give --account ID" in r.output, r.output
    r = run(app, [*args, "--account", "bob", "--json"])
    assert r.exit_code == 1 and _json.loads(r.stdout)["verdict"] == "INVALID"
    secret = _json.loads(op.read_text())
    for out in (r.output, run(app, [*args, "--account", "bob"]).output):
        assert secret["salt_from"]["seed"] not in out and secret["salt"] not in out
    r = run(app, [*args, "--account", "not an id"])
    assert r.exit_code == 2, r.output
