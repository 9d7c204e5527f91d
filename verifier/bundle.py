"""Solvency proof bundles (``zkmargin/solvency-bundle``, version 1) and their verification.

A bundle is what a trader hands to a venue, an auditor or a settlement layer::

    {
      "format": "zkmargin/solvency-bundle", "version": 1,
      "statement": {model, model_code, buffer_bps, venue, venue_id, epoch, nonce,
                    params_digest, commitments[], shape{}},
      "public_inputs": [{"name": ..., "value": "decimal"}, ...],   # wire order = public.json
      "proof": {snarkjs proof.json},
      "vk_fingerprint": "sha256:...",
      "attestations": [zkmargin/attestation/v1, ...],
      "development_only": bool
    }

:func:`verify_bundle` never trusts ``public_inputs``: it rebuilds the public vector from the
statement (and the venue's parameter file, in public-parameters mode), compares, and runs
Groth16 with the vector it built. It reports every check by name, so a failure says exactly
what failed: format, key fingerprint, parameter digest, shape, expected venue/epoch/nonce
(replay), buffer, public inputs, Groth16 equation, attestation signatures and trust.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Sequence

from zkmargin.algebra.constants import R
from zkmargin.circuits.margin_circuits import BPS, MODEL_CODES, Shape, public_input_names

BUNDLE_FORMAT = "zkmargin/solvency-bundle"
BUNDLE_VERSION = 1


def venue_id(name: str) -> int:
    """Field element naming a venue: SHA-256("zkmargin/venue/v1:" + name) truncated to 248 bits."""
    h = hashlib.sha256(b"zkmargin/venue/v1:" + name.encode("utf-8")).digest()
    return int.from_bytes(h[:31], "big")


@dataclass
class Bundle:
    statement: dict
    public_inputs: list[dict]
    proof: dict
    vk_fingerprint: str
    attestations: list[dict] = field(default_factory=list)
    development_only: bool = False

    @classmethod
    def create(cls, pf, *, venue: str, epoch: int, nonce: int, buffer_bps: int,
               commitments: Sequence[int], public_names: list[str], public_values: list[int],
               proof, vk, attestations: list[dict], development_only: bool) -> "Bundle":
        from zkmargin.prover.solvency import vk_fingerprint
        from zkmargin.verifier.formats import proof_to_json
        st = {"model": pf.model, "model_code": MODEL_CODES[pf.model], "buffer_bps": buffer_bps,
              "buffer": buffer_bps / BPS, "venue": venue, "venue_id": str(venue_id(venue)),
              "epoch": epoch, "nonce": str(nonce), "params_digest": str(pf.digest),
              "params_venue": pf.venue, "params_epoch": pf.epoch,
              "commitments": [str(c) for c in commitments], "shape": pf.shape.as_dict(),
              "claim": f"equity >= {buffer_bps / BPS:g} x {pf.model} margin requirement"}
        pubs = [{"name": n, "value": str(v)} for n, v in zip(public_names, public_values)]
        return cls(st, pubs, proof_to_json(proof), vk_fingerprint(vk), attestations, development_only)

    def to_json(self) -> dict:
        return {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "statement": self.statement,
                "public_inputs": self.public_inputs, "proof": self.proof,
                "vk_fingerprint": self.vk_fingerprint, "attestations": self.attestations,
                "development_only": self.development_only}

    @classmethod
    def from_json(cls, doc: dict) -> "Bundle":
        if not isinstance(doc, dict) or doc.get("format") != BUNDLE_FORMAT:
            raise ValueError("not a zkmargin solvency bundle")
        if doc.get("version") != BUNDLE_VERSION:
            raise ValueError(f"unsupported bundle version {doc.get('version')!r} (expected {BUNDLE_VERSION})")
        try:
            return cls(dict(doc["statement"]), list(doc["public_inputs"]), dict(doc["proof"]),
                       str(doc["vk_fingerprint"]), list(doc.get("attestations", [])),
                       bool(doc.get("development_only", False)))
        except (KeyError, TypeError) as e:
            raise ValueError(f"bundle: missing or malformed field {e}") from None

    def public_values(self) -> list[int]:
        return [int(p["value"]) for p in self.public_inputs]


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Report:
    checks: list[Check]

    @property
    def valid(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def summary(self) -> str:
        if self.valid:
            return "VALID"
        return "INVALID: " + "; ".join(f"{c.name}: {c.detail}" for c in self.failures)


def expected_public_inputs(st: dict, pf) -> tuple[list[str], list[int]]:
    """The public vector a statement stands for (names, values), built by the verifier."""
    shape = Shape.from_dict(st["shape"])
    vec = pf.params.vector() if shape.params_public else []
    names = public_input_names(shape, len(vec))
    values = [int(st["model_code"]), int(st["buffer_bps"]), venue_id(str(st["venue"])),
              int(st["epoch"]), int(st["nonce"])]
    if not shape.params_public:
        values.append(int(st["params_digest"]))
    values += [int(c) for c in st["commitments"]]
    values += [v % R for v in vec]
    return names, values


def verify_bundle(bundle: Bundle, vk, pf, *, trusted: dict[str, str] | None = None,
                  venue: str | None = None, epoch: int | None = None, nonce: int | None = None,
                  min_buffer_bps: int | None = None, allow_development: bool = True) -> Report:
    """Check everything a bundle claims against the verifier's own key ``vk``, the venue's
    parameter file ``pf`` (:class:`zkmargin.prover.solvency.ParamsFile`, already digest-checked
    on load) and the expected context. ``trusted`` maps attester names to Ed25519 public keys
    (hex); when given, every commitment needs a valid attestation by a trusted key for the
    statement's epoch."""
    from zkmargin.prover.solvency import vk_fingerprint
    from zkmargin.verifier.attest import Attestation, AttestationError
    from zkmargin.verifier.formats import proof_from_json
    from zkmargin.verifier.groth16 import verify

    checks: list[Check] = []

    def add(name: str, ok: bool, detail: str = "") -> bool:
        checks.append(Check(name, bool(ok), "ok" if ok else detail))
        return bool(ok)

    st = bundle.statement
    fp = vk_fingerprint(vk)
    add("verifying key", bundle.vk_fingerprint == fp,
        f"bundle was made for key {bundle.vk_fingerprint[:23]}..., you supplied {fp[:23]}...")
    try:
        shape = Shape.from_dict(st["shape"])
        add("shape", shape == pf.shape, "statement shape differs from the parameter file's shape")
        add("model", st["model"] == pf.model and int(st["model_code"]) == MODEL_CODES.get(pf.model),
            f"statement model {st['model']!r} (code {st['model_code']}) is not the parameter file's {pf.model!r}")
        add("parameter digest", str(st["params_digest"]) == str(pf.digest),
            "statement's parameter digest is not the digest of the supplied parameter file")
        add("venue id", str(st["venue_id"]) == str(venue_id(str(st["venue"]))),
            "venue_id does not match the venue name")
        if venue is not None:
            add("expected venue", st["venue"] == venue,
                f"proof is for venue {st['venue']!r}, expected {venue!r} (replay?)")
        if epoch is not None:
            add("expected epoch", int(st["epoch"]) == int(epoch),
                f"proof is for epoch {st['epoch']}, expected {epoch} (replay?)")
        if nonce is not None:
            add("expected nonce", int(st["nonce"]) == int(nonce),
                f"proof is for nonce {st['nonce']}, expected {nonce} (replay?)")
        if min_buffer_bps is not None:
            add("buffer", int(st["buffer_bps"]) >= min_buffer_bps,
                f"proof shows buffer {int(st['buffer_bps']) / BPS:g}, required {min_buffer_bps / BPS:g}")
        names, values = expected_public_inputs(st, pf)
        given = [(str(p.get("name")), str(p.get("value"))) for p in bundle.public_inputs]
        want = [(n, str(v)) for n, v in zip(names, values)]
        diff = [n for (n, v), (gn, gv) in zip(want, given) if (n, v) != (gn, gv)]
        add("public inputs", given == want,
            "public inputs do not match the statement" + (f" (first: {diff[0]})" if diff else " (count)"))
    except (KeyError, TypeError, ValueError) as e:
        add("statement", False, f"malformed statement ({e})")
        return Report(checks)
    if bundle.development_only:
        add("setup", allow_development, "key comes from a DEVELOPMENT-ONLY setup")
    try:
        proof = proof_from_json(bundle.proof)
        res = verify(vk, values, proof)
        add("groth16", res.valid, res.reason)
    except Exception as e:  # malformed proof JSON
        add("groth16", False, f"malformed proof ({e})")

    # attestations
    commitments = {str(c) for c in st["commitments"]}
    attested: set[str] = set()
    for k, doc in enumerate(bundle.attestations):
        try:
            a = Attestation.from_json(doc)
        except AttestationError as e:
            add(f"attestation #{k + 1}", False, str(e))
            continue
        label = f"attestation #{k + 1} ({a.attester})"
        if not add(label + " signature", a.signature_valid(), "signature does not verify"):
            continue
        ok = add(label + " commitment", str(a.commitment) in commitments,
                 "attests a commitment that is not in the statement")
        ok &= add(label + " epoch", a.epoch == int(st["epoch"]),
                  f"attestation is for epoch {a.epoch}, statement for {st['epoch']}")
        if trusted is not None:
            known = trusted.get(a.attester)
            ok &= add(label + " trust", known is not None and known == a.public_key.lower(),
                      "attester is not in the trust file" if known is None else "key is not the trusted key for this attester")
        if ok:
            attested.add(str(a.commitment))
    if trusted is not None:
        for k, c in enumerate(st["commitments"]):
            add(f"commitment_{k} attested", str(c) in attested,
                "no valid attestation by a trusted key for this commitment")
    return Report(checks)
