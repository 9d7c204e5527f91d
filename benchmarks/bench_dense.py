"""Dense circuits (the full B query, so the G2 MSM is not hidden): whole-process groth16 prove and
verify, zkmargin against snarkjs on the same .zkey and .wtns, interleaved runs.

The circuit (built with the Python builder, 2^k constraints in all): public p, private x, and
    w_{i+1} = (w_i + w_{i-1} + p) * (w_i + 2 w_{i-1} + x)
so every signal appears in A and in B (and in C once) -- unlike bench_prove's chain template,
which touches one wire in B. The key is made from known secrets (INSECURE, benchmark only:
fast to make, same layout as a ceremony key). Each tool runs ``--runs`` times alternately
(median reported), as whole processes: wall and CPU (user + system of the child). Prints the
ratios zkmargin/snarkjs and the load average before and after; checks each tool verifies the
other's proof.

snarkjs comes from node_modules (``npm ci --offline`` works from the npm cache, or ``make node``);
without it only zkmargin's figures are printed.  The arkworks wheel ``groth16py`` is the second
peer when its environment exists (``import_zkey`` + ``prove_wtns`` in one ``python -c``, a whole
process like the others); it is a benchmark peer, not a dependency:

    python3 -m venv bench-out/peer-venv && bench-out/peer-venv/bin/pip install groth16py

Run:  .venv/bin/python benchmarks/bench_dense.py [--sizes 14 16] [--runs 5] [--out bench-out/dense]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNARKJS = ROOT / "node_modules" / ".bin" / "snarkjs"
PEER = ROOT / "bench-out" / "peer-venv" / "bin" / "python"
_PEER_PROVE = "import sys, groth16py as g; g.prove_wtns(g.import_zkey(sys.argv[1])[0], sys.argv[2])"


def zk_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("zkmargin")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "zkmargin.cli.entry"]


def timed(cmd: list, cwd: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    c0, t0 = os.times(), time.perf_counter()
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True)
    wall, c1 = time.perf_counter() - t0, os.times()
    if res.returncode:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return wall, (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system), res


def dense_circuit(k: int, seed: int = 1):
    from zkmargin.algebra.constants import R
    from zkmargin.circuits.builder import ConstraintSystem
    from zkmargin.prover.setup import circuit_power

    rnd = random.Random(seed)
    cs = ConstraintSystem(f"dense{k}")
    p = cs.public("p", rnd.randrange(R))
    x = cs.private("x", rnd.randrange(R))
    prev, cur = cs.private("w0", rnd.randrange(R)), cs.private("w1", rnd.randrange(R))
    n_c = 2 ** k - 4                # + 1 output constraint + the 2 public rows + 1 = 2^k
    for i in range(n_c):
        prev, cur = cur, cs.mul(cur + prev + p, cur + prev * 2 + x, f"w{i + 2}")
    cs.output("out", cur)
    r1cs = cs.to_r1cs()
    assert circuit_power(len(r1cs.constraints), r1cs.n_public) == k, "domain size"
    return r1cs, cs.witness()


def build(k: int, d: Path) -> None:
    if (d / "circuit.zkey").exists():
        return
    import secrets

    from zkmargin.algebra.constants import R
    from zkmargin.formats.snarkjs_json import write_verifying_key
    from zkmargin.formats.wtns import write_wtns
    from zkmargin.formats.zkey import write_zkey
    from zkmargin.prover.groth16 import verifying_key_of
    from zkmargin.prover.known_tau import known_tau_proving_key

    d.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    r1cs, w = dense_circuit(k)
    pk = known_tau_proving_key(r1cs, *(secrets.randbelow(R - 2) + 2 for _ in range(4)))
    write_wtns(w, d / "witness.wtns")
    write_verifying_key(d / "vk.json", verifying_key_of(pk))
    write_zkey(pk, d / "circuit.zkey.tmp")
    os.replace(d / "circuit.zkey.tmp", d / "circuit.zkey")
    print(f"2^{k}: built circuit and INSECURE known-tau key in {time.perf_counter() - t:.0f} s", flush=True)


def bench(k: int, d: Path, runs: int) -> dict:
    zk, have_snarkjs = zk_cmd(), SNARKJS.exists()
    prove_zk = zk + ["groth16", "prove", "circuit.zkey", "witness.wtns", "proof_zk.json", "public_zk.json", "-q"]
    prove_sn = [SNARKJS, "groth16", "prove", "circuit.zkey", "witness.wtns", "proof_sn.json", "public_sn.json"]
    prove_ark = [PEER, "-c", _PEER_PROVE, "circuit.zkey", "witness.wtns"] if PEER.exists() else None
    out = {"zk_prove": [], "sn_prove": [], "ark_prove": [], "zk_verify": [], "sn_verify": []}
    timed(prove_zk, d)                         # warm the page cache and the native kernels
    if have_snarkjs:
        timed(prove_sn, d)
    for _ in range(runs):
        out["zk_prove"].append(timed(prove_zk, d)[:2])
        if have_snarkjs:
            out["sn_prove"].append(timed(prove_sn, d)[:2])
        if prove_ark:
            out["ark_prove"].append(timed(prove_ark, d)[:2])
        out["zk_verify"].append(timed(zk + ["groth16", "verify", "vk.json", "public_zk.json", "proof_zk.json"], d)[:2])
        if have_snarkjs:
            out["sn_verify"].append(timed([SNARKJS, "groth16", "verify", "vk.json", "public_zk.json",
                                           "proof_zk.json"], d)[:2])
    if have_snarkjs:    # each verifies the other's proof
        timed(zk + ["groth16", "verify", "vk.json", "public_sn.json", "proof_sn.json"], d)
        res = timed([SNARKJS, "groth16", "verify", "vk.json", "public_zk.json", "proof_zk.json"], d)[2]
        assert "OK" in res.stdout, res.stdout
    return {key: (statistics.median(v[0] for v in vals), statistics.median(v[1] for v in vals)) if vals else None
            for key, vals in out.items()}


def load() -> str:
    return "%.2f %.2f %.2f" % os.getloadavg()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[14, 16])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "bench-out" / "dense")
    ap.add_argument("--clean", action="store_true", help="remove the built circuits afterwards")
    args = ap.parse_args()
    print(f"load average before: {load()}  ({os.cpu_count()} cpus)", flush=True)
    if not SNARKJS.exists():
        print("snarkjs not found in node_modules (npm ci --offline, or make node): zkmargin figures only")
    rows = []
    for k in args.sizes:
        d = args.out / f"k{k}"
        build(k, d)
        rows.append((k, bench(k, d, args.runs)))
        print(f"2^{k} done (load {load()})", flush=True)
    print(f"\nmedian of {args.runs} interleaved whole-process runs; wall s / cpu s")
    print(f"{'size':<6} {'prove zkmargin':>16} {'prove snarkjs':>16} {'ratio':>12} {'prove arkworks':>16} "
          f"{'ratio':>12} {'verify zkmargin':>16} {'verify snarkjs':>16} {'ratio':>12}")

    def cell(v):
        return f"{v[0]:.2f} / {v[1]:.2f}" if v else "-"

    def ratio(a, b):
        return f"{a[0] / b[0]:.2f} / {a[1] / b[1]:.2f}" if a and b else "-"

    for k, r in rows:
        print(f"2^{k:<4} {cell(r['zk_prove']):>16} {cell(r['sn_prove']):>16} {ratio(r['zk_prove'], r['sn_prove']):>12} "
              f"{cell(r['ark_prove']):>16} {ratio(r['zk_prove'], r['ark_prove']):>12} "
              f"{cell(r['zk_verify']):>16} {cell(r['sn_verify']):>16} {ratio(r['zk_verify'], r['sn_verify']):>12}")
    print(f"load average after: {load()}")
    if args.clean:
        shutil.rmtree(args.out, ignore_errors=True)


if __name__ == "__main__":
    main()
