"""The setup's faster kernels give the same points as the ones they replace (issue 16):
16-bit-window fixed-base multiplication, batched-affine table products, the vectorised signed
coefficients of the sparse products, the power vectors and the Lagrange scalars from inverse
NTTs, and the Lagrange-check coefficients."""

from __future__ import annotations

import secrets

import numpy as np

from zkmargin.algebra import G1_GEN, G2_GEN, g1_array_from_points, g1_fixed_base_muls, g2_array_from_points, g2_fixed_base_muls
from zkmargin.algebra.constants import R, root_of_unity
from zkmargin.algebra.curve import G1_LIKE, G2_LIKE, jac_rows_to_affine
from zkmargin.algebra.field import array_to_ints, ints_to_array

#: scalars with the edge cases of a window or NAF: 0, 1, r - 1, all-ones limbs, a lone top bit
EDGE = [0, 1, 2, R - 1, R - 2, (1 << 64) - 1, (1 << 128) - 1, 1 << 253, (1 << 253) - 1, 65535, 65536]


def _scalars(n: int, bound: int = R) -> np.ndarray:
    return ints_to_array(EDGE[:] + [secrets.randbelow(bound) for _ in range(n)], modulus=R)


def test_wide_fixed_base_equals_the_comb():
    from zkmargin.algebra.fixed_base_wide import fixed_base_muls_rows

    s = _scalars(40)
    g1 = fixed_base_muls_rows(g1_array_from_points([G1_GEN]), s, False)
    assert np.array_equal(g1, g1_fixed_base_muls(G1_GEN, s).reshape(-1, 8))
    g2 = fixed_base_muls_rows(g2_array_from_points([G2_GEN]), s, True)
    assert np.array_equal(g2, g2_fixed_base_muls(G2_GEN, s).reshape(-1, 16))


def _points(n: int, g2: bool) -> np.ndarray:
    k = ints_to_array([secrets.randbelow(R - 1) + 1 for _ in range(n)])
    pts = (g2_fixed_base_muls(G2_GEN, k) if g2 else g1_fixed_base_muls(G1_GEN, k)).reshape(n, -1).copy()
    pts[0] = 0                                     # an infinity point: every product is infinity
    return pts


def test_affine_products_equal_the_jacobian_table_products():
    from zkmargin.algebra.affine_products import affine_products_rows
    from zkmargin.algebra.msm import table_products_rows

    for g2 in (False, True):
        pts = _points(12, g2)
        n = 300
        point_of = np.array([secrets.randbelow(12) for _ in range(n)], dtype=np.int64)
        vals = [secrets.randbelow(R // 2) for _ in range(n)]
        # one point with scalars whose partial sums meet the addend (acc = +-2^j P)
        vals[:9] = [1, 2, 3, 0, 4, 7, 6, (1 << 253) - 1, 5]
        point_of[:9] = 1
        s = ints_to_array(vals)
        like = G2_LIKE if g2 else G1_LIKE
        ref = jac_rows_to_affine(table_products_rows(pts, point_of, s, like), like)
        assert np.array_equal(affine_products_rows(pts, point_of, s, g2), ref)


def test_signed_coefficients_match_the_integer_rule():
    from zkmargin.algebra import api

    vals = EDGE + [R // 2, R // 2 + 1] + [secrets.randbelow(R) for _ in range(200)]
    c, neg = api._signed_coefficients(ints_to_array(vals, modulus=R))
    assert array_to_ints(c) == [R - v if v > R // 2 else v for v in vals]
    assert neg.tolist() == [v > R // 2 for v in vals]


def test_power_vectors_and_lagrange_scalars():
    from zkmargin.prover import ptau as pt
    from zkmargin.prover.known_tau import lagrange_at
    from zkmargin.solvency.keys import _lagrange_scalars

    tau = secrets.randbelow(R - 2) + 2
    assert array_to_ints(pt._powers(tau, 50, 7)) == [7 * pow(tau, i, R) % R for i in range(50)]
    pows = pt._powers(tau, 16)
    got = array_to_ints(_lagrange_scalars(pows, 4, truncated_top=True))
    want = []
    for k in range(5):
        m = 2 ** k
        vals = lagrange_at(tau, m)
        if k == 4:                       # the top power tau^(m-1) taken as zero
            w, c = root_of_unity(m), pow(tau, m - 1, R) * pow(m, -1, R) % R
            vals = [(v - pow(w, i, R) * c) % R for i, v in enumerate(vals)]
        want += vals
    assert got == want


def test_lagrange_check_coefficients():
    from zkmargin.algebra.kernel_set import kernel_set
    from zkmargin.prover import ptau as pt

    intt = kernel_set().intt
    for top, n_mono in ((5, 32), (6, 63), (3, 8)):
        r = pt._rand_scalars(2 ** (top + 1) - 1)
        want = [0] * n_mono
        for k in range(top + 1):
            n = 2 ** k
            c = array_to_ints(intt(r[n - 1:2 * n - 1]))
            for j in range(min(n, n_mono)):
                want[j] = (want[j] + c[j]) % R
        assert array_to_ints(pt._lagrange_coefficients(r, n_mono, top)) == want


def test_combined_check_passes_and_a_bad_section_is_still_named():
    from dataclasses import replace

    from zkmargin.prover import ptau as pt

    acc = pt.prepare_phase2(pt.contribute(pt.new_accumulator(4), "t"))
    assert pt.verify(acc).ok
    bad = replace(acc, lagrange_alpha_tau_g1=acc.lagrange_alpha_tau_g1.copy())
    bad.lagrange_alpha_tau_g1[5] = acc.lagrange_alpha_tau_g1[6]
    assert pt.verify(bad).errors == ["Lagrange section alphaTauG1: block 2^2 does not match the powers"]
    bad = replace(acc, tau_g1=acc.tau_g1.copy())
    bad.tau_g1[9] = acc.tau_g1[10]
    errors = pt.verify(bad).errors
    assert "tauG1 section: powers do not match" in errors


def test_witness_program_precompiled_from_the_setup_circuit_and_listed(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from zkmargin.circuits.margin_circuits import Shape, dummy_inputs
    from zkmargin.cli.main import app
    from zkmargin.solvency import witness
    from zkmargin.solvency.keys import setup_circuit

    monkeypatch.setenv("ZKMARGIN_CACHE", str(tmp_path))
    witness.forget()
    shape = Shape("worst_case", 1, 1, 1, 1)
    params = dummy_inputs(shape, "span16")[0]
    circ = setup_circuit(shape, "span16", params)
    assert witness.precompile(shape, params, circ)
    assert not witness.precompile(shape, params, circ)          # cached: nothing to do
    path = tmp_path / "witness" / f"{witness.program_key(shape, params)}.zkwp"
    assert path.read_bytes() == witness.compile_solvency(shape, params).to_bytes()
    r = CliRunner().invoke(app, ["cache", "info"])
    assert r.exit_code == 0, r.output
    assert "compiled witness programs" in r.output and path.name in r.output
    witness.forget()


def test_setup_keys_precompiles_the_witness_program(tmp_path, monkeypatch):
    from zkmargin.circuits.margin_circuits import Shape, dummy_inputs
    from zkmargin.solvency import witness
    from zkmargin.solvency.keys import setup_keys

    monkeypatch.setenv("ZKMARGIN_CACHE", str(tmp_path))
    witness.forget()
    shape = Shape("worst_case", 1, 1, 1, 1)
    params = dummy_inputs(shape, "span16")[0]
    lines: list[str] = []
    setup_keys(shape, model="span16", params=params, progress=lines.append, precompile_witness=True)
    assert (tmp_path / "witness" / f"{witness.program_key(shape, params)}.zkwp").is_file()
    assert any("witness program compiled" in m for m in lines), lines
    witness.forget()
