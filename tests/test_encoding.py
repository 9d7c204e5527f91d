"""Point encodings: round trips, agreement with py_ecc / snarkjs layout, hostile bytes."""

from __future__ import annotations

import random

import pytest

from zkmargin.algebra import G1_GEN, G2_GEN, g1_array_from_points, g1_mul, g1_neg, g2_array_from_points, g2_mul, g2_neg
from zkmargin.algebra.constants import Q, R
from zkmargin.algebra.encoding import (
    PointError,
    check_g1,
    check_g2,
    fq2_sqrt,
    g1_from_bytes,
    g1_from_snarkjs_bytes,
    g1_to_bytes,
    g1_to_snarkjs_bytes,
    g2_from_bytes,
    g2_from_snarkjs_bytes,
    g2_to_bytes,
    g2_to_snarkjs_bytes,
)
from zkmargin.algebra.points import G2_B, f2_add, f2_mul

rng = random.Random(7)


def _points():
    g1 = [g1_mul(G1_GEN, rng.randrange(1, R)) for _ in range(6)] + [G1_GEN, g1_neg(G1_GEN), None]
    g2 = [g2_mul(G2_GEN, rng.randrange(1, R)) for _ in range(4)] + [G2_GEN, g2_neg(G2_GEN), None]
    return g1, g2


def test_round_trips_all_layouts():
    g1, g2 = _points()
    for p in g1:
        assert g1_from_bytes(g1_to_bytes(p)) == p
        assert g1_from_bytes(g1_to_bytes(p, compressed=True)) == p
        assert g1_from_snarkjs_bytes(g1_to_snarkjs_bytes(p)) == p
    for p in g2:
        assert g2_from_bytes(g2_to_bytes(p)) == p
        assert g2_from_bytes(g2_to_bytes(p, compressed=True)) == p
        assert g2_from_snarkjs_bytes(g2_to_snarkjs_bytes(p)) == p


def test_snarkjs_layout_matches_limb_arrays():
    g1, g2 = _points()
    assert b"".join(g1_to_snarkjs_bytes(p) for p in g1) == g1_array_from_points(g1).tobytes()
    assert b"".join(g2_to_snarkjs_bytes(p) for p in g2) == g2_array_from_points(g2).tobytes()


def test_eip197_order_is_imaginary_first():
    (x0, x1), (y0, y1) = G2_GEN
    enc = g2_to_bytes(G2_GEN)
    assert enc[:32] == x1.to_bytes(32, "big") and enc[32:64] == x0.to_bytes(32, "big")


def test_rejects_off_curve_and_unreduced():
    x, y = G1_GEN
    with pytest.raises(PointError, match="not on the curve"):
        g1_from_bytes(x.to_bytes(32, "big") + (y + 1).to_bytes(32, "big"))
    with pytest.raises(PointError, match="below"):
        g1_from_bytes((x + Q).to_bytes(32, "big") + y.to_bytes(32, "big"))
    with pytest.raises(PointError, match="expected 32 bytes"):
        g1_from_bytes(b"\x01" * 31)
    with pytest.raises(PointError, match="infinity"):
        g1_from_bytes(bytes(64), allow_infinity=False)
    with pytest.raises(PointError, match="malformed infinity"):
        g1_from_bytes(bytes([0x80]) + bytes(30) + b"\x01")
    # an x with no curve point
    x = 0
    while True:
        x += 1
        rhs = (x ** 3 + 3) % Q
        if pow(rhs, (Q - 1) // 2, Q) != 1:
            break
    with pytest.raises(PointError, match="x-coordinate"):
        g1_from_bytes(x.to_bytes(32, "big"))


def test_rejects_g2_outside_subgroup():
    x = (1, 0)
    while True:
        y = fq2_sqrt(f2_add(f2_mul(f2_mul(x, x), x), G2_B))
        if y is not None:
            break
        x = (x[0] + 1, 0)
    pt = (x, y)
    for enc in (g2_to_bytes(pt), g2_to_bytes(pt, compressed=True), g2_to_snarkjs_bytes(pt)):
        decode = g2_from_snarkjs_bytes if len(enc) == 128 and enc == g2_to_snarkjs_bytes(pt) else g2_from_bytes
        with pytest.raises(PointError, match="subgroup"):
            decode(enc)
    with pytest.raises(PointError, match="subgroup"):
        check_g2(pt)


def test_check_helpers_reject_bad_types():
    with pytest.raises(PointError):
        check_g1((1, Q + 2))
    with pytest.raises(PointError):
        check_g2(((1, 2), (3, 4)))
    assert check_g1(G1_GEN) == G1_GEN


def test_fq2_sqrt_random():
    for _ in range(20):
        a = (rng.randrange(Q), rng.randrange(Q))
        sq = f2_mul(a, a)
        s = fq2_sqrt(sq)
        assert s is not None and f2_mul(s, s) == sq
