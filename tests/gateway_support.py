"""What the gateway tests and benchmarks share: a venue's files, real proofs, a PostgreSQL URL,
a gateway server in a subprocess, and -- for load only -- a key with a known trapdoor.

* :func:`venue_files` builds one honest session (:func:`solvency_flow.make_flow`) and writes the
  files a venue starts ``zkmargin serve`` with: params.json, verification_key.json, trust.json,
  setup.json, venue_key.json.
* :func:`prove_for` makes a real Groth16 proof of the session's accounts for a gateway nonce
  (about 1.6 s on 2 cores).
* :class:`LoadKey` is for load and crash runs, where thousands of distinct nonces each need a
  proof: a verifying key of the session's shape made from random scalars this process knows
  (alpha, beta, gamma, delta and every IC point), so it can write a valid proof for any public
  vector in a few milliseconds, with a setup record for it signed by the venue. The gateway
  cannot tell such a key from a real one -- it runs every check and the same pairing on each
  bundle -- which is exactly why a trapdoor-known key must never be trusted outside a test.
* :class:`ServerProcess` runs ``zkmargin serve`` in a subprocess on a free loopback port.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from solvency_flow import EPOCH, make_flow  # noqa: E402

from zkmargin.algebra import G1_GEN, G2_GEN, R, g1_mul, g2_mul  # noqa: E402
from zkmargin.formats import jsonio as jio  # noqa: E402
from zkmargin.formats.data_structures import Proof, VerifyingKey  # noqa: E402
from zkmargin.formats.snarkjs_json import verifying_key_to_json, write_verifying_key  # noqa: E402
from zkmargin.solvency import trust as tr  # noqa: E402
from zkmargin.solvency.bundle import Bundle  # noqa: E402
from zkmargin.solvency.keys import vk_fingerprint, write_setup_record  # noqa: E402
from zkmargin.solvency.params import write_params  # noqa: E402
from zkmargin.solvency.prove import prove_solvency  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
PG_ENV = "ZKMARGIN_TEST_PG_URL"


@dataclass
class VenueFiles:
    flow: object
    dir: Path
    params: Path
    vk: Path
    trust: Path
    setup: Path
    key: Path

    @property
    def venue(self) -> str:
        return self.flow.pf.venue

    @property
    def epoch(self) -> int:
        return self.flow.pf.epoch

    def serve_args(self) -> list[str]:
        return ["--params", str(self.params), "--vk", str(self.vk), "--trust", str(self.trust),
                "--setup", str(self.setup)]


def venue_files(tmp: Path, **flow_kw) -> VenueFiles:
    tmp.mkdir(parents=True, exist_ok=True)
    f = make_flow(tmp, **flow_kw)
    venue = f.pf.venue
    files = VenueFiles(f, tmp, tmp / "params.json", tmp / "verification_key.json", tmp / "trust.json",
                       tmp / "setup.json", tmp / "venue_key.json")
    write_params(f.pf, files.params)
    write_verifying_key(files.vk, f.keys.vk)
    tr.write_trust(files.trust, f.trust)
    write_setup_record(f.record, files.setup)
    tr.write_private_key(files.key, venue, f.sk[venue], force=True)
    return files


def prove_for(flow, nonce: int, *, buffer_bps: int = 10_000) -> Bundle:
    bundle, _ = prove_solvency(flow.pf, flow.keys.pk, flow.ops, nonce=int(nonce), buffer_bps=buffer_bps,
                               attestations=flow.atts, vk=flow.keys.vk)
    return bundle


def bundle_doc(bundle: Bundle) -> dict:
    return json.loads(json.dumps(bundle.to_json()))


class LoadKey:
    """A verifying key whose trapdoor this object knows (module docstring). Test and benchmark
    use only."""

    def __init__(self, flow):
        self.flow = flow
        n = flow.keys.vk.n_public
        rnd = [secrets.randbelow(R - 1) + 1 for _ in range(n + 5)]
        self.alpha, self.beta, self.gamma, self.delta, self.s = rnd[0], rnd[1], rnd[2], rnd[3], rnd[4:]
        self.vk = VerifyingKey(g1_mul(G1_GEN, self.alpha), g2_mul(G2_GEN, self.beta), g2_mul(G2_GEN, self.gamma),
                               g2_mul(G2_GEN, self.delta), [g1_mul(G1_GEN, s) for s in self.s])
        self.fingerprint = vk_fingerprint(self.vk)
        venue = flow.pf.venue
        self.record = replace(flow.record, vk_fingerprint=self.fingerprint, signature=None).signed(flow.sk[venue], venue)
        self._delta_inv = pow(self.delta, -1, R)

    def vk_json(self) -> dict:
        return verifying_key_to_json(self.vk)

    def record_json(self) -> dict:
        return self.record.to_json()

    def proof(self, values) -> Proof:
        """A proof that verifies under :attr:`vk` for the public vector ``values``."""
        a = secrets.randbelow(R - 1) + 1
        x = [1, *values]
        lin = sum(xi * si for xi, si in zip(x, self.s)) % R
        c = (a - self.alpha * self.beta - self.gamma * lin) * self._delta_inv % R
        return Proof(g1_mul(G1_GEN, a), G2_GEN, g1_mul(G1_GEN, c))

    def bundle(self, nonce: int, *, bad_proof: bool = False) -> Bundle:
        f = self.flow
        st = replace(f.bundle.statement, nonce=int(nonce))
        names, values = st.public_inputs(f.pf)
        proof = self.proof(values)
        if bad_proof:
            proof = Proof(proof.a, proof.b, g1_mul(proof.c, 2))
        return Bundle(st, list(zip(names, values)), proof, self.fingerprint, list(f.atts))

    def bundle_bytes(self, nonce: int, **kw) -> bytes:
        return json.dumps(self.bundle(nonce, **kw).to_json()).encode()


# ---------------------------------------------------------------------------------------------
# servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``zkmargin serve`` in a subprocess (its output in ``log``)."""

    def __init__(self, files: VenueFiles, db_url: str, log: Path, *, extra=(), port: Optional[int] = None):
        self.files, self.db_url, self.log_path, self.extra = files, db_url, log, list(extra)
        self.port = port or free_port()
        self.proc: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 240.0) -> "ServerProcess":
        import httpx
        db = ["--db", self.db_url] if self.db_url else []       # None: the embedded default
        cmd = [sys.executable, "-m", "zkmargin.cli.main", "serve", *self.files.serve_args(), *db,
               "--port", str(self.port), "--log-level", "warning", *self.extra]
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, cwd=self.files.dir,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gateway did not come up in {timeout:g} s:\n{self.log_text()[-3000:]}")

    def kill9(self) -> None:
        """SIGKILL the server and its pairing process (its own process group)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill9()
        if getattr(self, "_log", None):
            self._log.close()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def pg_url_or_skip() -> str:
    import pytest
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"no PostgreSQL server: set {PG_ENV}=postgresql+psycopg://USER@HOST:PORT/DB "
                    "(.ci/run starts one and sets it)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'zkmargin[postgres]')")
    return url


def fresh_pg_database(url: str, name_hint: str) -> str:
    """A new, empty database on the server of ``url`` (each test gets its own)."""
    import pytest
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    base = make_url(url)
    name = f"zkm_{name_hint}_{secrets.token_hex(4)}".lower()
    eng = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:  # the server refused: a clear skip, not a failure of the gateway
        pytest.skip(f"cannot create a database on the PostgreSQL server at {PG_ENV}: {type(e).__name__}: {e}")
    finally:
        eng.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


__all__ = ["EPOCH", "VenueFiles", "venue_files", "prove_for", "bundle_doc", "LoadKey", "ServerProcess",
           "free_port", "pg_url_or_skip", "fresh_pg_database", "REPO_ROOT", "PG_ENV", "jio"]
