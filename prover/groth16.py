"""The Groth16 prover (Groth, EUROCRYPT 2016), computing H the way snarkjs does.

Given a proving key (a snarkjs ``.zkey``) and a witness ``w`` (``w[0] = 1``, then the public
signals, then the private ones), the prover works in four rounds:

**Round 1 -- the QAP at the constraint points.**  For each constraint i (a point ω^i of the
size-n domain) compute a_i = <A_i, w> and b_i = <B_i, w> from the sparse coefficient matrices
stored in the key, and set c_i = a_i · b_i.  (The key stores no C matrix: snarkjs relies on
c_i = a_i b_i, which holds for every constraint exactly when the witness satisfies the circuit.)

**Round 2 -- the quotient H.**  Let A(X), B(X), C(X) interpolate a, b, c on the size-n domain.
P = A·B − C has degree ≤ 2n − 2 and vanishes on the size-n domain (the even powers of the
size-2n root ω_2n), so P(τ) = Σ_i P(ω_2n^(2i+1)) · L_(2i+1)(τ) over the *odd* points alone.
The key's H points are exactly [L_(2i+1)(τ)/δ]_1, so H = Σ_i p_i · h_g1[i] with
p_i = P(ω_2n^(2i+1)) = A·B − C evaluated on the odd coset ω_2n·⟨ω_n⟩, computed per polynomial
by iNTT, multiplying coefficient k by ω_2n^k, and NTT (:class:`OddCosetH`).  No division by
the vanishing polynomial happens; a pluggable :class:`HStrategy` keeps room for keys made for
the textbook coset-and-divide quotient.

**Round 3 -- multi-scalar multiplications.**
A = Σ w_j [A_j(τ)]_1, B1 = Σ w_j [B_j(τ)]_1, B2 = Σ w_j [B_j(τ)]_2,
C = Σ_(j private) w_j [(βA_j + αB_j + C_j)(τ)/δ]_1, H as above.

**Round 4 -- blinding.**  With r, s fresh and uniform in F_r (OS CSPRNG) for every proof:

    π_A = A + α1 + r·δ1
    π_B = B2 + β2 + s·δ2           (and its G1 twin B1' = B1 + β1 + s·δ1)
    π_C = C + H + s·π_A + r·B1' − r·s·δ1

The random r, s make the proof zero-knowledge: two proofs of the same witness differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import SystemRandom
from typing import Callable, Optional, Protocol

import numpy as np

from zkmargin.formats.data_structures import Proof, ProvingKey, SparseMatrix, VerifyingKey

from ..algebra.arrays import array_to_ints, g1_points_from_array, limbs_below
from ..algebra.constants import R
from ..algebra.kernel_set import Job, KernelSet, kernel_set
from ..algebra.points import g1_add, g1_mul, g1_neg, g2_add
from ..errors import ZkmarginError
from ..formats.zkey import stored_records

#: ``progress(stage, done, total)``: called as each of the prover's stages starts and at the end.
ProgressCallback = Callable[[str, int, int], None]

#: ``done_with(part)``: called once the prover has read the last of a part of the key
#: (``"coefficients"``, then ``"a_g1"``, ``"b_g1"``, ``"c_g1"``, ``"b_g2"``, ``"h_g1"``).
DoneWith = Callable[[str], None]


class WitnessError(ZkmarginError):
    """The witness does not fit the proving key or does not satisfy the circuit."""


# ---------------------------------------------------------------------------------------------
# F_r vector helpers (canonical in and out; kernels from the prover's kernel set)


def sparse_matvec(m: SparseMatrix, witness: np.ndarray, n_rows: int,
                  witness_mont: Optional[np.ndarray] = None, *,
                  kernels: Optional[KernelSet] = None) -> np.ndarray:
    """``M · w`` for a key's coefficient matrix: uint64[n_rows, 4] canonical."""
    ks = kernels or kernel_set()
    if witness_mont is None:
        witness_mont = ks.to_mont(witness)
    return ks.sparse_matvec(m.constraint, m.signal, m.value, witness_mont, n_rows)


def constraint_values(pk: ProvingKey, w: np.ndarray, n: int,
                      ks: KernelSet) -> tuple[np.ndarray, np.ndarray]:
    """(A·w, B·w) at the n constraint points, canonical: straight from the key file's
    section-4 records when the key has them (:func:`~zkmargin.formats.zkey.stored_records`),
    else from its canonical matrices."""
    records = stored_records(pk)
    if records is not None:
        return ks.records_matvec(records, w, n)
    w_mont = ks.to_mont(w)
    return (sparse_matvec(pk.a_matrix, w, n, w_mont, kernels=ks),
            sparse_matvec(pk.b_matrix, w, n, w_mont, kernels=ks))


def pointwise_mul(a: np.ndarray, b: np.ndarray, *, kernels: Optional[KernelSet] = None) -> np.ndarray:
    """a ∘ b (canonical F_r vectors)."""
    return (kernels or kernel_set()).mul_sub(a, b)


# ---------------------------------------------------------------------------------------------
# H strategies


class HStrategy(Protocol):
    """Turns the constraint-point values a, b, c (length n) into the scalars that multiply the
    key's H points (``ProvingKey.h_g1``).  Which strategy is right depends on how the key's H
    points were made."""

    name: str

    def h_scalars(self, a: np.ndarray, b: np.ndarray, c: np.ndarray,
                  kernels: Optional[KernelSet] = None) -> np.ndarray: ...

    def h_job(self, a: np.ndarray, b: np.ndarray, c: np.ndarray, kernels: KernelSet) -> Job:
        """The same computation as a :class:`~zkmargin.algebra.kernel_set.Job` (its tasks run
        beside other work on the kernels' threads; ``finish()`` returns the scalars).  It may
        use a, b and c as scratch (the prover's own arrays, not needed afterwards)."""
        ...


@dataclass(frozen=True)
class OddCosetH:
    """snarkjs' quotient (docs/INTEROP.md): p_i = (A·B − C)(ω_2n^(2i+1)), i < n.

    For each of A, B, C: iNTT to coefficients, scale coefficient k by ω_2n^k, NTT -- i.e. the
    evaluations on the odd coset ω_2n·⟨ω_n⟩.  Matches ``h_g1[i] = [L_(2i+1)(τ)/δ]_1``.
    """

    name: str = "snarkjs-odd-coset"

    def h_scalars(self, a: np.ndarray, b: np.ndarray, c: np.ndarray,
                  kernels: Optional[KernelSet] = None) -> np.ndarray:
        return (kernels or kernel_set()).odd_coset_h(a, b, c)

    def h_job(self, a: np.ndarray, b: np.ndarray, c: np.ndarray, kernels: KernelSet) -> Job:
        return kernels.odd_coset_h_job(a, b, c, overwrite=True)


DEFAULT_H_STRATEGY: HStrategy = OddCosetH()


# ---------------------------------------------------------------------------------------------
# Helpers on keys and witnesses


def verifying_key_of(pk: ProvingKey) -> VerifyingKey:
    """The verifying key embedded in a proving key."""
    return VerifyingKey(alpha_g1=pk.alpha_g1, beta_g2=pk.beta_g2, gamma_g2=pk.gamma_g2,
                        delta_g2=pk.delta_g2, ic=g1_points_from_array(pk.ic))


def check_witness_shape(pk: ProvingKey, witness: np.ndarray) -> np.ndarray:
    """Validate a witness limb array against the key; returns it as contiguous uint64[n, 4]."""
    w = np.asarray(witness)
    if w.ndim != 2 or w.shape[1] != 4:
        raise WitnessError(f"witness must be a uint64[n, 4] limb array, got shape {w.shape}")
    if w.shape[0] != pk.n_vars:
        raise WitnessError(f"witness has {w.shape[0]} values, the circuit has {pk.n_vars} signals")
    w = np.ascontiguousarray(w, dtype=np.uint64)
    ok = limbs_below(w, R)
    if not ok.all():
        raise WitnessError(f"witness value #{int(np.argmin(ok))} is not reduced (>= r)")
    if tuple(int(v) for v in w[0]) != (1, 0, 0, 0):
        raise WitnessError("witness[0] must be the constant 1")
    return w


def public_signals(pk: ProvingKey, witness: np.ndarray) -> list[int]:
    """The public signals (``public.json`` order): witness[1 .. n_public]."""
    return array_to_ints(witness[1:1 + pk.n_public])


def proof_satisfies_key(pk: ProvingKey, publics: list[int], proof: Proof) -> bool:
    """The Groth16 equation e(A,B) = e(alpha,beta) e(vk_x,gamma) e(C,delta) for a proof this
    prover has just made (its points are valid by construction, so none of the verifier's input
    checks are repeated).  The prover's own self-check; verifying someone else's proof is
    :func:`zkmargin.verifier.groth16.verify`."""
    from ..algebra.pairing_py import pairing_product_is_one_py  # pure Python: no numba start-up

    ic = g1_points_from_array(pk.ic)
    x = ic[0]
    for k, p in zip(publics, ic[1:]):
        x = g1_add(x, g1_mul(p, k % R))
    pairs = [(g1_neg(proof.a), proof.b), (x, pk.gamma_g2), (proof.c, pk.delta_g2),
             (pk.alpha_g1, pk.beta_g2)]
    return pairing_product_is_one_py(pairs)


def _random_scalar() -> int:
    """Uniform in [0, r) from the OS CSPRNG (``random.SystemRandom``, what ``secrets.randbelow``
    uses, without importing ``secrets`` and the ``hmac``/OpenSSL it pulls in)."""
    return SystemRandom().randrange(R)


# ---------------------------------------------------------------------------------------------
# The prover


@dataclass(frozen=True)
class ProverOutput:
    proof: Proof
    public_signals: list[int]


STAGES = ("witness", "A·w, B·w", "H (NTT) beside MSMs A, B1, C", "MSM B2 beside MSM H", "blinding")


def prove(pk: ProvingKey, witness: np.ndarray, *, h_strategy: HStrategy = DEFAULT_H_STRATEGY,
          progress: Optional[ProgressCallback] = None, check: bool = False,
          randomness: Optional[tuple[int, int]] = None,
          kernels: Optional[KernelSet] = None, done_with: Optional[DoneWith] = None) -> ProverOutput:
    """A Groth16 proof for ``witness`` (canonical limbs, uint64[n_vars, 4]) under ``pk``.

    ``check=True`` verifies the finished proof against the key's own verifying key (one
    pairing product) and raises :class:`WitnessError` if it fails -- the cheap way to catch a
    witness that does not satisfy the constraints, which otherwise yields an invalid proof.
    ``randomness=(r, s)`` fixes the blinding scalars (tests only; default: fresh CSPRNG).
    ``kernels`` picks the compute kernels (default :func:`kernel_set`: native when built).
    ``done_with(part)`` is told as soon as a part of the key is no longer needed (a one-shot
    prover drops its mapped pages: :meth:`~zkmargin.formats.zkey.MappedZkey.release`).
    """
    total = len(STAGES)

    def stage(i: int) -> None:
        if progress is not None:
            progress(STAGES[i] if i < total else "done", i, total)

    stage(0)
    ks = kernels or kernel_set()
    w = check_witness_shape(pk, witness)
    n = pk.domain_size
    if n <= 0 or n & (n - 1):
        raise ValueError(f"proving key: domain size {n} is not a power of two")
    if pk.h_g1.shape[0] != n:
        raise ValueError(f"proving key: {pk.h_g1.shape[0]} H points for domain size {n}")

    # Round 1: a = A·w, b = B·w at the constraint points; c = a ∘ b.
    stage(1)
    release = done_with or (lambda _part: None)
    a, b = constraint_values(pk, w, n, ks)
    release("coefficients")
    c = ks.mul_sub(a, b)

    # Rounds 2 and 3, in two pools of tasks (no thread idles while another runs a job's last
    # task): first the three NTT chains of the H scalars beside the G1 MSMs over the witness
    # (A, B1 and C -- C takes the private suffix w[n_public+1:] -- from one pass of signed
    # digits), then the G2 MSM beside the G1 MSM over the H scalars.
    stage(2)
    h_job = h_strategy.h_job(a, b, c, kernels=ks)
    del a, b, c                          # the job holds them only until its chains have run
    g1_jobs = ks.msm_g1_jobs([(pk.a_g1, 0), (pk.b_g1, 0), (pk.c_g1, pk.n_public + 1)], w)
    h, a_sum, b1_sum, c_sum = ks.run_jobs([h_job, *g1_jobs])
    del h_job, g1_jobs                   # and with them the witness's signed digits
    for part in ("a_g1", "b_g1", "c_g1"):
        release(part)
    stage(3)
    b2_sum, h_sum = ks.run_jobs([ks.msm_g2_job(pk.b_g2, w), ks.msm_g1_job(pk.h_g1, h)])
    del h
    release("b_g2")
    release("h_g1")

    # Round 4: blinding with fresh r, s.
    stage(4)
    r, s = randomness if randomness is not None else (_random_scalar(), _random_scalar())
    pi_a = g1_add(g1_add(a_sum, pk.alpha_g1), ks.g1_mul(pk.delta_g1, r))
    pi_b = g2_add(g2_add(b2_sum, pk.beta_g2), ks.g2_mul(pk.delta_g2, s))
    b1_blinded = g1_add(g1_add(b1_sum, pk.beta_g1), ks.g1_mul(pk.delta_g1, s))
    pi_c = g1_add(c_sum, h_sum)
    pi_c = g1_add(pi_c, ks.g1_mul(pi_a, s))
    pi_c = g1_add(pi_c, ks.g1_mul(b1_blinded, r))
    pi_c = g1_add(pi_c, g1_neg(ks.g1_mul(pk.delta_g1, r * s % R)))
    proof = Proof(a=pi_a, b=pi_b, c=pi_c)
    publics = public_signals(pk, w)

    if check and not proof_satisfies_key(pk, publics, proof):
        raise WitnessError("the proof does not verify under the key's own verifying key: "
                           "the witness does not satisfy the circuit (or the key is "
                           "inconsistent) [pairing check failed]")
    stage(total)
    return ProverOutput(proof=proof, public_signals=publics)


def first_unsatisfied_constraint(r1cs, witness) -> Optional[int]:
    """Index of the first R1CS constraint with <A,w>·<B,w> ≠ <C,w>, or None (a diagnostic;
    ``r1cs`` is a :class:`zkmargin.formats.r1cs.R1CS`, ``witness`` ints or limbs)."""
    w = array_to_ints(witness) if isinstance(witness, np.ndarray) else [int(v) for v in witness]
    for i, (lc_a, lc_b, lc_c) in enumerate(r1cs.constraints):
        va = sum(coef * w[j] for j, coef in lc_a.items()) % R
        vb = sum(coef * w[j] for j, coef in lc_b.items()) % R
        vc = sum(coef * w[j] for j, coef in lc_c.items()) % R
        if va * vb % R != vc:
            return i
    return None


__all__ = ["prove", "ProverOutput", "HStrategy", "OddCosetH", "DEFAULT_H_STRATEGY",
           "WitnessError", "verifying_key_of", "proof_satisfies_key", "public_signals", "check_witness_shape",
           "sparse_matvec", "pointwise_mul", "first_unsatisfied_constraint",
           "STAGES", "ProgressCallback", "DoneWith", "constraint_values"]
