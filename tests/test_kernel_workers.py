"""The kernel set's worker threads (algebra.kernel_set.Workers): results in item order, the
first failing item's exception, and a fresh set of threads in a forked child."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from zkmargin.algebra.kernel_set import KernelSet, Workers


def test_results_in_item_order():
    w = Workers(3)
    assert w.map(lambda x: x * x, list(range(20))) == [x * x for x in range(20)]
    assert w.map(str, []) == []


def test_first_failing_item_is_raised_after_all_ran():
    w = Workers(2)
    ran = []

    def fn(x):
        ran.append(x)
        if x in (3, 5):
            raise ValueError(f"bad {x}")
        return x

    with pytest.raises(ValueError, match="bad 3"):
        w.map(fn, list(range(8)))
    assert sorted(ran) == list(range(8))


def test_kernel_set_map_uses_new_threads_after_fork():
    ks = KernelSet(k=sys, name="test", threads=2)
    assert ks._map(lambda x: x + 1, [1, 2, 3]) == [2, 3, 4]
    pid = os.fork()
    if pid == 0:                                   # pragma: no cover - the child
        ok = ks._map(lambda x: x + 1, [1, 2, 3]) == [2, 3, 4] and ks._pool.pid == os.getpid()
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_prover_process_does_not_import_concurrent_futures_or_logging():
    code = ("import sys; from zkmargin.algebra.kernel_set import KernelSet; "
            "KernelSet(k=sys, name='t', threads=2)._map(abs, [-1, -2]); "
            "print(sorted(m for m in ('concurrent.futures', 'logging', 'decimal') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
