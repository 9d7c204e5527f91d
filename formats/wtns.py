"""Witness files (``.wtns``, version 2) as written by circom's witness calculator and snarkjs.

Layout (iden3 container, see :mod:`zkmargin.formats.binfile`; integers little-endian)::

    magic "wtns", version 2, 2 sections
    section 1 (header):  u32 n8 (= 32)  prime[n8]  u32 n_witness
    section 2 (values):  n_witness x value[n8], canonical (not Montgomery), each < r

The witness is given either as a list of Python ints (the builder's form) or as a numpy array of
shape ``(n, 4)``, dtype ``uint64``: the four little-endian 64-bit limbs of each canonical value.
The limb array is exactly the bytes of section 2, so reading it is one ``np.frombuffer`` -- the
form the Groth16 prover consumes.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path
from typing import Sequence, Union

import numpy as np

from zkmargin.algebra.arrays import array_to_ints, limbs_below
from zkmargin.algebra.constants import R
from zkmargin.formats.binfile import FormatError, Reader, build_binfile, section_table

__all__ = [
    "WTNS_VERSION", "N8", "ints_to_limbs", "limbs_to_ints", "limbs_below_r",
    "wtns_to_bytes", "write_wtns", "parse_wtns", "parse_wtns_limbs", "read_wtns", "read_wtns_limbs",
]

WTNS_VERSION = 2
#: bytes per field element
N8 = 32

#: r as four little-endian uint64 limbs
R_LIMBS = np.array([(R >> (64 * i)) & (2**64 - 1) for i in range(4)], dtype=np.uint64)

WitnessLike = Union[Sequence[int], np.ndarray]


def ints_to_limbs(values: Sequence[int]) -> np.ndarray:
    """Canonical ints in ``[0, r)`` -> ``(n, 4)`` uint64 little-endian limbs.  Raises on out-of-range."""
    try:
        raw = b"".join(int(v).to_bytes(N8, "little") for v in values)
    except OverflowError as e:
        raise ValueError("witness value does not fit in 32 bytes (negative or >= 2^256)") from e
    arr = np.frombuffer(raw, dtype="<u8").reshape(-1, 4)
    if not limbs_below_r(arr).all():
        raise ValueError("witness value >= r (values must be canonical)")
    return arr


def limbs_to_ints(arr: np.ndarray) -> list[int]:
    """``(n, 4)`` little-endian uint64 limbs -> list of Python ints."""
    return array_to_ints(arr)


def limbs_below_r(arr: np.ndarray) -> np.ndarray:
    """Boolean mask: which rows of an ``(n, 4)`` limb array encode a value ``< r``."""
    return limbs_below(np.asarray(arr, dtype=np.uint64), R)


def _as_limbs(witness: WitnessLike) -> np.ndarray:
    if isinstance(witness, np.ndarray):
        if witness.ndim != 2 or witness.shape[1] != 4:
            raise ValueError(f"limb array must have shape (n, 4), got {witness.shape}")
        arr = np.ascontiguousarray(witness, dtype="<u8")
        if not limbs_below_r(arr).all():
            raise ValueError("witness value >= r (values must be canonical)")
        return arr
    return ints_to_limbs(witness)


def wtns_to_bytes(witness: WitnessLike) -> bytes:
    """Serialise a witness (ints or limb array) as a version-2 ``.wtns`` file."""
    arr = _as_limbs(witness)
    header = struct.pack("<I", N8) + R.to_bytes(N8, "little") + struct.pack("<I", arr.shape[0])
    return build_binfile(b"wtns", WTNS_VERSION, [(1, header), (2, arr.tobytes())])


def write_wtns(witness: WitnessLike, path: str | Path) -> None:
    Path(path).write_bytes(wtns_to_bytes(witness))


def read_field_header(h: Reader, what: str) -> None:
    """The field part of a .wtns / .r1cs header: element size (must be 32 bytes), then the
    prime (must be BN254's r).  FormatError, prefixed with ``what``, otherwise."""
    n8 = h.u32()
    if n8 != N8:
        raise FormatError(f"{what}: field element size {n8} bytes, expected {N8}")
    if h.bigint(n8) != R:
        raise FormatError(f"{what}: prime is not the BN254 scalar field r")


def _values_span(data) -> tuple[int, int]:
    """(n, offset of the values) of the ``.wtns`` container in ``data`` (bytes or a memory
    map; only the section headers and section 1 are read), everything but the values checked."""
    table = section_table(data, b"wtns", max_version=WTNS_VERSION)
    if table.version != WTNS_VERSION:
        raise FormatError(f"wtns file: version {table.version} unsupported (need {WTNS_VERSION})")
    h_off, h_size = table.span(1, name="header")
    h = Reader(bytes(data[h_off:h_off + h_size]), "wtns header")
    read_field_header(h, "wtns file")
    n = h.u32()
    h.expect_end()
    off, size = table.span(2, name="values")
    if size != n * N8:
        raise FormatError(f"wtns file: header declares {n} values ({n * N8} bytes) "
                          f"but the values section has {size} bytes")
    if n == 0:
        raise FormatError("wtns file: empty witness (wire 0 must be the constant 1)")
    return n, off


def _checked_limbs(arr: np.ndarray) -> np.ndarray:
    """``arr`` (n, 4) made read-only, after checking every value is < r and wire 0 is 1."""
    ok = limbs_below_r(arr)
    if not ok.all():
        raise FormatError(f"wtns file: value #{int(np.argmin(ok))} is not canonical (>= r)")
    if tuple(arr[0]) != (1, 0, 0, 0):
        raise FormatError("wtns file: wire 0 must be the constant 1")
    arr.flags.writeable = False
    return arr


def parse_wtns_limbs(data: bytes) -> np.ndarray:
    """Parse ``.wtns`` bytes into a read-only ``(n, 4)`` uint64 limb array (validated < r)."""
    n, off = _values_span(data)
    return _checked_limbs(np.frombuffer(data, dtype="<u8", count=4 * n, offset=off).reshape(n, 4).copy())


def parse_wtns(data: bytes) -> list[int]:
    """Parse ``.wtns`` bytes into a list of Python ints."""
    return limbs_to_ints(parse_wtns_limbs(data))


def read_wtns(path: str | Path) -> list[int]:
    return parse_wtns(Path(path).read_bytes())


def read_wtns_limbs(path: str | Path) -> np.ndarray:
    """The ``.wtns`` at ``path`` as :func:`parse_wtns_limbs` gives it, its values read
    straight from the file into one aligned array (the file is never held in memory: the
    container is checked through a memory map of which only the first page is touched)."""
    with open(path, "rb") as f:
        try:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):          # empty, not a regular file, cannot map
            return parse_wtns_limbs(f.read())
        with mm:
            n, off = _values_span(mm)
        arr = np.empty((n, 4), dtype=np.uint64)
        f.seek(off)
        if f.readinto(memoryview(arr).cast("B")) != arr.nbytes:
            raise FormatError(f"wtns file {path}: the file got shorter while it was read")
    return _checked_limbs(arr)
