"""Groth16 phase 2: multi-party contributions to a ``.zkey`` and verification of the chain.

A contribution with secret x (from the OS CSPRNG) maps the key to

    delta1 <- x delta1,   delta2 <- x delta2,   C_j <- C_j / x,   H_i <- H_i / x

which keeps every proof relation intact, and appends a record (snarkjs format, section 10):
``delta_after = new delta1``, a random ``g1_s``, ``g1_sx = x g1_s`` and
``g2_spx = x H2(transcript)``, where ``transcript = BLAKE2b(csHash || previous records ||
g1_s || g1_sx)`` and H2 is snarkjs' hash-to-G2.  As long as one contributor destroyed x,
nobody knows delta and the key is sound (docs/PITFALLS.md #11).

:func:`verify` recomputes the delta = 1 key from the R1CS and the ``.ptau``
(:func:`zkmargin.prover.setup.new_proving_key`) and checks, like ``snarkjs zkey verify``:

* the circuit hash, header and sections 3-7 equal the recomputed key's;
* each record: its transcript hash, ``e(g1_s, g2_spx) = e(g1_sx, H2(transcript))`` (knowledge
  of x) and ``e(delta_prev, g2_spx) = e(delta_after, H2)`` (delta moved by that x); beacon
  records re-derive their key from the beacon;
* ``delta1`` is the last ``delta_after`` and ``e(G1, delta2) = e(delta1, G2)``;
* C and H are the recomputed ones over delta: with random r,
  ``e(sum r_i C_i, delta2) = e(sum r_i C0_i, G2)`` and the same for H.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from typing import Optional

import numpy as np

from zkmargin.algebra import G1_GEN, G2_GEN, R, g1_mul, g1_scale_each, g2_mul
from zkmargin.algebra.field import ints_to_array
from zkmargin.formats.data_structures import ProvingKey
from zkmargin.formats.zkey import MpcParams, Phase2Contribution, mpc_params, mpc_params_to_bytes

from .ptau import (
    PowersOfTau,
    Progress,
    RatioChecks,
    VerifyReport,
    _rand_scalars,
    _tick,
    beacon_rng,
    g1_from_rng,
    g1_point_uncompressed,
    g2_point_uncompressed,
    hash_to_g2,
    msm_g1,
    msm_g2,
)
from .setup import new_proving_key

__all__ = ["contribute", "verify", "check_key", "contribution_hash", "transcript_prefix"]


def _hash_record(h, c: Phase2Contribution) -> None:
    """snarkjs ``hashPubKey``: delta_after, g1_s, g1_sx, g2_spx (uncompressed) and transcript."""
    h.update(g1_point_uncompressed(c.delta_after))
    h.update(g1_point_uncompressed(c.g1_s))
    h.update(g1_point_uncompressed(c.g1_sx))
    h.update(g2_point_uncompressed(c.g2_spx))
    h.update(c.transcript)


def transcript_prefix(mpc: MpcParams, upto: Optional[int] = None):
    """BLAKE2b state after csHash and the first ``upto`` records (all by default)."""
    h = hashlib.blake2b(digest_size=64)
    h.update(mpc.cs_hash)
    for c in mpc.contributions[:upto]:
        _hash_record(h, c)
    return h


def contribution_hash(c: Phase2Contribution) -> bytes:
    """The hash snarkjs prints for a contribution (BLAKE2b of its record)."""
    h = hashlib.blake2b(digest_size=64)
    _hash_record(h, c)
    return h.digest()


def _scale_all(points: np.ndarray, k: int) -> np.ndarray:
    if points.shape[0] == 0:
        return points.copy()
    return g1_scale_each(points, ints_to_array([k % R] * points.shape[0]))


def contribute(pk: ProvingKey, name: Optional[str] = None, *, progress: Progress = None,
               _secret: Optional[int] = None) -> tuple[ProvingKey, bytes]:
    """Add one contribution with a fresh secret from the OS CSPRNG (``_secret``: tests only).
    Returns the new key and the contribution hash to publish."""
    mpc = mpc_params(pk)
    x = _secret if _secret is not None else secrets.randbelow(R - 1) + 1
    g1_s = g1_mul(G1_GEN, secrets.randbelow(R - 1) + 1)
    g1_sx = g1_mul(g1_s, x)
    h = transcript_prefix(mpc)
    h.update(g1_point_uncompressed(g1_s))
    h.update(g1_point_uncompressed(g1_sx))
    transcript = h.digest()
    g2_spx = g2_mul(hash_to_g2(transcript), x)
    delta_g1 = g1_mul(pk.delta_g1, x)
    delta_g2 = g2_mul(pk.delta_g2, x)
    x_inv = pow(x, -1, R)
    _tick(progress, "contribute: C / x", 0, 2)
    c_g1 = _scale_all(pk.c_g1, x_inv)
    _tick(progress, "contribute: H / x", 1, 2)
    h_g1 = _scale_all(pk.h_g1, x_inv)
    del x, x_inv
    rec = Phase2Contribution(delta_after=delta_g1, g1_s=g1_s, g1_sx=g1_sx, g2_spx=g2_spx,
                             transcript=transcript, type=0, name=_clip(name))
    new_mpc = MpcParams(mpc.cs_hash, [*mpc.contributions, rec])
    _tick(progress, "contribute: done", 2, 2)
    new = replace(pk, delta_g1=delta_g1, delta_g2=delta_g2, c_g1=c_g1, h_g1=h_g1,
                  contributions=mpc_params_to_bytes(new_mpc))
    return new, contribution_hash(rec)


def _clip(name: Optional[str]) -> Optional[str]:
    if not name:
        return None
    return name.encode("utf-8")[:64].decode("utf-8", errors="ignore") or None


def _beacon_expected(c: Phase2Contribution):
    """snarkjs: prvKey = Fr.fromRng, g1_s = G1.fromRng from the iterated-SHA-256 beacon."""
    rng = beacon_rng(c.beacon_hash or b"", c.num_iterations_exp or 0)
    x = rng.field_element(R)
    s = g1_from_rng(rng)
    return s, g1_mul(s, x)


def _chain_checks(mpc: MpcParams, checks: RatioChecks, errors: list[str], notes: list[str]):
    """Queue the checks of every contribution record (transcript hash, proof of knowledge,
    delta moved by the same factor, beacon keys); returns the last delta (G1)."""
    cur_delta = G1_GEN
    h = hashlib.blake2b(digest_size=64)
    h.update(mpc.cs_hash)
    for i, c in enumerate(mpc.contributions):
        label = f"contribution #{i + 1}"
        mine = h.copy()
        mine.update(g1_point_uncompressed(c.g1_s))
        mine.update(g1_point_uncompressed(c.g1_sx))
        if mine.digest() != c.transcript:
            errors.append(f"{label}: inconsistent transcript hash")
        g2_sp = hash_to_g2(c.transcript)
        checks.add(f"{label}: public key G1 and G2 parts have different ratios", c.g1_s, c.g1_sx,
                   g2_sp, c.g2_spx)
        checks.add(f"{label}: delta does not follow the public key", cur_delta, c.delta_after,
                   g2_sp, c.g2_spx)
        if c.type == 1:
            try:
                s, sx = _beacon_expected(c)
            except ValueError as e:
                errors.append(f"{label}: {e}")
            else:
                if (s, sx) != (c.g1_s, c.g1_sx):
                    errors.append(f"{label}: beacon key does not match the beacon")
        _hash_record(h, c)
        notes.append(f"{label}: {c.name or '(no name)'}" + (" [beacon]" if c.type == 1 else "")
                     + f" hash {contribution_hash(c).hex()[:32]}...")
        cur_delta = c.delta_after
    if not mpc.contributions:
        notes.append("no phase-2 contribution: DEVELOPMENT-ONLY key (delta = 1)")
    return cur_delta


def verify(pk: ProvingKey, r1cs, acc: PowersOfTau, *, progress: Progress = None,
           initial: Optional[ProvingKey] = None) -> VerifyReport:
    """Verify that ``pk`` is the key of ``r1cs`` from ceremony ``acc`` after a valid chain of
    phase-2 contributions (see the module docstring).  ``initial`` may pass the recomputed
    delta = 1 key to save the setup time."""
    errors: list[str] = []
    notes: list[str] = []
    try:
        mpc = mpc_params(pk)
    except ValueError as e:
        return VerifyReport(False, [str(e)])
    _tick(progress, "verify: recomputing the initial key", 0, 4)
    init = initial if initial is not None else new_proving_key(r1cs, acc)
    init_mpc = mpc_params(init)
    if mpc.cs_hash != init_mpc.cs_hash:
        errors.append("circuit hash differs: the key was not made from this r1cs and ptau")
    if (pk.n_vars, pk.n_public, pk.domain_size) != (init.n_vars, init.n_public, init.domain_size):
        errors.append("circuit parameters (nVars, nPublic, domain size) differ")
        return VerifyReport(False, errors, notes)
    for name in ("alpha_g1", "beta_g1", "beta_g2", "gamma_g2"):
        if getattr(pk, name) != getattr(init, name):
            errors.append(f"{name} differs from the ceremony's")
    for name in ("ic", "a_g1", "b_g1", "b_g2"):
        if not np.array_equal(getattr(pk, name), getattr(init, name)):
            errors.append(f"section {name} differs from the recomputed key")
    for name in ("a_matrix", "b_matrix"):
        m, m0 = getattr(pk, name), getattr(init, name)
        if not (np.array_equal(m.constraint, m0.constraint) and np.array_equal(m.signal, m0.signal)
                and np.array_equal(m.value, m0.value)):
            errors.append(f"coefficients ({name}) differ from the r1cs")

    _tick(progress, "verify: contribution chain", 1, 4)
    checks = RatioChecks()
    cur_delta = _chain_checks(mpc, checks, errors, notes)
    if pk.delta_g1 != cur_delta:
        errors.append("delta1 is not the last contribution's delta")
    checks.add("delta2 does not match delta1", G1_GEN, pk.delta_g1, G2_GEN, pk.delta_g2)

    _tick(progress, "verify: C and H over delta", 2, 4)
    # C_new = C0 / delta  <=>  e(sum r C_new, delta2) = e(sum r C0, G2)  (C0: delta = 1)
    for label, new, old in (("C section", pk.c_g1, init.c_g1), ("H section", pk.h_g1, init.h_g1)):
        if new.shape != old.shape:
            errors.append(f"{label}: wrong size")
            continue
        if new.shape[0] == 0:
            continue
        r = _rand_scalars(new.shape[0])
        checks.add(f"{label} is not the recomputed one over delta", msm_g1(new, r), msm_g1(old, r),
                   G2_GEN, pk.delta_g2)
    _tick(progress, "verify: pairings", 3, 4)
    errors += checks.failures()
    _tick(progress, "verify: done", 4, 4)
    return VerifyReport(not errors, errors, notes)


# =============================================================================================
# Self-check of a key against its ceremony, without recomputing it
# =============================================================================================


def _fr_matvec(rows: np.ndarray, cols: np.ndarray, coeffs: np.ndarray, vec: np.ndarray,
               n_rows: int) -> np.ndarray:
    """Canonical out[rows[k]] += coeffs[k] * vec[cols[k]] over F_r."""
    from zkmargin.algebra.kernel_set import kernel_set

    ks = kernel_set()
    return ks.sparse_matvec(rows, cols, np.ascontiguousarray(coeffs, dtype=np.uint64).reshape(-1, 4),
                            ks.to_mont(vec), n_rows)


def check_key(pk: ProvingKey, r1cs, acc: Optional[PowersOfTau], *, progress: Progress = None) -> VerifyReport:
    """Self-check that ``pk`` is the Groth16 key of ``r1cs`` from ceremony ``acc`` (after any
    number of valid phase-2 contributions), cheaper than :func:`verify`, which recomputes the
    whole key: a handful of MSMs and one multi-pairing.

    * every point a group element (G1 on the curve, G2 in the subgroup), the header equal to
      the ceremony's alpha, beta (gamma = G2), the A and B coefficients equal to the r1cs';
    * with random 128-bit weights r over the signals and A r, B r, C r their images over the
      constraints (L, aL, bL, L2: the ceremony's Lagrange bases of the domain):
      ``sum r_j A_j = sum (A r)_c L_c``, the same for B1, and ``e(G1, sum r_j B2_j) =
      e(sum r_j B1_j, G2)``;
      ``e(sum_priv r_j C_j, delta2) = e(sum (A r) bL + (B r) aL + (C r) L - sum_pub r_j IC_j, G2)``;
      ``e(sum r_i H_i, delta2) = e(sum r_i L^(2n)_(2i+1), G2)``;
    * ``e(delta1, G2) = e(G1, delta2)`` and the contribution chain (as :func:`verify`).

    Not checked: the circuit hash at the root of the transcript (it hashes the delta = 1 key,
    which only :func:`verify` recomputes).  ``acc=None`` (the ceremony is not at hand) skips
    what needs it -- the header against the ceremony and the A, B1, IC/C and H relations --
    and says so in the notes."""
    from zkmargin.algebra import check_g1, check_g2, g1_add, g1_neg, g1_points_from_array, g2_points_from_array
    from zkmargin.algebra.encoding import PointError

    from .ptau import array_problem, lagrange_g1
    from .setup import _ones, _r1cs_matrices, circuit_power

    errors: list[str] = []
    notes: list[str] = []
    n_c, n_pub, n_vars = r1cs.n_constraints, r1cs.n_public, r1cs.n_wires
    n = 2 ** circuit_power(n_c, n_pub)
    if (pk.n_vars, pk.n_public, pk.domain_size) != (n_vars, n_pub, n):
        return VerifyReport(False, [f"circuit parameters (nVars, nPublic, domain size) = "
                                    f"{(pk.n_vars, pk.n_public, pk.domain_size)}, the r1cs needs "
                                    f"{(n_vars, n_pub, n)}"])
    try:
        mpc = mpc_params(pk)
    except ValueError as e:
        return VerifyReport(False, [str(e)])
    _tick(progress, "check: points", 0, 4)
    for label, arr, g2 in (("IC section", pk.ic, False), ("A section", pk.a_g1, False),
                           ("B1 section", pk.b_g1, False), ("B2 section", pk.b_g2, True),
                           ("C section", pk.c_g1, False), ("H section", pk.h_g1, False)):
        problem = array_problem(label, arr, g2=g2)
        if problem:
            errors.append(problem)
    try:
        for name in ("alpha_g1", "beta_g1", "delta_g1"):
            check_g1(getattr(pk, name), allow_infinity=False, what=f"header {name}")
        for name in ("beta_g2", "gamma_g2", "delta_g2"):
            check_g2(getattr(pk, name), allow_infinity=False, what=f"header {name}")
    except PointError as e:
        errors.append(str(e))
    if errors:                      # the pairing code refuses invalid points: stop here
        return VerifyReport(False, errors, notes)
    if acc is not None:
        first = g1_points_from_array(np.concatenate([acc.alpha_tau_g1[:1], acc.beta_tau_g1[:1]]))
        if (pk.alpha_g1, pk.beta_g1) != tuple(first) or pk.beta_g2 != g2_points_from_array(acc.beta_g2)[0]:
            errors.append("alpha/beta in the header differ from the ceremony's")
    if pk.gamma_g2 != G2_GEN:
        errors.append("gamma2 is not the generator")

    (a_r, a_c, a_v), (b_r, b_c, b_v), (c_r, c_c, c_v) = _r1cs_matrices(r1cs)
    pub = np.arange(n_pub + 1, dtype=np.int64)
    am = (np.concatenate([a_r, n_c + pub]), np.concatenate([a_c, pub]),
          np.concatenate([a_v, _ones(n_pub + 1)]))
    for label, m, (rows, cols, vals) in (("A", pk.a_matrix, am), ("B", pk.b_matrix, (b_r, b_c, b_v))):
        if not (np.array_equal(m.constraint, rows) and np.array_equal(m.signal, cols)
                and np.array_equal(np.asarray(m.value, dtype=np.uint64).reshape(-1, 4), vals)):
            errors.append(f"coefficients ({label}) differ from the r1cs")

    _tick(progress, "check: sections against the ceremony", 1, 4)
    checks = RatioChecks()
    r = _rand_scalars(n_vars)
    b1_sum, b2_sum = msm_g1(pk.b_g1, r), msm_g2(pk.b_g2, r)
    if b1_sum is not None and b2_sum is not None:      # B2 = B1 in G2: e(G1, sum r B2) = e(sum r B1, G2)
        checks.add("B2 section does not match B1", G1_GEN, b1_sum, G2_GEN, b2_sum)
    elif (b1_sum is None) != (b2_sum is None):
        errors.append("B2 section does not match B1")
    if acc is None:
        notes.append("not checked against a ceremony (none given): A, B1, IC, C, H and alpha/beta")
    else:
        lag, lag_a, lag_b = (lagrange_g1(acc, w, n) for w in ("tau", "alpha", "beta"))
        s_a = _fr_matvec(am[0], am[1], am[2], r, n)
        s_b = _fr_matvec(b_r, b_c, b_v, r, n)
        s_c = _fr_matvec(c_r, c_c, c_v, r, n)
        if msm_g1(pk.a_g1, r) != msm_g1(lag, s_a):
            errors.append("A section does not match the ceremony's Lagrange basis")
        if b1_sum != msm_g1(lag, s_b):
            errors.append("B1 section does not match the ceremony's Lagrange basis")
        k_sum = None
        for base, sc in ((lag_b, s_a), (lag_a, s_b), (lag, s_c)):
            k_sum = g1_add(k_sum, msm_g1(base, sc))
        public_part = g1_add(k_sum, g1_neg(msm_g1(pk.ic, np.ascontiguousarray(r[:n_pub + 1]))))
        private_part = msm_g1(pk.c_g1, np.ascontiguousarray(r[n_pub + 1:])) if pk.c_g1.shape[0] else None
        if private_part is not None and public_part is not None:
            checks.add("IC/C sections do not match the ceremony (C over delta)", private_part,
                       public_part, G2_GEN, pk.delta_g2)
        elif (private_part is None) != (public_part is None):   # both zero only if all K_j are
            errors.append("IC/C sections do not match the ceremony")
        r_h = _rand_scalars(n)
        h_ref = np.ascontiguousarray(lagrange_g1(acc, "tau", 2 * n)[1::2])
        checks.add("H section does not match the ceremony (over delta)", msm_g1(pk.h_g1, r_h),
                   msm_g1(h_ref, r_h), G2_GEN, pk.delta_g2)

    _tick(progress, "check: contribution chain", 2, 4)
    cur_delta = _chain_checks(mpc, checks, errors, notes)
    if pk.delta_g1 != cur_delta:
        errors.append("delta1 is not the last contribution's delta")
    checks.add("delta2 does not match delta1", G1_GEN, pk.delta_g1, G2_GEN, pk.delta_g2)
    _tick(progress, "check: pairings", 3, 4)
    errors += checks.failures()
    _tick(progress, "check: done", 4, 4)
    return VerifyReport(not errors, errors, notes)
