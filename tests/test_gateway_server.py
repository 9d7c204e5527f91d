"""The gateway as a real server (``zkmargin serve`` in a subprocess, uvicorn on loopback), on
SQLite and on a real PostgreSQL: the replay race, a kill -9 in the middle of a load, and the
command-line client.

Load bundles carry proofs under a trapdoor-known key (:class:`gateway_support.LoadKey`):
thousands of nonces cannot each get a 1.6 s real proof, and the gateway verifies them exactly
as it verifies real ones. The CLI test uses a real proof.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from gateway_support import LoadKey, ServerProcess, fresh_pg_database, pg_url_or_skip, prove_for, venue_files
from sqlalchemy import func, select

from zkmargin.formats import jsonio as jio
from zkmargin.service import schema as S
from zkmargin.service.client import GatewayClient
from zkmargin.service.store import make_engine
from zkmargin.solvency.params import make_params_file, write_params


@pytest.fixture(scope="module")
def vf(tmp_path_factory):
    files = venue_files(tmp_path_factory.mktemp("gateway-server"))
    lk = LoadKey(files.flow)
    jio.write_json(files.dir / "load_vk.json", lk.vk_json())
    jio.write_json(files.dir / "load_setup.json", lk.record_json())
    files.load_key = lk
    return files


LOAD_ARGS = ["--vk", "load_vk.json", "--setup", "load_setup.json"]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gateway.db'}"
    return fresh_pg_database(pg_url_or_skip(), "s")


def post_all(url: str, bodies: list[bytes], workers: int) -> list:
    """POST every body at once from ``workers`` clients (a barrier releases them together)."""
    barrier = threading.Barrier(min(workers, len(bodies)))

    def one(body):
        with httpx.Client(timeout=120) as c:
            try:
                barrier.wait(timeout=60)
            except threading.BrokenBarrierError:
                pass
            r = c.post(url + "/v1/bundles", content=body, headers={"Content-Type": "application/json"})
            return r.status_code, r.json()
    with ThreadPoolExecutor(workers) as ex:
        return list(ex.map(one, bodies))


def test_same_nonce_from_many_clients_is_accepted_exactly_once(vf, db_url, tmp_path):
    lk = vf.load_key
    with ServerProcess(vf, db_url, tmp_path / "server.log", extra=LOAD_ARGS) as srv, GatewayClient(srv.url) as gc:
        # 24 different valid bundles for one nonce, at once
        n = int(gc.challenge(vf.venue, vf.epoch)["nonce"])
        out = post_all(srv.url, [lk.bundle_bytes(n) for _ in range(24)], 24)
        accepted = [res for code, res in out if res["status"] == "accepted"]
        assert len(accepted) == 1 and not accepted[0]["duplicate"]
        rejected = [res for code, res in out if res["status"] == "rejected"]
        assert len(rejected) == 23
        assert all({f["name"] for f in r["failures"]} == {"gateway nonce"} for r in rejected)
        # one identical bundle from 16 clients at once: one acceptance, every answer names it
        n2 = int(gc.challenge(vf.venue, vf.epoch)["nonce"])
        body = lk.bundle_bytes(n2)
        out = post_all(srv.url, [body] * 16, 16)
        assert all(res["status"] == "accepted" for _, res in out)
        assert len({res["id"] for _, res in out}) == 1
        assert sum(1 for _, res in out if not res["duplicate"]) == 1
    eng = make_engine(db_url)
    try:
        with eng.connect() as c:
            per_nonce = dict(c.execute(select(S.submissions.c.nonce, func.count()).where(
                S.submissions.c.status == "accepted").group_by(S.submissions.c.nonce)).all())
            assert per_nonce == {str(n): 1, str(n2): 1}
            assert c.execute(select(func.count()).select_from(S.acceptances)).scalar() == 2
    finally:
        eng.dispose()


def test_kill9_in_the_middle_of_a_load_loses_no_acknowledged_acceptance(vf, db_url, tmp_path):
    lk = vf.load_key
    srv = ServerProcess(vf, db_url, tmp_path / "server.log", extra=LOAD_ARGS).start()
    acked: dict[str, tuple[str, bytes]] = {}      # nonce -> (id, body), answered "accepted"
    sent: dict[str, bytes] = {}
    lock = threading.Lock()
    kill_after = 60
    killed = threading.Event()
    problems: list = []
    try:
        with GatewayClient(srv.url) as gc:
            nonces = [gc.challenge(vf.venue, vf.epoch)["nonce"] for _ in range(300)]
        bodies = {nc: lk.bundle_bytes(int(nc)) for nc in nonces}

        def worker(mine):
            with httpx.Client(timeout=60) as c:
                for nc in mine:
                    if killed.is_set():
                        return
                    with lock:
                        sent[nc] = bodies[nc]
                    try:
                        r = c.post(srv.url + "/v1/bundles", content=bodies[nc])
                    except httpx.HTTPError:
                        return                          # the server is gone
                    res = r.json()
                    if res.get("status") != "accepted":
                        problems.append(res)
                        continue
                    with lock:
                        acked[nc] = (res["id"], bodies[nc])
                        if len(acked) >= kill_after and not killed.is_set():
                            killed.set()
                            srv.kill9()               # mid-load: other requests are in flight
        threads = [threading.Thread(target=worker, args=(nonces[k::16],)) for k in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert not problems, problems[:3]
        assert killed.is_set() and srv.proc.returncode == -9
        assert len(acked) >= kill_after and len(sent) < len(nonces)
    finally:
        srv.stop()

    # restart on the same database
    srv2 = ServerProcess(vf, db_url, tmp_path / "server2.log", extra=LOAD_ARGS)
    with srv2:
        eng = make_engine(db_url)
        try:
            with eng.connect() as c:
                subs = {r.id: r for r in c.execute(select(S.submissions))}
                accs = {r.nonce: r for r in c.execute(select(S.acceptances))}
                used = {r.nonce: r.used_by for r in c.execute(select(S.challenges)) if r.used_by is not None}
                accounts = {r.submission_id for r in c.execute(select(S.account_proofs))}
        finally:
            eng.dispose()
        # every acknowledged acceptance is there, as answered
        for nc, (sid, _) in acked.items():
            assert nc in accs and accs[nc].submission_id == sid
            assert subs[sid].status == "accepted" and subs[sid].nonce == nc
        # no nonce accepted twice, no half-written acceptance
        accepted = [s for s in subs.values() if s.status == "accepted"]
        assert len({s.nonce for s in accepted}) == len(accepted) == len(accs)
        for nc, a in accs.items():
            s = subs[a.submission_id]
            assert s.status == "accepted" and s.document and s.nonce == nc and s.bundle_sha256 == a.bundle_sha256
            assert used.get(nc) == a.submission_id and a.submission_id in accounts
        assert set(used) == set(accs)
        print(f"\nkill -9 after {len(acked)} acknowledged acceptances ({len(sent)} of {len(nonces)} bundles sent); "
              f"after the restart the database holds {len(accs)} acceptances, "
              f"{len(accs) - len(acked)} of them committed but not yet answered at the kill")
        # after the restart: acknowledged bundles are duplicates of their acceptance; the ones in
        # flight at the kill are either duplicates (committed, unanswered) or accepted now
        with GatewayClient(srv2.url) as gc:
            for nc, (sid, body) in acked.items():
                res = gc.submit(body)
                assert res["status"] == "accepted" and res["duplicate"] and res["id"] == sid
            for nc in set(sent) - set(acked):
                res = gc.submit(sent[nc])
                assert res["status"] == "accepted"
                assert res["duplicate"] == (nc in accs)
            # and a different bundle for an acknowledged nonce is a replay
            nc = next(iter(acked))
            res = gc.submit(lk.bundle_bytes(int(nc)))
            assert res["status"] == "rejected" and res["failures"][0]["name"] == "gateway nonce"


def zk(*args, cwd, timeout=120):
    return subprocess.run([sys.executable, "-m", "zkmargin.cli.main", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def test_cli_challenge_submit_and_admin(vf, tmp_path):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    with ServerProcess(vf, db, tmp_path / "server.log") as srv:
        r = zk("challenge", "--gateway", srv.url, "--venue", vf.venue, "--epoch", vf.epoch, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        nonce = int(r.stdout.strip())
        bundle = prove_for(vf.flow, nonce)
        path = tmp_path / "bundle.json"
        jio.write_json(path, bundle.to_json())
        r = zk("submit", path, "--gateway", srv.url, cwd=tmp_path)
        assert r.returncode == 0 and r.stdout.startswith("ACCEPTED: submission "), (r.stdout, r.stderr)
        r2 = zk("submit", path, "--gateway", srv.url, cwd=tmp_path)
        assert r2.returncode == 0 and "already accepted" in r2.stdout
        doc = json.loads(path.read_text())
        doc["statement"]["buffer_bps"] = 15_000
        jio.write_json(tmp_path / "edited.json", doc)
        r = zk("submit", tmp_path / "edited.json", "--gateway", srv.url, cwd=tmp_path)
        assert r.returncode == 1 and r.stdout.startswith("REJECTED: ") and "gateway nonce" in r.stdout
        cm = bundle.statement.accounts[0][0]
        r = zk("gateway", "account", cm, "--epoch", vf.epoch, "--gateway", srv.url, cwd=tmp_path)
        assert r.returncode == 0 and json.loads(r.stdout)["status"] == "solvent"
        # the venue publishes the next epoch's parameter file, then closes this epoch
        f = vf.flow
        nxt = make_params_file(vf.venue, vf.epoch + 1, f.pf.model, list(f.pf.instruments), f.pf.market,
                               f.pf.shape).signed(f.sk[vf.venue], vf.venue)
        write_params(nxt, tmp_path / "params_next.json")
        r = zk("gateway", "register", "params", tmp_path / "params_next.json", "--key", vf.key, "--gateway", srv.url,
               cwd=tmp_path)
        assert r.returncode == 0 and json.loads(r.stdout)["epoch"] == vf.epoch + 1, (r.stdout, r.stderr)
        r = zk("gateway", "register", "params", tmp_path / "params_next.json", "--key", tmp_path / "missing_key.json",
               "--gateway", srv.url, cwd=tmp_path)
        assert r.returncode == 2
        r = zk("gateway", "close-epoch", "--venue", vf.venue, "--epoch", vf.epoch,
               "--key", vf.key, "--gateway", srv.url, cwd=tmp_path)
        assert r.returncode == 0 and f"(next {vf.epoch + 1}): 1 margin call(s)" in r.stdout, (r.stdout, r.stderr)
        assert f"margin call: commitment {cm}" in r.stdout
        # bad input and an unreachable gateway: one line, exit 2
        r = zk("submit", tmp_path / "missing.json", "--gateway", srv.url, cwd=tmp_path)
        assert r.returncode == 2 and r.stderr.startswith("error: ")
    r = zk("challenge", "--gateway", srv.url, "--venue", vf.venue, "--epoch", vf.epoch, cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr
    # nothing secret in the server's log
    log = (tmp_path / "server.log").read_text()
    assert vf.flow.sk[vf.venue].private_bytes_raw().hex() not in log
    assert str(vf.flow.ops[0].account.salt) not in log


def test_serve_defaults_to_an_embedded_database_and_times_out_slow_bodies(vf, tmp_path):
    import socket
    import time
    db_file = vf.dir / "zkmargin-gateway.db"
    if db_file.exists():
        db_file.unlink()
    with ServerProcess(vf, None, tmp_path / "server.log", extra=["--body-timeout", "1"]) as srv:
        assert GatewayClient(srv.url).health()["database"] == "sqlite"
        assert db_file.exists()
        # a client that announces a body and never sends it gets a 408, and the server goes on
        with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as s:
            s.sendall(b"POST /v1/bundles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 1000\r\n\r\n{")
            t = time.monotonic()
            answer = b""
            while b"\r\n\r\n" not in answer and time.monotonic() - t < 30:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert GatewayClient(srv.url).health()["status"] == "ok"
