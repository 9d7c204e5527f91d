"""Byte encodings of BN254 points, with validation on every decode.

Three layouts:

* **uncompressed** (Ethereum EIP-196/197 precompile layout): G1 = x || y, 32-byte big-endian
  each (64 bytes); G2 = x.c1 || x.c0 || y.c1 || y.c0 (128 bytes, imaginary part first).
  Infinity is all zeros.
* **compressed**: G1 = x as 32 bytes big-endian; G2 = x.c1 || x.c0 (64 bytes).  Since
  q < 2^254 the two top bits of the first byte are free: bit 7 set = infinity (all other bits
  zero), bit 6 set = "y is the larger square root" (y > q - y, comparing c1 first then c0 for
  F_q2).  Decompression takes the square root of x^3 + b.
* **snarkjs** (``.zkey`` / ``.ptau``): each coordinate 32 bytes little-endian in Montgomery
  form (x * 2^256 mod q), F_q2 as c0 then c1; infinity is all zeros.

Every decoder rejects, with :class:`PointError`, coordinates >= q, points off the curve, G2
points outside the order-r subgroup (G2 has a large cofactor), malformed flags, and -- where
the caller says so -- the point at infinity.
"""

from __future__ import annotations

from ..errors import ZkmarginError
from .constants import Q
from .points import G2_B, G1Point, G2Point, f2_add, f2_mul, g1_is_on_curve, g2_in_subgroup, g2_is_on_curve

_MONT = (1 << 256) % Q
_MONT_INV = pow(1 << 256, -1, Q)
_FLAG_INF = 0x80
_FLAG_LARGE_Y = 0x40


class PointError(ZkmarginError):
    """Bytes that do not encode a valid point of the expected group."""


# ---- checks ---------------------------------------------------------------------------------


def check_g1(p: G1Point, *, allow_infinity: bool = True, what: str = "G1 point") -> G1Point:
    """Return p if it is a valid G1 point (cofactor 1: on the curve = in the group)."""
    if p is None:
        if not allow_infinity:
            raise PointError(f"{what} is the point at infinity")
        return p
    if not all(isinstance(v, int) and 0 <= v < Q for v in p):
        raise PointError(f"{what} has a coordinate outside [0, q)")
    if not g1_is_on_curve(p):
        raise PointError(f"{what} is not on the curve y^2 = x^3 + 3")
    return p


def check_g2(p: G2Point, *, allow_infinity: bool = True, what: str = "G2 point") -> G2Point:
    """Return p if it is on the twist curve and in the prime-order subgroup."""
    if p is None:
        if not allow_infinity:
            raise PointError(f"{what} is the point at infinity")
        return p
    if not all(isinstance(v, int) and 0 <= v < Q for c in p for v in c):
        raise PointError(f"{what} has a coordinate outside [0, q)")
    if not g2_is_on_curve(p):
        raise PointError(f"{what} is not on the twist curve")
    if not g2_in_subgroup(p):
        raise PointError(f"{what} is not in the prime-order subgroup")
    return p


# ---- square roots -------------------------------------------------------------------------


def fq_sqrt(a: int) -> int | None:
    """A square root of a in F_q (q = 3 mod 4), or None."""
    s = pow(a, (Q + 1) // 4, Q)
    return s if s * s % Q == a % Q else None


def fq2_sqrt(a: tuple[int, int]) -> tuple[int, int] | None:
    """A square root of a = a0 + a1 u in F_q2 (u^2 = -1), or None, via the norm map."""
    a0, a1 = a[0] % Q, a[1] % Q
    if a1 == 0:
        s = fq_sqrt(a0)
        if s is not None:
            return (s, 0)
        s = fq_sqrt(-a0 % Q)          # sqrt(a0) = sqrt(-a0) * u for non-square a0
        return (0, s) if s is not None else None
    n = fq_sqrt((a0 * a0 + a1 * a1) % Q)
    if n is None:
        return None
    half = pow(2, -1, Q)
    for t in ((a0 + n) * half % Q, (a0 - n) * half % Q):
        x0 = fq_sqrt(t)
        if x0 is None or x0 == 0:
            continue
        x1 = a1 * pow(2 * x0, -1, Q) % Q
        if f2_mul((x0, x1), (x0, x1)) == (a0, a1):
            return (x0, x1)
    return None


def _larger_fq(y: int) -> bool:
    return y > Q - y


def _larger_fq2(y: tuple[int, int]) -> bool:
    neg = ((-y[0]) % Q, (-y[1]) % Q)
    return (y[1], y[0]) > (neg[1], neg[0])


# ---- uncompressed / compressed (big-endian) ---------------------------------------------


def _be(v: int) -> bytes:
    return v.to_bytes(32, "big")


def _read_be(data: bytes, what: str) -> int:
    v = int.from_bytes(data, "big")
    if v >= Q:
        raise PointError(f"{what}: coordinate is not below the field modulus q")
    return v


def _expect_len(data: bytes, n: int, what: str) -> None:
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) != n:
        got = len(data) if isinstance(data, (bytes, bytearray, memoryview)) else type(data).__name__
        raise PointError(f"{what}: expected {n} bytes, got {got}")


def g1_to_bytes(p: G1Point, compressed: bool = False) -> bytes:
    """Encode a G1 point (big-endian; see module doc)."""
    if not compressed:
        return bytes(64) if p is None else _be(p[0]) + _be(p[1])
    if p is None:
        return bytes([_FLAG_INF]) + bytes(31)
    out = bytearray(_be(p[0]))
    if _larger_fq(p[1]):
        out[0] |= _FLAG_LARGE_Y
    return bytes(out)


def g1_from_bytes(data: bytes, *, allow_infinity: bool = True) -> G1Point:
    """Decode 64 (uncompressed) or 32 (compressed) bytes into a checked G1 point."""
    what = "G1 point"
    if len(data) == 64:
        if not any(data):
            return check_g1(None, allow_infinity=allow_infinity)
        return check_g1((_read_be(data[:32], what), _read_be(data[32:], what)), what=what)
    _expect_len(data, 32, what)
    flags = data[0] & 0xC0
    body = bytes([data[0] & 0x3F]) + bytes(data[1:])
    if flags & _FLAG_INF:
        if flags != _FLAG_INF or any(body):
            raise PointError(f"{what}: malformed infinity encoding")
        return check_g1(None, allow_infinity=allow_infinity)
    x = _read_be(body, what)
    y = fq_sqrt((x * x * x + 3) % Q)
    if y is None:
        raise PointError(f"{what}: x is not the x-coordinate of a curve point")
    if _larger_fq(y) != bool(flags & _FLAG_LARGE_Y):
        y = (Q - y) % Q
    return check_g1((x, y), what=what)


def g2_to_bytes(p: G2Point, compressed: bool = False) -> bytes:
    """Encode a G2 point (big-endian, imaginary part first; see module doc)."""
    if p is None:
        return (bytes([_FLAG_INF]) + bytes(63)) if compressed else bytes(128)
    (x0, x1), (y0, y1) = p
    if not compressed:
        return _be(x1) + _be(x0) + _be(y1) + _be(y0)
    out = bytearray(_be(x1) + _be(x0))
    if _larger_fq2(p[1]):
        out[0] |= _FLAG_LARGE_Y
    return bytes(out)


def g2_from_bytes(data: bytes, *, allow_infinity: bool = True) -> G2Point:
    """Decode 128 (uncompressed) or 64 (compressed) bytes into a checked G2 point."""
    what = "G2 point"
    if len(data) == 128:
        if not any(data):
            return check_g2(None, allow_infinity=allow_infinity)
        x1, x0, y1, y0 = (_read_be(data[32 * k:32 * k + 32], what) for k in range(4))
        return check_g2(((x0, x1), (y0, y1)), what=what)
    _expect_len(data, 64, what)
    flags = data[0] & 0xC0
    body = bytes([data[0] & 0x3F]) + bytes(data[1:])
    if flags & _FLAG_INF:
        if flags != _FLAG_INF or any(body):
            raise PointError(f"{what}: malformed infinity encoding")
        return check_g2(None, allow_infinity=allow_infinity)
    x = (_read_be(body[32:], what), _read_be(body[:32], what))
    y = fq2_sqrt(f2_add(f2_mul(f2_mul(x, x), x), G2_B))
    if y is None:
        raise PointError(f"{what}: x is not the x-coordinate of a twist-curve point")
    if _larger_fq2(y) != bool(flags & _FLAG_LARGE_Y):
        y = ((-y[0]) % Q, (-y[1]) % Q)
    return check_g2((x, y), what=what)


# ---- snarkjs little-endian Montgomery -----------------------------------------------------


def _le_mont(v: int) -> bytes:
    return (v * _MONT % Q).to_bytes(32, "little")


def _read_le_mont(data: bytes, what: str) -> int:
    v = int.from_bytes(data, "little")
    if v >= Q:
        raise PointError(f"{what}: Montgomery coordinate is not below q")
    return v * _MONT_INV % Q


def g1_to_snarkjs_bytes(p: G1Point) -> bytes:
    """64 bytes: x, y little-endian Montgomery (infinity = zeros)."""
    return bytes(64) if p is None else _le_mont(p[0]) + _le_mont(p[1])


def g1_from_snarkjs_bytes(data: bytes, *, allow_infinity: bool = True, what: str = "G1 point") -> G1Point:
    _expect_len(data, 64, what)
    if not any(data):
        return check_g1(None, allow_infinity=allow_infinity, what=what)
    return check_g1((_read_le_mont(data[:32], what), _read_le_mont(data[32:], what)), what=what)


def g2_to_snarkjs_bytes(p: G2Point) -> bytes:
    """128 bytes: x.c0, x.c1, y.c0, y.c1 little-endian Montgomery (infinity = zeros)."""
    if p is None:
        return bytes(128)
    (x0, x1), (y0, y1) = p
    return _le_mont(x0) + _le_mont(x1) + _le_mont(y0) + _le_mont(y1)


def g2_from_snarkjs_bytes(data: bytes, *, allow_infinity: bool = True, what: str = "G2 point") -> G2Point:
    _expect_len(data, 128, what)
    if not any(data):
        return check_g2(None, allow_infinity=allow_infinity, what=what)
    x0, x1, y0, y1 = (_read_le_mont(data[32 * k:32 * k + 32], what) for k in range(4))
    return check_g2(((x0, x1), (y0, y1)), what=what)
