"""Account commitments and their secret openings.

A trader commits separately to each account it holds (one per venue or custodian) over the
venue's parameter file (its instrument and asset slots)::

    commitment.json  zkmargin/commitment/v2  PUBLIC   commitment, kind, params_digest, holder
    opening.json     zkmargin/opening/v2     SECRET   kind, Q, U, A, salt, params_digest, commitment
                                                      [salt_from: {account, seed}]

``kind`` (``account`` / ``positions`` / ``collateral``, :data:`ACCOUNT_KINDS`) says what the
account may hold; it becomes the public input ``kind_k`` and the circuit enforces it, so a
custodian's ``collateral`` attestation can only ever vouch for collateral.

``salt_from`` (optional) is present only in an opening whose salt the *venue* drew (the book
held the client's portfolio, not a trader-made opening): the salt is then not random but
:func:`derive_salt` of (the venue, the epoch, the client's account id at the venue, a 32-byte
``seed`` the venue drew from the OS CSPRNG), and the client checks it against its own account
id (``zkmargin verify-inclusion --account ID``: check ``your salt``). A salt derived for
``alice`` is not one derived for ``bob``, so two clients with identical portfolios cannot both
accept one leaf. The seed is as secret as the salt (hiding rests on it).

Quantization (:mod:`zkmargin.margin.quantize`): quantities must be exact multiples of the
1e-8 lot as written in the portfolio (a rounded quantity would be another portfolio, with no
safe direction); collateral and unrealised P&L are rounded down.

Secrets: the opening is written with mode 0600, never replaces an existing file without
``force`` (an attested opening is not lost by a second ``commit``), and the commitment and
the opening are written together or not at all. No error message carries a value.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

from zkmargin.algebra.constants import R
from zkmargin.circuits.margin_circuits import ACCOUNT_KINDS, Account
from zkmargin.circuits.poseidon import random_salt
from zkmargin.formats import jsonio as jio

from .params import ParamsFile, ProtocolError

COMMITMENT_FORMAT = "zkmargin/commitment/v2"
OPENING_FORMAT = "zkmargin/opening/v2"
Q_LIMIT = 1 << 57
U_LIMIT = 1 << 90
SALT_DOMAIN = "zkmargin/venue-salt/v1"
SEED_BYTES = 32
EPOCH_BYTES = 8                 # epochs are < 2^64 (params.MAX_EPOCH)


def _lp(b: bytes) -> bytes:
    """``b`` prefixed with its length (4 bytes, big-endian): no two field lists encode alike."""
    return len(b).to_bytes(4, "big") + b


def derive_salt(venue: str, epoch: int, account: str, seed: bytes) -> int:
    """The salt of a venue-drawn opening::

        int(SHA-256(lp(DOMAIN) || lp(venue) || epoch (8 bytes, big-endian) || lp(account) || lp(seed))) mod r

    with ``lp(x)`` = 4-byte big-endian length of ``x`` then ``x`` (strings as UTF-8) and DOMAIN
    :data:`SALT_DOMAIN`. May be 0 (probability about 2^-254): :func:`draw_salt` then draws another
    seed, and build refuses salt 0 (the padding leaf's)."""
    if len(seed) != SEED_BYTES:
        raise ProtocolError(f"salt seed: expected {SEED_BYTES} bytes")
    if not 0 <= int(epoch) < 1 << (8 * EPOCH_BYTES):
        raise ProtocolError("salt derivation: epoch out of range")
    h = hashlib.sha256(_lp(SALT_DOMAIN.encode()) + _lp(venue.encode()) + int(epoch).to_bytes(EPOCH_BYTES, "big")
                       + _lp(account.encode()) + _lp(bytes(seed)))
    return int.from_bytes(h.digest(), "big") % R


@dataclass(frozen=True)
class SaltFrom:
    """How a venue-drawn salt was derived: the client's account id and the venue's seed
    (SECRET, like the salt). ``repr`` hides the seed."""

    account: str
    seed: bytes

    def __repr__(self) -> str:
        return f"SaltFrom(account={self.account!r}, seed=<secret>)"

    def salt(self, venue: str, epoch: int) -> int:
        return derive_salt(venue, epoch, self.account, self.seed)

    def to_json(self) -> dict:
        return {"account": self.account, "seed": self.seed.hex()}


def salt_from_json(v, where: str) -> SaltFrom:
    """``{"account": <name>, "seed": <64 hex digits>}``, strictly (no other key)."""
    doc = jio.expect_keys(jio.expect_object(v, where), where, ("account", "seed"))
    seed = jio.hexstring(doc["seed"], f"{where}.seed", SEED_BYTES)
    if doc["seed"] != seed.hex():
        raise ProtocolError(f"{where}.seed: expected lower-case hex")
    return SaltFrom(jio.name(doc["account"], f"{where}.account"), seed)


def draw_salt(venue: str, epoch: int, account: str) -> tuple[int, SaltFrom]:
    """A venue-drawn salt for ``account``: a fresh CSPRNG seed and the nonzero salt it derives."""
    jio.name(account, "account")
    while True:
        sf = SaltFrom(account, secrets.token_bytes(SEED_BYTES))
        salt = sf.salt(venue, epoch)
        if salt:
            return salt, sf


@dataclass(frozen=True)
class Opening:
    """The secret side of a commitment: the account vector (with its kind and salt) and the
    digest of the parameter file it was laid out for."""

    account: Account
    params_digest: int
    #: set only when the venue drew the salt (module docstring)
    salt_from: Optional[SaltFrom] = None

    @property
    def commitment(self) -> int:
        return self.account.commitment()

    @property
    def kind(self) -> str:
        return ACCOUNT_KINDS[self.account.kind]

    def public_json(self, holder: str = "") -> dict:
        doc = {"format": COMMITMENT_FORMAT, "commitment": str(self.commitment), "kind": self.kind,
               "params_digest": str(self.params_digest)}
        if holder:
            doc["holder"] = jio.name(holder, "holder")
        return doc

    def secret_json(self, commitment: Optional[int] = None) -> dict:
        """The opening file's document (``commitment``: the leaf, when already computed)."""
        a = self.account
        doc = {"format": OPENING_FORMAT, "WARNING": "SECRET - do not share (positions, collateral, salt)",
               "kind": self.kind, "Q": [str(v) for v in a.Q], "U": str(a.U), "A": [str(v) for v in a.A],
               "salt": str(a.salt), "params_digest": str(self.params_digest),
               "commitment": str(self.commitment if commitment is None else commitment)}
        if self.salt_from is not None:
            doc["salt_from"] = self.salt_from.to_json()
        return doc


def kind_code(kind: str) -> int:
    if kind not in ACCOUNT_KINDS:
        raise ProtocolError(f"account kind must be one of {', '.join(ACCOUNT_KINDS)}")
    return ACCOUNT_KINDS.index(kind)


def make_opening(portfolio_doc: dict, pf: ParamsFile, *, kind: str = "account", salt: int | None = None) -> Opening:
    """Quantize a decoded portfolio.json over the venue's instrument/asset slots and salt it."""
    from zkmargin.circuits.solvency import account_of
    from zkmargin.margin.portfolio import parse_portfolio
    market = pf.market_obj()
    portfolio = parse_portfolio(portfolio_doc, market)
    acct = account_of(portfolio, market, pf.instruments, pf.assets, pf.shape,
                      random_salt() if salt is None else salt)
    acct = replace(acct, kind=kind_code(kind))
    why = acct.kind_violation()
    if why:
        raise ProtocolError(f"portfolio does not fit account kind {kind!r}: {why}")
    return Opening(acct, pf.digest)


def write_opening(op: Opening, public_path, secret_path, holder: str = "", *, force: bool = False) -> None:
    """Write commitment.json and the 0600 opening together or not at all. An existing opening
    is never replaced unless ``force``."""
    pub, sec = Path(public_path), Path(secret_path)
    if pub.resolve() == sec.resolve():
        raise ProtocolError("the commitment and the opening must be different files")
    jio.check_writable(pub, overwrite=force, what="commitment")
    jio.check_writable(sec, overwrite=force, what="opening")
    staged = pub.with_name(f".{pub.name}.{os.getpid()}.staged")
    jio.write_json(staged, op.public_json(holder))
    existed = sec.exists()
    try:
        jio.write_json(sec, op.secret_json(), secret=True, overwrite=force)
        try:
            os.replace(staged, pub)
        except OSError:
            if not existed:
                sec.unlink(missing_ok=True)
            raise
    finally:
        staged.unlink(missing_ok=True)


def _int_list(v, where, length=None, lo=None, hi=None) -> tuple[int, ...]:
    return tuple(jio.integer(x, where, lo, hi) for x in jio.array(v, where, length=length, max_len=256))


def opening_from_json(doc, where: str = "opening") -> Opening:
    """Parse an opening strictly. The commitment is recomputed from the values (the stored one
    must match); ranges are the circuit's, so an opening that reads is one that can be proven."""
    doc = jio.expect_object(doc, where)
    if doc.get("format") != OPENING_FORMAT:
        raise ProtocolError(f"{where}: not a {OPENING_FORMAT} file")
    jio.expect_keys(doc, where, ("format", "kind", "Q", "U", "A", "salt", "params_digest", "commitment"),
                    ("WARNING", "salt_from"))
    kind = kind_code(jio.choice(doc["kind"], f"{where}.kind", ACCOUNT_KINDS))
    acct = Account(_int_list(doc["Q"], f"{where}.Q", lo=-Q_LIMIT + 1, hi=Q_LIMIT),
                   jio.integer(doc["U"], f"{where}.U", -U_LIMIT + 1, U_LIMIT),
                   _int_list(doc["A"], f"{where}.A", lo=0, hi=Q_LIMIT),
                   jio.integer(doc["salt"], f"{where}.salt", 0, R), kind)
    why = acct.kind_violation()
    if why:
        raise ProtocolError(f"{where}: values do not fit kind {ACCOUNT_KINDS[kind]!r}: {why}")
    op = Opening(acct, jio.integer(doc["params_digest"], f"{where}.params_digest", 0, R),
                 salt_from_json(doc["salt_from"], f"{where}.salt_from") if "salt_from" in doc else None)
    if str(op.commitment) != str(doc["commitment"]):
        raise ProtocolError(f"{where}: values do not match the recorded commitment")
    return op


def read_opening(path) -> Opening:
    p = Path(path)
    return opening_from_json(jio.read_object(p, "opening"), f"opening {p.name}")


@dataclass(frozen=True)
class Commitment:
    """The public commitment file (informational: what is signed and proven is the number)."""

    commitment: int
    kind: str
    params_digest: int
    holder: str = ""


def commitment_from_json(doc, where: str = "commitment") -> Commitment:
    doc = jio.expect_object(doc, where)
    if doc.get("format") != COMMITMENT_FORMAT:
        raise ProtocolError(f"{where}: not a {COMMITMENT_FORMAT} file")
    jio.expect_keys(doc, where, ("format", "commitment", "kind", "params_digest"), ("holder",))
    return Commitment(jio.integer(doc["commitment"], f"{where}.commitment", 0, R),
                      jio.choice(doc["kind"], f"{where}.kind", ACCOUNT_KINDS),
                      jio.integer(doc["params_digest"], f"{where}.params_digest", 0, R),
                      jio.name(doc["holder"], f"{where}.holder") if "holder" in doc else "")


def read_commitment(path) -> Commitment:
    p = Path(path)
    return commitment_from_json(jio.read_object(p, "commitment"), f"commitment {p.name}")


__all__ = ["COMMITMENT_FORMAT", "OPENING_FORMAT", "SALT_DOMAIN", "SaltFrom", "derive_salt", "draw_salt",
           "salt_from_json", "Opening", "Commitment", "make_opening",
           "write_opening", "read_opening", "opening_from_json", "read_commitment",
           "commitment_from_json", "kind_code"]
