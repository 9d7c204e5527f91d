"""Poseidon and the salted Poseidon commitment as R1CS gadgets (circomlib-compatible).

The gadget follows :mod:`zkmargin.circuits.poseidon` round by round, keeping the state as
linear combinations (:class:`~zkmargin.circuits.builder.LC`):

* adding round constants and the MDS layer are linear, hence free in R1CS;
* each S-box ``y = a^5`` (``a`` an LC) costs three constraints and three signals::

      a * a   = x2
      x2 * x2 = x4
      x4 * a  = y

  which is the minimum for a degree-5 map with rank-1 constraints;
* an S-box whose input is a known constant is evaluated at build time and costs nothing
  (the builder's ``mul`` folds constants). Lane 0 of the first round is always the constant
  ``0 + C_0``, and constant inputs (the commitment's tag, length and zero padding) are free.

So Poseidon with t = k + 1 and all inputs non-constant costs
``3 * (8 t + R_P(t) - 1)`` constraints (:func:`poseidon_constraints`): 240 for t = 3,
the same as circomlib's ``Poseidon(2)``. The result is returned as an LC (free); wrap it in
``cs.output`` to reveal it, or compare it with a public input by ``cs.assert_equal``.

Building is kept fast: the affine maps between the S-boxes of the partial rounds are
precomputed once per t (:func:`_partial_phase`), so each partial round adds one short LC
instead of t^2 LC operations. A 16-input hash builds in a few tens of milliseconds
(after a one-off precomputation of about half a second for t = 17).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from zkmargin.algebra.constants import R

from .builder import LC, ConstraintSystem, Term
from .poseidon import (
    COMMIT_FIRST_SLOTS,
    COMMIT_NEXT_SLOTS,
    COMMIT_TAG,
    MAX_INPUTS,
    MIN_INPUTS,
    PoseidonInputError,
    check_field_element,
    commit_blocks,
)
from .poseidon_constants import FULL_ROUNDS, mds_matrix, partial_rounds, round_constants

#: Constraints of one S-box x^5 on a non-constant input.
SBOX_CONSTRAINTS = 3


def poseidon_constraints(n_inputs: int) -> int:
    """Constraints of :func:`poseidon_gadget` on ``n_inputs`` non-constant inputs."""
    t = n_inputs + 1
    return SBOX_CONSTRAINTS * (FULL_ROUNDS * t + partial_rounds(t) - 1)


def _sbox(cs: ConstraintSystem, a: LC, tag: str) -> LC:
    """``a^5`` with three constraints (none if ``a`` is constant)."""
    x2 = cs.mul(a, a, f"{tag}.x2")
    x4 = cs.mul(x2, x2, f"{tag}.x4")
    return cs.mul(x4, a, f"{tag}.x5")


def _as_lc(cs: ConstraintSystem, x: Term, what: str) -> LC:
    if isinstance(x, LC):
        return cs.lc(x)
    return cs.const(check_field_element(x, what))


@lru_cache(maxsize=None)
def _partial_phase(t: int) -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]:
    """The linear structure of the partial rounds, precomputed once per t.

    Take as basis ``b = [1, x_0 .. x_{t-1}, y_0 .. y_{R_P - 1}]`` where x are the S-box
    outputs of the last full round before the partial phase (its MDS not yet applied) and
    y_r is the S-box output of partial round r. Everything between these S-boxes is affine,
    so it is a fixed coefficient vector over b. Returns

    * ``pre[r]``: the input of the S-box of partial round r (over ``b[: 1 + t + r]``);
    * ``post[i]``: lane i after the MDS of the last partial round (over all of b).

    With these the gadget spends O(len(b)) per partial round instead of O(t^2 len(b)).
    """
    rp = partial_rounds(t)
    constants = round_constants(t)
    matrix = mds_matrix(t)
    first = FULL_ROUNDS // 2
    size = 1 + t + rp

    def unit(k: int) -> list[int]:
        vec = [0] * size
        vec[k] = 1
        return vec

    def mds(lanes: list[list[int]], used: int) -> list[list[int]]:
        return [
            [sum(m * lane[k] for m, lane in zip(row, lanes)) % R for k in range(used)]
            + [0] * (size - used)
            for row in matrix
        ]

    lanes = mds([unit(1 + i) for i in range(t)], 1 + t)
    pre = []
    for r in range(rp):
        rnd = first + r
        for i in range(t):
            lanes[i][0] = (lanes[i][0] + constants[rnd * t + i]) % R
        pre.append(tuple(lanes[0][: 1 + t + r]))
        lanes[0] = unit(1 + t + r)
        lanes = mds(lanes, 1 + t + r + 1)
    return tuple(pre), tuple(tuple(lane) for lane in lanes)


def _combine(cs: ConstraintSystem, coeffs: Sequence[int], basis: Sequence[LC]) -> LC:
    """``sum_k coeffs[k] * basis[k]`` as one LC (free)."""
    acc: dict[int, int] = {}
    for c, x in zip(coeffs, basis):
        if c:
            for sig, v in x.terms.items():
                acc[sig] = acc.get(sig, 0) + c * v
    return LC(cs, {sig: v % R for sig, v in acc.items() if v % R})


def _permutation_lane0(cs: ConstraintSystem, state: list[LC]) -> LC:
    """Lane 0 of the Poseidon permutation of ``state`` (width t = len(state)).

    Rounds as in :func:`zkmargin.circuits.poseidon.permutation`; the partial rounds use the
    precomputed affine maps of :func:`_partial_phase` (same constraints, faster to build).
    """
    t = len(state)
    rp = partial_rounds(t)
    constants = round_constants(t)
    matrix = mds_matrix(t)
    first = FULL_ROUNDS // 2
    total = FULL_ROUNDS + rp

    def full_round(rnd: int, lanes: list[LC]) -> list[LC]:
        lanes = [x + constants[rnd * t + i] for i, x in enumerate(lanes)]
        return [_sbox(cs, x, f"r{rnd}.s{i}") for i, x in enumerate(lanes)]

    # First full rounds; the MDS of the last of them is folded into the partial phase.
    for rnd in range(first):
        state = full_round(rnd, state)
        if rnd < first - 1:
            state = [_combine(cs, row, state) for row in matrix]

    # Partial rounds: one S-box each, on an affine function of the basis.
    pre, post = _partial_phase(t)
    basis = [cs.one, *state]
    for r in range(rp):
        basis.append(_sbox(cs, _combine(cs, pre[r], basis), f"r{first + r}.s0"))
    state = [_combine(cs, coeffs, basis) for coeffs in post]

    # Last full rounds; after the final one only lane 0 is needed.
    for rnd in range(first + rp, total):
        state = full_round(rnd, state)
        rows = matrix[:1] if rnd == total - 1 else matrix
        state = [_combine(cs, row, state) for row in rows]
    return state[0]


def poseidon_gadget(cs: ConstraintSystem, inputs: Sequence[Term]) -> LC:
    """Constrain and return ``poseidon(inputs)`` (1..16 LCs or constant ints < r) as an LC.

    Constraints and signals are created inside the section ``poseidon``.
    """
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence):
        raise PoseidonInputError("Poseidon gadget inputs must be a sequence")
    if not MIN_INPUTS <= len(inputs) <= MAX_INPUTS:
        raise PoseidonInputError(
            f"Poseidon takes {MIN_INPUTS} to {MAX_INPUTS} inputs, got {len(inputs)}"
        )
    lanes = [_as_lc(cs, x, f"input {i}") for i, x in enumerate(inputs)]
    with cs.section("poseidon"):
        return _permutation_lane0(cs, [cs.const(0), *lanes])


def commit_gadget(cs: ConstraintSystem, values: Sequence[Term], salt: Term) -> LC:
    """Constrain and return ``commit(values, salt)`` (see :mod:`.poseidon`) as an LC.

    The vector length is fixed when the circuit is built; it is hashed as a constant.
    Constraints are created inside the section ``commit``.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise PoseidonInputError("commitment values must be a sequence")
    n = len(values)
    vals = [_as_lc(cs, v, f"value {i}") for i, v in enumerate(values)]
    salt_lc = _as_lc(cs, salt, "salt")
    zero = cs.const(0)
    with cs.section("commit"):
        first = [cs.const(COMMIT_TAG), cs.const(n), salt_lc, *vals[:COMMIT_FIRST_SLOTS]]
        digest = poseidon_gadget(cs, first + [zero] * (MAX_INPUTS - len(first)))
        for start in range(COMMIT_FIRST_SLOTS, n, COMMIT_NEXT_SLOTS):
            chunk = vals[start:start + COMMIT_NEXT_SLOTS]
            block = [digest, *chunk] + [zero] * (COMMIT_NEXT_SLOTS - len(chunk))
            digest = poseidon_gadget(cs, block)
    return digest


def commit_constraints(n_values: int) -> int:
    """Constraints of :func:`commit_gadget` for ``n_values`` non-constant values and salt.

    Every block is a 16-input Poseidon; S-boxes of constant lanes in a block's first round
    are free: the tag and the length in block 0, and the zero padding of the last block.
    """
    blocks = commit_blocks(n_values)
    constant_lanes = 2 + (COMMIT_FIRST_SLOTS - min(n_values, COMMIT_FIRST_SLOTS))
    if blocks > 1:
        in_last = (n_values - COMMIT_FIRST_SLOTS) - (blocks - 2) * COMMIT_NEXT_SLOTS
        constant_lanes += COMMIT_NEXT_SLOTS - in_last
    return blocks * poseidon_constraints(MAX_INPUTS) - SBOX_CONSTRAINTS * constant_lanes
