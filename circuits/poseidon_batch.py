"""Poseidon over many inputs at once, compiled (the same function as :mod:`.poseidon`).

Venue-wide trees hash every account (a salted commitment, one Poseidon(16) permutation of
width 17 for a small shape) and every inner node (Poseidon(2), width 3). In Python the
big-integer arithmetic of one width-17 permutation costs milliseconds on a loaded core, so a
hundred thousand accounts cost minutes. Here the permutations run in a numba kernel over the
4×64-bit Montgomery arithmetic of :mod:`zkmargin.algebra.field` (``fr_mul``, ``fr_add``):

* width < 8 (inner nodes): the plain rounds of :func:`.poseidon.permutation`, only lane 0 of
  the last MDS;
* width >= 8 (commitments): the partial rounds as the fixed affine maps of
  :func:`.poseidon_gadget._partial_phase`, exactly as :func:`.poseidon_fast.permutation_lane0`.

Inputs are canonical field elements (checked < r by the callers' readers or here), outputs are
canonical. ``tests/test_poseidon_batch.py`` checks every entry point against the reference.
The kernels are compiled once per machine (numba's on-disk cache).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numba as nb
import numpy as np

from zkmargin.algebra.arrays import array_to_ints, ints_to_array
from zkmargin.algebra.constants import R
from zkmargin.algebra.field import FR_ONE, fe_load, fe_store, fr_add, fr_from_mont, fr_mul, fr_to_mont

from .poseidon import COMMIT_FIRST_SLOTS, COMMIT_NEXT_SLOTS, COMMIT_TAG, MAX_INPUTS, PoseidonInputError
from .poseidon_constants import FULL_ROUNDS, mds_matrix, partial_rounds, round_constants
from .poseidon_fast import SPARSE_FROM

_T_NODE = 3


def _mont(values) -> np.ndarray:
    """Python ints (reduced) -> (n, 4) Montgomery limbs."""
    return ints_to_array([(int(v) << 256) % R for v in values])


@lru_cache(maxsize=None)
def _tables(t: int):
    """(round constants, MDS, pre, pre lengths, post) of width t, in Montgomery form."""
    from .poseidon_gadget import _partial_phase
    rp = partial_rounds(t)
    rc = _mont(round_constants(t))
    mds = _mont([m for row in mds_matrix(t) for m in row])
    size = 1 + t + rp
    if t >= SPARSE_FROM:
        pre, post = _partial_phase(t)
        pre_arr = np.zeros((rp, size, 4), dtype=np.uint64)
        lens = np.zeros(rp, dtype=np.int64)
        for r, row in enumerate(pre):
            pre_arr[r, :len(row)] = _mont(row)
            lens[r] = len(row)
        post_arr = np.stack([_mont(row) for row in post])
    else:
        pre_arr = np.zeros((1, 1, 4), dtype=np.uint64)
        lens = np.zeros(1, dtype=np.int64)
        post_arr = np.zeros((1, 1, 4), dtype=np.uint64)
    return rc, mds, pre_arr, lens, post_arr, rp


@nb.njit(cache=True)
def _pow5(x):
    x2 = fr_mul(x, x)
    x4 = fr_mul(x2, x2)
    return fr_mul(x4, x)


@nb.njit(cache=True)
def _mds(s, mds, t, out, rows):
    for i in range(rows):
        acc = fr_mul(fe_load(mds, i * t), fe_load(s, 0))
        for k in range(1, t):
            acc = fr_add(acc, fr_mul(fe_load(mds, i * t + k), fe_load(s, k)))
        fe_store(out, i, acc)


@nb.njit(cache=True)
def _lane0_kernel(states, rc, mds, pre, lens, post, rp, full_rounds, sparse):
    """Lane 0 of the permutation of each state: ``states`` (n, t, 4) canonical -> (n, 4) canonical."""
    n = states.shape[0]
    t = states.shape[1]
    first = full_rounds // 2
    total = full_rounds + rp
    out = np.empty((n, 4), dtype=np.uint64)
    s = np.empty((t, 4), dtype=np.uint64)
    tmp = np.empty((t, 4), dtype=np.uint64)
    basis = np.empty((1 + t + rp, 4), dtype=np.uint64)
    for j in range(n):
        for i in range(t):
            fe_store(s, i, fr_to_mont(fe_load(states[j], i)))
        if not sparse:
            for rnd in range(total):
                partial = first <= rnd < first + rp
                for i in range(t):
                    x = fr_add(fe_load(s, i), fe_load(rc, rnd * t + i))
                    if i == 0 or not partial:
                        x = _pow5(x)
                    fe_store(s, i, x)
                if rnd == total - 1:
                    _mds(s, mds, t, tmp, 1)
                else:
                    _mds(s, mds, t, tmp, t)
                    for i in range(t):
                        fe_store(s, i, fe_load(tmp, i))
            fe_store(out, j, fr_from_mont(fe_load(tmp, 0)))
            continue
        for rnd in range(first):
            for i in range(t):
                fe_store(s, i, _pow5(fr_add(fe_load(s, i), fe_load(rc, rnd * t + i))))
            if rnd < first - 1:
                _mds(s, mds, t, tmp, t)
                for i in range(t):
                    fe_store(s, i, fe_load(tmp, i))
        fe_store(basis, 0, FR_ONE)
        for i in range(t):
            fe_store(basis, 1 + i, fe_load(s, i))
        for r in range(rp):
            row = pre[r]
            acc = fr_mul(fe_load(row, 0), fe_load(basis, 0))
            for k in range(1, lens[r]):
                acc = fr_add(acc, fr_mul(fe_load(row, k), fe_load(basis, k)))
            fe_store(basis, 1 + t + r, _pow5(acc))
        size = 1 + t + rp
        for i in range(t):
            row = post[i]
            acc = fr_mul(fe_load(row, 0), fe_load(basis, 0))
            for k in range(1, size):
                acc = fr_add(acc, fr_mul(fe_load(row, k), fe_load(basis, k)))
            fe_store(s, i, acc)
        for rnd in range(first + rp, total):
            for i in range(t):
                fe_store(s, i, _pow5(fr_add(fe_load(s, i), fe_load(rc, rnd * t + i))))
            if rnd == total - 1:
                _mds(s, mds, t, tmp, 1)
            else:
                _mds(s, mds, t, tmp, t)
                for i in range(t):
                    fe_store(s, i, fe_load(tmp, i))
        fe_store(out, j, fr_from_mont(fe_load(tmp, 0)))
    return out


def lane0(states: np.ndarray) -> np.ndarray:
    """Lane 0 of the Poseidon permutation of each row of ``states`` ((n, t, 4) uint64, canonical
    reduced limbs, 2 <= t <= 17) as an (n, 4) array."""
    states = np.ascontiguousarray(states, dtype=np.uint64)
    if states.ndim != 3 or states.shape[2] != 4 or not 2 <= states.shape[1] <= MAX_INPUTS + 1:
        raise PoseidonInputError("Poseidon states must be an (n, t, 4) array with 2 <= t <= 17")
    t = states.shape[1]
    rc, mds, pre, lens, post, rp = _tables(t)
    if states.shape[0] == 0:
        return np.zeros((0, 4), dtype=np.uint64)
    return _lane0_kernel(states, rc, mds, pre, lens, post, rp, FULL_ROUNDS, t >= SPARSE_FROM)


def _field_array(values: Sequence[int], what: str) -> np.ndarray:
    vals = [int(v) for v in values]
    if any(v < 0 or v >= R for v in vals):
        raise PoseidonInputError(f"{what}: not a field element (0 <= x < r)")
    return ints_to_array(vals)


def commit_many(vectors: Sequence[Sequence[int]], salts: Sequence[int]) -> list[int]:
    """:func:`zkmargin.circuits.poseidon.commit` of each (vector, salt); every vector the same
    length (one account shape)."""
    n = len(vectors)
    if len(salts) != n:
        raise PoseidonInputError("one salt per vector")
    if n == 0:
        return []
    length = len(vectors[0])
    if any(len(v) != length for v in vectors):
        raise PoseidonInputError("commit_many takes vectors of one length")
    vals = _field_array([x for v in vectors for x in v], "value").reshape(n, length, 4) if length else \
        np.zeros((n, 0, 4), dtype=np.uint64)
    t = MAX_INPUTS + 1
    states = np.zeros((n, t, 4), dtype=np.uint64)
    head = min(length, COMMIT_FIRST_SLOTS)
    states[:, 1] = ints_to_array([COMMIT_TAG])[0]
    states[:, 2] = ints_to_array([length])[0]
    states[:, 3] = _field_array(salts, "salt")
    states[:, 4:4 + head] = vals[:, :head]
    digest = lane0(states)
    for start in range(COMMIT_FIRST_SLOTS, length, COMMIT_NEXT_SLOTS):
        chunk = vals[:, start:start + COMMIT_NEXT_SLOTS]
        states = np.zeros((n, t, 4), dtype=np.uint64)
        states[:, 1] = digest
        states[:, 2:2 + chunk.shape[1]] = chunk
        digest = lane0(states)
    return array_to_ints(digest)


def level_up(level: np.ndarray, pad: int) -> np.ndarray:
    """The next Merkle level: ``poseidon([level[2i], level[2i+1]])``, a missing right child is
    ``pad``. ``level`` is an (m, 4) canonical array."""
    m = level.shape[0]
    k = (m + 1) // 2
    states = np.zeros((k, _T_NODE, 4), dtype=np.uint64)
    states[:, 1] = level[0::2]
    states[:m // 2, 2] = level[1::2]
    if m % 2:
        states[k - 1, 2] = ints_to_array([pad])[0]
    return lane0(states)


def levels(leaves: Sequence[int], pads: Sequence[int], upto: int) -> list[list[int]]:
    """Levels 0..upto of the tree over ``leaves`` (level h has ceil(n / 2^h) nodes; a missing
    right child at height h is ``pads[h]``), as lists of ints."""
    cur = _field_array(leaves, "leaf")
    out = [[int(v) for v in leaves]]
    for h in range(upto):
        cur = level_up(cur, pads[h]) if cur.shape[0] else cur
        out.append(array_to_ints(cur))
    return out


def top(leaves: Sequence[int], pads: Sequence[int], upto: int) -> list[int]:
    """Level ``upto`` only (the intermediate levels stay arrays)."""
    cur = _field_array(leaves, "leaf")
    for h in range(upto):
        if not cur.shape[0]:
            break
        cur = level_up(cur, pads[h])
    return array_to_ints(cur)


def node_hashes(lefts: Sequence[int], rights: Sequence[int]) -> list[int]:
    """``poseidon([l, r])`` of each pair."""
    if len(lefts) != len(rights):
        raise PoseidonInputError("one right child per left child")
    states = np.zeros((len(lefts), _T_NODE, 4), dtype=np.uint64)
    if lefts:
        states[:, 1] = _field_array(lefts, "left")
        states[:, 2] = _field_array(rights, "right")
    return array_to_ints(lane0(states))


__all__ = ["lane0", "commit_many", "level_up", "levels", "top", "node_hashes"]
