"""A faster native Poseidon (same function as :mod:`zkmargin.circuits.poseidon`).

:func:`zkmargin.circuits.poseidon.permutation` applies the full t×t MDS matrix in every round.
Between the S-boxes of the partial rounds everything is affine, so, as the R1CS gadget does
(:func:`zkmargin.circuits.poseidon_gadget._partial_phase`), each partial round's S-box input is
a fixed linear combination of the S-box outputs so far, and only lane 0 of the last round is
needed. That cuts the field multiplications of a 16-input hash by about four. Venue-wide trees
(circuits/venue_circuits.py) hash every account and every node natively, so the difference is
minutes at a hundred thousand accounts. Tests check it against the reference on random inputs.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from zkmargin.algebra.constants import R

from .poseidon import (
    COMMIT_FIRST_SLOTS,
    COMMIT_NEXT_SLOTS,
    COMMIT_TAG,
    MAX_INPUTS,
    MIN_INPUTS,
    PoseidonInputError,
    check_field_element,
)
from .poseidon_constants import FULL_ROUNDS, mds_matrix, partial_rounds, round_constants

#: From this width on the partial rounds use the precomputed affine maps.
SPARSE_FROM = 8


@lru_cache(maxsize=None)
def _plan(t: int):
    from .poseidon_gadget import _partial_phase
    pre, post = _partial_phase(t) if t >= SPARSE_FROM else ((), ())
    rc = round_constants(t)
    rp = partial_rounds(t)
    rounds = [tuple(rc[r * t:(r + 1) * t]) for r in range(FULL_ROUNDS + rp)]
    # sparse form of each pre-vector: (index, coefficient) of the nonzero entries
    pre_sparse = tuple(tuple((k, c) for k, c in enumerate(p) if c) for p in pre)
    post_sparse = tuple(tuple((k, c) for k, c in enumerate(p) if c) for p in post)
    return rounds, tuple(tuple(row) for row in mds_matrix(t)), pre_sparse, post_sparse, rp


def permutation_lane0(state: Sequence[int]) -> int:
    """Lane 0 of the Poseidon permutation of ``state`` (reduced field elements, width 2..17)."""
    t = len(state)
    rounds, M, pre, post, rp = _plan(t)
    first = FULL_ROUNDS // 2
    s = list(state)
    if t < SPARSE_FROM:                 # narrow states: t^2 per round is already cheap
        total = FULL_ROUNDS + rp
        for rnd in range(total):
            c = rounds[rnd]
            if rnd < first or rnd >= first + rp:
                s = [pow((x + c[i]) % R, 5, R) for i, x in enumerate(s)]
            else:
                s = [(x + c[i]) % R for i, x in enumerate(s)]
                s[0] = pow(s[0], 5, R)
            rows = M[:1] if rnd == total - 1 else M
            s = [sum(m * x for m, x in zip(row, s)) % R for row in rows]
        return s[0]
    for rnd in range(first):
        c = rounds[rnd]
        s = [pow((x + c[i]) % R, 5, R) for i, x in enumerate(s)]
        if rnd < first - 1:
            s = [sum(m * x for m, x in zip(row, s)) % R for row in M]
    basis = [1, *s]
    for r in range(rp):
        basis.append(pow(sum(c * basis[k] for k, c in pre[r]) % R, 5, R))
    s = [sum(c * basis[k] for k, c in coeffs) % R for coeffs in post]
    total = FULL_ROUNDS + rp
    for rnd in range(first + rp, total):
        c = rounds[rnd]
        s = [pow((x + c[i]) % R, 5, R) for i, x in enumerate(s)]
        if rnd == total - 1:
            return sum(m * x for m, x in zip(M[0], s)) % R
        s = [sum(m * x for m, x in zip(row, s)) % R for row in M]
    raise AssertionError("unreachable")


def poseidon(inputs: Sequence[int]) -> int:
    """circomlib Poseidon of 1..16 field elements (checked: 0 <= x < r)."""
    if not MIN_INPUTS <= len(inputs) <= MAX_INPUTS:
        raise PoseidonInputError(f"Poseidon takes {MIN_INPUTS} to {MAX_INPUTS} inputs, got {len(inputs)}")
    return permutation_lane0([0, *(check_field_element(x, f"input {i}") for i, x in enumerate(inputs))])


def commit(values: Sequence[int], salt: int) -> int:
    """:func:`zkmargin.circuits.poseidon.commit`, faster (same blocks, same result)."""
    vals = [check_field_element(v, f"value {i}") for i, v in enumerate(values)]
    salt = check_field_element(salt, "salt")
    n = len(vals)
    first = [COMMIT_TAG, n, salt, *vals[:COMMIT_FIRST_SLOTS]]
    digest = permutation_lane0([0, *first, *[0] * (MAX_INPUTS - len(first))])
    for start in range(COMMIT_FIRST_SLOTS, n, COMMIT_NEXT_SLOTS):
        chunk = vals[start:start + COMMIT_NEXT_SLOTS]
        digest = permutation_lane0([0, digest, *chunk, *[0] * (COMMIT_NEXT_SLOTS - len(chunk))])
    return digest


__all__ = ["permutation_lane0", "poseidon", "commit"]
