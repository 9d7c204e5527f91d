"""Groth16 proving keys in snarkjs' ``.zkey`` format (protocol 1), read and written.

Sections (iden3 container, magic ``zkey``, version 1; see docs/INTEROP.md)::

    1  u32 protocol (1 = Groth16)
    2  n8q q n8r r  u32 nVars  u32 nPublic  u32 domainSize  alpha1 beta1 beta2 gamma2 delta1 delta2
    3  IC: nPublic + 1 G1                       5  A: nVars G1     6  B: nVars G1
    4  u32 n, n x (u32 matrix, u32 constraint, u32 signal, Fr value * R^2 mod r)   (A and B only)
    7  B: nVars G2     8  C: nVars - nPublic - 1 G1 (over delta)     9  H: domainSize G1 (over delta)
    10 MPC: csHash[64], u32 n, n contribution records

Points are affine, coordinates little-endian Montgomery (``x * 2^256 mod q``), infinity
(0, 0) -- the very layout of the :class:`ProvingKey` arrays, so point sections need no
conversion: :func:`read_zkey` memory-maps the file and uses each 8-byte-aligned point section
in place (``np.frombuffer(map, ...).reshape(n, 2, 4)``; pages come in when the prover touches
them), reading only the misaligned ones (see :class:`MappedZkey`, also for a file rewritten
while in use); :func:`parse_zkey` copies them out of bytes.  Every size is derived from the
header and checked before anything is allocated; coordinates must be reduced and on the curve,
section-4 indices in range (docs/PITFALLS.md #15).  We write sections in the order snarkjs does -- 1, 2, 4, 3, 9, 8,
5, 6, 7, 10 for an initial key (``groth16 setup``), 1..10 once contributed (``zkey
contribute``) -- and section 4 grouped by constraint, A before B, so a key read from snarkjs and
written back is byte-identical.
"""

from __future__ import annotations

import mmap
import os
import stat
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Optional

import numpy as np

from zkmargin.algebra import Q, R, g1_array_from_points, g1_points_from_array, g2_array_from_points
from zkmargin.algebra.kernel_set import kernel_set
from zkmargin.algebra.pairing_py import g2_in_subgroup_fast
from zkmargin.formats.binfile import FormatError, Reader, SectionTable, build_binfile, section_table

from .data_structures import ProvingKey, SparseMatrix, VerifyingKey
from .snarkjs_bin import (
    G1_BYTES,
    G2_BYTES,
    MAX_POWER,
    N8,
    g1_array_from_section,
    g2_array_from_section,
    params_bytes,
    read_contribution_kind,
    read_g1_point,
    read_g2_point,
)

__all__ = ["parse_zkey", "zkey_to_bytes", "read_zkey", "map_zkey", "MappedZkey", "ZkeyChangedError",
           "write_zkey", "verifying_key",
           "MpcParams", "Phase2Contribution", "parse_mpc_params", "mpc_params_to_bytes", "mpc_params",
           "FormatError", "GROTH16_PROTOCOL"]

GROTH16_PROTOCOL = 1
_COEF_DTYPE = np.dtype([("matrix", "<u4"), ("constraint", "<u4"), ("signal", "<u4"), ("value", "<u8", (4,))])


# ---- section 10: the phase-2 (MPC) transcript -------------------------------------------------


@dataclass
class Phase2Contribution:
    """One phase-2 contribution record: delta after it, the proof of knowledge of the factor
    (g1_s, g1_sx = x g1_s, g2_spx = x H(transcript)), and the transcript hash."""

    delta_after: object
    g1_s: object
    g1_sx: object
    g2_spx: object
    transcript: bytes
    type: int = 0                     #: 0 = random, 1 = beacon
    name: Optional[str] = None
    num_iterations_exp: Optional[int] = None
    beacon_hash: Optional[bytes] = None


@dataclass
class MpcParams:
    """Section 10: the circuit hash (of the delta = 1 key) and the contribution records."""

    cs_hash: bytes
    contributions: list[Phase2Contribution] = field(default_factory=list)


def parse_mpc_params(data: bytes) -> MpcParams:
    r = Reader(data, "zkey MPC section")
    cs_hash = r.take(64)
    n = r.u32()
    min_size = 3 * G1_BYTES + G2_BYTES + 64 + 8
    if n * min_size > r.remaining():
        raise FormatError(f"zkey MPC section: {n} contributions declared, {r.remaining()} bytes left")
    out = []
    for i in range(n):
        what = f"zkey contribution #{i + 1}"
        delta_after = read_g1_point(r, what)
        g1_s = read_g1_point(r, what)
        g1_sx = read_g1_point(r, what)
        g2_spx = read_g2_point(r, what)
        transcript = r.take(64)
        type_, params = read_contribution_kind(r, what)
        out.append(Phase2Contribution(delta_after, g1_s, g1_sx, g2_spx, transcript, type_,
                                      params.get("name"), params.get("num_iterations_exp"),
                                      params.get("beacon_hash")))
    r.expect_end()
    return MpcParams(cs_hash, out)


def mpc_params_to_bytes(mpc: MpcParams) -> bytes:
    parts = [mpc.cs_hash, struct.pack("<I", len(mpc.contributions))]
    for c in mpc.contributions:
        parts += [_g1_bytes(c.delta_after), _g1_bytes(c.g1_s), _g1_bytes(c.g1_sx), _g2_bytes(c.g2_spx),
                  c.transcript, struct.pack("<I", c.type),
                  params_bytes(c.name, c.type, c.num_iterations_exp, c.beacon_hash)]
    return b"".join(parts)


def _g1_bytes(p) -> bytes:
    return g1_array_from_points([p]).astype("<u8").tobytes()


def _g2_bytes(p) -> bytes:
    return g2_array_from_points([p]).astype("<u8").tobytes()


# ---- coefficients (section 4) -----------------------------------------------------------------


def _from_r2(values: np.ndarray) -> np.ndarray:
    """Stored coef * R^2 mod r -> canonical coef (two Montgomery reductions)."""
    ks = kernel_set()
    return ks.from_mont(ks.from_mont(values))


def _to_r2(values: np.ndarray) -> np.ndarray:
    ks = kernel_set()
    return ks.to_mont(ks.to_mont(values))


class CoefficientRecords:
    """Section 4 of a .zkey as stored: ``records`` is uint32[nnz, 11], one row per entry
    (matrix 0 = A or 1 = B, constraint, signal, then value * R^2 mod r as eight little-endian
    32-bit words), checked when the key is read.  The prover reads the records as they are
    (:meth:`KernelSet.records_matvec`); the canonical A and B matrices are made from them only
    when something asks for them (writing a key, contributing to it), once."""

    def __init__(self, records: np.ndarray):
        self.records = records
        self._matrices: Optional[tuple[SparseMatrix, SparseMatrix]] = None

    def matrices(self) -> tuple[SparseMatrix, SparseMatrix]:
        """(A, B) with canonical values (made on first call, then kept)."""
        if self._matrices is None:
            rec = self.records
            stored = np.ascontiguousarray(rec[:, 3:]).view(np.uint64)     # (nnz, 4) limbs
            values = _from_r2(stored) if len(stored) else stored
            out = []
            for m in (0, 1):
                sel = rec[:, 0] == m
                out.append(SparseMatrix(rec[sel, 1].astype(np.int64), rec[sel, 2].astype(np.int64),
                                        np.ascontiguousarray(values[sel])))
            self._matrices = (out[0], out[1])
        return self._matrices


class StoredMatrix(SparseMatrix):
    """Matrix A (``matrix`` 0) or B (1) of a key read from a file: a :class:`SparseMatrix`
    whose arrays come from the key's :class:`CoefficientRecords` on first use, so a prover,
    which reads the records directly, never makes them."""

    def __init__(self, source: CoefficientRecords, matrix: int):   # no dataclass fields set
        self.source = source
        self.matrix = matrix

    @property
    def constraint(self) -> np.ndarray:  # type: ignore[override]
        return self.source.matrices()[self.matrix].constraint

    @property
    def signal(self) -> np.ndarray:  # type: ignore[override]
        return self.source.matrices()[self.matrix].signal

    @property
    def value(self) -> np.ndarray:  # type: ignore[override]
        return self.source.matrices()[self.matrix].value


def stored_records(pk: ProvingKey) -> Optional[np.ndarray]:
    """The section-4 records behind ``pk``'s A and B when both come from one
    :class:`CoefficientRecords` (a key read from a file), else None."""
    a, b = pk.a_matrix, pk.b_matrix
    if (isinstance(a, StoredMatrix) and isinstance(b, StoredMatrix) and a.source is b.source
            and (a.matrix, b.matrix) == (0, 1)):
        return a.source.records
    return None


_RECORD_WORDS = _COEF_DTYPE.itemsize // 4      # 11 uint32 words per record


def _parse_coefficients(data, n_vars: int, domain_size: int, n_public: int, *,
                        copy: bool) -> tuple[SparseMatrix, SparseMatrix, int]:
    """Section 4 -> the A and B matrices (:class:`StoredMatrix`: the records are checked
    here, converted only on demand) and the number of R1CS constraints read back from its
    tail.  The records view ``data`` (a memory map) unless ``copy``."""
    r = Reader(data, "zkey coefficients")
    n = r.u32()
    if len(data) != 4 + n * _COEF_DTYPE.itemsize:
        raise FormatError(f"zkey coefficients: {n} entries need {4 + n * _COEF_DTYPE.itemsize} bytes, "
                          f"section has {len(data)}")
    rec = np.frombuffer(data, dtype="<u4", offset=4, count=n * _RECORD_WORDS).reshape(n, _RECORD_WORDS)
    if copy or not rec.flags.aligned:
        rec = rec.copy()
    bad = kernel_set().records_first_bad(rec, n_vars, domain_size)
    if bad >= 0:
        raise FormatError(f"zkey coefficients: {_record_fault(rec[bad], n_vars, domain_size)}")
    source = CoefficientRecords(rec)
    return StoredMatrix(source, 0), StoredMatrix(source, 1), _infer_n_constraints(rec, n_public)


def _record_fault(row: np.ndarray, n_vars: int, domain_size: int) -> str:
    """What is wrong with one section-4 record (one that failed the kernel's check)."""
    if row[0] > 1:
        return "matrix id other than 0 (A) or 1 (B)"
    if row[1] >= domain_size:
        return "constraint index outside the domain"
    if row[2] >= n_vars:
        return "signal index >= nVars"
    return "value not reduced mod r"


def _infer_n_constraints(rec: np.ndarray, n_public: int) -> int:
    """snarkjs appends the nPublic+1 rows ``A[nC + s][s] = 1`` last: read nC back from them."""
    k = n_public + 1
    if rec.shape[0] < k:
        return 0
    tail = rec[-k:]
    n_c = int(tail[0, 1])
    if (np.all(tail[:, 0] == 0) and np.array_equal(tail[:, 2], np.arange(k))
            and np.array_equal(tail[:, 1], n_c + np.arange(k))):
        return n_c
    return 0


def _coefficients_bytes(pk: ProvingKey) -> bytes:
    a, b = pk.a_matrix, pk.b_matrix
    n_a, n_b = len(a.constraint), len(b.constraint)
    rec = np.zeros(n_a + n_b, dtype=_COEF_DTYPE)
    rec["matrix"][n_a:] = 1
    rec["constraint"] = np.concatenate([a.constraint, b.constraint]).astype(np.uint32)
    rec["signal"] = np.concatenate([a.signal, b.signal]).astype(np.uint32)
    vals = np.concatenate([np.asarray(a.value, dtype=np.uint64).reshape(-1, 4),
                           np.asarray(b.value, dtype=np.uint64).reshape(-1, 4)])
    rec["value"] = _to_r2(np.ascontiguousarray(vals)) if len(vals) else vals
    order = np.lexsort((rec["matrix"], rec["constraint"]))  # stable: file order within a group
    return struct.pack("<I", len(rec)) + rec[order].tobytes()


# ---- the whole file -------------------------------------------------------------------------


class _Sections:
    """Where :func:`_parse_key` takes a key's sections from: ``raw`` copies a small section out,
    ``region`` gives a large one as a buffer, and point arrays are copied out of it when
    ``copy_points``.  (Plain classes: a dataclass or Protocol costs every prover's start.)"""

    copy_points = True

    def __init__(self, table: SectionTable):
        self.table = table

    def raw(self, kind: int, name: str) -> bytes:
        raise NotImplementedError

    def region(self, kind: int, name: str) -> memoryview:
        """Section ``kind`` as a buffer (arrays made from it view it unless ``copy_points``)."""
        raise NotImplementedError


class _BytesSections(_Sections):
    """Sections of a key held in memory: point arrays are copied out of ``data`` (so they are
    writable and do not pin a caller's buffer)."""

    def __init__(self, data: bytes, table: SectionTable):
        super().__init__(table)
        self.data = data

    def raw(self, kind: int, name: str) -> bytes:
        off, size = self.table.span(kind, name=name)
        return bytes(self.data[off:off + size])

    def region(self, kind: int, name: str) -> memoryview:
        off, size = self.table.span(kind, name=name)
        return memoryview(self.data)[off:off + size]


def parse_zkey(data: bytes, *, check_points: bool = True) -> ProvingKey:
    """Parse a Groth16 ``.zkey`` held in memory (point arrays are copies).  Raises
    :class:`FormatError` on anything malformed."""
    table = section_table(data, b"zkey", max_version=1)
    return _parse_key(_BytesSections(data, table), check_points=check_points)


def _read_header(src: _Sections) -> dict:
    """Sections 1 and 2: protocol, fields, sizes and the six fixed points, all checked."""
    p = Reader(src.raw(1, "protocol"), "zkey protocol")
    proto = p.u32()
    p.expect_end()
    if proto != GROTH16_PROTOCOL:
        raise FormatError(f"zkey: protocol {proto} is not Groth16 (1)")
    h = Reader(src.raw(2, "Groth16 header"), "zkey header")
    if h.u32() != N8 or h.bigint(N8) != Q:
        raise FormatError("zkey header: base field is not BN254's q")
    if h.u32() != N8 or h.bigint(N8) != R:
        raise FormatError("zkey header: scalar field is not BN254's r")
    n_vars, n_public, domain_size = h.u32(), h.u32(), h.u32()
    if not 1 <= n_public + 1 <= n_vars:
        raise FormatError(f"zkey header: nPublic {n_public} inconsistent with nVars {n_vars}")
    if domain_size < 1 or domain_size & (domain_size - 1) or domain_size > 2 ** MAX_POWER:
        raise FormatError(f"zkey header: domain size {domain_size} is not a power of two <= 2^{MAX_POWER}")
    if domain_size < n_public + 1:
        raise FormatError("zkey header: domain smaller than the public rows")
    what = "zkey header"
    out = {"n_vars": n_vars, "n_public": n_public, "domain_size": domain_size,
           "alpha_g1": read_g1_point(h, what), "beta_g1": read_g1_point(h, what),
           "beta_g2": read_g2_point(h, what), "gamma_g2": read_g2_point(h, what),
           "delta_g1": read_g1_point(h, what), "delta_g2": read_g2_point(h, what)}
    h.expect_end()
    for name in ("alpha_g1", "beta_g1", "delta_g1"):
        if out[name] is None:
            raise FormatError(f"zkey header: {name[:-3]}1 is the point at infinity")
    for name in ("beta_g2", "gamma_g2", "delta_g2"):
        if out[name] is None or not g2_in_subgroup_fast(out[name]):
            raise FormatError(f"zkey header: {name[:-3]}2 is not a non-zero point of the G2 subgroup")
    return out


def _parse_key(src: _Sections, *, check_points: bool) -> ProvingKey:
    """The whole key from ``src``: header first, then every vector section's size (fixed by the
    header) before its points are looked at, then the coefficients and the MPC record."""
    head = _read_header(src)
    n_vars, n_public, domain_size = head["n_vars"], head["n_public"], head["domain_size"]

    def g1(kind: int, n: int, nm: str) -> np.ndarray:
        return g1_array_from_section(src.region(kind, nm), n, f"zkey {nm}", check=check_points,
                                     copy=src.copy_points)

    ic = g1(3, n_public + 1, "IC")
    a_g1 = g1(5, n_vars, "A")
    b_g1 = g1(6, n_vars, "B1")
    b_g2 = g2_array_from_section(src.region(7, "B2"), n_vars, "zkey B2", check=check_points,
                                 copy=src.copy_points)
    c_g1 = g1(8, n_vars - n_public - 1, "C")
    h_g1 = g1(9, domain_size, "H")
    a_m, b_m, n_constraints = _parse_coefficients(src.region(4, "coefficients"), n_vars, domain_size,
                                                  n_public, copy=src.copy_points)
    contributions = b""
    if src.table.has(10):
        contributions = src.raw(10, "MPC")
        parse_mpc_params(contributions)  # validate
    return ProvingKey(**head, ic=ic, a_g1=a_g1, b_g1=b_g1, b_g2=b_g2, c_g1=c_g1, h_g1=h_g1,
                      a_matrix=a_m, b_matrix=b_m, n_constraints=n_constraints,
                      contributions=contributions)


def _header_bytes(pk: ProvingKey) -> bytes:
    return (struct.pack("<I", N8) + Q.to_bytes(N8, "little") + struct.pack("<I", N8)
            + R.to_bytes(N8, "little") + struct.pack("<III", pk.n_vars, pk.n_public, pk.domain_size)
            + _g1_bytes(pk.alpha_g1) + _g1_bytes(pk.beta_g1) + _g2_bytes(pk.beta_g2)
            + _g2_bytes(pk.gamma_g2) + _g1_bytes(pk.delta_g1) + _g2_bytes(pk.delta_g2))


def _check_shapes(pk: ProvingKey) -> None:
    expect = {"ic": (pk.ic, (pk.n_public + 1, 2, 4)), "a_g1": (pk.a_g1, (pk.n_vars, 2, 4)),
              "b_g1": (pk.b_g1, (pk.n_vars, 2, 4)), "b_g2": (pk.b_g2, (pk.n_vars, 2, 2, 4)),
              "c_g1": (pk.c_g1, (pk.n_vars - pk.n_public - 1, 2, 4)),
              "h_g1": (pk.h_g1, (pk.domain_size, 2, 4))}
    for name, (arr, shape) in expect.items():
        if tuple(arr.shape) != shape:
            raise ValueError(f"ProvingKey.{name} has shape {arr.shape}, expected {shape}")


def zkey_to_bytes(pk: ProvingKey) -> bytes:
    """Serialise (section order and section-4 order as snarkjs writes them)."""
    _check_shapes(pk)
    b = lambda a: np.ascontiguousarray(a, dtype="<u8").tobytes()  # noqa: E731
    body = {1: struct.pack("<I", GROTH16_PROTOCOL), 2: _header_bytes(pk), 3: b(pk.ic),
            4: _coefficients_bytes(pk), 5: b(pk.a_g1), 6: b(pk.b_g1), 7: b(pk.b_g2),
            8: b(pk.c_g1), 9: b(pk.h_g1)}
    if pk.contributions:
        body[10] = pk.contributions
    # snarkjs' `groth16 setup` writes 1 2 4 3 9 8 5 6 7 10; `zkey contribute` writes 1..10
    order = [1, 2, 4, 3, 9, 8, 5, 6, 7, 10] if pk.n_contributions == 0 else list(range(1, 11))
    return build_binfile(b"zkey", 1, [(k, body[k]) for k in order if k in body])


# ---- reading a key file by memory-mapping it ---------------------------------------------


class ZkeyChangedError(FormatError):
    """The .zkey was rewritten in place while a key mapped from it was in use."""


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


class _MappedSections(_Sections):
    """Sections of a key file mapped copy-on-write (``mmap.ACCESS_COPY``): every point section
    and the coefficients are used in place -- their pages are read from the page cache when
    the prover first touches them, and writing to an array never reaches the file.  A point
    section that starts 4 bytes off an 8-byte boundary (the container puts about half of them
    there) gives an array that is not aligned; the kernels copy such an array only while they
    use it (:mod:`zkmargin.algebra.kernel_set`).  The small header sections are copied out."""

    copy_points = False

    def __init__(self, mm: mmap.mmap, table: SectionTable):
        super().__init__(table)
        self.mm = mm

    def raw(self, kind: int, name: str) -> bytes:
        off, size = self.table.span(kind, name=name)
        return self.mm[off:off + size]

    def region(self, kind: int, name: str) -> memoryview:
        """A view of the map (nothing is read until it is touched)."""
        off, size = self.table.span(kind, name=name)
        return memoryview(self.mm)[off:off + size]


#: The section behind each part of a key that :meth:`MappedZkey.release` can drop.
_SECTION_OF = {"coefficients": 4, "ic": 3, "a_g1": 5, "b_g1": 6, "b_g2": 7, "c_g1": 8, "h_g1": 9}


class MappedZkey:
    """A proving key whose point arrays view a memory map of its ``.zkey`` (``key``).

    Opening checks everything :func:`parse_zkey` checks (container, header, every section's
    size, section-4 indices and values, the MPC record, and the points' coordinates and curve
    equations when ``check_points``); no point section and not the coefficients are copied or
    converted (the file's layout is the prover's).  A one-shot prover can hand each section's
    pages back once it is done with it (:meth:`release`).

    The file stays mapped as long as any of the key's arrays lives.  Replacing the file (a new
    file renamed over the path, which is how :func:`write_zkey` and most tools write) is safe:
    the map keeps the old file's data.  Rewriting it *in place* while the key is in use is not:
    changed bytes may be read (:meth:`check_unchanged` then raises :class:`ZkeyChangedError`,
    which ``groth16 prove`` does before it writes a proof), and a file truncated under the map
    ends the process with SIGBUS when the lost pages are touched.
    """

    def __init__(self, path: str | Path, *, check_points: bool = True):
        self.path = Path(path)
        with open(self.path, "rb") as f:
            st = os.fstat(f.fileno())
            self._identity = _identity(st)
            mm = _map(f, st)
            if mm is None:     # not a regular file, empty, or a file system that cannot map
                self.mapped = False
                self.key = parse_zkey(f.read(), check_points=check_points)
                return
            self.mapped = True
            table = section_table(mm, b"zkey", max_version=1)
            self.key = _parse_key(_MappedSections(mm, table), check_points=check_points)
            self._mm, self._table = mm, table
        self.check_unchanged()

    def release(self, part: str) -> None:
        """Drop this process's resident pages of the section behind ``part`` (a point array's
        field name, such as ``"b_g2"``, or ``"coefficients"``): they stop counting in its
        memory, and come back from the file (the page cache) if the key's arrays are touched
        again.  Changes written into those arrays through the copy-on-write map are lost, so
        call it only for parts nobody wrote to (the prover writes to none).  Does nothing for
        a key that is not mapped or where the system has no ``madvise``."""
        if not self.mapped or not hasattr(self._mm, "madvise") or not hasattr(mmap, "MADV_DONTNEED"):
            return
        off, size = self._table.span(_SECTION_OF[part], name=part)
        start = off - off % mmap.PAGESIZE
        end = min(len(self._mm), -(-(off + size) // mmap.PAGESIZE) * mmap.PAGESIZE)
        if end > start:
            self._mm.madvise(mmap.MADV_DONTNEED, start, end - start)

    def changed(self) -> bool:
        """True if the path names the same file as when it was opened but that file's size
        or modification time differs (it was rewritten in place).  A file replaced by rename
        is not "changed": the map still holds the old one, which the key was read from."""
        try:
            now = _identity(os.stat(self.path))
        except OSError:
            return False                        # removed: the map keeps the data
        if now[:2] != self._identity[:2]:
            return False
        return now != self._identity

    def check_unchanged(self) -> None:
        """Raise :class:`ZkeyChangedError` if the file was rewritten in place (see class doc)."""
        if self.mapped and self.changed():
            raise ZkeyChangedError(f"{self.path}: the file changed while it was in use "
                                   "(rewritten in place); nothing derived from it is trusted")


def _map(f: BinaryIO, st: os.stat_result) -> Optional[mmap.mmap]:
    """A copy-on-write map of the whole regular file ``f``, or None where none can be made."""
    if not stat.S_ISREG(st.st_mode) or st.st_size < 12:
        return None
    try:
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    except (OSError, ValueError):
        return None


def map_zkey(path: str | Path, *, check_points: bool = True) -> MappedZkey:
    """Open a ``.zkey`` for proving by memory-mapping it (see :class:`MappedZkey`)."""
    return MappedZkey(path, check_points=check_points)


def read_zkey(path: str | Path, *, check_points: bool = True) -> ProvingKey:
    """The proving key in the file at ``path``, validated as :func:`parse_zkey` validates it;
    its point arrays view a copy-on-write memory map of the file (see :class:`MappedZkey`
    for what that means if the file is rewritten while the key is in use)."""
    return MappedZkey(path, check_points=check_points).key


def write_zkey(pk: ProvingKey, path: str | Path) -> None:
    """Write ``pk`` to ``path`` through a temporary file renamed over it, so that a key
    mapped from the old file (:func:`read_zkey`) keeps reading the old, complete data."""
    path = Path(os.path.realpath(path))             # through a symlink, as a plain write would
    data = zkey_to_bytes(pk)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)   # mode: umask, as before
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def verifying_key(pk: ProvingKey) -> VerifyingKey:
    """The verifying key (alpha1, beta2, gamma2, delta2, IC) of a proving key."""
    return VerifyingKey(alpha_g1=pk.alpha_g1, beta_g2=pk.beta_g2, gamma_g2=pk.gamma_g2,
                        delta_g2=pk.delta_g2, ic=g1_points_from_array(pk.ic))


def mpc_params(pk: ProvingKey) -> MpcParams:
    """Section 10 of ``pk`` (FormatError if the key has none)."""
    if not pk.contributions:
        raise FormatError("zkey has no MPC section (10): it cannot be contributed to or verified")
    return parse_mpc_params(pk.contributions)

