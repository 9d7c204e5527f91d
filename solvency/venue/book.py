"""The venue's book and the tree folder built from it.

Input (``BOOK``): a folder of ``*.json`` files or one ``.jsonl`` file, one account each, in
either form the trader side uses:

* a **portfolio** (``portfolio.json``: positions and collateral, as for ``zkmargin margin`` and
  ``zkmargin commit``); the account id is its ``account`` field (else the file name or line
  number); the venue quantizes it over the parameter file's slots (exact lots, collateral and
  P&L rounded down) and derives its salt from the account id and a fresh 32-byte seed from the
  OS CSPRNG (:func:`~zkmargin.solvency.opening.derive_salt`: venue, epoch, account id, seed);
  the opening keeps the derivation (``salt_from``) in the private book, and the client later
  receives it with its inclusion proof and checks the salt against its own account id
  (``verify-inclusion --account``), so one leaf cannot be handed to two clients;
* an **opening** (``zkmargin/opening/v2``, what ``zkmargin commit`` gave the trader and the
  trader handed to the venue): its own salt is kept, so the leaf *is* the trader's commitment.
  An opening that carries a ``salt_from`` (one the venue handed out) is accepted only when it
  derives its salt for this venue, epoch and account id.

:func:`build_tree` refuses, before writing anything: an id or a commitment seen twice (an
account counted twice), an opening made for another parameter file, a zero salt (the padding
leaf's), values outside the circuit's ranges (a negative balance, an overflowing amount), and
a total shortfall above the insurance fund (no proof could exist; exit 1).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Optional

from zkmargin.algebra.constants import R
from zkmargin.circuits.margin_circuits import ACCOUNT_KINDS, ParameterError
from zkmargin.circuits.solvency import InsolventError
from zkmargin.circuits.venue_circuits import empty_leaf, leaves_of, shortfall_of
from zkmargin.errors import ZkmarginError
from zkmargin.formats import jsonio as jio
from zkmargin.margin.quantize import MONEY

from ..opening import OPENING_FORMAT, Opening, draw_salt, opening_from_json
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


#: Accounts per build task (parse, quantize, salt, shortfall, leaf): large enough that a task's
#: overhead (a few ms) is noise, small enough to keep both cores busy on a 10 000-account book.
CHUNK = 1000


def _raw_items(book: Path):
    """(default id, where, raw JSON bytes) for each account of the book, in a stable order. Only
    bytes are read here; parsing is per chunk (:func:`evaluate_chunk`), on the cluster or not."""
    if book.is_dir():
        for p in sorted(book.glob("*.json")):
            yield p.stem, f"book {p.name}", jio.read_capped(p, f"book {p.name}", jio.SMALL_JSON_BYTES)
    elif book.is_file():
        with open(book, "rb") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    yield f"line{n}", f"book {book.name} line {n}", line
    else:
        raise ProtocolError(f"book {book}: no such folder or file")


def _parse(pf: ParamsFile, market, default_id: str, where: str, raw: bytes) -> tuple[str, Opening]:
    """One account of the book as (id, Opening); a portfolio gets a salt derived from its id and a
    fresh CSPRNG seed. No secret reaches a message."""
    from zkmargin.circuits.solvency import account_of
    from zkmargin.margin.errors import InputError
    from zkmargin.margin.portfolio import parse_portfolio
    cap = jio.SMALL_JSON_BYTES if where.endswith(".json") else 1 << 20
    try:
        doc = jio.expect_object(jio.loads_strict(raw, where, cap=cap), where)
        if doc.get("format") == OPENING_FORMAT:
            op = opening_from_json(doc, where)
            if op.params_digest != pf.digest:
                raise ProtocolError(f"{where}: the opening was made for another parameter file")
            if (len(op.account.Q), len(op.account.A)) != (pf.shape.instruments, pf.shape.assets):
                raise ProtocolError(f"{where}: the opening does not have this shape's slot counts")
            sf = op.salt_from
            if sf is not None and (sf.account != default_id or sf.salt(pf.venue, pf.epoch) != op.account.salt):
                raise ProtocolError(f"{where}: the opening's salt_from does not derive its salt for this venue, "
                                    f"epoch and account {default_id}")
            return default_id, op
        acct_id = jio.name(doc.get("account", default_id), f"{where}.account")
        salt, sf = draw_salt(pf.venue, pf.epoch, acct_id)
        a = account_of(parse_portfolio(doc, market), market, pf.instruments, pf.assets, pf.shape, salt)
        return acct_id, Opening(replace(a, kind=ACCOUNT_KINDS.index("account")), pf.digest, sf)
    except (InputError, ValueError) as e:
        if isinstance(e, ZkmarginError) and str(e).startswith(where):
            raise
        raise ProtocolError(f"{where}: {e}") from None


def read_book(book, pf: ParamsFile, *, progress: Progress = None) -> list[tuple[str, Opening]]:
    """[(account id, Opening)] in book order (module docstring). Secrets never reach a message."""
    market = pf.market_obj()
    out, ids = [], set()
    for default_id, where, raw in _raw_items(Path(book)):
        acct_id, op = _parse(pf, market, default_id, where, raw)
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


def _evaluate(pf: ParamsFile, buffer_bps: int, entries) -> tuple[list[int], list[int]]:
    """(leaves, shortfalls) of ``entries``, refusing an account outside the circuit's ranges or
    with the padding salt."""
    from zkmargin.margin.quantize import QuantizationError
    sfs = []
    for acct, op in entries:
        a = op.account
        if a.salt % R == 0:
            raise ProtocolError(f"account {acct}: salt 0 is reserved for padding")
        if (len(a.Q), len(a.A)) != (pf.shape.instruments, pf.shape.assets) or not _in_ranges(a):
            raise ProtocolError(f"account {acct}: a value is outside the circuit's ranges (a negative or "
                                "overflowing balance)")
        try:
            sfs.append(shortfall_of(pf.params, a, buffer_bps))
        except (QuantizationError, ParameterError):
            raise ProtocolError(f"account {acct}: a value is outside the circuit's ranges") from None
    return leaves_of([op.account for _, op in entries]), sfs


def evaluate_chunk(pf: ParamsFile, buffer_bps: int, items, parsed: bool = False) -> dict:
    """One build task: parse (unless ``parsed``: items are already (id, Opening)), then leaves and
    shortfalls. Errors come back as a message (never raised on a worker, whose log would show the
    task's arguments: secrets)."""
    try:
        if parsed:
            entries = list(items)
        else:
            market = pf.market_obj()
            entries = [_parse(pf, market, *it) for it in items]
        leaves, sfs = _evaluate(pf, buffer_bps, entries)
        return {"entries": entries, "leaves": leaves, "shortfalls": sfs}
    except ZkmarginError as e:
        return {"error": str(e)}


def _evaluate_all(pf, buffer_bps, chunks, parsed, *, scheduler, workers, client, progress) -> list[dict]:
    """Every chunk, in order: in this process (``workers=0``, or a single chunk without a cluster)
    or as Dask tasks (``client``, ``scheduler`` or an embedded LocalCluster)."""
    if client is None and (workers == 0 or (scheduler is None and workers is None and len(chunks) <= 1)):
        out = []
        for k, c in enumerate(chunks):
            out.append(evaluate_chunk(pf, buffer_bps, c, parsed))
            if "error" in out[-1]:
                break
            if progress and len(chunks) > 1:
                progress(f"hashed {min((k + 1) * CHUNK, sum(len(x) for x in chunks))} accounts")
        return out

    def run(cl):
        from distributed import wait
        futs = [cl.submit(evaluate_chunk, pf, buffer_bps, c, parsed, pure=False, retries=2) for c in chunks]
        if progress:
            from distributed import as_completed
            done = 0
            for _ in as_completed(futs):
                done += 1
                if done % 10 == 0 or done == len(futs):
                    progress(f"build: {done} of {len(futs)} chunks")
        wait(futs)
        return cl.gather(futs)
    if client is not None:
        return run(client)
    from .cluster import dask_client
    with dask_client(scheduler, workers=workers) as cl:
        return run(cl)


def build_tree(book, pf: ParamsFile, out_dir, *, buffer_bps: int, insurance_fund: int, batch: int = 64,
               force: bool = False, progress: Progress = None, entries=None, scheduler: str | None = None,
               workers: int | None = 0, client=None) -> fl.TreeStatement:
    """Build the tree folder (:mod:`.files`) for ``book`` under ``pf``, for batch proofs of
    ``batch`` accounts. ``insurance_fund`` in money units. ``entries`` ([(id, Opening)]) replaces
    reading ``book``. The per-account work (parse, quantize, salt, shortfall, leaf commitment)
    runs in chunks of :data:`CHUNK`: in this process with ``workers=0`` (the default of this
    function), else as Dask tasks (``client``, ``scheduler``, or an embedded LocalCluster of
    ``workers`` processes, ``None``: one per core). The coordinator checks what needs the whole
    book (an id or a commitment twice, the padding leaf, the sums, the fund) and hashes the tree."""
    from ..bundle import MAX_BUFFER_BPS
    out = Path(out_dir)
    jio.check_writable_dir(out, what="tree folder")
    if (out / fl.STATEMENT).exists() and not force:
        raise ProtocolError(f"tree folder {out}: already holds a statement; refusing to replace it (use --force)")
    if pf.shape.params != "digest":
        raise ProtocolError("a venue tree needs a digest-mode parameter file")
    if not 1 <= buffer_bps <= MAX_BUFFER_BPS:
        raise ProtocolError("buffer out of range")
    fl.check_batch(batch, "--batch")
    if entries is None:
        items, parsed = list(_raw_items(Path(book))), False
    else:
        items, parsed = list(entries), True
    n = len(items)
    if n == 0:
        raise ProtocolError("the book holds no account")
    if n > fl.MAX_ACCOUNTS:
        raise ProtocolError(f"the book holds more than {fl.MAX_ACCOUNTS} accounts")
    chunks = [items[k:k + CHUNK] for k in range(0, n, CHUNK)]
    del items
    parts = _evaluate_all(pf, buffer_bps, chunks, parsed, scheduler=scheduler, workers=workers, client=client,
                          progress=progress)
    bad = next((p["error"] for p in parts if "error" in p), None)
    if bad is not None:
        raise ProtocolError(bad)
    entries = [e for p in parts for e in p["entries"]]
    leaves = [v for p in parts for v in p["leaves"]]
    shortfall = sum(v for p in parts for v in p["shortfalls"])
    del parts
    ids: dict = {}
    for acct, _ in entries:
        if acct in ids:
            raise ProtocolError(f"account {acct} appears twice in the book (it would be counted twice)")
        ids[acct] = True
    empty = empty_leaf(pf.shape)
    seen: dict = {}
    for (acct, _), leaf in zip(entries, leaves):
        if leaf == empty:
            raise ProtocolError(f"account {acct}: its leaf equals the padding leaf")
        if leaf in seen:
            raise ProtocolError(f"accounts {seen[leaf]} and {acct} have the same commitment (counted twice)")
        seen[leaf] = acct
    del seen, ids
    totals = [sum(op.account.A[j] for _, op in entries) for j in range(pf.shape.assets)]
    if shortfall > insurance_fund:
        raise VenueInsolventError(shortfall, insurance_fund)
    depth = depth_for(n, batch)
    if progress:
        progress(f"hashing the tree of {n} leaves (depth {depth})")
    root = root_of(pf.shape, leaves, depth)
    out.mkdir(parents=True, exist_ok=True)
    fl.write_book(out / fl.BOOK, entries, leaves)
    digest = fl.write_leaves(out / fl.LEAVES, leaves)
    st = fl.TreeStatement(pf.venue, pf.epoch, pf.model, pf.digest, pf.shape, buffer_bps, insurance_fund, n, depth,
                          root, tuple(pf.assets), tuple(totals), shortfall, digest, batch)
    # a stale tree's proofs and keys would not fit the new statement
    for p in (out / fl.PROOFS).glob("batch-*.json") if (out / fl.PROOFS).is_dir() else ():
        p.unlink()
    fl.write_statement(out / fl.STATEMENT, st)
    return st


__all__ = ["read_book", "build_tree", "evaluate_chunk", "money_of", "VenueInsolventError", "CHUNK"]
