"""The gateway's store: every read and write of the database, one short transaction each.

:func:`make_engine` opens SQLite (the embedded default) or PostgreSQL (``postgresql+psycopg://``)
with settings that make a committed row durable and let concurrent writers queue instead of
failing: SQLite in WAL mode with ``synchronous=FULL``, a busy timeout, and every transaction
started with ``BEGIN IMMEDIATE`` (the writer takes the lock first, so no read-then-write
transaction deadlocks against another); PostgreSQL at its default READ COMMITTED, where a
conditional UPDATE waits for a concurrent one on the same row and then re-reads it.

The one write that must never happen twice is an acceptance: :meth:`Store.record_acceptance`
marks the challenge used with ``UPDATE challenges SET used_by=... WHERE nonce=... AND used_by
IS NULL AND expires_at_ms > now`` and inserts the acceptance (the nonce is its primary key) in
the same transaction; the caller says ``accepted`` only after that transaction committed.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

from sqlalchemy import and_, create_engine, event, func, insert, select, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError

from zkmargin.errors import ZkmarginError

from . import schema as S


class StoreError(ZkmarginError):
    """A database URL or state the gateway cannot use."""


class Conflict(ZkmarginError):
    """A registration that contradicts what the database already holds."""


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for ``sqlite:///FILE`` or ``postgresql+psycopg://...`` (module docstring).
    ``read_only`` (SQLite): transactions begin DEFERRED, so readers share the WAL snapshot
    instead of queueing for the write lock; such an engine must not be used to write."""
    try:
        u = make_url(url)
    except ArgumentError:
        raise StoreError(f"not a database URL: {url[:80]!r}") from None
    backend = u.get_backend_name()
    if backend == "sqlite":
        if not u.database or u.database == ":memory:":
            raise StoreError("an in-memory SQLite database would lose every acceptance on restart: "
                             "give a file, sqlite:///gateway.db")
        engine = create_engine(u, connect_args={"timeout": 30, "check_same_thread": False},
                               pool_size=8, max_overflow=24, pool_timeout=30)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None          # transactions are begun below, explicitly
            cur = dbapi_conn.cursor()
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=30000", "foreign_keys=ON"):
                cur.execute(f"PRAGMA {pragma}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
        return engine
    if backend == "postgresql":
        if u.get_driver_name() != "psycopg":
            raise StoreError("PostgreSQL URLs must name the psycopg driver: postgresql+psycopg://user@host/db")
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise StoreError("PostgreSQL needs psycopg: pip install 'zkmargin[postgres]'") from None
        return create_engine(u, pool_size=8, max_overflow=24, pool_timeout=30, pool_pre_ping=True)
    raise StoreError(f"unsupported database {backend!r}: use sqlite:///FILE or postgresql+psycopg://...")


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Challenge:
    nonce: int
    venue: str
    epoch: int
    issued_at_ms: int
    expires_at_ms: int
    used_by: Optional[str]


@dataclass(frozen=True)
class Outcome:
    """What :meth:`Store.record_acceptance` did: ``accepted`` (a new row), ``duplicate`` (the
    identical bundle was accepted before: ``submission_id`` is that one), or ``refused`` with a
    reason (the nonce was used by another bundle, expired, or not issued)."""

    kind: str
    submission_id: Optional[str] = None
    reason: str = ""


class Store:
    """``engine`` writes (and, on SQLite, takes the write lock first); ``reader`` reads: the
    same engine on PostgreSQL, a DEFERRED one on SQLite (WAL readers do not block)."""

    def __init__(self, engine: Engine, now_ms: Callable[[], int], reader: Optional[Engine] = None):
        self.engine = engine
        self.reader = reader or engine
        self.now_ms = now_ms

    @classmethod
    def open(cls, url: str, now_ms: Callable[[], int], *, migrate: bool = True) -> "Store":
        engine = make_engine(url)
        if migrate:
            S.migrate(engine, now_ms=now_ms)
        have = S.applied_versions(engine)
        if not have or max(have) != S.HEAD:
            raise StoreError(f"database schema is at version {max(have) if have else 0}, this gateway needs {S.HEAD}")
        reader = make_engine(url, read_only=True) if engine.dialect.name == "sqlite" else engine
        return cls(engine, now_ms, reader)

    def close(self) -> None:
        self.engine.dispose()
        if self.reader is not self.engine:
            self.reader.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- registry ------------------------------------------------------------------------------

    def register_params(self, venue: str, epoch: int, model: str, digest: int, document: str, by: str) -> bool:
        """Store a parameter file for (venue, epoch); True if new, False if the same file was
        there already; :class:`Conflict` if another file holds that venue and epoch."""
        t = S.params_files
        try:
            with self.engine.begin() as c:
                c.execute(insert(t).values(venue=venue, epoch=epoch, model=model, digest=str(digest),
                                           document=document, registered_at_ms=self.now_ms(), registered_by=by))
            return True
        except IntegrityError:
            old = self.params_document(venue, epoch, with_digest=True)
            if old is not None and old[1] == str(digest):
                return False
            raise Conflict(f"venue {venue} already has another parameter file for epoch {epoch} "
                           "(a parameter file, once registered, is final for its epoch)") from None

    def params_document(self, venue: str, epoch: int, *, with_digest: bool = False):
        t = S.params_files
        with self.reader.connect() as c:
            row = c.execute(select(t.c.document, t.c.digest).where(and_(t.c.venue == venue, t.c.epoch == epoch))).first()
        if row is None:
            return None
        return (row[0], row[1]) if with_digest else row[0]

    def params_epochs(self, venue: str) -> list[int]:
        t = S.params_files
        with self.reader.connect() as c:
            return [r[0] for r in c.execute(select(t.c.epoch).where(t.c.venue == venue).order_by(t.c.epoch))]

    def _register_keyed(self, table, key_col: str, key: str, document: str, by: str, what: str) -> bool:
        try:
            with self.engine.begin() as c:
                c.execute(insert(table).values({key_col: key, "document": document,
                                                "registered_at_ms": self.now_ms(), "registered_by": by}))
            return True
        except IntegrityError:
            with self.reader.connect() as c:
                old = c.execute(select(table.c.document).where(table.c[key_col] == key)).scalar()
            if old is not None and json.loads(old) == json.loads(document):
                return False
            raise Conflict(f"another {what} is registered for {key[:30]}...") from None

    def register_vk(self, fingerprint: str, document: str, by: str) -> bool:
        return self._register_keyed(S.verifying_keys, "fingerprint", fingerprint, document, by, "verifying key")

    def vk_document(self, fingerprint: str) -> Optional[str]:
        t = S.verifying_keys
        with self.reader.connect() as c:
            return c.execute(select(t.c.document).where(t.c.fingerprint == fingerprint)).scalar()

    def register_setup(self, vk_fp: str, document: str, by: str) -> bool:
        return self._register_keyed(S.setup_records, "vk_fingerprint", vk_fp, document, by, "setup record")

    def setup_document(self, vk_fp: str) -> Optional[str]:
        t = S.setup_records
        with self.reader.connect() as c:
            return c.execute(select(t.c.document).where(t.c.vk_fingerprint == vk_fp)).scalar()

    def register_trust(self, document: str, by: str) -> int:
        """Make ``document`` the active trust file (a new version unless it is the active one)."""
        t = S.trust_files
        with self.engine.begin() as c:
            cur = c.execute(select(t.c.version, t.c.document).order_by(t.c.version.desc()).limit(1)).first()
            if cur is not None and json.loads(cur[1]) == json.loads(document):
                return cur[0]
            res = c.execute(insert(t).values(document=document, registered_at_ms=self.now_ms(), registered_by=by))
            return res.inserted_primary_key[0]

    def trust_latest(self) -> Optional[tuple[int, str]]:
        t = S.trust_files
        with self.reader.connect() as c:
            row = c.execute(select(t.c.version, t.c.document).order_by(t.c.version.desc()).limit(1)).first()
        return (row[0], row[1]) if row else None

    def trust_version(self) -> Optional[int]:
        with self.reader.connect() as c:
            return c.execute(select(func.max(S.trust_files.c.version))).scalar()

    # -- challenges ----------------------------------------------------------------------------

    def issue_challenge(self, nonce: int, venue: str, epoch: int, ttl_ms: int) -> Challenge:
        """Store a new challenge; :class:`Conflict` if ``nonce`` was ever issued before."""
        now = self.now_ms()
        try:
            with self.engine.begin() as c:
                c.execute(insert(S.challenges).values(nonce=str(nonce), venue=venue, epoch=epoch, issued_at_ms=now,
                                                      expires_at_ms=now + ttl_ms))
        except IntegrityError:
            raise Conflict("nonce already issued") from None
        return Challenge(nonce, venue, epoch, now, now + ttl_ms, None)

    def challenge(self, nonce: int) -> Optional[Challenge]:
        t = S.challenges
        with self.reader.connect() as c:
            r = c.execute(select(t).where(t.c.nonce == str(nonce))).first()
        if r is None:
            return None
        return Challenge(int(r.nonce), r.venue, r.epoch, r.issued_at_ms, r.expires_at_ms, r.used_by)

    def acceptance_of(self, nonce: int) -> Optional[tuple[str, str]]:
        """(submission id, bundle sha256) of the acceptance that used ``nonce``."""
        t = S.acceptances
        with self.reader.connect() as c:
            r = c.execute(select(t.c.submission_id, t.c.bundle_sha256).where(t.c.nonce == str(nonce))).first()
        return (r[0], r[1]) if r else None

    # -- submissions ---------------------------------------------------------------------------

    def record_acceptance(self, sub: dict, accounts: Iterable[tuple[int, str]]) -> Outcome:
        """Use the nonce and store the accepted submission, atomically (module docstring)."""
        nonce = str(sub["nonce"])
        ch = S.challenges
        try:
            with self.engine.begin() as c:
                now = self.now_ms()
                res = c.execute(update(ch).where(and_(ch.c.nonce == nonce, ch.c.used_by.is_(None),
                                                      ch.c.venue == sub["venue"], ch.c.epoch == sub["epoch"],
                                                      ch.c.expires_at_ms > now))
                                .values(used_by=sub["id"], used_at_ms=now))
                if res.rowcount != 1:
                    raise _NotUsable()
                row = dict(sub, status="accepted", decided_at_ms=now, nonce=nonce, reasons="[]",
                           latency_ms=max(0.0, float(now - sub["received_at_ms"])))
                c.execute(insert(S.submissions).values(row))
                c.execute(insert(S.acceptances).values(nonce=nonce, submission_id=sub["id"],
                                                       bundle_sha256=sub["bundle_sha256"]))
                self._insert_accounts(c, sub, accounts, True, now)
            return Outcome("accepted", sub["id"])
        except (_NotUsable, IntegrityError):
            pass
        prev = self.acceptance_of(int(nonce))
        if prev is not None:
            if prev[1] == sub["bundle_sha256"]:
                return Outcome("duplicate", prev[0])
            return Outcome("refused", None, "the nonce was already used by another accepted bundle (replay)")
        chal = self.challenge(int(nonce))
        if chal is None:
            return Outcome("refused", None, "this gateway did not issue the nonce")
        if chal.expires_at_ms <= self.now_ms():
            return Outcome("refused", None, "the nonce has expired")
        return Outcome("refused", None, "the nonce was issued for another venue or epoch")

    def record_rejection(self, sub: dict, accounts: Iterable[tuple[int, str]] = ()) -> str:
        now = self.now_ms()
        row = dict(sub, status="rejected", decided_at_ms=now, document=None,
                   nonce=None if sub.get("nonce") is None else str(sub["nonce"]),
                   latency_ms=max(0.0, float(now - sub["received_at_ms"])))
        with self.engine.begin() as c:
            c.execute(insert(S.submissions).values(row))
            if sub.get("venue") is not None:
                self._insert_accounts(c, sub, accounts, False, now)
        return sub["id"]

    @staticmethod
    def _insert_accounts(c, sub: dict, accounts, accepted: bool, now: int) -> None:
        rows = [{"submission_id": sub["id"], "commitment": str(cm), "kind": kind, "venue": sub["venue"],
                 "epoch": sub["epoch"], "accepted": accepted, "buffer_bps": sub.get("buffer_bps") or 0,
                 "at_ms": now} for cm, kind in dict(accounts).items()]
        if rows:
            c.execute(insert(S.account_proofs), rows)

    def submission(self, sid: str) -> Optional[dict]:
        t = S.submissions
        with self.reader.connect() as c:
            r = c.execute(select(t).where(t.c.id == sid)).first()
        return dict(r._mapping) if r else None

    # -- accounts and epochs -------------------------------------------------------------------

    def account_status(self, commitment: int, epoch: int) -> dict:
        """solvent / rejected / expired / unknown for ``commitment`` in ``epoch``."""
        ap, sb = S.account_proofs, S.submissions
        cm = str(commitment)
        with self.reader.connect() as c:
            best = c.execute(select(ap.c.buffer_bps, ap.c.submission_id, ap.c.venue, ap.c.at_ms)
                             .where(and_(ap.c.commitment == cm, ap.c.epoch == epoch, ap.c.accepted.is_(True)))
                             .order_by(ap.c.buffer_bps.desc(), ap.c.at_ms).limit(1)).first()
            if best is not None:
                return {"status": "solvent", "buffer_bps": best[0], "submission_id": best[1], "venue": best[2],
                        "proven_epoch": epoch, "at_ms": best[3]}
            rej = c.execute(select(ap.c.submission_id, ap.c.venue, ap.c.at_ms, sb.c.reasons)
                            .join(sb, sb.c.id == ap.c.submission_id)
                            .where(and_(ap.c.commitment == cm, ap.c.epoch == epoch, ap.c.accepted.is_(False)))
                            .order_by(ap.c.at_ms.desc()).limit(1)).first()
            if rej is not None:
                return {"status": "rejected", "submission_id": rej[0], "venue": rej[1], "at_ms": rej[2],
                        "failures": json.loads(rej[3])}
            last = c.execute(select(ap.c.epoch, ap.c.buffer_bps, ap.c.submission_id, ap.c.venue)
                             .where(and_(ap.c.commitment == cm, ap.c.epoch < epoch, ap.c.accepted.is_(True)))
                             .order_by(ap.c.epoch.desc()).limit(1)).first()
            if last is not None:
                return {"status": "expired", "proven_epoch": last[0], "buffer_bps": last[1],
                        "submission_id": last[2], "venue": last[3]}
        return {"status": "unknown"}

    def epoch_summary(self, epoch: int, venue: Optional[str] = None) -> dict:
        sb, ch, ep, ev = S.submissions, S.challenges, S.epochs, S.events
        now = self.now_ms()

        def where(t):
            cond = [t.c.epoch == epoch]
            if venue is not None:
                cond.append(t.c.venue == venue)
            return and_(*cond)
        with self.reader.connect() as c:
            counts = dict(c.execute(select(sb.c.status, func.count()).where(where(sb)).group_by(sb.c.status)).all())
            outstanding = c.execute(select(func.count()).select_from(ch).where(
                and_(where(ch), ch.c.used_by.is_(None), ch.c.expires_at_ms > now))).scalar()
            expired = c.execute(select(func.count()).select_from(ch).where(
                and_(where(ch), ch.c.used_by.is_(None), ch.c.expires_at_ms <= now))).scalar()
            issued = c.execute(select(func.count()).select_from(ch).where(where(ch))).scalar()
            lat = sorted(r[0] for r in c.execute(select(sb.c.latency_ms).where(where(sb))
                                                 .order_by(sb.c.received_at_ms.desc()).limit(100_000)))
            closed = c.execute(select(ep.c.venue, ep.c.next_epoch, ep.c.closed_at_ms).where(where(ep))).all()
            calls = c.execute(select(func.count()).select_from(ev).where(
                and_(where(ev), ev.c.kind == "margin_call"))).scalar()

        def pct(p):
            if not lat:
                return None
            return lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))]
        return {"epoch": epoch, "venue": venue, "accepted": counts.get("accepted", 0),
                "rejected": counts.get("rejected", 0), "outstanding": outstanding,
                "expired_challenges": expired, "challenges_issued": issued,
                "latency_ms": {"p50": pct(50), "p90": pct(90), "p99": pct(99), "max": lat[-1] if lat else None,
                               "count": len(lat)},
                "closed": [{"venue": v, "next_epoch": n, "closed_at_ms": t} for v, n, t in closed],
                "margin_calls": calls}

    def close_epoch(self, venue: str, epoch: int, next_epoch: int, by: str) -> tuple[bool, int]:
        """Close ``epoch`` for ``venue``: every commitment proven solvent in it without an
        accepted proof for ``next_epoch`` gets a margin-call event. (new?, margin calls)."""
        ap, ev = S.account_proofs, S.events
        try:
            with self.engine.begin() as c:
                now = self.now_ms()
                c.execute(insert(S.epochs).values(venue=venue, epoch=epoch, next_epoch=next_epoch,
                                                  closed_at_ms=now, closed_by=by))
                proven = {r[0]: r[1] for r in c.execute(
                    select(ap.c.commitment, func.max(ap.c.buffer_bps)).where(
                        and_(ap.c.venue == venue, ap.c.epoch == epoch, ap.c.accepted.is_(True)))
                    .group_by(ap.c.commitment))}
                renewed = {r[0] for r in c.execute(select(ap.c.commitment).where(
                    and_(ap.c.venue == venue, ap.c.epoch == next_epoch, ap.c.accepted.is_(True))))}
                missing = sorted(set(proven) - renewed)
                rows = [{"at_ms": now, "kind": "margin_call", "venue": venue, "epoch": epoch,
                         "next_epoch": next_epoch, "commitment": cm,
                         "detail": f"proven solvent (buffer {proven[cm] / 10_000:g}) for epoch {epoch}, "
                                   f"no accepted proof for epoch {next_epoch} at close"} for cm in missing]
                rows.append({"at_ms": now, "kind": "epoch_closed", "venue": venue, "epoch": epoch,
                             "next_epoch": next_epoch, "commitment": None,
                             "detail": f"{len(proven)} account(s) proven, {len(missing)} margin call(s)"})
                c.execute(insert(ev), rows)
            return True, len(missing)
        except IntegrityError:
            with self.reader.connect() as c:
                row = c.execute(select(S.epochs.c.next_epoch).where(
                    and_(S.epochs.c.venue == venue, S.epochs.c.epoch == epoch))).first()
                calls = c.execute(select(func.count()).select_from(ev).where(and_(
                    ev.c.venue == venue, ev.c.epoch == epoch, ev.c.kind == "margin_call"))).scalar()
            if row is not None and row[0] == next_epoch:
                return False, calls
            raise Conflict(f"epoch {epoch} of {venue} was already closed with next epoch "
                           f"{row[0] if row else '?'}") from None

    def events(self, *, venue: Optional[str] = None, epoch: Optional[int] = None, kind: Optional[str] = None,
               after: int = 0, limit: int = 100) -> list[dict]:
        ev = S.events
        cond = [ev.c.id > after]
        if venue is not None:
            cond.append(ev.c.venue == venue)
        if epoch is not None:
            cond.append(ev.c.epoch == epoch)
        if kind is not None:
            cond.append(ev.c.kind == kind)
        with self.reader.connect() as c:
            rows = c.execute(select(ev).where(and_(*cond)).order_by(ev.c.id).limit(limit)).all()
        return [dict(r._mapping) for r in rows]

    # -- admin replay window -------------------------------------------------------------------

    def admin_request_seen(self, signature: str, signer: str, action: str, window_ms: int) -> bool:
        """Record a signed admin request; True if this signature was seen before (a replay).
        Entries older than the replay window are dropped (their timestamps are refused anyway)."""
        t = S.admin_requests
        now = self.now_ms()
        try:
            with self.engine.begin() as c:
                c.execute(t.delete().where(t.c.at_ms < now - 2 * window_ms))
                c.execute(insert(t).values(signature=signature, signer=signer, at_ms=now, action=action[:200]))
            return False
        except IntegrityError:
            return True

    # -- dashboard and metrics -----------------------------------------------------------------

    def totals(self) -> dict:
        sb, ch = S.submissions, S.challenges
        now = self.now_ms()
        with self.reader.connect() as c:
            counts = dict(c.execute(select(sb.c.status, func.count()).group_by(sb.c.status)).all())
            outstanding = c.execute(select(func.count()).select_from(ch).where(
                and_(ch.c.used_by.is_(None), ch.c.expires_at_ms > now))).scalar()
            issued = c.execute(select(func.count()).select_from(ch)).scalar()
        return {"accepted": counts.get("accepted", 0), "rejected": counts.get("rejected", 0),
                "challenges_outstanding": outstanding, "challenges_issued": issued}

    def epoch_rows(self, limit: int = 20) -> list[dict]:
        sb = S.submissions
        with self.reader.connect() as c:
            rows = c.execute(select(sb.c.venue, sb.c.epoch, sb.c.status, func.count())
                             .where(sb.c.venue.is_not(None))
                             .group_by(sb.c.venue, sb.c.epoch, sb.c.status)).all()
            closed = {(v, e) for v, e in c.execute(select(S.epochs.c.venue, S.epochs.c.epoch))}
        out: dict = {}
        for v, e, st, n in rows:
            out.setdefault((v, e), {"venue": v, "epoch": e, "accepted": 0, "rejected": 0,
                                    "closed": (v, e) in closed})[st] = n
        return sorted(out.values(), key=lambda r: (-r["epoch"], r["venue"]))[:limit]

    def timeline(self, since_ms: int, bucket_ms: int) -> list[tuple[int, str, int]]:
        """(bucket start, status, count) of submissions received since ``since_ms``."""
        sb = S.submissions
        with self.reader.connect() as c:
            rows = c.execute(select(sb.c.received_at_ms, sb.c.status).where(sb.c.received_at_ms >= since_ms)).all()
        agg: dict = {}
        for t, st in rows:
            k = (since_ms + (t - since_ms) // bucket_ms * bucket_ms, st)
            agg[k] = agg.get(k, 0) + 1
        return sorted((b, st, n) for (b, st), n in agg.items())

    def recent_rejections(self, limit: int = 20) -> list[dict]:
        sb = S.submissions
        with self.reader.connect() as c:
            rows = c.execute(select(sb.c.id, sb.c.received_at_ms, sb.c.venue, sb.c.epoch, sb.c.reasons)
                             .where(sb.c.status == "rejected").order_by(sb.c.received_at_ms.desc()).limit(limit)).all()
        return [{"id": r[0], "at_ms": r[1], "venue": r[2], "epoch": r[3], "failures": json.loads(r[4])} for r in rows]


class _NotUsable(ZkmarginError):
    pass


__all__ = ["Store", "StoreError", "Conflict", "Challenge", "Outcome", "make_engine", "new_id"]
