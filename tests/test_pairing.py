"""Optimal-ate pairing and multi-pairing product check against py_ecc (and snarkjs values)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from py_ecc import optimized_bn128 as bn

from zkmargin.algebra import pairing as P
from zkmargin.algebra import tower as T
from zkmargin.algebra.constants import G1_GENERATOR, G2_GENERATOR, Q, R

RND = random.Random(4242)
ONE = ((((1, 0), (0, 0), (0, 0)), ((0, 0), (0, 0), (0, 0))))

#: e(G1, G2) as snarkjs/ffjavascript computes it (``curve.Gt.toObject(curve.pairing(g1, g2))``
#: with the ffjavascript 0.3.1 that snarkjs 0.7.6 bundles; 0.2.63 gives the same), i.e. the
#: "snarkjs" convention.
SNARKJS_E_G1_G2 = [
    [["17264119758069723980713015158403419364912226240334615592005620718956030922389",
      "1300711225518851207585954685848229181392358478699795190245709208408267917898"],
     ["8894217292938489450175280157304813535227569267786222825147475294561798790624",
      "1829859855596098509359522796979920150769875799037311140071969971193843357227"],
     ["4968700049505451466697923764727215585075098085662966862137174841375779106779",
      "12814315002058128940449527172080950701976819591738376253772993495204862218736"]],
    [["4233474252585134102088637248223601499779641130562251948384759786370563844606",
      "9420544134055737381096389798327244442442230840902787283326002357297404128074"],
     ["13457906610892676317612909831857663099224588803620954529514857102808143524905",
      "5122435115068592725432309312491733755581898052459744089947319066829791570839"],
     ["8891987925005301465158626530377582234132838601606565363865129986128301774627",
      "440796048150724096437130979851431985500142692666486515369083499585648077975"]],
]


def g1(k: int) -> tuple[int, int]:
    x, y = bn.normalize(bn.multiply(bn.G1, k))
    return int(x.n), int(y.n)


def g2(k: int) -> tuple[tuple[int, int], tuple[int, int]]:
    x, y = bn.normalize(bn.multiply(bn.G2, k))
    return (int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1]))


def neg_g1(p: tuple[int, int]) -> tuple[int, int]:
    return p[0], (-p[1]) % Q


def neg_g2(p):
    return p[0], ((-p[1][0]) % Q, (-p[1][1]) % Q)


def fq12_pow(x: T.Fq12Int, e: int) -> T.Fq12Int:
    return T.fq12_from_py_ecc_coeffs([int(c) for c in (bn.FQ12(T.fq12_to_py_ecc_coeffs(x)) ** e).coeffs])


def fq12_mul(x: T.Fq12Int, y: T.Fq12Int) -> T.Fq12Int:
    px, py_ = bn.FQ12(T.fq12_to_py_ecc_coeffs(x)), bn.FQ12(T.fq12_to_py_ecc_coeffs(y))
    return T.fq12_from_py_ecc_coeffs([int(c) for c in (px * py_).coeffs])


@pytest.fixture(scope="module")
def e_gen() -> T.Fq12Int:
    return P.pairing(G1_GENERATOR, G2_GENERATOR)


def test_generator_value_equals_py_ecc(e_gen):
    ref = bn.pairing(bn.G2, bn.G1)
    assert T.fq12_to_py_ecc_coeffs(e_gen) == [int(c) for c in ref.coeffs]


def test_random_value_equals_py_ecc():
    a, b = RND.randrange(1, R), RND.randrange(1, R)
    ours = P.pairing(g1(a), g2(b))
    ref = bn.pairing(bn.multiply(bn.G2, b), bn.multiply(bn.G1, a))
    assert T.fq12_to_py_ecc_coeffs(ours) == [int(c) for c in ref.coeffs]


def test_non_degenerate_and_order_r(e_gen):
    assert e_gen != ONE
    assert fq12_pow(e_gen, R) == ONE


def test_bilinearity(e_gen):
    for _ in range(2):
        a, b = RND.randrange(1, R), RND.randrange(1, R)
        e_ab = P.pairing(g1(a), g2(b))
        assert e_ab == fq12_pow(e_gen, a * b % R)
        assert P.pairing(g1(a * b % R), G2_GENERATOR) == e_ab
        assert P.pairing(G1_GENERATOR, g2(a * b % R)) == e_ab
    # e(P1 + P2, Q) = e(P1, Q) e(P2, Q)
    q = g2(RND.randrange(1, R))
    a, b = RND.randrange(1, R), RND.randrange(1, R)
    assert P.pairing(g1(a + b), q) == fq12_mul(P.pairing(g1(a), q), P.pairing(g1(b), q))


def test_inverse_pairs_cancel():
    p, q = g1(RND.randrange(1, R)), g2(RND.randrange(1, R))
    assert P.pairing_product_is_one([(p, q), (neg_g1(p), q)])
    assert P.pairing_product_is_one([(p, q), (p, neg_g2(q))])
    assert not P.pairing_product_is_one([(p, q), (p, q)])
    assert not P.pairing_product_is_one([(p, q)])
    assert fq12_mul(P.pairing(p, q), P.pairing(neg_g1(p), q)) == ONE


def test_groth16_like_four_pair_relation():
    """e(-A, B) e(alpha, beta) e(L, gamma) e(C, delta) = 1 iff a b = al be + l g + c d mod r."""
    a, b, al, be, l, g, d = (RND.randrange(1, R) for _ in range(7))
    c = (a * b - al * be - l * g) * pow(d, -1, R) % R
    A, B, alpha, beta = g1(a), g2(b), g1(al), g2(be)
    L, gamma, C, delta = g1(l), g2(g), g1(c), g2(d)
    pairs = [(neg_g1(A), B), (alpha, beta), (L, gamma), (C, delta)]
    assert P.pairing_product_is_one(pairs)
    bad_c = [(neg_g1(A), B), (alpha, beta), (L, gamma), (g1(c + 1), delta)]
    assert not P.pairing_product_is_one(bad_c)
    swapped = [(neg_g1(A), B), (alpha, beta), (L, delta), (C, gamma)]
    assert not P.pairing_product_is_one(swapped)
    # the array API on the same points; an extra infinity pair changes nothing
    g1a = P.g1_to_array([p for p, _ in pairs] + [None])
    g2a = P.g2_to_array([q for _, q in pairs] + [B])
    assert P.pairing_check_arrays(g1a, g2a)
    # multi-Miller loop then one final exponentiation = product of the single pairings
    prod = T.fq12_to_ints(P.final_exponentiation(P.miller_loop(g1a[:2], g2a[:2])))
    assert prod == fq12_mul(P.pairing(*pairs[0]), P.pairing(*pairs[1]))


def test_infinity_handling(e_gen):
    q = g2(7)
    assert P.pairing(None, q) == ONE
    assert P.pairing(G1_GENERATOR, None) == ONE
    assert P.pairing((0, 0), G2_GENERATOR) == ONE
    assert P.pairing(G1_GENERATOR, ((0, 0), (0, 0))) == ONE
    assert P.pairing_product_is_one([])
    assert P.pairing_product_is_one([(None, q), (G1_GENERATOR, None)])
    assert not P.pairing_product_is_one([(None, q), (G1_GENERATOR, G2_GENERATOR)])
    zeros = P.miller_loop(np.zeros((2, 2, 4), np.uint64), np.zeros((2, 2, 2, 4), np.uint64))
    assert T.fq12_to_ints(zeros) == ONE


def test_array_layout_is_montgomery():
    arr = P.g1_to_array([G1_GENERATOR, None])
    assert arr.shape == (2, 2, 4) and not arr[1].any()
    assert T.fq_const(1) == tuple(arr[0, 0])
    arr2 = P.g2_to_array([G2_GENERATOR])
    assert arr2.shape == (1, 2, 2, 4)
    assert tuple(arr2[0, 1, 1]) == T.fq_const(G2_GENERATOR[1][1])


def test_rejects_bad_points_and_arguments():
    with pytest.raises(ValueError):
        P.pairing((1, 3), G2_GENERATOR)
    with pytest.raises(ValueError):
        P.pairing(G1_GENERATOR, ((1, 0), (2, 0)))
    with pytest.raises(ValueError):
        P.pairing(G1_GENERATOR, G2_GENERATOR, convention="gnark")
    with pytest.raises(ValueError):
        P.miller_loop(np.zeros((2, 2, 4), np.uint64), np.zeros((1, 2, 2, 4), np.uint64))


def test_snarkjs_convention_vector():
    assert P.snarkjs_alphabeta(G1_GENERATOR, G2_GENERATOR) == SNARKJS_E_G1_G2
    # the snarkjs value is the standard one to the power m = 2u(6u^2 + 3u + 1)
    u = P.BN_X
    std = P.pairing(G1_GENERATOR, G2_GENERATOR)
    m = 2 * u * (6 * u * u + 3 * u + 1)
    assert P.SNARKJS_EXPONENT == m
    assert T.fq12_to_strings(fq12_pow(std, m)) == SNARKJS_E_G1_G2
    # fq12_to_snarkjs converts a standard pairing value; fq12_from_snarkjs undoes it
    assert P.fq12_to_snarkjs(std) == SNARKJS_E_G1_G2
    assert P.fq12_to_snarkjs(P.pairing(G1_GENERATOR, G2_GENERATOR, "snarkjs"), "snarkjs") == SNARKJS_E_G1_G2
    assert P.fq12_from_snarkjs(SNARKJS_E_G1_G2) == std
    assert P.fq12_from_snarkjs(SNARKJS_E_G1_G2, convention="snarkjs") == T.fq12_from_strings(SNARKJS_E_G1_G2)


_NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"


@pytest.mark.skipif(shutil.which("node") is None or not (_NODE_MODULES / "ffjavascript").is_dir(),
                    reason="node / ffjavascript not installed")
def test_snarkjs_live_random_points():
    """Ask snarkjs' own ffjavascript (what it uses for vk_alphabeta_12) for e(aG1, bG2)."""
    a, b = RND.randrange(1, R), RND.randrange(1, R)
    script = (
        "let p='ffjavascript';try{p=require.resolve('ffjavascript',{paths:"
        "[require('path').dirname(require.resolve('snarkjs'))]});}catch(e){}"
        "const ffj=require(p);(async()=>{const c=await ffj.buildBn128(true);"
        f"const P=c.G1.timesScalar(c.G1.g,{a}n);const Q=c.G2.timesScalar(c.G2.g,{b}n);"
        "const o=c.Gt.toObject(await c.pairing(P,Q));"
        "console.log(JSON.stringify(o,(k,v)=>typeof v==='bigint'?v.toString():v));"
        "process.exit(0);})();"
    )
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60,
                         cwd=_NODE_MODULES.parent, check=True).stdout
    expected = json.loads(out)
    assert P.snarkjs_alphabeta(g1(a), g2(b)) == expected
    assert P.fq12_to_snarkjs(P.pairing(g1(a), g2(b))) == expected


def test_signed_windows_reconstruct_and_are_sparse():
    from zkmargin.algebra.constants import BN_X

    for n in [1, 2, 3, 7, 8, BN_X, 6 * BN_X + 2] + [RND.randrange(1, 1 << 64) for _ in range(50)]:
        for width in (2, 3, 4, 5, 6):
            digits = P.wnaf(n, width)
            assert digits[0] > 0
            assert sum(d << i for i, d in enumerate(reversed(digits))) == n
            at = [i for i, d in enumerate(digits) if d]
            assert all(digits[i] % 2 == 1 and abs(digits[i]) < 1 << (width - 1) for i in at)
            assert all(j - i >= width for i, j in zip(at, at[1:]))
    assert sum(1 for d in P.wnaf(BN_X, 4) if d) == 14
    with pytest.raises(ValueError, match="at least 2"):
        P.wnaf(5, 1)


def test_exponentiation_by_u_matches_py_ecc(e_gen):
    """The windowed f^u on elements of the cyclotomic subgroup (pairing values, and f^(q^6-1)
    (q^2+1) of a random F_q12 element), against py_ecc's generic power."""
    from zkmargin.algebra.constants import BN_X

    rnd = T.fq12_from_py_ecc_coeffs([RND.randrange(Q) for _ in range(12)])
    easy = T.fq12_tuple_to_ints(P.final_exp_easy(T.fq12_tuple_from_ints(rnd)))
    for f in (e_gen, P.pairing(g1(RND.randrange(1, R)), g2(RND.randrange(1, R))), easy):
        got = T.fq12_tuple_to_ints(P.cyclotomic_exp_u(T.fq12_tuple_from_ints(f)))
        assert got == fq12_pow(f, BN_X)
