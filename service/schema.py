"""The gateway's database schema and its versioned migrations (SQLite and PostgreSQL alike).

The tables are SQLAlchemy Core objects on one :data:`metadata`; the *migrations* are the only
code that creates or changes them in a database. Each migration has a number and a name; the
table ``schema_migrations`` lists the ones a database has had. :func:`migrate` applies the
missing ones in order, each in its own transaction, under a lock (PostgreSQL: an advisory
lock; SQLite: the database's write lock, ``BEGIN IMMEDIATE``), so two gateways starting on
one database at once do not both run a migration. A database newer than this code (a
migration number it does not know) is refused rather than used.

Times are integers, milliseconds since the Unix epoch (UTC), so both engines store and
compare them the same way. Field elements (nonces, commitments, digests) are decimal strings:
they are compared for equality only, and PostgreSQL's BIGINT cannot hold them.

Single use of a nonce is enforced twice by the database: the acceptance that uses it sets
``challenges.used_by`` with a conditional UPDATE (``... WHERE used_by IS NULL``, so of two
concurrent writers one updates the row and the other updates none), and ``acceptances`` has
the nonce as its primary key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import CreateIndex, CreateTable

from zkmargin.errors import ZkmarginError

metadata = MetaData()

FE = String(80)          # a field element / 128-bit nonce as a decimal string
NAME = String(64)        # a venue or attester name (NAME_RE)

schema_migrations = Table(
    "schema_migrations", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("applied_at_ms", BigInteger, nullable=False),
)

params_files = Table(
    "params_files", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("venue", NAME, nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("model", String(32), nullable=False),
    Column("digest", FE, nullable=False),
    Column("document", Text, nullable=False),
    Column("registered_at_ms", BigInteger, nullable=False),
    Column("registered_by", NAME, nullable=False),
    UniqueConstraint("venue", "epoch", name="uq_params_venue_epoch"),
)

verifying_keys = Table(
    "verifying_keys", metadata,
    Column("fingerprint", String(80), primary_key=True),
    Column("document", Text, nullable=False),
    Column("registered_at_ms", BigInteger, nullable=False),
    Column("registered_by", NAME, nullable=False),
)

setup_records = Table(
    "setup_records", metadata,
    Column("vk_fingerprint", String(80), primary_key=True),
    Column("document", Text, nullable=False),
    Column("registered_at_ms", BigInteger, nullable=False),
    Column("registered_by", NAME, nullable=False),
)

trust_files = Table(
    "trust_files", metadata,
    Column("version", Integer, primary_key=True, autoincrement=True),
    Column("document", Text, nullable=False),
    Column("registered_at_ms", BigInteger, nullable=False),
    Column("registered_by", NAME, nullable=False),
)

challenges = Table(
    "challenges", metadata,
    Column("nonce", FE, primary_key=True),
    Column("venue", NAME, nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("issued_at_ms", BigInteger, nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False),
    Column("used_by", String(32), nullable=True),       # the accepted submission's id
    Column("used_at_ms", BigInteger, nullable=True),
)

submissions = Table(
    "submissions", metadata,
    Column("id", String(32), primary_key=True),
    Column("received_at_ms", BigInteger, nullable=False),
    Column("decided_at_ms", BigInteger, nullable=False),
    Column("status", String(10), nullable=False),         # accepted | rejected
    Column("bundle_sha256", String(64), nullable=False),
    Column("venue", NAME, nullable=True),                 # null: the body was not a bundle
    Column("epoch", BigInteger, nullable=True),
    Column("nonce", FE, nullable=True),
    Column("buffer_bps", BigInteger, nullable=True),
    Column("reasons", Text, nullable=False),              # JSON [{name, reason}] of failed checks
    Column("latency_ms", Float, nullable=False),
    Column("document", Text, nullable=True),              # the bundle (public), accepted ones only
)

acceptances = Table(
    "acceptances", metadata,
    Column("nonce", FE, ForeignKey("challenges.nonce"), primary_key=True),
    Column("submission_id", String(32), ForeignKey("submissions.id"), nullable=False, unique=True),
    Column("bundle_sha256", String(64), nullable=False),
)

account_proofs = Table(
    "account_proofs", metadata,
    Column("submission_id", String(32), ForeignKey("submissions.id"), primary_key=True),
    Column("commitment", FE, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("venue", NAME, nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("accepted", Boolean, nullable=False),
    Column("buffer_bps", BigInteger, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
)

epochs = Table(
    "epochs", metadata,
    Column("venue", NAME, primary_key=True),
    Column("epoch", BigInteger, primary_key=True, autoincrement=False),
    Column("next_epoch", BigInteger, nullable=False),
    Column("closed_at_ms", BigInteger, nullable=False),
    Column("closed_by", NAME, nullable=False),
)

events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at_ms", BigInteger, nullable=False),
    Column("kind", String(20), nullable=False),           # epoch_closed | margin_call
    Column("venue", NAME, nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("next_epoch", BigInteger, nullable=False),
    Column("commitment", FE, nullable=True),
    Column("detail", Text, nullable=False),
)

admin_requests = Table(
    "admin_requests", metadata,
    Column("signature", String(128), primary_key=True),
    Column("signer", NAME, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("action", String(200), nullable=False),
)

# indexes added by migration 2 (the queries of the account, epoch and dashboard endpoints)
INDEXES = (
    Index("ix_challenges_venue_epoch", challenges.c.venue, challenges.c.epoch),
    Index("ix_submissions_received", submissions.c.received_at_ms),
    Index("ix_submissions_venue_epoch", submissions.c.venue, submissions.c.epoch),
    Index("ix_account_proofs_commitment", account_proofs.c.commitment, account_proofs.c.epoch),
    Index("ix_account_proofs_venue_epoch", account_proofs.c.venue, account_proofs.c.epoch),
    Index("ix_events_venue_epoch", events.c.venue, events.c.epoch),
    Index("ix_admin_requests_at", admin_requests.c.at_ms),
)

V1_TABLES = (params_files, verifying_keys, setup_records, trust_files, challenges, submissions,
             acceptances, account_proofs, epochs, events, admin_requests)


class SchemaError(ZkmarginError):
    """The database's schema is not one this gateway can use."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


def _m1(conn: Connection) -> None:
    for t in V1_TABLES:              # CREATE TABLE only: the indexes are migration 2's
        conn.execute(CreateTable(t))


def _m2(conn: Connection) -> None:
    for ix in INDEXES:
        conn.execute(CreateIndex(ix))


MIGRATIONS = (
    Migration(1, "initial schema: registry, challenges, submissions, acceptances, accounts, epochs, "
                 "events, admin requests", _m1),
    Migration(2, "indexes for account, epoch and dashboard queries", _m2),
)
HEAD = MIGRATIONS[-1].version


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7014014)"))


def applied_versions(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, "schema_migrations"):
            return []
        return [r[0] for r in conn.execute(select(schema_migrations.c.version).order_by(schema_migrations.c.version))]


def migrate(engine: Engine, target: int = HEAD, *, now_ms: Callable[[], int]) -> list[int]:
    """Apply every migration up to ``target`` that the database lacks; the versions applied."""
    done: list[int] = []
    with engine.begin() as conn:          # the bookkeeping table itself (idempotent)
        _lock(conn)
        if not engine.dialect.has_table(conn, "schema_migrations"):
            schema_migrations.create(conn)
    for m in MIGRATIONS:
        if m.version > target:
            break
        with engine.begin() as conn:
            _lock(conn)
            have = {r[0] for r in conn.execute(select(schema_migrations.c.version))}
            unknown = sorted(v for v in have if v > HEAD)
            if unknown:
                raise SchemaError(f"the database has schema version {unknown[-1]}, newer than this "
                                  f"gateway's {HEAD}: upgrade zkmargin")
            if m.version in have:
                continue
            m.apply(conn)
            conn.execute(insert(schema_migrations).values(version=m.version, name=m.name,
                                                          applied_at_ms=now_ms()))
            done.append(m.version)
    return done


__all__ = ["metadata", "MIGRATIONS", "HEAD", "Migration", "SchemaError", "migrate", "applied_versions",
           "schema_migrations", "params_files", "verifying_keys", "setup_records", "trust_files",
           "challenges", "submissions", "acceptances", "account_proofs", "epochs", "events",
           "admin_requests"]
