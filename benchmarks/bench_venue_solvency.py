"""Venue-wide solvency benchmark: build, prove on Dask (1 and 2 workers), sign, verify, memory.

Book: synthetic accounts of a small BTC derivatives venue (zkmargin.solvency.venue.synthetic:
a perpetual, a future, a call, a put; USDC and BTC collateral; perp traders, basis traders,
option writers and buyers, collateral-only and a few undercollateralised accounts), span16
(16 scenarios), shape 4 instruments × 2 assets × 1 group.

Steps, for each ``--accounts`` size (every figure is printed with the load average):

1. build: read the JSONL book, quantize, commit, shortfall, tree -- in this process and on a
   LocalCluster of each ``--build-workers`` count (time incl. the cluster's start, peak RSS);
2. for each ``--sweep`` batch size B: the batch circuit's constraints, its key setup time, and
   the proving time of ``--sample`` batches on one worker (s per account) -- the best B;
3. prove ``--prove-batches`` batches with the main ``--batch`` on each ``--layouts`` layout
   (workers x Dask threads x kernel threads): the scaling ratio from 1 to 2 workers;
4. with ``--full-prove-s S`` (for the sizes in ``--full-prove-accounts``): prove every batch on
   a LocalCluster of 2 workers in resumable rounds for at most S seconds; if all are proven the
   tree is signed and fully verified (trust file, expected epoch);
5. verify: the full ``verify_tree`` when every batch is proven, else every batch root and the
   top level from the leaves plus batch Groth16 verification of the proven batches;
6. the projection to 10 million accounts from the measured per-batch cost.

Run (the machine's other load is printed with the figures):

    .venv/bin/python benchmarks/bench_venue_solvency.py --accounts 10000,100000 --batch 16 \\
        --sweep '' --prove-batches 6 --full-prove-s 5400 --json out.json

Keys are DEVELOPMENT-ONLY (cached per circuit under $ZKMARGIN_CACHE); the signing keys are
made for the run.
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


def child_rss_mb() -> float:
    """Peak RSS of the largest finished child process (a LocalCluster worker)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _layout(lay: str) -> tuple[int, int, int]:
    w, th, kt = (int(x) for x in lay.split("x"))
    return w, th, kt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", default="10000,100000")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--build-workers", default="0,2", help="build layouts: 0 = this process, k = LocalCluster of k")
    ap.add_argument("--sweep", default="", help="batch sizes for the best-B measurement ('' skips)")
    ap.add_argument("--sample", type=int, default=1, help="batches proven per sweep point")
    ap.add_argument("--prove-batches", type=int, default=6, help="batches proven per layout")
    ap.add_argument("--layouts", default="1x1x2,2x1x1", help="workers x threads x kernel-threads, comma separated")
    ap.add_argument("--full-prove-s", type=float, default=0.0, help="time budget to prove every batch (0: skip)")
    ap.add_argument("--full-prove-accounts", default="10000", help="sizes the full prove is tried for")
    ap.add_argument("--json", default="")
    ap.add_argument("--work", default="", help="working folder (default: a temporary one)")
    args = ap.parse_args()

    from dataclasses import replace

    from zkmargin.circuits.venue_circuits import build_batch_circuit, dummy_batch
    from zkmargin.formats.snarkjs_json import read_verifying_key
    from zkmargin.solvency import trust as tr
    from zkmargin.solvency.keys import read_setup_record
    from zkmargin.solvency.venue import files as fl
    from zkmargin.solvency.venue import synthetic as sy
    from zkmargin.solvency.venue.book import build_tree, money_of
    from zkmargin.solvency.venue.cluster import dask_client
    from zkmargin.solvency.venue.prove import batch_keys, expected_prefix, prove_tree
    from zkmargin.solvency.venue.publish import sign_tree
    from zkmargin.solvency.venue.tree import combine, level
    from zkmargin.solvency.venue.verify import verify_tree
    from zkmargin.verifier.batch import batch_verify

    work = Path(args.work or tempfile.mkdtemp(prefix="zkm-venue-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    key = tr.new_key()
    pf = sy.params_file().signed(key, "VenueA")
    trust = tr.Trust({}).with_key("VenueA", tr.public_hex(key), ("params", "setup", "solvency"))
    res: dict = {"shape": pf.shape.as_dict(), "model": pf.model, "cpus": os.cpu_count(), "runs": [], "sweep": []}
    print(f"venue solvency benchmark: span16, shape {pf.shape.as_dict()}, {os.cpu_count()} cores, load {load()}",
          flush=True)

    def save():
        if args.json:                        # partial results survive an interrupted run
            Path(args.json).write_text(json.dumps(res, indent=1))

    sweep = [int(b) for b in args.sweep.split(",") if b]
    full_sizes = {int(x) for x in args.full_prove_accounts.split(",") if x}
    B = args.batch
    for n in [int(x) for x in args.accounts.split(",") if x]:
        run: dict = {"accounts": n, "batch": B, "builds": []}
        res["runs"].append(run)
        book = work / f"book-{n}.jsonl"
        sy.write_jsonl(book, sy.portfolios(n, seed=n))
        tree = work / f"tree-{n}"
        for w in [int(x) for x in args.build_workers.split(",") if x]:
            out = tree if w == 0 or not (tree / "statement.json").exists() else work / f"tree-{n}-w{w}"
            shutil.rmtree(out, ignore_errors=True)
            t = time.perf_counter()
            st = build_tree(book, pf, out, buffer_bps=10_000, insurance_fund=money_of("1e9"),
                            batch=max(sweep + [B]), workers=w if w else 0)
            row = {"workers": w, "s": time.perf_counter() - t, "rss_mb": rss_mb(), "worker_rss_mb": child_rss_mb(),
                   "load": load()}
            row["accounts_per_s"] = n / row["s"]
            run["builds"].append(row)
            run["shortfall_usd"] = st.total_shortfall / 1e14
            print(f"[{n}] build ({'this process' if w == 0 else f'LocalCluster of {w}, incl. its start'}): "
                  f"{row['s']:.1f} s = {row['accounts_per_s']:.0f} accounts/s, peak RSS {row['rss_mb']:.0f} MB "
                  f"(workers {row['worker_rss_mb']:.0f} MB), load {row['load']}", flush=True)
            if out != tree:
                shutil.rmtree(out, ignore_errors=True)
            save()
        st = fl.read_statement(tree)
        if st.batch != B:                     # the sweep built the tree for its largest batch
            st = replace(st, batch=B)
            fl.write_statement(tree, st)

        if not res["sweep"] and sweep:          # the best B, once (it does not depend on n)
            for b in sweep:
                p, ctx = dummy_batch(pf.shape, pf.model)
                t = time.perf_counter()
                circ = build_batch_circuit(pf.shape, p, [], b, ctx)
                t_build = time.perf_counter() - t
                t = time.perf_counter()
                batch_keys(pf, b)
                t_setup = time.perf_counter() - t
                fl.write_statement(tree, replace(st, batch=b))
                k = min(args.sample, -(-n // b))
                r = prove_tree(tree, pf, workers=1, kernel_threads=2, only=range(k))
                per = [x["witness"] + x["prove"] for x in r.per_batch]
                row = {"batch": b, "constraints": len(circ.cs.constraints), "circuit_build_s": t_build,
                       "setup_s": t_setup, "batch_s": min(per), "s_per_account": min(per) / b, "load": load()}
                res["sweep"].append(row)
                print(f"  B={b:3d}: {row['constraints']} constraints ({row['constraints'] / b:.0f}/account), setup "
                      f"{t_setup:.0f} s, prove {row['batch_s']:.2f} s/batch = {row['s_per_account'] * 1e3:.0f} ms/account, "
                      f"load {row['load']}", flush=True)
                shutil.rmtree(tree / "proofs", ignore_errors=True)
            fl.write_statement(tree, st)
            save()

        m = st.batches
        run["batches"] = m
        run["layouts"] = []
        k = min(args.prove_batches, m)
        for lay in [x for x in args.layouts.split(",") if x] if k else []:
            w, th, kt = _layout(lay)
            shutil.rmtree(tree / "proofs", ignore_errors=True)
            t = time.perf_counter()
            r = prove_tree(tree, pf, workers=w, threads=th, kernel_threads=kt, processes=True, only=range(k))
            wall = time.perf_counter() - t
            per = [x["witness"] + x["prove"] for x in r.per_batch]
            row = {"layout": lay, "wall_s": wall, "batches": r.proven, "s_per_batch": wall / max(r.proven, 1),
                   "task_s_mean": sum(per) / len(per), "steady_batches_per_s": w * th / (sum(per) / len(per)),
                   "duplicates": r.duplicates, "load": load()}
            run["layouts"].append(row)
            print(f"  prove {lay} (workers x threads x kernel threads): {r.proven} batches in {wall:.1f} s "
                  f"(incl. cluster start and key load) = {row['s_per_batch']:.2f} s/batch, task {row['task_s_mean']:.2f} s, "
                  f"load {row['load']}", flush=True)
            save()
        for row in run["layouts"][1:]:
            base = run["layouts"][0]
            row["wall_speedup_vs_first"] = base["s_per_batch"] / row["s_per_batch"]
            row["steady_speedup_vs_first"] = row["steady_batches_per_s"] / base["steady_batches_per_s"]
            print(f"  scaling {base['layout']} -> {row['layout']}: x{row['wall_speedup_vs_first']:.2f} in wall time, "
                  f"x{row['steady_speedup_vs_first']:.2f} in steady throughput", flush=True)

        if args.full_prove_s > 0 and n in full_sizes:
            t0 = time.perf_counter()
            full = {"budget_s": args.full_prove_s, "rounds": [], "load_start": load()}
            run["full_prove"] = full
            with dask_client(None, workers=2) as cl:
                while True:
                    left = [j for j in range(m) if not fl.proof_path(tree, j).exists()]
                    if not left or time.perf_counter() - t0 > args.full_prove_s:
                        break
                    chunk = left[:8]
                    t = time.perf_counter()
                    r = prove_tree(tree, pf, client=cl, only=chunk)
                    full["rounds"].append({"batches": r.proven, "s": time.perf_counter() - t, "load": load()})
                    done = m - len(left) + r.proven
                    print(f"  full prove: {done} of {m} batches after {time.perf_counter() - t0:.0f} s, "
                          f"load {load()}", flush=True)
                    save()
            full["proven"] = sum(1 for j in range(m) if fl.proof_path(tree, j).exists())
            full["wall_s"] = time.perf_counter() - t0
            full["load_end"] = load()
            rounds = [x for x in full["rounds"][1:] if x["batches"]] or full["rounds"]
            full["s_per_batch_steady"] = sum(x["s"] for x in rounds) / max(1, sum(x["batches"] for x in rounds))
            print(f"  full prove: {full['proven']} of {m} batches in {full['wall_s']:.0f} s "
                  f"({full['s_per_batch_steady']:.2f} s per batch steady, 2 workers), load {load()}", flush=True)
            save()

        vk = read_verifying_key(tree / "keys" / "verification_key.json")
        proven = [j for j in range(m) if fl.proof_path(tree, j).exists()]
        if len(proven) == m:
            t = time.perf_counter()
            sign_tree(tree, pf, key, "VenueA")
            t_sign = time.perf_counter() - t
            rec = read_setup_record(tree / "keys" / "setup.json")
            run["verify"] = {"full": True, "sign_s": t_sign, "rows": []}
            for w in (0, 2):
                t = time.perf_counter()
                rep = verify_tree(tree, pf, vk=vk, setup=rec, trust=trust, epoch=pf.epoch, workers=w)
                row = {"workers": w, "s": time.perf_counter() - t, "valid": rep.valid, "rss_mb": rss_mb(),
                       "load": load()}
                run["verify"]["rows"].append(row)
                print(f"  verify (all {m} batches, signatures, {w or 'no'} workers): {row['s']:.1f} s -> "
                      f"{rep.summary()[:70]}, load {row['load']}", flush=True)
        elif proven:
            recs = [fl.read_batch_proof(fl.proof_path(tree, j)) for j in proven]
            items = [(expected_prefix(st, r.index) + [r.count, r.root, *r.totals, r.shortfall], r.proof) for r in recs]
            batch_verify(vk, items[:1])          # JIT warm-up
            t = time.perf_counter()
            ok = batch_verify(vk, items).valid
            t_g = time.perf_counter() - t
            leaves = fl.read_leaves(tree, st)
            t = time.perf_counter()
            roots = level(st.shape, leaves, B.bit_length() - 1)
            top_ok = combine(st.shape, roots, B.bit_length() - 1, st.depth) == st.root
            t_r = time.perf_counter() - t
            run["verify"] = {"full": False, "proofs": len(items), "groth16_batch_s": t_g,
                             "groth16_per_proof_s": t_g / len(items), "valid": ok, "roots_and_top_s": t_r,
                             "top_ok": top_ok, "projected_full_s": t_g / len(items) * m + t_r, "load": load()}
            print(f"  verify: batch Groth16 of {len(items)} proofs {t_g:.2f} s ({t_g / len(items) * 1e3:.0f} ms/proof, "
                  f"valid {ok}); all {m} batch roots + top level from leaves {t_r:.1f} s (root ok {top_ok}); "
                  f"projected full verify {run['verify']['projected_full_s']:.0f} s on 1 core, load {load()}",
                  flush=True)
        run["rss_mb"] = rss_mb()
        run["worker_rss_mb"] = child_rss_mb()
        save()

    # projection: the steady per-batch cost of the best measurement (cluster start-up and key
    # loading, once per worker per epoch, left out)
    cands = []
    for run in res["runs"]:
        for row in run.get("layouts", []):
            cands.append((1 / row["steady_batches_per_s"], f"{run['accounts']} accounts, layout {row['layout']}"))
        if run.get("full_prove", {}).get("proven"):
            cands.append((run["full_prove"]["s_per_batch_steady"], f"{run['accounts']} accounts, full prove, 2 workers"))
    if cands:
        s_batch, where = min(cands)
        acct_s = s_batch / B
        machine_h = 10_000_000 * acct_s / 3600
        res["projection"] = {"batch": B, "from": where, "s_per_batch": s_batch, "s_per_account_this_machine": acct_s,
                             "machine_hours_10M": machine_h}
        print(f"projection ({where}): {s_batch:.1f} s per batch of {B} = {acct_s * 1e3:.0f} ms per account on this "
              f"2-core machine -> 10M accounts = {machine_h:,.0f} machine-hours: {machine_h:,.0f} such machines for a "
              f"1-hour epoch (~{machine_h / 32:,.0f} 64-core machines at linear scaling per core)", flush=True)
    save()
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
