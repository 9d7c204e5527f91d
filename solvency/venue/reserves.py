"""Attestations that a venue's insurance fund exists (the hook for a proof of reserves).

The tree's proofs bound the book's total margin shortfall by ``insurance_fund``; that the fund
is really held is outside them. The venue's signed statement vouches for the figure; whoever
holds the fund (a custodian, a bank, an auditor that saw it) can vouch for its existence with
a **reserves attestation** (``zkmargin/venue-reserves/v1``)::

    {"format": "zkmargin/venue-reserves/v1", "venue": "VenueA", "epoch": 20240524,
     "fund": "<money units, 1e-14 USD>", "attester": "CustodianX",
     "public_key": "<64 hex>", "signature": "<128 hex>"}

signed with Ed25519 over domain :data:`RESERVES_DOMAIN` and the canonical JSON of
``attester, epoch, fund, venue``: "I hold at least ``fund`` for ``venue``'s insurance fund at
``epoch``", valued in USD by the attester at that epoch. ``venue solvency verify --reserves F``
(repeatable) checks ``insurance fund attestation``: every attestation signed by a key the
verifier's trust file accepts for role ``reserves``, for the statement's venue and epoch, one
per attester, none by the venue itself, and their sum at least the statement's insurance fund.
Grant ``reserves`` only to parties that hold or have audited the fund; an attestation by the
venue is refused even when a trust file grants it the role (its word for the fund is already the
statement's).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from zkmargin.formats import jsonio as jio

from .. import trust as tr
from ..params import MAX_EPOCH, ProtocolError
from .files import MONEY_LIMIT

RESERVES_FORMAT = "zkmargin/venue-reserves/v1"
RESERVES_DOMAIN = "zkmargin/reserves-attestation/v1"


@dataclass(frozen=True)
class ReservesAttestation:
    venue: str
    epoch: int
    fund: int               # money units (1e-14 USD)
    attester: str
    public_key: str
    signature: str

    def body(self) -> dict:
        return {"attester": self.attester, "epoch": self.epoch, "fund": self.fund, "venue": self.venue}

    def to_json(self) -> dict:
        return {"format": RESERVES_FORMAT, "venue": self.venue, "epoch": self.epoch, "fund": str(self.fund),
                "attester": self.attester, "public_key": self.public_key, "signature": self.signature}

    @classmethod
    def from_json(cls, doc, where: str = "reserves") -> "ReservesAttestation":
        doc = jio.expect_object(doc, where)
        if doc.get("format") != RESERVES_FORMAT:
            raise ProtocolError(f"{where}: not a {RESERVES_FORMAT} file")
        jio.expect_keys(doc, where, ("format", "venue", "epoch", "fund", "attester", "public_key", "signature"))
        return cls(jio.name(doc["venue"], f"{where}.venue"), jio.integer(doc["epoch"], f"{where}.epoch", 0, MAX_EPOCH),
                   jio.integer(doc["fund"], f"{where}.fund", 0, MONEY_LIMIT), jio.name(doc["attester"], f"{where}.attester"),
                   jio.hexstring(doc["public_key"], f"{where}.public_key", 32).hex(),
                   jio.hexstring(doc["signature"], f"{where}.signature", 64).hex())

    def problem(self, trust: tr.Trust, venue: str, epoch: int) -> str | None:
        """None when a key ``trust`` accepts for ``reserves`` signed this for ``venue`` at ``epoch``."""
        if (self.venue, self.epoch) != (venue, epoch):
            return f"it is for venue {self.venue}, epoch {self.epoch}, not venue {venue}, epoch {epoch}"
        why = trust.check(self.attester, self.public_key, "reserves")
        if why:
            return why
        if not tr.signature_ok(self.public_key, self.signature, RESERVES_DOMAIN, self.body()):
            return "signature does not verify"
        return None


def attest_reserves(venue: str, epoch: int, fund: int, key, attester: str) -> ReservesAttestation:
    """The holder's attestation that it holds at least ``fund`` (money units) for ``venue``."""
    jio.name(venue, "venue")
    if not 0 <= int(epoch) < MAX_EPOCH or not 0 <= int(fund) < MONEY_LIMIT:
        raise ProtocolError("epoch or fund out of range")
    att = ReservesAttestation(venue, int(epoch), int(fund), attester, tr.public_hex(key), "")
    return ReservesAttestation(venue, int(epoch), int(fund), attester, tr.public_hex(key),
                               tr.sign(key, RESERVES_DOMAIN, att.body()))


def read_reserves(path) -> ReservesAttestation:
    p = Path(path)
    return ReservesAttestation.from_json(jio.read_object(p, "reserves"), f"reserves {p.name}")


def reserves_problem(atts: Sequence[ReservesAttestation], trust: tr.Trust | None, venue: str, epoch: int,
                     fund: int) -> str | None:
    """The ``insurance fund attestation`` check (module docstring): None when it passes."""
    from zkmargin.margin.quantize import MONEY
    if trust is None:
        return "a reserves attestation can only be checked with a trust file (--trust)"
    seen: set = set()
    total = 0
    for k, a in enumerate(atts, 1):
        why = a.problem(trust, venue, epoch)
        if why:
            return f"attestation #{k} ({a.attester}): {why}"
        if a.attester == venue:
            return f"attestation #{k}: the venue attests its own insurance fund (its word is already the statement's)"
        if a.attester in seen:
            return f"attestation #{k}: {a.attester} attests twice (each holder counts once)"
        seen.add(a.attester)
        total += a.fund
    if total < fund:
        return (f"the attested reserves ({total / MONEY:,.2f} USD) are less than the stated insurance fund "
                f"({fund / MONEY:,.2f} USD)")
    return None


__all__ = ["RESERVES_FORMAT", "RESERVES_DOMAIN", "ReservesAttestation", "attest_reserves", "read_reserves",
           "reserves_problem"]
