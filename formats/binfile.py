"""The iden3 binary container shared by ``.r1cs``, ``.wtns``, ``.zkey`` and ``.ptau`` files.

Layout (all integers little-endian)::

    magic[4]  u32 version  u32 n_sections
    n_sections x ( u32 type  u64 size  bytes[size] )

Readers look sections up by type and ignore unknown types.  Everything read from a file is
untrusted: sizes are checked against the real file length before any allocation, so a
truncated or lying file fails fast with :class:`FormatError` instead of hanging or eating
memory (docs/PITFALLS.md #15).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from zkmargin.errors import FormatError


def _single(found: list, magic: bytes, kind: int, name: str):
    """The one entry of ``found`` (the sections of ``kind``); FormatError if absent or repeated."""
    label = f"section {kind}" + (f" ({name})" if name else "")
    if not found:
        raise FormatError(f"{magic.decode(errors='replace')} file: missing {label}")
    if len(found) > 1:
        raise FormatError(f"{magic.decode(errors='replace')} file: {label} appears {len(found)} times")
    return found[0]


@dataclass
class BinFile:
    """A parsed container: its magic, version and sections (type -> list of byte strings)."""

    magic: bytes
    version: int
    sections: dict[int, list[bytes]] = field(default_factory=dict)

    def section(self, kind: int, *, name: str = "") -> bytes:
        """The single section of ``kind``; raises :class:`FormatError` if absent or repeated."""
        return _single(self.sections.get(kind, []), self.magic, kind, name)

    def has(self, kind: int) -> bool:
        return bool(self.sections.get(kind))


@dataclass
class SectionTable:
    """Where a container's sections lie in its buffer: type -> list of (offset, size), every
    span checked to fit.  Lets a reader take sections without copying them (a memory map)."""

    magic: bytes
    version: int
    spans: dict[int, list[tuple[int, int]]] = field(default_factory=dict)

    def span(self, kind: int, *, name: str = "") -> tuple[int, int]:
        """(offset, size) of the single section of ``kind``; FormatError if absent or repeated."""
        return _single(self.spans.get(kind, []), self.magic, kind, name)

    def has(self, kind: int) -> bool:
        return bool(self.spans.get(kind))


def section_table(data, magic: bytes, *, max_version: int | None = None,
                  max_sections: int = 64) -> SectionTable:
    """Check the magic, version and every declared size of the container in ``data`` (bytes,
    a memory map or any buffer) and return where its sections are; nothing is copied."""
    what = magic.decode(errors="replace")
    total = len(data)
    if total < 12:
        raise FormatError(f"not a {what} file: only {total} bytes")
    if data[:4] != magic:
        raise FormatError(f"not a {what} file: magic is {bytes(data[:4])!r}, expected {magic!r}")
    version, n_sections = struct.unpack_from("<II", data, 4)
    if max_version is not None and not 1 <= version <= max_version:
        raise FormatError(f"{what} file: unsupported version {version}")
    if n_sections > max_sections:
        raise FormatError(f"{what} file: declares {n_sections} sections (at most {max_sections})")
    out = SectionTable(magic, version)
    pos = 12
    for i in range(n_sections):
        if pos + 12 > total:
            raise FormatError(f"{what} file truncated in the header of section {i + 1} of {n_sections}")
        kind, size = struct.unpack_from("<IQ", data, pos)
        pos += 12
        if size > total - pos:
            raise FormatError(
                f"{what} file: section type {kind} declares {size} bytes but only {total - pos} remain")
        out.spans.setdefault(kind, []).append((pos, size))
        pos += size
    if pos != total:
        raise FormatError(f"{what} file: {total - pos} trailing bytes after the last section")
    return out


def parse_binfile(data: bytes, magic: bytes, *, max_version: int | None = None,
                  max_sections: int = 64) -> BinFile:
    """Parse a container from ``data``, checking the magic and every declared size."""
    table = section_table(data, magic, max_version=max_version, max_sections=max_sections)
    sections = {kind: [data[off:off + size] for off, size in spans] for kind, spans in table.spans.items()}
    return BinFile(magic, table.version, sections)


def build_binfile(magic: bytes, version: int, sections: list[tuple[int, bytes]]) -> bytes:
    """Serialise sections (in the given order) into a container."""
    parts = [magic, struct.pack("<II", version, len(sections))]
    for kind, payload in sections:
        parts.append(struct.pack("<IQ", kind, len(payload)))
        parts.append(payload)
    return b"".join(parts)


class Reader:
    """Bounds-checked little-endian cursor over one section's bytes."""

    def __init__(self, data: bytes, what: str):
        self.data = data
        self.pos = 0
        self.what = what

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise FormatError(f"{self.what}: truncated (wanted {n} bytes at offset {self.pos}, "
                              f"section has {len(self.data)})")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def u64(self) -> int:
        return struct.unpack("<Q", self.take(8))[0]

    def bigint(self, n8: int) -> int:
        return int.from_bytes(self.take(n8), "little")

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def expect_end(self) -> None:
        if self.pos != len(self.data):
            raise FormatError(f"{self.what}: {len(self.data) - self.pos} unexpected trailing bytes")
