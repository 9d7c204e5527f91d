"""A small venue book, its parameter file and helpers for the venue-solvency tests.

Shape: 2 instruments (BTC perpetual and call) × 2 assets (USDC, BTC) × 1 group × 16 scenarios
(span16), batches of B = 2, so a batch circuit is about 12 000 constraints and its
DEVELOPMENT-ONLY key is cached per circuit ($ZKMARGIN_CACHE).
"""

from __future__ import annotations

import json
from pathlib import Path

from zkmargin.circuits.margin_circuits import Shape
from zkmargin.solvency.params import make_params_file
from zkmargin.solvency.venue import files as fl
from zkmargin.solvency.venue import synthetic as sy

SHAPE = Shape("worst_case", 2, 2, 1, 16)
B = 2
EPOCH = 20240524
INSTRUMENTS = [sy.INSTRUMENTS[0], sy.INSTRUMENTS[2]]


def params(epoch=EPOCH, venue="VenueA"):
    from zkmargin.margin.market import parse_market
    from zkmargin.solvency.params import instruments_from_dicts
    md = sy.market_doc()
    insts = instruments_from_dicts(INSTRUMENTS, parse_market(md))
    return make_params_file(venue, epoch, "span16", insts, md, SHAPE, sy.ASSETS)


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
                          sum(shortfall_of(pf.params, op.account, buffer_bps) for _, op in entries), digest)
    jio.write_json(out / fl.STATEMENT, st.to_json())
    return st


def failed(report) -> set[str]:
    return {c.name for c in report.failures}
