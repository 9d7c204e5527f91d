"""The venue's book and the tree folder built from it.

Input (``BOOK``): a folder of ``*.json`` files or one ``.jsonl`` file, one account each, in
either form the trader side uses:

* a **portfolio** (``portfolio.json``: positions and collateral, as for ``zkmargin margin`` and
  ``zkmargin commit``); the account id is its ``account`` field (else the file name or line
  number); the venue quantizes it over the parameter file's slots (exact lots, collateral and
  P&L rounded down) and draws a fresh salt from the OS CSPRNG; the client later receives this
  opening with its inclusion proof;
* an **opening** (``zkmargin/opening/v2``, what ``zkmargin commit`` gave the trader and the
  trader handed to the venue): its own salt is kept, so the leaf *is* the trader's commitment.

:func:`build_tree` refuses, before writing anything: an id or a commitment seen twice (an
account counted twice), an opening made for another parameter file, a zero salt (the padding
leaf's), values outside the circuit's ranges (a negative balance, an overflowing amount), and
a total shortfall above the insurance fund (no proof could exist; exit 1).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Callable, Optional

from zkmargin.algebra.constants import R
from zkmargin.circuits.margin_circuits import ACCOUNT_KINDS, ParameterError
from zkmargin.circuits.poseidon import random_salt
from zkmargin.circuits.solvency import InsolventError
from zkmargin.circuits.venue_circuits import empty_leaf, leaf_of, shortfall_of
from zkmargin.errors import ZkmarginError
from zkmargin.formats import jsonio as jio
from zkmargin.margin.quantize import MONEY

from ..opening import OPENING_FORMAT, Opening, opening_from_json
from ..params import ParamsFile, ProtocolError
from . import files as fl
from .tree import depth_for, root_of

Progress = Optional[Callable[[str], None]]


class VenueInsolventError(InsolventError):
    """The book's total shortfall exceeds the insurance fund: no proof can exist."""

    def __init__(self, shortfall: int, fund: int):
        self.shortfall_usd = shortfall / MONEY
        ZkmarginError.__init__(self, f"insolvent: the accounts' total margin shortfall ({shortfall / MONEY:,.2f} USD) "
                                     f"exceeds the insurance fund ({fund / MONEY:,.2f} USD) -- no proof can be produced")


def money_of(usd) -> int:
    """A decimal USD amount as money units (1e-14 USD), exactly; refuses negatives and NaN."""
    from decimal import Decimal, InvalidOperation
    try:
        d = Decimal(str(usd)) * MONEY
    except InvalidOperation:
        raise ProtocolError("insurance fund: not a decimal number") from None
    if not d.is_finite() or d < 0 or d != d.to_integral_value() or d >= 1 << 200:
        raise ProtocolError("insurance fund: must be a non-negative USD amount with at most 14 decimals")
    return int(d)


def _docs(book: Path):
    """(default id, decoded object) for each account of the book, in a stable order."""
    if book.is_dir():
        for p in sorted(book.glob("*.json")):
            yield p.stem, jio.read_object(p, f"book {p.name}"), f"book {p.name}"
    elif book.is_file():
        with open(book, "rb") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    where = f"book {book.name} line {n}"
                    yield f"line{n}", jio.expect_object(jio.loads_strict(line, where, cap=1 << 20), where), where
    else:
        raise ProtocolError(f"book {book}: no such folder or file")


def read_book(book, pf: ParamsFile, *, progress: Progress = None) -> list[tuple[str, Opening]]:
    """[(account id, Opening)] in book order (module docstring). Secrets never reach a message."""
    from zkmargin.circuits.solvency import account_of
    from zkmargin.margin.errors import InputError
    from zkmargin.margin.portfolio import parse_portfolio
    market = pf.market_obj()
    out, ids = [], set()
    for default_id, doc, where in _docs(Path(book)):
        try:
            if doc.get("format") == OPENING_FORMAT:
                op = opening_from_json(doc, where)
                if op.params_digest != pf.digest:
                    raise ProtocolError(f"{where}: the opening was made for another parameter file")
                if (len(op.account.Q), len(op.account.A)) != (pf.shape.instruments, pf.shape.assets):
                    raise ProtocolError(f"{where}: the opening does not have this shape's slot counts")
                acct_id = default_id
            else:
                acct_id = jio.name(doc.get("account", default_id), f"{where}.account")
                a = account_of(parse_portfolio(doc, market), market, pf.instruments, pf.assets, pf.shape,
                               random_salt())
                op = Opening(replace(a, kind=ACCOUNT_KINDS.index("account")), pf.digest)
        except (InputError, ValueError) as e:
            if isinstance(e, ZkmarginError) and str(e).startswith(where):
                raise
            raise ProtocolError(f"{where}: {e}") from None
        if acct_id in ids:
            raise ProtocolError(f"{where}: account {acct_id} appears twice in the book (it would be counted twice)")
        ids.add(acct_id)
        out.append((acct_id, op))
        if progress and len(out) % 10_000 == 0:
            progress(f"read {len(out)} accounts")
    return out


def _in_ranges(a) -> bool:
    """The batch circuit's per-account ranges: |Q| < 2^57, 0 <= A < 2^57, |U| < 2^91."""
    from zkmargin.circuits.margin_circuits import A_BITS, Q_BITS, U_BITS
    return (all(-(1 << (Q_BITS - 1)) < q < 1 << (Q_BITS - 1) for q in a.Q) and all(0 <= v < 1 << A_BITS for v in a.A)
            and -(1 << (U_BITS - 1)) <= a.U < 1 << (U_BITS - 1))


def build_tree(book, pf: ParamsFile, out_dir, *, buffer_bps: int, insurance_fund: int, batch: int = 64,
               force: bool = False, progress: Progress = None, entries=None) -> fl.TreeStatement:
    """Build the tree folder (:mod:`.files`) for ``book`` under ``pf``. ``insurance_fund`` in money
    units. ``entries`` ([(id, Opening)]) replaces reading ``book``."""
    from zkmargin.margin.quantize import QuantizationError
    from ..bundle import MAX_BUFFER_BPS
    out = Path(out_dir)
    jio.check_writable_dir(out, what="tree folder")
    if (out / fl.STATEMENT).exists() and not force:
        raise ProtocolError(f"tree folder {out}: already holds a statement; refusing to replace it (use --force)")
    if pf.shape.params != "digest":
        raise ProtocolError("a venue tree needs a digest-mode parameter file")
    if not 1 <= buffer_bps <= MAX_BUFFER_BPS:
        raise ProtocolError("buffer out of range")
    if batch < 1 or batch & (batch - 1):
        raise ProtocolError("batch size must be a power of two")
    entries = read_book(book, pf, progress=progress) if entries is None else list(entries)
    n = len(entries)
    if n == 0:
        raise ProtocolError("the book holds no account")
    empty = empty_leaf(pf.shape)
    leaves, seen, shortfall = [], {}, 0
    totals = [0] * pf.shape.assets
    for k, (acct, op) in enumerate(entries):
        a = op.account
        if a.salt % R == 0:
            raise ProtocolError(f"account {acct}: salt 0 is reserved for padding")
        if (len(a.Q), len(a.A)) != (pf.shape.instruments, pf.shape.assets) or not _in_ranges(a):
            raise ProtocolError(f"account {acct}: a value is outside the circuit's ranges (a negative or "
                                "overflowing balance)")
        try:
            sf = shortfall_of(pf.params, a, buffer_bps)
        except (QuantizationError, ParameterError):
            raise ProtocolError(f"account {acct}: a value is outside the circuit's ranges") from None
        leaf = leaf_of(a)
        if leaf == empty:
            raise ProtocolError(f"account {acct}: its leaf equals the padding leaf")
        if leaf in seen:
            raise ProtocolError(f"accounts {seen[leaf]} and {acct} have the same commitment (counted twice)")
        seen[leaf] = acct
        leaves.append(leaf)
        shortfall += sf
        for j, v in enumerate(a.A):
            totals[j] += v
        if progress and (k + 1) % 10_000 == 0:
            progress(f"hashed {k + 1} of {n} accounts")
    if shortfall > insurance_fund:
        raise VenueInsolventError(shortfall, insurance_fund)
    depth = depth_for(n, batch)
    root = root_of(pf.shape, leaves, depth)
    out.mkdir(parents=True, exist_ok=True)
    fl.write_book(out / fl.BOOK, entries, leaves)
    digest = fl.write_leaves(out / fl.LEAVES, leaves)
    st = fl.TreeStatement(pf.venue, pf.epoch, pf.model, pf.digest, pf.shape, buffer_bps, insurance_fund, n, depth,
                          root, tuple(pf.assets), tuple(totals), shortfall, digest)
    jio.write_json(out / fl.STATEMENT, st.to_json())
    return st


__all__ = ["read_book", "build_tree", "money_of", "VenueInsolventError"]
