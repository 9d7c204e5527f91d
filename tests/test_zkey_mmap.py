"""read_zkey maps the .zkey: same key and same errors as parsing its bytes, arrays that never
write back to the file, and what happens when the file is replaced or rewritten in use."""

from __future__ import annotations

import mmap
import os
import struct

import numpy as np
import pytest

from zkmargin.cli import entry
from zkmargin.formats.binfile import FormatError, section_table
from zkmargin.formats.zkey import (
    MappedZkey,
    ZkeyChangedError,
    map_zkey,
    parse_zkey,
    read_zkey,
    stored_records,
    write_zkey,
    zkey_to_bytes,
)
from zkmargin.prover import phase2
from zkmargin.prover import ptau as P
from zkmargin.prover.setup import new_proving_key

POINTS = ("ic", "a_g1", "b_g1", "b_g2", "c_g1", "h_g1")


@pytest.fixture(scope="module")
def pk(make_tiny_r1cs):
    acc = P.contribute(P.new_accumulator(3), _secrets=(2, 3, 4))
    return phase2.contribute(new_proving_key(make_tiny_r1cs(), acc), "z")[0]


@pytest.fixture()
def zkey_file(pk, tmp_path):
    path = tmp_path / "k.zkey"
    write_zkey(pk, path)
    return path


def _same_key(a, b) -> None:
    for name in POINTS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    for m in ("a_matrix", "b_matrix"):
        for f in ("constraint", "signal", "value"):
            assert np.array_equal(getattr(getattr(a, m), f), getattr(getattr(b, m), f))
    for f in ("n_vars", "n_public", "domain_size", "alpha_g1", "beta_g1", "beta_g2", "gamma_g2",
              "delta_g1", "delta_g2", "n_constraints", "contributions"):
        assert getattr(a, f) == getattr(b, f), f


def test_mapped_key_equals_parsed_key(zkey_file):
    data = zkey_file.read_bytes()
    mapped = map_zkey(zkey_file)
    assert mapped.mapped
    _same_key(mapped.key, parse_zkey(data))
    assert zkey_to_bytes(mapped.key) == data
    table = section_table(data, b"zkey")
    for name, kind in zip(POINTS, (3, 5, 6, 7, 8, 9)):
        arr = getattr(mapped.key, name)
        assert arr.dtype == np.uint64 and arr.flags.c_contiguous and arr.flags.writeable
        offset = table.span(kind)[0]
        # every section is used in place (a view of the map), aligned or not
        assert isinstance(_owner(arr), mmap.mmap), name
        assert arr.flags.aligned == (offset % 8 == 0), name
    records = stored_records(mapped.key)
    assert isinstance(_owner(records), mmap.mmap)        # the coefficients too, unconverted


def _owner(arr: np.ndarray):
    """The object whose memory ``arr`` views."""
    while isinstance(arr, np.ndarray) and arr.base is not None:
        arr = arr.base
    return arr.obj if isinstance(arr, memoryview) else arr


def test_writing_to_mapped_arrays_never_reaches_the_file(zkey_file):
    before = zkey_file.read_bytes()
    key = read_zkey(zkey_file)
    for name in POINTS:
        getattr(key, name)[...] = 0
    assert zkey_file.read_bytes() == before


def test_replaced_file_keeps_the_old_key(pk, zkey_file, tmp_path):
    mapped = map_zkey(zkey_file)
    h_before = mapped.key.h_g1.copy()
    other = tmp_path / "other.zkey"
    write_zkey(pk, other)
    raw = bytearray(other.read_bytes())
    raw[-200:] = bytes(200)        # different content, same size
    other.write_bytes(bytes(raw))
    os.replace(other, zkey_file)
    assert np.array_equal(mapped.key.h_g1, h_before)
    assert not mapped.changed()
    mapped.check_unchanged()
    entry.zkey_still_intact(mapped, zkey_file)     # no exit


def test_write_zkey_replaces_rather_than_rewrites(pk, zkey_file):
    mapped = map_zkey(zkey_file)
    ino = os.stat(zkey_file).st_ino
    b_before = mapped.key.b_g2.copy()
    write_zkey(pk, zkey_file)          # the same path, while the key is in use
    assert os.stat(zkey_file).st_ino != ino
    assert np.array_equal(mapped.key.b_g2, b_before)
    mapped.check_unchanged()
    assert not [p for p in zkey_file.parent.iterdir() if p.name.endswith(".tmp")]


def test_rewritten_in_place_is_reported(zkey_file):
    mapped = map_zkey(zkey_file)
    st = os.stat(zkey_file)
    with open(zkey_file, "r+b") as f:       # same inode, bytes changed in place
        f.seek(-8, os.SEEK_END)
        f.write(bytes(8))
    os.utime(zkey_file, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
    assert mapped.changed()
    with pytest.raises(ZkeyChangedError, match="changed while it was in use"):
        mapped.check_unchanged()
    with pytest.raises(SystemExit) as exc:
        entry.zkey_still_intact(mapped, zkey_file)
    assert exc.value.code == 2


@pytest.mark.parametrize("cut", [0, 5, 11, 40, 700, -1])
def test_mapped_errors_match_parsed_errors(zkey_file, tmp_path, cut):
    data = zkey_file.read_bytes()
    bad = tmp_path / "bad.zkey"
    bad.write_bytes(data[:cut] if cut >= 0 else data[:-1])
    with pytest.raises(FormatError) as parsed:
        parse_zkey(bad.read_bytes())
    with pytest.raises(FormatError) as mapped:
        read_zkey(bad)
    assert str(mapped.value) == str(parsed.value)


def test_mapped_point_checks_still_run(zkey_file, tmp_path):
    data = bytearray(zkey_file.read_bytes())
    off, size = section_table(bytes(data), b"zkey").span(9)
    data[off + size - 64:off + size - 56] = struct.pack("<Q", 5)   # last H point off the curve
    bad = tmp_path / "bad.zkey"
    bad.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="zkey H: point"):
        read_zkey(bad)
    read_zkey(bad, check_points=False)      # the prover's choice, as before


def test_not_a_regular_file_is_read_not_mapped(zkey_file, tmp_path):
    fifo = tmp_path / "k.fifo"
    os.mkfifo(fifo)
    data = zkey_file.read_bytes()
    pid = os.fork()
    if pid == 0:                            # pragma: no cover - the writer child
        with open(fifo, "wb") as f:
            f.write(data)
        os._exit(0)
    m = MappedZkey(fifo)
    os.waitpid(pid, 0)
    assert not m.mapped
    _same_key(m.key, parse_zkey(data))
