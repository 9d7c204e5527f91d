"""The Dask client for venue proving and verification.

``scheduler=None`` starts an embedded :class:`distributed.LocalCluster` on this machine (and
stops it on exit, also on error or Ctrl-C); ``scheduler="tcp://host:8786"`` connects to a
running cluster (its dashboard shows progress there). Worker layout on the embedded cluster:
``workers`` processes of ``threads`` Dask threads each, and ``kernel_threads`` prover threads per
task (``NUMBA_NUM_THREADS`` in the workers: the native prover kernels release the GIL and run
that many threads). Measured (benchmarks/bench_venue_solvency.py, B = 16, docs/VENUE_SOLVENCY.md):
two Dask threads in one process and two worker processes gave the same steady throughput within
5 % -- the witness replay, the only part that holds the GIL, is about 2 % of a task -- so the
default is one worker process per core with one thread and one kernel thread each: the same
speed, and a crashing or killed task takes down one process, not every task in flight.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator, Optional

from ..params import ProtocolError

#: Worker deaths a task survives on the embedded cluster (set the same on a real scheduler:
#: ``distributed.scheduler.allowed-failures``).
ALLOWED_FAILURES = 16


def _check_url(url: str) -> str:
    import re
    if not re.fullmatch(r"(tcp|tls|inproc|ucx)://[A-Za-z0-9.\-\[\]:_/]{1,200}", url):
        raise ProtocolError("--scheduler must look like tcp://host:8786")
    return url


@contextlib.contextmanager
def dask_client(scheduler: Optional[str] = None, *, workers: Optional[int] = None, threads: int = 1,
                kernel_threads: int = 1, processes: bool = True) -> Iterator[object]:
    """A connected :class:`distributed.Client` (module docstring)."""
    import logging

    from distributed import Client, LocalCluster
    for name in ("distributed", "distributed.worker", "distributed.scheduler", "distributed.nanny",
                 "distributed.core", "distributed.http.proxy"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if scheduler is not None:
        try:
            client = Client(_check_url(scheduler), timeout="20s")
        except OSError as e:
            raise ProtocolError(f"cannot reach the Dask scheduler: {e}") from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or max(1, os.cpu_count() or 1)
    env = {"NUMBA_NUM_THREADS": str(kernel_threads), "OMP_NUM_THREADS": "1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)          # inherited by the worker processes (and threads here)
    import dask
    try:
        # a worker that dies while it holds several queued batches counts against each of them:
        # allow more deaths per task than Dask's default 3 before a batch is given up
        with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
            cluster = LocalCluster(n_workers=n, threads_per_worker=threads, processes=processes,
                                   dashboard_address=None, silence_logs=logging.ERROR)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


__all__ = ["dask_client"]
