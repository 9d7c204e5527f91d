"""Poseidon round constants and MDS matrices for BN254, derived from the Grain LFSR.

These are the parameters of circomlib / circomlibjs Poseidon. They are not copied from
anywhere: they are regenerated here by the algorithm of the Poseidon reference parameter
generator (Appendix E of the Poseidon paper, ePrint 2019/458), instantiated with

* field: prime field F_r, r the BN254 scalar field prime, ``n = 254`` bits;
* S-box: x^alpha with alpha = 5;
* state width ``t`` = number of inputs + 1, for t = 2 .. 17;
* ``R_F = 8`` full rounds and ``R_P`` partial rounds taken from :data:`PARTIAL_ROUNDS`.

The Grain LFSR
--------------
An 80-bit register ``b_0 .. b_79`` is seeded with, most significant bit first,

=========  ======  =======================================
bits       width   content
=========  ======  =======================================
b0..b1     2       field type (1 = prime field)
b2..b5     4       S-box type (0 = x^alpha)
b6..b17    12      n, the field size in bits (254)
b18..b29   12      t
b30..b39   10      R_F
b40..b49   10      R_P
b50..b79   30      all ones
=========  ======  =======================================

and advanced by ``b_{i+80} = b_{i+62} + b_{i+51} + b_{i+38} + b_{i+23} + b_{i+13} + b_i``
(over GF(2)). The first 160 produced bits are thrown away. After that the raw bits are
read in pairs ``(c, v)``: if ``c = 1`` the bit ``v`` is output, otherwise the pair is
dropped ("self-shrinking" mode).

Field elements are read from the output stream as n-bit big-endian integers:

* the ``(R_F + R_P) * t`` round constants use rejection sampling (a value >= r is
  discarded and the next n bits are read);
* then the MDS matrix is a Cauchy matrix: 2t further n-bit integers, this time reduced
  mod r, split into ``x_0..x_{t-1}`` and ``y_0..y_{t-1}`` (they must be pairwise distinct),
  and ``M[i][j] = 1 / (x_i + y_j)``. The reference generator additionally runs MDS
  security checks and resamples on failure; for all sixteen parameter sets here the first
  matrix is the one circomlib uses (the published vectors and circomlibjs confirm it), so
  those checks are not repeated.

Orientation
-----------
:func:`mds_matrix` returns the Cauchy matrix exactly as generated, ``M[i][j] = 1/(x_i + y_j)``,
and one linear layer is ``new_state[i] = sum_j M[i][j] * state[j]``. The published test
vectors decide this (the transposed product gives different hashes). circomlibjs stores this
same matrix and uses this formula; circom's ``poseidon_constants.circom`` stores the transpose
and indexes it as ``M[j][i]``, which is the same linear map. The matrix is not symmetric, so
the orientation matters.

Speed
-----
The LFSR bit sequence is a linear recurrence with characteristic polynomial
``P(X) = X^80 + X^62 + X^51 + X^38 + X^23 + X^13 + 1`` (in terms of lags: s_k depends on
s_{k-18}, s_{k-29}, s_{k-42}, s_{k-57}, s_{k-67}, s_{k-80}). Over GF(2),
``P(X)^(2^j) = P(X^(2^j))``, so the same sequence also satisfies the recurrence with every
lag multiplied by ``2^j``. With lags ``>= 18 * 2^j`` a whole block of ``18 * 2^j`` new bits
only depends on bits already known, so it is computed with six shift-and-XOR operations on
Python big integers instead of one bit at a time. Results are cached per t.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import compress

from zkmargin.algebra.constants import R

#: Number of full rounds (R_F), split 4 before and 4 after the partial rounds.
FULL_ROUNDS = 8

#: Partial rounds R_P indexed by t - 2, for t = 2 .. 17 (inputs 1 .. 16).
PARTIAL_ROUNDS: tuple[int, ...] = (
    56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68,
)

#: Smallest and largest supported state width.
MIN_T = 2
MAX_T = MIN_T + len(PARTIAL_ROUNDS) - 1

#: S-box exponent.
ALPHA = 5

#: Field size in bits used by the generator.
FIELD_BITS = R.bit_length()  # 254

_FIELD_TYPE_PRIME = 1
_SBOX_TYPE_POWER = 0

#: Lags of the Grain recurrence: s_k = XOR of s_{k - d} for d in _LAGS.
_LAGS = (18, 29, 42, 57, 67, 80)
_STATE_BITS = 80
_DISCARD = 160
#: Largest block exponent: blocks of 18 * 2^12 raw bits at a time.
_MAX_BLOCK_LOG = 12


def partial_rounds(t: int) -> int:
    """R_P for state width ``t`` (2 <= t <= 17)."""
    _check_t(t)
    return PARTIAL_ROUNDS[t - MIN_T]


def _check_t(t: int) -> None:
    if not isinstance(t, int) or not MIN_T <= t <= MAX_T:
        raise ValueError(f"Poseidon state width t must be in {MIN_T}..{MAX_T}, got {t!r}")


class GrainLFSR:
    """The Grain LFSR in self-shrinking mode, as a stream of output bits.

    The raw sequence ``s_0, s_1, ...`` is held as one Python integer (bit k = s_k); the
    shrunk output bits are held as a ``'0'/'1'`` string consumed from the front.
    """

    def __init__(self, field_bits: int, t: int, full_rounds: int, partial: int) -> None:
        seed = (
            format(_FIELD_TYPE_PRIME, "02b")
            + format(_SBOX_TYPE_POWER, "04b")
            + format(field_bits, "012b")
            + format(t, "012b")
            + format(full_rounds, "010b")
            + format(partial, "010b")
            + "1" * 30
        )
        assert len(seed) == _STATE_BITS
        # b_0 is the first character; store it at bit 0 of the integer.
        self._raw = int(seed[::-1], 2)
        self._raw_len = _STATE_BITS
        # Raw bits before this index are used up (the 160 discarded ones included).
        self._raw_pos = _STATE_BITS + _DISCARD
        self._out = ""
        self._out_pos = 0

    def _extend_raw(self, needed: int) -> None:
        """Grow the raw sequence to at least ``needed`` bits (block-wise, see module doc)."""
        while self._raw_len < needed:
            length = self._raw_len
            j = 0
            while j < _MAX_BLOCK_LOG and _STATE_BITS << (j + 1) <= length:
                j += 1
            block = _LAGS[0] << j
            mask = (1 << block) - 1
            new = 0
            for lag in _LAGS:
                new ^= (self._raw >> (length - (lag << j))) & mask
            self._raw |= new << length
            self._raw_len = length + block

    def _refill(self, min_new_bits: int) -> None:
        """Shrink more raw bits into the output buffer, at least ``min_new_bits`` raw pairs."""
        pairs = max(min_new_bits, 4096)
        start = self._raw_pos
        self._extend_raw(start + 2 * pairs)
        chunk = (self._raw >> start) & ((1 << (2 * pairs)) - 1)
        bits = format(chunk, f"0{2 * pairs}b")[::-1]  # bits[k] = s_{start + k}
        controls = bits[0::2]
        values = bits[1::2]
        kept = "".join(compress(values, (c == "1" for c in controls)))
        self._out = self._out[self._out_pos:] + kept
        self._out_pos = 0
        self._raw_pos = start + 2 * pairs

    def bits(self, count: int) -> str:
        """The next ``count`` output bits as a '0'/'1' string (first bit first)."""
        while len(self._out) - self._out_pos < count:
            self._refill(2 * count)
        piece = self._out[self._out_pos:self._out_pos + count]
        self._out_pos += count
        return piece

    def integer(self, count: int) -> int:
        """The next ``count`` output bits read as a big-endian integer."""
        return int(self.bits(count), 2)


def _generate(t: int) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """Round constants (flat, round-major) and the Cauchy matrix exactly as generated."""
    rp = partial_rounds(t)
    grain = GrainLFSR(FIELD_BITS, t, FULL_ROUNDS, rp)

    constants = []
    for _ in range((FULL_ROUNDS + rp) * t):
        value = grain.integer(FIELD_BITS)
        while value >= R:  # rejection sampling
            value = grain.integer(FIELD_BITS)
        constants.append(value)

    while True:
        samples = [grain.integer(FIELD_BITS) % R for _ in range(2 * t)]
        if len(set(samples)) != 2 * t:
            continue
        xs, ys = samples[:t], samples[t:]
        if any((x + y) % R == 0 for x in xs for y in ys):
            continue
        cauchy = tuple(tuple(pow(x + y, -1, R) for y in ys) for x in xs)
        return tuple(constants), cauchy


@lru_cache(maxsize=None)
def _parameters(t: int) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    _check_t(t)
    return _generate(t)


def round_constants(t: int) -> tuple[int, ...]:
    """All ``(R_F + R_P) * t`` round constants for width ``t``; round k uses ``[k*t:(k+1)*t]``."""
    return _parameters(t)[0]


def mds_matrix(t: int) -> tuple[tuple[int, ...], ...]:
    """The t x t MDS matrix M, for the linear layer ``new_state[i] = sum_j M[i][j] * state[j]``.

    ``M[i][j] = 1 / (x_i + y_j)`` with x, y from the Grain stream (see the module docstring).
    """
    return _parameters(t)[1]
