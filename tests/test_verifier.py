"""Hardened Groth16 verifier, batch verification and snarkjs JSON parsing.

Each docs/PITFALLS.md item the verifier is responsible for (#6 public inputs >= r, #7 point
validation, #8 malleability) has a test that tries the attack and sees it fail.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_groth16 import chain_circuit, toy_setup  # noqa: E402
from twist_points import twist_point_outside_subgroup  # noqa: E402

from zkmargin.algebra import G1_GEN, G2_GEN, Q, R, g1_add, g1_mul, g1_neg, g2_mul, ints_to_array  # noqa: E402
from zkmargin.formats.data_structures import Proof, VerifyingKey  # noqa: E402
from zkmargin.formats.snarkjs_json import (  # noqa: E402
    JSONFormatError,
    loads_strict,
    proof_from_json,
    proof_to_json,
    public_from_json,
    read_proof,
    read_public,
    read_verifying_key,
    verifying_key_from_json,
    verifying_key_to_json,
    write_proof,
    write_public,
    write_verifying_key,
)
from zkmargin.prover.groth16 import prove, verifying_key_of  # noqa: E402
from zkmargin.verifier.batch import batch_verify  # noqa: E402
from zkmargin.verifier.groth16 import InvalidKeyError, pairing_check, prepare_verifying_key, verify, vk_x  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(autouse=True, params=["python", "jit", "native"])
def backend(request, monkeypatch):
    """Every test runs on each verifier engine (``$ZKMARGIN_VERIFIER`` replaces ``auto``): the
    same checks, the same reasons."""
    if request.param == "native":
        from zkmargin.algebra import native

        if native.mode() == "jit":
            pytest.skip("ZKMARGIN_KERNELS=jit: no native modules in this run")
        native.get(native.VERIFIER, log=None)  # builds the module once if it is missing
    monkeypatch.setenv("ZKMARGIN_VERIFIER", request.param)
    return request.param


@pytest.fixture(scope="module")
def setup():
    """One key, several witnesses of the same circuit (different public inputs)."""
    from zkmargin.algebra import array_to_ints  # noqa: F401

    r1cs, w = chain_circuit(24, n_pub=2, seed=5)
    pk, _ = toy_setup(r1cs, seed=21)
    vk = verifying_key_of(pk)
    proofs = []
    for seed in (5, 6, 7):
        _, wj = chain_circuit(24, n_pub=2, seed=seed)
        out = prove(pk, ints_to_array(wj))
        proofs.append((out.public_signals, out.proof))
    other_pk, _ = toy_setup(r1cs, seed=99)
    return {"pk": pk, "vk": vk, "items": proofs, "other_vk": verifying_key_of(other_pk)}


# ---------------------------------------------------------------------------------------------
# Valid proofs and tampering


def test_valid_proofs_verify(setup):
    for publics, proof in setup["items"]:
        res = verify(setup["vk"], publics, proof)
        assert res.valid and res.reason == "ok"


def test_tampered_public_input_rejected(setup):
    publics, proof = setup["items"][0]
    bad = list(publics)
    bad[1] = (bad[1] + 1) % R
    res = verify(setup["vk"], bad, proof)
    assert not res and "pairing check failed" in res.reason
    # inputs of another valid proof do not fit either
    assert not verify(setup["vk"], setup["items"][1][0], proof)


def test_public_input_not_reduced_rejected(setup):
    """docs/PITFALLS.md #6: x and x + r must not both verify, although the pairing alone accepts."""
    publics, proof = setup["items"][0]
    lifted = [publics[0] + R] + list(publics[1:])
    res = verify(setup["vk"], lifted, proof)
    assert not res and "not a field element" in res.reason and "\n" not in res.reason
    # the attack is real: without the range check the pairing equation holds
    pvk = prepare_verifying_key(setup["vk"])
    x = g1_add(pvk.vk.ic[0], None)
    for v, p in zip(lifted, pvk.vk.ic[1:]):
        x = g1_add(x, g1_mul(p, v))  # g1_mul reduces mod r
    vk = setup["vk"]
    assert pairing_check([(g1_neg(proof.a), proof.b), (x, vk.gamma_g2), (proof.c, vk.delta_g2),
                          (vk.alpha_g1, vk.beta_g2)])
    assert not verify(setup["vk"], [-1] + list(publics[1:]), proof)


def test_public_input_count_and_type(setup):
    publics, proof = setup["items"][0]
    assert "expected" in verify(setup["vk"], publics[:-1], proof).reason
    assert "expected" in verify(setup["vk"], list(publics) + [0], proof).reason
    assert "not an integer" in verify(setup["vk"], [str(publics[0])] + list(publics[1:]), proof).reason
    assert "not an integer" in verify(setup["vk"], [True] + list(publics[1:]), proof).reason


def test_off_curve_points_rejected(setup):
    publics, proof = setup["items"][0]
    ax, ay = proof.a
    res = verify(setup["vk"], publics, replace(proof, a=(ax, (ay + 1) % Q)))
    assert not res and "pi_a is not on the curve" in res.reason
    (x0, x1), (y0, y1) = proof.b
    res = verify(setup["vk"], publics, replace(proof, b=((x0, x1), (y0, (y1 + 1) % Q))))
    assert not res and "pi_b is not on the twist" in res.reason
    res = verify(setup["vk"], publics, replace(proof, c=(proof.c[0], proof.c[1] + Q)))
    assert not res and "not reduced" in res.reason


def test_wrong_subgroup_g2_rejected(setup):
    publics, proof = setup["items"][0]
    bad_b = twist_point_outside_subgroup()
    res = verify(setup["vk"], publics, replace(proof, b=bad_b))
    assert not res and "pi_b is not in the prime-order subgroup" in res.reason
    vk = replace(setup["vk"], delta_g2=bad_b)
    res = verify(vk, publics, proof)
    assert not res and "vk_delta_2 is not in the prime-order subgroup" in res.reason


def test_infinity_rejected(setup):
    publics, proof = setup["items"][0]
    for field in ("a", "b", "c"):
        res = verify(setup["vk"], publics, replace(proof, **{field: None}))
        assert not res and "infinity" in res.reason
    res = verify(replace(setup["vk"], alpha_g1=None), publics, proof)
    assert not res and "vk_alpha_1 is the point at infinity" in res.reason


def test_swapped_proof_elements_rejected(setup):
    publics, proof = setup["items"][0]
    assert not verify(setup["vk"], publics, Proof(a=proof.c, b=proof.b, c=proof.a))
    assert not verify(setup["vk"], publics, Proof(a=proof.a, b=proof.b, c=proof.a))
    # a G2 point where a G1 point belongs is a structural error
    res = verify(setup["vk"], publics, Proof(a=proof.b, b=proof.b, c=proof.c))
    assert not res and "pi_a is not a G1 point" in res.reason
    assert "wrong type" in verify(setup["vk"], publics, (proof.a, proof.b, proof.c)).reason


def test_proof_for_another_key_rejected(setup):
    publics, proof = setup["items"][0]
    assert not verify(setup["other_vk"], publics, proof)


def test_key_without_phase2_contribution_rejected(setup):
    publics, proof = setup["items"][0]
    vk = replace(setup["vk"], delta_g2=setup["vk"].gamma_g2)
    res = verify(vk, publics, proof)
    assert not res and "vk_gamma_2 equals vk_delta_2" in res.reason
    with pytest.raises(InvalidKeyError):
        prepare_verifying_key(vk)


def test_proofs_are_malleable(setup):
    """docs/PITFALLS.md #8: (t·A, t^-1·B, C) is another valid proof -- never use proofs as ids."""
    publics, proof = setup["items"][0]
    t = 1234567
    mauled = Proof(a=g1_mul(proof.a, t), b=g2_mul(proof.b, pow(t, -1, R)), c=proof.c)
    assert mauled != proof and verify(setup["vk"], publics, mauled)


def test_vk_x_without_public_inputs():
    vk = VerifyingKey(alpha_g1=G1_GEN, beta_g2=G2_GEN, gamma_g2=G2_GEN,
                      delta_g2=g2_mul(G2_GEN, 5), ic=[g1_mul(G1_GEN, 3)])
    assert vk_x(prepare_verifying_key(vk), []) == g1_mul(G1_GEN, 3)


# ---------------------------------------------------------------------------------------------
# Batch verification


def test_batch_all_valid(setup):
    res = batch_verify(setup["vk"], setup["items"] * 2)
    assert res.valid and res.bad == [] and res.n == 6


def test_batch_finds_bad_proofs(setup):
    items = list(setup["items"]) * 3  # 9 proofs
    publics, proof = items[4]
    items[4] = ([(publics[0] + 1) % R] + list(publics[1:]), proof)  # pairing failure
    items[7] = (items[7][0], replace(items[7][1], a=None))          # structural failure
    p5, pr5 = items[5]
    items[5] = (p5, Proof(a=pr5.c, b=pr5.b, c=pr5.a))               # swapped
    res = batch_verify(setup["vk"], items)
    assert not res.valid and res.bad == [4, 5, 7]
    assert "pairing" in res.reasons[4] and "infinity" in res.reasons[7]
    res = batch_verify(setup["vk"], items, find_bad=False)
    assert not res.valid and 4 in res.bad and 7 in res.bad


def test_batch_catches_each_tampered_point(setup):
    """A changed A (scaled by the GLV weights), C (in the bucket sum) or input (in vk_x) in
    one proof of a batch: the batch fails and bisection names exactly that proof."""
    items = list(setup["items"]) * 3
    publics, proof = items[1]
    items[1] = (publics, replace(proof, a=g1_add(proof.a, G1_GEN)))
    publics, proof = items[6]
    items[6] = (publics, replace(proof, c=g1_add(proof.c, G1_GEN)))
    publics, proof = items[8]
    items[8] = (list(publics[:-1]) + [(publics[-1] + 1) % R], proof)
    res = batch_verify(setup["vk"], items)
    assert res.bad == [1, 6, 8] and all("pairing" in res.reasons[j] for j in res.bad)


def _shortest_vector(u: tuple[int, int], v: tuple[int, int]) -> tuple[int, int]:
    """Lagrange-Gauss reduction of a 2-dimensional lattice basis: its shortest vector."""
    def norm(w):
        return w[0] * w[0] + w[1] * w[1]

    if norm(u) > norm(v):
        u, v = v, u
    while True:
        m = (u[0] * v[0] + u[1] * v[1] + norm(u) // 2) // norm(u)
        v = (v[0] - m * u[0], v[1] - m * u[1])
        if norm(v) >= norm(u):
            return u
        u, v = v, u


def test_batch_weights_are_distinct_residues():
    """rho = a + b lambda (mod r) with 64-bit a, b: two pairs give one rho only if their
    difference lies in the lattice {(x, y): x + y lambda = 0 mod r}, whose shortest vector is
    longer than 2^126 -- so the 2^127 weights are distinct residues (batch.py's soundness)."""
    from zkmargin.algebra.constants import GLV_LAMBDA
    from zkmargin.verifier.batch import BATCH_SECURITY_BITS, _random_weights

    short = _shortest_vector((R, 0), (-GLV_LAMBDA % R, 1))
    assert (short[0] + short[1] * GLV_LAMBDA) % R == 0 and short != (0, 0)
    assert short[0] ** 2 + short[1] ** 2 > 2 ** (2 * 126) > 2 * (2 ** 64) ** 2
    rho, halves = _random_weights(50)
    assert BATCH_SECURITY_BITS == 127 and halves.shape == (50, 2) and all(int(a) & 1 for a in halves[:, 0])
    assert rho == [(int(a) + int(b) * GLV_LAMBDA) % R for a, b in halves]
    assert len(set(rho)) == 50


def test_batch_bad_key():
    vk = VerifyingKey(alpha_g1=G1_GEN, beta_g2=G2_GEN, gamma_g2=G2_GEN, delta_g2=G2_GEN,
                      ic=[G1_GEN])
    with pytest.raises(InvalidKeyError):
        batch_verify(vk, [])


# ---------------------------------------------------------------------------------------------
# JSON formats


def test_json_round_trips(setup, tmp_path):
    vk = setup["vk"]
    publics, proof = setup["items"][0]
    write_verifying_key(tmp_path / "vk.json", vk)
    write_proof(tmp_path / "proof.json", proof)
    write_public(tmp_path / "public.json", publics)
    vk2 = read_verifying_key(tmp_path / "vk.json")
    assert vk2 == vk
    assert read_proof(tmp_path / "proof.json") == proof
    assert read_public(tmp_path / "public.json") == publics
    doc = json.loads((tmp_path / "vk.json").read_text())
    assert doc["protocol"] == "groth16" and doc["curve"] == "bn128"
    assert doc["nPublic"] == len(publics) and len(doc["IC"]) == len(publics) + 1
    assert doc["vk_beta_2"][2] == ["1", "0"] and doc["vk_alpha_1"][2] == "1"
    pdoc = json.loads((tmp_path / "proof.json").read_text())
    assert pdoc["pi_a"][2] == "1" and pdoc["pi_b"][0] == [str(proof.b[0][0]), str(proof.b[0][1])]
    assert json.loads((tmp_path / "public.json").read_text()) == [str(v) for v in publics]


def test_alphabeta_written_when_pairing_available(setup):
    doc = verifying_key_to_json(setup["vk"])
    try:
        from zkmargin.algebra.pairing import fq12_to_snarkjs  # noqa: F401
    except ImportError:
        pytest.skip("algebra.pairing.fq12_to_snarkjs not available yet")
    ab = doc["vk_alphabeta_12"]
    assert len(ab) == 2 and all(len(c) == 3 and all(len(e) == 2 for e in c) for c in ab)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["pi_a"].__setitem__(0, 5), "expected a decimal string"),
    (lambda d: d["pi_a"].__setitem__(0, "0x1f"), "not a decimal number"),
    (lambda d: d["pi_a"].__setitem__(0, "-1"), "not a decimal number"),
    (lambda d: d["pi_a"].__setitem__(0, " 1"), "not a decimal number"),
    (lambda d: d["pi_a"].__setitem__(0, "01"), "not a decimal number"),
    (lambda d: d["pi_a"].__setitem__(0, "1.5"), "not a decimal number"),
    (lambda d: d["pi_a"].__setitem__(0, str(Q)), "not below the field modulus"),
    (lambda d: d["pi_a"].__setitem__(0, "9" * 100), "not a decimal number"),
    (lambda d: d["pi_a"].__setitem__(2, "2"), "z coordinate"),
    (lambda d: d["pi_a"].pop(), "expected 3 entries"),
    (lambda d: d["pi_b"][0].append("1"), "expected 2 entries"),
    (lambda d: d["pi_b"].__setitem__(2, ["1", "1"]), "z coordinate"),
    (lambda d: d.__setitem__("pi_c", "1"), "expected a list"),
    (lambda d: d.pop("pi_c"), "missing field 'pi_c'"),
    (lambda d: d.__setitem__("protocol", "plonk"), "protocol"),
    (lambda d: d.__setitem__("curve", "bls12381"), "curve"),
])
def test_malformed_proof_json(setup, mutate, message):
    doc = proof_to_json(setup["items"][0][1])
    mutate(doc)
    with pytest.raises(JSONFormatError, match=message):
        proof_from_json(doc)


def test_malformed_vk_json(setup):
    good = verifying_key_to_json(setup["vk"])
    for mutate, message in [
        (lambda d: d.pop("vk_delta_2"), "missing field 'vk_delta_2'"),
        (lambda d: d.__setitem__("nPublic", 7), "IC has"),
        (lambda d: d.__setitem__("nPublic", "2"), "nPublic must be"),
        (lambda d: d.__setitem__("nPublic", True), "nPublic must be"),
        (lambda d: d.pop("protocol"), "missing field 'protocol'"),
        (lambda d: d.__setitem__("IC", {}), "IC must be a list"),
        (lambda d: d["IC"][1].__setitem__(1, str(Q + 1)), "IC\\[1\\]"),
    ]:
        doc = json.loads(json.dumps(good))
        mutate(doc)
        with pytest.raises(JSONFormatError, match=message):
            verifying_key_from_json(doc)
    with pytest.raises(JSONFormatError, match="expected a JSON object"):
        verifying_key_from_json([])


def test_malformed_public_and_raw_json(tmp_path):
    assert public_from_json(["0", "12"]) == [0, 12]
    assert public_from_json([str(R)]) == [R]  # the verifier rejects it, with its reason
    with pytest.raises(JSONFormatError):
        public_from_json([str(R)], reduce_check=True)
    for bad in ([1], ["a"], "1", {"0": "1"}, [["1"]], [None]):
        with pytest.raises(JSONFormatError):
            public_from_json(bad)
    for text in ("[NaN]", '{"a": 1, "a": 2}', "[1,", "[" * 100000 + "]" * 100000, b"\xff\xfe"):
        with pytest.raises(JSONFormatError):
            loads_strict(text)
    (tmp_path / "p.json").write_text("not json")
    with pytest.raises(JSONFormatError, match="not valid JSON"):
        read_public(tmp_path / "p.json")
    with pytest.raises(JSONFormatError, match="cannot read"):
        read_public(tmp_path / "missing.json")


def test_batch_subgroup_check(setup):
    """The batched subgroup test must see a twist point outside the subgroup."""
    from zkmargin.verifier.batch import g2_in_subgroup_mask

    bad = twist_point_outside_subgroup()
    good = setup["items"][0][1].b
    assert g2_in_subgroup_mask([good, bad, good]).tolist() == [True, False, True]
    items = list(setup["items"])
    items[1] = (items[1][0], replace(items[1][1], b=bad))
    res = batch_verify(setup["vk"], items)
    assert res.bad == [1] and "subgroup" in res.reasons[1]
