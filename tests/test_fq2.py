"""The F_q2 multiply and square with lazy reduction (algebra/wide.py) against Python ints and
against the same operations built from F_q multiplies: every pair of edge values (where the
wide subtraction borrows, the reductions' carries ripple and the final subtraction decides),
random pairs, and a dependent chain.  The multiply by xi = 9 + u (one reduction of a 5-word
sum) likewise, with inputs whose sums land on every multiple of q it can reach, where its
quotient estimate falls short by one."""

from __future__ import annotations

import itertools
import random

import numba as nb
import numpy as np
import pytest

from zkmargin.algebra.arrays import array_to_ints, ints_to_array
from zkmargin.algebra.constants import Q
from zkmargin.algebra.fq2 import (
    fq2_mul,
    fq2_mul_by_parts,
    fq2_mul_xi,
    fq2_mul_xi_by_parts,
    fq2_sqr,
    fq2_sqr_by_parts,
)
from zkmargin.algebra.wide import make_fq2_intrinsics, make_fq2_mul_by_nonresidue

R_INV = pow(2, -256, Q)


@nb.njit
def _rows(a, b, out, square, by_parts):
    """out[i] = a[i] * b[i] (or a[i]^2) over rows of 8 words (c0 then c1, Montgomery)."""
    for i in range(a.shape[0]):
        x = ((a[i, 0], a[i, 1], a[i, 2], a[i, 3]), (a[i, 4], a[i, 5], a[i, 6], a[i, 7]))
        y = ((b[i, 0], b[i, 1], b[i, 2], b[i, 3]), (b[i, 4], b[i, 5], b[i, 6], b[i, 7]))
        if square:
            r = fq2_sqr_by_parts(x) if by_parts else fq2_sqr(x)
        else:
            r = fq2_mul_by_parts(x, y) if by_parts else fq2_mul(x, y)
        for j in range(4):
            out[i, j] = r[0][j]
            out[i, 4 + j] = r[1][j]


def _pack(pairs: list[tuple[int, int]]) -> np.ndarray:
    """Rows of (c0, c1) as raw words: the values are taken as Montgomery representations."""
    return np.hstack([ints_to_array([c0 for c0, _ in pairs]), ints_to_array([c1 for _, c1 in pairs])])


def _unpack(rows: np.ndarray) -> list[tuple[int, int]]:
    return list(zip(array_to_ints(np.ascontiguousarray(rows[:, :4])),
                    array_to_ints(np.ascontiguousarray(rows[:, 4:]))))


def _run(xs, ys, *, square: bool, by_parts: bool = False) -> list[tuple[int, int]]:
    a, b = _pack(xs), _pack(ys)
    out = np.zeros_like(a)
    _rows(a, b, out, square, by_parts)
    return _unpack(out)


def _want_mul(x, y):
    """Montgomery F_q2 product of raw representations: (x * y) / R per coefficient."""
    (x0, x1), (y0, y1) = x, y
    return ((x0 * y0 - x1 * y1) * R_INV % Q, (x0 * y1 + x1 * y0) * R_INV % Q)


def _edges() -> list[int]:
    vals = {0, 1, 2, Q - 1, Q - 2, (Q - 1) // 2, (Q + 1) // 2, pow(2, 256, Q), R_INV}
    for k in (63, 64, 127, 128, 191, 192, 253):
        vals.update({(1 << k) - 1, 1 << k})
    return sorted(v % Q for v in vals)


@pytest.fixture(scope="module")
def edge_elements() -> list[tuple[int, int]]:
    e = _edges()
    return [(a, b) for a in e for b in e[::3]]        # 22 x 8 coefficient pairs


def test_edge_products_match_python_ints(edge_elements):
    pairs = list(itertools.product(edge_elements, repeat=2))
    xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
    got = _run(xs, ys, square=False)
    assert got == [_want_mul(x, y) for x, y in pairs]
    assert got == _run(xs, ys, square=False, by_parts=True)
    assert all(c < Q for v in got for c in v)


def test_edge_squares_match_python_ints(edge_elements):
    got = _run(edge_elements, edge_elements, square=True)
    assert got == [_want_mul(x, x) for x in edge_elements]
    assert got == _run(edge_elements, edge_elements, square=True, by_parts=True)


def test_random_products_and_squares_match_python_ints():
    rng = random.Random("fq2-lazy")
    n = 20_000

    def coeff():                        # a quarter near q, where reductions most often subtract
        return Q - 1 - rng.randrange(1 << 64) if rng.random() < 0.25 else rng.randrange(Q)

    xs = [(coeff(), coeff()) for _ in range(n)]
    ys = [(coeff(), coeff()) for _ in range(n)]
    assert _run(xs, ys, square=False) == [_want_mul(x, y) for x, y in zip(xs, ys)]
    assert _run(xs, xs, square=True) == [_want_mul(x, x) for x in xs]


@nb.njit
def _chain(x, y, n):
    a = x
    b = x
    for _ in range(n):
        a = fq2_mul(fq2_sqr(a), y)
        b = fq2_mul_by_parts(fq2_sqr_by_parts(b), y)
    return a, b


def _element(pair: tuple[int, int]) -> tuple:
    return tuple(tuple(np.uint64(w) for w in ints_to_array([c])[0]) for c in pair)


def _ints(element: tuple) -> tuple[int, int]:
    return tuple(sum(int(w) << (64 * k) for k, w in enumerate(c)) for c in element)


def test_dependent_chain_agrees_with_the_reference():
    rng = random.Random(7)
    x, y = (rng.randrange(Q), rng.randrange(Q)), (rng.randrange(Q), rng.randrange(Q))
    a, b = _chain(_element(x), _element(y), 500)
    want = x
    for _ in range(500):
        want = _want_mul(_want_mul(want, want), y)
    assert _ints(a) == _ints(b) == want


def test_moduli_outside_the_bounds_are_refused():
    for p in (Q - 1, 1 << 254 | 1):
        with pytest.raises(ValueError, match="odd and below 2\\^254"):
            make_fq2_intrinsics(p)


@nb.njit
def _xi_rows(a, out, by_parts):
    for i in range(a.shape[0]):
        x = ((a[i, 0], a[i, 1], a[i, 2], a[i, 3]), (a[i, 4], a[i, 5], a[i, 6], a[i, 7]))
        r = fq2_mul_xi_by_parts(x) if by_parts else fq2_mul_xi(x)
        for j in range(4):
            out[i, j] = r[0][j]
            out[i, 4 + j] = r[1][j]


def _run_xi(xs, *, by_parts: bool = False) -> list[tuple[int, int]]:
    a = _pack(xs)
    out = np.zeros_like(a)
    _xi_rows(a, out, by_parts)
    return _unpack(out)


def _xi_boundaries() -> list[tuple[int, int]]:
    """Elements whose sums 9 x0 + q - x1 (for c0) or x0 + 9 x1 (for c1) are k q - 2 .. k q + 2
    for every k the sums reach (1..9), and t D 2^224 - 1, t D 2^224 (D = floor(q / 2^224) + 1),
    where the quotient estimate floor(v / (D 2^224)) steps: below them it is one short."""
    rng = random.Random("xi")
    step = ((Q >> 224) + 1) << 224
    sums = [k * Q + d for k in range(1, 10) for d in range(-2, 3)]
    sums += [t * step + d for t in range(1, 10) for d in (-1, 0)]
    out = []
    for v in sums:
        for _ in range(3):
            x1 = v // 9 - rng.randrange(3)          # c1: x0 = v - 9 x1
            out.append((v - 9 * x1, x1))
            x0 = (v - Q) // 9 + rng.randrange(3)    # c0: x1 = 9 x0 + q - v
            out.append((x0, 9 * x0 + Q - v))
    return [(x0, x1) for x0, x1 in out if 0 <= x0 < Q and 0 <= x1 < Q]


def test_mul_by_xi_matches_python_ints_at_every_multiple_of_q():
    rng = random.Random("xi-random")
    e = _edges()
    xs = _xi_boundaries() + [(a, b) for a in e for b in e]
    xs += [(rng.randrange(Q), rng.randrange(Q)) for _ in range(20_000)]
    assert len(xs) > 20_400
    got = _run_xi(xs)
    assert got == [((9 * x0 - x1) % Q, (x0 + 9 * x1) % Q) for x0, x1 in xs]
    assert got == _run_xi(xs, by_parts=True)


def test_non_residues_outside_the_bounds_are_refused():
    for k in (0, 15):
        with pytest.raises(ValueError, match="1..14"):
            make_fq2_mul_by_nonresidue(Q, k)
    with pytest.raises(ValueError, match="odd and below 2\\^254"):
        make_fq2_mul_by_nonresidue(Q - 1, 9)
    for p in ((1 << 127) - 1, (10 << 224) + 1):       # the estimate could fall two short
        with pytest.raises(ValueError, match="below \\(k \\+ 2\\) 2\\^224"):
            make_fq2_mul_by_nonresidue(p, 9)
