"""Groth16 prove / verify / batch-verify: zkmargin vs snarkjs on the same .zkey and .wtns.

For each size 2^k (default k = 14 and 16) it builds a circom2 circuit with about 2^k
multiplication constraints (``t[i+1] <== t[i]*b + i``, public b and output), computes the
witness with ``snarkjs wtns calculate``, makes the key with **our** setup tools (snarkjs needs
a prepared ptau of power k+1, which ``snarkjs powersoftau prepare phase2`` takes very long to
make for k = 16): ``zkmargin powersoftau new/contribute/prepare``, ``zkmargin groth16 setup``,
``zkmargin zkey contribute``.  Then it times, as whole processes (wall clock, best of
``--repeat``):

* ``zkmargin groth16 prove`` vs ``snarkjs groth16 prove`` (same .zkey, same .wtns), and checks
  that snarkjs verifies our proof;
* ``zkmargin groth16 verify`` vs ``snarkjs groth16 verify``;
* batch verification: proofs/s of :func:`zkmargin.verifier.batch.batch_verify` in-process and
  of ``zkmargin groth16 batchverify`` as a whole process (distinct valid proofs are made
  cheaply by re-randomising a few real ones: (t·A, t⁻¹·B, C)).

Usage:  python benchmarks/bench_prove.py [--sizes 14 16] [--repeat 3] [--batch 256]
Artifacts are cached under bench-out/groth16 (delete it to rebuild).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "node_modules" / ".bin"
OUT = ROOT / "bench-out" / "groth16"


def zk_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("zkmargin")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "zkmargin.cli.main"]


def run(cmd: list, cwd: Path, *, check: bool = True) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if check and res.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return dt, res


def best_of(n: int, cmd: list, cwd: Path) -> float:
    return min(run(cmd, cwd)[0] for _ in range(n))


CIRCUIT = """pragma circom 2.0.0;
template Chain(N) {{
    signal input a;
    signal input b;
    signal output c;
    signal t[N + 1];
    t[0] <== a;
    for (var i = 0; i < N; i++) {{
        t[i + 1] <== t[i] * b + i;
    }}
    c <== t[N];
}}
component main {{public [b]}} = Chain({n});
"""


def build(k: int, ptau: Path) -> Path:
    """Circuit, witness and key for about 2^k constraints (cached)."""
    d = OUT / f"k{k}"
    if (d / "circuit.zkey").exists() and (d / "witness.wtns").exists():
        return d
    d.mkdir(parents=True, exist_ok=True)
    n = (1 << k) - 8  # constraints + public rows fit the 2^k domain
    (d / "circuit.circom").write_text(CIRCUIT.format(n=n))
    print(f"[k={k}] circom2: {n} constraints", flush=True)
    run([BIN / "circom2", "circuit.circom", "--r1cs", "--wasm", "-o", "."], d)
    (d / "input.json").write_text(json.dumps({"a": "3", "b": str(random.randrange(2, 1 << 250))}))
    run([BIN / "snarkjs", "wtns", "calculate", "circuit_js/circuit.wasm", "input.json",
         "witness.wtns"], d)
    zk = zk_cmd()
    t, _ = run(zk + ["groth16", "setup", "circuit.r1cs", ptau, "circuit0.zkey", "--quiet"], d)
    print(f"[k={k}] zkmargin groth16 setup: {t:.1f} s", flush=True)
    t, _ = run(zk + ["zkey", "contribute", "circuit0.zkey", "circuit.zkey", "--name", "bench", "--quiet"], d)
    print(f"[k={k}] zkmargin zkey contribute: {t:.1f} s", flush=True)
    run([BIN / "snarkjs", "zkey", "export", "verificationkey", "circuit.zkey", "vk.json"], d)
    return d


def make_ptau(power: int) -> Path:
    p = OUT / f"pot{power}.ptau"
    if p.exists():
        return p
    OUT.mkdir(parents=True, exist_ok=True)
    zk = zk_cmd()
    run(zk + ["powersoftau", "new", str(power), "pot0.ptau"], OUT)
    run(zk + ["powersoftau", "contribute", "pot0.ptau", "pot1.ptau", "--name", "bench", "--quiet"], OUT)
    t, _ = run(zk + ["powersoftau", "prepare", "pot1.ptau", p.name, "--quiet"], OUT)
    print(f"zkmargin powersoftau prepare (power {power}): {t:.1f} s", flush=True)
    for f in ("pot0.ptau", "pot1.ptau"):
        (OUT / f).unlink(missing_ok=True)
    return p


def bench_size(k: int, d: Path, repeat: int) -> dict:
    zk = zk_cmd()
    snark = BIN / "snarkjs"
    # warm caches (numba kernels, page cache) once, then time
    run(zk + ["groth16", "prove", "circuit.zkey", "witness.wtns", "zk_proof.json",
              "zk_public.json", "--quiet"], d)
    t_zk = best_of(repeat, zk + ["groth16", "prove", "circuit.zkey", "witness.wtns",
                                 "zk_proof.json", "zk_public.json", "--quiet"], d)
    t_sn = best_of(repeat, [snark, "groth16", "prove", "circuit.zkey", "witness.wtns",
                            "sn_proof.json", "sn_public.json"], d)
    _, res = run([snark, "groth16", "verify", "vk.json", "zk_public.json", "zk_proof.json"], d,
                 check=False)
    snarkjs_accepts = res.returncode == 0 and "OK" in res.stdout
    v_zk = best_of(repeat, zk + ["groth16", "verify", "vk.json", "sn_public.json", "sn_proof.json"], d)
    v_sn = best_of(repeat, [snark, "groth16", "verify", "vk.json", "zk_public.json",
                            "zk_proof.json"], d)
    return {"k": k, "prove_zkmargin_s": t_zk, "prove_snarkjs_s": t_sn, "prove_ratio": t_zk / t_sn,
            "snarkjs_verifies_our_proof": snarkjs_accepts, "verify_zkmargin_s": v_zk,
            "verify_snarkjs_s": v_sn, "verify_ratio": v_zk / v_sn}


def bench_batch(d: Path, n_batch: int) -> dict:
    """Distinct valid proofs by re-randomising real ones; batch-verify them."""
    from zkmargin.algebra import R, g1_mul, g2_mul
    from zkmargin.prover.data_structures import Proof
    from zkmargin.verifier.batch import batch_verify
    from zkmargin.verifier.formats import (read_proof, read_public, read_verifying_key,
                                           write_proof, write_public)

    vk = read_verifying_key(d / "vk.json")
    base = [(read_public(d / f), read_proof(d / g)) for f, g in
            (("zk_public.json", "zk_proof.json"), ("sn_public.json", "sn_proof.json"))]
    rnd = random.Random(1)
    items = []
    for j in range(n_batch):
        pub, p = base[j % len(base)]
        t = rnd.randrange(1, R)
        items.append((pub, Proof(a=g1_mul(p.a, t), b=g2_mul(p.b, pow(t, -1, R)), c=p.c)))
    batch_verify(vk, items[:4])  # load kernels
    t0 = time.perf_counter()
    res = batch_verify(vk, items)
    dt = time.perf_counter() - t0
    assert res.valid, res.reasons
    bdir = d / "batch"
    shutil.rmtree(bdir, ignore_errors=True)
    bdir.mkdir()
    for j, (pub, p) in enumerate(items):
        write_proof(bdir / f"proof_{j}.json", p)
        write_public(bdir / f"public_{j}.json", pub)
    t_cli, out = run(zk_cmd() + ["groth16", "batchverify", "vk.json", "batch"], d)
    return {"batch_n": n_batch, "batch_inprocess_s": dt, "batch_proofs_per_s": n_batch / dt,
            "batch_cli_s": t_cli, "batch_cli_proofs_per_s": n_batch / t_cli}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[14, 16])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args()
    if not (BIN / "snarkjs").exists() or not (BIN / "circom2").exists():
        raise SystemExit("snarkjs / circom2 missing: run `make node`")
    ptau = make_ptau(max(args.sizes) + 1)
    results = []
    for k in args.sizes:
        d = build(k, ptau)
        r = bench_size(k, d, args.repeat)
        results.append(r)
        print(f"2^{k}: prove zkmargin {r['prove_zkmargin_s']:.2f} s, snarkjs "
              f"{r['prove_snarkjs_s']:.2f} s, ratio {r['prove_ratio']:.2f} "
              f"(snarkjs verifies ours: {r['snarkjs_verifies_our_proof']}); verify zkmargin "
              f"{r['verify_zkmargin_s']:.2f} s, snarkjs {r['verify_snarkjs_s']:.2f} s, "
              f"ratio {r['verify_ratio']:.2f}", flush=True)
    b = bench_batch(OUT / f"k{args.sizes[0]}", args.batch)
    print(f"batch verify {b['batch_n']} proofs: {b['batch_proofs_per_s']:.0f} proofs/s in-process, "
          f"{b['batch_cli_proofs_per_s']:.0f} proofs/s whole CLI process", flush=True)
    (OUT / "results.json").write_text(json.dumps({"sizes": results, "batch": b,
                                                  "cpus": os.cpu_count()}, indent=1))


if __name__ == "__main__":
    main()
