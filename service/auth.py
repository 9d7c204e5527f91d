"""Signed admin requests: the venue's Ed25519 key (``zkmargin/ed25519-key/v1``) authorises them.

A request carries three headers::

    X-Zkmargin-Signer:    VenueA
    X-Zkmargin-Timestamp: 1716543210          (Unix seconds, UTC)
    X-Zkmargin-Signature: <128 hex>           (Ed25519)

over the message ``zkmargin/admin-request/v1`` + newline + canonical JSON of
``{body_sha256, method, path, signer, timestamp}`` (:func:`zkmargin.solvency.trust.message`,
every value a string; ``path`` includes the query string). The gateway accepts it when:

* the signer is in the gateway's active trust file and trusted there for role ``params`` (the
  role of a venue's own key); the signature verifies under the key the trust file lists;
* the timestamp is within the replay window (default ±300 s) of the gateway's clock;
* the signature has not been seen before (the database keeps every signature of the window:
  a captured request cannot be replayed, not even after a restart).

An action on one venue (its parameter file, closing its epoch) must be signed by that venue.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from typing import Mapping, Optional

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from zkmargin.errors import ZkmarginError
from zkmargin.formats.jsonio import NAME_RE
from zkmargin.solvency import trust as tr

ADMIN_DOMAIN = "zkmargin/admin-request/v1"
ADMIN_ROLE = "params"
SIGNER_HEADER = "X-Zkmargin-Signer"
TIMESTAMP_HEADER = "X-Zkmargin-Timestamp"
SIGNATURE_HEADER = "X-Zkmargin-Signature"
DEFAULT_WINDOW_S = 300

_TS = re.compile(r"[0-9]{1,12}")
_SIG = re.compile(r"[0-9a-fA-F]{128}")


class AuthError(ZkmarginError):
    """An admin request is not authorised (the message says why; HTTP 401 or 403)."""

    def __init__(self, message: str, status: int = 401):
        super().__init__(message)
        self.status = status


def request_body(method: str, path: str, timestamp: int, body: bytes, signer: str) -> dict:
    return {"body_sha256": hashlib.sha256(body).hexdigest(), "method": method.upper(), "path": path,
            "signer": signer, "timestamp": int(timestamp)}


def sign_request(key: Ed25519PrivateKey, signer: str, method: str, path: str, body: bytes = b"",
                 timestamp: Optional[int] = None) -> dict[str, str]:
    """The three headers that authorise ``method path`` with ``body`` as ``signer``."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    sig = tr.sign(key, ADMIN_DOMAIN, request_body(method, path, ts, body, signer))
    return {SIGNER_HEADER: signer, TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: sig}


@dataclass(frozen=True)
class Verified:
    signer: str
    signature: str
    timestamp: int


def check_request(trust: Optional[tr.Trust], headers: Mapping[str, str], method: str, path: str, body: bytes,
                  now_s: float, window_s: int = DEFAULT_WINDOW_S) -> Verified:
    """The signer of a well-signed, fresh request (replay is the caller's second step: the
    signature must then be recorded once); :class:`AuthError` otherwise."""
    def h(name):
        return headers.get(name) or headers.get(name.lower())
    signer, ts, sig = h(SIGNER_HEADER), h(TIMESTAMP_HEADER), h(SIGNATURE_HEADER)
    if not signer or not ts or not sig:
        raise AuthError("unsigned request: admin endpoints need the headers "
                        f"{SIGNER_HEADER}, {TIMESTAMP_HEADER}, {SIGNATURE_HEADER}")
    if not NAME_RE.fullmatch(signer):
        raise AuthError(f"{SIGNER_HEADER} is not a valid name")
    if not _TS.fullmatch(ts):
        raise AuthError(f"{TIMESTAMP_HEADER} must be Unix seconds")
    if not _SIG.fullmatch(sig):
        raise AuthError(f"{SIGNATURE_HEADER} must be 64 bytes as hex")
    t = int(ts)
    if abs(now_s - t) > window_s:
        raise AuthError(f"stale or future timestamp: {int(now_s - t)} s from the gateway's clock "
                        f"(the window is {window_s} s)")
    if trust is None:
        raise AuthError("the gateway has no trust file, so no admin key", 403)
    entry = trust.attesters.get(signer)
    if entry is None:
        raise AuthError(f"{signer} is not in the gateway's trust file")
    if not tr.signature_ok(entry.public_key, sig, ADMIN_DOMAIN, request_body(method, path, t, body, signer)):
        raise AuthError("the signature does not verify under the trusted key of " + signer)
    if ADMIN_ROLE not in entry.roles:
        raise AuthError(f"{signer} is not trusted for role {ADMIN_ROLE!r}, which admin requests need", 403)
    return Verified(signer, sig.lower(), t)


__all__ = ["ADMIN_DOMAIN", "ADMIN_ROLE", "SIGNER_HEADER", "TIMESTAMP_HEADER", "SIGNATURE_HEADER",
           "DEFAULT_WINDOW_S", "AuthError", "request_body", "sign_request", "check_request", "Verified"]
