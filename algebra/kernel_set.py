"""The prover's compute layer: the serial kernels of :mod:`prover_kernels`, run on threads.

A :class:`KernelSet` wraps one namespace of those kernels -- the ahead-of-time native module
(:mod:`zkmargin.algebra.native`) or the JIT-compiled ``prover_kernels`` module itself, which
have the same functions -- and adds the orchestration: argument layouts, twiddle tables,
the MSM plan, and the split of work over threads.  The kernels release the GIL, so the
threads of one pool really run in parallel (one per core).

Nothing here imports numba: with the native module a whole prover process never loads it.
:func:`kernel_set` picks the namespace (see :func:`zkmargin.algebra.native.mode`).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from types import ModuleType
from typing import Any, Callable, Optional, Sequence

import numpy as np

try:                                   # the C queue alone: the queue module imports more
    from _queue import SimpleQueue
except ImportError:                    # pragma: no cover - other Pythons
    from queue import SimpleQueue

from .arrays import g1_array_from_points, g1_points_from_array, g2_array_from_points, g2_points_from_array, ints_to_array
from .constants import R, root_of_unity
from .msm_plan import MsmPlan, msm_plan
from .points import G1Point, G2Point

_U64 = np.uint64


def _u64(a: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype != _U64:
        raise TypeError(f"{what}: expected a uint64 array, got {a.dtype}")
    return a


def _c_aligned(a: np.ndarray) -> np.ndarray:
    """``a`` itself if C-contiguous and aligned, else an aligned C-contiguous copy (a view of
    a key section that starts 4 bytes off an 8-byte boundary is contiguous but not aligned)."""
    return np.require(a, requirements=["C", "A"])


def _vec(a: np.ndarray, what: str = "F_r vector") -> np.ndarray:
    """A C-contiguous, aligned uint64[n, 4] array (the exact layout the native kernels
    require: they do not check their arguments, so every array passes through here or
    :func:`_points` or :func:`_records`)."""
    a = _u64(a, what)
    if a.ndim != 2 or a.shape[1] != 4:
        raise ValueError(f"{what}: expected shape (n, 4), got {a.shape}")
    return _c_aligned(a)


def _points(a: np.ndarray, width: int, what: str, *, aligned: bool = True) -> np.ndarray:
    """Point array (n, 2, 4) / (n, 2, 2, 4) or flat rows (n, width) -> C-contiguous (n, width),
    8-byte aligned unless ``aligned=False`` (the MSM window kernels take unaligned rows, so a
    mapped key's section is never copied); a copy only where the input is not so already."""
    a = _u64(a, what)
    if a.ndim < 2 or a.size != a.shape[0] * width:
        raise ValueError(f"{what}: expected {width} limbs per point, got shape {a.shape}")
    rows = _c_aligned(a) if aligned else np.require(a, requirements=["C"])
    return rows.reshape(a.shape[0], width)


def _records(a: np.ndarray) -> np.ndarray:
    """A .zkey's section-4 records as the kernels take them: C-contiguous, aligned
    uint32[nnz, 11]."""
    a = np.asarray(a)
    if a.dtype != np.uint32 or a.ndim != 2 or a.shape[1] != 11:
        raise ValueError(f"coefficient records: expected uint32[nnz, 11], got {a.dtype}{list(a.shape)}")
    return _c_aligned(a)


def _mont_row(x: int) -> np.ndarray:
    """x in Montgomery form as a (1, 4) row."""
    return ints_to_array([(x % R << 256) % R])


def _canon_row(x: int) -> np.ndarray:
    """x mod r as a (1, 4) row."""
    return ints_to_array([x % R])


def default_threads() -> int:
    """Worker threads: ``$NUMBA_NUM_THREADS`` if set (the JIT kernels' own setting), else
    the CPUs this process may run on."""
    env = os.environ.get("NUMBA_NUM_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


class Workers:
    """A fixed set of daemon threads running ``fn(item)`` jobs: what ``ThreadPoolExecutor.map``
    was used for here, without importing ``concurrent.futures`` (and the ``logging`` it pulls
    in: several milliseconds of every prover process's start)."""

    def __init__(self, n: int):
        self.pid = os.getpid()            # a forked child has none of these threads
        self._jobs: SimpleQueue = SimpleQueue()
        for i in range(n):
            threading.Thread(target=self._work, name=f"zkm_{i}", daemon=True).start()

    def _work(self) -> None:
        while True:
            self._jobs.get()()

    def map(self, fn: Callable, items: list) -> list:
        """``[fn(x) for x in items]`` run on the workers; the first failing item's exception
        (in item order) is raised once all have finished."""
        n = len(items)
        if n == 0:
            return []
        results: list = [None] * n
        errors: list = [None] * n
        left = [n]
        lock = threading.Lock()
        done = threading.Event()

        def job(i: int) -> None:
            try:
                results[i] = fn(items[i])
            except BaseException as e:   # handed back to the caller
                errors[i] = e
            with lock:
                left[0] -= 1
                if left[0] == 0:
                    done.set()

        for i in range(n):
            self._jobs.put(lambda i=i: job(i))
        done.wait()
        for e in errors:
            if e is not None:
                raise e
        return results


class LazyWorkers:
    """:class:`Workers` started on first use, and started again in a forked child (which has
    none of the parent's threads); small maps run inline."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._workers: Optional[Workers] = None

    @property
    def pid(self) -> Optional[int]:
        """The process the current workers belong to (None before first use)."""
        return None if self._workers is None else self._workers.pid

    def map(self, fn: Callable, items, threads: int) -> list:
        """``[fn(x) for x in items]``, on ``threads`` worker threads when there is more than
        one item and more than one thread."""
        items = list(items)
        if threads <= 1 or len(items) <= 1:
            return [fn(x) for x in items]
        with self._lock:
            if self._workers is None or self._workers.pid != os.getpid():
                self._workers = Workers(threads)
            workers = self._workers
        return workers.map(fn, items)


@dataclass
class Job:
    """Independent pieces of one computation and how to finish it: ``tasks`` are
    (estimated cost, callable) pairs that may run in any order on any thread (each writes its
    own slice of a shared buffer); ``finish()`` combines their results once all have run.
    :meth:`KernelSet.run_jobs` runs the tasks of several jobs on one pool, so a thread that
    finishes early picks up work of another job instead of idling."""

    tasks: list[tuple[float, Callable[[], Any]]]
    finish: Callable[[], Any]


#: opcodes of :class:`ProgramTables` steps
OP_MUL, OP_BITS, OP_COPY, OP_PY = range(4)


def _ptr_ok(ptr: np.ndarray, n_items: int) -> bool:
    return len(ptr) >= 1 and ptr[0] == 0 and ptr[-1] == n_items and bool((np.diff(ptr) >= 0).all())


@dataclass(frozen=True)
class ProgramTables:
    """A straight-line program over F_r, as :meth:`KernelSet.run_program` runs it.

    Signal ``i`` is row ``i`` of a uint64[n_values, 4] Montgomery array. Linear combination
    ``j`` has the terms ``lc_ptr[j] .. lc_ptr[j+1]``: signal ``lc_idx[t]`` times coefficient
    row ``coeffs[lc_cid[t]]`` (Montgomery). Step ``s`` reads the refs ``ins[in_ptr[s] ..
    in_ptr[s+1]]`` (``r >= 0`` the signal r, ``r < 0`` the LC ``-r - 1``) and writes the signals
    ``outs[out_ptr[s] ..]``; ``ops[s]`` is one of ``OP_MUL`` (x * y), ``OP_BITS`` (the
    ``aux[s]`` low bits of x), ``OP_COPY`` or ``OP_PY`` (a hint the caller runs). ``phases``
    are the step lists the program runs in (for a witness program: its static and its dynamic
    steps). All arrays int64 except ``coeffs``. :meth:`make` checks every index, which the
    kernel trusts."""

    n_values: int
    lc_ptr: np.ndarray
    lc_idx: np.ndarray
    lc_cid: np.ndarray
    coeffs: np.ndarray
    ops: np.ndarray
    aux: np.ndarray
    in_ptr: np.ndarray
    ins: np.ndarray
    out_ptr: np.ndarray
    outs: np.ndarray
    phases: tuple[np.ndarray, ...]
    max_inputs: int

    @classmethod
    def make(cls, n_values: int, lc_ptr, lc_idx, lc_cid, coeffs: np.ndarray, ops, aux, in_ptr, ins,
             out_ptr, outs, phases=()) -> "ProgramTables":
        """Tables from array-likes; raises ValueError on any index out of range or a step whose
        input and output counts do not fit its opcode."""
        a = [np.ascontiguousarray(x, dtype=np.int64) for x in (lc_ptr, lc_idx, lc_cid, ops, aux, in_ptr, ins,
                                                                out_ptr, outs)]
        lc_ptr, lc_idx, lc_cid, ops, aux, in_ptr, ins, out_ptr, outs = a
        coeffs = _vec(coeffs, "program coefficients")
        n, n_lcs, n_steps = int(n_values), len(lc_ptr) - 1, len(ops)

        def within(x: np.ndarray, lo: int, hi: int) -> bool:
            return not x.size or (int(x.min()) >= lo and int(x.max()) < hi)

        if n < 1 or not _ptr_ok(lc_ptr, len(lc_idx)) or len(lc_cid) != len(lc_idx) \
                or not within(lc_idx, 0, n) or not within(lc_cid, 0, len(coeffs)):
            raise ValueError("program: bad linear-combination table")
        if len(aux) != n_steps or len(in_ptr) != n_steps + 1 or len(out_ptr) != n_steps + 1 \
                or not _ptr_ok(in_ptr, len(ins)) or not _ptr_ok(out_ptr, len(outs)) \
                or not within(ins, -n_lcs, n) or not within(outs, 0, n) or not within(ops, 0, OP_PY + 1):
            raise ValueError("program: bad step table")
        nin, nout = np.diff(in_ptr), np.diff(out_ptr)
        ok = ((ops != OP_MUL) | ((nin == 2) & (nout == 1))) & ((ops != OP_COPY) | ((nin == 1) & (nout == 1)))
        ok &= (ops != OP_BITS) | ((nin == 1) & (aux == nout))
        if not ok.all():
            raise ValueError("program: a step's input or output count does not fit its opcode")
        phases = tuple(np.ascontiguousarray(p, dtype=np.int64) for p in phases)
        if not all(p.ndim == 1 and within(p, 0, n_steps) for p in phases):
            raise ValueError("program: a phase names a step out of range")
        py = ops == OP_PY
        return cls(n, lc_ptr, lc_idx, lc_cid, coeffs, ops, aux, in_ptr, ins, out_ptr, outs, phases,
                   int(nin[py].max()) if py.any() else 0)


#: relative cost of one group addition: G1 batch-affine / Jacobian, and G2 is about three times G1
_ADD_COST = {(True, True): 6.0, (True, False): 11.0, (False, True): 18.0, (False, False): 33.0}


@dataclass
class KernelSet:
    """The prover's operations over one kernel namespace ``k``."""

    k: ModuleType
    name: str
    threads: int = field(default_factory=default_threads)
    _pool: LazyWorkers = field(default_factory=LazyWorkers, init=False, repr=False)
    _table_cache: dict = field(default_factory=dict, init=False, repr=False)

    def _map(self, fn, items) -> list:
        return self._pool.map(fn, items, self.threads)

    def run_jobs(self, jobs: Sequence[Job]) -> list:
        """Run every task of ``jobs`` on the worker threads, the most expensive first (each
        free thread takes the next one from the queue: longest-processing-time-first
        scheduling), then return ``[job.finish() for job in jobs]``.  Tasks must not use the
        workers themselves."""
        tasks = sorted((t for job in jobs for t in job.tasks), key=lambda t: -t[0])
        self._map(lambda t: t[1](), tasks)
        return [job.finish() for job in jobs]

    # ---- F_r vectors ----------------------------------------------------------------------

    def to_mont(self, a: np.ndarray) -> np.ndarray:
        return self.k.fr_to_mont(_vec(a))

    def from_mont(self, a: np.ndarray) -> np.ndarray:
        return self.k.fr_from_mont(_vec(a))

    def sparse_matvec(self, rows: np.ndarray, cols: np.ndarray, coeffs: np.ndarray,
                      w_mont: np.ndarray, n_rows: int) -> np.ndarray:
        """out[rows[k]] += coeffs[k] * w[cols[k]] (canonical out; see prover_kernels)."""
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        cols = np.ascontiguousarray(cols, dtype=np.int64)
        w_mont = _vec(w_mont, "witness")
        coeffs = _vec(coeffs, "coefficients")
        if rows.ndim != 1 or rows.shape != cols.shape or rows.shape[0] != coeffs.shape[0]:
            raise ValueError("sparse matrix: rows, cols and coefficients differ in length")
        if rows.size and (rows.min() < 0 or rows.max() >= n_rows or cols.min() < 0
                          or cols.max() >= w_mont.shape[0]):
            raise ValueError("sparse matrix: index out of range")
        return self.k.sparse_matvec(rows, cols, coeffs, w_mont, int(n_rows))

    def records_first_bad(self, records: np.ndarray, n_vars: int, n_rows: int) -> int:
        """Index of the first invalid section-4 record (matrix not 0/1, constraint >= n_rows,
        signal >= n_vars, value >= r), or -1: the check :meth:`records_matvec` relies on."""
        return int(self.k.coef_records_first_bad(_records(records), int(n_vars), int(n_rows)))

    def records_matvec(self, records: np.ndarray, witness: np.ndarray,
                       n_rows: int) -> tuple[np.ndarray, np.ndarray]:
        """(A·w, B·w), canonical uint64[n_rows, 4] each, straight from a .zkey's section-4
        records (values stored times R^2, checked reduced by the key reader) and the canonical
        witness; the two products run on two threads.  Raises ValueError if a record's index
        is out of range."""
        records, witness = _records(records), _vec(witness, "witness")
        out = np.zeros((2 * n_rows, 4), dtype=_U64)
        bad = self._map(lambda m: int(self.k.coef_records_matvec(records, witness, int(n_rows), m, out)),
                        [0, 1])                           # A on one thread, B on the other
        if bad[0] >= 0:                                   # both scan every record's indices
            raise ValueError(f"coefficient records: index out of range in record {bad[0]}")
        return out[:n_rows], out[n_rows:]

    def powers(self, base: int, n: int, first: int = 1) -> np.ndarray:
        """Canonical ``first * base^i`` for i < n (one sequential kernel pass)."""
        if n <= 0:
            return np.zeros((0, 4), dtype=_U64)
        return self.k.fr_from_mont(self.k.powers(_mont_row(first), _mont_row(base), int(n)))

    def mul_sub(self, a: np.ndarray, b: np.ndarray, c: Optional[np.ndarray] = None) -> np.ndarray:
        """a ∘ b − c (canonical; c omitted: a ∘ b)."""
        a, b = _vec(a), _vec(b)
        cc = np.zeros((0, 4), dtype=_U64) if c is None else _vec(c)   # empty: no subtraction
        if b.shape != a.shape or (c is not None and cc.shape != a.shape):
            raise ValueError("mul_sub: vectors differ in length")
        return self.k.mul_sub(a, b, cc)

    # ---- straight-line programs over F_r (witness programs) ---------------------------------

    def run_program(self, prog: "ProgramTables", phase: int, lo: int, vals: np.ndarray, lcv: np.ndarray,
                    lc_done: np.ndarray, scratch: np.ndarray) -> int:
        """Run the steps ``prog.phases[phase][lo:]`` on the Montgomery values ``vals`` until the
        first Python-hint step, whose inputs land in ``scratch``; returns its position in the
        phase, or the phase's length (see ``prover_kernels.program_run``).  ``lcv`` / ``lc_done``
        memoise the linear combinations across calls.  Every index was checked when ``prog`` was
        made; the buffers passed here are checked against it."""
        n_lcs = len(prog.lc_ptr) - 1
        if (vals.dtype != _U64 or vals.shape != (prog.n_values, 4) or not vals.flags.c_contiguous
                or lcv.dtype != _U64 or lcv.shape != (n_lcs, 4) or not lcv.flags.c_contiguous
                or lc_done.dtype != np.uint8 or lc_done.shape != (n_lcs,)
                or scratch.dtype != _U64 or scratch.ndim != 2 or scratch.shape[0] < prog.max_inputs
                or scratch.shape[1] != 4 or not scratch.flags.c_contiguous):
            raise ValueError("program buffers do not match the program")
        if not 0 <= phase < len(prog.phases):
            raise ValueError("program phase out of range")
        steps = prog.phases[phase]
        if not 0 <= lo <= len(steps):
            raise ValueError("program start out of range")
        return int(self.k.program_run(vals, lcv, lc_done, prog.lc_ptr, prog.lc_idx, prog.lc_cid, prog.coeffs,
                                      prog.ops, prog.aux, prog.in_ptr, prog.ins, prog.out_ptr, prog.outs,
                                      steps, int(lo), scratch))

    # ---- NTT ------------------------------------------------------------------------------

    def _tables(self, n: int, shift: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(twiddles w^j and inverse twiddles w^-j for j < n/2; scale n^-1 * shift^k, k < n),
        Montgomery, cached per (n, shift)."""
        key = (n, shift)
        if key not in self._table_cache:
            w = root_of_unity(n)
            half = max(1, n // 2)
            one = _mont_row(1)
            tables = (self.k.powers(one, _mont_row(w), half),
                      self.k.powers(one, _mont_row(pow(w, -1, R)), half),
                      self.k.powers(_mont_row(pow(n, -1, R)), _mont_row(shift), n))
            if len(self._table_cache) >= 4:       # a few domain sizes per process at most
                self._table_cache.pop(next(iter(self._table_cache)))
            self._table_cache[key] = tables
        return self._table_cache[key]

    def intt(self, values: np.ndarray) -> np.ndarray:
        """Coefficients (canonical) of the polynomial taking the canonical ``values`` on the
        size-n domain: n^-1 times the NTT with w^-1."""
        v = _vec(values)
        n = v.shape[0]
        if n == 0 or n & (n - 1):
            raise ValueError(f"iNTT size must be a power of two, got {n}")
        if n == 1:
            return v.copy()
        _, inv_tw, scale = self._tables(n, 1)       # scale[k] = n^-1 (shift 1)
        m = self.k.fr_to_mont(v)
        self.k.ntt_mont(m, inv_tw)
        return self.k.mont_mul_sub(m, scale, np.zeros_like(m))

    def odd_coset_h(self, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        """snarkjs' H scalars: (A·B − C) on the odd coset ω_2n·⟨ω_n⟩ (see prover.groth16)."""
        return self.run_jobs([self.odd_coset_h_job(a, b, c)])[0]

    def odd_coset_h_job(self, a: np.ndarray, b: np.ndarray, c: np.ndarray, *,
                        overwrite: bool = False) -> Job:
        """:meth:`odd_coset_h` as a :class:`Job`: the three coset-evaluation chains are its
        tasks (cost ~ n log n each), the pointwise A·B − C its finish.  ``overwrite``: each
        chain works in its input array itself (a, b and c are left holding Montgomery coset
        values; no three more n-element arrays), else on copies."""
        a, b, c = _vec(a), _vec(b), _vec(c)
        n = a.shape[0]
        if n == 0 or n & (n - 1) or b.shape[0] != n or c.shape[0] != n:
            raise ValueError(f"H: vectors of one power-of-two length expected, got {n}")
        if overwrite and (np.may_share_memory(a, b) or np.may_share_memory(a, c)
                          or np.may_share_memory(b, c) or not all(v.flags.writeable for v in (a, b, c))):
            raise ValueError("H: overwrite needs three distinct writable arrays")
        tw, inv_tw, scale = self._tables(n, root_of_unity(2 * n))
        evals: list[Optional[np.ndarray]] = [a, b, c] if overwrite else [None, None, None]

        def chain(i: int, v: np.ndarray) -> Callable[[], None]:
            def run() -> None:
                if overwrite:
                    self.k.coset_evals_mont_inplace(v, inv_tw, scale, tw)
                else:
                    evals[i] = self.k.coset_evals_mont(v, inv_tw, scale, tw)
            return run

        def finish() -> np.ndarray:
            h = self.k.mont_mul_sub(*evals)
            evals[:] = [None, None, None]
            return h

        cost = 2.0 * n * max(1, n.bit_length() - 1)
        return Job([(cost, chain(i, v)) for i, v in enumerate((a, b, c))], finish)

    # ---- MSM ------------------------------------------------------------------------------

    def _signed_digits(self, scalars: np.ndarray, c: int, n_windows: int) -> np.ndarray:
        """int32[n, n_windows] signed digits, the rows split over the worker threads (2^20
        scalars, c = 15: 0.09 s in one serial pass, 0.05 s split over 2 threads)."""
        n = scalars.shape[0]
        out = np.empty((n, n_windows), dtype=np.int32)
        parts = max(1, min(self.threads, n // 4096))
        bounds = [n * k // parts for k in range(parts + 1)]
        self._map(lambda k: self.k.signed_digits_rows(scalars, c, n_windows, out, bounds[k], bounds[k + 1]),
                  list(range(parts)))
        return out

    def _msm_digits(self, scalars: np.ndarray, width: int) -> Optional[tuple[MsmPlan, np.ndarray]]:
        """The plan and signed digits for an MSM over ``scalars`` with ``width``-limb affine
        points, or None when every scalar is zero."""
        n = scalars.shape[0]
        bits = int(self.k.scalar_bits(scalars)) if n else 0
        if bits == 0:
            return None
        plan = msm_plan(n, bits, self.threads, point_bytes=8 * width)
        return plan, self._signed_digits(scalars, plan.c, plan.n_windows)

    def _window_job(self, rows: np.ndarray, digits: np.ndarray, plan: MsmPlan, g1: bool) -> Job:
        """Pippenger over flat affine rows and their digit rows (one per point) as a
        :class:`Job`: one task per (window, chunk), finishing with the Horner combination;
        the result is one affine row (zeros = infinity)."""
        width = 8 if g1 else 16
        n = rows.shape[0]
        if n == 0:
            return Job([], lambda: np.zeros((1, width), dtype=_U64))
        jac_width = 3 * (width // 2)           # Jacobian rows: X, Y, Z of one coordinate each
        units = plan.n_windows * plan.n_chunks
        out = np.zeros((units, jac_width), dtype=_U64)
        window_sums = self.k.window_sums_g1 if g1 else self.k.window_sums_g2
        batch = plan.batch_size if plan.affine else 0

        def unit(task: int) -> Callable[[], None]:
            return lambda: window_sums(rows, digits, plan.c, plan.n_chunks, out, batch, task, units)

        def finish() -> np.ndarray:
            combine = self.k.combine_windows_g1 if g1 else self.k.combine_windows_g2
            jac = combine(out, plan.c, plan.n_windows, plan.n_chunks)
            return (self.k.jac_to_affine_g1 if g1 else self.k.jac_to_affine_g2)(jac)

        cost = (n / plan.n_chunks + (1 << plan.c)) * _ADD_COST[(g1, plan.affine)]
        return Job([(cost, unit(t)) for t in range(units)], finish)

    def _msm_rows_jobs(self, parts: Sequence[tuple[np.ndarray, int]], scalars: np.ndarray,
                       g1: bool) -> list[Job]:
        """One job per (rows, start) in ``parts``: Σ_i scalars[start + i] · rows[i], where
        ``rows`` must cover ``scalars`` from ``start`` to the end.  All of them share one plan
        and one pass of signed digits (a suffix of the digit rows is the suffix's digits)."""
        width = 8 if g1 else 16
        n = scalars.shape[0]
        for rows, start in parts:
            if not 0 <= start <= n or rows.shape[0] != n - start:
                raise ValueError(f"MSM: {rows.shape[0]} points for scalars {start}..{n}")
        planned = self._msm_digits(scalars, width)
        if planned is None:
            return [Job([], lambda: np.zeros((1, width), dtype=_U64)) for _ in parts]
        plan, digits = planned
        return [self._window_job(rows, digits[start:], plan, g1) for rows, start in parts]

    def msm_g1_jobs(self, parts: Sequence[tuple[np.ndarray, int]], scalars: np.ndarray) -> list[Job]:
        """G1 MSMs over one scalar vector as :class:`Job` s (to run beside other work with
        :meth:`run_jobs`): for each (points, start), Σ_i scalars[start + i] · points[i], with
        ``points`` covering ``scalars[start:]`` exactly.  The prover's A, B1 and C sums take
        the witness this way, from one signed-digit pass."""
        scalars = _vec(scalars, "scalars")
        jobs = self._msm_rows_jobs([(_points(p, 8, "G1 points", aligned=False), start) for p, start in parts],
                                   scalars, True)
        return [Job(job.tasks, lambda job=job: g1_points_from_array(job.finish().reshape(1, 2, 4))[0])
                for job in jobs]

    def msm_g1_job(self, points: np.ndarray, scalars: np.ndarray) -> Job:
        """:meth:`msm_g1` as a :class:`Job`."""
        return self.msm_g1_jobs([(points, 0)], scalars)[0]

    def msm_g2_job(self, points: np.ndarray, scalars: np.ndarray) -> Job:
        """:meth:`msm_g2` as a :class:`Job`."""
        job, = self._msm_rows_jobs([(_points(points, 16, "G2 points", aligned=False), 0)],
                                   _vec(scalars, "scalars"), False)
        return Job(job.tasks, lambda: g2_points_from_array(job.finish().reshape(1, 2, 2, 4))[0])

    def msm_g1(self, points: np.ndarray, scalars: np.ndarray) -> G1Point:
        """Σ scalars[i]·points[i] for a G1 array and canonical scalars."""
        return self.run_jobs([self.msm_g1_job(points, scalars)])[0]

    def msm_g2(self, points: np.ndarray, scalars: np.ndarray) -> G2Point:
        """Σ scalars[i]·points[i] for a G2 array and canonical scalars."""
        return self.run_jobs([self.msm_g2_job(points, scalars)])[0]

    def g1_mul(self, p: G1Point, k: int) -> G1Point:
        """k·p (a one-point MSM)."""
        return self.msm_g1(g1_array_from_points([p]), _canon_row(k))

    def g2_mul(self, p: G2Point, k: int) -> G2Point:
        return self.msm_g2(g2_array_from_points([p]), _canon_row(k))

    # ---- point checks ----------------------------------------------------------------------

    def g1_first_off_curve(self, points: np.ndarray) -> int:
        """Index of the first G1 point (affine Montgomery array) off the curve, or -1."""
        return int(self.k.g1_first_off_curve(_points(points, 8, "G1 points")))

    def g2_first_off_curve(self, points: np.ndarray) -> int:
        return int(self.k.g2_first_off_curve(_points(points, 16, "G2 points")))


@lru_cache(maxsize=1)
def jit_kernel_set() -> KernelSet:
    """The JIT-compiled kernels (imports numba)."""
    from . import prover_kernels

    return KernelSet(prover_kernels, "jit")


@lru_cache(maxsize=1)
def native_kernel_set() -> Optional[KernelSet]:
    """The native module's kernels, per ``$ZKMARGIN_KERNELS`` (may build it), or None."""
    from . import native

    mod = native.get()
    return None if mod is None else KernelSet(mod, "native")


def kernel_set() -> KernelSet:
    """The native kernels when available (see :mod:`zkmargin.algebra.native`), else JIT."""
    return native_kernel_set() or jit_kernel_set()


__all__ = ["Job", "KernelSet", "ProgramTables", "OP_MUL", "OP_BITS", "OP_COPY", "OP_PY", "LazyWorkers", "Workers", "kernel_set", "jit_kernel_set", "native_kernel_set", "default_threads"]
