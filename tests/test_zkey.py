"""The .zkey reader/writer: round trips, the verifying key, and malformed input."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from zkmargin.algebra import G1_GEN, G2_GEN, R, g1_mul, g2_in_subgroup, g2_is_on_curve
from zkmargin.formats.binfile import FormatError, build_binfile, parse_binfile
from zkmargin.formats.zkey import mpc_params, parse_zkey, read_zkey, verifying_key, write_zkey, zkey_to_bytes
from zkmargin.prover import phase2
from zkmargin.prover import ptau as P
from zkmargin.prover.setup import new_proving_key


@pytest.fixture(scope="module")
def pk(make_tiny_r1cs):
    acc = P.contribute(P.new_accumulator(3), _secrets=(2, 3, 4))
    key = new_proving_key(make_tiny_r1cs(), acc)
    return phase2.contribute(key, "z")[0]


def phase2_initial(pk):
    """The same key with an empty contribution list (as made by setup)."""
    import dataclasses
    return dataclasses.replace(pk, contributions=mpc_params(pk).cs_hash + bytes(4))


@pytest.fixture(scope="module")
def data(pk):
    return zkey_to_bytes(pk)


def _sections(data: bytes) -> dict:
    return {k: v[0] for k, v in parse_binfile(data, b"zkey").sections.items()}


def _rebuild(secs: dict) -> bytes:
    return build_binfile(b"zkey", 1, list(secs.items()))


def test_roundtrip(pk, data, tmp_path):
    write_zkey(pk, tmp_path / "k.zkey")
    again = read_zkey(tmp_path / "k.zkey")
    assert zkey_to_bytes(again) == data
    for name in ("ic", "a_g1", "b_g1", "b_g2", "c_g1", "h_g1"):
        assert np.array_equal(getattr(again, name), getattr(pk, name))
    assert again.n_constraints == pk.n_constraints == 4
    assert np.array_equal(again.a_matrix.value, pk.a_matrix.value)
    assert again.n_contributions == 1 and not again.development_only


def _order(data: bytes) -> list[int]:
    raw, order, pos = data[12:], [], 0
    while pos < len(raw):
        kind, size = struct.unpack_from("<IQ", raw, pos)
        order.append(kind)
        pos += 12 + size
    return order


def test_section_order_and_coefficient_encoding(data, pk):
    f = parse_binfile(data, b"zkey")
    # snarkjs' order: 1..10 after a contribution, 1 2 4 3 9 8 5 6 7 10 from setup
    assert _order(data) == list(range(1, 11))
    assert _order(zkey_to_bytes(phase2_initial(pk))) == [1, 2, 4, 3, 9, 8, 5, 6, 7, 10]
    raw = data[12:]
    order, pos = [], 0
    while pos < len(raw):
        kind, size = struct.unpack_from("<IQ", raw, pos)
        order.append(kind)
        pos += 12 + size
    assert order == list(range(1, 11))
    sec4 = f.sections[4][0]
    n = struct.unpack_from("<I", sec4)[0]
    assert n == len(pk.a_matrix.constraint) + len(pk.b_matrix.constraint)
    # first entry: A of constraint 0, stored as coef * R^2 mod r
    m, c, s = struct.unpack_from("<III", sec4, 4)
    stored = int.from_bytes(sec4[16:48], "little")
    coef = int.from_bytes(pk.a_matrix.value[0].astype("<u8").tobytes(), "little")
    assert (m, c) == (0, 0) and stored == coef * pow(2, 512, R) % R


def test_verifying_key(pk):
    vk = verifying_key(pk)
    assert vk.alpha_g1 == g1_mul(G1_GEN, 3) and vk.gamma_g2 == G2_GEN
    assert vk.delta_g2 == pk.delta_g2 and vk.n_public == pk.n_public == 2


@pytest.mark.parametrize("cut", [0, 11, 12, 40, 200, -1])
def test_rejects_truncated(data, cut):
    with pytest.raises(FormatError):
        parse_zkey(data[:cut] if cut >= 0 else data[:-1])


def _edit_header(data: bytes, offset: int, value: int) -> bytes:
    secs = _sections(data)
    hdr = bytearray(secs[2])
    struct.pack_into("<I", hdr, offset, value)
    secs[2] = bytes(hdr)
    return _rebuild(secs)


def test_rejects_inconsistent_header(data):
    # offsets in section 2: 0 n8q, 4 q, 36 n8r, 40 r, 72 nVars, 76 nPublic, 80 domainSize
    with pytest.raises(FormatError, match="nPublic"):
        parse_zkey(_edit_header(data, 76, 10 ** 6))
    with pytest.raises(FormatError, match="power of two"):
        parse_zkey(_edit_header(data, 80, 12))
    with pytest.raises(FormatError, match="expected"):         # sizes no longer match
        parse_zkey(_edit_header(data, 72, 7))
    with pytest.raises(FormatError, match="power of two"):     # huge: refused, nothing allocated
        parse_zkey(_edit_header(data, 80, 2 ** 31))


def test_rejects_other_protocols(data):
    secs = _sections(data)
    secs[1] = struct.pack("<I", 2)
    with pytest.raises(FormatError, match="not Groth16"):
        parse_zkey(_rebuild(secs))


@pytest.mark.parametrize("field_, value, msg", [
    (0, 2, "matrix"), (2, 10 ** 6, "signal"), (1, 10 ** 6, "constraint")])
def test_rejects_bad_coefficient_indices(data, field_, value, msg):
    secs = _sections(data)
    sec = bytearray(secs[4])
    struct.pack_into("<I", sec, 4 + 4 * field_, value)
    secs[4] = bytes(sec)
    with pytest.raises(FormatError, match=msg):
        parse_zkey(_rebuild(secs))


def test_rejects_unreduced_coefficient_and_lying_count(data):
    secs = _sections(data)
    sec = bytearray(secs[4])
    sec[16:48] = R.to_bytes(32, "little")
    secs[4] = bytes(sec)
    with pytest.raises(FormatError, match="not reduced"):
        parse_zkey(_rebuild(secs))
    secs = _sections(data)
    secs[4] = struct.pack("<I", 2 ** 31) + secs[4][4:]
    with pytest.raises(FormatError, match="entries need"):
        parse_zkey(_rebuild(secs))


def test_rejects_bad_points(data):
    secs = _sections(data)
    sec = bytearray(secs[5])
    sec[0] ^= 1                                   # A[0] off the curve
    secs[5] = bytes(sec)
    with pytest.raises(FormatError, match="not on the G1 curve"):
        parse_zkey(_rebuild(secs))
    # delta2 replaced by a curve point outside the prime-order subgroup
    rng = P.ChaCha([1] * 8)
    while True:
        x = (rng.field_element(P.Q), rng.field_element(P.Q))
        x3b = P._f2_mul(P._f2_mul(x, x), x)
        x3b = ((x3b[0] + P.G2_B[0]) % P.Q, (x3b[1] + P.G2_B[1]) % P.Q)
        if P._f2_is_square(x3b):
            break
    bad = (x, P._f2_sqrt(x3b))
    assert g2_is_on_curve(bad) and not g2_in_subgroup(bad)
    secs = _sections(data)
    hdr = bytearray(secs[2])
    off = 84 + 64 + 64 + 128 + 128 + 64              # delta2
    hdr[off:off + 128] = P.g2_point_bytes(bad)
    secs[2] = bytes(hdr)
    with pytest.raises(FormatError, match="delta2"):
        parse_zkey(_rebuild(secs))


def test_rejects_bad_mpc_section(data):
    secs = _sections(data)
    secs[10] = secs[10][:-5]
    with pytest.raises(FormatError):
        parse_zkey(_rebuild(secs))
    secs = _sections(data)
    secs[10] = secs[10][:64] + struct.pack("<I", 10 ** 6) + secs[10][68:]
    with pytest.raises(FormatError, match="contributions declared"):
        parse_zkey(_rebuild(secs))


def test_mpc_section_roundtrip(pk):
    mpc = mpc_params(pk)
    assert len(mpc.cs_hash) == 64 and mpc.contributions[0].name == "z"


@pytest.mark.interop
def test_snarkjs_zkey_roundtrip(node_tools, tmp_path, make_tiny_r1cs):
    """A snarkjs-made key (setup + contribution) reads and writes back byte for byte."""
    from zkmargin.formats.r1cs import write_r1cs

    write_r1cs(make_tiny_r1cs(), tmp_path / "c.r1cs")
    for args in [("powersoftau", "new", "bn128", "3", "p0.ptau"),
                 ("powersoftau", "prepare", "phase2", "p0.ptau", "p.ptau"),
                 ("groth16", "setup", "c.r1cs", "p.ptau", "0.zkey"),
                 ("zkey", "contribute", "0.zkey", "1.zkey", "--name=n", "-e=e")]:
        res = node_tools.snarkjs_cmd(*args, cwd=tmp_path)
        assert res.returncode == 0, res.stdout + res.stderr
    for name in ("0.zkey", "1.zkey"):
        raw = (tmp_path / name).read_bytes()
        assert zkey_to_bytes(parse_zkey(raw)) == raw
    key = parse_zkey(raw)
    assert key.n_contributions == 1 and key.n_constraints == 4


def test_contribution_kind_is_checked():
    """The record tail shared by ptau and zkey contributions: type 0 or 1, and a beacon (1)
    must name its hash and iteration count."""
    from zkmargin.formats.binfile import Reader
    from zkmargin.formats.snarkjs_bin import params_bytes, read_contribution_kind

    def tail(type_: int, params: bytes) -> Reader:
        return Reader(struct.pack("<I", type_) + params, "t")

    name_only = params_bytes("alice", 0, None, None)
    beacon = params_bytes(None, 1, 10, b"\x01" * 32)
    assert read_contribution_kind(tail(0, name_only), "c") == (0, {"name": "alice"})
    assert read_contribution_kind(tail(1, beacon), "c")[1]["num_iterations_exp"] == 10
    with pytest.raises(FormatError, match="unknown contribution type 2"):
        read_contribution_kind(tail(2, name_only), "c")
    with pytest.raises(FormatError, match="beacon contribution without beacon parameters"):
        read_contribution_kind(tail(1, name_only), "c")
