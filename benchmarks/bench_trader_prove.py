"""The trader's whole `zkmargin prove` for the documented 64-slot span16 session (docs/PROTOCOL.md):
witness time against proof time, the compiled witness program against the reference build.

Session: `zkmargin samples`, `venue params book.json --market market.json --model span16
--instruments-slots 64`, `commit`, `attest sign`, then `prove` as separate processes, each run
printing "witness X s, proof Y s". Cases, in order (each a fresh process):

* cold    -- no witness cache at all: the shape is compiled once (as on a trader's first proof
             for a shape ever), then kept under $ZKMARGIN_CACHE/witness;
* new-file-- the program cached, the parameter file's static part not (a new epoch's file);
* warm    -- both cached (another portfolio or nonce under the same file), repeated --runs times;
* reference (in-process): the circuit built by the builder and checked, as before the program.

The key: by default a DEVELOPMENT-ONLY key from `venue setup` (slow the first time: the power-18
dev ptau and the setup), or with --known-tau an INSECURE key made from known secrets (fast;
benchmark only, never for anything anyone relies on). Prints the load average before and after.

Run:  .venv/bin/python benchmarks/bench_trader_prove.py [--dir DIR] [--known-tau] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def zk(*args, cwd, env, check=True):
    exe = Path(sys.executable).with_name("zkmargin")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "zkmargin.cli.entry"]
    t0, c0 = time.perf_counter(), os.times()
    res = subprocess.run(cmd + list(args), cwd=cwd, env=env, capture_output=True, text=True)
    c1 = os.times()
    if check and res.returncode:
        sys.exit(f"zkmargin {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}")
    cpu = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
    return res, time.perf_counter() - t0, cpu


def load() -> str:
    return "load %.2f %.2f %.2f" % os.getloadavg()


def session(d: Path, env, known_tau: bool) -> None:
    if (d / "att.json").exists() and (d / "keys" / "circuit.zkey").exists():
        return
    d.mkdir(parents=True, exist_ok=True)
    zk("samples", str(d), "--force", cwd=d, env=env)
    zk("attest", "keygen", "VenueA", "--out", "venue_key.json", "--trust", "trust.json", "--role", "account",
       "--role", "positions", "--role", "params", "--role", "setup", cwd=d, env=env)
    zk("venue", "params", "book.json", "--market", "market.json", "--model", "span16", "--venue", "VenueA",
       "--epoch", "20240524", "--instruments-slots", "64", "--key", "venue_key.json", "--out", "params.json",
       cwd=d, env=env)
    zk("commit", "portfolio.json", "--params", "params.json", "--out", "commitment.json", "--opening",
       "opening.json", cwd=d, env=env)
    zk("attest", "sign", "opening.json", "--params", "params.json", "--portfolio", "portfolio.json", "--epoch",
       "20240524", "--key", "venue_key.json", "--out", "att.json", cwd=d, env=env)
    (d / "keys").mkdir(exist_ok=True)
    if known_tau:
        import secrets

        from zkmargin.algebra.constants import R
        from zkmargin.formats.zkey import write_zkey
        from zkmargin.prover.known_tau import known_tau_proving_key
        from zkmargin.solvency.keys import setup_circuit
        from zkmargin.solvency.params import read_params
        pf = read_params(d / "params.json")
        r1cs = setup_circuit(pf.shape, pf.model, pf.params).cs.to_r1cs()
        print("INSECURE known-tau key (benchmark only)", flush=True)
        write_zkey(known_tau_proving_key(r1cs, *(secrets.randbelow(R - 1) + 1 for _ in range(4))),
                   d / "keys" / "circuit.zkey")
    else:
        t = time.perf_counter()
        zk("venue", "setup", "params.json", "--out-dir", "keys", "--key", "venue_key.json", "--force",
           cwd=d, env=env)
        print(f"venue setup {time.perf_counter() - t:.0f} s ({load()})", flush=True)


def prove(d: Path, env, n: int):
    out = d / f"bundle{n}.json"
    out.unlink(missing_ok=True)
    res, wall, cpu = zk("prove", "--params", "params.json", "--zkey", "keys/circuit.zkey", "--opening",
                        "opening.json", "--nonce", str(900 + n), "--buffer", "1.0", "--attestation", "att.json",
                        "--out", out.name, cwd=d, env=env)
    m = re.search(r"witness ([\d.]+) s, proof ([\d.]+) s", res.stdout)
    return float(m.group(1)), float(m.group(2)), wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", type=Path, default=None, help="session folder (kept; default a temporary one)")
    ap.add_argument("--known-tau", action="store_true", help="INSECURE fast key (benchmark only)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    d = (args.dir or Path(tempfile.mkdtemp(prefix="zkm-trader-"))).resolve()
    env = dict(os.environ)
    wcache = Path(tempfile.mkdtemp(prefix="zkm-wcache-"))
    print(load(), flush=True)
    session(d, env, args.known_tau)
    # a private witness cache (the dev keys stay in the usual cache): the cold case is real
    env_w = dict(env, ZKMARGIN_CACHE=str(wcache))
    native = Path(env.get("ZKMARGIN_CACHE") or Path.home() / ".cache" / "zkmargin") / "native"
    if native.is_dir():
        shutil.copytree(native, wcache / "native", dirs_exist_ok=True)
    rows = []
    rows.append(("cold", *prove(d, env_w, 0)))
    for f in (wcache / "witness").glob("*.static"):
        f.unlink()
    rows.append(("new-file", *prove(d, env_w, 1)))
    for k in range(args.runs):
        rows.append(("warm", *prove(d, env_w, 2 + k)))
    print(f"{'case':<10} {'witness s':>10} {'proof s':>9} {'ratio':>6} {'process wall s':>15} {'cpu s':>7}")
    for name, w, p, wall, cpu in rows:
        print(f"{name:<10} {w:>10.2f} {p:>9.2f} {w / p:>6.2f} {wall:>15.2f} {cpu:>7.2f}")
    # the reference: build + check in process
    from zkmargin.circuits.margin_circuits import MODEL_CODES, Context, build_solvency_circuit
    from zkmargin.solvency.bundle import venue_id
    from zkmargin.solvency.opening import read_opening
    from zkmargin.solvency.params import read_params
    pf, op = read_params(d / "params.json"), read_opening(d / "opening.json")
    ctx = Context(MODEL_CODES[pf.model], 10_000, venue_id(pf.venue), pf.epoch, 991)
    t, c = time.perf_counter(), time.process_time()
    circ = build_solvency_circuit(pf.shape, pf.params, [op.account], ctx)
    assert not circ.cs.check()
    circ.cs.witness_limbs()
    print(f"reference witness (build + check, in process): {time.perf_counter() - t:.2f} s wall, "
          f"{time.process_time() - c:.2f} s cpu, {len(circ.cs.constraints)} constraints")
    print(load())
    shutil.rmtree(wcache, ignore_errors=True)


if __name__ == "__main__":
    main()
