"""Groth16 prover: round trips on small circuits, zero knowledge, witness checks.

Keys come from :func:`toy_setup`, an independent, deliberately plain implementation of the
snarkjs key layout from known toxic waste (Lagrange polynomials evaluated at τ with Python
ints), so the prover is tested against the math rather than against another fast kernel.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from zkmargin.algebra import G1_GEN, R, g1_array_from_points, g1_fixed_base_muls, g1_mul, ints_to_array, root_of_unity
from zkmargin.formats.data_structures import Proof, ProvingKey
from zkmargin.prover.groth16 import (
    STAGES,
    OddCosetH,
    WitnessError,
    first_unsatisfied_constraint,
    pointwise_mul,
    prove,
    sparse_matvec,
    verifying_key_of,
)
from zkmargin.prover.known_tau import known_tau_proving_key, lagrange_at
from zkmargin.verifier.groth16 import verify

# ---------------------------------------------------------------------------------------------
# Test fixtures: circuits and a toy trusted setup


def cube_circuit(x: int = 3):
    """x^3 + x + 5 = y with y public, x private (the classic example)."""
    from zkmargin.circuits.builder import ConstraintSystem

    cs = ConstraintSystem("cube")
    xs = cs.private("x", x)
    y = cs.public("y", (x**3 + x + 5) % R)
    x2 = cs.mul(xs, xs, "x2")
    x3 = cs.mul(x2, xs, "x3")
    cs.assert_equal(x3 + xs + 5, y)
    return cs.to_r1cs(), cs.witness()


def chain_circuit(n_mul: int, n_pub: int = 2, seed: int = 1):
    """Public inputs p_1..p_k, private x; t_0 = x, t_{i+1} = t_i * (t_i + p_{i mod k}); output
    the last t.  n_mul constraints plus one for the output."""
    from zkmargin.circuits.builder import ConstraintSystem

    rnd = random.Random(seed)
    cs = ConstraintSystem("chain")
    pubs = [cs.public(f"p{i}", rnd.randrange(R)) for i in range(n_pub)]
    t = cs.private("x", rnd.randrange(R))
    for i in range(n_mul):
        t = cs.mul(t, t + pubs[i % n_pub], f"t{i}")
    cs.output("out", t)
    return cs.to_r1cs(), cs.witness()


def toy_setup(r1cs, seed: int = 7) -> tuple[ProvingKey, dict]:
    """A snarkjs-layout Groth16 key from known toxic waste (tests only: forgeable)."""
    rnd = random.Random(seed)
    tau, alpha, beta, delta = (rnd.randrange(2, R) for _ in range(4))
    pk = known_tau_proving_key(r1cs, tau, alpha, beta, delta)
    return pk, {"tau": tau, "alpha": alpha, "beta": beta, "delta": delta}


@pytest.fixture(scope="module")
def cube():
    r1cs, w = cube_circuit()
    pk, _ = toy_setup(r1cs)
    return r1cs, pk, w


@pytest.fixture(scope="module")
def chain():
    r1cs, w = chain_circuit(40, n_pub=3)
    pk, _ = toy_setup(r1cs, seed=11)
    return r1cs, pk, w


# ---------------------------------------------------------------------------------------------
# Round 1 and 2 kernels


def test_sparse_matvec_matches_python(chain):
    r1cs, pk, w = chain
    wa = ints_to_array(w)
    a = sparse_matvec(pk.a_matrix, wa, pk.domain_size)
    want = [0] * pk.domain_size
    for i, j, c in zip(pk.a_matrix.constraint, pk.a_matrix.signal, pk.a_matrix.value):
        want[int(i)] = (want[int(i)] + int.from_bytes(c.tobytes(), "little") * w[int(j)]) % R
    assert a.tolist() == ints_to_array(want).tolist()
    b = sparse_matvec(pk.b_matrix, wa, pk.domain_size)
    c = pointwise_mul(a, b)
    from zkmargin.algebra import array_to_ints
    assert array_to_ints(c) == [x * y % R for x, y in zip(array_to_ints(a), array_to_ints(b))]


def test_odd_coset_h_is_p_on_odd_points(chain):
    """p_i must equal (A·B − C)(ω_2n^(2i+1)) for the interpolating polynomials."""
    from zkmargin.algebra import array_to_ints, intt

    _, pk, w = chain
    wa = ints_to_array(w)
    n = pk.domain_size
    a = sparse_matvec(pk.a_matrix, wa, n)
    b = sparse_matvec(pk.b_matrix, wa, n)
    c = pointwise_mul(a, b)
    h = array_to_ints(OddCosetH().h_scalars(a, b, c))
    w2 = root_of_unity(2 * n)
    coeffs = [array_to_ints(intt(v)) for v in (a, b, c)]
    for i in (0, 1, n // 2, n - 1):
        pt = pow(w2, 2 * i + 1, R)
        ev = [sum(cf * pow(pt, k, R) for k, cf in enumerate(poly)) % R for poly in coeffs]
        assert h[i] == (ev[0] * ev[1] - ev[2]) % R


# ---------------------------------------------------------------------------------------------
# Round trips


def test_cube_round_trip(cube):
    r1cs, pk, w = cube
    out = prove(pk, ints_to_array(w))
    assert out.public_signals == [w[1]]
    assert verify(verifying_key_of(pk), out.public_signals, out.proof).valid


def test_chain_round_trip_and_check_option(chain):
    _, pk, w = chain
    out = prove(pk, ints_to_array(w), check=True)
    assert out.public_signals == w[1:1 + pk.n_public]
    assert verify(verifying_key_of(pk), out.public_signals, out.proof)


def test_proof_matches_closed_form(cube):
    """With fixed r, s the proof equals the textbook formulas evaluated with the toxic waste."""
    r1cs, _, w = cube
    pk, tw = toy_setup(r1cs, seed=3)
    r, s = 12345, 67890
    out = prove(pk, ints_to_array(w), randomness=(r, s))
    n = pk.domain_size
    lag = lagrange_at(tw["tau"], n)
    m = len(r1cs.constraints)
    a_t = [0] * r1cs.n_wires
    for i, (a, _, _) in enumerate(r1cs.constraints):
        for j, c in a.items():
            a_t[j] += c * lag[i]
    for i in range(r1cs.n_public + 1):
        a_t[i] += lag[m + i]
    a_val = sum(x * y for x, y in zip(a_t, w)) % R
    assert out.proof.a == g1_mul(G1_GEN, a_val + tw["alpha"] + r * tw["delta"])


def test_zero_knowledge_two_proofs_differ(cube):
    _, pk, w = cube
    p1 = prove(pk, ints_to_array(w)).proof
    p2 = prove(pk, ints_to_array(w)).proof
    assert p1.a != p2.a and p1.b != p2.b and p1.c != p2.c
    vk = verifying_key_of(pk)
    assert verify(vk, [w[1]], p1) and verify(vk, [w[1]], p2)


def test_progress_callback(cube):
    _, pk, w = cube
    seen = []
    prove(pk, ints_to_array(w), progress=lambda stage, i, total: seen.append((stage, i, total)))
    assert [s for s, _, _ in seen] == list(STAGES) + ["done"]
    assert all(t == len(STAGES) for _, _, t in seen)


# ---------------------------------------------------------------------------------------------
# Wrong witnesses


def test_wrong_witness_detected_by_check(cube):
    r1cs, pk, w = cube
    bad = list(w)
    bad[3] = (bad[3] + 1) % R  # x2 no longer x*x
    assert first_unsatisfied_constraint(r1cs, bad) == 0
    assert first_unsatisfied_constraint(r1cs, w) is None
    with pytest.raises(WitnessError, match="does not satisfy the circuit"):
        prove(pk, ints_to_array(bad), check=True)
    # without the check the proof is produced but invalid
    out = prove(pk, ints_to_array(bad))
    assert not verify(verifying_key_of(pk), out.public_signals, out.proof)


def test_witness_shape_errors(cube):
    _, pk, w = cube
    with pytest.raises(WitnessError, match="signals"):
        prove(pk, ints_to_array(w[:-1]))
    arr = ints_to_array(w)
    arr[0] = [2, 0, 0, 0]
    with pytest.raises(WitnessError, match="constant 1"):
        prove(pk, arr)
    arr = ints_to_array(w)
    arr[2] = ints_to_array([R])[0]
    with pytest.raises(WitnessError, match="not reduced"):
        prove(pk, arr)
    with pytest.raises(WitnessError, match="shape"):
        prove(pk, np.zeros((len(w), 3), dtype=np.uint64))


def test_proof_points_are_in_their_groups(cube):
    from zkmargin.algebra import g1_is_on_curve, g2_in_subgroup

    _, pk, w = cube
    proof: Proof = prove(pk, ints_to_array(w)).proof
    assert g1_is_on_curve(proof.a) and g1_is_on_curve(proof.c) and g2_in_subgroup(proof.b)
    assert proof.a is not None and proof.b is not None and proof.c is not None
    assert g1_array_from_points([proof.a]).shape == (1, 2, 4)


def test_msm_handles_witness_sized_scalars():
    """Witness values have every bit length; the prover's MSMs must be exact for all of them
    (regression: a signed-digit carry out of the top window was once dropped, e.g. 7·P with
    3 points, or 20-bit scalars over 2048 points)."""
    from zkmargin.algebra import array_to_ints, g1_points_from_array, msm_g1

    rnd = random.Random(5)
    for n, bits in ((3, 3), (3, 253), (40, 20), (2048, 20)):
        vals = [rnd.randrange(1, R) for _ in range(n)]
        pts = g1_fixed_base_muls(G1_GEN, ints_to_array(vals))
        scalars = [(1 << bits) - 1 if k % 2 else rnd.randrange(1 << bits) for k in range(n)]
        want = g1_mul(G1_GEN, sum(v * s for v, s in zip(vals, scalars)))
        assert msm_g1(pts, ints_to_array(scalars)) == want, (n, bits)
    assert g1_points_from_array(g1_array_from_points([None])) == [None]
    assert array_to_ints(ints_to_array([7])) == [7]


def test_cli_prove_verify_export(chain, tmp_path):
    """`zkmargin groth16 prove` / `zkey export verificationkey` / `groth16 verify` through
    real .zkey and .wtns files; a wrong witness is caught by --check and named with --r1cs."""
    from typer.testing import CliRunner

    from zkmargin.cli.main import app
    from zkmargin.formats.r1cs import write_r1cs
    from zkmargin.formats.wtns import write_wtns
    from zkmargin.formats.zkey import write_zkey

    r1cs, pk, w = chain
    write_zkey(pk, tmp_path / "c.zkey")
    write_wtns(w, tmp_path / "w.wtns")
    write_r1cs(r1cs, tmp_path / "c.r1cs")
    run = CliRunner().invoke
    d = str(tmp_path)
    res = run(app, ["groth16", "prove", f"{d}/c.zkey", f"{d}/w.wtns", f"{d}/proof.json",
                    f"{d}/public.json", "--quiet"])
    assert res.exit_code == 0, res.output
    res = run(app, ["zkey", "export", "verificationkey", f"{d}/c.zkey", f"{d}/vk.json"])
    assert res.exit_code == 0, res.output
    res = run(app, ["groth16", "verify", f"{d}/vk.json", f"{d}/public.json", f"{d}/proof.json"])
    assert res.exit_code == 0 and "OK" in res.output
    bad = list(w)
    bad[5] = (bad[5] + 1) % R
    write_wtns(bad, tmp_path / "bad.wtns")
    res = run(app, ["groth16", "prove", f"{d}/c.zkey", f"{d}/bad.wtns", f"{d}/p2.json",
                    f"{d}/pub2.json", "--quiet", "--check", "--r1cs", f"{d}/c.r1cs"])
    assert res.exit_code == 1 and "first unsatisfied constraint: #" in res.output
    assert not (tmp_path / "p2.json").exists()
