"""Point vectors as numpy arrays <-> Python points (pure Python and numpy, no kernels).

A G1 array is ``uint64[n, 2, 4]`` and a G2 array ``uint64[n, 2, 2, 4]``: affine coordinates,
little-endian 64-bit limbs, Montgomery form (x * 2^256 mod q), infinity as all zeros -- the
byte layout of snarkjs ``.zkey`` / ``.ptau`` sections.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from .constants import Q
from .points import G1Point, G2Point

_MONT_INV_Q = pow(1 << 256, -1, Q)


def _mont_bytes(v: int) -> bytes:
    return ((v << 256) % Q).to_bytes(32, "little")


def g1_array_from_points(points: Iterable[G1Point]) -> np.ndarray:
    """Python G1 points -> G1 array uint64[n, 2, 4] (affine, Montgomery, infinity = zeros)."""
    parts = []
    for p in points:
        parts.append(bytes(64) if p is None else _mont_bytes(p[0]) + _mont_bytes(p[1]))
    return np.frombuffer(b"".join(parts), dtype="<u8").reshape(len(parts), 2, 4).astype(np.uint64)


def g2_array_from_points(points: Iterable[G2Point]) -> np.ndarray:
    """Python G2 points -> G2 array uint64[n, 2, 2, 4] ([x, y][c0, c1][limbs])."""
    parts = []
    for p in points:
        if p is None:
            parts.append(bytes(128))
        else:
            (x0, x1), (y0, y1) = p
            parts.append(_mont_bytes(x0) + _mont_bytes(x1) + _mont_bytes(y0) + _mont_bytes(y1))
    return np.frombuffer(b"".join(parts), dtype="<u8").reshape(len(parts), 2, 2, 4).astype(np.uint64)


def _coords(arr: np.ndarray, words: int) -> list[list[int]]:
    raw = np.ascontiguousarray(arr, dtype="<u8").tobytes()
    per = words * 8
    out = []
    for i in range(len(raw) // per):
        chunk = raw[i * per:(i + 1) * per]
        out.append([int.from_bytes(chunk[32 * k:32 * k + 32], "little") for k in range(words // 4)])
    return out


def g1_points_from_array(arr: np.ndarray) -> list[G1Point]:
    """G1 array -> Python points (Montgomery -> canonical; all-zero rows -> None)."""
    pts: list[G1Point] = []
    for x, y in _coords(arr.reshape(-1, 8), 8):
        pts.append(None if x == 0 and y == 0 else (x * _MONT_INV_Q % Q, y * _MONT_INV_Q % Q))
    return pts


def g2_points_from_array(arr: np.ndarray) -> list[G2Point]:
    """G2 array -> Python points."""
    pts: list[G2Point] = []
    for x0, x1, y0, y1 in _coords(arr.reshape(-1, 16), 16):
        if x0 == x1 == y0 == y1 == 0:
            pts.append(None)
        else:
            m = _MONT_INV_Q
            pts.append(((x0 * m % Q, x1 * m % Q), (y0 * m % Q, y1 * m % Q)))
    return pts


def limbs_below(words: np.ndarray, bound: int) -> np.ndarray:
    """Row mask of a uint64[n, 4] limb array: value < bound (vectorised, little-endian limbs)."""
    limbs = [(bound >> (64 * i)) & 0xFFFFFFFFFFFFFFFF for i in range(4)]
    lt = np.zeros(words.shape[0], dtype=bool)
    eq = np.ones(words.shape[0], dtype=bool)
    for i in (3, 2, 1, 0):
        lt |= eq & (words[:, i] < np.uint64(limbs[i]))
        eq &= words[:, i] == np.uint64(limbs[i])
    return lt


def ints_to_array(values: Iterable[int], modulus: int | None = None) -> np.ndarray:
    """Python ints -> (n, 4) uint64 canonical limbs.  With ``modulus``, values are reduced."""
    vals = [int(v) % modulus if modulus is not None else int(v) for v in values]
    for v in vals:
        if v < 0 or v >= 1 << 256:
            raise ValueError("field element out of range for 256-bit limbs")
    buf = b"".join(v.to_bytes(32, "little") for v in vals)
    return np.frombuffer(buf, dtype="<u8").reshape(len(vals), 4).astype(np.uint64)


def array_to_ints(arr: np.ndarray) -> list[int]:
    """(n, 4) uint64 limbs -> Python ints (no reduction, no Montgomery conversion)."""
    a = np.ascontiguousarray(arr, dtype="<u8").reshape(-1, 4)
    raw = a.tobytes()
    return [int.from_bytes(raw[32 * i: 32 * i + 32], "little") for i in range(a.shape[0])]


__all__ = ["ints_to_array", "array_to_ints", "g1_array_from_points", "g2_array_from_points", "g1_points_from_array",
           "g2_points_from_array", "limbs_below"]
