"""Benchmark: `powersoftau prepare` (Lagrange bases, sections 12-15), ours vs snarkjs.

    python benchmarks/bench_setup.py [--powers 12 13 14 15] [--snarkjs-powers 10 12]
                                     [--setup] [--json out.json]

For each power p it builds a contributed accumulator (one contribution, secrets from the OS),
then times :func:`zkmargin.prover.ptau.prepare_phase2` in-process (kernels warmed up on a
small file first, so compile time is excluded and reported separately).  snarkjs is timed as a
whole process (`snarkjs powersoftau prepare phase2`) on the *same* file, at the powers given by
``--snarkjs-powers`` (it needs ~12 minutes at 2^15 on a 2-core machine; larger powers are
extrapolated from the measured ones with the n log n cost model and marked "extrapolated").
``--setup`` also times `groth16 setup` on a random R1CS with 2^(p-1) constraints, ours vs
snarkjs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNARKJS = ROOT / "node_modules" / ".bin" / "snarkjs"


def _cost(p: int) -> float:
    """n log n cost model of a whole prepare (all blocks, all four sections)."""
    return sum((2 ** k) * max(k, 1) for k in range(p + 2))


def _snarkjs(*args: str, cwd: Path, timeout: float = 3600) -> float:
    t0 = time.perf_counter()
    res = subprocess.run([str(SNARKJS), *args], cwd=cwd, capture_output=True, text=True,
                         timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"snarkjs {' '.join(args)} failed: {res.stderr or res.stdout}")
    return time.perf_counter() - t0


def _random_r1cs(n_constraints: int, n_public: int = 2):
    import secrets

    from zkmargin.algebra import R
    from zkmargin.formats.r1cs import R1CS

    n_wires = n_constraints + n_public + 2
    cons = []
    for i in range(n_constraints):
        a = {1 + (i % (n_wires - 1)): secrets.randbelow(R)}
        b = {0: 1, 1 + ((i * 7) % (n_wires - 1)): secrets.randbelow(R)}
        c = {1 + ((i * 13) % (n_wires - 1)): 1}
        cons.append((a, b, c))
    return R1CS(n_wires=n_wires, n_pub_out=0, n_pub_in=n_public, n_prv_in=1, constraints=cons)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--powers", type=int, nargs="+", default=[12, 13, 14, 15])
    ap.add_argument("--snarkjs-powers", type=int, nargs="*", default=[10, 12])
    ap.add_argument("--setup", action="store_true", help="also time groth16 setup")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()

    from zkmargin.prover import ptau as P

    have_snarkjs = SNARKJS.exists() and shutil.which("node") is not None
    rows = []
    t0 = time.perf_counter()
    P.prepare_phase2(P.contribute(P.new_accumulator(2)))
    warm = time.perf_counter() - t0
    print(f"kernel warm-up (compile or cache load): {warm:.1f} s", flush=True)
    snark_measured: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for p in sorted(set(args.powers) | set(args.snarkjs_powers)):
            acc = P.contribute(P.new_accumulator(p), "bench")
            src = d / f"p{p}.ptau"
            P.write_ptau(acc, src)
            row = {"power": p}
            if p in args.powers:
                t0 = time.perf_counter()
                prepared = P.prepare_phase2(acc)
                row["ours_s"] = round(time.perf_counter() - t0, 2)
                P.write_ptau(prepared, d / f"p{p}_final.ptau")
            if have_snarkjs and p in args.snarkjs_powers:
                snark_measured[p] = _snarkjs("powersoftau", "prepare", "phase2", src.name,
                                             f"s{p}.ptau", cwd=d)
                row["snarkjs_s"] = round(snark_measured[p], 2)
                if "ours_s" in row:
                    same = (d / f"s{p}.ptau").read_bytes() == (d / f"p{p}_final.ptau").read_bytes()
                    row["identical_output"] = same
            if args.setup and p in args.powers:
                r1cs = _random_r1cs(2 ** (p - 1) - 8)
                from zkmargin.formats.r1cs import write_r1cs
                from zkmargin.formats.zkey import zkey_to_bytes
                from zkmargin.prover.setup import new_proving_key

                write_r1cs(r1cs, d / "c.r1cs")
                t0 = time.perf_counter()
                pk = new_proving_key(r1cs, P.read_ptau(d / f"p{p}_final.ptau"))
                row["setup_ours_s"] = round(time.perf_counter() - t0, 2)
                if have_snarkjs:
                    row["setup_snarkjs_s"] = round(_snarkjs("groth16", "setup", "c.r1cs", f"p{p}_final.ptau",
                                                            "s.zkey", cwd=d), 2)
                    row["setup_identical"] = (d / "s.zkey").read_bytes() == zkey_to_bytes(pk)
            rows.append(row)
            print(json.dumps(row), flush=True)
    if snark_measured:
        ref_p = max(snark_measured)
        per_cost = snark_measured[ref_p] / _cost(ref_p)
        for row in rows:
            if "snarkjs_s" not in row and "ours_s" in row:
                row["snarkjs_s_extrapolated"] = round(per_cost * _cost(row["power"]), 1)
    print("\npower  ours (s)  snarkjs (s)            ratio ours/snarkjs")
    for row in rows:
        if "ours_s" not in row:
            continue
        s = row.get("snarkjs_s", row.get("snarkjs_s_extrapolated"))
        tag = "" if "snarkjs_s" in row else " (extrapolated)"
        ratio = f"{row['ours_s'] / s:.3f}" if s else "-"
        print(f"2^{row['power']:<4} {row['ours_s']:8.1f}  {s if s is not None else '-':>10}{tag:<15} {ratio}")
    if args.json:
        args.json.write_text(json.dumps({"warmup_s": warm, "rows": rows}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
