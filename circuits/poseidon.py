"""Native Poseidon hash (circomlib-compatible) and a salted Poseidon vector commitment.

The hash
--------
``poseidon([x_1, ..., x_k])`` for 1 <= k <= 16 is the circomlib / circomlibjs Poseidon over
the BN254 scalar field F_r. With t = k + 1 the state starts as ``[0, x_1, ..., x_k]`` and
goes through ``R_F + R_P`` rounds (R_F = 8, R_P from
:data:`~zkmargin.circuits.poseidon_constants.PARTIAL_ROUNDS`). Round ``rnd`` does

1. add constants: ``s_i += C[rnd*t + i]``;
2. S-box ``x -> x^5`` on every lane in the first 4 and last 4 rounds ("full"), on lane 0
   only in the R_P rounds between ("partial");
3. linear layer: ``s_i <- sum_j M[i][j] * s_j``.

The output is ``s_0``. Inputs must already be field elements (0 <= x < r): a value >= r is
rejected rather than silently reduced, since x and x + r would otherwise hash alike.

The commitment
--------------
``commit(values, salt)`` binds a vector of any length n >= 0 of field elements with a
secret salt. It is a chain of 16-input Poseidon calls (t = 17), so a circom circuit can
recompute it with ``Poseidon(16)`` components only::

    block_0 = [TAG, n, salt, v_0, ..., v_12]              (13 value slots)
    block_k = [h_{k-1}, v_{13 + 15(k-1)}, ..., +14]       (15 value slots), k >= 1
    h_k     = poseidon(block_k)
    commit  = h_last

* Missing value slots in the last block are filled with 0. The number of blocks is
  ``1 + ceil(max(0, n - 13) / 15)``, a function of n alone.
* Because n is hashed in the first block, zero padding is unambiguous and appending values
  (even zeros) gives a different commitment (no length extension).
* ``TAG`` = :data:`COMMIT_TAG` (the ASCII bytes ``zkmargin/commit/v1`` read as a
  big-endian integer) separates these hashes from any other use of Poseidon(16).
* Hiding comes from the salt: draw it with :func:`random_salt` and keep it secret.
"""

from __future__ import annotations

import operator
import secrets
from collections.abc import Sequence

from zkmargin.algebra.constants import R
from zkmargin.errors import ZkmarginError

from .poseidon_constants import (
    ALPHA,
    FULL_ROUNDS,
    MAX_T,
    MIN_T,
    mds_matrix,
    partial_rounds,
    round_constants,
)

#: Number of inputs accepted by one Poseidon call.
MIN_INPUTS = MIN_T - 1
MAX_INPUTS = MAX_T - 1

#: Domain-separation tag of :func:`commit` ("zkmargin/commit/v1" as a big-endian integer).
COMMIT_TAG = int.from_bytes(b"zkmargin/commit/v1", "big")
#: Values carried by the first commitment block (after TAG, n, salt).
COMMIT_FIRST_SLOTS = MAX_INPUTS - 3
#: Values carried by every later block (after the chaining value).
COMMIT_NEXT_SLOTS = MAX_INPUTS - 1


class PoseidonInputError(ZkmarginError):
    """An input to the Poseidon hash or commitment is not acceptable."""


def check_field_element(value: object, what: str) -> int:
    """Return ``value`` as an int if it is an integer with 0 <= value < r, else raise.

    The message names the position (``what``) but never the value itself, because inputs
    are often secrets (positions, salts).
    """
    if isinstance(value, bool):
        raise PoseidonInputError(f"{what} must be an integer, got bool")
    try:
        value = operator.index(value)  # int, or an integer type such as numpy.int64
    except TypeError:
        raise PoseidonInputError(
            f"{what} must be an integer, got {type(value).__name__}"
        ) from None
    if value < 0:
        raise PoseidonInputError(f"{what} is negative; Poseidon inputs must satisfy 0 <= x < r")
    if value >= R:
        raise PoseidonInputError(
            f"{what} is not below the field modulus r; Poseidon inputs must satisfy 0 <= x < r"
            " (no silent reduction)"
        )
    return value


def _check_inputs(inputs: Sequence[int]) -> list[int]:
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence):
        raise PoseidonInputError("Poseidon inputs must be a sequence of integers")
    if not MIN_INPUTS <= len(inputs) <= MAX_INPUTS:
        raise PoseidonInputError(
            f"Poseidon takes {MIN_INPUTS} to {MAX_INPUTS} inputs, got {len(inputs)}"
        )
    return [check_field_element(x, f"input {i}") for i, x in enumerate(inputs)]


def permutation(state: Sequence[int]) -> list[int]:
    """The Poseidon permutation on a full state of width t = len(state) (2..17).

    Entries are assumed to be reduced field elements.
    """
    t = len(state)
    rp = partial_rounds(t)
    constants = round_constants(t)
    matrix = mds_matrix(t)
    half_full = FULL_ROUNDS // 2
    s = list(state)
    for rnd in range(FULL_ROUNDS + rp):
        base = rnd * t
        s = [(x + constants[base + i]) % R for i, x in enumerate(s)]
        if rnd < half_full or rnd >= half_full + rp:
            s = [pow(x, ALPHA, R) for x in s]
        else:
            s[0] = pow(s[0], ALPHA, R)
        s = [sum(m * x for m, x in zip(row, s)) % R for row in matrix]
    return s


def poseidon(inputs: Sequence[int]) -> int:
    """circomlib Poseidon of 1..16 field elements: ``permutation([0, *inputs])[0]``."""
    values = _check_inputs(inputs)
    return permutation([0, *values])[0]


def commit_blocks(n: int) -> int:
    """Number of Poseidon(16) calls :func:`commit` makes for a vector of length n."""
    extra = max(0, n - COMMIT_FIRST_SLOTS)
    return 1 + -(-extra // COMMIT_NEXT_SLOTS)


def commit_layout(values: Sequence[int], salt: int) -> list[list[int]]:
    """The 16-input blocks of :func:`commit` with the chaining slot of later blocks left 0.

    Exposed so circuits and tests can follow the construction step by step.
    """
    n = len(values)
    first = [COMMIT_TAG, n, salt, *values[:COMMIT_FIRST_SLOTS]]
    blocks = [first + [0] * (MAX_INPUTS - len(first))]
    for start in range(COMMIT_FIRST_SLOTS, n, COMMIT_NEXT_SLOTS):
        chunk = list(values[start:start + COMMIT_NEXT_SLOTS])
        blocks.append([0, *chunk] + [0] * (COMMIT_NEXT_SLOTS - len(chunk)))
    return blocks


def commit(values: Sequence[int], salt: int) -> int:
    """Salted commitment to a vector of field elements (construction in the module doc)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise PoseidonInputError("commitment values must be a sequence of integers")
    checked = [check_field_element(v, f"value {i}") for i, v in enumerate(values)]
    check_field_element(salt, "salt")
    digest = 0
    for k, block in enumerate(commit_layout(checked, salt)):
        if k > 0:
            block[0] = digest
        digest = permutation([0, *block])[0]
    return digest


def random_salt() -> int:
    """A uniformly random field element from the OS CSPRNG (``secrets``), for commitments."""
    return secrets.randbelow(R)
