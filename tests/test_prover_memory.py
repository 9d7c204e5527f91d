"""The prover's low-memory paths give the very same proofs as the plain ones.

A key mapped from a file is proved from its section-4 records as stored (no canonical A and B
matrices), from unaligned views of the sections that start 4 bytes off (copied by the kernels
only while used), with the H chains computed in place, and with each section's pages dropped
once the prover is done with it.  Each of those is checked here against the in-memory key with
plain matrices, under fixed blinding: the proofs must be byte-identical and verify.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from test_groth16 import chain_circuit, toy_setup

from zkmargin.algebra import R, array_to_ints, ints_to_array
from zkmargin.algebra.kernel_set import jit_kernel_set, kernel_set
from zkmargin.formats.binfile import FormatError, section_table
from zkmargin.formats.data_structures import SparseMatrix
from zkmargin.formats.wtns import parse_wtns_limbs, read_wtns_limbs, write_wtns
from zkmargin.formats.zkey import (
    StoredMatrix,
    map_zkey,
    parse_zkey,
    read_zkey,
    stored_records,
    write_zkey,
)
from zkmargin.prover.groth16 import prove, sparse_matvec, verifying_key_of
from zkmargin.verifier.groth16 import verify

RANDOMNESS = (123456789, 987654321)
PARTS = ["coefficients", "a_g1", "b_g1", "c_g1", "b_g2", "h_g1"]


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """(in-memory key with plain matrices, its .zkey path, witness limbs)."""
    r1cs, w = chain_circuit(60, n_pub=3, seed=5)
    pk, _ = toy_setup(r1cs, seed=13)
    path = tmp_path_factory.mktemp("mem") / "k.zkey"
    write_zkey(pk, path)
    return pk, path, ints_to_array(w)


def _plain(pk):
    """``pk`` with its matrices as plain :class:`SparseMatrix` copies (the conversion path)."""
    from dataclasses import replace

    def copy(m):
        return SparseMatrix(np.array(m.constraint), np.array(m.signal), np.array(m.value))

    return replace(pk, a_matrix=copy(pk.a_matrix), b_matrix=copy(pk.b_matrix))


def test_mapped_key_reads_records_and_proves_the_same(case):
    pk, path, w = case
    want = prove(pk, w, randomness=RANDOMNESS)
    mapped = map_zkey(path, check_points=False)
    assert isinstance(mapped.key.a_matrix, StoredMatrix) and stored_records(mapped.key) is not None
    assert stored_records(_plain(mapped.key)) is None
    got = prove(mapped.key, w, randomness=RANDOMNESS)
    assert got == want
    assert prove(_plain(mapped.key), w, randomness=RANDOMNESS) == want
    assert verify(verifying_key_of(pk), got.public_signals, got.proof).valid


def test_releasing_pages_as_the_prover_goes_changes_nothing(case):
    pk, path, w = case
    want = prove(pk, w, randomness=RANDOMNESS)
    mapped = map_zkey(path, check_points=False)
    told: list[str] = []

    def done_with(part: str) -> None:
        told.append(part)
        mapped.release(part)

    assert prove(mapped.key, w, randomness=RANDOMNESS, done_with=done_with) == want
    assert told == PARTS
    # the dropped pages come back from the file: the key still reads the same, proves the same
    assert np.array_equal(mapped.key.h_g1, pk.h_g1) and np.array_equal(mapped.key.b_g2, pk.b_g2)
    assert prove(mapped.key, w, randomness=RANDOMNESS) == want


def test_records_matvec_equals_sparse_matvec(case):
    pk, path, w = case
    key = read_zkey(path, check_points=False)
    n = key.domain_size
    for ks in (kernel_set(), jit_kernel_set()):
        a, b = ks.records_matvec(stored_records(key), w, n)
        assert np.array_equal(a, sparse_matvec(pk.a_matrix, w, n, kernels=ks))
        assert np.array_equal(b, sparse_matvec(pk.b_matrix, w, n, kernels=ks))


def test_records_matvec_refuses_out_of_range_indices(case):
    _, path, w = case
    key = read_zkey(path, check_points=False)
    for column, value in ((0, 2), (1, key.domain_size), (2, w.shape[0])):
        rec = stored_records(key).copy()
        rec[-1, column] = value
        for ks in (kernel_set(), jit_kernel_set()):
            assert ks.records_first_bad(rec, key.n_vars, key.domain_size) == rec.shape[0] - 1
            with pytest.raises(ValueError, match="index out of range"):
                ks.records_matvec(rec, w, key.domain_size)


def test_stored_matrices_convert_to_the_canonical_ones(case):
    pk, path, _ = case
    key = read_zkey(path)
    for m in ("a_matrix", "b_matrix"):
        for f in ("constraint", "signal", "value"):
            assert np.array_equal(getattr(getattr(key, m), f), getattr(getattr(pk, m), f)), (m, f)


@pytest.mark.parametrize("word, value, message", [
    (0, 2, "matrix id other than 0"),
    (1, 1 << 20, "constraint index outside the domain"),
    (2, 1 << 20, "signal index >= nVars"),
    (10, 0xFFFFFFFF, "value not reduced mod r"),
])
def test_bad_coefficient_records_are_rejected_alike(case, tmp_path, word, value, message):
    _, path, _ = case
    data = bytearray(path.read_bytes())
    off, _ = section_table(bytes(data), b"zkey").span(4)
    at = off + 4 + 44 * 3 + 4 * word                  # record #3
    data[at:at + 4] = struct.pack("<I", value)
    bad = tmp_path / "bad.zkey"
    bad.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=message) as parsed:
        parse_zkey(bytes(data))
    with pytest.raises(FormatError) as mapped:
        read_zkey(bad)
    assert str(mapped.value) == str(parsed.value)


def test_unaligned_point_arrays_give_the_same_msm(case):
    pk, _, w = case
    ks = kernel_set()
    buf = np.zeros(pk.a_g1.nbytes + 8, dtype=np.uint8)
    view = np.frombuffer(buf, dtype=np.uint64, count=pk.a_g1.size, offset=4).reshape(pk.a_g1.shape)
    view[...] = pk.a_g1
    assert not view.flags.aligned
    assert ks.msm_g1(view, w) == ks.msm_g1(pk.a_g1, w)


def test_in_place_h_chains_equal_the_copying_ones(case):
    pk, _, w = case
    ks = kernel_set()
    n = pk.domain_size
    a = sparse_matvec(pk.a_matrix, w, n)
    b = sparse_matvec(pk.b_matrix, w, n)
    c = ks.mul_sub(a, b)
    want = ks.run_jobs([ks.odd_coset_h_job(a, b, c)])[0]
    before = [array_to_ints(v) for v in (a, b, c)]
    assert [array_to_ints(v) for v in (a, b, c)] == before        # the copying job keeps them
    got = ks.run_jobs([ks.odd_coset_h_job(a.copy(), b.copy(), c.copy(), overwrite=True)])[0]
    assert np.array_equal(got, want)
    with pytest.raises(ValueError, match="distinct writable"):
        ks.odd_coset_h_job(a, a, c, overwrite=True)


def test_read_wtns_limbs_reads_into_one_aligned_array(tmp_path):
    values = [1, 5, R - 1, 12345678901234567890123]
    path = tmp_path / "w.wtns"
    write_wtns(values, path)
    arr = read_wtns_limbs(path)
    assert arr.flags.aligned and arr.flags.c_contiguous and not arr.flags.writeable
    assert np.array_equal(arr, parse_wtns_limbs(path.read_bytes()))
    assert array_to_ints(arr) == values
    empty = tmp_path / "empty.wtns"
    empty.write_bytes(b"")
    with pytest.raises(FormatError):
        read_wtns_limbs(empty)


# ---- what a prover process's start no longer imports -------------------------------------------


def test_atomic_writes_without_tempfile(tmp_path):
    from zkmargin.errors import OutputError
    from zkmargin.formats import jsonio

    path = tmp_path / "out.json"
    jsonio.write_bytes(path, b"1", secret=True)
    assert path.read_bytes() == b"1" and path.stat().st_mode & 0o777 == 0o600
    jsonio.write_bytes(path, b"2")
    assert path.read_bytes() == b"2" and path.stat().st_mode & 0o777 == 0o644
    with pytest.raises(OutputError, match="exists"):
        jsonio.write_bytes(path, b"3", overwrite=False)
    assert path.read_bytes() == b"2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]     # no temporary left


def test_prove_process_skips_tempfile_secrets_and_hashlib(case, tmp_path):
    """The lean ``groth16 prove`` (native kernels, digest remembered) imports none of the
    modules that only the build, other verbs or the old random source needed."""
    import os
    import subprocess
    import sys

    from zkmargin.algebra import native

    if native.find() is None:
        pytest.skip("native module not built")
    pk, path, w = case
    write_wtns(array_to_ints(w), tmp_path / "w.wtns")
    code = ("import sys\nfrom zkmargin.cli import entry\n"
            f"try:\n    entry.main(['groth16', 'prove', {str(path)!r}, 'w.wtns', 'p.json', 'pub.json', '-q'])\n"
            "except SystemExit as e:\n    assert not e.code, e.code\n"
            "print(' '.join(m for m in ('tempfile', 'secrets', 'hashlib', 'numba') if m in sys.modules))\n")
    env = dict(os.environ, ZKMARGIN_KERNELS="native")
    for _ in range(2):                   # the first run may have to remember the digest
        res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr[-2000:]
    remembered = list(native.build_dir().glob("*.digest"))
    if not remembered:
        pytest.skip("kernel sources too young for the digest to be remembered")
    assert res.stdout.split() == []
