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


@dataclass
class BinFile:
    """A parsed container: its magic, version and sections (type -> list of byte strings)."""

    magic: bytes
    version: int
    sections: dict[int, list[bytes]] = field(default_factory=dict)

    def section(self, kind: int, *, name: str = "") -> bytes:
        """The single section of ``kind``; raises :class:`FormatError` if absent or repeated."""
        found = self.sections.get(kind, [])
        label = f"section {kind}" + (f" ({name})" if name else "")
        if not found:
            raise FormatError(f"{self.magic.decode(errors='replace')} file: missing {label}")
        if len(found) > 1:
            raise FormatError(f"{self.magic.decode(errors='replace')} file: {label} appears {len(found)} times")
        return found[0]

    def has(self, kind: int) -> bool:
        return bool(self.sections.get(kind))


def parse_binfile(data: bytes, magic: bytes, *, max_version: int | None = None,
                  max_sections: int = 64) -> BinFile:
    """Parse a container from ``data``, checking the magic and every declared size."""
    what = magic.decode(errors="replace")
    if len(data) < 12:
        raise FormatError(f"not a {what} file: only {len(data)} bytes")
    if data[:4] != magic:
        raise FormatError(f"not a {what} file: magic is {data[:4]!r}, expected {magic!r}")
    version, n_sections = struct.unpack_from("<II", data, 4)
    if max_version is not None and not 1 <= version <= max_version:
        raise FormatError(f"{what} file: unsupported version {version}")
    if n_sections > max_sections:
        raise FormatError(f"{what} file: declares {n_sections} sections (at most {max_sections})")
    out = BinFile(magic, version)
    pos = 12
    for i in range(n_sections):
        if pos + 12 > len(data):
            raise FormatError(f"{what} file truncated in the header of section {i + 1} of {n_sections}")
        kind, size = struct.unpack_from("<IQ", data, pos)
        pos += 12
        if size > len(data) - pos:
            raise FormatError(
                f"{what} file: section type {kind} declares {size} bytes but only {len(data) - pos} remain")
        out.sections.setdefault(kind, []).append(data[pos:pos + size])
        pos += size
    if pos != len(data):
        raise FormatError(f"{what} file: {len(data) - pos} trailing bytes after the last section")
    return out


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
