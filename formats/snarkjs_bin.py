"""Pieces shared by snarkjs' ``.ptau`` and ``.zkey`` files: point vectors in sections.

Points are stored uncompressed, affine, in Montgomery form with 64-bit little-endian limbs
(G1: x, y -- 64 bytes; G2: x.c0, x.c1, y.c0, y.c1 -- 128 bytes), infinity as all zeros.
Reading checks, unless told not to, that every coordinate is reduced (< q) and every point
lies on its curve; a :class:`FormatError` names the first bad point.

No numba here: single points are checked in Python, vectors with the prover's kernel set
(:mod:`zkmargin.algebra.kernel_set`), so a prover process that reads a key stays light.
"""

from __future__ import annotations

import struct
from typing import Optional

import numpy as np

from zkmargin.algebra.arrays import (
    g1_array_from_points,
    g1_points_from_array,
    g2_array_from_points,
    g2_points_from_array,
    limbs_below,
)
from zkmargin.algebra.constants import Q
from zkmargin.algebra.points import g1_is_on_curve, g2_is_on_curve
from zkmargin.formats.binfile import FormatError, Reader

#: Largest supported power: F_r has 2-adicity 28 (snarkjs' limit too).
MAX_POWER = 28
G1_BYTES = 64
G2_BYTES = 128
N8 = 32

#: Below this many points a vector is checked in Python (no kernels needed).
_PY_CHECK_MAX = 16


#: group -> (coordinates (F_q words) per point, array -> points, on-curve test, kernel name)
_GROUPS = {
    "G1": (2, g1_points_from_array, g1_is_on_curve, "g1_first_off_curve"),
    "G2": (4, g2_points_from_array, g2_is_on_curve, "g2_first_off_curve"),
}


def _check_points(arr: np.ndarray, what: str, group: str) -> None:
    words_per_point, to_points, on_curve, kernel = _GROUPS[group]
    words = np.ascontiguousarray(arr, dtype=np.uint64).reshape(-1, 4)
    ok = limbs_below(words, Q)
    if not ok.all():
        raise FormatError(f"{what}: point {int(np.argmin(ok)) // words_per_point} has a coordinate >= q")
    if arr.shape[0] <= _PY_CHECK_MAX:
        bad = next((i for i, p in enumerate(to_points(arr)) if not on_curve(p)), -1)
    else:
        from zkmargin.algebra.kernel_set import kernel_set

        bad = getattr(kernel_set(), kernel)(arr)
    if bad >= 0:
        raise FormatError(f"{what}: point {bad} is not on the {group} curve")


def check_g1_array(arr: np.ndarray, what: str) -> None:
    """Reject coordinates >= q and points off the curve (FormatError naming the point)."""
    _check_points(arr, what, "G1")


def check_g2_array(arr: np.ndarray, what: str) -> None:
    _check_points(arr, what, "G2")


def _words(data, shape: tuple[int, ...], copy: bool) -> np.ndarray:
    """``data`` as uint64 limbs of ``shape``: a private copy, or (``copy=False``) a view that
    keeps ``data`` (bytes, a memory map) alive and is as writable as it."""
    return np.frombuffer(data, dtype="<u8").reshape(shape).astype(np.uint64, copy=copy)


def g1_array_from_section(data: bytes, n: int, what: str, *, check: bool = True,
                          copy: bool = True) -> np.ndarray:
    """The section's ``n`` G1 points as uint64[n, 2, 4] (size checked; curve checks unless
    ``check=False``); ``copy=False`` returns a view of ``data`` instead of a copy."""
    if len(data) != n * G1_BYTES:
        raise FormatError(f"{what}: {len(data)} bytes, expected {n} G1 points ({n * G1_BYTES} bytes)")
    arr = _words(data, (n, 2, 4), copy)
    if check:
        check_g1_array(arr, what)
    return arr


def g2_array_from_section(data: bytes, n: int, what: str, *, check: bool = True,
                          copy: bool = True) -> np.ndarray:
    """The section's ``n`` G2 points as uint64[n, 2, 2, 4]; as :func:`g1_array_from_section`."""
    if len(data) != n * G2_BYTES:
        raise FormatError(f"{what}: {len(data)} bytes, expected {n} G2 points ({n * G2_BYTES} bytes)")
    arr = _words(data, (n, 2, 2, 4), copy)
    if check:
        check_g2_array(arr, what)
    return arr


def read_g1_point(r: Reader, what: str):
    return g1_points_from_array(g1_array_from_section(r.take(G1_BYTES), 1, what))[0]


def read_g2_point(r: Reader, what: str):
    return g2_points_from_array(g2_array_from_section(r.take(G2_BYTES), 1, what))[0]


def g1_point_bytes(p) -> bytes:
    return g1_array_from_points([p]).astype("<u8").tobytes()


def g2_point_bytes(p) -> bytes:
    return g2_array_from_points([p]).astype("<u8").tobytes()


def params_bytes(name: Optional[str], type_: int, num_iterations_exp: Optional[int],
                 beacon_hash: Optional[bytes]) -> bytes:
    """A contribution's sorted type-tagged parameter list (1 name, 2 iterations, 3 beacon)."""
    body = b""
    if name:
        nb_ = name.encode("utf-8")[:64]
        body += bytes([1, len(nb_)]) + nb_
    if type_ == 1:
        body += bytes([2, num_iterations_exp or 0, 3, len(beacon_hash or b"")]) + (beacon_hash or b"")
    return struct.pack("<I", len(body)) + body


def parse_params(r: Reader, what: str) -> dict:
    """The sorted type-tagged parameter list of a contribution (1 name, 2 iterations, 3 beacon)."""
    length = r.u32()
    body = Reader(r.take(length), what + " parameters")
    out: dict = {}
    last = 0
    while body.remaining():
        kind = body.take(1)[0]
        if kind <= last:
            raise FormatError(f"{what}: parameters not sorted / repeated")
        last = kind
        if kind == 1:
            out["name"] = body.take(body.take(1)[0]).decode("utf-8", errors="replace")
        elif kind == 2:
            out["num_iterations_exp"] = body.take(1)[0]
        elif kind == 3:
            out["beacon_hash"] = body.take(body.take(1)[0])
        else:
            raise FormatError(f"{what}: unknown parameter type {kind}")
    return out


def read_contribution_kind(r: Reader, what: str) -> tuple[int, dict]:
    """The type (0 ordinary, 1 beacon) and parameters that end every ptau and zkey
    contribution record; a beacon must carry its hash and iteration count."""
    type_ = r.u32()
    params = parse_params(r, what)
    if type_ not in (0, 1):
        raise FormatError(f"{what}: unknown contribution type {type_}")
    if type_ == 1 and ("beacon_hash" not in params or "num_iterations_exp" not in params):
        raise FormatError(f"{what}: beacon contribution without beacon parameters")
    return type_, params


__all__ = ["MAX_POWER", "G1_BYTES", "G2_BYTES", "N8", "check_g1_array", "check_g2_array",
           "g1_array_from_section", "g2_array_from_section", "read_g1_point", "read_g2_point",
           "g1_point_bytes", "g2_point_bytes", "params_bytes", "parse_params", "read_contribution_kind"]
