"""Batched Groth16 pairings for queued submissions.

Request handlers hand :class:`PairingBatcher` a (key, public vector, proof) and wait on the
returned future. One worker thread takes whatever is queued -- up to ``max_batch`` items,
waiting at most ``max_wait_s`` after the first for more to arrive -- groups them by verifying
key and runs :func:`zkmargin.verifier.batch.batch_verify` on each group: one multi-pairing for
the whole group, and bisection (with fresh randomness) to name the bad proofs when it fails.
Under light load a proof waits at most ``max_wait_s``; under heavy load batches fill up and
the per-proof pairing cost drops to a fraction of a single verification.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

from zkmargin.verifier.batch import batch_verify


@dataclass
class _Item:
    key_id: str
    pvk: object
    values: list
    proof: object
    future: Future


class PairingBatcher:
    def __init__(self, *, max_batch: int = 64, max_wait_s: float = 0.01):
        self.max_batch = max(1, int(max_batch))
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
            try:
                res = batch_verify(live[0].pvk, [(it.values, it.proof) for it in live])
            except Exception as e:  # a bad key or a kernel failure: every waiter learns it
                for it in live:
                    it.future.set_exception(e)
                continue
            self.batches += 1
            self.proofs += len(live)
            self.sizes.append(len(live))
            del self.sizes[:-1000]
            bad = set(res.bad)
            for j, it in enumerate(live):
                it.future.set_result((j not in bad, res.reasons.get(j, "")))


__all__ = ["PairingBatcher"]
