"""Venue-wide solvency benchmark: build, prove on Dask (1 and 2 workers), verify, memory.

Book: synthetic accounts of a small BTC derivatives venue (zkmargin.solvency.venue.synthetic:
a perpetual, a future, a call, a put; USDC and BTC collateral; perp traders, basis traders,
option writers and buyers, collateral-only and a few undercollateralised accounts), span16
(16 scenarios), shape 4 instruments × 2 assets × 1 group.

Steps, for each ``--accounts`` size:

1. build: read the JSONL book, quantize, commit, shortfall, tree (time, peak RSS);
2. for each ``--sweep`` batch size B: the batch circuit's constraints, its key setup time, and
   the proving time of ``--sample`` batches on one worker (s per account) -- the best B;
3. prove with the main ``--batch`` on 1 worker (2 kernel threads), on 2 workers in 1 process
   (threads) and on 2 worker processes (1 kernel thread each): ``--prove-batches`` batches each
   (all batches with ``--prove-batches 0``), the scaling ratio;
4. verify: the proven batches by batch Groth16 verification, every batch root from the leaves,
   the top level (the full verify when every batch was proven);
5. the projection to 10 million accounts from the measured per-batch cost.

Run (the machine's other load is printed with the figures):

    .venv/bin/python benchmarks/bench_venue_solvency.py --accounts 10000,100000 --batch 16 \\
        --prove-batches 8 --json out.json

Keys are DEVELOPMENT-ONLY (cached per circuit under $ZKMARGIN_CACHE).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", default="10000,100000")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--sweep", default="4,8,16,32", help="batch sizes for the best-B measurement ('' skips)")
    ap.add_argument("--sample", type=int, default=2, help="batches proven per sweep point")
    ap.add_argument("--prove-batches", type=int, default=8, help="batches proven per layout (0: all)")
    ap.add_argument("--layouts", default="1x1x2,1x2x1,2x1x1",
                    help="workers x threads x kernel-threads, comma separated")
    ap.add_argument("--json", default="")
    ap.add_argument("--work", default="", help="working folder (default: a temporary one)")
    args = ap.parse_args()

    from zkmargin.circuits.venue_circuits import build_batch_circuit, dummy_batch
    from zkmargin.solvency.venue import synthetic as sy
    from zkmargin.solvency.venue.book import build_tree, money_of, read_book
    from zkmargin.solvency.venue.prove import batch_keys, prove_tree
    from zkmargin.solvency.venue.verify import verify_tree
    from zkmargin.verifier.formats import read_verifying_key

    work = Path(args.work or tempfile.mkdtemp(prefix="zkm-venue-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    pf = sy.params_file()
    res: dict = {"shape": pf.shape.as_dict(), "model": pf.model, "cpus": os.cpu_count(), "runs": []}
    print(f"venue solvency benchmark: span16, shape {pf.shape.as_dict()}, {os.cpu_count()} cores, load {load()}")

    sweep = [int(b) for b in args.sweep.split(",") if b]
    res["sweep"] = []
    for n in [int(x) for x in args.accounts.split(",") if x]:
        run: dict = {"accounts": n}
        book = work / f"book-{n}.jsonl"
        sy.write_jsonl(book, sy.portfolios(n, seed=n))
        tree = work / f"tree-{n}"
        shutil.rmtree(tree, ignore_errors=True)
        t = time.perf_counter()
        entries = read_book(book, pf)
        t_read = time.perf_counter() - t
        st = build_tree(None, pf, tree, buffer_bps=10_000, insurance_fund=money_of("1e9"), batch=max(sweep + [args.batch]),
                        entries=entries)
        run["build_s"] = time.perf_counter() - t
        run["read_s"] = t_read
        run["build_rss_mb"] = rss_mb()
        run["shortfall_usd"] = st.total_shortfall / 1e14
        print(f"[{n}] build {run['build_s']:.1f} s (read+quantize {t_read:.1f} s), {n / run['build_s']:.0f} accounts/s, "
              f"peak RSS {run['build_rss_mb']:.0f} MB, shortfall {run['shortfall_usd']:,.0f} USD, load {load()}")

        if not res["sweep"] and sweep:          # the best B, once (it does not depend on n)
            for B in sweep:
                p, ctx = dummy_batch(pf.shape, pf.model)
                t = time.perf_counter()
                circ = build_batch_circuit(pf.shape, p, [], B, ctx)
                t_build = time.perf_counter() - t
                t = time.perf_counter()
                batch_keys(pf, B)
                t_setup = time.perf_counter() - t
                k = min(args.sample, -(-n // B))
                r = prove_tree(tree, pf, batch=B, workers=1, kernel_threads=2, only=range(k))
                per = [x["witness"] + x["prove"] for x in r.per_batch]
                row = {"batch": B, "constraints": len(circ.cs.constraints), "circuit_build_s": t_build,
                       "setup_s": t_setup, "batch_s": min(per), "s_per_account": min(per) / B, "load": load()}
                res["sweep"].append(row)
                print(f"  B={B:3d}: {row['constraints']} constraints ({row['constraints'] / B:.0f}/account), setup "
                      f"{t_setup:.0f} s, prove {row['batch_s']:.2f} s/batch = {row['s_per_account'] * 1e3:.0f} ms/account, "
                      f"load {row['load']}")
                shutil.rmtree(tree / "proofs", ignore_errors=True)

        B = args.batch
        m = -(-n // B)
        k = m if args.prove_batches == 0 else min(args.prove_batches, m)
        run["batch"], run["batches"], run["proven_batches"] = B, m, k
        run["layouts"] = []
        for lay in args.layouts.split(","):
            w, th, kt = (int(x) for x in lay.split("x"))
            shutil.rmtree(tree / "proofs", ignore_errors=True)
            t = time.perf_counter()
            r = prove_tree(tree, pf, batch=B, workers=w, threads=th, kernel_threads=kt, processes=True,
                           only=None if k == m else range(k), bar=False)
            wall = time.perf_counter() - t
            per = [x["witness"] + x["prove"] for x in r.per_batch]
            row = {"layout": lay, "wall_s": wall, "batches": r.proven, "s_per_batch": wall / max(r.proven, 1),
                   "task_s_mean": sum(per) / len(per), "duplicates": r.duplicates, "load": load()}
            run["layouts"].append(row)
            print(f"  prove {lay} (workers x threads x kernel threads): {r.proven} batches in {wall:.1f} s "
                  f"(incl. cluster start and key load) = {row['s_per_batch']:.2f} s/batch, task {row['task_s_mean']:.2f} s, "
                  f"load {row['load']}")
        base = run["layouts"][0]["s_per_batch"]
        for row in run["layouts"][1:]:
            row["speedup_vs_first"] = base / row["s_per_batch"]
            print(f"  scaling {run['layouts'][0]['layout']} -> {row['layout']}: x{row['speedup_vs_first']:.2f}")

        vk = read_verifying_key(tree / "keys" / "verification_key.json")
        t = time.perf_counter()
        if k == m:
            rep = verify_tree(tree, pf, vk=vk, workers=2)
            run["verify"] = {"full": True, "valid": rep.valid, "s": time.perf_counter() - t}
            print(f"  verify (all {m} batches, 2 workers): {run['verify']['s']:.1f} s -> {rep.summary()[:60]}")
        else:
            from zkmargin.solvency.venue import files as fl
            from zkmargin.solvency.venue.prove import expected_prefix
            from zkmargin.solvency.venue.tree import combine, subtree_root
            from zkmargin.verifier.batch import batch_verify
            recs = [fl.read_batch_proof(fl.proof_path(tree, j)) for j in range(k)]
            items = [(expected_prefix(st, r.index) + [r.count, r.root, *r.totals, r.shortfall], r.proof) for r in recs]
            batch_verify(vk, items[:1])          # JIT warm-up
            t = time.perf_counter()
            ok = batch_verify(vk, items).valid
            t_g = time.perf_counter() - t
            leaves = fl.read_leaves(tree, st)
            t = time.perf_counter()
            roots = [subtree_root(st.shape, leaves[j * B:(j + 1) * B], B.bit_length() - 1) for j in range(m)]
            top_ok = combine(st.shape, roots, B.bit_length() - 1, st.depth) == st.root
            t_r = time.perf_counter() - t
            run["verify"] = {"full": False, "groth16_batch_s": t_g, "groth16_per_proof_s": t_g / k, "valid": ok,
                             "roots_and_top_s": t_r, "top_ok": top_ok,
                             "projected_full_s": t_g / k * m + t_r}
            print(f"  verify: batch Groth16 of {k} proofs {t_g:.2f} s ({t_g / k * 1e3:.0f} ms/proof, valid {ok}); "
                  f"all {m} batch roots + top level from leaves {t_r:.1f} s (root ok {top_ok}); "
                  f"projected full verify {run['verify']['projected_full_s']:.0f} s on 1 core")
        run["rss_mb"] = rss_mb()
        res["runs"].append(run)
        if args.json:                        # partial results survive an interrupted run
            Path(args.json).write_text(json.dumps(res, indent=1))

    # projection: steady-state throughput of the best layout (tasks in flight / task time), so
    # cluster start-up and key loading (once per worker per epoch) are left out
    lays = res["runs"][-1]["layouts"]
    B = res["runs"][-1]["batch"]
    for row in lays:
        row["steady_batches_per_s"] = int(row["layout"].split("x")[0]) * int(row["layout"].split("x")[1]) / row["task_s_mean"]
    top = max(lays, key=lambda r: r["steady_batches_per_s"])
    acct_s = 1 / (top["steady_batches_per_s"] * B)    # seconds per account on this 2-core machine
    total_machine_s = 10_000_000 * acct_s
    best = min(res["sweep"], key=lambda r: r["s_per_account"]) if res["sweep"] else None
    res["projection"] = {"batch": B, "layout": top["layout"], "s_per_account_this_machine": acct_s,
                         "machine_hours_10M": total_machine_s / 3600, "best_sweep": best}
    print(f"projection: best layout {top['layout']}: {acct_s * 1e3:.0f} ms per account on this 2-core machine (B={B}) "
          f"-> 10M accounts = {total_machine_s / 3600:,.0f} machine-hours = {total_machine_s / 3600:,.0f} such machines "
          f"for a 1-hour epoch (~{total_machine_s / 3600 / 32:,.0f} 64-core machines at linear scaling)")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
