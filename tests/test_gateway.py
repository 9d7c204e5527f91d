"""The settlement gateway in-process (FastAPI's test client), on SQLite and on a real PostgreSQL.

Every test runs the real app, the real database and real proofs (``prove_for``) or proofs under
a trapdoor-known load key (``LoadKey``, where a test needs many nonces); nothing is mocked.
The PostgreSQL variants need ``ZKMARGIN_TEST_PG_URL`` (``.ci/run`` starts a server and sets it)
and skip, saying so, without it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from gateway_support import LoadKey, fresh_pg_database, pg_url_or_skip, prove_for, venue_files
from sqlalchemy import func, insert, select

from zkmargin.service import schema as S
from zkmargin.service.app import create_app
from zkmargin.service.auth import sign_request
from zkmargin.service.gateway import Gateway, GatewayConfig, GatewayError
from zkmargin.service.server import bootstrap
from zkmargin.service.store import StoreError, make_engine
from zkmargin.solvency import trust as tr
from zkmargin.solvency.attest import attest
from zkmargin.solvency.bundle import Bundle
from zkmargin.solvency.params import make_params_file


class Clock:
    """A clock the test moves (expiry and replay windows without sleeping)."""

    def __init__(self):
        self.t = time.time()
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.t

    def advance(self, s: float) -> None:
        with self._lock:
            self.t += s


@pytest.fixture(scope="module")
def vf(tmp_path_factory):
    return venue_files(tmp_path_factory.mktemp("gateway-venue"))


@pytest.fixture(scope="module")
def load_key(vf):
    return LoadKey(vf.flow)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gateway.db'}"
    return fresh_pg_database(pg_url_or_skip(), "t")


def make_gateway(vf, db_url, load_key=None, clock=None, **cfg):
    gw = Gateway(GatewayConfig(db_url=db_url, **cfg), **({"clock": clock} if clock else {}))
    bootstrap(gw, trust=vf.trust, params=[vf.params], vks=[vf.vk], setups=[vf.setup])
    if load_key is not None:
        gw.register_vk(load_key.vk_json(), "operator")
        gw.register_setup(load_key.record_json(), "operator")
    return gw


@pytest.fixture
def gw_client(vf, load_key, db_url):
    clock = Clock()
    gw = make_gateway(vf, db_url, load_key, clock)
    with TestClient(create_app(gw), raise_server_exceptions=False) as c:
        c.gw, c.clock = gw, clock
        yield c
    gw.close()


def challenge(c, vf, epoch=None) -> int:
    r = c.post("/v1/challenges", json={"venue": vf.venue, "epoch": epoch if epoch is not None else vf.epoch})
    assert r.status_code == 200, r.text
    n = int(r.json()["nonce"])
    assert 0 <= n < 1 << 128
    return n


def submit(c, body) -> tuple[int, dict]:
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    elif hasattr(body, "to_json"):
        body = json.dumps(body.to_json()).encode()
    r = c.post("/v1/bundles", content=body, headers={"Content-Type": "application/json"})
    return r.status_code, r.json()


def failed_names(res) -> set[str]:
    return {f["name"] for f in res["failures"]}


# ---------------------------------------------------------------------------------------------
# acceptance rules


def test_real_proof_is_accepted_once_and_idempotent(gw_client, vf):
    c = gw_client
    n = challenge(c, vf)
    bundle = prove_for(vf.flow, n)
    code, res = submit(c, bundle)
    assert code == 201 and res["status"] == "accepted" and not res["duplicate"], res
    assert res["claim"]["nonce"] == str(n) and res["claim"]["venue"] == vf.venue
    # the identical bundle again: the same acceptance, not a second one
    code2, res2 = submit(c, bundle)
    assert code2 == 200 and res2["status"] == "accepted" and res2["duplicate"] and res2["id"] == res["id"]
    # another valid proof for the same nonce (fresh prover randomness): a replay, refused
    other = prove_for(vf.flow, n)
    assert other.proof != bundle.proof
    code3, res3 = submit(c, other)
    assert code3 == 422 and res3["status"] == "rejected"
    assert failed_names(res3) == {"gateway nonce"} and "already used" in res3["failures"][0]["reason"]
    # the account is solvent for this epoch, with the proven buffer
    cm = bundle.statement.accounts[0][0]
    acct = c.get(f"/v1/accounts/{cm}", params={"epoch": vf.epoch}).json()
    assert acct["status"] == "solvent" and acct["buffer"] == 1.0 and acct["submission_id"] == res["id"]
    assert c.get(f"/v1/accounts/{cm + 1}", params={"epoch": vf.epoch}).json()["status"] == "unknown"
    summary = c.get(f"/v1/epochs/{vf.epoch}", params={"venue": vf.venue}).json()
    assert summary["accepted"] == 1 and summary["rejected"] == 1 and summary["outstanding"] == 0
    assert summary["latency_ms"]["count"] == 2 and summary["latency_ms"]["p50"] is not None
    with c.gw.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(S.acceptances)).scalar() == 1
        used = conn.execute(select(S.challenges.c.used_by).where(S.challenges.c.nonce == str(n))).scalar()
    assert used == res["id"]


def test_nonce_must_be_issued_unexpired_and_for_that_venue_and_epoch(gw_client, vf, load_key):
    c = gw_client
    # never issued (the session's own nonce 42)
    code, res = submit(c, load_key.bundle(42))
    assert code == 422 and "gateway nonce" in failed_names(res)
    assert "did not issue" in next(f["reason"] for f in res["failures"] if f["name"] == "gateway nonce")
    # expired
    n = challenge(c, vf)
    c.clock.advance(c.gw.config.nonce_ttl_s + 1)
    code, res = submit(c, load_key.bundle(n))
    assert code == 422 and "expired" in res["failures"][0]["reason"]
    # issued for another epoch of the venue (a parameter file for it is registered first)
    c.gw.register_params(next_params(vf).to_json(), "operator")
    n2 = challenge(c, vf, epoch=vf.epoch + 1)
    code, res = submit(c, load_key.bundle(n2))
    assert code == 422
    assert {"gateway nonce", "expected epoch"} <= failed_names(res)
    # a fresh nonce for the right venue and epoch: accepted
    code, res = submit(c, load_key.bundle(challenge(c, vf)))
    assert code == 201, res


def test_rejections_name_the_verify_checks(gw_client, vf, load_key):
    c = gw_client
    # a bad pairing: found by the batch verifier
    code, res = submit(c, load_key.bundle(challenge(c, vf), bad_proof=True))
    assert code == 422 and failed_names(res) == {"groth16"}
    # the statement's buffer raised after proving: public inputs no longer the proof's
    doc = json.loads(load_key.bundle_bytes(challenge(c, vf)))
    doc["statement"]["buffer_bps"] = 20_000
    code, res = submit(c, doc)
    assert code == 422 and "public inputs" in failed_names(res)
    # an attestation removed: the commitment is no longer vouched for
    doc = json.loads(load_key.bundle_bytes(challenge(c, vf)))
    doc["attestations"] = []
    code, res = submit(c, doc)
    assert code == 422 and "commitment_0 attested" in failed_names(res)
    # a key the gateway does not hold
    doc = json.loads(load_key.bundle_bytes(challenge(c, vf)))
    doc["vk_fingerprint"] = "sha256:" + "0" * 64
    code, res = submit(c, doc)
    assert code == 422 and "verifying key" in failed_names(res)
    # the rejections are listed with their reasons, and count per check in /metrics
    rows = c.gw.store.recent_rejections()
    assert len(rows) == 4 and any(f["name"] == "groth16" for r in rows for f in r["failures"])
    text = c.get("/metrics").text
    assert 'zkmargin_gateway_check_failures_total{check="groth16"} 1' in text
    assert 'zkmargin_gateway_submissions_total{outcome="rejected"} 4' in text


def test_no_dev_refuses_development_keys(vf, load_key, db_url):
    gw = make_gateway(vf, db_url, load_key, allow_development=False)
    try:
        with TestClient(create_app(gw)) as c:
            code, res = submit(c, load_key.bundle(challenge(c, vf)))
        assert code == 422 and failed_names(res) == {"setup"}
    finally:
        gw.close()


def test_batch_of_concurrent_submissions_names_the_bad_ones(vf, load_key, db_url):
    """Many submissions at once are verified in shared pairing batches; a bad proof among them
    is found by bisection and only it is rejected."""
    gw = make_gateway(vf, db_url, load_key, batch_wait_s=0.2, batch_max=32, pairing_processes=1)
    try:
        nonces = [int(gw.issue_challenge(vf.venue, vf.epoch)["nonce"]) for _ in range(12)]
        bad = {3, 8}
        bodies = [load_key.bundle_bytes(n, bad_proof=k in bad) for k, n in enumerate(nonces)]
        out = [None] * len(bodies)

        def go(k):
            out[k] = gw.submit(bodies[k])
        threads = [threading.Thread(target=go, args=(k,)) for k in range(len(bodies))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert [r.status for r in out] == ["rejected" if k in bad else "accepted" for k in range(len(bodies))]
        assert all({f["name"] for f in out[k].failures} == {"groth16"} for k in bad)
        assert gw.batcher.proofs == len(bodies) and gw.batcher.batches < len(bodies)
    finally:
        gw.close()


# ---------------------------------------------------------------------------------------------
# epochs and margin calls


def test_epoch_close_reports_accounts_without_a_proof_for_the_next_epoch(gw_client, vf, load_key):
    c = gw_client
    n = challenge(c, vf)
    assert submit(c, load_key.bundle(n))[0] == 201
    cm = vf.flow.bundle.statement.accounts[0][0]
    f = vf.flow
    nxt = next_params(vf)
    key = f.sk[vf.venue]
    body = json.dumps(nxt.to_json()).encode()
    r = c.post("/v1/admin/params", content=body, headers=sign_request(key, vf.venue, "POST", "/v1/admin/params", body))
    assert r.status_code == 200 and r.json()["epoch"] == vf.epoch + 1, r.text
    close = json.dumps({"venue": vf.venue, "epoch": vf.epoch}).encode()
    r = c.post("/v1/admin/epochs/close", content=close,
               headers=sign_request(key, vf.venue, "POST", "/v1/admin/epochs/close", close))
    assert r.status_code == 200, r.text
    assert r.json() == {"venue": vf.venue, "epoch": vf.epoch, "next_epoch": vf.epoch + 1, "closed": True,
                        "new": True, "margin_calls": 1}
    calls = c.get(f"/v1/epochs/{vf.epoch}/margin-calls", params={"venue": vf.venue}).json()
    assert [e["commitment"] for e in calls] == [str(cm)] and calls[0]["next_epoch"] == vf.epoch + 1
    kinds = [e["kind"] for e in c.get("/v1/events").json()]
    assert kinds.count("epoch_closed") == 1 and kinds.count("margin_call") == 1
    assert c.get(f"/v1/accounts/{cm}", params={"epoch": vf.epoch + 1}).json()["status"] == "expired"
    assert c.get(f"/v1/epochs/{vf.epoch}").json()["margin_calls"] == 1


def next_params(vf):
    f = vf.flow
    return make_params_file(vf.venue, vf.epoch + 1, f.pf.model, list(f.pf.instruments), f.pf.market,
                            f.pf.shape).signed(f.sk[vf.venue], vf.venue)


def test_an_account_renewed_for_the_next_epoch_gets_no_margin_call(vf, load_key, db_url):
    gw = make_gateway(vf, db_url, load_key)
    try:
        assert gw.submit(load_key.bundle_bytes(int(gw.issue_challenge(vf.venue, vf.epoch)["nonce"]))).status == "accepted"
        # the venue attests the same account commitment for the next epoch's parameter file
        f = vf.flow
        nxt = next_params(vf)
        gw.register_params(nxt.to_json(), "operator")
        n = int(gw.issue_challenge(vf.venue, vf.epoch + 1)["nonce"])
        cm = f.atts[0].commitment
        att = attest(f.sk[vf.venue], vf.venue, commitment=cm, epoch=nxt.epoch, params_digest=nxt.digest,
                     role=f.atts[0].role, account_ref="ab" * 16)
        st = replace(f.bundle.statement, epoch=nxt.epoch, params_digest=nxt.digest, nonce=n)
        names, values = st.public_inputs(nxt)
        b = Bundle(st, list(zip(names, values)), load_key.proof(values), load_key.fingerprint, [att])
        res = gw.submit(json.dumps(b.to_json()).encode())
        assert res.status == "accepted", res.failures
        out = gw.close_epoch({"venue": vf.venue, "epoch": vf.epoch}, vf.venue)
        assert out["margin_calls"] == 0 and out["next_epoch"] == nxt.epoch
        assert gw.account(str(cm), nxt.epoch)["status"] == "solvent"
        # closing again with the same next epoch is idempotent; with another one, a conflict
        assert gw.close_epoch({"venue": vf.venue, "epoch": vf.epoch}, vf.venue)["new"] is False
        with pytest.raises(GatewayError, match="already closed"):
            gw.close_epoch({"venue": vf.venue, "epoch": vf.epoch, "next_epoch": vf.epoch + 7}, vf.venue)
    finally:
        gw.close()


# ---------------------------------------------------------------------------------------------
# admin authentication


def test_admin_requests_must_be_signed_fresh_and_unreplayed(gw_client, vf):
    c = gw_client
    key = vf.flow.sk[vf.venue]
    path = "/v1/admin/epochs/close"
    body = json.dumps({"venue": vf.venue, "epoch": vf.epoch, "next_epoch": vf.epoch + 1}).encode()

    def post(headers):
        return c.post(path, content=body, headers={"Content-Type": "application/json", **headers})
    # unsigned
    r = post({})
    assert r.status_code == 401 and "unsigned" in r.json()["detail"]
    # signed by a key that is not the one the trust file lists for the venue
    r = post(sign_request(tr.new_key(), vf.venue, "POST", path, body, timestamp=int(c.clock())))
    assert r.status_code == 401 and "does not verify" in r.json()["detail"]
    # signed by a name the gateway does not trust
    r = post(sign_request(tr.new_key(), "Mallory", "POST", path, body, timestamp=int(c.clock())))
    assert r.status_code == 401 and "not in the gateway's trust file" in r.json()["detail"]
    # the right key, but the signature covers another body
    h = sign_request(key, vf.venue, "POST", path, b"{}", timestamp=int(c.clock()))
    assert post(h).status_code == 401
    # stale (and future) timestamps
    for dt in (-c.gw.config.admin_window_s - 5, c.gw.config.admin_window_s + 5):
        r = post(sign_request(key, vf.venue, "POST", path, body, timestamp=int(c.clock() + dt)))
        assert r.status_code == 401 and "stale" in r.json()["detail"]
    # good, then replayed verbatim: refused (the signature is remembered in the database)
    h = sign_request(key, vf.venue, "POST", path, body, timestamp=int(c.clock()))
    r = post(h)
    assert r.status_code == 200 and r.json()["closed"], r.text
    r = post(h)
    assert r.status_code == 401 and "replayed" in r.json()["detail"]
    # a venue may act only on its own epochs
    other = tr.new_key()
    c.gw.register_trust(vf.flow.trust.with_key("VenueB", tr.public_hex(other), ["params"]).to_json(), "operator")
    r = post(sign_request(other, "VenueB", "POST", path, body, timestamp=int(c.clock())))
    assert r.status_code == 403


def test_admin_replay_is_refused_after_a_restart(vf, db_url):
    gw = make_gateway(vf, db_url)
    key = vf.flow.sk[vf.venue]
    body = json.dumps(vf.flow.trust.to_json()).encode()
    h = sign_request(key, vf.venue, "POST", "/v1/admin/trust", body)
    try:
        with TestClient(create_app(gw)) as c:
            assert c.post("/v1/admin/trust", content=body, headers=h).status_code == 200
    finally:
        gw.close()
    gw = make_gateway(vf, db_url)
    try:
        with TestClient(create_app(gw)) as c:
            r = c.post("/v1/admin/trust", content=body, headers=h)
        assert r.status_code == 401 and "replayed" in r.json()["detail"]
    finally:
        gw.close()


# ---------------------------------------------------------------------------------------------
# hostile input


HOSTILE = [
    b"",
    b"not json",
    b"\xff\xfe\x00garbage",
    b"[" * 5000 + b"]" * 5000,
    b'{"format": NaN}',
    b'{"a": 1e999}',
    b'{"a": 1, "a": 2}',
    b"1" * 200,
    b'{"format": "zkmargin/solvency-bundle", "version": 1}',
    b'{"format": "zkmargin/solvency-bundle", "version": 2, "statement": {}, "public_inputs": [], '
    b'"proof": {}, "vk_fingerprint": "x", "attestations": []}',
    b'[]',
    b'"string"',
]


def test_hostile_bodies_get_a_4xx_with_a_reason(gw_client, vf, load_key):
    c = gw_client
    for body in HOSTILE:
        code, res = submit(c, body)
        assert code == 400, (body[:40], code, res)
        assert res["status"] == "rejected" and res["failures"][0]["name"] == "bundle format" and res["failures"][0]["reason"]
    # mutations of a valid bundle: every field type wrong in turn
    good = json.loads(load_key.bundle_bytes(challenge(c, vf)))
    for path in (("statement", "nonce"), ("statement", "accounts"), ("proof", "pi_a"), ("public_inputs",),
                 ("attestations",), ("statement", "shape"), ("vk_fingerprint",)):
        for bad in (None, -1, "x" * 5000, {"k": []}, [[[]]], 10 ** 90, True):
            doc = json.loads(json.dumps(good))
            tgt = doc
            for k in path[:-1]:
                tgt = tgt[k]
            tgt[path[-1]] = bad
            code, res = submit(c, doc)
            assert code in (400, 422) and res["status"] == "rejected", (path, bad, code, res)
    # a body over the limit: refused before it is read, and a lying Content-Length too
    big = b"{" + b" " * (c.gw.config.max_bundle_bytes + 10) + b"}"
    r = c.post("/v1/bundles", content=big)
    assert r.status_code == 413 and "larger than" in r.json()["detail"]
    r = c.post("/v1/bundles", content=b"{}", headers={"Content-Length": "abc"})
    assert r.status_code == 400
    # other endpoints
    for url in ("/v1/accounts/notanumber?epoch=1", "/v1/accounts/1?epoch=-5", "/v1/accounts/1",
                "/v1/epochs/xyz", "/v1/bundles/zz", "/v1/events?kind=other", "/v1/events?limit=abc"):
        r = c.get(url)
        assert 400 <= r.status_code < 500 and r.json()["detail"], (url, r.status_code, r.text)
    assert c.get("/v1/bundles/" + "0" * 32).status_code == 404
    for body in (b"{}", b'{"venue": "Venue A", "epoch": 1}', b'{"venue": "VenueA", "epoch": -1}',
                 b'{"venue": "VenueA", "epoch": 1, "x": 1}', b"[", b'{"venue": "VenueA", "epoch": 7}'):
        r = c.post("/v1/challenges", content=body)
        assert r.status_code in (400, 404) and r.json()["detail"], (body, r.status_code, r.text)
    r = c.post("/v1/challenges", content=b'{"venue": "VenueA", "epoch": 1}' + b" " * 5000)
    assert r.status_code == 413
    # nothing above was a server error
    assert "internal error" not in c.get("/metrics").text


# ---------------------------------------------------------------------------------------------
# operations: health, metrics, OpenAPI, migrations


def test_health_metrics_and_openapi(gw_client):
    c = gw_client
    h = c.get("/healthz").json()
    assert h["status"] == "ok" and h["schema_version"] == S.HEAD
    m = c.get("/metrics")
    assert m.headers["content-type"].startswith("text/plain")
    assert "# TYPE zkmargin_gateway_decision_seconds histogram" in m.text
    spec = c.get("/openapi.json").json()
    for p in ("/v1/challenges", "/v1/bundles", "/v1/accounts/{commitment}", "/v1/epochs/{epoch}",
              "/v1/epochs/{epoch}/margin-calls", "/v1/events", "/v1/admin/params", "/v1/admin/verifying-keys",
              "/v1/admin/trust", "/v1/admin/setup-records", "/v1/admin/epochs/close", "/metrics", "/healthz"):
        assert p in spec["paths"], p
    assert "requestBody" in spec["paths"]["/v1/bundles"]["post"]


def test_migrations_upgrade_an_older_database_and_refuse_a_newer_one(db_url):
    now = lambda: int(time.time() * 1000)  # noqa: E731
    eng = make_engine(db_url)
    try:
        assert S.migrate(eng, 1, now_ms=now) == [1]
        with eng.begin() as c:
            c.execute(insert(S.challenges).values(nonce="5", venue="V", epoch=1, issued_at_ms=1, expires_at_ms=2))
        assert S.migrate(eng, now_ms=now) == [2]
        assert S.migrate(eng, now_ms=now) == []
        assert S.applied_versions(eng) == [1, 2]
        with eng.connect() as c:
            assert c.execute(select(S.challenges.c.venue)).scalar() == "V"
        with eng.begin() as c:
            c.execute(insert(S.schema_migrations).values(version=99, name="from the future", applied_at_ms=1))
        with pytest.raises(Exception, match="newer than this gateway"):
            S.migrate(eng, now_ms=now)
    finally:
        eng.dispose()


def test_database_urls_are_checked():
    for bad in ("sqlite://", "sqlite:///:memory:", "mysql://x@y/z", "postgresql+psycopg2://x@y/z", "::nonsense"):
        with pytest.raises(StoreError):
            make_engine(bad)


def test_precheck_plus_pairing_is_verify_bundle(vf, load_key):
    """The split the gateway uses (precheck_bundle, then the pairing, then complete) gives the
    very report verify_bundle gives: same checks in the same order, same notes."""
    from zkmargin.solvency.bundle import precheck_bundle, verify_bundle
    from zkmargin.verifier.groth16 import verify
    f = vf.flow
    good = f.bundle
    tampered = json.loads(json.dumps(good.to_json()))
    tampered["statement"]["buffer_bps"] = 20_000
    other_shape = json.loads(json.dumps(good.to_json()))
    other_shape["statement"]["model"] = "paradex"
    cases = [(good, f.keys.vk, {}), (good, f.keys.vk, {"nonce": 7}), (good, f.keys.vk, {"allow_development": False}),
             (good, f.keys.vk, {"trust": None}), (load_key.bundle(5, bad_proof=True), load_key.vk, {"setup": load_key.record}),
             (Bundle.from_json(tampered), f.keys.vk, {}), (Bundle.from_json(other_shape), f.keys.vk, {})]
    for bundle, vk, kw in cases:
        kw = {"trust": f.trust, "setup": f.record, "nonce": 42, "epoch": f.pf.epoch, **kw}
        want = verify_bundle(bundle, vk, f.pf, **kw)
        pend = precheck_bundle(bundle, vk, f.pf, **kw)
        if pend.needs_pairing:
            res = verify(vk, pend.public_values, bundle.proof)
            got = pend.complete(res.valid, res.reason)
        else:
            got = pend.complete(False)
        assert got.to_json() == want.to_json()
        assert [c.name for c in got.checks] == [c.name for c in want.checks]
    assert verify_bundle(good, f.keys.vk, f.pf, trust=f.trust, setup=f.record, nonce=42, epoch=f.pf.epoch).valid
