"""Load benchmark of the settlement gateway (localhost only, bounded).

    .venv/bin/python benchmarks/bench_gateway.py [--n 2000] [--clients 32] [--db URL] [--batch 64]

Starts ``zkmargin serve`` on a free loopback port (an embedded SQLite file in a temporary
folder unless ``--db`` names a database), issues ``--n`` challenges, then sends ``--n``
bundles -- one per nonce -- from ``--clients`` concurrent HTTP clients, and prints:

* throughput (accepted submissions per second, wall clock of the submission phase);
* client-side latency percentiles (p50, p90, p99, max) of a submission, request to answer;
* the in-process baseline: the same bundles through ``precheck_bundle`` + ``batch_verify`` in
  batches of ``--batch``, no HTTP and no database, and the ratio gateway / in-process;
* the pairing batches the gateway ran (from /metrics).

The bundles carry proofs under a key whose trapdoor the benchmark knows (tests/gateway_support.py,
``LoadKey``): a real proof costs about 1.6 s, so 2,000 distinct nonces could not each get one;
the gateway cannot tell the difference and does the same work (every check, the same pairing).
Every request has a timeout and the whole run a deadline; the server is stopped at the end.
Clients and server share the machine's cores: on 2 cores the figures are a floor.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


def in_process(vf, lk, bodies: list[bytes], batch: int) -> float:
    """Seconds per bundle for the gateway's verification work without HTTP and database."""
    from zkmargin.formats import jsonio as jio
    from zkmargin.solvency.bundle import Bundle, precheck_bundle
    from zkmargin.verifier.batch import batch_verify
    from zkmargin.verifier.groth16 import prepare_verifying_key
    pvk = prepare_verifying_key(lk.vk)
    batch_verify(pvk, [(lk.bundle(1).public_values(), lk.bundle(1).proof)] * 2)   # warm the kernels
    f = vf.flow
    t = time.perf_counter()
    for k in range(0, len(bodies), batch):
        items = []
        for body in bodies[k:k + batch]:
            b = Bundle.from_json(jio.loads_strict(body, "bundle"))
            pend = precheck_bundle(b, lk.vk, f.pf, trust=f.trust, setup=lk.record, nonce=b.statement.nonce,
                                   venue=f.pf.venue, epoch=f.pf.epoch, vk_fp=lk.fingerprint)
            assert not pend.report.failures, pend.report.failures
            items.append((pend.public_values, b.proof))
        assert batch_verify(pvk, items).valid
    return (time.perf_counter() - t) / len(bodies)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--db", default=None, help="database URL (default: SQLite in a temporary folder)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--batch-wait-ms", type=float, default=10.0)
    ap.add_argument("--baseline", type=int, default=512, help="bundles for the in-process baseline")
    ap.add_argument("--deadline", type=float, default=1200.0, help="seconds for the whole load phase")
    args = ap.parse_args(argv)
    if not (1 <= args.n <= 20_000 and 1 <= args.clients <= 256):
        ap.error("--n must be 1..20000 and --clients 1..256")

    import httpx
    from gateway_support import LoadKey, ServerProcess, venue_files

    from zkmargin.formats import jsonio as jio

    tmp = Path(tempfile.mkdtemp(prefix="zkm-bench-gw-"))
    print(f"setting up a venue in {tmp} ...", flush=True)
    vf = venue_files(tmp / "venue")
    lk = LoadKey(vf.flow)
    jio.write_json(vf.dir / "load_vk.json", lk.vk_json())
    jio.write_json(vf.dir / "load_setup.json", lk.record_json())
    db = args.db or f"sqlite:///{tmp / 'gateway.db'}"
    srv = ServerProcess(vf, db, tmp / "server.log", extra=["--vk", "load_vk.json", "--setup", "load_setup.json",
                                                            "--batch", str(args.batch),
                                                            "--batch-wait-ms", str(args.batch_wait_ms)])
    srv.start()
    try:
        t = time.perf_counter()
        nonces: list[str] = []
        lock = threading.Lock()

        def issue(k):
            with httpx.Client(timeout=30) as c:
                for _ in range(k):
                    r = c.post(srv.url + "/v1/challenges", json={"venue": vf.venue, "epoch": vf.epoch})
                    r.raise_for_status()
                    with lock:
                        nonces.append(r.json()["nonce"])
        per = [args.n // 8 + (1 if k < args.n % 8 else 0) for k in range(8)]
        ths = [threading.Thread(target=issue, args=(k,)) for k in per]
        [th.start() for th in ths]
        [th.join(300) for th in ths]
        t_chal = time.perf_counter() - t
        print(f"{len(nonces)} challenges in {t_chal:.1f} s ({len(nonces) / t_chal:.0f}/s, 8 clients)", flush=True)
        print("making the bundles ...", flush=True)
        bodies = [lk.bundle_bytes(int(n)) for n in nonces]

        lat: list[float] = []
        outcomes: dict[str, int] = {}
        deadline = time.monotonic() + args.deadline

        def client(mine):
            with httpx.Client(timeout=120) as c:
                for body in mine:
                    if time.monotonic() > deadline:
                        return
                    t0 = time.perf_counter()
                    r = c.post(srv.url + "/v1/bundles", content=body, headers={"Content-Type": "application/json"})
                    dt = time.perf_counter() - t0
                    st = r.json().get("status", str(r.status_code))
                    with lock:
                        lat.append(dt)
                        outcomes[st] = outcomes.get(st, 0) + 1
        chunks = [bodies[k::args.clients] for k in range(args.clients)]
        ths = [threading.Thread(target=client, args=(ch,)) for ch in chunks]
        t = time.perf_counter()
        [th.start() for th in ths]
        [th.join(args.deadline + 60) for th in ths]
        wall = time.perf_counter() - t
        metrics = httpx.get(srv.url + "/metrics", timeout=30).text
    finally:
        srv.stop()

    acc = outcomes.get("accepted", 0)
    thr = acc / wall
    mline = {ln.split()[0]: float(ln.split()[1]) for ln in metrics.splitlines()
             if ln.startswith("zkmargin_gateway_pairing")}
    print("measuring the in-process baseline ...", flush=True)
    per_bundle = in_process(vf, lk, bodies[:args.baseline], args.batch)
    base = 1 / per_bundle
    out = {"submissions": len(lat), "clients": args.clients, "database": db.split(":")[0],
           "outcomes": outcomes, "wall_s": round(wall, 2), "throughput_per_s": round(thr, 1),
           "latency_ms": {k: round(1000 * pct(lat, p), 1) for k, p in (("p50", 50), ("p90", 90), ("p99", 99))}
           | {"max": round(1000 * max(lat), 1), "mean": round(1000 * statistics.fmean(lat), 1)},
           "pairing_batches": int(mline.get("zkmargin_gateway_pairing_batches_total", 0)),
           "mean_batch": mline.get("zkmargin_gateway_pairing_batch_size_mean"),
           "in_process_per_s": round(base, 1), "ratio_gateway_to_in_process": round(thr / base, 3)}
    print(json.dumps(out, indent=1))
    print(f"\n{len(lat)} submissions from {args.clients} clients on {out['database']}: {thr:.1f} accepted/s, "
          f"p50 {out['latency_ms']['p50']} ms, p99 {out['latency_ms']['p99']} ms; in-process batch "
          f"verification {base:.1f}/s; gateway / in-process = {thr / base:.2f}")
    return 0 if acc == len(bodies) else 1


if __name__ == "__main__":
    raise SystemExit(main())
