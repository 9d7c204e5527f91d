"""The settlement gateway's core, without HTTP: registry, challenges, verification, records.

:class:`Gateway` is what the FastAPI app (:mod:`.app`) calls; tests and embedders can call it
directly. A submission is accepted exactly when

1. its body is a well-formed bundle (the strict reader, :meth:`Bundle.from_json`);
2. the gateway holds the parameter file of the statement's venue and epoch and the verifying
   key the bundle names (registered at start-up or through the admin API);
3. every check of :func:`zkmargin.solvency.verify_bundle` passes, with the gateway's active
   trust file, the key's setup record (if registered), its ``allow_development`` (``--no-dev``)
   and minimum buffer, and the expected venue, epoch and nonce of the challenge -- the Groth16
   step runs batched (:class:`.batcher.PairingBatcher`);
4. ``gateway nonce``: this gateway issued the nonce for that venue and epoch, it has not
   expired, and no other bundle was accepted with it -- checked first, and enforced again, in
   the database, by the transaction that records the acceptance.

The answer ``accepted`` is returned only after that transaction committed. An identical bundle
(same canonical JSON) submitted again after its acceptance gets the same answer and id
(``duplicate``); any other bundle with a used nonce is rejected.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Callable, Optional

from zkmargin.algebra.constants import R
from zkmargin.errors import ZkmarginError
from zkmargin.formats import jsonio as jio
from zkmargin.solvency import trust as tr
from zkmargin.solvency.bundle import DEFAULT_MIN_BUFFER_BPS, Bundle, Check, Report, precheck_bundle
from zkmargin.solvency.keys import SetupRecord, setup_record_from_json, vk_fingerprint
from zkmargin.solvency.params import MAX_EPOCH, ParamsFile, params_from_json

from . import auth
from .batcher import PairingBatcher
from .store import Conflict, Store, new_id

#: 128-bit nonces: unpredictable (OS CSPRNG) and far below r.
NONCE_BITS = 128


class GatewayError(ZkmarginError):
    """A request the gateway refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class GatewayConfig:
    db_url: str = "sqlite:///zkmargin-gateway.db"
    allow_development: bool = True       #: False = ``--no-dev``
    min_buffer_bps: int = DEFAULT_MIN_BUFFER_BPS
    nonce_ttl_s: int = 900
    max_bundle_bytes: int = 1 << 20      #: request bodies of POST /v1/bundles and /v1/challenges
    max_admin_bytes: int = 32 << 20      #: admin bodies (a parameter file or key can be large)
    body_timeout_s: float = 10.0         #: a body must arrive within this
    verify_timeout_s: float = 60.0       #: a submission waits at most this for its pairing batch
    admin_window_s: int = auth.DEFAULT_WINDOW_S
    batch_max: int = 64
    batch_wait_s: float = 0.01
    #: 1: pairings in a separate (spawned) process, as ``zkmargin serve`` does -- then a script
    #: embedding the gateway must build it under ``if __name__ == "__main__":``; 0: in a thread
    pairing_processes: int = 0


@dataclass
class SubmitResult:
    status: str                           #: accepted | rejected
    http: int
    id: Optional[str] = None
    duplicate: bool = False
    failures: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    claim: Optional[dict] = None

    def to_json(self) -> dict:
        out = {"status": self.status, "id": self.id, "duplicate": self.duplicate, "failures": self.failures,
               "notes": self.notes}
        if self.claim is not None:
            out["claim"] = self.claim
        return out


_CHECK_FAMILY = re.compile(r"^(attestation) #\d+ \([^)]*\) (\w[\w ]*)$|^commitment_\d+ (attested)$")


def check_family(name: str) -> str:
    """A check's name without its index and attester (a bounded label set for /metrics)."""
    m = _CHECK_FAMILY.match(name)
    if not m:
        return name
    return f"attestation {m.group(2)}" if m.group(1) else "commitment attested"


class Gateway:
    def __init__(self, config: GatewayConfig, *, clock: Callable[[], float] = time.time):
        self.config = config
        self.clock = clock
        self.store = Store.open(config.db_url, self.now_ms)
        self.batcher = PairingBatcher(max_batch=config.batch_max, max_wait_s=config.batch_wait_s,
                                      processes=config.pairing_processes)
        self._lock = threading.Lock()
        self._params: dict[tuple[str, int], ParamsFile] = {}
        self._vks: dict[str, tuple] = {}           # fingerprint -> (vk, prepared vk)
        self._setups: dict[str, Optional[SetupRecord]] = {}
        self._trust: Optional[tuple[int, tr.Trust]] = None
        self.started_at = clock()
        self.counts = {"accepted": 0, "rejected": 0, "duplicate": 0}
        self.failure_counts: dict[str, int] = {}
        self.latencies: list[float] = []           # seconds, the last 10000 submissions

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def close(self) -> None:
        self.batcher.close()
        self.store.close()

    # -- registry ------------------------------------------------------------------------------

    def trust(self) -> Optional[tr.Trust]:
        version = self.store.trust_version()
        if version is None:
            return None
        with self._lock:
            if self._trust is not None and self._trust[0] == version:
                return self._trust[1]
        got = self.store.trust_latest()
        t = tr.trust_from_json(json.loads(got[1]), "registered trust file")
        with self._lock:
            self._trust = (got[0], t)
        return t

    def register_trust(self, doc: dict, by: str) -> dict:
        t = tr.trust_from_json(doc, "trust file")
        if by != "operator" and t.check(by, self.trust().attesters[by].public_key, auth.ADMIN_ROLE) is not None:
            raise GatewayError(f"the new trust file must keep {by} trusted for {auth.ADMIN_ROLE!r} "
                               "(it would lock its own signer out)", 422)
        version = self.store.register_trust(json.dumps(t.to_json(), sort_keys=True), by)
        return {"registered": "trust", "version": version, "attesters": sorted(t.attesters)}

    def register_params(self, doc: dict, by: str) -> dict:
        pf = params_from_json(doc, "parameter file")
        trust = self.trust()
        if trust is None:
            raise GatewayError("register a trust file first: a parameter file is checked against it", 409)
        why = pf.signature_problem(trust)
        if why is not None:
            raise GatewayError(f"parameter file signature: {why}", 422)
        if by != "operator" and by != pf.venue:
            raise GatewayError(f"{by} may not register parameter files of {pf.venue}", 403)
        try:
            new = self.store.register_params(pf.venue, pf.epoch, pf.model, pf.digest,
                                             json.dumps(pf.to_json(), sort_keys=True), by)
        except Conflict as e:
            raise GatewayError(str(e), 409) from None
        with self._lock:
            self._params[(pf.venue, pf.epoch)] = pf
        return {"registered": "params", "new": new, "venue": pf.venue, "epoch": pf.epoch, "digest": str(pf.digest)}

    def register_vk(self, doc: dict, by: str) -> dict:
        from zkmargin.formats.snarkjs_json import verifying_key_from_json
        from zkmargin.verifier.groth16 import prepare_verifying_key
        vk = verifying_key_from_json(doc)
        pvk = prepare_verifying_key(vk)            # InvalidKeyError (a ZkmarginError) if bad
        fp = vk_fingerprint(vk)
        from zkmargin.formats.snarkjs_json import verifying_key_to_json
        try:
            new = self.store.register_vk(fp, json.dumps(verifying_key_to_json(vk), sort_keys=True), by)
        except Conflict as e:
            raise GatewayError(str(e), 409) from None
        with self._lock:
            self._vks[fp] = (vk, pvk)
        return {"registered": "verifying key", "new": new, "fingerprint": fp, "public_inputs": vk.n_public}

    def register_setup(self, doc: dict, by: str) -> dict:
        rec = setup_record_from_json(doc, "setup record")
        trust = self.trust()
        if trust is None:
            raise GatewayError("register a trust file first: a setup record is checked against it", 409)
        why = rec.signature_problem(trust, rec.venue)      # signed by the venue it names
        if why is not None:
            raise GatewayError(f"setup record signature: {why}", 422)
        if by != "operator" and by != rec.venue:
            raise GatewayError(f"{by} may not register setup records of {rec.venue}", 403)
        try:
            new = self.store.register_setup(rec.vk_fingerprint, json.dumps(rec.to_json(), sort_keys=True), by)
        except Conflict as e:
            raise GatewayError(str(e), 409) from None
        with self._lock:
            self._setups[rec.vk_fingerprint] = rec
        return {"registered": "setup record", "new": new, "vk_fingerprint": rec.vk_fingerprint,
                "development_only": rec.development_only, "production_problem": rec.production_problem()}

    def params(self, venue: str, epoch: int) -> Optional[ParamsFile]:
        with self._lock:
            pf = self._params.get((venue, epoch))
        if pf is not None:
            return pf
        doc = self.store.params_document(venue, epoch)
        if doc is None:
            return None
        pf = params_from_json(json.loads(doc), "registered parameter file")
        with self._lock:
            self._params[(venue, epoch)] = pf
        return pf

    def vk(self, fp: str):
        with self._lock:
            got = self._vks.get(fp)
        if got is not None:
            return got
        doc = self.store.vk_document(fp)
        if doc is None:
            return None
        from zkmargin.formats.snarkjs_json import verifying_key_from_json
        from zkmargin.verifier.groth16 import prepare_verifying_key
        vk = verifying_key_from_json(json.loads(doc))
        got = (vk, prepare_verifying_key(vk))
        with self._lock:
            self._vks[fp] = got
        return got

    def setup(self, fp: str) -> Optional[SetupRecord]:
        with self._lock:
            if fp in self._setups and self._setups[fp] is not None:
                return self._setups[fp]
        doc = self.store.setup_document(fp)
        rec = setup_record_from_json(json.loads(doc), "registered setup record") if doc else None
        if rec is not None:
            with self._lock:
                self._setups[fp] = rec
        return rec

    # -- challenges ----------------------------------------------------------------------------

    def issue_challenge(self, venue: str, epoch: int) -> dict:
        venue = jio.name(venue, "venue")
        epoch = jio.integer(epoch, "epoch", 0, MAX_EPOCH)
        if self.params(venue, epoch) is None:
            raise GatewayError(f"this gateway has no parameter file for venue {venue} epoch {epoch}", 404)
        for _ in range(3):      # a 128-bit collision is not expected; never reuse one anyway
            try:
                ch = self.store.issue_challenge(secrets.randbits(NONCE_BITS), venue, epoch,
                                                self.config.nonce_ttl_s * 1000)
                break
            except Conflict:
                continue
        else:
            raise GatewayError("could not issue a fresh nonce", 503)
        return {"nonce": str(ch.nonce), "venue": venue, "epoch": epoch, "issued_at": iso(ch.issued_at_ms),
                "expires_at": iso(ch.expires_at_ms), "expires_at_ms": ch.expires_at_ms}

    # -- submissions ---------------------------------------------------------------------------

    def submit(self, body: bytes, received_ms: Optional[int] = None) -> SubmitResult:
        """Decide one submission (module docstring); never raises for bad input."""
        received_ms = self.now_ms() if received_ms is None else received_ms
        t0 = time.monotonic()
        sha = hashlib.sha256(body).hexdigest()
        sub = {"id": new_id(), "received_at_ms": received_ms, "bundle_sha256": sha, "venue": None,
               "epoch": None, "nonce": None, "buffer_bps": None, "document": None}
        try:
            doc = jio.loads_strict(body, "bundle", self.config.max_bundle_bytes)
            sub["bundle_sha256"] = hashlib.sha256(jio.canonical_bytes(doc)).hexdigest()
            bundle = Bundle.from_json(doc)
        except (ZkmarginError, ValueError, OverflowError, RecursionError, TypeError) as e:
            return self._reject(sub, [Check("bundle format", False, str(e)[:300])], [], http=400, t0=t0)
        st = bundle.statement
        sub.update(venue=st.venue, epoch=st.epoch, nonce=st.nonce, buffer_bps=st.buffer_bps)
        accounts = list(st.accounts)

        # the gateway's own nonce rule (checked again when the acceptance is written)
        ch = self.store.challenge(st.nonce)
        nonce_problem = None
        if ch is None:
            nonce_problem = "this gateway did not issue the nonce"
        elif ch.used_by is not None:
            prev = self.store.acceptance_of(st.nonce)
            if prev is not None and prev[1] == sub["bundle_sha256"]:
                return self._done(SubmitResult("accepted", 200, prev[0], duplicate=True,
                                               claim=self._claim_of(prev[0])), t0, "duplicate")
            nonce_problem = "the nonce was already used by another accepted bundle (replay)"
        elif ch.expires_at_ms <= self.now_ms():
            nonce_problem = f"the nonce expired at {iso(ch.expires_at_ms)}"
        elif (ch.venue, ch.epoch) != (st.venue, st.epoch):
            nonce_problem = f"the nonce was issued for venue {ch.venue} epoch {ch.epoch}"
        gateway_checks = [Check("gateway nonce", nonce_problem is None, nonce_problem or "ok")]

        pf = self.params(st.venue, st.epoch)
        keyed = self.vk(bundle.vk_fingerprint)
        if pf is None or keyed is None:
            if pf is None:
                gateway_checks.append(Check("parameter file", False, f"this gateway has no parameter file "
                                                                     f"for venue {st.venue} epoch {st.epoch}"))
            if keyed is None:
                gateway_checks.append(Check("verifying key", False, f"this gateway has no verifying key "
                                                                    f"{bundle.vk_fingerprint[:30]}..."))
            return self._reject(sub, [c for c in gateway_checks if not c.ok], accounts, t0=t0)
        vk, pvk = keyed
        pending = precheck_bundle(bundle, vk, pf, trust=self.trust(), venue=ch.venue if ch else st.venue,
                                  epoch=ch.epoch if ch else st.epoch, nonce=st.nonce,
                                  min_buffer_bps=self.config.min_buffer_bps,
                                  setup=self.setup(bundle.vk_fingerprint),
                                  allow_development=self.config.allow_development,
                                  vk_fp=bundle.vk_fingerprint)
        pre = pending.report
        if nonce_problem is not None or not pending.needs_pairing or pre.failures:
            failures = [c for c in gateway_checks if not c.ok] + pre.failures
            notes = list(pre.notes)
            if pending.needs_pairing:
                notes.append("groth16 not run: the bundle failed the checks above")
            return self._reject(sub, failures, accounts, notes=notes, t0=t0)

        fut = self.batcher.submit(bundle.vk_fingerprint, pvk, pending.public_values, bundle.proof)
        try:
            ok, reason = fut.result(timeout=self.config.verify_timeout_s)
        except FutureTimeout:
            fut.cancel()
            raise GatewayError("verification did not finish in time: the gateway is overloaded, retry", 503) from None
        except Exception as e:      # the pairing process died, or the gateway is stopping
            raise GatewayError(f"verification unavailable ({type(e).__name__}): retry", 503) from None
        report: Report = pending.complete(ok, reason)
        if not report.valid:
            return self._reject(sub, report.failures, accounts, notes=report.notes, t0=t0)

        sub["document"] = json.dumps(doc, sort_keys=True)
        outcome = self.store.record_acceptance(sub, accounts)
        if outcome.kind == "accepted":
            return self._done(SubmitResult("accepted", 201, outcome.submission_id, notes=report.notes,
                                           claim=report.to_json()["claim"]), t0, "accepted")
        if outcome.kind == "duplicate":
            return self._done(SubmitResult("accepted", 200, outcome.submission_id, duplicate=True,
                                           claim=report.to_json()["claim"]), t0, "duplicate")
        sub["document"] = None
        return self._reject(sub, [Check("gateway nonce", False, outcome.reason)], accounts, t0=t0)

    def _claim_of(self, sid: str) -> Optional[dict]:
        row = self.store.submission(sid)
        if row is None or not row.get("document"):
            return None
        st = json.loads(row["document"])["statement"]
        return {"venue": st["venue"], "epoch": st["epoch"], "nonce": st["nonce"], "model": st["model"],
                "buffer_bps": st["buffer_bps"], "buffer": st["buffer_bps"] / 10_000,
                "accounts": st["accounts"]}

    def _reject(self, sub: dict, failures: list[Check], accounts, *, notes=(), http: int = 422,
                t0: float = 0.0) -> SubmitResult:
        fail = [{"name": c.name, "reason": c.detail} for c in failures]
        sub = dict(sub, reasons=json.dumps(fail))
        self.store.record_rejection(sub, accounts)
        with self._lock:
            for c in failures:
                k = check_family(c.name)
                self.failure_counts[k] = self.failure_counts.get(k, 0) + 1
        return self._done(SubmitResult("rejected", http, sub["id"], failures=fail, notes=list(notes)), t0, "rejected")

    def _done(self, res: SubmitResult, t0: float, kind: str) -> SubmitResult:
        with self._lock:
            self.counts[kind] += 1
            self.latencies.append(time.monotonic() - t0)
            del self.latencies[:-10_000]
        return res

    # -- accounts, epochs, events ------------------------------------------------------------

    def account(self, commitment: str, epoch) -> dict:
        cm = jio.integer(commitment, "commitment", 0, R)
        ep = jio.integer(epoch, "epoch", 0, MAX_EPOCH)
        out = self.store.account_status(cm, ep)
        out.update(commitment=str(cm), epoch=ep)
        if "buffer_bps" in out:
            out["buffer"] = out["buffer_bps"] / 10_000
        return out

    def epoch(self, epoch, venue: Optional[str] = None) -> dict:
        ep = jio.integer(epoch, "epoch", 0, MAX_EPOCH)
        return self.store.epoch_summary(ep, jio.name(venue, "venue") if venue is not None else None)

    def close_epoch(self, doc: dict, by: str) -> dict:
        doc = jio.expect_keys(jio.expect_object(doc, "close request"), "close request", ("venue", "epoch"),
                              ("next_epoch",))
        venue = jio.name(doc["venue"], "venue")
        epoch = jio.integer(doc["epoch"], "epoch", 0, MAX_EPOCH)
        if by != "operator" and by != venue:
            raise GatewayError(f"{by} may not close epochs of {venue}", 403)
        if doc.get("next_epoch") is not None:
            nxt = jio.integer(doc["next_epoch"], "next_epoch", 0, MAX_EPOCH)
        else:
            later = [e for e in self.store.params_epochs(venue) if e > epoch]
            if not later:
                raise GatewayError(f"no parameter file of {venue} for an epoch after {epoch}: give next_epoch", 409)
            nxt = later[0]
        if nxt <= epoch:
            raise GatewayError("next_epoch must be after epoch", 400)
        try:
            new, calls = self.store.close_epoch(venue, epoch, nxt, by)
        except Conflict as e:
            raise GatewayError(str(e), 409) from None
        return {"venue": venue, "epoch": epoch, "next_epoch": nxt, "closed": True, "new": new,
                "margin_calls": calls}

    def events(self, *, venue=None, epoch=None, kind=None, after=0, limit=100) -> list[dict]:
        if kind is not None and kind not in ("margin_call", "epoch_closed"):
            raise GatewayError("kind must be margin_call or epoch_closed")
        rows = self.store.events(venue=jio.name(venue, "venue") if venue is not None else None,
                                 epoch=jio.integer(epoch, "epoch", 0, MAX_EPOCH) if epoch is not None else None,
                                 kind=kind, after=max(0, int(after)), limit=max(1, min(1000, int(limit))))
        for r in rows:
            r["at"] = iso(r["at_ms"])
        return rows

    # -- admin authentication --------------------------------------------------------------------

    def authenticate(self, headers, method: str, path: str, body: bytes) -> str:
        v = auth.check_request(self.trust(), headers, method, path, body, self.clock(), self.config.admin_window_s)
        if self.store.admin_request_seen(v.signature, v.signer, f"{method} {path}", self.config.admin_window_s * 1000):
            raise auth.AuthError("replayed request: this signature was already used")
        return v.signer


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


__all__ = ["Gateway", "GatewayConfig", "GatewayError", "SubmitResult", "NONCE_BITS", "check_family", "iso"]
