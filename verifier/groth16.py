"""The Groth16 verifier, hardened against the known verifier bugs (docs/PITFALLS.md #6, #7).

A proof π = (A, B, C) for public inputs x_1..x_l is accepted iff

    e(−A, B) · e(vk_x, γ) · e(C, δ) · e(α, β) = 1,    vk_x = IC_0 + Σ_i x_i · IC_i,

*and* every input passes the checks that the pairing equation alone does not make:

* **public inputs**: exactly ``vk.n_public`` of them, each an integer in [0, r).  Without the
  range check x and x + r would both verify (the scalar multiplication reduces mod r), so a
  proof for "1" would also be accepted for "1 + r" (#6);
* **points**: every coordinate reduced (< q) and on its curve; G2 points in the order-r
  subgroup (the twist has a large cofactor, and pairing inputs outside the subgroup break the
  bilinearity the soundness argument relies on) (#7);
* **infinity** rejected where it makes no sense: the proof's A, B, C, and the key's α, β, γ, δ
  (the IC points may legitimately be anything in G1);
* **key sanity**: γ ≠ δ -- a key with no phase-2 contribution lets anyone forge proofs.

The checks run on one of two engines, chosen by ``backend`` (see :mod:`zkmargin.verifier.backend`):
compiled kernels (the ahead-of-time verifier module when it is built: 2-3 ms a proof) or
pure Python (plain ints: :func:`zkmargin.algebra.pairing_py.pairing_product_is_one_py`, the G2
subgroup test [u+1]Q + ψ([u]Q) + ψ²([u]Q) = ψ³([2u]Q), vk_x an interleaved w-NAF sum; about 20 ms a proof, but no NumPy
import, so it is what a one-shot command-line check uses).  Both make the same checks in the
same order and give the same reasons (tests/test_verifier.py runs every attack on each).

Every rejection carries a one-line reason.  Groth16 proofs are malleable (anyone can
re-randomise a valid proof into another valid one), so never use proof bytes as an identifier;
bind context into the public inputs instead (#8).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence, Union

# Only the pure-Python algebra layer is imported here: a one-shot verification never loads
# numba (about a second of start-up) nor NumPy.  The kernels (verifier/kernels.py) are
# imported when a backend other than ``python`` is asked for or found.
from ..algebra.constants import Q, R
from ..algebra.pairing_py import g2_in_subgroup_fast, pairing_product_is_one_py, prepare_g2
from ..algebra.points import g1_add, g1_is_on_curve, g1_neg, g2_is_on_curve
from ..errors import ZkmarginError
from ..formats.data_structures import G1Point, G2Point, Proof, VerifyingKey


@dataclass(frozen=True)
class VerificationResult:
    """Outcome of a verification: ``valid``, and a one-line ``reason`` when it is not."""

    valid: bool
    reason: str = "ok"

    def __bool__(self) -> bool:
        return self.valid


def _ok() -> VerificationResult:
    return VerificationResult(True, "ok")


def _reject(reason: str) -> VerificationResult:
    return VerificationResult(False, reason)


# ---------------------------------------------------------------------------------------------
# Point and input checks (each returns None when fine, else a reason)


def _is_int(v) -> bool:
    """A Python or numpy integer (numpy registers its integer types as numbers.Integral)."""
    return type(v) is int or (isinstance(v, numbers.Integral) and not isinstance(v, bool))


def _coords(values, count: int) -> Optional[list[int]]:
    """``values`` as ``count`` Python ints, or None if it is not a tuple of that many integers."""
    if type(values) is not tuple or len(values) != count:
        return None
    out = []
    for v in values:
        if type(v) is int:              # the common case, without the abstract-class check
            out.append(v)
        elif _is_int(v):
            out.append(int(v))
        else:
            return None
    return out


def g1_problem(p: G1Point, name: str, *, allow_infinity: bool = False) -> Optional[str]:
    """Why ``p`` is not an acceptable G1 point, or None."""
    if p is None:
        return None if allow_infinity else f"{name} is the point at infinity"
    xy = _coords(p, 2)
    if xy is None:
        return f"{name} is not a G1 point (expected a pair of integers)"
    x, y = xy
    if not (0 <= x < Q and 0 <= y < Q):
        return f"{name} has a coordinate not reduced modulo q"
    if not g1_is_on_curve((x, y)):
        return f"{name} is not on the curve G1"
    return None


def g2_problem(p: G2Point, name: str, *, allow_infinity: bool = False,
               check_subgroup: bool = True) -> Optional[str]:
    """Why ``p`` is not an acceptable G2 point (on the twist and in the order-r subgroup).
    ``check_subgroup=False`` leaves the subgroup check to the caller (batched elsewhere)."""
    if p is None:
        return None if allow_infinity else f"{name} is the point at infinity"
    pair = p if type(p) is tuple and len(p) == 2 else None
    x = None if pair is None else _coords(pair[0], 2)
    y = None if pair is None else _coords(pair[1], 2)
    if x is None or y is None:
        return f"{name} is not a G2 point (expected ((x0, x1), (y0, y1)))"
    if not all(0 <= v < Q for v in (*x, *y)):
        return f"{name} has a coordinate not reduced modulo q"
    pt = ((x[0], x[1]), (y[0], y[1]))
    if not g2_is_on_curve(pt):
        return f"{name} is not on the twist curve G2"
    if check_subgroup and not g2_in_subgroup_fast(pt):
        return subgroup_reason(name)
    return None


def subgroup_reason(name: str) -> str:
    return f"{name} is not in the prime-order subgroup of G2"


def key_problem(vk: VerifyingKey) -> Optional[str]:
    """Why ``vk`` is not a usable Groth16 verifying key, or None."""
    if not isinstance(vk, VerifyingKey):
        return "verifying key has the wrong type"
    checks = [g1_problem(vk.alpha_g1, "vk_alpha_1"), g2_problem(vk.beta_g2, "vk_beta_2"),
              g2_problem(vk.gamma_g2, "vk_gamma_2"), g2_problem(vk.delta_g2, "vk_delta_2")]
    if not isinstance(vk.ic, (list, tuple)) or len(vk.ic) == 0:
        return "verifying key has no IC points"
    checks += [g1_problem(p, f"IC[{i}]", allow_infinity=True) for i, p in enumerate(vk.ic)]
    for reason in checks:
        if reason:
            return "verifying key: " + reason
    if vk.gamma_g2 == vk.delta_g2:
        return ("verifying key: vk_gamma_2 equals vk_delta_2 (no phase-2 contribution: "
                "proofs can be forged)")
    return None


def public_inputs_problem(n_public: int, public_inputs: Sequence[int]) -> Optional[str]:
    """Count and range of the public inputs (each must be an integer in [0, r))."""
    try:
        count = len(public_inputs)
    except TypeError:
        return "public inputs must be a list of integers"
    if count != n_public:
        return f"expected {n_public} public inputs, got {count}"
    for i, v in enumerate(public_inputs):
        if type(v) is int and 0 <= v < R:    # the common case
            continue
        if not _is_int(v):
            return f"public input #{i} is not an integer"
        if not 0 <= int(v) < R:
            return f"public input #{i} is not a field element (must be 0 <= x < r)"
    return None


def proof_problem(proof: Proof, *, check_subgroup: bool = True) -> Optional[str]:
    """Structure of the proof and validity of its three points."""
    if not isinstance(proof, Proof):
        return "proof has the wrong type"
    return (g1_problem(proof.a, "proof pi_a")
            or g2_problem(proof.b, "proof pi_b", check_subgroup=check_subgroup)
            or g1_problem(proof.c, "proof pi_c"))


# ---------------------------------------------------------------------------------------------
# Prepared key


@dataclass(frozen=True)
class KeyArrays:
    """A key's points as kernel rows: ``ic`` (all IC points, (n+1, 8)), ``gamma_delta``
    ((2, 16)), ``beta`` ((1, 16)) and ``alpha_beta``, the Miller value of (α, β) (an F_q12
    (1, 2, 3, 2, 4)): the fourth pairing of every single verification, computed once."""

    ic: Any
    gamma_delta: Any
    beta: Any
    alpha_beta: Any


@dataclass
class PreparedVerifyingKey:
    """A verifying key checked once (points, subgroups, γ ≠ δ).  Reuse it to verify many
    proofs: the Miller-loop lines of β, γ, δ (:func:`prepare_g2`, pure Python) and the kernel
    rows (:meth:`arrays`) are computed on first use and kept."""

    vk: VerifyingKey
    _lines: Any = field(default=None, repr=False)
    _arrays: Any = field(default=None, repr=False)

    @property
    def n_public(self) -> int:
        return self.vk.n_public

    def arrays(self, kern) -> KeyArrays:
        """The key as rows for the kernels ``kern`` (:class:`zkmargin.verifier.kernels.Kernels`)."""
        if self._arrays is None:
            from .kernels import g1_rows, g2_rows

            vk = self.vk
            alpha_beta = kern.miller(g1_rows([vk.alpha_g1]), g2_rows([vk.beta_g2]))
            self._arrays = KeyArrays(ic=g1_rows(vk.ic), gamma_delta=g2_rows([vk.gamma_g2, vk.delta_g2]),
                                     beta=g2_rows([vk.beta_g2]), alpha_beta=alpha_beta)
        return self._arrays

    @property
    def g2_lines(self):
        """Prepared Miller lines of (β, γ, δ)."""
        if self._lines is None:
            self._lines = tuple(prepare_g2(q) for q in (self.vk.beta_g2, self.vk.gamma_g2,
                                                       self.vk.delta_g2))
        return self._lines


class InvalidKeyError(ZkmarginError):
    """A verifying key failed its checks."""


def prepare_verifying_key(vk: Union[VerifyingKey, PreparedVerifyingKey]) -> PreparedVerifyingKey:
    """Check ``vk`` and precompute; raises :class:`InvalidKeyError` with a one-line reason."""
    if isinstance(vk, PreparedVerifyingKey):
        return vk
    reason = key_problem(vk)
    if reason:
        raise InvalidKeyError(reason)
    return PreparedVerifyingKey(vk=vk)


def vk_x(pvk: PreparedVerifyingKey, public_inputs: Sequence[int]) -> G1Point:
    """IC_0 + Σ_i x_i · IC_i (inputs already checked to be in [0, r)), in pure Python."""
    ic = pvk.vk.ic
    return g1_add(ic[0], g1_lincomb(ic[1:], [int(x) for x in public_inputs]))


# ---- a small pure-Python G1 multi-scalar multiplication (Straus / interleaved w-NAF) --------

_WNAF_WIDTH = 4  # digits in {0, ±1, ±3, ±5, ±7}


def _wnaf(k: int, w: int = _WNAF_WIDTH) -> list[int]:
    """Width-w NAF of k >= 0, least significant digit first: k = Σ d_i 2^i, every non-zero
    digit odd with |d_i| < 2^(w-1), and any w consecutive digits hold at most one non-zero."""
    digits = []
    while k:
        if k & 1:
            d = k & ((1 << w) - 1)
            if d >= 1 << (w - 1):
                d -= 1 << w
            k -= d
        else:
            d = 0
        digits.append(d)
        k >>= 1
    return digits


def _jac_double(p):
    """2P on y^2 = x^3 + 3 in Jacobian coordinates (x = X/Z^2, y = Y/Z^3), dbl-2009-l:
    A = X^2, B = Y^2, C = B^2, D = 2((X + B)^2 - A - C), E = 3A,
    X3 = E^2 - 2D, Y3 = E(D - X3) - 8C, Z3 = 2YZ."""
    x, y, z = p
    a, b = x * x % Q, y * y % Q
    c = b * b % Q
    d = 2 * ((x + b) * (x + b) - a - c) % Q
    e = 3 * a
    x3 = (e * e - 2 * d) % Q
    return (x3, (e * (d - x3) - 8 * c) % Q, 2 * y * z % Q)


def _jac_add_affine(p, x2: int, y2: int):
    """P + (x2, y2) (Jacobian plus affine), madd-2007-bl: U2 = x2 Z^2, S2 = y2 Z^3,
    H = U2 - X, R = S2 - Y; X3 = R^2 - H^3 - 2 X H^2, Y3 = R (X H^2 - X3) - Y H^3, Z3 = Z H."""
    x, y, z = p
    if z == 0:
        return (x2, y2, 1)
    zz = z * z % Q
    h = (x2 * zz - x) % Q
    r = (y2 * zz * z - y) % Q
    if h == 0:
        return _jac_double(p) if r == 0 else (1, 1, 0)
    hh = h * h % Q
    hhh = h * hh % Q
    v = x * hh % Q
    x3 = (r * r - hhh - 2 * v) % Q
    return (x3, (r * (v - x3) - y * hhh) % Q, z * h % Q)


def g1_lincomb(points: Sequence[G1Point], scalars: Sequence[int]) -> G1Point:
    """Σ k_i P_i for affine G1 points (order r) and integer scalars (reduced mod r): one shared
    chain of doublings, each scalar in width-4 NAF against the affine odd multiples
    P, 3P, 5P, 7P of its point."""
    terms = []
    for p, k in zip(points, scalars):
        k = int(k) % R
        if p is None or k == 0:
            continue
        twice = g1_add(p, p)
        table = [p]
        for _ in range((1 << (_WNAF_WIDTH - 2)) - 1):
            table.append(g1_add(table[-1], twice))
        terms.append((_wnaf(k), table))
    if not terms:
        return None
    acc = (1, 1, 0)
    for i in range(max(len(d) for d, _ in terms) - 1, -1, -1):
        if acc[2]:
            acc = _jac_double(acc)
        for digits, table in terms:
            d = digits[i] if i < len(digits) else 0
            if d == 0:
                continue
            pt = table[abs(d) >> 1]
            if pt is not None:
                acc = _jac_add_affine(acc, pt[0], pt[1] if d > 0 else (Q - pt[1]) % Q)
    x, y, z = acc
    if z == 0:
        return None
    zi = pow(z, -1, Q)
    zi2 = zi * zi % Q
    return (x * zi2 % Q, y * zi2 * zi % Q)


# ---------------------------------------------------------------------------------------------
# Pairing product


def pairing_check(pairs: Sequence[tuple[G1Point, G2Point]], *, backend: str = "auto") -> bool:
    """Π e(P_i, Q_i) = 1 for points already checked; pairs with a point at infinity contribute
    1.  On the kernels of ``backend`` (:func:`zkmargin.verifier.backend.resolve`), else pure
    Python (:func:`zkmargin.algebra.pairing_py.pairing_product_is_one_py`; G2 entries may be
    prepared lines)."""
    pairs = [(p, q) for p, q in pairs if p is not None and q is not None]
    if not pairs:
        return True
    from .backend import resolve

    kern = resolve(backend, batch=len(pairs) > 8)
    if kern is None:
        return pairing_product_is_one_py(pairs)
    from .kernels import g1_rows, g2_rows

    return kern.pairing_product_is_one(g1_rows([p for p, _ in pairs]),
                                       g2_rows([getattr(q, "point", q) for _, q in pairs]))


# ---------------------------------------------------------------------------------------------
# Verification


INVALID_PAIRING = "pairing check failed: the proof is not valid for these public inputs under this key"


def verify(vk: Union[VerifyingKey, PreparedVerifyingKey], public_inputs: Sequence[int],
           proof: Proof, *, backend: str = "auto") -> VerificationResult:
    """Verify a Groth16 proof; never raises on bad input, returns the reason instead.

    ``backend``: ``auto`` (the native verifier kernels when built, else pure Python),
    ``native``, ``jit`` or ``python`` (:mod:`zkmargin.verifier.kernels`); an unavailable
    ``native`` raises :class:`zkmargin.verifier.kernels.BackendError`."""
    from .backend import resolve

    kern = resolve(backend)
    try:
        pvk = prepare_verifying_key(vk)
    except InvalidKeyError as e:
        return _reject(str(e))
    reason = (public_inputs_problem(pvk.n_public, public_inputs)
              or proof_problem(proof, check_subgroup=kern is None))
    if reason:
        return _reject(reason)
    if kern is None:
        ok = _pairing_ok_python(pvk, public_inputs, proof)
    else:
        ok, b_in_g2 = _pairing_ok_kernels(kern, pvk, public_inputs, proof)
        if not b_in_g2:
            return _reject(subgroup_reason("proof pi_b"))
    return _ok() if ok else _reject(INVALID_PAIRING)


def _pairing_ok_python(pvk: PreparedVerifyingKey, public_inputs: Sequence[int], proof: Proof) -> bool:
    key = pvk.vk
    beta, gamma, delta = pvk.g2_lines
    return pairing_product_is_one_py([(g1_neg(proof.a), proof.b), (vk_x(pvk, public_inputs), gamma),
                                      (proof.c, delta), (key.alpha_g1, beta)])


def _pairing_ok_kernels(kern, pvk: PreparedVerifyingKey, public_inputs: Sequence[int],
                        proof: Proof) -> tuple[bool, bool]:
    """(e(−A, B) · e(vk_x, γ) · e(C, δ) · e(α, β) = 1, B in G2) with vk_x = [1, x] · IC on the
    kernels and the Miller value of (α, β) taken from the prepared key.  B's subgroup test
    uses [6u+2]B from the Miller loop (:meth:`~zkmargin.verifier.kernels.Kernels.g2_membership`);
    the pairing verdict means nothing unless B is in G2 (the final exponentiation is then
    skipped)."""
    import numpy as np

    from .kernels import g1_rows, g2_rows, scalar_rows

    arr = pvk.arrays(kern)
    x = kern.g1_lincomb(arr.ic, scalar_rows([1, *public_inputs]))
    g1 = np.concatenate([g1_rows([g1_neg(proof.a)]), x, g1_rows([proof.c])])
    b = g2_rows([proof.b])
    multiples = np.zeros((3, 3, 2, 4), dtype=np.uint64)
    millers = kern.miller(g1, np.concatenate([b, arr.gamma_delta]), multiples)
    if not kern.g2_membership(b, multiples[:1])[0]:
        return False, False
    return kern.product_is_one([millers, arr.alpha_beta]), True


__all__ = ["VerificationResult", "PreparedVerifyingKey", "InvalidKeyError", "verify",
           "prepare_verifying_key", "vk_x", "pairing_check", "g1_problem", "g2_problem",
           "key_problem", "public_inputs_problem", "proof_problem", "subgroup_reason",
           "INVALID_PAIRING", "KeyArrays", "g1_lincomb"]
