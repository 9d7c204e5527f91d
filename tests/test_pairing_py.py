"""Pure-Python pairing (zkmargin.algebra.pairing_py) against the compiled pairing and py_ecc;
the psi-based G2 subgroup test against multiplication by r, on points in and out of G2."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from zkmargin.algebra import pairing_py as PP
from zkmargin.algebra.constants import BN_X, G1_GENERATOR, G2_GENERATOR, Q, R
from zkmargin.algebra.pairing_py import naf
from zkmargin.algebra.points import g1_mul, g1_neg, g2_add, g2_in_subgroup, g2_mul, g2_neg

sys.path.insert(0, str(Path(__file__).parent))
from twist_points import G2_COFACTOR_PRIMES, random_twist_point, twist_mul, twist_point_of_order  # noqa: E402

rng = random.Random(20240525)


def rand_g1(k=None):
    return g1_mul(G1_GENERATOR, k if k is not None else rng.randrange(1, R))


def rand_g2(k=None):
    return g2_mul(G2_GENERATOR, k if k is not None else rng.randrange(1, R))


# ---- random points of the twist E'(F_q2), mostly NOT in G2 --------------------------------


def _times_r_is_zero(p) -> bool:
    x0, x1, y0, y1, z0, z1 = PP.g2_mul_jacobian(p, R)
    return z0 == 0 and z1 == 0


# ---- pairing values -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compiled():
    from zkmargin.algebra import pairing as P
    return P


def test_generator_value_equals_compiled(compiled):
    assert PP.pairing_py(G1_GENERATOR, G2_GENERATOR) == compiled.pairing(G1_GENERATOR, G2_GENERATOR)


def test_random_value_equals_compiled_and_py_ecc(compiled):
    from py_ecc import optimized_bn128 as bn

    from zkmargin.algebra import tower as T

    p, q = rand_g1(), rand_g2()
    ours = PP.pairing_py(p, q)
    assert ours == compiled.pairing(p, q)
    ref = bn.pairing(PP_g2_to_py_ecc(q), PP_g1_to_py_ecc(p))
    assert T.fq12_to_py_ecc_coeffs(ours) == [int(c) for c in ref.coeffs]


def test_snarkjs_alphabeta_strings_equal_compiled(compiled):
    """vk_alphabeta_12 without numba equals the compiled e(P, Q) in snarkjs' convention."""
    for p, q in ((G1_GENERATOR, G2_GENERATOR), (rand_g1(), rand_g2())):
        assert PP.pairing_snarkjs_strings_py(p, q) == compiled.fq12_to_snarkjs(compiled.pairing(p, q))


def PP_g1_to_py_ecc(p):
    from zkmargin.algebra.points import g1_to_py_ecc
    return g1_to_py_ecc(p)


def PP_g2_to_py_ecc(q):
    from zkmargin.algebra.points import g2_to_py_ecc
    return g2_to_py_ecc(q)


def test_py_ecc_product_check_agrees():
    """A py_ecc-built false product and its corrected true version."""
    from py_ecc import optimized_bn128 as bn

    a, b = rng.randrange(1, R), rng.randrange(1, R)
    p, q = rand_g1(a), rand_g2(b)
    f = bn.pairing(PP_g2_to_py_ecc(q), PP_g1_to_py_ecc(p), final_exponentiate=False)
    f = f * bn.pairing(PP_g2_to_py_ecc(G2_GENERATOR), PP_g1_to_py_ecc(g1_neg(rand_g1(a * b + 1))),
                       final_exponentiate=False)
    assert (bn.final_exponentiate(f) == bn.FQ12.one()) is False
    assert PP.pairing_product_is_one_py([(p, q), (g1_neg(rand_g1(a * b + 1)), G2_GENERATOR)]) is False
    assert PP.pairing_product_is_one_py([(p, q), (g1_neg(rand_g1(a * b % R)), G2_GENERATOR)]) is True


def test_bilinearity_via_product_checks(compiled):
    """e(aP, bQ) = e(P, Q)^(ab):  e(aP, bQ) e(-abP, Q) = 1, and not with ab + 1."""
    for _ in range(2):
        a, b = rng.randrange(1, R), rng.randrange(1, R)
        p, q = rand_g1(), rand_g2()
        good = [(g1_mul(p, a), g2_mul(q, b)), (g1_neg(g1_mul(p, a * b)), q)]
        bad = [(g1_mul(p, a), g2_mul(q, b)), (g1_neg(g1_mul(p, a * b + 1)), q)]
        assert PP.pairing_product_is_one_py(good) is True
        assert PP.pairing_product_is_one_py(bad) is False
        assert compiled.pairing_product_is_one(good) is True
        assert compiled.pairing_product_is_one(bad) is False


def test_groth16_shaped_four_pair_relation(compiled):
    """e(-A, B) e(X, gamma) e(C, delta) e(alpha, beta) = 1 with A B = alpha beta + X gamma + C delta."""
    al, be, ga, de, x, c = (rng.randrange(1, R) for _ in range(6))
    a = rng.randrange(1, R)
    b = (al * be + x * ga + c * de) * pow(a, -1, R) % R
    pairs = [(g1_neg(rand_g1(a)), rand_g2(b)), (rand_g1(x), rand_g2(ga)), (rand_g1(c), rand_g2(de)),
             (rand_g1(al), rand_g2(be))]
    assert PP.pairing_product_is_one_py(pairs) is True
    assert compiled.pairing_product_is_one(pairs) is True
    # prepared lines give the same answer, and are reused from the cache
    prepared = [(p, PP.prepare_g2(q)) for p, q in pairs]
    assert PP.prepare_g2(pairs[1][1]) is prepared[1][1]
    assert PP.pairing_product_is_one_py(prepared) is True
    tampered = list(pairs)
    tampered[2] = (rand_g1(c + 1), tampered[2][1])
    assert PP.pairing_product_is_one_py(tampered) is False
    assert compiled.pairing_product_is_one(tampered) is False


def test_infinity_handling(compiled):
    p, q = rand_g1(), rand_g2()
    assert PP.pairing_product_is_one_py([]) is True
    assert PP.pairing_product_is_one_py([(None, q), (p, None)]) is True
    assert PP.pairing_product_is_one_py([((0, 0), q), (p, ((0, 0), (0, 0)))]) is True
    assert PP.pairing_product_is_one_py([(p, q), (None, q)]) is False
    assert PP.pairing_product_is_one_py([(p, q), (g1_neg(p), q), (None, q)]) is True
    assert PP.pairing_py(None, q) == PP.f12_to_nested(PP.F12_ONE)
    assert compiled.pairing_product_is_one([(p, q), (None, q)]) is False


def test_rejects_points_off_curve():
    p, q = rand_g1(), rand_g2()
    with pytest.raises(ValueError):
        PP.pairing_product_is_one_py([((p[0], (p[1] + 1) % Q), q)])
    with pytest.raises(ValueError):
        PP.pairing_product_is_one_py([(p, (q[0], (q[1][0], (q[1][1] + 1) % Q)))])


def test_tower_identities():
    """inverse, cyclotomic squaring vs plain squaring, Frobenius composition."""
    f = PP.miller_loop_py([(rand_g1(), rand_g2())])
    assert PP.f12_mul(f, PP.f12_inv(f)) == PP.F12_ONE
    g = PP.f12_mul(PP.f12_conj(f), PP.f12_inv(f))
    g = PP.f12_mul(PP.f12_frobenius2(g), g)  # in the cyclotomic subgroup now
    assert PP.f12_cyclotomic_sqr(g) == PP.f12_sqr(g) == PP.f12_mul(g, g)
    assert PP.f12_frobenius(PP.f12_frobenius2(f)) == PP.f12_frobenius3(f)
    assert PP.final_exponentiation_py(f) != PP.F12_ONE


# ---- G2 subgroup membership -----------------------------------------------------------------


def test_psi_is_multiplication_by_6u2_on_g2():
    assert (Q - R) == PP.SUBGROUP_SCALAR == 6 * BN_X * BN_X
    q = rand_g2()
    x0, x1, y0, y1, z0, z1 = PP.g2_mul_jacobian(q, PP.SUBGROUP_SCALAR)
    zi = PP._f2_inv((z0, z1))
    zi2 = PP._f2_mul(zi, zi)
    assert PP.g2_psi(q) == (PP._f2_mul((x0, x1), zi2), PP._f2_mul((y0, y1), PP._f2_mul(zi2, zi)))


def test_subgroup_check_agrees_with_times_r():
    """In and out of G2: random twist points (almost never in G2), their cofactor-cleared
    multiples (in G2), [r]-multiples (order dividing the cofactor: not in G2), and sums."""
    cofactor = 2 * Q - R
    for _ in range(3):
        t = random_twist_point(rng)
        in_g2 = twist_mul(t, cofactor)
        cof_part = twist_mul(t, R)
        mixed = g2_add(rand_g2(), cof_part)
        for pt, expected in ((t, False), (in_g2, True), (cof_part, False), (mixed, False)):
            assert _times_r_is_zero(pt) is expected
            assert PP.g2_in_subgroup_fast(pt) is expected
            assert g2_in_subgroup(pt) is expected
    assert PP.g2_in_subgroup_fast(None) is True
    assert PP.g2_in_subgroup_fast(g2_neg(rand_g2())) is True
    bad = ((1, 2), (3, 4))
    assert PP.g2_in_subgroup_fast(bad) is False


def _is_probable_prime(n: int) -> bool:
    """Miller-Rabin with 32 fixed bases (error < 4^-32 for a composite n)."""
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in range(2, 34):
        x = pow(a % n, d, n)
        if x in (0, 1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def test_cofactor_is_four_distinct_primes():
    """The premise of the membership test's proof: h = 2q - r is squarefree and prime to r, so
    E'(F_q2) = G2 x H with H cyclic, and a map that moves a point of each prime order p | h
    is injective on H."""
    h = 2 * Q - R
    prod = 1
    for p in G2_COFACTOR_PRIMES:
        assert _is_probable_prime(p)
        prod *= p
    assert prod == h and len(set(G2_COFACTOR_PRIMES)) == 4 and h % R != 0


def test_membership_map_vanishes_on_g2():
    """[u+1] + psi[u] + psi^2[u] - psi^3[2u] is 0 on G2, where psi acts as q = 6u^2 mod r."""
    q = 6 * BN_X * BN_X
    assert Q % R == q % R
    assert (BN_X + 1 + BN_X * q + BN_X * q ** 2 - 2 * BN_X * q ** 3) % R == 0
    assert all(PP.g2_in_subgroup_fast(rand_g2()) for _ in range(3))
    assert PP.g2_in_subgroup_fast(G2_GENERATOR)


@pytest.mark.parametrize("order", G2_COFACTOR_PRIMES)
def test_membership_map_moves_every_cofactor_prime(order):
    """For a point E of each prime order p | h, the test rejects E and G + E (G in G2): with
    the previous test, this proves it exact (the module docstring of pairing_py)."""
    e = twist_point_of_order(order)
    assert not PP.g2_in_subgroup_fast(e) and not g2_in_subgroup(e)
    assert not PP.g2_in_subgroup_fast(g2_add(rand_g2(), e))


def _miller_multiple_map(p):
    """[6u+2]P + psi(P) - psi^2(P) + psi^3(P) (the compiled verifier's membership test)."""
    psi1 = PP.g2_psi(p)
    psi2 = PP.g2_psi(psi1)
    return g2_add(g2_add(g2_add(twist_mul(p, 6 * BN_X + 2), psi1), g2_neg(psi2)), PP.g2_psi(psi2))


def test_miller_multiple_map_vanishes_on_g2():
    q = 6 * BN_X * BN_X
    assert (6 * BN_X + 2 + q - q ** 2 + q ** 3) % R == 0
    assert _miller_multiple_map(G2_GENERATOR) is None and _miller_multiple_map(rand_g2()) is None


@pytest.mark.parametrize("order", G2_COFACTOR_PRIMES)
def test_miller_multiple_map_moves_every_cofactor_prime(order):
    """With the test above: [6u+2] + psi - psi^2 + psi^3 has kernel exactly G2."""
    e = twist_point_of_order(order)
    assert _miller_multiple_map(e) is not None
    assert _miller_multiple_map(g2_add(rand_g2(), e)) is not None


def _cofactor_divisors() -> list[int]:
    out = [1]
    for p in G2_COFACTOR_PRIMES:
        out += [d * p for d in out]
    return sorted(set(out) - {1})


@pytest.mark.parametrize("scalar", [BN_X, 6 * BN_X + 2], ids=["u", "6u+2"])
def test_no_twist_point_makes_a_walk_exceptional(scalar):
    """The NAF walks of [u]Q (standalone test) and [6u+2]Q (the Miller loop) never meet T = O
    or T = +-Q for any point of the twist: its order is r^a n with n | h, the prefixes k lie
    in (1, r - 1), and no prefix is 0 or +-1 (or doubles to 0) modulo any divisor n > 1 of h.
    So the Z = 0 fallback of the Miller-loop membership test guards a case no input reaches."""
    digits = naf(scalar)
    for n in _cofactor_divisors():
        k = 1
        for d in digits[1:]:
            assert k % n and 2 * k % n
            k *= 2
            if d:
                assert (k - d) % n and (k + d) % n
                k += d
    assert k == scalar < R - 1


def test_does_not_import_numba():
    code = ("import sys, zkmargin.algebra.pairing_py as p, zkmargin.algebra.points, "
            "zkmargin.algebra.constants, zkmargin.algebra.encoding;"
            "from zkmargin.algebra.constants import G1_GENERATOR as g, G2_GENERATOR as h;"
            "assert not p.pairing_product_is_one_py([(g, h)]);"
            "assert 'numba' not in sys.modules, 'numba imported'")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def _synthetic_groth16(n_public=3):
    """A verifying key, public inputs and a valid proof built from known discrete logs:
    a b = alpha beta + x gamma + c delta with x = ic_0 + sum_i s_i ic_i."""
    from zkmargin.formats.data_structures import Proof, VerifyingKey

    al, be, ga, de, a = (rng.randrange(1, R) for _ in range(5))
    ic = [rng.randrange(1, R) for _ in range(n_public + 1)]
    pub = [rng.randrange(R) for _ in range(n_public)]
    x = (ic[0] + sum(s * k for s, k in zip(pub, ic[1:]))) % R
    c = rng.randrange(1, R)
    b = (al * be + x * ga + c * de) * pow(a, -1, R) % R
    vk = VerifyingKey(alpha_g1=rand_g1(al), beta_g2=rand_g2(be), gamma_g2=rand_g2(ga),
                      delta_g2=rand_g2(de), ic=[rand_g1(k) for k in ic])
    return vk, pub, Proof(a=rand_g1(a), b=rand_g2(b), c=rand_g1(c))


def test_cli_verify_path_does_not_import_numba(tmp_path):
    """``zkmargin groth16 verify`` on snarkjs-format files: OK, and numba never imported."""
    from zkmargin.formats.snarkjs_json import g1_to_json, g2_to_json, write_proof, write_public

    vk, pub, proof = _synthetic_groth16()
    doc = {"protocol": "groth16", "curve": "bn128", "nPublic": vk.n_public,
           "vk_alpha_1": g1_to_json(vk.alpha_g1), "vk_beta_2": g2_to_json(vk.beta_g2),
           "vk_gamma_2": g2_to_json(vk.gamma_g2), "vk_delta_2": g2_to_json(vk.delta_g2),
           "IC": [g1_to_json(p) for p in vk.ic]}
    (tmp_path / "vk.json").write_text(__import__("json").dumps(doc))
    write_public(tmp_path / "public.json", pub)
    write_proof(tmp_path / "proof.json", proof)
    cmd = [sys.executable, "-X", "importtime", "-m", "zkmargin.cli.main", "groth16", "verify",
           "vk.json", "public.json", "proof.json"]
    out = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-2000:]
    imported = [line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines()
                if line.startswith("import time:")]
    assert "numba" not in imported
    write_public(tmp_path / "public.json", [pub[0], pub[1], (pub[2] + 1) % R])
    out = subprocess.run(cmd[:1] + cmd[3:], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 1 and "pairing check failed" in out.stderr


def test_verify_synthetic_proof_in_process():
    from zkmargin.verifier.groth16 import prepare_verifying_key, verify

    vk, pub, proof = _synthetic_groth16(n_public=5)
    assert verify(vk, pub, proof).valid
    pvk = prepare_verifying_key(vk)
    assert verify(pvk, pub, proof).valid and verify(pvk, pub, proof).valid  # cached lines
    assert not verify(pvk, pub[:4] + [(pub[4] + 1) % R], proof).valid
    bad_b = g2_add(proof.b, PP._jac_to_affine(PP.g2_mul_jacobian(random_twist_point(rng), R)))
    res = verify(pvk, pub, type(proof)(a=proof.a, b=bad_b, c=proof.c))
    assert not res.valid and "subgroup" in res.reason


def test_frobenius_constants():
    """The derived gamma_{k,e} equal xi^(e (q^k - 1)/6) computed directly."""
    xi = (9, 1)
    for k, table in ((1, PP._GAMMA1), (2, PP._GAMMA2), (3, PP._GAMMA3)):
        for e in (1, 2, 5):
            direct = PP._f2_pow(xi, e * (Q ** k - 1) // 6)
            assert (table[e] if k != 2 else (table[e], 0)) == direct
    assert PP._PI_X == PP._f2_pow(xi, (Q - 1) // 3) and PP._PI_Y == PP._f2_pow(xi, (Q - 1) // 2)
    assert PP._PI2_X == PP._f2_pow(xi, (Q * Q - 1) // 3)
    assert PP._PI2_Y == PP._f2_pow(xi, (Q * Q - 1) // 2)


# ---- the verifier's pure-Python vk_x ------------------------------------------------------------


def test_g1_lincomb_matches_scalar_multiplications():
    from zkmargin.algebra.points import g1_add
    from zkmargin.verifier.groth16 import g1_lincomb

    for n in (0, 1, 3, 9):
        pts = [rand_g1() for _ in range(n)]
        ks = [rng.randrange(R) for _ in range(n)]
        if n >= 3:
            ks[1], pts[2] = 0, None
        ref = None
        for p, k in zip(pts, ks):
            ref = g1_add(ref, g1_mul(p, k) if p is not None else None)
        assert g1_lincomb(pts, ks) == ref
    p = rand_g1()
    assert g1_lincomb([p, g1_neg(p)], [3, 3]) is None          # cancels to infinity
    assert g1_lincomb([p, p], [1, 1]) == g1_mul(p, 2)           # accumulator meets the table
    assert g1_lincomb([p, p, p], [1, 2, R - 3]) is None
    assert g1_lincomb([p], [R - 1]) == g1_neg(p)
