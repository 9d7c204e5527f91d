"""Groth16 prove / verify / batch-verify: zkmargin vs snarkjs on the same .zkey and .wtns.

For each size 2^k (default k = 14 and 16) it builds a circom2 circuit with about 2^k
multiplication constraints (``t[i+1] <== t[i]*b + i``, public b and output), computes the
witness with ``snarkjs wtns calculate``, makes the key with **our** setup tools (snarkjs needs
a prepared ptau of power k+1, which ``snarkjs powersoftau prepare phase2`` takes very long to
make for k = 16): ``zkmargin powersoftau new/contribute/prepare``, ``zkmargin groth16 setup``,
``zkmargin zkey contribute``.  Then it times, as whole processes (wall clock, best of
``--repeat``):

* ``zkmargin groth16 prove`` vs ``snarkjs groth16 prove`` (same .zkey, same .wtns), and checks
  that snarkjs verifies our proof; our prover also once more with ``ZKMARGIN_KERNELS=jit``
  (numba's JIT kernels and start-up instead of the native module);
* ``zkmargin groth16 verify`` vs ``snarkjs groth16 verify``;
* batch verification: proofs/s of :func:`zkmargin.verifier.batch.batch_verify` in-process and
  of ``zkmargin groth16 batchverify`` as a whole process (distinct valid proofs are made
  cheaply by re-randomising a few real ones: (t·A, t⁻¹·B, C)).

Before those, for each size: the whole-process ``groth16 prove``'s fixed start-up CPU (its CPU
minus a warm in-process ``prove``, and minus its own ``prove`` call in the same run) against
bare Python and Python + numpy, and its peak RSS against the .zkey's size, each beside
``snarkjs groth16 prove``'s whole-process CPU and peak RSS on the same files (CPU and RSS from
each child's own rusage; zkmargin's children run with the bytecode cache on).

Usage:  python benchmarks/bench_prove.py [--sizes 14 16] [--repeat 3] [--batch 256] [--startup-only]
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


def run(cmd: list, cwd: Path, *, check: bool = True,
        env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                         env=None if env is None else {**os.environ, **env})
    dt = time.perf_counter() - t0
    if check and res.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return dt, res


def best_of(n: int, cmd: list, cwd: Path, env: dict | None = None) -> float:
    return min(run(cmd, cwd, env=env)[0] for _ in range(n))


def best_of_alternating(n: int, cmd_a: list, cmd_b: list, cwd: Path) -> tuple[float, float]:
    """Best of n whole-process runs of each command, run alternately (a, b, a, b, ...) so
    that a change in machine load hits both alike (short commands, such as verify)."""
    ta, tb = [], []
    for _ in range(n):
        ta.append(run(cmd_a, cwd)[0])
        tb.append(run(cmd_b, cwd)[0])
    return min(ta), min(tb)


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


def build(k: int, ptau: Path | None) -> Path:
    """Circuit, witness and key for about 2^k constraints (cached).  Without ``ptau`` the
    key comes from :func:`dev_key_known_tau`."""
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
    if ptau is None:
        t0 = time.perf_counter()
        dev_key_known_tau(d / "circuit.r1cs", d / "circuit.zkey")
        print(f"[k={k}] known-tau dev key (insecure, benchmark only): "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
    else:
        t, _ = run(zk + ["groth16", "setup", "circuit.r1cs", ptau, "circuit0.zkey", "--quiet"], d)
        print(f"[k={k}] zkmargin groth16 setup: {t:.1f} s", flush=True)
        t, _ = run(zk + ["zkey", "contribute", "circuit0.zkey", "circuit.zkey", "--name", "bench",
                         "--quiet"], d)
        print(f"[k={k}] zkmargin zkey contribute: {t:.1f} s", flush=True)
    run([BIN / "snarkjs", "zkey", "export", "verificationkey", "circuit.zkey", "vk.json"], d)
    return d


def dev_key_known_tau(r1cs_path: Path, zkey_path: Path, seed: int = 1) -> None:
    """An INSECURE proving key from known toxic waste (benchmark only: anyone who knows the
    seed can forge proofs).  Same layout as ``snarkjs groth16 setup`` + one contribution,
    made directly with fixed-base multiplications instead of a prepared ptau of power k+1
    (which takes tens of minutes to prepare on these machines).  Provers' work does not
    depend on where the key came from."""
    from zkmargin.algebra import R
    from zkmargin.formats.r1cs import read_r1cs
    from zkmargin.formats.zkey import write_zkey
    from zkmargin.prover.known_tau import known_tau_proving_key

    rnd = random.Random(seed)
    tau, alpha, beta, delta = (rnd.randrange(2, R) for _ in range(4))
    pk = known_tau_proving_key(read_r1cs(r1cs_path), tau, alpha, beta, delta)
    write_zkey(pk, zkey_path)


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
    # the same prover on the JIT kernels (numba start-up included), for comparison
    jit = {"ZKMARGIN_KERNELS": "jit"}
    run(zk + ["groth16", "prove", "circuit.zkey", "witness.wtns", "zk_proof.json",
              "zk_public.json", "--quiet"], d, env=jit)
    t_jit = best_of(repeat, zk + ["groth16", "prove", "circuit.zkey", "witness.wtns",
                                  "zk_proof.json", "zk_public.json", "--quiet"], d, env=jit)
    _, res = run([snark, "groth16", "verify", "vk.json", "zk_public.json", "zk_proof.json"], d,
                 check=False)
    snarkjs_accepts = res.returncode == 0 and "OK" in res.stdout
    # one-shot verification: pure Python on our side (no numba start-up), best of >= 5
    v_zk, v_sn = best_of_alternating(
        max(repeat, 5), zk + ["groth16", "verify", "vk.json", "sn_public.json", "sn_proof.json"],
        [snark, "groth16", "verify", "vk.json", "zk_public.json", "zk_proof.json"], d)
    return {"k": k, "prove_zkmargin_s": t_zk, "prove_snarkjs_s": t_sn, "prove_ratio": t_zk / t_sn,
            "prove_zkmargin_jit_s": t_jit,
            "snarkjs_verifies_our_proof": snarkjs_accepts, "verify_zkmargin_s": v_zk,
            "verify_snarkjs_s": v_sn, "verify_ratio": v_zk / v_sn}


#: Runs argv[1:] and prints its CPU seconds and peak RSS (KiB) from its own rusage.  A small
#: launcher process: a child's peak RSS includes the memory of the process it was forked from
#: (Linux keeps the high-water mark across exec), so forking straight from this benchmark,
#: which holds keys, would inflate it.
_LAUNCHER = """import os, subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, ru = os.wait4(p.pid, 0)
p.returncode = os.waitstatus_to_exitcode(status)
print(p.returncode, ru.ru_utime + ru.ru_stime, ru.ru_maxrss)
"""


def child_usage(cmd: list, cwd: Path, env: dict | None = None) -> tuple[float, int]:
    """(CPU seconds, user + system, and peak RSS in bytes) of one whole process running
    ``cmd``, from its own rusage (``os.wait4`` in a small launcher, see ``_LAUNCHER``)."""
    _, res = run([sys.executable, "-c", _LAUNCHER, *cmd], cwd, env=env)
    code, cpu, rss_kib = res.stdout.split()
    if int(code) != 0:
        run(cmd, cwd, env=env)          # rerun to show what failed
        raise SystemExit(f"failed ({code}): {' '.join(map(str, cmd))}")
    return float(cpu), int(rss_kib) * 1024


def best_usage(n: int, cmd: list, cwd: Path, env: dict | None = None) -> tuple[float, int]:
    """Least CPU and least peak RSS over ``n`` runs (after one warm-up run)."""
    child_usage(cmd, cwd, env)
    runs = [child_usage(cmd, cwd, env) for _ in range(n)]
    return min(c for c, _ in runs), min(m for _, m in runs)


def inprocess_prove_cpu(d: Path, n: int) -> float:
    """CPU seconds of one warm ``prove`` call in this process (best of ``n``): the part of a
    whole-process prove that is not start-up."""
    from zkmargin.formats.wtns import read_wtns_limbs
    from zkmargin.formats.zkey import read_zkey
    from zkmargin.prover.groth16 import prove

    pk = read_zkey(d / "circuit.zkey", check_points=False)
    w = read_wtns_limbs(d / "witness.wtns")
    prove(pk, w)
    best = float("inf")
    for _ in range(n):
        t0 = time.process_time()
        prove(pk, w)
        best = min(best, time.process_time() - t0)
    return best


#: The lean ``zkmargin`` entry point with its ``prove`` call timed: writes that call's CPU
#: seconds to argv[1], runs argv[2:] (so whole-process CPU minus it is the start-up and the
#: reading and writing around the prover, measured in one run: no prove-to-prove noise).
_TIMED_ENTRY = """import sys, time
import zkmargin.prover.groth16 as g
from zkmargin.cli import entry
inner, spent = g.prove, [0.0]
def timed(*a, **k):
    t0 = time.process_time()
    try:
        return inner(*a, **k)
    finally:
        spent[0] += time.process_time() - t0
g.prove = timed
try:
    entry.main(sys.argv[2:])
finally:
    open(sys.argv[1], "w").write(repr(spent[0]))
"""


def fixed_cpu(n: int, args: list, cwd: Path, env: dict) -> tuple[float, float]:
    """(least whole-process CPU minus its own prove call's CPU, and that prove call's CPU in
    the same run) over ``n`` runs of the timed entry point."""
    out = cwd / "prove_cpu.txt"
    best = (float("inf"), 0.0)
    for _ in range(n + 1):
        whole, _ = child_usage([sys.executable, "-c", _TIMED_ENTRY, out, *args], cwd, env)
        inner = float(out.read_text())
        best = min(best, (whole - inner, inner))
    return best


#: children run with the bytecode cache on, as an installed package has it (with
#: PYTHONDONTWRITEBYTECODE set every start would recompile zkmargin's modules)
_PYC_ENV = {"PYTHONDONTWRITEBYTECODE": ""}


def bench_startup(k: int, d: Path, repeat: int, snarkjs: bool = True) -> dict:
    """Whole-process ``groth16 prove``: fixed start-up CPU (whole-process CPU minus a warm
    in-process prove) against bare Python and Python + numpy, and peak RSS against the size
    of the .zkey; snarkjs' whole-process CPU and peak RSS on the same files beside it."""
    env = dict(_PYC_ENV)
    py = [sys.executable]
    bare_cpu, bare_rss = best_usage(repeat, py + ["-c", "pass"], d, env)
    numpy_cpu, numpy_rss = best_usage(repeat, py + ["-c", "import numpy"], d, env)
    prove_cmd = zk_cmd() + ["groth16", "prove", "circuit.zkey", "witness.wtns", "zk_proof.json",
                            "zk_public.json", "--quiet"]
    whole_cpu, whole_rss = best_usage(repeat, prove_cmd, d, env)
    inproc = inprocess_prove_cpu(d, repeat)
    outside, cold_prove = fixed_cpu(repeat, prove_cmd[len(zk_cmd()):], d, env)
    sn_cpu, sn_rss = float("nan"), 0
    if snarkjs:
        sn_cpu, sn_rss = best_usage(repeat, [BIN / "snarkjs", "groth16", "prove", "circuit.zkey",
                                             "witness.wtns", "sn_proof.json", "sn_public.json"], d)
    zkey = (d / "circuit.zkey").stat().st_size
    fixed = whole_cpu - inproc
    return {"k": k, "zkey_bytes": zkey, "python_cpu_s": bare_cpu, "python_numpy_cpu_s": numpy_cpu,
            "python_numpy_rss": numpy_rss, "python_rss": bare_rss,
            "prove_whole_cpu_s": whole_cpu, "prove_inprocess_cpu_s": inproc,
            "fixed_cpu_s": fixed, "fixed_beyond_numpy_cpu_s": fixed - numpy_cpu,
            "outside_prove_cpu_s": outside, "outside_prove_beyond_numpy_cpu_s": outside - numpy_cpu,
            "same_run_prove_cpu_s": cold_prove,
            "prove_peak_rss": whole_rss, "rss_over_zkey": whole_rss / zkey,
            "rss_beyond_numpy_over_zkey": (whole_rss - numpy_rss) / zkey,
            "snarkjs_whole_cpu_s": sn_cpu, "snarkjs_peak_rss": sn_rss, "snarkjs_rss_over_zkey": sn_rss / zkey,
            "cpu_ratio": whole_cpu / sn_cpu, "rss_ratio": whole_rss / sn_rss if sn_rss else float("nan")}


def print_startup(r: dict) -> None:
    mb = 1 << 20
    print(f"2^{r['k']} start-up: zkey {r['zkey_bytes'] / mb:.1f} MiB; whole-process prove "
          f"{r['prove_whole_cpu_s']:.3f} s CPU = {r['prove_inprocess_cpu_s']:.3f} in-process prove + "
          f"{r['fixed_cpu_s']:.3f} fixed (Python alone {r['python_cpu_s']:.3f}, Python + numpy "
          f"{r['python_numpy_cpu_s']:.3f}: fixed beyond numpy {r['fixed_beyond_numpy_cpu_s']:.3f}); "
          f"snarkjs {r['snarkjs_whole_cpu_s']:.3f} s CPU (ratio {r['cpu_ratio']:.2f})", flush=True)
    print(f"2^{r['k']} outside the prove call, same run: {r['outside_prove_cpu_s']:.3f} s CPU, "
          f"{r['outside_prove_beyond_numpy_cpu_s']:.3f} beyond Python + numpy (that run's prove "
          f"call: {r['same_run_prove_cpu_s']:.3f})", flush=True)
    print(f"2^{r['k']} peak RSS: zkmargin {r['prove_peak_rss'] / mb:.1f} MiB = {r['rss_over_zkey']:.2f}x the "
          f"zkey ({r['rss_beyond_numpy_over_zkey']:.2f}x beyond Python + numpy's "
          f"{r['python_numpy_rss'] / mb:.1f} MiB); snarkjs {r['snarkjs_peak_rss'] / mb:.1f} MiB = "
          f"{r['snarkjs_rss_over_zkey']:.2f}x (ratio {r['rss_ratio']:.2f})", flush=True)


def bench_batch(d: Path, n_batch: int) -> dict:
    """Distinct valid proofs by re-randomising real ones; batch-verify them."""
    from zkmargin.algebra import R, g1_mul, g2_mul
    from zkmargin.formats.data_structures import Proof
    from zkmargin.formats.snarkjs_json import read_proof, read_public, read_verifying_key, write_proof, write_public
    from zkmargin.verifier.batch import batch_verify

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
    ap.add_argument("--ceremony-max", type=int, default=14,
                    help="largest k whose key comes from our ptau ceremony + setup; larger "
                         "sizes use an insecure known-tau key (preparing a ptau of power "
                         "k+1 takes tens of minutes)")
    ap.add_argument("--startup-only", action="store_true",
                    help="only the whole-process start-up CPU and peak RSS figures (no "
                         "prove/verify timings, no batch verification)")
    ap.add_argument("--no-snarkjs-startup", action="store_true",
                    help="leave snarkjs out of the start-up figures (when comparing our own builds)")
    args = ap.parse_args()
    if not (BIN / "snarkjs").exists() or not (BIN / "circom2").exists():
        raise SystemExit("snarkjs / circom2 missing: run `make node`")
    small = [k for k in args.sizes if k <= args.ceremony_max]
    ptau = make_ptau(max(small) + 1) if small else None
    results = []
    for k in args.sizes:
        d = build(k, ptau if k <= args.ceremony_max else None)
        startup = bench_startup(k, d, args.repeat, snarkjs=not args.no_snarkjs_startup)
        print_startup(startup)
        if args.startup_only:
            results.append(startup)
            continue
        r = {**bench_size(k, d, args.repeat), "startup": startup}
        results.append(r)
        print(f"2^{k}: prove zkmargin {r['prove_zkmargin_s']:.2f} s, snarkjs "
              f"{r['prove_snarkjs_s']:.2f} s, ratio {r['prove_ratio']:.2f} "
              f"(snarkjs verifies ours: {r['snarkjs_verifies_our_proof']}; JIT kernels "
              f"{r['prove_zkmargin_jit_s']:.2f} s); verify zkmargin "
              f"{r['verify_zkmargin_s']:.2f} s, snarkjs {r['verify_snarkjs_s']:.2f} s, "
              f"ratio {r['verify_ratio']:.2f}", flush=True)
    if args.startup_only:
        (OUT / "startup.json").write_text(json.dumps({"sizes": results, "cpus": os.cpu_count(),
                                                      "load": os.getloadavg()}, indent=1))
        return
    b = bench_batch(OUT / f"k{args.sizes[0]}", args.batch)
    print(f"batch verify {b['batch_n']} proofs: {b['batch_proofs_per_s']:.0f} proofs/s in-process, "
          f"{b['batch_cli_proofs_per_s']:.0f} proofs/s whole CLI process", flush=True)
    (OUT / "results.json").write_text(json.dumps({"sizes": results, "batch": b,
                                                  "cpus": os.cpu_count()}, indent=1))


if __name__ == "__main__":
    main()
