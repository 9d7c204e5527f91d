"""Ed25519 attestations: a venue or custodian vouches for an account commitment.

The signed message is canonical bytes (no JSON ambiguity)::

    b"zkmargin/attestation/v1\\n" + canonical_json({"attester", "commitment", "epoch", "role"})

with ``canonical_json`` = sorted keys, no whitespace, ints as decimal strings. It binds the
commitment (so it cannot be moved to another account), the attester's name, the epoch (so an
old attestation cannot be replayed later) and the role (``positions`` / ``collateral`` /
``account``). The attestation says "this commitment opens to the account we hold for this
trader in this epoch"; it reveals nothing about the account.

Trust: a verifier passes a trust file ``{"format": "zkmargin/trust/v1", "keys": {name: hex}}``;
an attestation counts only if its public key is the one trusted under its attester name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ATTESTATION_FORMAT = "zkmargin/attestation/v1"
TRUST_FORMAT = "zkmargin/trust/v1"
KEY_FORMAT = "zkmargin/ed25519-key/v1"
ROLES = ("positions", "collateral", "account")


class AttestationError(ValueError):
    pass


def message(attester: str, commitment: int, epoch: int, role: str) -> bytes:
    body = {"attester": attester, "commitment": str(int(commitment)), "epoch": str(int(epoch)),
            "role": role}
    return b"zkmargin/attestation/v1\n" + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def new_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def private_key_json(name: str, key: Ed25519PrivateKey) -> dict:
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    return {"format": KEY_FORMAT, "name": name, "private_key": raw.hex(), "public_key": public_hex(key)}


def private_key_from_json(doc: dict) -> tuple[str, Ed25519PrivateKey]:
    try:
        if doc.get("format") != KEY_FORMAT:
            raise AttestationError("not a zkmargin Ed25519 key file")
        return str(doc["name"]), Ed25519PrivateKey.from_private_bytes(bytes.fromhex(doc["private_key"]))
    except (KeyError, ValueError) as e:
        raise AttestationError(f"bad key file ({e})") from None


@dataclass(frozen=True)
class Attestation:
    attester: str
    public_key: str
    commitment: int
    epoch: int
    role: str
    signature: str

    def to_json(self) -> dict:
        return {"format": ATTESTATION_FORMAT, "attester": self.attester, "public_key": self.public_key,
                "commitment": str(self.commitment), "epoch": self.epoch, "role": self.role,
                "signature": self.signature}

    @classmethod
    def from_json(cls, doc: dict) -> "Attestation":
        try:
            if doc.get("format") != ATTESTATION_FORMAT:
                raise AttestationError("not an attestation")
            role = str(doc["role"])
            if role not in ROLES:
                raise AttestationError(f"unknown role {role!r}")
            return cls(str(doc["attester"]), str(doc["public_key"]), int(str(doc["commitment"])),
                       int(doc["epoch"]), role, str(doc["signature"]))
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, AttestationError):
                raise
            raise AttestationError(f"malformed attestation ({e})") from None

    def signature_valid(self) -> bool:
        try:
            pub = Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.public_key))
            pub.verify(bytes.fromhex(self.signature),
                       message(self.attester, self.commitment, self.epoch, self.role))
            return True
        except (InvalidSignature, ValueError):
            return False


def attest(key: Ed25519PrivateKey, attester: str, commitment: int, epoch: int,
           role: str = "account") -> Attestation:
    if role not in ROLES:
        raise AttestationError(f"role must be one of {', '.join(ROLES)}")
    sig = key.sign(message(attester, commitment, epoch, role))
    return Attestation(attester, public_hex(key), int(commitment), int(epoch), role, sig.hex())


def trust_from_json(doc: dict) -> dict[str, str]:
    if doc.get("format") != TRUST_FORMAT or not isinstance(doc.get("keys"), dict):
        raise AttestationError("not a zkmargin/trust/v1 file")
    return {str(k): str(v).lower() for k, v in doc["keys"].items()}


def trust_json(keys: dict[str, str]) -> dict:
    return {"format": TRUST_FORMAT, "keys": dict(keys)}
