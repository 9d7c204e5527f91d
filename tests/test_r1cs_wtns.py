""".r1cs / .wtns files: round trips, limb fast paths, and hostile input (docs/PITFALLS.md #15)."""

from __future__ import annotations

import struct
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkmargin.algebra.constants import Q, R
from zkmargin.circuits import gadgets as g
from zkmargin.circuits.builder import ConstraintSystem
from zkmargin.formats.binfile import FormatError, build_binfile, parse_binfile
from zkmargin.formats.r1cs import (
    R1CS,
    parse_r1cs,
    parse_sym,
    r1cs_to_bytes,
    read_r1cs,
    read_sym,
    sym_text,
    write_r1cs,
    write_sym,
)
from zkmargin.formats.wtns import (
    ints_to_limbs,
    limbs_below_r,
    limbs_to_ints,
    parse_wtns,
    parse_wtns_limbs,
    read_wtns,
    read_wtns_limbs,
    write_wtns,
    wtns_to_bytes,
)


def sample() -> ConstraintSystem:
    cs = ConstraintSystem("sample")
    a = cs.private("a", 1000)
    b = cs.private("b", 37)
    bound = cs.public("bound", 5000)
    q, rem = g.floor_div(cs, a, b, 16, 8)
    g.assert_less_equal(cs, a + b, bound, 20)
    cs.output("q", q)
    return cs


# ---------------------------------------------------------------------------------------------
# round trips
# ---------------------------------------------------------------------------------------------


def test_r1cs_round_trip(tmp_path):
    cs = sample()
    r1 = cs.to_r1cs()
    path = tmp_path / "s.r1cs"
    write_r1cs(r1, path)
    back = read_r1cs(path)
    assert (back.n_wires, back.n_pub_out, back.n_pub_in, back.n_prv_in) == (
        r1.n_wires, r1.n_pub_out, r1.n_pub_in, r1.n_prv_in)
    assert back.constraints == r1.constraints
    assert back.label_ids == list(range(r1.n_wires)) and back.n_labels == r1.n_wires
    assert r1cs_to_bytes(back) == path.read_bytes()          # byte-exact
    w = cs.witness()
    assert back.check(w) == []
    assert back.public_signals(w) == [27, 5000]               # outputs first, then inputs


def test_wtns_round_trip_ints_and_limbs(tmp_path):
    w = sample().witness()
    path = tmp_path / "s.wtns"
    write_wtns(w, path)
    assert read_wtns(path) == w
    limbs = read_wtns_limbs(path)
    assert limbs.shape == (len(w), 4) and limbs.dtype == np.uint64
    assert limbs_to_ints(limbs) == w
    assert sample().to_r1cs().check(limbs) == []
    assert wtns_to_bytes(limbs) == path.read_bytes()
    raw = path.read_bytes()
    assert raw[:4] == b"wtns" and struct.unpack_from("<I", raw, 4)[0] == 2


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, R - 1), min_size=1, max_size=40))
def test_limb_conversion(values):
    arr = ints_to_limbs(values)
    assert limbs_to_ints(arr) == values
    assert limbs_below_r(arr).all()
    assert arr.tobytes() == b"".join(v.to_bytes(32, "little") for v in values)


def test_limbs_below_r_boundaries():
    vals = [0, R - 1, R, R + 1, 2**256 - 1, R - 2**64, R + 2**192]
    raw = b"".join(v.to_bytes(32, "little") for v in vals)
    mask = limbs_below_r(np.frombuffer(raw, "<u8").reshape(-1, 4))
    assert mask.tolist() == [v < R for v in vals]
    with pytest.raises(ValueError):
        ints_to_limbs([R])
    with pytest.raises(ValueError):
        ints_to_limbs([-1])


def test_sparse_matrices_agree_with_constraints():
    cs = sample()
    r1 = cs.to_r1cs()
    w = cs.witness()
    A, B, C = r1.matrices()
    assert A.shape == (len(r1.constraints), r1.n_wires)
    aw, bw, cw = A.dot(w), B.dot(w), C.dot(w)
    assert all(x * y % R == z for x, y, z in zip(aw, bw, cw))
    assert len(A.rows) == sum(len(c[0]) for c in r1.constraints)
    assert A.coeffs.dtype == np.uint64 and A.coeffs.shape == (len(A.rows), 4)
    assert np.all(np.diff(A.rows) >= 0)


def test_writer_validates():
    r1 = R1CS(n_wires=2, n_pub_out=0, n_pub_in=1, n_prv_in=0, constraints=[({5: 1}, {}, {})])
    with pytest.raises(ValueError):
        r1cs_to_bytes(r1)
    r1 = R1CS(n_wires=2, n_pub_out=0, n_pub_in=1, n_prv_in=0, constraints=[({1: R}, {}, {})])
    with pytest.raises(ValueError):
        r1cs_to_bytes(r1)
    with pytest.raises(ValueError):
        wtns_to_bytes([1, R])


def test_reader_accepts_unsorted_terms_and_sums_duplicates():
    """circom does not always sort terms by wire id; repeated ids are summed (snarkjs' reading)."""
    body = _lc([(2, 3), (1, 5)]) + _lc([(0, 1)]) + _lc([(1, 7), (1, R - 7)])
    r1 = parse_r1cs(_r1cs(constraints=body, n_constraints=1))
    assert r1.constraints == [({1: 5, 2: 3}, {0: 1}, {})]


# ---------------------------------------------------------------------------------------------
# hostile .r1cs input
# ---------------------------------------------------------------------------------------------


def _lc(terms: list[tuple[int, int]]) -> bytes:
    return struct.pack("<I", len(terms)) + b"".join(
        struct.pack("<I", w) + c.to_bytes(32, "little") for w, c in terms)


def _r1cs(*, n8=32, prime=R, n_wires=3, n_out=0, n_pub=1, n_prv=1, n_labels=None,
          n_constraints=1, constraints=None, labels=None, version=1, magic=b"r1cs",
          extra=()) -> bytes:
    """Hand-made .r1cs with every header field adjustable."""
    n_labels = n_wires if n_labels is None else n_labels
    if constraints is None:   # x * x = y  with wires 1 = y (public), 2 = x
        constraints = _lc([(2, 1)]) + _lc([(2, 1)]) + _lc([(1, 1)])
    if labels is None:
        labels = list(range(n_wires))
    header = (struct.pack("<I", n8) + prime.to_bytes(n8, "little")
              + struct.pack("<IIIIQI", n_wires, n_out, n_pub, n_prv, n_labels, n_constraints))
    sections = [(1, header), (2, constraints), (3, b"".join(struct.pack("<Q", x) for x in labels)),
                *extra]
    return build_binfile(magic, version, sections)


def test_hand_made_file_is_valid():
    r1 = parse_r1cs(_r1cs())
    assert r1.check([1, 9, 3]) == [] and r1.check([1, 9, 4]) == [0]


def test_every_truncation_rejected_cleanly():
    data = r1cs_to_bytes(sample().to_r1cs())
    step = max(1, len(data) // 600)
    for n in list(range(0, len(data), step)) + [len(data) - 1]:
        with pytest.raises(FormatError):
            parse_r1cs(data[:n])


@pytest.mark.parametrize("kwargs,match", [
    (dict(magic=b"wtns"), "magic"),
    (dict(version=2), "version"),
    (dict(prime=Q), "prime"),
    (dict(n8=48, prime=R), "size"),
    (dict(n_wires=2, n_pub=1, n_prv=1), "wires"),                 # 1 + 1 + 1 > 2
    (dict(n_labels=2), "labels"),
    (dict(n_constraints=2), "constraint"),                         # declares more than present
    (dict(n_constraints=0), "trailing"),                           # declares fewer
    (dict(n_constraints=2**32 - 1), "constraint"),                 # huge count
    (dict(labels=[0, 1]), "label"),                                # section 3 too short
    (dict(labels=[0, 1, 99]), "label"),                            # label id >= nLabels
    (dict(constraints=_lc([(3, 1)]) + _lc([]) + _lc([])), "wire 3"),           # wire out of range
    (dict(constraints=_lc([(2, R)]) + _lc([]) + _lc([])), "coefficient"),     # coefficient = r
    (dict(constraints=_lc([(2, 2**256 - 1)]) + _lc([]) + _lc([])), "coefficient"),
    (dict(constraints=struct.pack("<I", 2**32 - 1) + b"\0" * 40), "terms"),  # huge LC count
    (dict(extra=[(4, b"")]), "custom gates"),
])
def test_malformed_r1cs_rejected(kwargs, match):
    data = _r1cs(**kwargs)
    t0 = time.perf_counter()
    with pytest.raises(FormatError, match=match):
        parse_r1cs(data)
    assert time.perf_counter() - t0 < 0.5


def test_huge_section_size_rejected_without_allocation():
    data = bytearray(_r1cs())
    struct.pack_into("<Q", data, 16, 2**63)          # size of the first section
    with pytest.raises(FormatError, match="declares"):
        parse_r1cs(bytes(data))
    with pytest.raises(FormatError):
        parse_binfile(b"r1cs" + struct.pack("<II", 1, 2**31), b"r1cs")


def test_missing_and_repeated_sections():
    good = parse_binfile(_r1cs(), b"r1cs")
    header = good.section(1)
    body = good.section(2)
    with pytest.raises(FormatError, match="missing"):
        parse_r1cs(build_binfile(b"r1cs", 1, [(1, header)]))
    with pytest.raises(FormatError, match="2 times"):
        parse_r1cs(build_binfile(b"r1cs", 1, [(1, header), (1, header), (2, body)]))
    # unknown section types are ignored; section 3 is optional
    r1 = parse_r1cs(build_binfile(b"r1cs", 1, [(2, body), (77, b"xyz"), (1, header)]))
    assert r1.label_ids is None and r1.n_constraints == 1


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_r1cs_fuzz_only_format_errors(data):
    raw = bytearray(_r1cs())
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    try:
        parse_r1cs(bytes(raw))
    except FormatError:
        pass


# ---------------------------------------------------------------------------------------------
# hostile .wtns input
# ---------------------------------------------------------------------------------------------


def _wtns(values=(1, 9, 3), *, n8=32, prime=R, n=None, version=2, magic=b"wtns", body=None) -> bytes:
    n = len(values) if n is None else n
    header = struct.pack("<I", n8) + prime.to_bytes(n8, "little") + struct.pack("<I", n)
    if body is None:
        body = b"".join(v.to_bytes(32, "little") for v in values)
    return build_binfile(magic, version, [(1, header), (2, body)])


@pytest.mark.parametrize("kwargs,match", [
    (dict(magic=b"r1cs"), "magic"),
    (dict(version=1), "version"),
    (dict(version=3), "version"),
    (dict(prime=Q), "prime"),
    (dict(n8=64, prime=R), "size"),
    (dict(n=4), "declares"),
    (dict(n=2**32 - 1), "declares"),
    (dict(values=(1, R)), "canonical"),
    (dict(values=(1, 2**256 - 1)), "canonical"),
    (dict(values=(2, 5)), "constant 1"),
    (dict(values=()), "empty"),
])
def test_malformed_wtns_rejected(kwargs, match):
    with pytest.raises(FormatError, match=match):
        parse_wtns(_wtns(**kwargs))


def test_wtns_truncations_rejected():
    data = _wtns()
    for n in range(len(data)):
        with pytest.raises(FormatError):
            parse_wtns_limbs(data[:n])


def test_large_witness_fast():
    """A 1M-value witness parses via np.frombuffer (no per-value Python work for limbs)."""
    n = 1 << 20
    vals = np.zeros((n, 4), dtype="<u8")
    vals[:, 0] = np.arange(n, dtype=np.uint64)
    vals[0, 0] = 1
    data = wtns_to_bytes(vals)
    t0 = time.perf_counter()
    arr = parse_wtns_limbs(data)
    assert time.perf_counter() - t0 < 1.0
    assert arr.shape == (n, 4) and int(arr[12345, 0]) == 12345


# ---------------------------------------------------------------------------------------------
# .sym files
# ---------------------------------------------------------------------------------------------


def test_sym_round_trip_names_failures(tmp_path):
    cs = sample()
    r1 = cs.to_r1cs()
    write_r1cs(r1, tmp_path / "s.r1cs")
    write_sym(r1, tmp_path / "s.sym")
    back = read_sym(tmp_path / "s.sym", read_r1cs(tmp_path / "s.r1cs"))
    assert back.wire_names[0] == "one"
    assert back.wire_names[1:4] == ["main.q", "main.bound", "main.a"]
    w = cs.witness()
    w[-1] = (w[-1] + 1) % R
    bad = back.check(w)
    assert bad and "main." in back.describe(bad[0])


@pytest.mark.parametrize("text,match", [
    ("1,2,3\n", "4 comma"),
    ("x,1,0,main.a\n", "integer"),
    ("1,9,0,main.a\n", "out of range"),
    ("1,1,0,a\n" * 10_000, "lines"),
])
def test_malformed_sym_rejected(text, match):
    with pytest.raises(FormatError, match=match):
        parse_sym(text, 3)


def test_sym_skips_eliminated_and_keeps_first_name():
    names = parse_sym("1,1,0,main.a\n2,-1,0,main.gone\n3,1,0,main.alias\n", 3)
    assert names == ["one", "main.a", None]
    assert "main.x;y" in sym_text(R1CS(2, 0, 0, 1, [], wire_names=["one", "x,y"]))
