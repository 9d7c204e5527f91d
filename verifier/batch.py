"""Batch verification of many Groth16 proofs under one key (random linear combination).

For proofs π_j = (A_j, B_j, C_j) with inputs x_j, each valid proof satisfies
e(A_j, B_j) = e(α, β) · e(vk_x_j, γ) · e(C_j, δ).  Raising equation j to an independent random
ρ_j (128 bits, from the OS CSPRNG) and multiplying them all:

    Π_j e(−ρ_j A_j, B_j) · e(Σ_j ρ_j vk_x_j, γ) · e(Σ_j ρ_j C_j, δ) · e((Σ_j ρ_j) α, β) = 1

-- one multi-pairing with m + 3 pairs (one shared final exponentiation) instead of 4m pairings.
The aggregated vk_x needs only one MSM over the IC points:
Σ_j ρ_j vk_x_j = (Σ_j ρ_j) IC_0 + Σ_i (Σ_j ρ_j x_ji) IC_i.  If any proof is invalid the
product is 1 with probability at most about 2^-128 over the choice of ρ.

Every proof still gets the full per-proof checks first (inputs < r, points on curve and in
subgroup, no infinity); a proof that fails them is reported with its reason and left out of
the pairing batch.  When the batch equation fails, :func:`batch_verify` finds the bad proofs
by bisection with fresh randomness (k bad proofs among m cost O(k log m) batch checks), each
leaf being an ordinary single-proof verification.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Sequence, Union

import numpy as np

from ..algebra import (
    R,
    g1_add,
    g1_array_from_points,
    g1_mul,
    g1_neg,
    g1_points_from_array,
    g1_scale_each,
    g2_array_from_points,
    g2_scale_each,
    ints_to_array,
    msm_g1,
)
from ..formats.data_structures import G2Point, Proof, VerifyingKey
from .groth16 import (
    PreparedVerifyingKey,
    pairing_check,
    prepare_verifying_key,
    proof_problem,
    public_inputs_problem,
    subgroup_reason,
    verify,
)

BATCH_SECURITY_BITS = 128
INVALID_PAIRING = "pairing check failed: the proof is not valid for these public inputs"


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


def _random_weights(m: int) -> list[int]:
    return [secrets.randbits(BATCH_SECURITY_BITS) | 1 for _ in range(m)]  # never zero


def batch_equation_holds(pvk: PreparedVerifyingKey, publics: Sequence[Sequence[int]],
                         proofs: Sequence[Proof]) -> bool:
    """The random-linear-combination check for proofs that already passed the per-proof checks."""
    m = len(proofs)
    if m == 0:
        return True
    vk = pvk.vk
    rho = _random_weights(m)
    rho_arr = ints_to_array(rho)
    # −ρ_j A_j for each j (one batch scalar-multiplication kernel)
    a_arr = g1_array_from_points([g1_neg(p.a) for p in proofs])
    scaled_a = g1_points_from_array(g1_scale_each(a_arr, rho_arr))
    # Σ ρ_j C_j
    c_sum = msm_g1(g1_array_from_points([p.c for p in proofs]), rho_arr)
    # Σ ρ_j vk_x_j = (Σ ρ_j) IC_0 + Σ_i (Σ_j ρ_j x_ji) IC_i
    rho_sum = sum(rho) % R
    x_sum = g1_mul(vk.ic[0], rho_sum) if vk.ic[0] is not None else None
    if pvk.n_public:
        coeffs = [sum(r_j * int(x[i]) for r_j, x in zip(rho, publics)) % R
                  for i in range(pvk.n_public)]
        x_sum = g1_add(x_sum, msm_g1(pvk.ic_rest, ints_to_array(coeffs)))
    pairs = [(a, p.b) for a, p in zip(scaled_a, proofs)]
    pairs += [(x_sum, vk.gamma_g2), (c_sum, vk.delta_g2), (g1_mul(vk.alpha_g1, rho_sum), vk.beta_g2)]
    return pairing_check(pairs)


def g2_in_subgroup_mask(points: Sequence[G2Point]) -> np.ndarray:
    """For points already known to be on the twist: r·P = O, for all of them in one compiled
    batch (the per-point Python check costs ~5 ms, too slow for hundreds of proofs)."""
    if not points:
        return np.zeros(0, dtype=bool)
    arr = g2_array_from_points(points)
    r_times = g2_scale_each(arr, ints_to_array([R] * len(points)))  # r itself, not reduced
    return ~r_times.reshape(len(points), -1).any(axis=1)


def batch_verify(vk: Union[VerifyingKey, PreparedVerifyingKey],
                 items: Sequence[tuple[Sequence[int], Proof]], *,
                 find_bad: bool = True) -> BatchResult:
    """Verify ``items`` = [(public_inputs, proof), ...] under one key.

    With ``find_bad`` (default) a failed batch is bisected to name every bad proof; without it
    a failed batch marks all pairing-checked proofs as bad (reason "batch check failed").
    Raises :class:`~zkmargin.verifier.groth16.InvalidKeyError` for a bad key.
    """
    pvk = prepare_verifying_key(vk)
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
    in_subgroup = g2_in_subgroup_mask([items[j][1].b for j in good])
    for j in (j for j, ok in zip(good, in_subgroup) if not ok):
        result.bad.append(j)
        result.reasons[j] = subgroup_reason("proof pi_b")
    good = [j for j, ok in zip(good, in_subgroup) if ok]

    def holds(idx: Sequence[int]) -> bool:
        return batch_equation_holds(pvk, [items[j][0] for j in idx], [items[j][1] for j in idx])

    def bisect(idx: list[int], known_failing: bool) -> list[int]:
        if len(idx) == 1:  # leaves: the plain single-proof check
            return [] if verify(pvk, *items[idx[0]]).valid else idx
        if not known_failing and holds(idx):
            return []
        mid = len(idx) // 2
        left = bisect(idx[:mid], False)
        # if the left half is clean, the failure is in the right half: skip one re-check
        right = bisect(idx[mid:], known_failing and not left)
        return left + right

    if good and not holds(good):
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


__all__ = ["BatchResult", "batch_verify", "batch_equation_holds", "g2_in_subgroup_mask",
           "BATCH_SECURITY_BITS"]
