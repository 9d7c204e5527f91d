"""Solvency proof bundles (``zkmargin/solvency-bundle``, version 2) and their verification.

A bundle is what a trader hands to a venue, an auditor or a settlement layer::

    {"format": "zkmargin/solvency-bundle", "version": 2,
     "statement": {"model", "buffer_bps", "venue", "epoch", "nonce", "params_digest", "shape",
                   "accounts": [{"commitment", "kind"}, ...]},
     "public_inputs": [{"name", "value"}, ...],      # wire order = public.json
     "proof": {snarkjs proof.json},
     "vk_fingerprint": "sha256:...",
     "attestations": [zkmargin/attestation/v2, ...]}

Every field of the statement is checked against something the verifier holds (its own
verifying key, the venue's parameter file, its trust file, the context it expects), and the
verdict it prints is built from those checked values only; nothing in a bundle is displayed
without being checked. :func:`verify_bundle` rebuilds the public-input vector from the
statement and the parameter file (the bundle's own ``public_inputs`` are only compared) and
runs Groth16 on the vector it built. It names every check, so a failure says exactly what
failed (the table of checks is in docs/PROTOCOL.md).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from zkmargin.algebra.constants import R
from zkmargin.circuits.margin_circuits import ACCOUNT_KINDS, BPS, BUFFER_BITS, MODEL_CODES, Shape, public_input_names
from zkmargin.formats import jsonio as jio

from . import trust as tr
from .attest import Attestation
from .keys import SetupRecord, check_setup_record, vk_fingerprint
from .params import MAX_EPOCH, ParamsFile, ProtocolError

BUNDLE_FORMAT = "zkmargin/solvency-bundle"
BUNDLE_VERSION = 2
#: The lowest buffer a verifier accepts by default: 1.0 × the requirement.
DEFAULT_MIN_BUFFER_BPS = BPS
MAX_BUFFER_BPS = 1 << BUFFER_BITS
MAX_ACCOUNTS = 256
FINGERPRINT_RE = re.compile(r"sha256:[0-9a-f]{64}")


def venue_id(name: str) -> int:
    """Field element naming a venue: SHA-256("zkmargin/venue/v1:" + name) truncated to 248 bits."""
    h = hashlib.sha256(b"zkmargin/venue/v1:" + name.encode("utf-8")).digest()
    return int.from_bytes(h[:31], "big")


def buffer_to_bps(buffer) -> int:
    """1.25 → 12500 (exact decimal; a whole number of basis points, 1 ≤ bps ≤ 2^24)."""
    from decimal import Decimal, InvalidOperation
    try:
        d = Decimal(str(buffer)) * BPS
    except InvalidOperation:
        raise ProtocolError(f"buffer {str(buffer)[:20]!r} is not a decimal number") from None
    if not d.is_finite() or d != d.to_integral_value() or not 1 <= d <= MAX_BUFFER_BPS:
        raise ProtocolError(f"buffer must be a multiple of 0.0001 between 0.0001 and {MAX_BUFFER_BPS / BPS:g}")
    return int(d)


@dataclass(frozen=True)
class Statement:
    """What a bundle claims (module docstring). ``accounts`` holds (commitment, kind) pairs."""

    model: str
    buffer_bps: int
    venue: str
    epoch: int
    nonce: int
    params_digest: int
    shape: Shape
    accounts: tuple[tuple[int, str], ...]

    @property
    def commitments(self) -> list[int]:
        return [c for c, _ in self.accounts]

    def public_inputs(self, pf: ParamsFile) -> tuple[list[str], list[int]]:
        """The public vector this statement stands for, built by the verifier (with the venue's
        parameter vector from ``pf`` in public-parameter mode)."""
        vec = pf.params.vector() if self.shape.params_public else []
        names = public_input_names(self.shape, len(vec))
        values = [MODEL_CODES[self.model], self.buffer_bps, venue_id(self.venue), self.epoch, self.nonce]
        if not self.shape.params_public:
            values.append(self.params_digest)
        values += [c for c, _ in self.accounts]
        values += [ACCOUNT_KINDS.index(k) for _, k in self.accounts]
        values += [v % R for v in vec]
        return names, values

    def to_json(self) -> dict:
        return {"model": self.model, "buffer_bps": self.buffer_bps, "venue": self.venue, "epoch": self.epoch,
                "nonce": str(self.nonce), "params_digest": str(self.params_digest),
                "shape": self.shape.as_dict(),
                "accounts": [{"commitment": str(c), "kind": k} for c, k in self.accounts]}

    @classmethod
    def from_json(cls, doc, where: str = "statement") -> "Statement":
        doc = jio.expect_keys(jio.expect_object(doc, where), where,
                              ("model", "buffer_bps", "venue", "epoch", "nonce", "params_digest", "shape",
                               "accounts"))
        accounts = []
        for k, a in enumerate(jio.array(doc["accounts"], f"{where}.accounts", max_len=MAX_ACCOUNTS)):
            w = f"{where}.accounts[{k}]"
            jio.expect_keys(jio.expect_object(a, w), w, ("commitment", "kind"))
            accounts.append((jio.integer(a["commitment"], f"{w}.commitment", 0, R),
                             jio.choice(a["kind"], f"{w}.kind", ACCOUNT_KINDS)))
        try:
            shape = Shape.from_dict(jio.expect_object(doc["shape"], f"{where}.shape"))
        except ValueError as e:
            raise ProtocolError(f"{where}.shape: {e}") from None
        return cls(jio.choice(doc["model"], f"{where}.model", tuple(MODEL_CODES)),
                   jio.integer(doc["buffer_bps"], f"{where}.buffer_bps", 1, MAX_BUFFER_BPS + 1),
                   jio.name(doc["venue"], f"{where}.venue"),
                   jio.integer(doc["epoch"], f"{where}.epoch", 0, MAX_EPOCH),
                   jio.integer(doc["nonce"], f"{where}.nonce", 0, R),
                   jio.integer(doc["params_digest"], f"{where}.params_digest", 0, R),
                   shape, tuple(accounts))


@dataclass
class Bundle:
    statement: Statement
    public_inputs: list[tuple[str, int]]
    proof: object                     #: :class:`zkmargin.formats.data_structures.Proof`
    vk_fingerprint: str
    attestations: list[Attestation] = field(default_factory=list)

    def public_values(self) -> list[int]:
        return [v for _, v in self.public_inputs]

    def to_json(self) -> dict:
        from zkmargin.formats.snarkjs_json import proof_to_json
        return {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "statement": self.statement.to_json(),
                "public_inputs": [{"name": n, "value": str(v)} for n, v in self.public_inputs],
                "proof": proof_to_json(self.proof), "vk_fingerprint": self.vk_fingerprint,
                "attestations": [a.to_json() for a in self.attestations]}

    @classmethod
    def from_json(cls, doc, where: str = "bundle") -> "Bundle":
        """Parse strictly (every field typed and bounded, nothing unknown). Syntax only: whether
        the bundle is *valid* is :func:`verify_bundle`'s question."""
        from zkmargin.formats.snarkjs_json import proof_from_json
        doc = jio.expect_object(doc, where)
        if doc.get("format") != BUNDLE_FORMAT:
            raise ProtocolError(f"{where}: not a zkmargin solvency bundle")
        if doc.get("version") != BUNDLE_VERSION:
            raise ProtocolError(f"{where}: unsupported bundle version {str(doc.get('version'))[:10]!r} "
                                f"(this zkmargin reads version {BUNDLE_VERSION})")
        jio.expect_keys(doc, where, ("format", "version", "statement", "public_inputs", "proof",
                                     "vk_fingerprint", "attestations"))
        st = Statement.from_json(doc["statement"], f"{where}.statement")
        pubs = []
        for k, p in enumerate(jio.array(doc["public_inputs"], f"{where}.public_inputs", max_len=1 << 17)):
            w = f"{where}.public_inputs[{k}]"
            jio.expect_keys(jio.expect_object(p, w), w, ("name", "value"))
            pubs.append((jio.string(p["name"], f"{w}.name", max_len=64), jio.integer(p["value"], f"{w}.value", 0, R)))
        atts = [Attestation.from_json(a, f"{where}.attestations[{k}]")
                for k, a in enumerate(jio.array(doc["attestations"], f"{where}.attestations", max_len=1024))]
        fp = jio.string(doc["vk_fingerprint"], f"{where}.vk_fingerprint", pattern=FINGERPRINT_RE, max_len=80)
        return cls(st, pubs, proof_from_json(doc["proof"]), fp, atts)


def read_bundle(path) -> Bundle:
    p = Path(path)
    return Bundle.from_json(jio.read_json(p, "bundle", jio.SMALL_JSON_BYTES), f"bundle {p.name}")


def write_bundle(bundle: Bundle, path, *, overwrite: bool = True) -> None:
    jio.write_json(path, bundle.to_json(), overwrite=overwrite)


# ---------------------------------------------------------------------------------------------
# verification


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""

    def to_json(self) -> dict:
        return {"name": self.name, "status": "ok" if self.ok else "fail", "reason": "" if self.ok else self.detail}


@dataclass
class Report:
    checks: list[Check]
    notes: list[str] = field(default_factory=list)
    statement: Optional[Statement] = None
    params: Optional[ParamsFile] = None

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def claim(self) -> str:
        """The proven claim, from checked values only (call only when :attr:`valid`)."""
        st, pf = self.statement, self.params
        n = len(st.accounts)
        return (f"equity >= {st.buffer_bps / BPS:g} x {pf.model} margin requirement "
                f"({n} account{'s' if n != 1 else ''}; venue {pf.venue}, epoch {pf.epoch}, nonce {st.nonce})")

    def summary(self) -> str:
        if self.valid:
            return "VALID: " + self.claim()
        return "INVALID: " + "; ".join(f"{c.name}: {c.detail}" for c in self.failures)

    def to_json(self) -> dict:
        out = {"valid": self.valid, "checks": [c.to_json() for c in self.checks], "notes": list(self.notes)}
        if self.valid:
            st, pf = self.statement, self.params
            out["claim"] = {"model": pf.model, "buffer_bps": st.buffer_bps, "buffer": st.buffer_bps / BPS,
                            "venue": pf.venue, "epoch": pf.epoch, "nonce": str(st.nonce),
                            "params_digest": str(pf.digest),
                            "accounts": [{"commitment": str(c), "kind": k} for c, k in st.accounts]}
        return out


@dataclass
class PendingReport:
    """Every check of :func:`verify_bundle` except the Groth16 pairing, made by
    :func:`precheck_bundle`. ``public_values`` is the public-input vector the verifier rebuilt
    (None when the statement does not fit the parameter file: then the ``groth16`` check is
    already decided as failed). :meth:`complete` adds the pairing's verdict, in the place
    :func:`verify_bundle` gives it, so a caller can run many pairings as one batch."""

    report: Report
    public_values: Optional[list[int]]
    groth16_at: int

    @property
    def needs_pairing(self) -> bool:
        return self.public_values is not None

    def complete(self, ok: bool, reason: str = "") -> Report:
        """The full report, given the Groth16 verdict on :attr:`public_values` (ignored, and
        the stored failure kept, when no pairing was needed)."""
        r = self.report
        checks = list(r.checks)
        if self.public_values is not None:
            checks.insert(self.groth16_at, Check("groth16", bool(ok), "ok" if ok else reason))
        return Report(checks, list(r.notes), r.statement, r.params)


def verify_bundle(bundle: Bundle, vk, pf: ParamsFile, *, trust: Optional[tr.Trust] = None,
                  allow_unattested: bool = False, venue: str | None = None, epoch: int | None = None,
                  nonce: int | None = None, min_buffer_bps: int = DEFAULT_MIN_BUFFER_BPS,
                  setup: Optional[SetupRecord] = None, allow_development: bool = True) -> Report:
    """Check everything a bundle claims against the verifier's own key ``vk``, the venue's
    parameter file ``pf`` (already digest-checked on load), its ``trust`` file, the setup
    record of ``vk`` and the expected context. Without ``trust`` the bundle fails unless
    ``allow_unattested`` (then the commitments are not known to be anyone's real accounts)."""
    from zkmargin.verifier.groth16 import verify

    pending = precheck_bundle(bundle, vk, pf, trust=trust, allow_unattested=allow_unattested, venue=venue,
                              epoch=epoch, nonce=nonce, min_buffer_bps=min_buffer_bps, setup=setup,
                              allow_development=allow_development)
    if not pending.needs_pairing:
        return pending.complete(False)
    res = verify(vk, pending.public_values, bundle.proof)
    return pending.complete(res.valid, res.reason)


def precheck_bundle(bundle: Bundle, vk, pf: ParamsFile, *, trust: Optional[tr.Trust] = None,
                    allow_unattested: bool = False, venue: str | None = None, epoch: int | None = None,
                    nonce: int | None = None, min_buffer_bps: int = DEFAULT_MIN_BUFFER_BPS,
                    setup: Optional[SetupRecord] = None, allow_development: bool = True,
                    vk_fp: Optional[str] = None) -> PendingReport:
    """:func:`verify_bundle` without the Groth16 pairing (same arguments; see
    :class:`PendingReport`). ``vk_fp``: the key's :func:`vk_fingerprint`, when the caller has
    it already (a service verifying many bundles under one key computes it once)."""
    checks: list[Check] = []
    notes: list[str] = []
    st = bundle.statement

    def add(name: str, ok: bool, detail: str = "") -> bool:
        checks.append(Check(name, bool(ok), "ok" if ok else detail))
        return bool(ok)

    fp = vk_fp if vk_fp is not None else vk_fingerprint(vk)
    add("verifying key", bundle.vk_fingerprint == fp,
        f"the bundle was made for key {bundle.vk_fingerprint[:23]}..., you supplied {fp[:23]}...")
    add("shape", st.shape == pf.shape, "the statement's circuit shape is not the parameter file's")
    add("model", st.model == pf.model, f"the statement's model {st.model} is not the parameter file's {pf.model}")
    add("parameter digest", st.params_digest == pf.digest,
        "the statement's parameter digest is not the digest of the supplied parameter file")
    add("venue", st.venue == pf.venue, f"the statement names venue {st.venue}, the parameter file {pf.venue}")
    add("epoch", st.epoch == pf.epoch, f"the statement is for epoch {st.epoch}, the parameter file for {pf.epoch}")
    if venue is not None:
        add("expected venue", st.venue == venue, f"the proof is for venue {st.venue}, expected {venue} (replay?)")
    if epoch is not None:
        add("expected epoch", st.epoch == int(epoch), f"the proof is for epoch {st.epoch}, expected {epoch} (replay?)")
    else:
        add("expected epoch", False, "no expected epoch given: an old parameter file and old attestations "
                                     "would pass (give the epoch you are checking)")
    if nonce is not None:
        add("expected nonce", st.nonce == int(nonce), f"the proof is for nonce {st.nonce}, expected {nonce} (replay?)")
    else:
        notes.append("no expected nonce: this bundle may be a replay of an earlier presentation")
    floor = max(1, int(min_buffer_bps))
    add("buffer", st.buffer_bps >= floor,
        f"the proof shows buffer {st.buffer_bps / BPS:g}, at least {floor / BPS:g} is required")
    commitments = st.commitments
    add("distinct commitments", len(set(commitments)) == len(commitments),
        "the same commitment is listed more than once (an account counted twice)")
    add("account count", len(commitments) == pf.shape.accounts,
        f"{len(commitments)} accounts listed, the shape has {pf.shape.accounts}")

    names, values = st.public_inputs(pf) if st.shape == pf.shape and st.model == pf.model else ([], [])
    given = [(n, v) for n, v in bundle.public_inputs]
    want = list(zip(names, values))
    diff = [n for (n, v), g in zip(want, given) if (n, v) != g]
    add("public inputs", bool(want) and given == want,
        "the bundle's public inputs do not match the statement" + (f" (first: {diff[0]})" if diff else " (count)"))
    groth16_at = len(checks)
    if not want:
        add("groth16", False, "not checked: the statement does not fit the parameter file")

    # -- the key's origin: who vouches that vk is the venue's key for this shape
    check_setup_record(add, notes, setup, fp, pf, trust, allow_development)

    # -- who vouches for the parameter file and for each account
    if trust is None:
        if allow_unattested:
            notes.append("no trust file: nobody vouches that the commitments are real accounts, "
                         "or that the parameter file is the venue's")
        else:
            add("trust", False, "no trust file: attestations and the parameter file's signature cannot be "
                                "checked (give a trust file, or explicitly allow unattested bundles)")
    else:
        why = pf.signature_problem(trust)
        add("parameter file signature", why is None, why or "")
    kinds = dict(st.accounts)
    covered: set[int] = set()
    seen_refs: set[tuple[str, str]] = set()
    seen: set[tuple[str, int]] = set()
    for k, a in enumerate(bundle.attestations):
        label = f"attestation #{k + 1} ({a.attester})"
        if not add(label + " signature", a.signature_valid(), "the signature does not verify"):
            continue
        ok = add(label + " commitment", a.commitment in kinds, "attests a commitment that is not in the statement")
        ok &= add(label + " epoch", a.epoch == st.epoch, f"attestation for epoch {a.epoch}, statement for {st.epoch}")
        ok &= add(label + " parameter file", a.params_digest == pf.digest,
                  "the attestation was made under another parameter file")
        if a.commitment in kinds:
            ok &= add(label + " role", a.role == kinds[a.commitment],
                      f"attests a {a.role!r} account, the statement lists a {kinds[a.commitment]!r} account")
        ok &= add(label + " account", (a.attester, a.account_ref) not in seen_refs
                  and (a.attester, a.commitment) not in seen,
                  "the same attester vouches twice for one account or one commitment (double counting)")
        seen_refs.add((a.attester, a.account_ref))
        seen.add((a.attester, a.commitment))
        if trust is not None:
            why = trust.check(a.attester, a.public_key, a.role)
            ok &= add(label + " trust", why is None, why or "")
        if ok:
            covered.add(a.commitment)
    if trust is not None:
        for k, (c, kind) in enumerate(st.accounts):
            add(f"commitment_{k} attested", c in covered,
                f"no valid attestation by a key trusted for {kind!r} accounts")
    return PendingReport(Report(checks, notes, st, pf), list(values) if want else None, groth16_at)


__all__ = ["BUNDLE_FORMAT", "BUNDLE_VERSION", "DEFAULT_MIN_BUFFER_BPS", "venue_id", "buffer_to_bps",
           "Statement", "Bundle", "read_bundle", "write_bundle", "Check", "Report", "verify_bundle",
           "PendingReport", "precheck_bundle"]
