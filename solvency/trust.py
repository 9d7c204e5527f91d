"""Ed25519 signing keys, trust files, and the signed messages of the protocol.

Who signs what (each message starts with its own domain tag, so a signature made for one
purpose never verifies for another):

=====================================  =========================================  ==========
message                                body (canonical JSON, every value a string)  role
=====================================  =========================================  ==========
``zkmargin/attestation/v2``            account_ref, attester, commitment, epoch,  account /
                                       params_digest, role                         positions /
                                                                                   collateral
``zkmargin/params-signature/v1``       digest, signer                              params
``zkmargin/setup-signature/v1``        record (SHA-256 of the setup record), signer setup
``zkmargin/venue-statement-signature/  statement (SHA-256 of a venue tree's         solvency
v1``                                   statement.json), signer
``zkmargin/reserves-attestation/v1``   attester, epoch, fund, venue                 reserves
=====================================  =========================================  ==========

A **trust file** (``zkmargin/trust/v2``) is the verifier's own list of whom it believes, and
for what::

    {"format": "zkmargin/trust/v2",
     "attesters": {"VenueA": {"public_key": "<64 hex>", "roles": ["account", "params", "setup"]},
                   "CustodianX": {"public_key": "<64 hex>", "roles": ["collateral"]}}}

A signature counts only if its signer's name is in the trust file, its public key is the one
listed under that name, and the role it signs in is one the trust file grants that name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from zkmargin.circuits.margin_circuits import ACCOUNT_KINDS
from zkmargin.errors import ZkmarginError
from zkmargin.formats import jsonio as jio

KEY_FORMAT = "zkmargin/ed25519-key/v1"
TRUST_FORMAT = "zkmargin/trust/v2"
#: What a trusted key may sign: an account commitment in one of the three account kinds, a
#: venue's parameter file, a key-setup record, a venue's whole-book solvency statement
#: (docs/VENUE_SOLVENCY.md), an attestation that a venue's insurance fund is held.
ROLES = (*ACCOUNT_KINDS, "params", "setup", "solvency", "reserves")


class TrustError(ZkmarginError):
    """A key or trust file is malformed, or a signing request is not allowed."""


# ---------------------------------------------------------------------------------------------
# messages


def message(domain: str, body: Mapping[str, object]) -> bytes:
    """The bytes that are signed: ``domain``, a newline, canonical JSON of ``body`` with every
    value as a string (no number-formatting ambiguity)."""
    return domain.encode() + b"\n" + jio.canonical_bytes({k: str(v) for k, v in body.items()})


def public_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def sign(key: Ed25519PrivateKey, domain: str, body: Mapping[str, object]) -> str:
    return key.sign(message(domain, body)).hex()


def signature_ok(public_key: str, signature: str, domain: str, body: Mapping[str, object]) -> bool:
    """Does ``signature`` (hex) verify under ``public_key`` (hex) for this message?"""
    try:
        pub = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
        pub.verify(bytes.fromhex(signature), message(domain, body))
        return True
    except (InvalidSignature, ValueError):
        return False


@dataclass(frozen=True)
class Signature:
    """A detached signature carried inside a signed file (parameter file, setup record)."""

    signer: str
    public_key: str
    signature: str

    def to_json(self) -> dict:
        return {"signer": self.signer, "public_key": self.public_key, "signature": self.signature}

    @classmethod
    def from_json(cls, doc, where: str) -> "Signature":
        jio.expect_keys(jio.expect_object(doc, where), where, ("signer", "public_key", "signature"))
        return cls(jio.name(doc["signer"], f"{where}.signer"),
                   jio.hexstring(doc["public_key"], f"{where}.public_key", 32).hex(),
                   jio.hexstring(doc["signature"], f"{where}.signature", 64).hex())


# ---------------------------------------------------------------------------------------------
# key files


def new_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_json(name: str, key: Ed25519PrivateKey) -> dict:
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    return {"format": KEY_FORMAT, "WARNING": "SECRET signing key - never share",
            "name": jio.name(name, "attester name"), "private_key": raw.hex(), "public_key": public_hex(key)}


def private_key_from_json(doc, where: str = "key") -> tuple[str, Ed25519PrivateKey]:
    doc = jio.expect_object(doc, where)
    if doc.get("format") != KEY_FORMAT:
        raise TrustError(f"{where}: not a {KEY_FORMAT} file")
    jio.expect_keys(doc, where, ("format", "name", "private_key", "public_key"), ("WARNING",))
    name = jio.name(doc["name"], f"{where}.name")
    key = Ed25519PrivateKey.from_private_bytes(jio.hexstring(doc["private_key"], f"{where}.private_key", 32))
    if public_hex(key) != jio.hexstring(doc["public_key"], f"{where}.public_key", 32).hex():
        raise TrustError(f"{where}: public_key does not belong to private_key")
    return name, key


def read_private_key(path) -> tuple[str, Ed25519PrivateKey]:
    p = Path(path)
    return private_key_from_json(jio.read_object(p, "key"), f"key {p.name}")


def write_private_key(path, name: str, key: Ed25519PrivateKey, *, force: bool = False) -> None:
    """Write a signing key (0600); an existing key file is never replaced unless ``force``."""
    jio.write_json(path, private_key_json(name, key), secret=True, overwrite=force)


# ---------------------------------------------------------------------------------------------
# trust files


@dataclass(frozen=True)
class TrustedKey:
    public_key: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Trust:
    """A verifier's trust file: attester name → (public key, roles it may sign)."""

    attesters: Mapping[str, TrustedKey]

    def check(self, signer: str, public_key: str, role: str) -> str | None:
        """None when ``signer`` with ``public_key`` is trusted to sign in ``role``; else why not."""
        entry = self.attesters.get(signer)
        if entry is None:
            return f"{signer} is not in the trust file"
        if entry.public_key != public_key.lower():
            return f"key is not the trusted key for {signer}"
        if role not in entry.roles:
            return f"{signer} is not trusted to sign {role!r} (trusted for: {', '.join(entry.roles)})"
        return None

    def to_json(self) -> dict:
        return {"format": TRUST_FORMAT,
                "attesters": {n: {"public_key": t.public_key, "roles": list(t.roles)}
                              for n, t in sorted(self.attesters.items())}}

    def with_key(self, name: str, public_key: str, roles) -> "Trust":
        roles = tuple(dict.fromkeys(roles))
        for r in roles:
            if r not in ROLES:
                raise TrustError(f"unknown role {r!r} (roles: {', '.join(ROLES)})")
        if not roles:
            raise TrustError("a trusted key needs at least one role")
        out = dict(self.attesters)
        out[jio.name(name, "attester name")] = TrustedKey(public_key.lower(), roles)
        return Trust(out)


def trust_from_json(doc, where: str = "trust") -> Trust:
    doc = jio.expect_object(doc, where)
    if doc.get("format") == "zkmargin/trust/v1":
        raise TrustError(f"{where}: a zkmargin/trust/v1 file lists no roles; re-create it with "
                         "`zkmargin attest keygen --trust` or `zkmargin attest trust`")
    if doc.get("format") != TRUST_FORMAT:
        raise TrustError(f"{where}: not a {TRUST_FORMAT} file")
    jio.expect_keys(doc, where, ("format", "attesters"))
    raw = jio.expect_object(doc["attesters"], f"{where}.attesters")
    if len(raw) > 10_000:
        raise TrustError(f"{where}: more than 10000 attesters")
    out = {}
    for name, entry in raw.items():
        w = f"{where}.attesters.{str(name)[:64]}"
        jio.name(name, f"{where}.attesters (a name)")
        jio.expect_keys(jio.expect_object(entry, w), w, ("public_key", "roles"))
        roles = jio.array(entry["roles"], f"{w}.roles", max_len=len(ROLES))
        roles = tuple(jio.choice(r, f"{w}.roles", ROLES) for r in roles)
        if not roles:
            raise TrustError(f"{w}.roles: empty")
        out[name] = TrustedKey(jio.hexstring(entry["public_key"], f"{w}.public_key", 32).hex(), roles)
    return Trust(out)


def read_trust(path) -> Trust:
    p = Path(path)
    return trust_from_json(jio.read_object(p, "trust"), f"trust {p.name}")


def write_trust(path, trust: Trust) -> None:
    jio.write_json(path, trust.to_json())


__all__ = ["KEY_FORMAT", "TRUST_FORMAT", "ROLES", "TrustError", "message", "public_hex", "sign",
           "signature_ok", "Signature", "new_key", "private_key_json", "private_key_from_json",
           "read_private_key", "write_private_key", "TrustedKey", "Trust", "trust_from_json",
           "read_trust", "write_trust"]
