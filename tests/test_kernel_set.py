"""The prover's kernel sets: native (ahead-of-time) and JIT against the reference kernels.

The native module and the JIT ``prover_kernels`` run the same source, so each is checked
against the independent paths: the parallel MSM/NTT kernels of :mod:`zkmargin.algebra.api`
(themselves tested against py_ecc and Python ints in test_algebra.py) and plain Python ints.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time

import numpy as np
import pytest

from zkmargin.algebra import (
    G1_GEN,
    G2_GEN,
    R,
    array_to_ints,
    coset_ntt,
    g1_array_from_points,
    g1_fixed_base_muls,
    g2_fixed_base_muls,
    ints_to_array,
    intt,
    msm_g1,
    msm_g2,
    native,
    root_of_unity,
)
from zkmargin.algebra.kernel_set import KernelSet, jit_kernel_set, kernel_set, native_kernel_set
from zkmargin.algebra.msm_plan import msm_plan


@pytest.fixture(scope="module")
def native_ks() -> KernelSet:
    ks = native_kernel_set()
    if ks is None:
        pytest.skip("native kernels unavailable here (ZKMARGIN_KERNELS=jit or no C compiler)")
    return ks


@pytest.fixture(scope="module", params=["native", "jit"])
def ks(request, native_ks) -> KernelSet:
    return native_ks if request.param == "native" else jit_kernel_set()


def _rand(n: int, bound: int = R, seed: int = 0) -> np.ndarray:
    rnd = random.Random(seed)
    return ints_to_array([rnd.randrange(bound) for _ in range(n)])


def test_native_module_is_the_default(native_ks):
    assert kernel_set() is native_ks and native_ks.name == "native"
    assert native.find() is not None


@pytest.mark.parametrize("n", [1, 2, 7, 300, 3000])
def test_msm_g1_matches_reference(ks, n):
    pts = g1_fixed_base_muls(G1_GEN, _rand(n, seed=n))
    pts[n // 2] = 0                                   # one point at infinity
    for scalars in (_rand(n, seed=n + 1), _rand(n, 1000, seed=n + 2), _rand(n, 2, seed=n + 3)):
        assert ks.msm_g1(pts, scalars) == msm_g1(pts, scalars)
    assert ks.msm_g1(pts, np.zeros((n, 4), dtype=np.uint64)) is None


def test_msm_g1_opposite_points_cancel(ks):
    p = g1_fixed_base_muls(G1_GEN, _rand(1, seed=5))
    from zkmargin.algebra import g1_neg, g1_points_from_array
    q = g1_array_from_points([g1_neg(g1_points_from_array(p)[0])])
    pts = np.concatenate([p, q] * 600)
    assert ks.msm_g1(pts, ints_to_array([7] * 1200)) is None


@pytest.mark.parametrize("g2", [False, True], ids=["G1", "G2"])
def test_batch_affine_buckets_double_and_cancel(ks, g2):
    """The batch-affine path meets a bucket holding exactly the queued point (a doubling) or
    its negative (the bucket empties) over and over: few distinct points, digits from a small
    set, so many additions in each batch have dx = 0.  Checked against Python-int sums."""
    add, mul, _neg, to_rows, _from_row, base = _group(g2)
    msm = ks.msm_g2 if g2 else ks.msm_g1
    rnd = random.Random(43)
    n = 3000
    points = [base[rnd.randrange(len(base))] for _ in range(n)]
    scalars = [rnd.choice([1, 2, 3, 5, 7, R - 1, rnd.randrange(1 << 12)]) for _ in range(n)]
    assert msm_plan(n, 254, ks.threads, point_bytes=128 if g2 else 64).affine
    assert msm(to_rows(points), ints_to_array(scalars)) == _python_msm(points, scalars, add, mul)
    # all of one point with its negative: everything cancels
    pair = [base[0], base[3]] * (n // 2)
    assert msm(to_rows(pair), ints_to_array([9] * n)) is None


def _group(g2: bool):
    """(add, mul, neg, to rows, from one affine row, base points +-) for G1 or G2."""
    from zkmargin.algebra import (
        g1_add,
        g1_mul,
        g1_neg,
        g1_points_from_array,
        g2_add,
        g2_array_from_points,
        g2_mul,
        g2_neg,
        g2_points_from_array,
    )

    if g2:
        base = g2_points_from_array(g2_fixed_base_muls(G2_GEN, _rand(3, seed=51)))
        return (g2_add, g2_mul, g2_neg, lambda pts: g2_array_from_points(pts).reshape(len(pts), 16),
                lambda row: g2_points_from_array(row.reshape(1, 2, 2, 4))[0], base + [g2_neg(p) for p in base])
    base = g1_points_from_array(g1_fixed_base_muls(G1_GEN, _rand(3, seed=51)))
    return (g1_add, g1_mul, g1_neg, lambda pts: g1_array_from_points(pts).reshape(len(pts), 8),
            lambda row: g1_points_from_array(row.reshape(1, 2, 4))[0], base + [g1_neg(p) for p in base])


def _window_kernel_sum(ks, g2, rows, digits, c, batch):
    """sum_w 2^(cw) sum_i digits[i, w] P_i through the window kernels with a chosen batch size
    (batch-affine buckets whenever batch > 0), one chunk per window."""
    n_windows = digits.shape[1]
    out = np.zeros((n_windows, 24 if g2 else 12), dtype=np.uint64)
    (ks.k.window_sums_g2 if g2 else ks.k.window_sums_g1)(rows, digits, c, 1, out, batch, 0, 1)
    jac = (ks.k.combine_windows_g2 if g2 else ks.k.combine_windows_g1)(out, c, n_windows, 1)
    return (ks.k.jac_to_affine_g2 if g2 else ks.k.jac_to_affine_g1)(jac)


def _python_msm(points, scalars, add, mul):
    """sum_i scalars[i] * points[i] by Python ints, one multiplication per distinct point."""
    coef: dict = {}
    for p, k in zip(points, scalars):
        coef[p] = (coef.get(p, 0) + k) % R
    acc = None
    for p, k in coef.items():
        acc = add(acc, mul(p, k))
    return acc


def _python_sum(points, digits, c, add, mul):
    scalars = [sum(d << (c * w) for w, d in enumerate(row)) for row in digits.tolist()]
    return _python_msm(points, scalars, add, mul)


@pytest.mark.parametrize("g2", [False, True], ids=["G1", "G2"])
def test_window_kernels_with_every_batch_size(ks, g2):
    """Small batches make every path of the batch-affine buckets common: additions held for
    the next batch and requeued, the held list overflowing into the side accumulators, drain
    rounds, doublings and cancellations -- among them a bucket emptied by a cancellation and
    refilled by a held, negated point (the first case).  Checked against Python ints."""
    add, mul, neg, to_rows, from_row, base = _group(g2)
    p, q, s_, t = base[0], base[1], base[2], base[4]
    points = [p, p, q, s_, t]
    digits = np.array([[1], [-1], [-1], [2], [2]], dtype=np.int32)
    got = from_row(_window_kernel_sum(ks, g2, to_rows(points), digits, 2, 2))
    assert got == add(neg(q), mul(add(s_, t), 2))
    rnd = random.Random(53)
    for case in range(12):
        c = rnd.choice([2, 4])
        batch = rnd.choice([1, 2, 3, 4, 32])
        n = 400
        points = [base[rnd.randrange(len(base))] for _ in range(n)]
        top = 1 << (c - 1)
        skewed = [-top, -1, 1, 2, top]
        digits = np.array([[rnd.choice(skewed) if rnd.random() < 0.6 else rnd.randint(-top, top)
                            for _ in range(3)] for _ in range(n)], dtype=np.int32)
        got = from_row(_window_kernel_sum(ks, g2, to_rows(points), digits, c, batch))
        assert got == _python_sum(points, digits, c, add, mul), (case, c, batch)


@pytest.mark.parametrize("g2", [False, True], ids=["G1", "G2"])
def test_window_kernels_at_the_largest_window(ks, g2):
    """The largest window each group uses (c = 15 for G1, 13 for G2) with its own batch size,
    digits at the edges of the bucket range (+-1, +-(2^(c-1) - 1), +-2^(c-1))."""
    from zkmargin.algebra.msm_plan import affine_batch_size, max_window

    add, mul, _neg, to_rows, from_row, base = _group(g2)
    c = max_window(128 if g2 else 64)
    top = 1 << (c - 1)
    rnd = random.Random(57)
    n = 3000
    points = [base[rnd.randrange(len(base))] for _ in range(n)]
    digits = np.array([[rnd.choice([1, -1, top - 1, 1 - top, top, -top, rnd.randint(-top, top)])]
                       for _ in range(n)], dtype=np.int32)
    got = from_row(_window_kernel_sum(ks, g2, to_rows(points), digits, c, affine_batch_size(c)))
    assert got == _python_sum(points, digits, c, add, mul)


def _unaligned(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` starting 4 bytes off an 8-byte boundary, as a mapped .zkey's sections do."""
    buf = np.zeros(a.nbytes + 12, dtype=np.uint8)
    start = (4 - buf.ctypes.data) % 8
    view = buf[start:start + a.nbytes].view(np.uint64).reshape(a.shape)
    view[...] = a
    assert view.ctypes.data % 8 == 4 and not view.flags.aligned
    return view


def test_msm_takes_unaligned_rows_without_a_copy(ks):
    from zkmargin.algebra.kernel_set import _points

    n = 700
    g1 = g1_fixed_base_muls(G1_GEN, _rand(n, seed=61))
    g2 = g2_fixed_base_muls(G2_GEN, _rand(n, seed=62))
    scalars = _rand(n, seed=63)
    u1, u2 = _unaligned(g1), _unaligned(g2)
    assert np.shares_memory(_points(u1, 8, "G1 points", aligned=False), u1)
    assert ks.msm_g1(u1, scalars) == ks.msm_g1(g1, scalars) == msm_g1(g1, scalars)
    assert ks.msm_g2(u2, scalars) == ks.msm_g2(g2, scalars) == msm_g2(g2, scalars)


@pytest.mark.parametrize("n", [3, 1500])
def test_msm_jobs_over_one_scalar_vector_share_digits(ks, n):
    """The prover's A, B1 and C sums: three point arrays, the last covering a suffix of the
    scalars, from one digit pass -- each equals its own MSM; a suffix of the wrong length, a
    start past the end and an all-zero suffix are handled."""
    scalars = _rand(n, seed=71)
    full = [g1_fixed_base_muls(G1_GEN, _rand(n, seed=72 + i)) for i in range(2)]
    start = n // 3 + 1
    tail = g1_fixed_base_muls(G1_GEN, _rand(n - start, seed=74))
    jobs = ks.msm_g1_jobs([(full[0], 0), (full[1], 0), (tail, start)], scalars)
    got = ks.run_jobs(jobs)
    assert got == [msm_g1(full[0], scalars), msm_g1(full[1], scalars), msm_g1(tail, scalars[start:])]
    assert ks.run_jobs(ks.msm_g1_jobs([(full[0][:0], n)], scalars)) == [None]
    zero_tail = scalars.copy()
    zero_tail[start:] = 0
    assert ks.run_jobs(ks.msm_g1_jobs([(tail, start), (full[0], 0)], zero_tail)) == \
        [None, msm_g1(full[0], zero_tail)]
    for bad in ((tail, start - 1), (full[0][:0], n + 1), (full[0], 1)):
        with pytest.raises(ValueError, match="points for scalars"):
            ks.msm_g1_jobs([bad], scalars)


@pytest.mark.parametrize("n", [1, 5, 200])
def test_msm_g2_matches_reference(ks, n):
    pts = g2_fixed_base_muls(G2_GEN, _rand(n, seed=10 + n))
    scalars = _rand(n, seed=20 + n)
    assert ks.msm_g2(pts, scalars) == msm_g2(pts, scalars)


def test_single_scalar_multiplications(ks):
    from zkmargin.algebra import g1_mul, g2_mul
    k = random.Random(3).randrange(R)
    assert ks.g1_mul(G1_GEN, k) == g1_mul(G1_GEN, k)
    assert ks.g2_mul(G2_GEN, k) == g2_mul(G2_GEN, k)
    assert ks.g1_mul(None, k) is None and ks.g1_mul(G1_GEN, 0) is None


@pytest.mark.parametrize("n", [1, 2, 8, 512, 4096])
def test_odd_coset_h_matches_reference(ks, n):
    a, b, c = _rand(n, seed=1), _rand(n, seed=2), _rand(n, seed=3)
    shift = root_of_unity(2 * n)
    evals = [array_to_ints(coset_ntt(intt(v), shift)) for v in (a, b, c)]
    want = [(x * y - z) % R for x, y, z in zip(*evals)]
    assert array_to_ints(ks.odd_coset_h(a, b, c)) == want


def test_field_vectors_match_python(ks):
    a, b, c = _rand(50, seed=4), _rand(50, seed=5), _rand(50, seed=6)
    ai, bi, ci = array_to_ints(a), array_to_ints(b), array_to_ints(c)
    assert array_to_ints(ks.mul_sub(a, b, c)) == [(x * y - z) % R for x, y, z in zip(ai, bi, ci)]
    assert array_to_ints(ks.mul_sub(a, b)) == [x * y % R for x, y in zip(ai, bi)]
    m = ks.to_mont(a)
    assert array_to_ints(m) == [(x << 256) % R for x in ai]
    assert array_to_ints(ks.from_mont(m)) == ai
    rows = np.array([0, 0, 3, 9], dtype=np.int64)
    cols = np.array([1, 2, 2, 49], dtype=np.int64)
    coeffs = _rand(4, seed=7)
    out = array_to_ints(ks.sparse_matvec(rows, cols, coeffs, m, 10))
    ki = array_to_ints(coeffs)
    want = [0] * 10
    for r_, c_, k_ in zip(rows, cols, ki):
        want[r_] = (want[r_] + k_ * ai[c_]) % R
    assert out == want


@pytest.mark.parametrize("n", [1, 2, 8, 64])
def test_intt_matches_python(ks, n):
    """The coefficients of the polynomial taking the values on the size-n domain."""
    v = _rand(n, seed=n)
    coeffs = array_to_ints(ks.intt(v))
    w = root_of_unity(n)
    assert [sum(c * pow(w, i * j, R) for j, c in enumerate(coeffs)) % R for i in range(n)] == array_to_ints(v)


def test_bad_arguments_are_refused_before_the_kernels(ks):
    m = ks.to_mont(_rand(4))
    coeffs = _rand(1)
    with pytest.raises(ValueError, match="out of range"):
        ks.sparse_matvec(np.array([4]), np.array([0]), coeffs, m, 4)
    with pytest.raises(ValueError, match="out of range"):
        ks.sparse_matvec(np.array([0]), np.array([4]), coeffs, m, 4)
    with pytest.raises(ValueError, match="differ"):
        ks.mul_sub(_rand(3), _rand(4))
    with pytest.raises(ValueError):
        ks.msm_g1(g1_fixed_base_muls(G1_GEN, _rand(3)), _rand(2))
    with pytest.raises(ValueError, match="power-of-two"):
        ks.odd_coset_h(_rand(3), _rand(3), _rand(3))


def test_off_curve_points_found(ks):
    pts = g1_fixed_base_muls(G1_GEN, _rand(40, seed=8))
    assert ks.g1_first_off_curve(pts) == -1
    pts[17, 1, 0] ^= np.uint64(1)
    assert ks.g1_first_off_curve(pts) == 17
    pts2 = g2_fixed_base_muls(G2_GEN, _rand(20, seed=9))
    pts2[3] = 0                                      # infinity is fine
    assert ks.g2_first_off_curve(pts2) == -1
    pts2[11, 0, 1, 2] ^= np.uint64(4)
    assert ks.g2_first_off_curve(pts2) == 11


def test_msm_plan_keeps_threads_busy():
    plan = msm_plan(1 << 14, 254, 2)
    assert plan.n_windows * plan.n_chunks >= 4 and plan.c >= 2
    assert msm_plan(10, 3, 8).n_chunks == 1


def test_msm_window_stays_within_the_cache_cap():
    """Large MSMs keep their buckets cache-sized: c = 15 for G1 and 13 for G2 at 2^20 (the plain
    cost model alone would pick 16), while small ones keep the model's choice."""
    from zkmargin.algebra.msm_plan import choose_window, max_window

    assert (max_window(64), max_window(128)) == (15, 13)
    assert choose_window(1 << 20, 254) == 16
    assert msm_plan(1 << 20, 254, 2).c == 15 and msm_plan(1 << 20, 254, 2, point_bytes=128).c == 13
    assert msm_plan(1 << 12, 254, 2).c == choose_window(1 << 12, 254)
    assert choose_window(1 << 12, 254, max_window(64)) == choose_window(1 << 12, 254)


# ---- the native module's life cycle --------------------------------------------------------------


def test_mode_is_validated(monkeypatch):
    monkeypatch.setenv("ZKMARGIN_KERNELS", "gpu")
    with pytest.raises(ValueError, match="ZKMARGIN_KERNELS"):
        native.mode()


def test_missing_module_is_reported_not_built_when_asked(monkeypatch, tmp_path):
    monkeypatch.setenv("ZKMARGIN_NATIVE_DIR", str(tmp_path))
    assert native.find() is None
    monkeypatch.setenv("ZKMARGIN_KERNELS", "auto")
    assert native.get(build_if_missing=False) is None
    monkeypatch.setenv("ZKMARGIN_KERNELS", "native")
    with pytest.raises(native.NativeBuildError, match="not built"):
        native.get(build_if_missing=False)
    monkeypatch.setenv("ZKMARGIN_KERNELS", "jit")
    assert native.get() is None


def test_digest_follows_the_kernel_sources(monkeypatch, tmp_path):
    """An edited kernel source gives another module name, so stale code never loads."""
    for name in native.KERNEL_SOURCES:
        (tmp_path / name).write_bytes((native._HERE / name).read_bytes())
    monkeypatch.setattr(native, "_HERE", tmp_path)
    before = native.digest()
    with open(tmp_path / "msm.py", "a") as f:
        f.write("\n# edited\n")
    assert native.digest() != before


def _source_copy(monkeypatch, tmp_path):
    """The prover module's sources copied to tmp_path/src (``native._HERE`` pointed there),
    the native folder set to tmp_path/native; returns the sources' folder."""
    src = tmp_path / "src"
    src.mkdir()
    for name in native.KERNEL_SOURCES:
        (src / name).write_bytes((native._HERE / name).read_bytes())
    monkeypatch.setattr(native, "_HERE", src)
    monkeypatch.setenv("ZKMARGIN_NATIVE_DIR", str(tmp_path / "native"))
    return src


def _fresh_digest() -> str:
    return f"{native.environment_tag()}_{native._source_hash(native.PROVER)}"


def test_remembered_digest_is_the_computed_one_and_is_used(monkeypatch, tmp_path):
    _source_copy(monkeypatch, tmp_path)
    monkeypatch.setattr(native, "SETTLED_S", 0.0)
    first = native.digest()
    assert first == _fresh_digest()
    assert list((tmp_path / "native").glob("*.digest"))

    def no_hashing(_spec):
        raise AssertionError("the sources were hashed again")

    monkeypatch.setattr(native, "_source_hash", no_hashing)
    assert native.digest() == first


def test_stale_remembered_digest_is_never_used(monkeypatch, tmp_path):
    """An edit that keeps the size and puts the mtime back still changes the ctime: the
    remembered digest is not used, so a module built from the old sources cannot load."""
    src = _source_copy(monkeypatch, tmp_path)
    monkeypatch.setattr(native, "SETTLED_S", 0.0)
    before = native.digest()
    time.sleep(0.05)                           # past the file system's timestamp tick
    path = src / "msm.py"
    st = os.stat(path)
    text = path.read_bytes()
    path.write_bytes(text[:-1] + (b"#" if text[-1:] != b"#" else b" "))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = native.digest()
    assert after != before and after == _fresh_digest()


def test_young_sources_are_not_remembered_and_bad_caches_are_ignored(monkeypatch, tmp_path):
    _source_copy(monkeypatch, tmp_path)
    want = native.digest()                     # sources just written: not settled
    assert not list((tmp_path / "native").glob("*.digest"))
    (tmp_path / "native").mkdir(exist_ok=True)
    cache = tmp_path / "native" / native._digest_cache_name(native.PROVER)
    for junk in (b"", b"\xff\xfe", b"not a key\0caf56af8_000000000000"):
        cache.write_bytes(junk)
        assert native.digest() == want


def test_prove_process_never_imports_numba(native_ks, tmp_path):
    """The point of the native module: a whole prover process without numba's start-up."""
    from test_groth16 import cube_circuit, toy_setup

    from zkmargin.formats.wtns import write_wtns
    from zkmargin.formats.zkey import write_zkey

    r1cs, w = cube_circuit()
    pk, _ = toy_setup(r1cs)
    write_zkey(pk, tmp_path / "k.zkey")
    write_wtns(w, tmp_path / "w.wtns")
    code = (
        "import sys\n"
        "from zkmargin.cli.main import main\n"
        "sys.argv = ['zkmargin', 'groth16', 'prove', '-q', 'k.zkey', 'w.wtns', 'p.json', 'pub.json']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "assert 'numba' not in sys.modules, 'numba was imported'\n"
    )
    env = dict(os.environ, ZKMARGIN_KERNELS="native")
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    from zkmargin.formats.snarkjs_json import read_proof, read_public
    from zkmargin.prover.groth16 import verifying_key_of
    from zkmargin.verifier.groth16 import verify
    assert verify(verifying_key_of(pk), read_public(tmp_path / "pub.json"), read_proof(tmp_path / "p.json")).valid


def test_native_and_jit_proofs_are_identical(native_ks):
    """Same key, witness and blinding: the two kernel sets give the same proof, bit for bit."""
    from test_groth16 import chain_circuit, toy_setup

    from zkmargin.prover.groth16 import prove

    r1cs, w = chain_circuit(300, n_pub=3, seed=4)
    pk, _ = toy_setup(r1cs, seed=5)
    wa = ints_to_array(w)
    p_native = prove(pk, wa, randomness=(11, 22), kernels=native_ks).proof
    p_jit = prove(pk, wa, randomness=(11, 22), kernels=jit_kernel_set()).proof
    assert p_native == p_jit


def test_failed_build_is_not_retried_in_auto_mode(monkeypatch, tmp_path):
    """Without a C compiler every prover process would otherwise retry a doomed build."""
    monkeypatch.setenv("ZKMARGIN_NATIVE_DIR", str(tmp_path))
    monkeypatch.setenv("ZKMARGIN_KERNELS", "auto")
    (tmp_path / (native.module_name() + ".failed")).write_text("building failed: no cc\n")

    def no_build(**_kw):
        raise AssertionError("auto mode retried a failed build")

    monkeypatch.setattr(native, "build", no_build)
    assert native.failed_before() == "building failed: no cc"
    assert native.get(log=None) is None


@pytest.mark.parametrize("n", [3, 40])   # checked in Python / with the kernels
def test_section_point_checks_name_the_bad_point(n):
    from zkmargin.formats.binfile import FormatError
    from zkmargin.formats.snarkjs_bin import check_g1_array, check_g2_array

    g1 = g1_fixed_base_muls(G1_GEN, _rand(n, seed=n))
    g2 = g2_fixed_base_muls(G2_GEN, _rand(n, seed=n + 1))
    check_g1_array(g1, "t")
    check_g2_array(g2, "t")
    bad = g1.copy()
    bad[n - 1, 0, 1] ^= np.uint64(8)
    with pytest.raises(FormatError, match=f"point {n - 1} is not on the G1 curve"):
        check_g1_array(bad, "t")
    bad = g2.copy()
    bad[1, 1, 0, 0] ^= np.uint64(2)
    with pytest.raises(FormatError, match="point 1 is not on the G2 curve"):
        check_g2_array(bad, "t")
    bad = g2.copy()
    bad[2, 0, 1, 3] = np.uint64(2**64 - 1)
    with pytest.raises(FormatError, match="point 2 has a coordinate >= q"):
        check_g2_array(bad, "t")


@pytest.mark.parametrize("spec", [native.PROVER, native.VERIFIER], ids=["prover", "verifier"])
def test_kernel_sources_cover_everything_the_kernels_import(spec):
    """The digest must change whenever any code compiled into a native module changes."""
    code = (f"import sys, zkmargin.algebra.{spec.kernels}\n"
            "print('\\n'.join(sorted(m.__file__ for n, m in sys.modules.items()\n"
            "                       if n.startswith('zkmargin.algebra.') and getattr(m, '__file__', None))))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    used = {os.path.basename(p) for p in res.stdout.split()}
    assert f"{spec.kernels}.py" in used
    assert used - {"__init__.py"} <= set(spec.sources), used - set(spec.sources)


def test_exports_exist_in_both_namespaces(native_ks):
    from zkmargin.algebra import prover_kernels
    for name in prover_kernels.EXPORTS:
        assert callable(getattr(native_ks.k, name)) and callable(getattr(prover_kernels, name))


def test_wrong_dtypes_and_shapes_never_reach_the_kernels(ks):
    """The native functions do not check their arguments: the kernel set must."""
    pts = g1_fixed_base_muls(G1_GEN, _rand(4))
    with pytest.raises(TypeError):
        ks.msm_g1(pts.astype(np.float64), _rand(4))
    with pytest.raises(TypeError):
        ks.mul_sub(_rand(4).astype(np.int64), _rand(4))
    with pytest.raises(ValueError):
        ks.odd_coset_h(np.zeros((4, 8), np.uint64), _rand(4), _rand(4))
    with pytest.raises(ValueError):
        ks.sparse_matvec(np.array([0]), np.array([0]), np.zeros(4, np.uint64), ks.to_mont(_rand(2)), 2)
    with pytest.raises(ValueError):
        ks.msm_g2(pts, _rand(4))                      # G1 points where G2 points belong
