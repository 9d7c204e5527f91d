"""Groth16 keys and proofs (the messages exchanged by setup, prover and verifier).

Names follow the group they live in (``alpha_g1``, ``beta_g2`` ...).  Single points are
Python-level affine points (see :mod:`zkmargin.algebra`): a G1 point is ``(x, y)`` of ints or
``None`` for infinity; a G2 point is ``((x.c0, x.c1), (y.c0, y.c1))`` or ``None``.  Point
*vectors* are numpy "G1 arrays" ``uint64[n, 2, 4]`` / "G2 arrays" ``uint64[n, 2, 2, 4]`` in
affine Montgomery little-endian layout -- byte for byte the layout of snarkjs ``.zkey`` and
``.ptau`` sections, with infinity encoded as all zeros.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # annotations only: a one-shot verifier never imports numpy
    import numpy as np

G1Point = Optional[tuple[int, int]]
G2Point = Optional[tuple[tuple[int, int], tuple[int, int]]]


@dataclass(frozen=True)
class Proof:
    """A Groth16 proof pi = (A in G1, B in G2, C in G1)."""

    a: G1Point
    b: G2Point
    c: G1Point


@dataclass
class VerifyingKey:
    """What the verifier needs: e(A,B) = e(alpha,beta) e(vk_x,gamma) e(C,delta),
    with vk_x = ic[0] + sum_i public_i * ic[i]."""

    alpha_g1: G1Point
    beta_g2: G2Point
    gamma_g2: G2Point
    delta_g2: G2Point
    ic: list[G1Point]

    @property
    def n_public(self) -> int:
        return len(self.ic) - 1


@dataclass
class SparseMatrix:
    """Coefficients of one R1CS matrix (A or B) as parallel arrays: entry k says
    ``M[constraint[k]][signal[k]] = value[k]`` (value: uint64[nnz, 4] canonical F_r)."""

    constraint: np.ndarray  # int64[nnz]
    signal: np.ndarray      # int64[nnz]
    value: np.ndarray       # uint64[nnz, 4], canonical


@dataclass
class ProvingKey:
    """A Groth16 proving key, as stored in a snarkjs ``.zkey`` (sections 2-9).

    * ``a_g1[j] = A_j(tau)``, ``b_g1[j] = B_j(tau)`` (G1), ``b_g2[j] = B_j(tau)`` (G2) for every
      signal j (A includes the nPublic+1 extra rows snarkjs adds);
    * ``c_g1[j] = (beta A_j + alpha B_j + C_j)(tau) / delta`` for private signals only
      (index 0 is signal ``n_public + 1``);
    * ``h_g1[i]``: the odd-index Lagrange basis of the size-2n domain at tau, over delta
      (snarkjs H strategy, docs/INTEROP.md).
    """

    n_vars: int
    n_public: int
    domain_size: int
    alpha_g1: G1Point
    beta_g1: G1Point
    beta_g2: G2Point
    gamma_g2: G2Point
    delta_g1: G1Point
    delta_g2: G2Point
    ic: np.ndarray          # G1 array, n_public + 1
    a_g1: np.ndarray        # G1 array, n_vars
    b_g1: np.ndarray        # G1 array, n_vars
    b_g2: np.ndarray        # G2 array, n_vars
    c_g1: np.ndarray        # G1 array, n_vars - n_public - 1
    h_g1: np.ndarray        # G1 array, domain_size
    a_matrix: SparseMatrix
    b_matrix: SparseMatrix
    n_constraints: int = 0  # constraints of the R1CS (without the extra public rows)
    contributions: bytes = field(default=b"", repr=False)  # raw section 10 (MPC data)

    @property
    def n_contributions(self) -> int:
        """Phase-2 contributions recorded in section 10 (0 when absent)."""
        if len(self.contributions) < 68:
            return 0
        return int.from_bytes(self.contributions[64:68], "little")

    @property
    def development_only(self) -> bool:
        """True until someone contributed to phase 2: a key with delta = 1 (or with no MPC
        record) lets its creator forge proofs (docs/PITFALLS.md #11)."""
        return self.n_contributions == 0
