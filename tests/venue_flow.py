"""A small venue book, its parameter file and helpers for the venue-solvency tests.

Shape: 2 instruments (BTC perpetual and call) × 2 assets (USDC, BTC) × 1 group × 16 scenarios
(span16), batches of B = 2, so a batch circuit is about 12 000 constraints and its
DEVELOPMENT-ONLY key is cached per circuit ($ZKMARGIN_CACHE).

Signing keys (made once per test session): ``VenueA`` and ``VenueB`` (trusted for params, setup
and solvency), ``CustodianX`` (trusted for collateral and reserves) and ``Mallory`` (in no
trust file); :data:`TRUST` is the auditor's and the clients' trust file.
"""

from __future__ import annotations

import json
from pathlib import Path

from zkmargin.circuits.margin_circuits import Shape
from zkmargin.solvency import trust as tr
from zkmargin.solvency.params import make_params_file
from zkmargin.solvency.venue import files as fl
from zkmargin.solvency.venue import synthetic as sy

SHAPE = Shape("worst_case", 2, 2, 1, 16)
B = 2
EPOCH = 20240524
INSTRUMENTS = [sy.INSTRUMENTS[0], sy.INSTRUMENTS[2]]


KEYS = {name: tr.new_key() for name in ("VenueA", "VenueB", "CustodianX", "Mallory")}
VENUE_ROLES = ("params", "setup", "solvency")
TRUST = (tr.Trust({}).with_key("VenueA", tr.public_hex(KEYS["VenueA"]), VENUE_ROLES)
         .with_key("VenueB", tr.public_hex(KEYS["VenueB"]), VENUE_ROLES)
         .with_key("CustodianX", tr.public_hex(KEYS["CustodianX"]), ("collateral", "reserves")))


def params(epoch=EPOCH, venue="VenueA"):
    """The venue's parameter file, signed by the venue."""
    from zkmargin.margin.market import parse_market
    from zkmargin.solvency.params import instruments_from_dicts
    md = sy.market_doc()
    insts = instruments_from_dicts(INSTRUMENTS, parse_market(md))
    return make_params_file(venue, epoch, "span16", insts, md, SHAPE, sy.ASSETS).signed(KEYS[venue], venue)


def sign(tree, pf):
    """The venue signs its proven tree (statement and setup record)."""
    from zkmargin.solvency.venue.publish import sign_tree
    return sign_tree(tree, pf, KEYS[pf.venue], pf.venue)


def verify(tree, pf, **kw):
    """verify_tree with the tree's own key and setup record, the auditor's trust file and the
    parameter file's epoch (each replaceable), in this process unless a client is given."""
    from zkmargin.formats.snarkjs_json import read_verifying_key
    from zkmargin.solvency.keys import read_setup_record
    from zkmargin.solvency.venue.verify import verify_tree
    tree = Path(tree)
    if "vk" not in kw:
        kw["vk"] = read_verifying_key(tree / "keys" / "verification_key.json")
    if "setup" not in kw:
        kw["setup"] = read_setup_record(tree / "keys" / "setup.json") if (tree / "keys" / "setup.json").exists() \
            else None
    kw.setdefault("trust", TRUST)
    kw.setdefault("epoch", pf.epoch)
    if "client" not in kw:
        kw.setdefault("workers", 0)
    return verify_tree(tree, pf, **kw)


def edit_statement(tree, **fields):
    """Rewrite fields of statement.json in place (an attacker's edit; the signature is kept)."""
    p = Path(tree) / "statement.json"
    doc = json.loads(p.read_text())
    doc.update({k: v for k, v in fields.items() if v is not None})
    for k, v in fields.items():
        if v is None:
            doc.pop(k, None)
    p.write_text(json.dumps(doc))


def portfolio(i: int, *, perp=0.5, call=-1.0, usdc=50_000.0, btc=0.25) -> dict:
    pos = []
    if perp:
        pos.append(dict(INSTRUMENTS[0], quantity=perp, entry_price=66_000.0))
    if call:
        pos.append(dict(INSTRUMENTS[1], quantity=call))
    coll = {"USDC": usdc}
    if btc:
        coll["BTC"] = btc
    return {"account": f"acct-{i}", "collateral": coll, "positions": pos}


def book_docs() -> list[dict]:
    """Five accounts: four solvent, one undercollateralised (a short call with 100 USDC)."""
    return [portfolio(0), portfolio(1, perp=-1.0, call=0, usdc=20_000.0, btc=0),
            portfolio(2, perp=0, call=-2.0, usdc=100.0, btc=0),     # the insolvent one
            portfolio(3, perp=0, call=0, usdc=1_000.0, btc=1.0), portfolio(4, perp=2.0, call=1.0)]


def write_book(folder: Path, docs) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for d in docs:
        (folder / f"{d['account']}.json").write_text(json.dumps(d))
    return folder


def forge_tree(out: Path, pf, entries, *, buffer_bps=10_000, fund=10**30, batch=B):
    """A tree folder written WITHOUT build_tree's checks (the attacker's own build): leaves,
    book and a statement whose sums are the true sums of ``entries``."""
    from zkmargin.circuits.venue_circuits import leaf_of, shortfall_of
    from zkmargin.formats import jsonio as jio
    from zkmargin.solvency.venue.tree import depth_for, root_of
    out.mkdir(parents=True, exist_ok=True)
    leaves = [leaf_of(op.account) for _, op in entries]
    fl.write_book(out / fl.BOOK, entries, leaves)
    digest = fl.write_leaves(out / fl.LEAVES, leaves)
    depth = depth_for(len(entries), batch)
    st = fl.TreeStatement(pf.venue, pf.epoch, pf.model, pf.digest, pf.shape, buffer_bps, fund, len(entries), depth,
                          root_of(pf.shape, leaves, depth), tuple(pf.assets),
                          tuple(sum(op.account.A[j] for _, op in entries) for j in range(pf.shape.assets)),
                          sum(shortfall_of(pf.params, op.account, buffer_bps) for _, op in entries), digest, batch)
    jio.write_json(out / fl.STATEMENT, st.to_json())
    return st


def failed(report) -> set[str]:
    return {c.name for c in report.failures}
