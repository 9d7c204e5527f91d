"""INSECURE Groth16 keys from known toxic waste -- for tests and benchmarks only.

Whoever knows tau, alpha, beta, delta can forge proofs for the key, so nothing here may be
used for a key anyone relies on.  It exists because building a key directly from the secrets
is fast (field arithmetic plus fixed-base multiplications) where a ceremony file of power
k + 1 takes minutes to prepare, and because it gives tests an independent construction of
what :func:`zkmargin.prover.setup.new_proving_key` computes from a ``.ptau``.
"""

from __future__ import annotations

import numpy as np

from zkmargin.algebra.constants import R, root_of_unity
from zkmargin.formats.data_structures import ProvingKey, SparseMatrix


def lagrange_at(tau: int, n: int) -> list[int]:
    """L_i(tau) for i < n on the size-n domain <w>, w = root_of_unity(n):
    L_i(tau) = w^i (tau^n - 1) / (n (tau - w^i)), with one batch inversion (tau not in <w>)."""
    w = root_of_unity(n)
    num = (pow(tau, n, R) - 1) * pow(n, -1, R) % R
    pts, x = [], 1
    for _ in range(n):
        pts.append(x)
        x = x * w % R
    dens = [(tau - p) % R for p in pts]
    prefix, acc = [], 1
    for d in dens:
        prefix.append(acc)
        acc = acc * d % R
    inv = pow(acc, -1, R)
    out = [0] * n
    for i in range(n - 1, -1, -1):
        out[i] = pts[i] * num % R * (inv * prefix[i] % R) % R
        inv = inv * dens[i] % R
    return out


def known_tau_proving_key(r1cs, tau: int, alpha: int, beta: int, delta: int) -> ProvingKey:
    """The snarkjs-layout proving key of ``r1cs`` for the given secrets (gamma = 1).

    Same formulas as :mod:`zkmargin.prover.setup`, evaluated on scalars: A_j(tau), B_j(tau)
    with snarkjs' extra rows A[m + i][i] = 1 for i <= nPublic; K_j = beta A_j + alpha B_j + C_j;
    IC = K_0..K_nPublic; C = K_(nPublic+1).. / delta; H_i = L^(2n)_(2i+1)(tau) / delta.
    """
    from zkmargin.algebra import G1_GEN, G2_GEN, g1_fixed_base_muls, g1_mul, g2_fixed_base_muls, g2_mul, ints_to_array

    m, n_pub, n_vars = len(r1cs.constraints), r1cs.n_public, r1cs.n_wires
    n = 1 << max(1, (m + n_pub).bit_length())      # smallest power of two >= m + nPublic + 1
    a_e = [(i, j, c) for i, (a, _, _) in enumerate(r1cs.constraints) for j, c in a.items()]
    a_e += [(m + i, i, 1) for i in range(n_pub + 1)]
    b_e = [(i, j, c) for i, (_, b, _) in enumerate(r1cs.constraints) for j, c in b.items()]
    c_e = [(i, j, c) for i, (_, _, cc) in enumerate(r1cs.constraints) for j, c in cc.items()]
    lag = lagrange_at(tau, n)

    def at_tau(entries):
        out = [0] * n_vars
        for i, j, c in entries:
            out[j] += c * lag[i]
        return [v % R for v in out]

    a_t, b_t, c_t = at_tau(a_e), at_tau(b_e), at_tau(c_e)
    k = [(beta * a_t[j] + alpha * b_t[j] + c_t[j]) % R for j in range(n_vars)]
    dinv = pow(delta, -1, R)
    lag2 = lagrange_at(tau, 2 * n)

    def g1s(vals):
        return g1_fixed_base_muls(G1_GEN, ints_to_array(vals))

    def sparse(entries):
        return SparseMatrix(constraint=np.array([e[0] for e in entries], dtype=np.int64),
                            signal=np.array([e[1] for e in entries], dtype=np.int64),
                            value=ints_to_array([e[2] % R for e in entries]))

    return ProvingKey(
        n_vars=n_vars, n_public=n_pub, domain_size=n,
        alpha_g1=g1_mul(G1_GEN, alpha), beta_g1=g1_mul(G1_GEN, beta), beta_g2=g2_mul(G2_GEN, beta),
        gamma_g2=G2_GEN, delta_g1=g1_mul(G1_GEN, delta), delta_g2=g2_mul(G2_GEN, delta),
        ic=g1s(k[:n_pub + 1]), a_g1=g1s(a_t), b_g1=g1s(b_t),
        b_g2=g2_fixed_base_muls(G2_GEN, ints_to_array(b_t)),
        c_g1=g1s([v * dinv % R for v in k[n_pub + 1:]]),
        h_g1=g1s([lag2[2 * i + 1] * dinv % R for i in range(n)]),
        a_matrix=sparse(a_e), b_matrix=sparse(b_e), n_constraints=m)
