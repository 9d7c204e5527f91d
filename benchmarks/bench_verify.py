"""Groth16 verification: our engines side by side with snarkjs and the arkworks wheel.

On the demo's real solvency proof (`zkmargin demo`, 8 public inputs; made once under
bench-out/verify-demo), prints

* in-process, one proof at a time (median of --repeat, key prepared once): our ``native``
  (the ahead-of-time verifier module), ``jit`` and ``python`` engines, and ``groth16py``
  (arkworks, PyO3) when its environment exists;
* in-process batches (--batch proofs, distinct valid proofs made by re-randomising the demo's
  proof: (t A, t^-1 B, C)): proofs/s of ``batch_verify`` on 1 and 2 threads, against the
  arkworks wheel verifying the same proofs one by one;
* whole processes (best of --repeat): ``zkmargin groth16 verify`` (pure Python, no NumPy), the
  same with ``ZKMARGIN_VERIFIER=native``, ``snarkjs groth16 verify``, and a ``python -c`` that
  imports groth16py and verifies;

with ratios against each peer, and the load average before and after (these machines are
shared: read the figures with the load).

The arkworks wheel is a benchmark peer, not a dependency; its environment is made by:

    python3 -m venv bench-out/peer-venv && bench-out/peer-venv/bin/pip install groth16py

Run:  .venv/bin/python benchmarks/bench_verify.py [--repeat 7] [--batch 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench-out" / "verify-demo"
PEER = ROOT / "bench-out" / "peer-venv" / "bin" / "python"
SNARKJS = ROOT / "node_modules" / ".bin" / "snarkjs"

_PEER_SINGLE = """
import sys, time, statistics, groth16py as g
vk = g.VerifyingKey.from_snarkjs_file(sys.argv[1])
proof, public = open(sys.argv[2]).read(), open(sys.argv[3]).read()
v = g.Verifier(vk)
assert v.verify_snarkjs(proof, public)
ts = []
for _ in range(int(sys.argv[4])):
    t = time.perf_counter(); v.verify_snarkjs(proof, public); ts.append(time.perf_counter() - t)
print(statistics.median(ts))
"""

_PEER_MANY = """
import sys, json, time, groth16py as g
v = g.Verifier(g.VerifyingKey.from_snarkjs_file(sys.argv[1]))
items = json.load(open(sys.argv[2]))
t = time.perf_counter()
ok = all(v.verify_snarkjs(p, s) for p, s in items)
dt = time.perf_counter() - t
assert ok
print(len(items) / dt)
"""

_PEER_ONESHOT = """
import sys, groth16py as g
ok = g.Verifier(g.VerifyingKey.from_snarkjs_file(sys.argv[1])).verify_snarkjs(open(sys.argv[2]).read(), open(sys.argv[3]).read())
sys.exit(0 if ok else 1)
"""


def load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def zk_exe() -> list[str]:
    exe = Path(sys.executable).with_name("zkmargin")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "zkmargin.cli.entry"]


def demo_files() -> tuple[Path, Path, Path]:
    files = (OUT / "verification_key.json", OUT / "proof.json", OUT / "public.json")
    if not all(f.exists() for f in files):
        print(f"making the demo proof in {OUT} (once)", flush=True)
        OUT.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(zk_exe() + ["demo", "--out", str(OUT)], check=True,
                       stdout=subprocess.DEVNULL)
    return files


def best_process(cmd: list[str], repeat: int, env: dict | None = None) -> tuple[float, float]:
    """(best wall, best CPU) seconds of a whole process; it must exit 0.  The bytecode cache
    is on, as for an installed package (with PYTHONDONTWRITEBYTECODE set, every start would
    recompile zkmargin's modules)."""
    walls, cpus = [], []
    child_env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "", **(env or {})}
    for _ in range(repeat):
        c0, t0 = os.times(), time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=child_env)
        walls.append(time.perf_counter() - t0)
        c1 = os.times()
        cpus.append(c1.children_user - c0.children_user + c1.children_system - c0.children_system)
    return min(walls), min(cpus)


def peer_figure(script: str, *args) -> float:
    """Run one of the ``_PEER_*`` scripts in the arkworks environment; the number it prints."""
    res = subprocess.run([str(PEER), "-c", script, *map(str, args)], check=True, capture_output=True, text=True)
    return float(res.stdout)


def print_against(figures: dict, peer: str, fmt, speedup) -> None:
    """One line per figure, with ``speedup(figure, peer figure)`` when the peer ran."""
    ref = figures.get(peer)
    for name, v in figures.items():
        ratio = f"  {speedup(v, ref):5.2f}x arkworks" if ref else ""
        print(f"  {name:<22} {fmt(v)}{ratio}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args()
    print(load(), flush=True)
    vk_path, proof_path, public_path = demo_files()

    from zkmargin.algebra.constants import R
    from zkmargin.algebra.points import g1_mul, g2_mul
    from zkmargin.formats.data_structures import Proof
    from zkmargin.formats.snarkjs_json import proof_to_json, read_proof, read_public, read_verifying_key
    from zkmargin.verifier.backend import native_module, resolve
    from zkmargin.verifier.batch import batch_verify
    from zkmargin.verifier.groth16 import prepare_verifying_key, verify

    pvk = prepare_verifying_key(read_verifying_key(vk_path))
    proof, public = read_proof(proof_path), read_public(public_path)
    have_native = native_module() is not None
    have_peer = PEER.exists()

    print("\n== one proof, in process (median of --repeat; the key prepared once)")
    single = {}
    for b in (["native"] if have_native else []) + ["jit", "python"]:
        assert verify(pvk, public, proof, backend=b).valid
        ts = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            verify(pvk, public, proof, backend=b)
            ts.append(time.perf_counter() - t)
        single[b] = statistics.median(ts)
    if have_peer:
        single["groth16py (arkworks)"] = peer_figure(_PEER_SINGLE, vk_path, proof_path, public_path, args.repeat)
    print_against(single, "groth16py (arkworks)", lambda s: f"{s * 1e3:8.2f} ms", lambda s, p: s / p)  # time ratio

    print(f"\n== batches of {args.batch} distinct valid proofs, in process")
    rnd = random.Random(7)
    items = []
    for _ in range(args.batch):
        t = rnd.randrange(1, R)
        items.append((public, Proof(a=g1_mul(proof.a, t), b=g2_mul(proof.b, pow(t, -1, R)), c=proof.c)))
    rates = {}
    engines = (["native"] if have_native else []) + ["jit"]
    for b in engines:
        kern = resolve(b, batch=True)
        saved = kern.threads
        for threads in (1, 2):
            kern.threads = threads
            batch_verify(pvk, items[:32], backend=b)
            t = time.perf_counter()
            assert batch_verify(pvk, items, backend=b).valid
            rates[f"{b}, {threads} thread{'s' if threads > 1 else ''}"] = args.batch / (time.perf_counter() - t)
        kern.threads = saved
    if have_peer:
        many = OUT.parent / "verify-many.json"
        many.write_text(json.dumps([[json.dumps(proof_to_json(p)), json.dumps([str(x) for x in pub])]
                                    for pub, p in items]))
        rates["groth16py one by one"] = peer_figure(_PEER_MANY, vk_path, many)
    print_against(rates, "groth16py one by one", lambda r: f"{r:8.0f} proofs/s", lambda r, p: r / p)

    print(f"\n== whole processes (best of {args.repeat})")
    files = [str(vk_path), str(public_path), str(proof_path)]
    rows = {"zkmargin groth16 verify": best_process(zk_exe() + ["groth16", "verify", *files], args.repeat)}
    if have_native:
        rows["  ... ZKMARGIN_VERIFIER=native"] = best_process(zk_exe() + ["groth16", "verify", *files], args.repeat,
                                                             env={"ZKMARGIN_VERIFIER": "native"})
    rows["python -c pass (floor)"] = best_process([sys.executable, "-c", "pass"], args.repeat)
    if SNARKJS.exists():
        rows["snarkjs groth16 verify"] = best_process([str(SNARKJS), "groth16", "verify", *files], args.repeat)
    if have_peer:
        rows["groth16py (python -c)"] = best_process([str(PEER), "-c", _PEER_ONESHOT, str(vk_path), str(proof_path),
                                                      str(public_path)], args.repeat)
    ours = rows["zkmargin groth16 verify"]
    for name, (wall, cpu) in rows.items():
        print(f"  {name:<32} {wall:6.3f} s wall {cpu:6.3f} s CPU   ours/this {ours[0] / wall:5.2f}x wall")
    print("\n" + load())
    if not have_native:
        print("(no native verifier module: `zkmargin warmup --no-jit` builds it)")
    if not have_peer:
        print(f"(no arkworks peer: python3 -m venv {PEER.parent.parent} && {PEER.parent}/pip install groth16py)")


if __name__ == "__main__":
    main()
