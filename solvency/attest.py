"""Attestations: a venue or custodian vouches that a commitment opens to an account it holds.

``zkmargin/attestation/v2`` (public)::

    {"format", "attester", "public_key", "account_ref", "commitment", "epoch",
     "params_digest", "role", "signature"}

The Ed25519 signature covers ``account_ref, attester, commitment, epoch, params_digest, role``
(:func:`zkmargin.solvency.trust.message`, domain ``zkmargin/attestation/v2``). It says: *"in
epoch E, under parameter file D, commitment C opens to the values of our account R, which is
an account of kind ``role``"*. Each field is bound for a reason:

* ``params_digest`` -- the same numbers mean different portfolios under different instrument
  lists; the digest names the whole parameter file (venue, epoch, slots, market);
* ``role`` -- equals the commitment's public ``kind_k``, which the circuit enforces, so a
  custodian (trusted for ``collateral`` only) can never vouch for positions or P&L;
* ``account_ref`` -- an opaque name for the attester's account (HMAC under the attester's key
  of the account name, epoch and digest: stable within one epoch and file, unlinkable across
  them). A verifier refuses two commitments with the same attester and account_ref;
* ``epoch`` -- an old attestation cannot be reused later.

**One commitment per account.** The attester's signing tool (:func:`sign_account`, the CLI
``attest sign``) checks the opening against its own record of the account and keeps a
**ledger** (an append-only, locked, 0600 JSON-lines file) of everything it signed; it refuses
to sign a second, different commitment for the same (account, epoch, parameter file), so one
account cannot be counted twice under two salts. Re-signing the same commitment is harmless
(Ed25519 is deterministic: the same attestation comes out).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from zkmargin.algebra.constants import R
from zkmargin.circuits.margin_circuits import ACCOUNT_KINDS
from zkmargin.formats import jsonio as jio

from . import trust as tr
from .opening import Opening, make_opening
from .params import MAX_EPOCH, ParamsFile, ProtocolError

ATTESTATION_FORMAT = "zkmargin/attestation/v2"
DOMAIN = "zkmargin/attestation/v2"
_FIELDS = ("format", "attester", "public_key", "account_ref", "commitment", "epoch",
           "params_digest", "role", "signature")


@dataclass(frozen=True)
class Attestation:
    attester: str
    public_key: str
    account_ref: str
    commitment: int
    epoch: int
    params_digest: int
    role: str
    signature: str

    def body(self) -> dict:
        return {"account_ref": self.account_ref, "attester": self.attester, "commitment": self.commitment,
                "epoch": self.epoch, "params_digest": self.params_digest, "role": self.role}

    def to_json(self) -> dict:
        return {"format": ATTESTATION_FORMAT, "attester": self.attester, "public_key": self.public_key,
                "account_ref": self.account_ref, "commitment": str(self.commitment), "epoch": self.epoch,
                "params_digest": str(self.params_digest), "role": self.role, "signature": self.signature}

    @classmethod
    def from_json(cls, doc, where: str = "attestation") -> "Attestation":
        doc = jio.expect_object(doc, where)
        if doc.get("format") != ATTESTATION_FORMAT:
            raise ProtocolError(f"{where}: not a {ATTESTATION_FORMAT} document")
        jio.expect_keys(doc, where, _FIELDS)
        ref = jio.hexstring(doc["account_ref"], f"{where}.account_ref", 16).hex()
        return cls(jio.name(doc["attester"], f"{where}.attester"),
                   jio.hexstring(doc["public_key"], f"{where}.public_key", 32).hex(), ref,
                   jio.integer(doc["commitment"], f"{where}.commitment", 0, R),
                   jio.integer(doc["epoch"], f"{where}.epoch", 0, MAX_EPOCH),
                   jio.integer(doc["params_digest"], f"{where}.params_digest", 0, R),
                   jio.choice(doc["role"], f"{where}.role", ACCOUNT_KINDS),
                   jio.hexstring(doc["signature"], f"{where}.signature", 64).hex())

    def signature_valid(self) -> bool:
        return tr.signature_ok(self.public_key, self.signature, DOMAIN, self.body())


def read_attestation(path) -> Attestation:
    p = Path(path)
    return Attestation.from_json(jio.read_object(p, "attestation"), f"attestation {p.name}")


def account_ref(key: Ed25519PrivateKey, account: str, epoch: int, params_digest: int) -> str:
    """Opaque 128-bit name of ``account`` (case-insensitive) for one epoch and parameter file
    (module docstring)."""
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    mac_key = hashlib.sha256(b"zkmargin/account-ref/v1\n" + raw).digest()
    msg = jio.canonical_bytes({"account": account.casefold(), "epoch": str(epoch),
                               "params_digest": str(params_digest)})
    return hmac.new(mac_key, msg, hashlib.sha256).hexdigest()[:32]


def attest(key: Ed25519PrivateKey, attester: str, *, commitment: int, epoch: int, params_digest: int,
           role: str, account_ref: str) -> Attestation:
    """Sign an attestation (no checks: :func:`sign_account` is the attester's tool)."""
    jio.name(attester, "attester")
    jio.choice(role, "role", ACCOUNT_KINDS)
    a = Attestation(attester, tr.public_hex(key), account_ref, int(commitment), int(epoch),
                    int(params_digest), role, "")
    return replace(a, signature=tr.sign(key, DOMAIN, a.body()))


# ---------------------------------------------------------------------------------------------
# the ledger


class Ledger:
    """The attester's record of everything it signed (module docstring). Entries are JSON
    lines ``{account, epoch, params_digest, commitment, role, account_ref, signed_at}``."""

    def __init__(self, path):
        self.path = Path(path)

    def _entries(self, text: str) -> list[dict]:
        out = []
        for k, line in enumerate(text.splitlines()):
            if line.strip():
                out.append(jio.expect_object(jio.loads_strict(line, f"ledger {self.path.name} line {k + 1}"),
                                             f"ledger {self.path.name} line {k + 1}"))
        return out

    def entries(self) -> list[dict]:
        if not self.path.exists():
            return []
        return self._entries(jio.read_capped(self.path, "ledger", 1 << 30).decode("utf-8", "replace"))

    def claim(self, account: str, epoch: int, params_digest: int, commitment: int, role: str, ref: str,
              holdings: str = "", *, allow_same_holdings: bool = False) -> None:
        """Record a signature, or raise :class:`ProtocolError` if this account already has a
        different commitment (or role) for this epoch and parameter file, or (unless
        ``allow_same_holdings``) another account label already has exactly these holdings
        (the same account typed two ways). Accounts are compared case-insensitively. A torn
        last line (a crash while signing) makes the ledger refuse until an operator looks."""
        key = account.casefold()
        jio.check_writable(self.path, what="ledger")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with os.fdopen(os.dup(fd), "rb") as f:
                data = f.read()
            if data and not data.endswith(b"\n"):
                raise ProtocolError(f"ledger {self.path.name} ends in an unfinished entry (a crash while "
                                    "signing?): check it against your records and repair it before signing")
            for e in self._entries(data.decode("utf-8", "replace")):
                if (str(e.get("epoch")), str(e.get("params_digest"))) != (str(epoch), str(params_digest)):
                    continue
                if str(e.get("account", "")).casefold() == key:
                    if str(e.get("commitment")) == str(commitment) and e.get("role") == role:
                        return                               # the same signature again
                    raise ProtocolError(
                        f"account {jio.printable(account)} already has a signed commitment for epoch {epoch} under "
                        f"this parameter file (ledger {self.path.name}); refusing to sign a second one")
                if holdings and e.get("holdings") == holdings and not allow_same_holdings:
                    raise ProtocolError(
                        f"account {jio.printable(e.get('account', '?'))} in ledger {self.path.name} has exactly these "
                        f"holdings for epoch {epoch}: the same account under another name? (if they really "
                        "are two accounts, allow it explicitly)")
            line = jio.canonical_bytes({"account": account, "epoch": str(epoch),
                                        "params_digest": str(params_digest), "commitment": str(commitment),
                                        "role": role, "account_ref": ref, "holdings": holdings,
                                        "signed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}) + b"\n"
            os.lseek(fd, 0, os.SEEK_END)
            view = memoryview(line)
            while view:                              # a short write is continued, never ignored
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)          # releases the lock


def default_ledger_path(key_path) -> Path:
    p = Path(key_path)
    return p.with_name(p.name + ".ledger.jsonl")


def holdings_hash(opening: Opening) -> str:
    """SHA-256 of an account's values and kind (no salt): kept in the attester's private ledger to
    notice one account signed under two names."""
    a = opening.account
    return hashlib.sha256(jio.canonical_bytes({"kind": a.kind, "Q": [str(v) for v in a.Q], "U": str(a.U),
                                               "A": [str(v) for v in a.A]})).hexdigest()


def sign_account(key: Ed25519PrivateKey, attester: str, opening: Opening, pf: ParamsFile,
                 record: dict, ledger: Ledger, account: str | None = None, role: str | None = None, *,
                 allow_same_holdings: bool = False) -> Attestation:
    """The attester's signing tool: check that ``opening`` opens its commitment to exactly the
    account ``record`` (the attester's own portfolio.json of the account, whose ``account`` field
    names it; ``account``, if given, must agree) under ``pf``, that the role is the opening's
    kind, claim the (account, epoch, digest) slot in ``ledger``, sign."""
    name = jio.name(jio.expect_object(record, "record").get("account"), "record.account (the account's "
                                                                         "name in your books)")
    if account is not None and account.casefold() != name.casefold():
        raise ProtocolError(f"your record names account {name}, not {jio.printable(account)}")
    role = role or opening.kind
    if role != opening.kind:
        raise ProtocolError(f"the opening is a {opening.kind!r} commitment; it cannot be attested as {role!r}")
    if opening.params_digest != pf.digest:
        raise ProtocolError("the opening was made for another parameter file")
    mine = make_opening(record, pf, kind=opening.kind, salt=opening.account.salt)
    if mine.account != opening.account:
        raise ProtocolError(f"the opening does not match account {name} in your records "
                            "(positions, P&L or collateral differ)")
    ref = account_ref(key, name, pf.epoch, pf.digest)
    ledger.claim(name, pf.epoch, pf.digest, opening.commitment, role, ref, holdings_hash(opening),
                 allow_same_holdings=allow_same_holdings)
    return attest(key, attester, commitment=opening.commitment, epoch=pf.epoch, params_digest=pf.digest,
                  role=role, account_ref=ref)


__all__ = ["ATTESTATION_FORMAT", "Attestation", "read_attestation", "account_ref", "attest", "Ledger",
           "default_ledger_path", "sign_account"]
