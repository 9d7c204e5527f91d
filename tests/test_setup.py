"""Groth16 setup and phase 2: the key's algebra (against known toxic waste), equality with
``snarkjs groth16 setup``, contributions, chain verification (ours and snarkjs'), the CLI."""

from __future__ import annotations

import dataclasses

import pytest
from typer.testing import CliRunner

from zkmargin.algebra import G1_GEN, G2_GEN, R, g1_mul, g1_points_from_array, g2_mul, g2_points_from_array, root_of_unity
from zkmargin.circuits.builder import ConstraintSystem
from zkmargin.cli.main import app
from zkmargin.formats.r1cs import write_r1cs
from zkmargin.formats.zkey import mpc_params, read_zkey, write_zkey, zkey_to_bytes
from zkmargin.prover import phase2
from zkmargin.prover import ptau as P
from zkmargin.prover.setup import PhaseOneSecrets, SetupError, circuit_power, new_proving_key

TAU, ALPHA, BETA = 7, 11, 13


@pytest.fixture(scope="module")
def r1cs(make_tiny_r1cs):
    return make_tiny_r1cs()


@pytest.fixture(scope="module")
def known_ptau():
    """Power 4 (> the circuit's 3, so H uses a complete 2n block) with known secrets (so keys can be checked against Python arithmetic), prepared."""
    return P.prepare_phase2(P.contribute(P.new_accumulator(4), "known", _secrets=(TAU, ALPHA, BETA)))


@pytest.fixture(scope="module")
def pk0(r1cs, known_ptau):
    return new_proving_key(r1cs, known_ptau)


def _lagrange_at(n: int, tau: int) -> list[int]:
    """L_i(tau) on the size-n domain: (tau^n - 1) w^i / (n (tau - w^i))."""
    w = root_of_unity(n)
    z = (pow(tau, n, R) - 1) % R
    return [z * pow(w, i, R) * pow(n * (tau - pow(w, i, R)), -1, R) % R for i in range(n)]


def test_circuit_power():
    assert circuit_power(4, 2) == 3          # 7 rows -> 8
    assert circuit_power(5, 2) == 3          # 8 rows -> 8
    assert circuit_power(6, 2) == 4          # 9 rows -> 16
    assert circuit_power(0, 0) == 1


def test_key_matches_the_definition(r1cs, pk0):
    """Every vector of the key equals the textbook formula evaluated with Python ints."""
    n = pk0.domain_size
    n_c, n_pub = r1cs.n_constraints, r1cs.n_public
    L = _lagrange_at(n, TAU)
    A = [dict() for _ in range(r1cs.n_wires)]
    B = [dict() for _ in range(r1cs.n_wires)]
    C = [dict() for _ in range(r1cs.n_wires)]
    for c, (a, b, cc) in enumerate(r1cs.constraints):
        for M, lc in ((A, a), (B, b), (C, cc)):
            for j, v in lc.items():
                M[j][c] = v
    for j in range(n_pub + 1):
        A[j][n_c + j] = 1
    ev = lambda M, j: sum(v * L[c] for c, v in M[j].items()) % R  # noqa: E731
    a_pts = g1_points_from_array(pk0.a_g1)
    b_pts = g1_points_from_array(pk0.b_g1)
    b2_pts = g2_points_from_array(pk0.b_g2)
    k_pts = g1_points_from_array(pk0.ic) + g1_points_from_array(pk0.c_g1)
    for j in range(r1cs.n_wires):
        assert a_pts[j] == g1_mul(G1_GEN, ev(A, j))
        assert b_pts[j] == g1_mul(G1_GEN, ev(B, j))
        assert b2_pts[j] == g2_mul(G2_GEN, ev(B, j))
        k = (BETA * ev(A, j) + ALPHA * ev(B, j) + ev(C, j)) % R
        assert k_pts[j] == g1_mul(G1_GEN, k)
    L2 = _lagrange_at(2 * n, TAU)
    assert g1_points_from_array(pk0.h_g1) == [g1_mul(G1_GEN, L2[2 * i + 1]) for i in range(n)]
    assert (pk0.alpha_g1, pk0.beta_g1, pk0.beta_g2) == (g1_mul(G1_GEN, ALPHA), g1_mul(G1_GEN, BETA),
                                                         g2_mul(G2_GEN, BETA))
    assert pk0.delta_g1 == G1_GEN and pk0.delta_g2 == G2_GEN and pk0.gamma_g2 == G2_GEN
    assert pk0.development_only and pk0.n_constraints == n_c


def test_unprepared_ptau_gives_the_same_key(r1cs, known_ptau, pk0):
    raw = dataclasses.replace(known_ptau, lagrange_tau_g1=None, lagrange_tau_g2=None,
                              lagrange_alpha_tau_g1=None, lagrange_beta_tau_g1=None)
    assert zkey_to_bytes(new_proving_key(r1cs, raw)) == zkey_to_bytes(pk0)


@pytest.mark.parametrize("extra_power", [0, 1], ids=["truncated-2n-block", "complete-2n-block"])
def test_key_from_the_ptau_secrets_is_the_same_key(r1cs, extra_power):
    """The fixed-base path (the ptau's own secrets) writes the sparse-product key byte for
    byte, also when the ptau lacks the top power of the 2n block H reads."""
    power = circuit_power(r1cs.n_constraints, r1cs.n_public) + extra_power
    acc = P.prepare_phase2(P.contribute(P.new_accumulator(power), "known", _secrets=(TAU, ALPHA, BETA)))
    fast = new_proving_key(r1cs, acc, secrets=PhaseOneSecrets(TAU, ALPHA, BETA))
    assert zkey_to_bytes(fast) == zkey_to_bytes(new_proving_key(r1cs, acc))


def test_wrong_ptau_secrets_are_refused_and_never_shown(r1cs, known_ptau):
    for wrong in ((TAU + 1, ALPHA, BETA), (TAU, ALPHA + 1, BETA), (TAU, ALPHA, BETA + 1)):
        with pytest.raises(SetupError, match="not those of this powers of tau"):
            new_proving_key(r1cs, known_ptau, secrets=PhaseOneSecrets(*wrong))
    shown = repr(PhaseOneSecrets(123456789, 987654321, 55555))
    assert "123456789" not in shown and "987654321" not in shown and "55555" not in shown


def test_too_small_ptau_is_refused(r1cs):
    with pytest.raises(SetupError, match="too big"):
        new_proving_key(r1cs, P.new_accumulator(2))


def test_contributions_scale_delta_and_verify(r1cs, known_ptau, pk0):
    pk1, h1 = phase2.contribute(pk0, "alice", _secret=3)
    pk2, h2 = phase2.contribute(pk1, "bob")
    assert pk1.delta_g1 == g1_mul(G1_GEN, 3) and pk1.delta_g2 == g2_mul(G2_GEN, 3)
    assert g1_points_from_array(pk1.h_g1)[0] == g1_mul(g1_points_from_array(pk0.h_g1)[0], pow(3, -1, R))
    assert not pk2.development_only and pk2.n_contributions == 2 and h1 != h2
    rep = phase2.verify(pk2, r1cs, known_ptau, initial=pk0)
    assert rep.ok, rep.errors
    assert len(mpc_params(pk2).contributions) == 2


def test_initial_key_verifies_but_is_development_only(r1cs, known_ptau, pk0):
    rep = phase2.verify(pk0, r1cs, known_ptau, initial=pk0)
    assert rep.ok and any("DEVELOPMENT-ONLY" in n for n in rep.notes)


@pytest.mark.parametrize("tamper", ["h", "c", "ic", "delta", "transcript", "coeff", "alpha"])
def test_verify_rejects_tampered_keys(r1cs, known_ptau, pk0, tamper):
    pk, _ = phase2.contribute(pk0, "alice")
    if tamper == "h":
        pk = dataclasses.replace(pk, h_g1=pk0.h_g1)             # H not divided by delta
    elif tamper == "c":
        c = pk.c_g1.copy()
        c[[0, 1]] = c[[1, 0]]
        pk = dataclasses.replace(pk, c_g1=c)
    elif tamper == "ic":
        ic = pk.ic.copy()
        ic[0] = pk.a_g1[0]
        pk = dataclasses.replace(pk, ic=ic)
    elif tamper == "delta":                                    # a delta nobody contributed
        pk = dataclasses.replace(pk, delta_g1=g1_mul(G1_GEN, 5), delta_g2=g2_mul(G2_GEN, 5))
    elif tamper == "transcript":
        raw = bytearray(pk.contributions)
        raw[-20] ^= 1                      # inside the transcript hash (then type, params "alice")
        pk = dataclasses.replace(pk, contributions=bytes(raw))
    elif tamper == "coeff":
        b = dataclasses.replace(pk.b_matrix, value=pk.b_matrix.value.copy())
        b.value[0, 0] ^= 1
        pk = dataclasses.replace(pk, b_matrix=b)
    else:
        pk = dataclasses.replace(pk, alpha_g1=g1_mul(G1_GEN, 2))
    assert not phase2.verify(pk, r1cs, known_ptau, initial=pk0).ok


def test_verify_rejects_a_key_for_another_circuit(known_ptau, pk0):
    cs = ConstraintSystem("other")
    x = cs.private("x", 2)
    cs.mul(x, x, "x2")
    cs.public("y", 4)
    other = cs.to_r1cs()
    rep = phase2.verify(phase2.contribute(pk0)[0], other, known_ptau)
    assert not rep.ok


# ---- the CLI ----------------------------------------------------------------------------------


def test_cli_ceremony_end_to_end(tmp_path, r1cs):
    run = CliRunner().invoke
    write_r1cs(r1cs, tmp_path / "c.r1cs")
    p = lambda name: str(tmp_path / name)  # noqa: E731
    res = run(app, ["powersoftau", "new", "3", p("0.ptau")])
    assert res.exit_code == 0 and "DEVELOPMENT-ONLY" in res.output
    assert run(app, ["powersoftau", "contribute", p("0.ptau"), p("1.ptau"), "--name", "a", "-q"]).exit_code == 0
    assert run(app, ["powersoftau", "prepare", p("1.ptau"), p("2.ptau"), "-q"]).exit_code == 0
    res = run(app, ["powersoftau", "verify", p("2.ptau"), "-q"])
    assert res.exit_code == 0, res.output
    res = run(app, ["groth16", "setup", p("c.r1cs"), p("2.ptau"), p("0.zkey"), "-q"])
    assert res.exit_code == 0 and "DEVELOPMENT-ONLY" in res.output, res.output
    res = run(app, ["zkey", "contribute", p("0.zkey"), p("1.zkey"), "--name", "b", "-q"])
    assert res.exit_code == 0 and "contribution hash" in res.output
    res = run(app, ["zkey", "verify", p("c.r1cs"), p("2.ptau"), p("1.zkey"), "-q"])
    assert res.exit_code == 0 and "OK" in res.output, res.output
    # a tampered key: one-line INVALID, exit 1, no traceback
    pk = read_zkey(tmp_path / "1.zkey")
    write_zkey(dataclasses.replace(pk, h_g1=read_zkey(tmp_path / "0.zkey").h_g1), tmp_path / "bad.zkey")
    res = run(app, ["zkey", "verify", p("c.r1cs"), p("2.ptau"), p("bad.zkey"), "-q"])
    assert res.exit_code == 1 and "INVALID" in res.output and "Traceback" not in res.output


def test_cli_errors_are_one_line(tmp_path, r1cs):
    run = CliRunner().invoke
    (tmp_path / "junk.zkey").write_bytes(b"zkey" + bytes(20))
    res = run(app, ["zkey", "contribute", str(tmp_path / "junk.zkey"), str(tmp_path / "o.zkey")])
    assert res.exit_code == 2 and res.output.startswith("error:") and len(res.output.splitlines()) == 1
    res = run(app, ["groth16", "setup", str(tmp_path / "none.r1cs"), "x.ptau", "y.zkey"])
    assert res.exit_code == 2 and "no such file" in res.output
    res = run(app, ["powersoftau", "new", "99", str(tmp_path / "p.ptau")])
    assert res.exit_code == 2
    write_r1cs(r1cs, tmp_path / "c.r1cs")
    P.write_ptau(P.new_accumulator(2), tmp_path / "small.ptau")
    res = run(app, ["groth16", "setup", str(tmp_path / "c.r1cs"), str(tmp_path / "small.ptau"),
                    str(tmp_path / "k.zkey"), "-q"])
    assert res.exit_code == 2 and "too big" in res.output


# ---- interop ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def snarkjs_ceremony(node_tools, tmp_path_factory, r1cs):
    """snarkjs ptau (power 3, one contribution, prepared) and its `groth16 setup` zkey."""
    d = tmp_path_factory.mktemp("snarkjs_setup")
    write_r1cs(r1cs, d / "c.r1cs")
    for args in [("powersoftau", "new", "bn128", "3", "p0.ptau"),
                 ("powersoftau", "contribute", "p0.ptau", "p1.ptau", "--name=one", "-e=some entropy"),
                 ("powersoftau", "prepare", "phase2", "p1.ptau", "final.ptau"),
                 ("groth16", "setup", "c.r1cs", "final.ptau", "snarkjs.zkey")]:
        res = node_tools.snarkjs_cmd(*args, cwd=d)
        assert res.returncode == 0, res.stdout + res.stderr
    return d


@pytest.mark.interop
def test_our_setup_is_byte_identical_to_snarkjs(snarkjs_ceremony, r1cs):
    d = snarkjs_ceremony
    acc = P.read_ptau(d / "final.ptau")
    ours = zkey_to_bytes(new_proving_key(r1cs, acc))
    assert ours == (d / "snarkjs.zkey").read_bytes()       # every section incl. the circuit hash
    unprepared = P.read_ptau(d / "p1.ptau")                 # ours also works without sections 12-15
    assert zkey_to_bytes(new_proving_key(r1cs, unprepared)) == ours


@pytest.mark.interop
def test_snarkjs_setup_accepts_our_ptau(node_tools, known_ptau, r1cs, tmp_path):
    P.write_ptau(known_ptau, tmp_path / "ours.ptau")
    write_r1cs(r1cs, tmp_path / "c.r1cs")
    res = node_tools.snarkjs_cmd("groth16", "setup", "c.r1cs", "ours.ptau", "s.zkey", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (tmp_path / "s.zkey").read_bytes() == zkey_to_bytes(new_proving_key(r1cs, known_ptau))


@pytest.mark.interop
def test_snarkjs_zkey_verify_accepts_our_contributions(node_tools, snarkjs_ceremony, r1cs, tmp_path):
    d = snarkjs_ceremony
    pk = read_zkey(d / "snarkjs.zkey")
    pk, _ = phase2.contribute(pk, "ours 1")
    pk, _ = phase2.contribute(pk, "ours 2")
    write_zkey(pk, tmp_path / "ours.zkey")
    res = node_tools.snarkjs_cmd("zkey", "verify", str(d / "c.r1cs"), str(d / "final.ptau"),
                                 str(tmp_path / "ours.zkey"))
    assert res.returncode == 0 and "ZKey Ok!" in res.stdout, res.stdout + res.stderr
    # ... and snarkjs' contribution on top of ours verifies with us
    res = node_tools.snarkjs_cmd("zkey", "contribute", str(tmp_path / "ours.zkey"),
                                 str(tmp_path / "theirs.zkey"), "--name=snarkjs", "-e=more entropy")
    assert res.returncode == 0, res.stdout + res.stderr
    theirs = read_zkey(tmp_path / "theirs.zkey")
    rep = phase2.verify(theirs, r1cs, P.read_ptau(d / "final.ptau"))
    assert rep.ok and theirs.n_contributions == 3, rep.errors


@pytest.mark.interop
def test_snarkjs_zkey_verify_rejects_our_tampered_key(node_tools, snarkjs_ceremony, tmp_path):
    d = snarkjs_ceremony
    pk, _ = phase2.contribute(read_zkey(d / "snarkjs.zkey"))
    write_zkey(dataclasses.replace(pk, h_g1=read_zkey(d / "snarkjs.zkey").h_g1), tmp_path / "bad.zkey")
    res = node_tools.snarkjs_cmd("zkey", "verify", str(d / "c.r1cs"), str(d / "final.ptau"),
                                 str(tmp_path / "bad.zkey"))
    assert "ZKey Ok!" not in res.stdout


def test_merging_identical_rows_gives_the_same_key(monkeypatch):
    """new_proving_key merges identical matrix rows (Poseidon's S-boxes read one linear
    combination twice) before the sparse products: the key is byte for byte the direct one."""
    import numpy as np

    from zkmargin.circuits.poseidon_gadget import poseidon_gadget
    from zkmargin.prover import setup as S

    cs = ConstraintSystem("poseidon2")
    a, b = cs.private("a", 3), cs.public("b", 5)
    cs.output("h", poseidon_gadget(cs, [a, b * 7 + a]))
    r = cs.to_r1cs()
    acc = P.prepare_phase2(P.contribute(P.new_accumulator(circuit_power(len(r.constraints), r.n_public) + 1),
                                        "t", _secrets=(TAU, ALPHA, BETA)))
    (_, _, _), (b_r, b_c, b_v), _ = S._r1cs_matrices(r)
    assert S._merge_rows(b_r, b_c, b_v, 1 << 20) is not None       # the case it is for
    merged = zkey_to_bytes(new_proving_key(r, acc))
    assert zkey_to_bytes(new_proving_key(r, acc, secrets=PhaseOneSecrets(TAU, ALPHA, BETA))) == merged
    monkeypatch.setattr(S, "MERGE_IDENTICAL_ROWS", False)
    assert zkey_to_bytes(new_proving_key(r, acc)) == merged
    rows = np.array([0, 0, 1, 1, 2], dtype=np.int64)
    cols = np.array([1, 2, 1, 2, 1], dtype=np.int64)
    vals = np.tile(np.array([[9, 0, 0, 0]], dtype=np.uint64), (5, 1))
    nr, nc, nv, members, groups, n = S._merge_rows(rows, cols, vals, 10)
    assert (n, members.tolist(), groups.tolist(), nr.tolist(), nc.tolist()) == (1, [0, 1], [0, 0], [10, 10, 2], [1, 2, 1])
