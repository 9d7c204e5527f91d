"""Batch verification of many Groth16 proofs under one key (random linear combination).

For proofs π_j = (A_j, B_j, C_j) with inputs x_j, each valid proof satisfies
e(A_j, B_j) = e(α, β) · e(vk_x_j, γ) · e(C_j, δ).  Raising equation j to an independent random
ρ_j and multiplying them all:

    Π_j e(−ρ_j A_j, B_j) · e(Σ_j ρ_j vk_x_j, γ) · e(Σ_j ρ_j C_j, δ) · e((Σ_j ρ_j) α, β) = 1

-- one multi-pairing with m + 3 pairs (one shared final exponentiation) instead of 4m pairings.
The aggregated vk_x needs only one MSM over the IC points:
Σ_j ρ_j vk_x_j = (Σ_j ρ_j) IC_0 + Σ_i (Σ_j ρ_j x_ji) IC_i.

The weights are ρ_j = a_j + b_j λ (mod r), with a_j (odd) and b_j 64-bit words from the OS
CSPRNG and λ the eigenvalue of the G1 endomorphism φ(x, y) = (ωx, y) = [λ](x, y).  So
ρ_j A_j = a_j A_j + b_j φ(A_j) costs 64 doublings instead of 128, and Σ ρ_j C_j is a bucket MSM
with 64-bit scalars over the 2m points C_j, φ(C_j).  Distinct (a, b) give distinct ρ: if
a + bλ = a' + b'λ (mod r), then (a − a', b − b') is a non-zero vector of the lattice
{(x, y): x + yλ = 0 mod r} with both coordinates below 2^64, but that lattice's shortest
vector is longer than 2^126 (tests/test_verifier.py computes it).  So each ρ_j is uniform over
2^127 distinct residues, and if any proof is invalid the product is 1 with probability at most
2^-127 over the choice of the weights (for the others fixed, one residue of the bad proof's
ρ_j makes the product 1).

Every proof still gets the full per-proof checks (inputs < r, points on curve and in the
subgroup, no infinity); a proof that fails them is reported with its reason and left out of
the pairing batch.  The G2 subgroup test of each B_j comes almost free from the batch's own
Miller loop, which walks T to [6u+2]B_j: B_j is in G2 iff [6u+2]B_j + ψ(B_j) − ψ²(B_j) +
ψ³(B_j) = O (exact, :func:`zkmargin.algebra.verifier_kernels.g2_flags_from_multiples`); the
equation's verdict counts only when every B_j passed, else it is computed again without the
ones that did not.  When the batch equation fails, :func:`batch_verify` finds the bad proofs
by bisection with fresh randomness (k bad proofs among m cost O(k log m) batch checks), each
leaf being an ordinary single-proof verification.
"""

from __future__ import annotations

import operator
import secrets
from dataclasses import dataclass, field
from typing import Sequence, Union

import numpy as np

from ..algebra.constants import GLV_LAMBDA, R
from ..algebra.glv import GLV_WORDS
from ..algebra.points import g1_neg
from ..formats.data_structures import G2Point, Proof, VerifyingKey
from .backend import resolve
from .groth16 import (
    INVALID_PAIRING,
    PreparedVerifyingKey,
    prepare_verifying_key,
    proof_problem,
    public_inputs_problem,
    subgroup_reason,
    verify,
)
from .kernels import Kernels, g1_rows, g2_rows, scalar_rows

#: Bits of entropy of each batch weight (a_j odd: 63 + 64).
BATCH_SECURITY_BITS = 127


@dataclass
class BatchResult:
    """``valid`` iff every proof verified; ``bad`` lists the indices of the others, with a
    one-line reason each in ``reasons``."""

    n: int
    bad: list[int] = field(default_factory=list)
    reasons: dict[int, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.bad

    def __bool__(self) -> bool:
        return self.valid


def _random_weights(m: int) -> tuple[list[int], np.ndarray]:
    """(ρ_j mod r, the halves uint64[m, 2] = (a_j, b_j)) with ρ_j = a_j + b_j λ, a_j odd."""
    halves = np.frombuffer(secrets.token_bytes(16 * m), dtype="<u8").astype(np.uint64).reshape(m, 2)
    halves[:, 0] |= np.uint64(1)                                  # never zero
    rho = [(int(a) + int(b) * GLV_LAMBDA) % R for a, b in halves.tolist()]
    return rho, halves


def _word_rows(words: np.ndarray) -> np.ndarray:
    """64-bit scalars -> uint64[n, 4] limbs."""
    out = np.zeros((words.shape[0], 4), dtype=np.uint64)
    out[:, 0] = words
    return out


def _batch_pairs(kern: Kernels, pvk: PreparedVerifyingKey, publics: Sequence[Sequence[int]],
                 proofs: Sequence[Proof]) -> tuple[np.ndarray, np.ndarray]:
    """The m + 3 pairs of the batch equation with fresh weights: G1 rows (−ρ_j A_j, then
    Σρ_j vk_x_j, Σρ_j C_j, (Σρ_j) α) and G2 rows (B_j, then γ, δ, β)."""
    m = len(proofs)
    arr = pvk.arrays(kern)
    rho, halves = _random_weights(m)
    rho_sum = sum(rho) % R
    # −ρ_j A_j = a_j (−A_j) + b_j φ(−A_j): GLV rows (a_j, 0, b_j, 0, signs 0)
    glv = np.zeros((m, GLV_WORDS), dtype=np.uint64)
    glv[:, 0], glv[:, 2] = halves[:, 0], halves[:, 1]
    scaled_a = kern.g1_scale_each_glv(g1_rows([g1_neg(p.a) for p in proofs]), glv)
    # Σ ρ_j C_j = Σ a_j C_j + Σ b_j φ(C_j)
    c_rows = g1_rows([p.c for p in proofs])
    c_sum = kern.g1_msm(np.concatenate([c_rows, kern.g1_endo_rows(c_rows)]),
                        _word_rows(np.concatenate([halves[:, 0], halves[:, 1]])))
    # Σ ρ_j vk_x_j = (Σ ρ_j) IC_0 + Σ_i (Σ_j ρ_j x_ji) IC_i
    columns = zip(*[[int(v) for v in x] for x in publics]) if pvk.n_public else ()
    coeffs = [rho_sum] + [sum(map(operator.mul, rho, col)) % R for col in columns]
    x_sum = kern.g1_lincomb(arr.ic, scalar_rows(coeffs))
    alpha = kern.g1_lincomb(g1_rows([pvk.vk.alpha_g1]), scalar_rows([rho_sum]))
    g1 = np.concatenate([scaled_a, x_sum, c_sum, alpha])
    g2 = np.concatenate([g2_rows([p.b for p in proofs]), arr.gamma_delta, arr.beta])
    return g1, g2


def batch_equation_holds(kern: Kernels, pvk: PreparedVerifyingKey,
                         publics: Sequence[Sequence[int]], proofs: Sequence[Proof]) -> bool:
    """The random-linear-combination check for proofs that already passed the per-proof
    checks: m + 3 Miller loops (split over the threads) and one final exponentiation."""
    if not proofs:
        return True
    return kern.pairing_product_is_one(*_batch_pairs(kern, pvk, publics, proofs))


def batch_equation_and_membership(kern: Kernels, pvk: PreparedVerifyingKey,
                                  publics: Sequence[Sequence[int]],
                                  proofs: Sequence[Proof]) -> tuple[bool, np.ndarray]:
    """(the batch equation holds and every B_j is in G2, bool[m]: B_j in G2) for proofs
    that passed the structural checks (B_j on the twist), in one pass: the Miller loop of
    (−ρ_j A_j, B_j) walks T to [6u+2]B_j, which decides B_j's membership
    (:meth:`Kernels.g2_membership`).  The equation's verdict counts only if all are in G2."""
    if not proofs:
        return True, np.zeros(0, dtype=bool)
    g1, g2 = _batch_pairs(kern, pvk, publics, proofs)
    m = len(proofs)
    multiples = np.zeros((g1.shape[0], 3, 2, 4), dtype=np.uint64)
    millers = kern.miller(g1, g2, multiples)
    in_g2 = kern.g2_membership(g2[:m], multiples[:m])
    return bool(in_g2.all()) and kern.product_is_one([millers]), in_g2


def g2_in_subgroup_mask(points: Sequence[G2Point], *, backend: str = "auto") -> np.ndarray:
    """For points already known to be on the twist: in G2 or not (the test of
    :func:`zkmargin.algebra.pairing_py.g2_in_subgroup_fast`), all of them
    on the kernels, split over the threads (the pure-Python test costs ~2 ms a point)."""
    kern = resolve(backend, batch=True)
    if kern is None:
        from ..algebra.pairing_py import g2_in_subgroup_fast

        return np.array([g2_in_subgroup_fast(p) for p in points], dtype=bool)
    return kern.g2_subgroup_flags(g2_rows(points))


def batch_verify(vk: Union[VerifyingKey, PreparedVerifyingKey],
                 items: Sequence[tuple[Sequence[int], Proof]], *,
                 find_bad: bool = True, backend: str = "auto") -> BatchResult:
    """Verify ``items`` = [(public_inputs, proof), ...] under one key.

    With ``find_bad`` (default) a failed batch is bisected to name every bad proof; without it
    a failed batch marks all pairing-checked proofs as bad (reason "batch check failed").
    ``backend`` as in :func:`zkmargin.verifier.backend.resolve` (``auto``: the native kernels,
    else the JIT ones); ``python`` verifies the proofs one by one in pure Python.
    Raises :class:`~zkmargin.verifier.groth16.InvalidKeyError` for a bad key.
    """
    pvk = prepare_verifying_key(vk)
    kern = resolve(backend, batch=True)
    if kern is None:
        return _one_by_one(pvk, items)
    result = BatchResult(n=len(items))
    good: list[int] = []
    for j, (publics, proof) in enumerate(items):
        reason = (public_inputs_problem(pvk.n_public, publics)
                  or proof_problem(proof, check_subgroup=False))
        if reason:
            result.bad.append(j)
            result.reasons[j] = reason
        else:
            good.append(j)
    ok, in_subgroup = batch_equation_and_membership(kern, pvk, [items[j][0] for j in good],
                                                    [items[j][1] for j in good])
    if not in_subgroup.all():
        for j in (j for j, inside in zip(good, in_subgroup) if not inside):
            result.bad.append(j)
            result.reasons[j] = subgroup_reason("proof pi_b")
        good = [j for j, inside in zip(good, in_subgroup) if inside]
        ok = None                                  # the pass included them: check again

    def holds(idx: Sequence[int]) -> bool:
        return batch_equation_holds(kern, pvk, [items[j][0] for j in idx], [items[j][1] for j in idx])

    def bisect(idx: list[int], known_failing: bool) -> list[int]:
        if len(idx) == 1:  # leaves: the plain single-proof check
            return [] if verify(pvk, *items[idx[0]], backend=kern.name).valid else idx
        if not known_failing and holds(idx):
            return []
        mid = len(idx) // 2
        left = bisect(idx[:mid], False)
        # if the left half is clean, the failure is in the right half: skip one re-check
        right = bisect(idx[mid:], known_failing and not left)
        return left + right

    if good and not (ok if ok is not None else holds(good)):
        if find_bad:
            failing = bisect(good, True)
            reason = INVALID_PAIRING
        else:
            failing, reason = good, "batch check failed (not bisected)"
        for j in failing:
            result.bad.append(j)
            result.reasons[j] = reason
    result.bad.sort()
    return result


def _one_by_one(pvk: PreparedVerifyingKey, items: Sequence[tuple[Sequence[int], Proof]]) -> BatchResult:
    result = BatchResult(n=len(items))
    for j, (publics, proof) in enumerate(items):
        res = verify(pvk, publics, proof, backend="python")
        if not res.valid:
            result.bad.append(j)
            result.reasons[j] = res.reason
    return result


__all__ = ["BatchResult", "batch_verify", "batch_equation_holds", "batch_equation_and_membership",
           "g2_in_subgroup_mask",
           "BATCH_SECURITY_BITS"]
