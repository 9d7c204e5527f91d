"""Powers of tau: transcript primitives, new/contribute/verify/prepare, the file format, and
interop with snarkjs (both directions)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import struct

import pytest

from zkmargin.algebra import G1_GEN, G2_GEN, R, g1_add, g1_mul, g1_points_from_array, g2_in_subgroup, root_of_unity
from zkmargin.formats.binfile import FormatError, build_binfile, parse_binfile
from zkmargin.prover import ptau as P

POWER = 3


@pytest.fixture(scope="module")
def contributed():
    """A power-3 accumulator after two contributions with known secrets, prepared."""
    acc = P.new_accumulator(POWER)
    acc = P.contribute(acc, "alice", _secrets=(5, 7, 11))
    acc = P.contribute(acc, "bob")
    return P.prepare_phase2(acc)


# ---- primitives ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 127, 128, 129, 256, 300, 1000])
def test_blake2b_matches_hashlib_and_resumes(n):
    data = os.urandom(n)
    for split in (0, n // 3, n):
        h = P.Blake2b()
        h.update(data[:split])
        h.update(data[split:])
        assert h.digest() == hashlib.blake2b(data).digest()
        if n:
            resumed = P.Blake2b.from_partial_state(h.partial_state())
            resumed.update(b"tail")
            assert resumed.digest() == hashlib.blake2b(data + b"tail").digest()


def test_chacha_is_rfc7539_with_zero_key():
    # RFC 7539 2.3.2-style vector: key 0, nonce 0, counter 0 -> keystream 76 b8 e0 ad ...
    rng = P.ChaCha([0] * 8)
    assert rng.next_u32() == 0xADE0B876
    assert rng.next_u32() == 0x903DF1A0


def test_hash_to_g2_is_a_subgroup_point_and_deterministic():
    d = hashlib.blake2b(b"challenge").digest()
    p = P.hash_to_g2(d)
    assert p == P.hash_to_g2(d) and p is not None
    assert g2_in_subgroup(p)


def test_uncompressed_encoding_of_generators():
    assert P.g1_point_uncompressed(G1_GEN) == (1).to_bytes(32, "big") + (2).to_bytes(32, "big")
    enc = P.g2_point_uncompressed(G2_GEN)
    (x0, x1), (y0, y1) = G2_GEN
    assert enc == b"".join(v.to_bytes(32, "big") for v in (x1, x0, y1, y0))
    assert P.g1_point_uncompressed(None) == bytes(64)


# ---- the accumulator ----------------------------------------------------------------------


def test_blank_accumulator_is_development_only():
    acc = P.new_accumulator(2)
    assert acc.development_only
    rep = P.verify(acc)
    assert not rep.ok and "DEVELOPMENT-ONLY" in rep.errors[0]


def test_contribution_multiplies_by_the_secrets(contributed):
    acc = P.contribute(P.new_accumulator(2), _secrets=(3, 4, 5))
    pts = g1_points_from_array(acc.tau_g1)
    assert pts[:3] == [G1_GEN, g1_mul(G1_GEN, 3), g1_mul(G1_GEN, 9)]
    assert g1_points_from_array(acc.alpha_tau_g1[1:2])[0] == g1_mul(G1_GEN, 12)
    assert g1_points_from_array(acc.beta_tau_g1[:1])[0] == g1_mul(G1_GEN, 5)


def test_verify_accepts_a_valid_chain(contributed):
    rep = P.verify(contributed)
    assert rep.ok, rep.errors
    assert [n.split(": ")[1] for n in rep.notes[:2]] == ["alice", "bob"]


def test_lagrange_sections_are_the_lagrange_basis(contributed):
    # with alice's tau = 5 and bob's unknown tau', check the defining identities instead:
    # sum_i L_i(tau) = 1 and sum_i w^i L_i(tau) = tau on every block
    lag = contributed.lagrange_tau_g1
    tau_g1 = g1_points_from_array(contributed.tau_g1[1:2])[0]
    for k in range(POWER + 1):
        n = 2 ** k
        block = g1_points_from_array(lag[n - 1:2 * n - 1])
        total, weighted, w = None, None, root_of_unity(n)
        for i, p in enumerate(block):
            total = g1_add(total, p)
            weighted = g1_add(weighted, g1_mul(p, pow(w, i, R)))
        assert total == G1_GEN
        assert weighted == (tau_g1 if n > 1 else G1_GEN)     # x mod (x^n - 1)


@pytest.mark.parametrize("tamper", ["point", "challenge", "record", "lagrange"])
def test_verify_rejects_tampering(contributed, tamper):
    acc = P.parse_ptau(P.ptau_to_bytes(contributed))
    if tamper == "point":      # replace tau^3 G1 by tau^2 G1: the power check must fail
        acc.tau_g1[3] = acc.tau_g1[2]
    elif tamper == "challenge":
        acc.contributions[-1].next_challenge = bytes(64)
    elif tamper == "record":   # claim a different tau*G1 in the first record
        acc.contributions[0].tau_g1 = g1_mul(G1_GEN, 6)
    else:
        acc.lagrange_alpha_tau_g1[2] = acc.lagrange_alpha_tau_g1[1]
    assert not P.verify(acc).ok


def test_file_roundtrip(contributed, tmp_path):
    path = tmp_path / "x.ptau"
    P.write_ptau(contributed, path)
    again = P.read_ptau(path)
    assert P.ptau_to_bytes(again) == path.read_bytes()
    assert again.contributions[0].name == "alice"


# ---- malformed files ----------------------------------------------------------------------


def _sections(acc) -> dict:
    return {k: v[0] for k, v in parse_binfile(P.ptau_to_bytes(acc), b"ptau").sections.items()}


def _rebuild(secs: dict) -> bytes:
    return build_binfile(b"ptau", 1, sorted(secs.items()))


def test_rejects_truncated_and_bad_magic(contributed):
    data = P.ptau_to_bytes(contributed)
    for cut in (0, 7, 12, 100, len(data) // 2, len(data) - 1):
        with pytest.raises(FormatError):
            P.parse_ptau(data[:cut])
    with pytest.raises(FormatError):
        P.parse_ptau(b"zkey" + data[4:])


def test_rejects_inconsistent_header(contributed):
    secs = _sections(contributed)
    hdr = bytearray(secs[1])
    struct.pack_into("<II", hdr, 36, POWER + 1, POWER + 1)   # bigger than the sections hold
    secs[1] = bytes(hdr)
    with pytest.raises(FormatError, match="bytes, expected"):
        P.parse_ptau(_rebuild(secs))
    secs = _sections(contributed)
    hdr = bytearray(secs[1])
    struct.pack_into("<I", hdr, 36, 40)              # absurd power: refused before any allocation
    secs[1] = bytes(hdr)
    with pytest.raises(FormatError, match="power"):
        P.parse_ptau(_rebuild(secs))


def test_rejects_bad_points(contributed):
    secs = _sections(contributed)
    raw = bytearray(secs[2])
    raw[64:96] = (2 ** 256 - 1).to_bytes(32, "little")   # coordinate >= q
    secs[2] = bytes(raw)
    with pytest.raises(FormatError, match=">= q"):
        P.parse_ptau(_rebuild(secs))
    secs = _sections(contributed)
    raw = bytearray(secs[4])
    raw[0] ^= 1                                            # off the curve
    secs[4] = bytes(raw)
    with pytest.raises(FormatError, match="not on the G1 curve"):
        P.parse_ptau(_rebuild(secs))


def test_rejects_lying_contribution_count(contributed):
    secs = _sections(contributed)
    secs[7] = struct.pack("<I", 10 ** 9) + secs[7][4:]
    with pytest.raises(FormatError, match="records declared"):
        P.parse_ptau(_rebuild(secs))
    secs = _sections(contributed)
    secs[7] = secs[7][:-3]
    with pytest.raises(FormatError):
        P.parse_ptau(_rebuild(secs))


def test_rejects_partial_phase2_sections(contributed):
    secs = _sections(contributed)
    del secs[14]
    with pytest.raises(FormatError, match="incomplete phase-2"):
        P.parse_ptau(_rebuild(secs))


# ---- interop with snarkjs -----------------------------------------------------------------


@pytest.fixture(scope="module")
def snarkjs_ptau(node_tools, tmp_path_factory):
    """snarkjs: new (power 3) -> contribute -> contribute -> prepare phase2."""
    d = tmp_path_factory.mktemp("snarkjs_ptau")
    steps = [("powersoftau", "new", "bn128", str(POWER), "p0.ptau"),
             ("powersoftau", "contribute", "p0.ptau", "p1.ptau", "--name=first", "-e=entropy one"),
             ("powersoftau", "contribute", "p1.ptau", "p2.ptau", "--name=second", "-e=entropy two"),
             ("powersoftau", "prepare", "phase2", "p2.ptau", "final.ptau")]
    for args in steps:
        res = node_tools.snarkjs_cmd(*args, cwd=d)
        assert res.returncode == 0, res.stdout + res.stderr
    return d


@pytest.mark.interop
def test_we_read_and_verify_snarkjs_ptau(snarkjs_ptau):
    acc = P.read_ptau(snarkjs_ptau / "final.ptau")
    assert acc.is_prepared and [c.name for c in acc.contributions] == ["first", "second"]
    rep = P.verify(acc)
    assert rep.ok, rep.errors
    # byte-identical round trip, and our prepare reproduces snarkjs' sections exactly
    assert P.ptau_to_bytes(acc) == (snarkjs_ptau / "final.ptau").read_bytes()
    unprepared = P.read_ptau(snarkjs_ptau / "p2.ptau")
    assert P.ptau_to_bytes(P.prepare_phase2(unprepared)) == (snarkjs_ptau / "final.ptau").read_bytes()


@pytest.mark.interop
def test_our_partial_hash_matches_snarkjs(snarkjs_ptau):
    acc = P.read_ptau(snarkjs_ptau / "p2.ptau")
    first, second = acc.contributions
    h = P.Blake2b()
    h.update(first.next_challenge)
    for s in P._section_bytes_compressed(acc):
        h.update(s)
    ours, theirs = h.partial_state(), second.partial_hash
    pos = struct.unpack_from("<I", ours, 200)[0]
    assert ours[128:] == theirs[128:] and ours[:pos] == theirs[:pos]   # beyond pos: stale bytes


@pytest.mark.interop
def test_snarkjs_verifies_our_ptau_and_builds_on_it(node_tools, contributed, tmp_path):
    P.write_ptau(contributed, tmp_path / "ours.ptau")
    res = node_tools.snarkjs_cmd("powersoftau", "verify", "ours.ptau", cwd=tmp_path)
    assert res.returncode == 0 and "Powers of Tau Ok!" in res.stdout, res.stdout + res.stderr
    # snarkjs contributes on top of our (unprepared) file; both tools accept the result
    raw = dataclasses.replace(contributed, lagrange_tau_g1=None, lagrange_tau_g2=None,
                              lagrange_alpha_tau_g1=None, lagrange_beta_tau_g1=None)
    P.write_ptau(raw, tmp_path / "raw.ptau")
    res = node_tools.snarkjs_cmd("powersoftau", "contribute", "raw.ptau", "more.ptau",
                                 "--name=carol", "-e=xyz", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    res = node_tools.snarkjs_cmd("powersoftau", "verify", "more.ptau", cwd=tmp_path)
    assert res.returncode == 0 and "Powers of Tau Ok!" in res.stdout
    rep = P.verify(P.read_ptau(tmp_path / "more.ptau"))
    assert rep.ok, rep.errors


def test_blank_accumulator_contribution_fixed_base_equals_scale_each():
    """contribute() computes a blank accumulator's sections (every point the generator) as
    fixed-base multiplications: the same arrays as one scalar multiplication per point."""
    import numpy as np

    from zkmargin.algebra import g1_scale_each, g2_scale_each

    acc = P.new_accumulator(5)
    secrets = (1234567, 7654321, 9999991)
    fast = P.contribute(acc, "x", _secrets=secrets)
    tau, alpha, beta = secrets
    n = 2 ** acc.power
    assert np.array_equal(fast.tau_g1, g1_scale_each(acc.tau_g1, P._powers(tau, 2 * n - 1)))
    assert np.array_equal(fast.tau_g2, g2_scale_each(acc.tau_g2, P._powers(tau, n)))
    assert np.array_equal(fast.alpha_tau_g1, g1_scale_each(acc.alpha_tau_g1, P._powers(tau, n, alpha)))
    assert np.array_equal(fast.beta_tau_g1, g1_scale_each(acc.beta_tau_g1, P._powers(tau, n, beta)))
    # a second contribution (points no longer all equal) takes the general path and verifies
    again = P.contribute(fast, "y", _secrets=(3, 5, 7))
    assert np.array_equal(again.tau_g1, g1_scale_each(fast.tau_g1, P._powers(3, 2 * n - 1)))
    assert P.verify(again).ok
