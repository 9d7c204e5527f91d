"""Groth16 circuit-specific setup (phase 2 initialisation), compatible with ``snarkjs groth16
setup``: the same R1CS and ``.ptau`` give a byte-identical ``.zkey``.

With the size-n Lagrange bases at tau from the ceremony,
``L_c = [L_c(tau)]G1``, ``L2_c = [L_c(tau)]G2``, ``aL_c = [alpha L_c(tau)]G1``,
``bL_c = [beta L_c(tau)]G1`` (n = domainSize = 2^ceil(log2(nConstraints + nPublic + 1))),
each key vector is a sparse-matrix x point-vector product over the R1CS matrices:

* ``A_j  = sum_c A[c][j] L_c``  plus, for public j (and j = 0), the extra row ``L_(nC + j)``
  that snarkjs adds so the public inputs are linearly independent;
* ``B1_j = sum_c B[c][j] L_c``, ``B2_j = sum_c B[c][j] L2_c``;
* ``K_j  = sum_c (A[c][j] bL_c + B[c][j] aL_c + C[c][j] L_c)`` (plus ``bL_(nC + j)`` for
  public j): ``IC = K_0..K_nPublic`` (over gamma = 1) and ``C = K_(nPublic+1)..`` (over delta);
* ``H_i = [L^(2n)_(2i+1)(tau)]G1``: the odd-index Lagrange points of the 2n domain (the
  snarkjs H strategy, docs/INTEROP.md), over delta.

The initial delta is 1 (like snarkjs), so the key is **DEVELOPMENT-ONLY** -- whoever ran the
setup can forge proofs -- until at least one independent party contributes
(:mod:`zkmargin.prover.phase2`, docs/PITFALLS.md #11).

Section 10 starts with the *circuit hash*: BLAKE2b over the delta = 1 key in snarkjs' order,
which contributions chain from and ``zkey verify`` recomputes.

Input R1CS: :class:`zkmargin.formats.r1cs.R1CS` (``n_wires``, ``n_public``,
``n_constraints`` and ``matrices()`` giving A, B, C as coordinate arrays ordered by row then
column -- the order of the ``.r1cs`` file, which section 4 follows).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from zkmargin.algebra import G1_GEN, G2_GEN, R, g1_array_from_points, g1_sparse_matvec, g2_array_from_points, g2_sparse_matvec
from zkmargin.algebra.field import ints_to_array
from zkmargin.errors import ZkmarginError
from zkmargin.formats.data_structures import ProvingKey, SparseMatrix
from zkmargin.formats.zkey import MpcParams, mpc_params_to_bytes

from .ptau import (
    MAX_POWER,
    PowersOfTau,
    Progress,
    _tick,
    g1_uncompressed,
    g2_uncompressed,
    lagrange_block_scalars,
    lagrange_g1,
    lagrange_g2,
)

__all__ = ["new_proving_key", "PhaseOneSecrets", "circuit_power", "circuit_hash", "h_hash_points", "describe",
           "DEV_ONLY_WARNING", "SetupError"]

DEV_ONLY_WARNING = ("DEVELOPMENT-ONLY key: delta = 1 and no phase-2 contribution yet -- whoever "
                    "ran this setup can forge proofs. Run `zkmargin zkey contribute` (independent "
                    "parties) before production use.")

#: snarkjs hashes the H-point block in chunks of this many points (see :func:`circuit_hash`).
_H_HASH_CHUNK = 1 << 14


class SetupError(ZkmarginError):
    """The R1CS and the powers of tau cannot make a key (field, size)."""


def circuit_power(n_constraints: int, n_public: int) -> int:
    """log2 of the domain size: the smallest power of two >= nConstraints + nPublic + 1
    (at least 2^1, as in snarkjs)."""
    m = n_constraints + n_public + 1
    return max(1, (m - 1).bit_length())


def _ones(n: int) -> np.ndarray:
    return ints_to_array([1] * n) if n else np.zeros((0, 4), np.uint64)


#: Merge identical matrix rows before the sparse products (see :func:`_matvec`); tests turn it
#: off to compare with the direct products.
MERGE_IDENTICAL_ROWS = True


def _merge_rows(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_points: int, min_len: int = 2):
    """Groups of identical rows (same columns and coefficients, at least ``min_len`` entries):
    one copy of each group is kept, re-indexed to the virtual point ``n_points + g``; returns
    (rows, cols, vals, member rows, member groups, number of groups), or None without any."""
    if not len(rows):
        return None
    order = np.argsort(rows, kind="stable")
    r, c, v = rows[order], cols[order], vals[order]
    starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    ends = np.r_[starts[1:], len(r)]
    cb, vb = np.ascontiguousarray(c, dtype=np.int64).tobytes(), np.ascontiguousarray(v, dtype=np.uint64).tobytes()
    groups: dict[bytes, list[tuple[int, int]]] = {}
    for a, b in zip(starts.tolist(), ends.tolist()):
        if b - a >= min_len:
            groups.setdefault(cb[8 * a:8 * b] + vb[32 * a:32 * b], []).append((a, b))
    dups = [g for g in groups.values() if len(g) > 1]
    if not dups:
        return None
    keep = np.ones(len(r), dtype=bool)
    new_rows = r.copy()
    members, member_group = [], []
    for gi, g in enumerate(dups):
        for a, _ in g:
            members.append(int(r[a]))
            member_group.append(gi)
        a0, b0 = g[0]
        new_rows[a0:b0] = n_points + gi
        for a, b in g[1:]:
            keep[a:b] = False
    return (new_rows[keep], c[keep], v[keep], np.asarray(members, dtype=np.int64),
            np.asarray(member_group, dtype=np.int64), len(dups))


def _matvec(matvec, points: np.ndarray, rows, cols, vals, n_out: int) -> np.ndarray:
    """``matvec(points, rows, cols, vals, n_out)`` (out[col] += val * points[row]), with
    identical rows merged first: sum_i c * P_i over rows i with the same entries is c * (sum_i
    P_i), so each group costs additions for its point sum and one set of products instead of
    one per row. Poseidon's S-boxes read the same long linear combination in two constraints
    (x^2 = a * a and x^5 = x^4 * a), so B has most of its large coefficients twice. The points
    are the same group elements either way (affine, so byte for byte the same key)."""
    m = _merge_rows(rows, cols, vals, points.shape[0]) if MERGE_IDENTICAL_ROWS else None
    if m is None:
        return matvec(points, rows, cols, vals, n_out)
    r2, c2, v2, members, member_group, n_groups = m
    sums = matvec(points, members, member_group, _ones(len(members)), n_groups)   # additions only
    return matvec(np.concatenate([points, sums]), r2, c2, v2, n_out)


def _r1cs_matrices(r1cs) -> tuple:
    """(A, B, C) as (rows, cols, coeffs) from :meth:`R1CS.matrices`."""
    mats = r1cs.matrices()
    out = []
    for m in mats:
        out.append((np.asarray(m.rows, dtype=np.int64), np.asarray(m.cols, dtype=np.int64),
                    np.ascontiguousarray(m.coeffs, dtype=np.uint64).reshape(-1, 4)))
    return tuple(out)


@dataclass(frozen=True)
class PhaseOneSecrets:
    """tau, alpha, beta of a DEVELOPMENT powers of tau made in this very process (kept in
    memory only, never written or printed; ``repr`` hides them).

    With them :func:`new_proving_key` computes each key point as a fixed-base multiple of one
    scalar: sum_c A[c][j] [L_c(tau)]G = [sum_c A[c][j] L_c(tau)]G, the same group element
    (affine, so the same bytes) as the sparse product of the ptau's Lagrange points, for field
    arithmetic plus one fixed-base multiplication per point instead of one variable-base
    product per matrix entry."""

    tau: int = field(repr=False)
    alpha: int = field(repr=False)
    beta: int = field(repr=False)


def new_proving_key(r1cs, acc: PowersOfTau, *, progress: Progress = None,
                    secrets: Optional[PhaseOneSecrets] = None) -> ProvingKey:
    """The initial (delta = 1) Groth16 key for ``r1cs`` from the ceremony ``acc`` -- the same
    key ``snarkjs groth16 setup`` writes.  Uses the prepared Lagrange sections when present and
    computes the two needed bases (group iFFT) otherwise.  ``secrets``: the ptau's own secrets
    when this process made it (:class:`PhaseOneSecrets`; they must match ``acc``), for the
    same key by fixed-base multiplications."""
    if getattr(r1cs, "prime", R) != R:
        raise SetupError("the R1CS is not over the BN254 scalar field")
    n_pub = r1cs.n_public
    n_c = r1cs.n_constraints
    n_vars = r1cs.n_wires
    power = circuit_power(n_c, n_pub)
    if power >= MAX_POWER:
        raise SetupError(f"circuit needs a 2^{power} domain: too big for BN254 (at most 2^{MAX_POWER - 1})")
    if power > acc.power:
        raise SetupError(f"circuit too big for this powers of tau: {n_c} constraints + {n_pub} "
                         f"public need a 2^{power} domain, the .ptau has power {acc.power}")
    n = 2 ** power
    steps = 7
    (a_r, a_c, a_v), (b_r, b_c, b_v), (c_r, c_c, c_v) = _r1cs_matrices(r1cs)
    pub = np.arange(n_pub + 1, dtype=np.int64)
    extra_rows = n_c + pub
    am_rows = np.concatenate([a_r, extra_rows])
    am_cols = np.concatenate([a_c, pub])
    am_vals = np.concatenate([a_v, _ones(n_pub + 1)])
    # K = beta A + alpha B + C: one product over the stacked bases [beta L | alpha L | L]
    k_rows = np.concatenate([a_r, n + b_r, 2 * n + c_r, extra_rows])
    k_cols = np.concatenate([a_c, b_c, c_c, pub])
    k_vals = np.concatenate([a_v, b_v, c_v, _ones(n_pub + 1)])
    products = _FromSecrets(secrets, acc, n) if secrets is not None else _FromPoints(acc, n)
    _tick(progress, "setup: Lagrange bases", 0, steps)
    products.bases()
    _tick(progress, "setup: H (2n-domain Lagrange basis)", 1, steps)
    h_g1 = products.h()
    _tick(progress, "setup: A", 2, steps)
    a_g1 = products.g1(am_rows, am_cols, am_vals, n_vars)
    _tick(progress, "setup: B", 3, steps)
    b_g1 = products.g1(b_r, b_c, b_v, n_vars)
    _tick(progress, "setup: B in G2", 4, steps)
    b_g2 = products.g2(b_r, b_c, b_v, n_vars)
    _tick(progress, "setup: IC and C", 5, steps)
    k_g1 = products.g1(k_rows, k_cols, k_vals, n_vars, stacked=True)
    ic = np.ascontiguousarray(k_g1[:n_pub + 1])
    c_g1 = np.ascontiguousarray(k_g1[n_pub + 1:])
    del products

    g1_one = g1_array_from_points([G1_GEN])
    g2_one = g2_array_from_points([G2_GEN])
    pk = ProvingKey(
        n_vars=n_vars, n_public=n_pub, domain_size=n,
        alpha_g1=_pt1(acc.alpha_tau_g1[0]), beta_g1=_pt1(acc.beta_tau_g1[0]),
        beta_g2=_pt2(acc.beta_g2[0]), gamma_g2=G2_GEN, delta_g1=G1_GEN, delta_g2=G2_GEN,
        ic=ic, a_g1=a_g1, b_g1=b_g1, b_g2=b_g2, c_g1=c_g1, h_g1=h_g1,
        a_matrix=SparseMatrix(am_rows, am_cols, am_vals),
        b_matrix=SparseMatrix(b_r.copy(), b_c.copy(), b_v.copy()),
        n_constraints=n_c)
    _tick(progress, "setup: circuit hash", 6, steps)
    cs_hash = circuit_hash(pk, acc, g1_one, g2_one)
    pk.contributions = mpc_params_to_bytes(MpcParams(cs_hash, []))
    _tick(progress, "setup: done", steps, steps)
    return pk


class _FromPoints:
    """The key's points as sparse products of the ptau's Lagrange points (any ptau)."""

    def __init__(self, acc: PowersOfTau, n: int) -> None:
        self.acc, self.n = acc, n

    def bases(self) -> None:
        self.lag = lagrange_g1(self.acc, "tau", self.n)
        self.stacked = np.concatenate([lagrange_g1(self.acc, "beta", self.n),
                                       lagrange_g1(self.acc, "alpha", self.n), self.lag])
        self.lag2 = lagrange_g2(self.acc, self.n)

    def h(self) -> np.ndarray:
        return np.ascontiguousarray(lagrange_g1(self.acc, "tau", 2 * self.n)[1::2])

    def g1(self, rows, cols, vals, n_out: int, stacked: bool = False) -> np.ndarray:
        return _matvec(g1_sparse_matvec, self.stacked if stacked else self.lag, rows, cols, vals, n_out)

    def g2(self, rows, cols, vals, n_out: int) -> np.ndarray:
        return _matvec(g2_sparse_matvec, self.lag2, rows, cols, vals, n_out)


class _FromSecrets:
    """The same points from the ptau's secrets: F_r scalars (inverse NTTs of the powers of
    tau give the Lagrange values; sparse products in F_r), then fixed-base multiplications."""

    def __init__(self, secrets: PhaseOneSecrets, acc: PowersOfTau, n: int) -> None:
        from zkmargin.algebra import g1_mul, g2_mul

        if (_pt1(acc.tau_g1[1]) != g1_mul(G1_GEN, secrets.tau) or _pt2(acc.tau_g2[1]) != g2_mul(G2_GEN, secrets.tau)
                or _pt1(acc.alpha_tau_g1[0]) != g1_mul(G1_GEN, secrets.alpha)
                or _pt1(acc.beta_tau_g1[0]) != g1_mul(G1_GEN, secrets.beta)):
            raise SetupError("the phase-1 secrets given to the setup are not those of this powers of tau")
        from zkmargin.algebra.kernel_set import kernel_set

        self.s, self.acc, self.n, self.ks = secrets, acc, n, kernel_set()

    def bases(self) -> None:
        ks, n, s = self.ks, self.n, self.s
        self.lag = lagrange_block_scalars(ks.powers(s.tau, n), n)
        self.stacked = np.concatenate([lagrange_block_scalars(ks.powers(s.tau, n, s.beta), n),
                                       lagrange_block_scalars(ks.powers(s.tau, n, s.alpha), n), self.lag])

    def h(self) -> np.ndarray:
        """L^(2n)_(2i+1)(tau), the top power taken as zero where the ptau lacks it, as its
        points are."""
        m = 2 * self.n
        lag2n = lagrange_block_scalars(self.ks.powers(self.s.tau, m), m,
                                       missing_top=m > self.acc.tau_g1.shape[0])
        return self._g1s(lag2n[1::2])

    def _scalars(self, rows, cols, vals, n_out: int, stacked: bool) -> np.ndarray:
        """out[col] += val * L[row] in F_r."""
        lag = self.stacked if stacked else self.lag
        return self.ks.sparse_matvec(cols, rows, vals, self.ks.to_mont(lag), n_out)

    @staticmethod
    def _g1s(scalars: np.ndarray) -> np.ndarray:
        from zkmargin.algebra import g1_fixed_base_muls
        return g1_fixed_base_muls(G1_GEN, scalars)

    def g1(self, rows, cols, vals, n_out: int, stacked: bool = False) -> np.ndarray:
        return self._g1s(self._scalars(rows, cols, vals, n_out, stacked))

    def g2(self, rows, cols, vals, n_out: int) -> np.ndarray:
        from zkmargin.algebra import g2_fixed_base_muls
        return g2_fixed_base_muls(G2_GEN, self._scalars(rows, cols, vals, n_out, False))


def _pt1(row: np.ndarray):
    from zkmargin.algebra import g1_points_from_array
    return g1_points_from_array(row.reshape(1, 2, 4))[0]


def _pt2(row: np.ndarray):
    from zkmargin.algebra import g2_points_from_array
    return g2_points_from_array(row.reshape(1, 2, 2, 4))[0]


def _u32be(n: int) -> bytes:
    return struct.pack(">I", n)


def h_hash_points(acc: PowersOfTau, domain_size: int) -> np.ndarray:
    """The points snarkjs hashes for H: ``tau^(i+n) G1 - tau^i G1`` = [tau^i (tau^n - 1)]G1.

    snarkjs hashes ``n - 1`` of them, in chunks of 2^14 (a whole last chunk when n - 1 > 2^14,
    so ``ceil((n-1)/2^14) * 2^14`` points then); we reproduce that count."""
    n = domain_size
    count = n - 1
    if count > _H_HASH_CHUNK:
        count = -(-count // _H_HASH_CHUNK) * _H_HASH_CHUNK
    avail = acc.tau_g1.shape[0] - n
    if count > avail:
        raise SetupError(
            f"snarkjs' circuit hash for a 2^{n.bit_length() - 1} domain reads tau*G1 points beyond "
            f"a power-{acc.power} ptau (a snarkjs quirk); use a ptau of power >= {n.bit_length()}")
    i = np.arange(count, dtype=np.int64)
    rows = np.concatenate([i + n, i])
    cols = np.concatenate([i, i])
    vals = np.concatenate([_ones(count), ints_to_array([R - 1] * count) if count else _ones(0)])
    return g1_sparse_matvec(acc.tau_g1, rows, cols, vals, count)


def circuit_hash(pk: ProvingKey, acc: PowersOfTau, g1_one=None, g2_one=None) -> bytes:
    """snarkjs' ``csHash`` of an initial key: BLAKE2b-512 of, in order, the uncompressed
    alpha1, beta1, beta2, gamma2, delta1, delta2; then for IC, H, C, A, B1, B2 a big-endian u32
    count followed by the points (for H the points of :func:`h_hash_points`)."""
    g1_one = g1_array_from_points([G1_GEN]) if g1_one is None else g1_one
    g2_one = g2_array_from_points([G2_GEN]) if g2_one is None else g2_one
    h = hashlib.blake2b(digest_size=64)
    h.update(g1_uncompressed(g1_array_from_points([pk.alpha_g1, pk.beta_g1])))
    h.update(g2_uncompressed(g2_array_from_points([pk.beta_g2])))
    h.update(g2_uncompressed(g2_one))     # gamma2
    h.update(g1_uncompressed(g1_one))     # delta1 (initial)
    h.update(g2_uncompressed(g2_one))     # delta2 (initial)
    h.update(_u32be(pk.ic.shape[0]))
    h.update(g1_uncompressed(pk.ic))
    h.update(_u32be(pk.domain_size - 1))
    h.update(g1_uncompressed(h_hash_points(acc, pk.domain_size)))
    for arr, enc in ((pk.c_g1, g1_uncompressed), (pk.a_g1, g1_uncompressed),
                     (pk.b_g1, g1_uncompressed), (pk.b_g2, g2_uncompressed)):
        h.update(_u32be(arr.shape[0]))
        h.update(enc(arr))
    return h.digest()


def describe(pk: ProvingKey) -> str:
    """One line about a key, with the development-only label when it applies."""
    base = (f"Groth16 key: {pk.n_vars} wires, {pk.n_public} public, domain 2^"
            f"{pk.domain_size.bit_length() - 1}, {pk.n_contributions} phase-2 contribution(s)")
    return base + (" -- DEVELOPMENT-ONLY" if pk.development_only else "")

