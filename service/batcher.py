"""Batched Groth16 pairings for queued submissions.

Request handlers hand :class:`PairingBatcher` a (key, public vector, proof) and wait on the
returned future. One worker thread takes whatever is queued -- up to ``max_batch`` items,
waiting at most ``max_wait_s`` after the first for more to arrive -- groups them by verifying
key and runs :func:`zkmargin.verifier.batch.batch_verify` on each group: one multi-pairing for
the whole group, and bisection (with fresh randomness) to name the bad proofs when it fails
(groups smaller than :data:`MIN_BATCH` are verified one by one: cheaper there).
Under light load a proof waits at most ``max_wait_s``; under heavy load batches fill up and
the per-proof pairing cost drops to a fraction of a single verification.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from zkmargin.verifier.batch import batch_verify
from zkmargin.verifier.groth16 import verify

#: Below this many proofs a batch costs more than single verifications (the batch equation
#: cannot use the key's prepared Miller lines: ~100 ms fixed against ~45 ms per single check).
MIN_BATCH = 3


def verify_group(pvk, items) -> tuple[set, dict]:
    """(indices of the bad proofs, their reasons) for [(public values, proof), ...] under one key."""
    if len(items) < MIN_BATCH:
        results = [verify(pvk, values, proof) for values, proof in items]
        return ({j for j, r in enumerate(results) if not r.valid},
                {j: r.reason for j, r in enumerate(results) if not r.valid})
    res = batch_verify(pvk, items)
    return set(res.bad), dict(res.reasons)


_WORKER_KEYS: dict = {}


def _in_worker(key_id: str, vk, items) -> tuple[set, dict]:
    """Runs in the pairing process: the prepared key is kept there per key id."""
    from zkmargin.verifier.groth16 import prepare_verifying_key
    pvk = _WORKER_KEYS.get(key_id)
    if pvk is None:
        pvk = _WORKER_KEYS[key_id] = prepare_verifying_key(vk)
    return verify_group(pvk, items)


def _warm_worker() -> bool:
    from zkmargin.algebra import G1_GEN, G2_GEN, g1_mul, g2_mul
    from zkmargin.formats.data_structures import Proof, VerifyingKey
    vk = VerifyingKey(G1_GEN, G2_GEN, g2_mul(G2_GEN, 2), g2_mul(G2_GEN, 3), [G1_GEN, g1_mul(G1_GEN, 3)])
    _in_worker("warm-up", vk, [([1], Proof(G1_GEN, G2_GEN, G1_GEN))] * MIN_BATCH)
    _WORKER_KEYS.pop("warm-up", None)
    return True


@dataclass
class _Item:
    key_id: str
    pvk: object
    values: list
    proof: object
    future: Future


class PairingBatcher:
    def __init__(self, *, max_batch: int = 64, max_wait_s: float = 0.01, processes: int = 0):
        self.max_batch = max(1, int(max_batch))
        # processes=1: the pairings run in a separate process, so they do not hold this
        # process's GIL while the request threads parse, pre-check and write to the database
        self._pool = None
        if processes > 0:
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            self._pool.submit(_warm_worker).result(timeout=600)
        self.max_wait_s = max(0.0, float(max_wait_s))
        self._q: "queue.Queue[_Item | None]" = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="zkmargin-pairing-batcher", daemon=True)
        self._stopped = False
        self.batches = 0            #: batches run
        self.proofs = 0             #: proofs pairing-checked
        self.sizes: list[int] = []  #: recent batch sizes (the last 1000), for /metrics
        self._thread.start()

    def submit(self, key_id: str, pvk, values, proof) -> Future:
        fut: Future = Future()
        if self._stopped:
            fut.set_exception(RuntimeError("the gateway is shutting down"))
            return fut
        self._q.put(_Item(key_id, pvk, list(values), proof, fut))
        return fut

    def close(self) -> None:
        self._stopped = True
        self._q.put(None)
        self._thread.join(timeout=30)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self) -> None:
        while True:
            first = self._q.get()
            if first is None:
                return
            items = [first]
            deadline = time.monotonic() + self.max_wait_s
            stop = False
            while len(items) < self.max_batch:
                left = deadline - time.monotonic()
                try:
                    nxt = self._q.get(timeout=left) if left > 0 else self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                items.append(nxt)
            self._verify(items)
            if stop:
                return

    def _verify(self, items: list[_Item]) -> None:
        groups: dict[str, list[_Item]] = {}
        for it in items:
            groups.setdefault(it.key_id, []).append(it)
        for group in groups.values():
            live = [it for it in group if it.future.set_running_or_notify_cancel()]
            if not live:
                continue
            items = [(it.values, it.proof) for it in live]
            try:
                if self._pool is not None:
                    bad, reasons = self._pool.submit(_in_worker, live[0].key_id, live[0].pvk.vk, items).result()
                else:
                    bad, reasons = verify_group(live[0].pvk, items)
            except Exception as e:  # a bad key or a kernel failure: every waiter learns it
                for it in live:
                    it.future.set_exception(e)
                continue
            self.batches += 1
            self.proofs += len(live)
            self.sizes.append(len(live))
            del self.sizes[:-1000]
            for j, it in enumerate(live):
                it.future.set_result((j not in bad, reasons.get(j, "")))


__all__ = ["PairingBatcher", "verify_group", "MIN_BATCH"]
