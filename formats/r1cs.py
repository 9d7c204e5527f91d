"""The R1CS data object and the circom ``.r1cs`` file format (version 1).

An R1CS over F_r is ``n_constraints`` rows ``<A_i, w> * <B_i, w> = <C_i, w>`` on a witness ``w``
of ``n_wires`` values.  Wire order (circom's)::

    w[0] = 1 | public outputs (n_pub_out) | public inputs (n_pub_in) | private inputs (n_prv_in) | other

``public.json`` / the verifier's public inputs are ``w[1 : 1 + n_pub_out + n_pub_in]``.

In memory each constraint is a triple ``(A, B, C)`` of dicts ``{wire: coefficient}`` with
canonical coefficients in ``[0, r)`` -- simple to read and to check.  :meth:`R1CS.matrices`
gives the three matrices as sparse coordinate arrays for the setup and the prover.

File layout (iden3 container, integers little-endian; see iden3/r1csfile ``doc/``)::

    magic "r1cs", version 1
    section 1 header:      u32 n8 (32)  prime[n8]  u32 nWires  u32 nPubOut  u32 nPubIn
                           u32 nPrvIn  u64 nLabels  u32 nConstraints
    section 2 constraints: per constraint, A then B then C, each
                           u32 count, count x (u32 wireId, coeff[n8])
                           (we write terms sorted by wireId; circom does not always sort,
                           so the reader accepts any order and sums repeated wire ids)
    section 3 wire->label: nWires x u64 label id

Every reader check exists because the input is untrusted (docs/PITFALLS.md #15): sizes are checked
against the bytes actually present before anything is allocated, coefficients must be < r,
wire ids < nWires, label ids < nLabels.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from zkmargin.algebra.constants import R
from zkmargin.formats.binfile import FormatError, Reader, build_binfile, parse_binfile
from zkmargin.formats.wtns import N8, ints_to_limbs, limbs_to_ints, read_field_header

__all__ = ["R1CS", "LinComb", "SparseMatrix", "r1cs_to_bytes", "write_r1cs", "parse_r1cs",
           "read_r1cs", "R1CS_VERSION", "sym_text", "write_sym", "parse_sym", "read_sym"]

R1CS_VERSION = 1

#: A linear combination: wire id -> canonical coefficient.
LinComb = dict[int, int]


@dataclass
class SparseMatrix:
    """One of A, B, C in coordinate form: entry ``k`` is ``M[rows[k], cols[k]] = coeffs[k]``.

    ``rows``/``cols`` are int64; ``coeffs`` is an ``(nnz, 4)`` uint64 array of little-endian
    limbs of the canonical coefficient (same encoding as witness limbs).  Entries are ordered by
    row, then by column.
    """

    rows: np.ndarray
    cols: np.ndarray
    coeffs: np.ndarray
    shape: tuple[int, int]

    def coeff_ints(self) -> list[int]:
        return limbs_to_ints(self.coeffs)

    def dot(self, witness: Sequence[int]) -> list[int]:
        """``M · w`` (one value per row), with Python ints."""
        out = [0] * self.shape[0]
        for r_, c_, v in zip(self.rows.tolist(), self.cols.tolist(), self.coeff_ints()):
            out[r_] += v * witness[c_]
        return [x % R for x in out]


@dataclass
class R1CS:
    """A rank-1 constraint system in circom's wire order (see the module docstring)."""

    n_wires: int
    n_pub_out: int
    n_pub_in: int
    n_prv_in: int
    constraints: list[tuple[LinComb, LinComb, LinComb]]
    #: number of labels (circom: signals in the .sym file); defaults to n_wires
    n_labels: int | None = None
    #: section-3 map wire -> label id; defaults to the identity
    label_ids: list[int] | None = None
    #: human names of the wires (not stored in the file)
    wire_names: list[str] | None = None
    #: human names of the constraints (not stored in the file)
    constraint_names: list[str] | None = None
    prime: int = R

    @property
    def n_public(self) -> int:
        """Public wires excluding the constant: outputs then public inputs."""
        return self.n_pub_out + self.n_pub_in

    @property
    def n_constraints(self) -> int:
        return len(self.constraints)

    def public_signals(self, witness: Sequence[int]) -> list[int]:
        """The public values (``public.json`` order) of a witness."""
        return [int(v) for v in witness[1:1 + self.n_public]]

    def validate(self) -> None:
        """Structural checks; raises ValueError.  Called by the writer."""
        if self.prime != R:
            raise ValueError("only the BN254 scalar field is supported")
        if self.n_wires < 1 + self.n_pub_out + self.n_pub_in + self.n_prv_in:
            raise ValueError("n_wires smaller than 1 + outputs + public inputs + private inputs")
        for n, abc in enumerate(self.constraints):
            for lc in abc:
                for w, c in lc.items():
                    if not 0 <= w < self.n_wires:
                        raise ValueError(f"constraint {n}: wire {w} out of range")
                    if not 0 <= c < R:
                        raise ValueError(f"constraint {n}: coefficient not canonical")
        if self.label_ids is not None and len(self.label_ids) != self.n_wires:
            raise ValueError("label_ids must have one entry per wire")

    def check(self, witness: Sequence[int] | np.ndarray) -> list[int]:
        """Indices of the constraints that ``witness`` (ints or an (n, 4) limb array, wire
        order) violates."""
        if isinstance(witness, np.ndarray):
            witness = limbs_to_ints(witness)
        if len(witness) != self.n_wires:
            raise ValueError(f"witness has {len(witness)} values, R1CS has {self.n_wires} wires")
        w = witness
        bad = []
        for n, (a, b, c) in enumerate(self.constraints):
            va = sum(v * w[k] for k, v in a.items())
            vb = sum(v * w[k] for k, v in b.items())
            vc = sum(v * w[k] for k, v in c.items())
            if (va * vb - vc) % R:
                bad.append(n)
        return bad

    def is_satisfied(self, witness: Sequence[int]) -> bool:
        return not self.check(witness)

    def describe(self, index: int) -> str:
        """A readable name for constraint ``index``: its builder name when known, and the
        names of the wires it touches when ``wire_names`` is set (e.g. from a .sym file)."""
        text = f"#{index}"
        if self.constraint_names:
            text += f" '{self.constraint_names[index]}'"
        if self.wire_names:
            a, b, c = self.constraints[index]
            wires = sorted(set(a) | set(b) | set(c))
            text += " on " + ", ".join(self.wire_names[w] or f"wire {w}" for w in wires if w)
        return text

    def matrices(self) -> tuple[SparseMatrix, SparseMatrix, SparseMatrix]:
        """A, B, C as :class:`SparseMatrix` (shape n_constraints x n_wires)."""
        out = []
        shape = (len(self.constraints), self.n_wires)
        for m in range(3):
            rows: list[int] = []
            cols: list[int] = []
            vals: list[int] = []
            for n, abc in enumerate(self.constraints):
                lc = abc[m]
                for w in sorted(lc):
                    rows.append(n)
                    cols.append(w)
                    vals.append(lc[w])
            out.append(SparseMatrix(np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64),
                                    ints_to_limbs(vals) if vals else np.zeros((0, 4), np.uint64), shape))
        return out[0], out[1], out[2]


# ---------------------------------------------------------------------------------------------
# Writer
# ---------------------------------------------------------------------------------------------


def _lc_bytes(lc: LinComb, parts: list[bytes]) -> None:
    items = sorted(lc.items())
    parts.append(struct.pack("<I", len(items)))
    for w, c in items:
        parts.append(struct.pack("<I", w))
        parts.append(c.to_bytes(N8, "little"))


def r1cs_to_bytes(r1cs: R1CS) -> bytes:
    """Serialise as a circom ``.r1cs`` version-1 file (sections 1, 2, 3 in that order)."""
    r1cs.validate()
    n_labels = r1cs.n_wires if r1cs.n_labels is None else r1cs.n_labels
    labels = list(range(r1cs.n_wires)) if r1cs.label_ids is None else r1cs.label_ids
    if any(not 0 <= x < max(n_labels, 1) for x in labels):
        raise ValueError("label id out of range")
    header = (struct.pack("<I", N8) + R.to_bytes(N8, "little")
              + struct.pack("<IIIIQI", r1cs.n_wires, r1cs.n_pub_out, r1cs.n_pub_in, r1cs.n_prv_in,
                            n_labels, len(r1cs.constraints)))
    parts: list[bytes] = []
    for a, b, c in r1cs.constraints:
        _lc_bytes(a, parts)
        _lc_bytes(b, parts)
        _lc_bytes(c, parts)
    label_map = np.asarray(labels, dtype="<u8").tobytes()
    return build_binfile(b"r1cs", R1CS_VERSION, [(1, header), (2, b"".join(parts)), (3, label_map)])


def write_r1cs(r1cs: R1CS, path: str | Path) -> None:
    Path(path).write_bytes(r1cs_to_bytes(r1cs))


# ---------------------------------------------------------------------------------------------
# Reader
# ---------------------------------------------------------------------------------------------

_U32 = struct.Struct("<I")


def _parse_constraints(data: bytes, n_constraints: int, n_wires: int) -> list[tuple[LinComb, LinComb, LinComb]]:
    # every constraint takes at least 3 x u32 counts: reject impossible counts before allocating
    if n_constraints * 12 > len(data):
        raise FormatError(f"r1cs constraints: {n_constraints} constraints declared but the section "
                          f"has only {len(data)} bytes")
    mv = memoryview(data)
    end = len(data)
    pos = 0
    unpack = _U32.unpack_from
    out: list[tuple[LinComb, LinComb, LinComb]] = []
    for n in range(n_constraints):
        abc = []
        for part in "ABC":
            if pos + 4 > end:
                raise FormatError(f"r1cs constraints: truncated in constraint {n} ({part})")
            (count,) = unpack(mv, pos)
            pos += 4
            if count * (4 + N8) > end - pos:
                raise FormatError(f"r1cs constraints: constraint {n} ({part}) declares {count} terms "
                                  f"but only {end - pos} bytes remain")
            lc: LinComb = {}
            for _ in range(count):
                (w,) = unpack(mv, pos)
                c = int.from_bytes(mv[pos + 4:pos + 4 + N8], "little")
                pos += 4 + N8
                if w >= n_wires:
                    raise FormatError(f"r1cs constraints: constraint {n} ({part}) uses wire {w} "
                                      f"but there are {n_wires} wires")
                if c >= R:
                    raise FormatError(f"r1cs constraints: constraint {n} ({part}) coefficient >= r")
                if w in lc:       # never written by circom; summed, as snarkjs evaluates it
                    c = (lc[w] + c) % R
                lc[w] = c
            abc.append({w: c for w, c in sorted(lc.items()) if c})
        out.append((abc[0], abc[1], abc[2]))
    if pos != end:
        raise FormatError(f"r1cs constraints: {end - pos} trailing bytes after {n_constraints} constraints")
    return out


def parse_r1cs(data: bytes) -> R1CS:
    """Parse ``.r1cs`` bytes; raises :class:`FormatError` on anything malformed."""
    f = parse_binfile(data, b"r1cs", max_version=R1CS_VERSION)
    if f.has(4) or f.has(5):
        raise FormatError("r1cs file uses custom gates (PLONK-only sections 4/5): not an R1CS")
    h = Reader(f.section(1, name="header"), "r1cs header")
    read_field_header(h, "r1cs header")
    n_wires, n_out, n_pub, n_prv = h.u32(), h.u32(), h.u32(), h.u32()
    n_labels = h.u64()
    n_constraints = h.u32()
    h.expect_end()
    if n_wires < 1 + n_out + n_pub + n_prv:
        raise FormatError(f"r1cs header: {n_wires} wires cannot hold 1 + {n_out} outputs + "
                          f"{n_pub} public + {n_prv} private inputs")
    if n_labels < n_wires:
        raise FormatError(f"r1cs header: {n_labels} labels for {n_wires} wires")
    constraints = _parse_constraints(f.section(2, name="constraints"), n_constraints, n_wires)
    label_ids = None
    if f.has(3):
        sec3 = f.section(3, name="wire to label map")
        if len(sec3) != 8 * n_wires:
            raise FormatError(f"r1cs wire->label map: {len(sec3)} bytes for {n_wires} wires "
                              f"(expected {8 * n_wires})")
        arr = np.frombuffer(sec3, dtype="<u8")
        if arr.size and int(arr.max()) >= n_labels:
            raise FormatError("r1cs wire->label map: label id >= nLabels")
        label_ids = arr.tolist()
    return R1CS(n_wires=n_wires, n_pub_out=n_out, n_pub_in=n_pub, n_prv_in=n_prv,
                constraints=constraints, n_labels=n_labels, label_ids=label_ids)


def read_r1cs(path: str | Path) -> R1CS:
    return parse_r1cs(Path(path).read_bytes())


# ---------------------------------------------------------------------------------------------
# Symbol files (.sym): circom's text map from wires to signal names
# ---------------------------------------------------------------------------------------------
#
# One line per signal: ``labelIdx,wireIdx,componentIdx,name``; wireIdx is -1 for signals the
# compiler eliminated.  The constant wire 0 is not listed.  snarkjs (``r1cs print``,
# ``wtns debug``) reads it to show names.

#: refuse symbol files larger than this many lines per wire (circom writes ~1-2)
_SYM_LINES_PER_WIRE = 64


def sym_text(r1cs: R1CS) -> str:
    """A .sym file for an R1CS with ``wire_names`` (builder output): ``i,i,0,main.<name>``."""
    if r1cs.wire_names is None:
        raise ValueError("the R1CS has no wire names")
    lines = []
    for i, name in enumerate(r1cs.wire_names[1:], start=1):
        clean = name.replace(",", ";").replace("\n", " ").replace("/", ".")
        lines.append(f"{i},{i},0,main.{clean}")
    return "\n".join(lines) + "\n"


def write_sym(r1cs: R1CS, path: str | Path) -> None:
    Path(path).write_text(sym_text(r1cs))


def parse_sym(text: str, n_wires: int) -> list[str | None]:
    """Names per wire (index 0 is ``"one"``; None for wires the file does not name).

    When several signals share a wire (circom merges equal signals), the first name is kept.
    """
    names: list[str | None] = [None] * n_wires
    if n_wires:
        names[0] = "one"
    lines = text.splitlines()
    if len(lines) > _SYM_LINES_PER_WIRE * max(n_wires, 1) + 16:
        raise FormatError(f"sym file: {len(lines)} lines for {n_wires} wires")
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split(",", 3)
        if len(parts) != 4:
            raise FormatError(f"sym file line {no}: expected 4 comma-separated fields")
        try:
            wire = int(parts[1])
            int(parts[0]), int(parts[2])
        except ValueError:
            raise FormatError(f"sym file line {no}: non-integer index") from None
        if wire == -1:
            continue
        if not 0 <= wire < n_wires:
            raise FormatError(f"sym file line {no}: wire {wire} out of range ({n_wires} wires)")
        if names[wire] is None:
            names[wire] = parts[3]
    return names


def read_sym(path: str | Path, r1cs: R1CS) -> R1CS:
    """Attach the names of a .sym file to ``r1cs`` (sets ``wire_names``; returns it)."""
    r1cs.wire_names = parse_sym(Path(path).read_text(errors="replace"), r1cs.n_wires)  # type: ignore[assignment]
    return r1cs
