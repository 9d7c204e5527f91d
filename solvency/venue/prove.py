"""Proving every batch of a venue tree on a Dask cluster.

Each batch is one task: ``(index, accounts)`` in, ``(public signals, proof)`` out. The proving
key is the result of one task that the batch tasks depend on, so it travels to each worker once
(no shared file system needed) and is recomputed, not lost, if the workers holding it die; it
is parsed once per worker process, as is the batch circuit (built on dummy
values; each task only replays its witness with :meth:`ConstraintSystem.solve`).

Exactly once into the result: every task has a deterministic key (tree root, batch size,
index), Dask retries a task whose worker died (``retries``; a lost worker's tasks are
rescheduled by the scheduler), and the coordinator accepts the first result per index and
ignores any later one. A result is accepted only if its public signals carry this tree's
context (model, buffer, venue, epoch, digest, index); its root, sums and shortfall are then
checked against the published statement by the verified top-level combination before the run
reports success. Proof files are written atomically one by one, so an interrupted run resumes
where it stopped (a proof already on disk for this key and batch size is not proven again).

The openings (positions, collateral, salts) are sent to the workers: on a real cluster use a
``tls://`` scheduler with certificates (Dask's security settings), and never log task
arguments. Nothing here prints an account value.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from zkmargin.circuits.margin_circuits import MODEL_CODES
from zkmargin.formats import jsonio as jio

from ..bundle import venue_id
from ..params import ParamsFile, ProtocolError
from . import files as fl
from .tree import combine

Progress = Optional[Callable[[str], None]]
DEFAULT_BATCH = 64

_WORKER_CACHE: dict = {}


def _cached(key, make):
    v = _WORKER_CACHE.get(key)
    if v is None:
        v = _WORKER_CACHE[key] = make()
    return v


def batch_circuit(shape, model: str, batch: int):
    """The batch circuit of (shape, batch), built once per process on dummy values."""
    from zkmargin.circuits.venue_circuits import build_batch_circuit, dummy_batch

    def make():
        p, ctx = dummy_batch(shape, model)
        return build_batch_circuit(shape, p, [], batch, ctx)
    return _cached(("circuit", shape, model, batch), make)


def _blob(data: bytes) -> bytes:
    return data


def prove_batch_task(zkey_bytes: bytes, zkey_id: str, params, batch: int, accounts, ctx) -> dict:
    """One batch, on a worker: witness by replay, Groth16 proof (checked against the key's own
    verifying key before it leaves the worker)."""
    from zkmargin.circuits.venue_circuits import batch_assignment
    from zkmargin.formats.snarkjs_json import proof_to_json
    from zkmargin.formats.wtns import ints_to_limbs
    from zkmargin.formats.zkey import parse_zkey
    from zkmargin.prover.groth16 import prove
    t0 = time.perf_counter()
    pk = _cached(("zkey", zkey_id), lambda: parse_zkey(zkey_bytes))
    circ = batch_circuit(params.shape, params.model, batch)
    t1 = time.perf_counter()
    w = circ.cs.solve(batch_assignment(circ, params, accounts, ctx))
    t2 = time.perf_counter()
    out = prove(pk, ints_to_limbs(w), check=True)
    t3 = time.perf_counter()
    return {"index": ctx.batch_index, "public": [str(v) for v in out.public_signals],
            "proof": proof_to_json(out.proof), "pid": os.getpid(),
            "seconds": {"setup": t1 - t0, "witness": t2 - t1, "prove": t3 - t2}}


@dataclass
class ProveReport:
    batches: int
    proven: int
    skipped: int
    duplicates: int
    seconds: float
    per_batch: list = field(default_factory=list)     # worker-side timings of the proven batches
    workers: set = field(default_factory=set)


def batch_keys(pf: ParamsFile, batch: int, *, zkey=None, setup=None, progress: Progress = None):
    """(proving key, verifying key, zkey bytes, setup record) of the batch circuit: a given
    ``.zkey`` with its ``setup`` record (from ``venue solvency setup`` / ``record``: it must be the
    record of that key, for this circuit and parameter file), or the cached DEVELOPMENT-ONLY key
    (whoever made it could forge) with a fresh, unsigned record that says so."""
    from zkmargin.formats.zkey import parse_zkey, zkey_to_bytes
    from zkmargin.prover.groth16 import verifying_key_of

    from ..keys import setup_keys, setup_record, vk_fingerprint
    if zkey is not None:
        data = Path(zkey).read_bytes()
        pk = parse_zkey(data)
        vk = verifying_key_of(pk)
        if setup is None:
            raise ProtocolError("a batch key needs its setup record (setup.json beside circuit.zkey)")
        if setup.vk_fingerprint != vk_fingerprint(vk) or not setup.matches(pf, fl.circuit_name(batch)):
            raise ProtocolError(f"the setup record is not the record of this key for the {fl.circuit_name(batch)} "
                                "circuit of this parameter file")
        return pk, vk, data, setup
    keys = setup_keys(pf.shape, model=pf.model, progress=progress, circuit=batch_circuit(pf.shape, pf.model, batch))
    return keys.pk, keys.vk, zkey_to_bytes(keys.pk), setup_record(keys, pf, fl.circuit_name(batch))


def setup_batch_keys(pf: ParamsFile, batch: int, out_dir, *, ptau=None, ceremony: str | None = None,
                     key=None, signer: str | None = None, force: bool = False, progress: Progress = None):
    """``venue solvency setup``: the batch circuit's keys from a ptau (a public ceremony's for
    production; none: the DEVELOPMENT-ONLY one) into ``out_dir`` (circuit.zkey,
    verification_key.json, setup.json), the record signed with ``key`` when given."""
    from zkmargin.formats.snarkjs_json import write_verifying_key
    from zkmargin.formats.zkey import write_zkey

    from ..keys import setup_keys, setup_record, write_setup_record
    out = Path(out_dir)
    fl.check_batch(batch, "--batch")
    if pf.shape.params != "digest":
        raise ProtocolError("a venue tree needs a digest-mode parameter file")
    if signer is not None and signer != pf.venue:
        raise ProtocolError(f"the signing key is {signer}'s, not the venue {pf.venue}'s")
    jio.check_writable_dir(out)
    for name in KEY_FILES:                  # before any work: a ceremony's key is never lost
        if (out / name).exists():
            jio.check_writable(out / name, overwrite=force)
    if ptau is not None and not Path(ptau).is_file():
        raise ProtocolError(f"ptau {ptau}: no such file")
    keys = setup_keys(pf.shape, ptau, model=pf.model, progress=progress, ceremony=ceremony,
                      circuit=batch_circuit(pf.shape, pf.model, batch))
    out.mkdir(parents=True, exist_ok=True)
    write_zkey(keys.pk, out / "circuit.zkey")
    write_verifying_key(out / "verification_key.json", keys.vk)
    rec = setup_record(keys, pf, fl.circuit_name(batch))
    if key is not None:
        rec = rec.signed(key, signer)
    write_setup_record(rec, out / "setup.json")
    return keys, rec


def record_batch_key(pf: ParamsFile, batch: int, zkey, *, ptau=None, ceremony: str | None = None,
                     progress: Progress = None):
    """``venue solvency record``: a fresh record for a batch key after ``zkey contribute`` rounds
    (verified against ``ptau`` and the batch circuit when given)."""
    from zkmargin.formats.zkey import read_zkey

    from ..keys import record_for_zkey
    fl.check_batch(batch, "--batch")
    return record_for_zkey(read_zkey(zkey), pf, ptau, ceremony=ceremony, progress=progress,
                           circuit=batch_circuit(pf.shape, pf.model, batch), circuit_name=fl.circuit_name(batch))


KEY_FILES = ("circuit.zkey", "verification_key.json", "setup.json")


def _check_batch(st: fl.TreeStatement, batch: int) -> int:
    if batch != st.batch:
        raise ProtocolError(f"the tree was built for batches of {st.batch} accounts, not {batch} (build --batch)")
    if batch > 1 << st.depth:
        raise ProtocolError(f"batch {batch} is larger than the tree ({1 << st.depth} leaves)")
    return batch.bit_length() - 1


def context_of(st: fl.TreeStatement, index: int):
    from zkmargin.circuits.venue_circuits import BatchContext
    return BatchContext(MODEL_CODES[st.model], st.buffer_bps, venue_id(st.venue), st.epoch, index)


def expected_prefix(st: fl.TreeStatement, index: int) -> list[int]:
    """The public inputs a batch proof must start with: model, buffer, venue, epoch, digest, index."""
    return [MODEL_CODES[st.model], st.buffer_bps, venue_id(st.venue), st.epoch, st.params_digest, index]


def record_of(st: fl.TreeStatement, batch: int, index: int, public: list[int], proof, fingerprint: str):
    c = st.shape.assets
    return fl.BatchProof(index, batch, public[6], public[7], tuple(public[8:8 + c]), public[8 + c], proof, fingerprint)


def prove_tree(tree_dir, pf: ParamsFile, *, batch: int | None = None, scheduler: str | None = None,
               workers: int | None = None, threads: int = 1, kernel_threads: int = 1, processes: bool = True,
               zkey=None, setup=None, only=None, progress: Progress = None, bar: bool = False, retries: int = 3,
               task=None, client=None) -> ProveReport:
    """Prove every batch of the tree in ``tree_dir`` (module docstring) with the batch size it
    was built for. ``zkey`` and its ``setup`` record: the batch key (default: the
    DEVELOPMENT-ONLY one). ``only`` restricts the run to some batch indices (benchmarks);
    ``client`` uses an existing Dask client; ``task`` replaces the worker function (tests of
    worker loss)."""
    from zkmargin.formats.snarkjs_json import write_verifying_key

    from ..keys import vk_fingerprint, write_setup_record
    tree = Path(tree_dir)
    st = fl.read_statement(tree)
    if (st.params_digest, st.venue, st.epoch) != (pf.digest, pf.venue, pf.epoch):
        raise ProtocolError("the parameter file is not the one the tree was built under")
    batch = st.batch if batch is None else batch
    _check_batch(st, batch)
    (tree / fl.PROOFS).mkdir(exist_ok=True)
    (tree / fl.KEYS).mkdir(exist_ok=True)
    for p in (tree / fl.KEYS / "verification_key.json", tree / fl.KEYS / "setup.json", fl.proof_path(tree, 0)):
        jio.check_writable(p)
    entries = fl.read_book_file(tree / fl.BOOK, check_commitments=False)
    if len(entries) != st.accounts:
        raise ProtocolError("the private book does not hold the statement's number of accounts")
    m = -(-st.accounts // batch)
    indices = list(range(m)) if only is None else sorted(set(only))
    if any(not 0 <= j < m for j in indices):
        raise ProtocolError(f"batch index out of range (the tree has {m} batches of {batch})")
    t0 = time.perf_counter()
    pk, vk, zbytes, record = batch_keys(pf, batch, zkey=zkey, setup=setup, progress=progress)
    fp = vk_fingerprint(vk)
    if st.vk_fingerprint and st.vk_fingerprint != fp:
        raise ProtocolError("the statement is already signed for another batch key; build the tree again to "
                            "prove it with this one")
    write_verifying_key(tree / fl.KEYS / "verification_key.json", vk)
    old = tree / fl.KEYS / "setup.json"
    if not _same_record(old, record):       # keep a record the venue already signed for this key
        write_setup_record(record, old)
    zid = hashlib.sha256(zbytes).hexdigest()

    todo = []
    skipped = 0
    for j in indices:
        p = fl.proof_path(tree, j)
        if p.exists():
            try:
                old = fl.read_batch_proof(p)
                if (old.index, old.batch, old.vk_fingerprint) == (j, batch, fp):
                    skipped += 1
                    continue
            except Exception:   # a damaged file is proven again
                pass
        todo.append(j)
    report = ProveReport(m, 0, skipped, 0, 0.0)
    accounts = [op.account for _, op in entries]
    fn = task or prove_batch_task

    def run(cl):
        # the key as the result of a task (not scattered data): if the workers holding it die,
        # the scheduler recomputes it from the graph instead of losing it
        import warnings
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sending large graph")
            zfut = cl.submit(_blob, zbytes, key=f"zkmargin-zkey-{zid[:24]}", pure=False)
        futs = {}
        tag = f"{st.root:x}"[:16]
        for j in todo:
            futs[cl.submit(fn, zfut, zid, pf.params, batch, accounts[j * batch:(j + 1) * batch],
                           context_of(st, j), key=f"zkmargin-batch-{tag}-{batch}-{j}", retries=retries,
                           pure=False)] = j
        from distributed import as_completed
        done: set = set()
        with _bar(bar, len(todo)) as tick:
            for fut in as_completed(list(futs)):
                res = fut.result()
                j = int(res["index"])
                if j != futs[fut] or j in done:
                    report.duplicates += 1
                    continue
                public = [int(v) for v in res["public"]]
                if public[:6] != expected_prefix(st, j):
                    raise ProtocolError(f"batch {j}: the worker's proof carries another context")
                from zkmargin.formats.snarkjs_json import proof_from_json
                rec = record_of(st, batch, j, public, proof_from_json(res["proof"]), fp)
                jio.write_json(fl.proof_path(tree, j), rec.to_json())
                done.add(j)
                report.proven += 1
                report.per_batch.append(res["seconds"])
                report.workers.add(res["pid"])
                tick()

    if todo:
        if client is not None:
            run(client)
        else:
            from .cluster import dask_client
            with dask_client(scheduler, workers=workers, threads=threads, kernel_threads=kernel_threads,
                             processes=processes) as cl:
                run(cl)
    report.seconds = time.perf_counter() - t0
    if only is None:
        check_combination(tree, st, batch)
    return report


def _same_record(path: Path, record) -> bool:
    from ..keys import read_setup_record
    if not path.exists():
        return False
    try:
        old = read_setup_record(path)
    except Exception:           # a damaged record is replaced
        return False
    return old.record_hash() == record.record_hash() and (old.signature is not None or record.signature is None)


def check_combination(tree: Path, st: fl.TreeStatement, batch: int) -> None:
    """The proven batch roots and sums must make up the published statement."""
    m = -(-st.accounts // batch)
    recs = [fl.read_batch_proof(fl.proof_path(tree, j)) for j in range(m)]
    if combine(st.shape, [r.root for r in recs], batch.bit_length() - 1, st.depth) != st.root:
        raise ProtocolError("the proven batch roots do not combine to the published root (book and leaves differ?)")
    totals = [sum(r.totals[c] for r in recs) for c in range(st.shape.assets)]
    if tuple(totals) != st.totals or sum(r.shortfall for r in recs) != st.total_shortfall:
        raise ProtocolError("the proven batch sums do not add up to the published totals")


class _bar:
    """A rich progress bar on stderr (or nothing)."""

    def __init__(self, on: bool, total: int):
        self.on, self.total = on, total

    def __enter__(self):
        if not self.on:
            return lambda: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn
        self.p = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True))
        self.p.__enter__()
        tid = self.p.add_task("proving batches", total=self.total)
        return lambda: self.p.advance(tid)

    def __exit__(self, *exc):
        if self.on:
            self.p.__exit__(*exc)
        return False


__all__ = ["prove_tree", "prove_batch_task", "batch_keys", "setup_batch_keys", "record_batch_key", "KEY_FILES",
           "batch_circuit", "ProveReport", "DEFAULT_BATCH",
           "expected_prefix", "context_of", "check_combination"]
