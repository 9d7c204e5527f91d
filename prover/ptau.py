"""Powers of tau (Groth16 phase 1) in snarkjs' ``.ptau`` format.

A phase-1 accumulator of power ``p`` holds, for secret tau, alpha, beta::

    section 2   tau_g1[i]       = tau^i G1              i < 2^(p+1) - 1
    section 3   tau_g2[i]       = tau^i G2              i < 2^p
    section 4   alpha_tau_g1[i] = alpha tau^i G1        i < 2^p
    section 5   beta_tau_g1[i]  = beta tau^i G1         i < 2^p
    section 6   beta_g2         = beta G2
    section 7   the contribution records (the public transcript of the ceremony)

and, after :func:`prepare_phase2`, the same four vectors in the Lagrange basis of every domain
size ``n = 2^k`` (sections 12-15; the block for size n starts at point n - 1; section 12 also
has the block for 2^(p+1), computed with the missing top power taken as zero, like snarkjs).
The Lagrange basis of the size-n domain is the inverse DFT over the group,
``[L_i(tau)]G = n^-1 sum_j w^(-ij) [tau^j]G``, computed with a radix-2 group iFFT.

A contribution multiplies every point by the contributor's fresh secrets
(``tau_g1[i] *= t^i``, ``alpha_tau_g1[i] *= a t^i`` ...) drawn from the OS CSPRNG, and appends a
record whose proof of knowledge follows snarkjs exactly (hash-to-G2 of the challenge, BLAKE2b
transcript, partial hash state), so ``snarkjs powersoftau verify`` accepts our files and we
verify theirs.  Verification checks every record against its predecessor and the power
structure of every section with random linear combinations and pairings:
``e(sum r_i tau^i G1, tau G2) = e(sum r_i tau^(i+1) G1, G2)``.

A file with no contribution is a *development-only* accumulator (tau = 1): anybody can forge
proofs for keys derived from it (docs/PITFALLS.md #11).

This module also holds the snarkjs transcript primitives shared with phase 2
(:mod:`zkmargin.prover.phase2`): the uncompressed point encoding, a BLAKE2b whose state can be
exported in snarkjs' "partial hash" layout, ffjavascript's ChaCha generator and hash-to-G2.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional, Sequence

import numba as nb
import numpy as np

from zkmargin.algebra import (
    G1_GEN,
    G2_GEN,
    Q,
    R,
    g1_array_from_points,
    g1_ifft,
    g1_mul,
    g1_neg,
    g1_points_from_array,
    g1_scale_each,
    g2_add,
    g2_array_from_points,
    g2_ifft,
    g2_mul,
    g2_points_from_array,
    g2_scale_each,
    ntt,
)
from zkmargin.algebra.field import FQ, ints_to_array
from zkmargin.algebra.points import G2_B, g1_is_on_curve
from zkmargin.algebra.points import f2_mul as _f2_mul
from zkmargin.algebra.points import f2_pow as _f2_pow
from zkmargin.formats.binfile import FormatError, Reader, build_binfile, parse_binfile
from zkmargin.formats.snarkjs_bin import (
    G1_BYTES,
    G2_BYTES,
    MAX_POWER,
    N8,
    g1_array_from_section,
    g1_point_bytes,
    g2_array_from_section,
    g2_point_bytes,
    params_bytes,
    read_contribution_kind,
    read_g1_point,
    read_g2_point,
)

__all__ = [
    "PowersOfTau", "PtauContribution", "PtauPublicKey", "FormatError", "MAX_POWER",
    "new_accumulator", "contribute", "verify", "prepare_phase2", "parse_ptau", "ptau_to_bytes",
    "read_ptau", "write_ptau", "lagrange_g1", "lagrange_g2", "lagrange_block_scalars", "compute_lagrange_g1",
    "compute_lagrange_g2", "first_challenge_hash", "Blake2b", "ChaCha", "hash_to_g2",
    "g1_uncompressed", "g2_uncompressed", "RatioChecks", "VerifyReport", "DEV_ONLY_NOTE",
    "array_problem", "point_problems", "validate",
]

#: BLAKE2b-512 of the empty string: snarkjs' "blank" response hash before the first contribution.
_BLANK_HASH = hashlib.blake2b(b"", digest_size=64).digest()

DEV_ONLY_NOTE = ("DEVELOPMENT-ONLY: no contribution yet -- whoever made this file knows the "
                 "secrets and can forge proofs (docs/PITFALLS.md #11)")

Progress = Optional[Callable[[str, int, int], None]]


def _tick(progress: Progress, what: str, done: int, total: int) -> None:
    if progress is not None:
        progress(what, done, total)


# The checks (verify, validate, and phase 2's) run their MSMs on the prover's kernel set --
# the ahead-of-time native module when built -- and their few pairings in Python ints
# (tens of milliseconds for a batch): a check on a cold machine then compiles no JIT kernel.

def msm_g1(points: np.ndarray, scalars: np.ndarray):
    """sum scalars[i] * points[i] (G1 array, canonical scalars) on :func:`kernel_set`."""
    from zkmargin.algebra.kernel_set import kernel_set

    return kernel_set().msm_g1(points, scalars)


def msm_g2(points: np.ndarray, scalars: np.ndarray):
    from zkmargin.algebra.kernel_set import kernel_set

    return kernel_set().msm_g2(points, scalars)


def pairing_product_is_one(pairs) -> bool:
    """prod e(P_i, Q_i) == 1, in Python ints (:mod:`zkmargin.algebra.pairing_py`)."""
    from zkmargin.algebra.pairing_py import pairing_product_is_one_py

    return pairing_product_is_one_py(pairs)


# =============================================================================================
# snarkjs transcript primitives
# =============================================================================================

# ---- uncompressed point encoding (ffjavascript ``toRprUncompressed``) -----------------------
#
# x and y in normal (non-Montgomery) form, big-endian; for G2 each coordinate is the 64-byte
# big-endian reversal of (c0 LE || c1 LE), i.e. c1 first.  Infinity is all zeros.


def _uncompressed(arr: np.ndarray, coord_bytes: int) -> bytes:
    flat = np.ascontiguousarray(arr, dtype=np.uint64).reshape(-1, 4)
    if flat.shape[0] == 0:
        return b""
    canon = FQ.vec_from_mont(flat)
    raw = canon.astype("<u8").view(np.uint8).reshape(-1, coord_bytes)
    return np.ascontiguousarray(raw[:, ::-1]).tobytes()


def g1_uncompressed(arr: np.ndarray) -> bytes:
    """snarkjs' uncompressed encoding of a G1 array (64 bytes per point)."""
    return _uncompressed(arr, 32)


def g2_uncompressed(arr: np.ndarray) -> bytes:
    """snarkjs' uncompressed encoding of a G2 array (128 bytes per point)."""
    return _uncompressed(arr, 64)


_HALF_Q_LIMBS = np.array([((Q - 1) // 2 >> (64 * i)) & 0xFFFFFFFFFFFFFFFF for i in range(4)],
                         dtype=np.uint64)


@nb.njit(cache=True)
def _above(words, limit):
    """Per row of 4-limb canonical values: value > limit (limbs little-endian)."""
    out = np.zeros(words.shape[0], dtype=np.bool_)
    for i in range(words.shape[0]):
        for k in range(3, -1, -1):
            if words[i, k] != limit[k]:
                out[i] = words[i, k] > limit[k]
                break
    return out


def _compressed(arr: np.ndarray, fq_per_coord: int) -> bytes:
    """ffjavascript ``toRprCompressed``: x as in the uncompressed form, top bit 0x80 when y is
    "negative" (> (q-1)/2, judged on c1 unless it is zero, then c0), 0x40 alone for infinity."""
    flat = np.ascontiguousarray(arr, dtype=np.uint64).reshape(-1, 4)
    n = flat.shape[0] // (2 * fq_per_coord)
    if n == 0:
        return b""
    canon = FQ.vec_from_mont(flat).reshape(n, 2, fq_per_coord, 4)
    coord_bytes = 32 * fq_per_coord
    xs = np.ascontiguousarray(canon[:, 0]).astype("<u8").view(np.uint8).reshape(n, coord_bytes)
    out = np.ascontiguousarray(xs[:, ::-1])
    y = canon[:, 1]
    neg = _above(np.ascontiguousarray(y[:, -1]), _HALF_Q_LIMBS)
    if fq_per_coord == 2:
        c1_zero = ~y[:, 1].any(axis=1)
        neg = np.where(c1_zero, _above(np.ascontiguousarray(y[:, 0]), _HALF_Q_LIMBS), neg)
    out[neg, 0] |= 0x80
    inf = ~canon.reshape(n, -1).any(axis=1)
    out[inf] = 0
    out[inf, 0] = 0x40
    return out.tobytes()


def g1_compressed(arr: np.ndarray) -> bytes:
    """snarkjs' compressed encoding of a G1 array (32 bytes per point)."""
    return _compressed(arr, 1)


def g2_compressed(arr: np.ndarray) -> bytes:
    """snarkjs' compressed encoding of a G2 array (64 bytes per point)."""
    return _compressed(arr, 2)


def g1_point_uncompressed(p) -> bytes:
    return g1_uncompressed(g1_array_from_points([p]))


def g2_point_uncompressed(p) -> bytes:
    return g2_uncompressed(g2_array_from_points([p]))


# ---- BLAKE2b with an exportable state ---------------------------------------------------------

_B2_IV = np.array([0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B,
                   0xA54FF53A5F1D36F1, 0x510E527FADE682D1, 0x9B05688C2B3E6C1F,
                   0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179], dtype=np.uint64)
_B2_SIGMA = np.array([
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3]], dtype=np.int64)


#: the (a, b, c, d) lanes of the eight G mixes of a round: four columns, then four diagonals
_B2_LANES = np.array([[0, 4, 8, 12], [1, 5, 9, 13], [2, 6, 10, 14], [3, 7, 11, 15],
                      [0, 5, 10, 15], [1, 6, 11, 12], [2, 7, 8, 13], [3, 4, 9, 14]], dtype=np.int64)


@nb.njit(cache=True, inline="always")
def _rotr64(x, n):
    return (x >> np.uint64(n)) | (x << np.uint64(64 - n))


@nb.njit(cache=True)
def _b2_compress(h, m, t, last, iv, sigma):
    """RFC 7693 compression F of one 128-byte block ``m`` (16 LE words) into state ``h``."""
    v = np.empty(16, dtype=np.uint64)
    for i in range(8):
        v[i] = h[i]
        v[i + 8] = iv[i]
    v[12] ^= np.uint64(t)
    if last:
        v[14] = ~v[14]
    for r in range(12):
        s = sigma[r]
        for k in range(8):
            a, b, c, d = _B2_LANES[k, 0], _B2_LANES[k, 1], _B2_LANES[k, 2], _B2_LANES[k, 3]
            x = m[s[2 * k]]
            y = m[s[2 * k + 1]]
            v[a] = v[a] + v[b] + x
            v[d] = _rotr64(v[d] ^ v[a], 32)
            v[c] = v[c] + v[d]
            v[b] = _rotr64(v[b] ^ v[c], 24)
            v[a] = v[a] + v[b] + y
            v[d] = _rotr64(v[d] ^ v[a], 16)
            v[c] = v[c] + v[d]
            v[b] = _rotr64(v[b] ^ v[c], 63)
    for i in range(8):
        h[i] ^= v[i] ^ v[i + 8]


@nb.njit(cache=True)
def _b2_blocks(h, words, t0, iv, sigma):
    """Compress consecutive non-final blocks; ``t0`` is the byte counter before the first."""
    t = t0
    for b in range(words.shape[0] // 16):
        t += 128
        _b2_compress(h, words[16 * b:16 * b + 16], t, False, iv, sigma)


class Blake2b:
    """BLAKE2b-512 (unkeyed) with the state layout of snarkjs' ``partialHash``.

    Like every BLAKE2 implementation it keeps the last 1..128 bytes unprocessed until more
    data arrives (the final block is compressed with a flag).  :meth:`partial_state` returns
    the 216-byte record snarkjs stores in a ``.ptau`` contribution (buffer, chaining value,
    byte counts, as ``@noble/hashes`` lays them out), and :meth:`from_partial_state` resumes it.
    """

    def __init__(self) -> None:
        self._h = _B2_IV.copy()
        self._h[0] ^= np.uint64(0x01010000 ^ 64)
        self._buf = bytearray()
        self._length = 0  # bytes consumed, including the buffered ones

    def update(self, data: bytes) -> "Blake2b":
        data = bytes(data)
        if not data:
            return self
        self._length += len(data)
        if len(self._buf) + len(data) <= 128:
            self._buf += data
            return self
        # complete the buffer and compress it (more data follows it) ...
        consumed = self._length - len(data) - len(self._buf)   # bytes before the buffered ones
        take = 128 - len(self._buf)
        block = np.frombuffer(bytes(self._buf) + data[:take], dtype="<u8").astype(np.uint64)
        _b2_blocks(self._h, block, consumed, _B2_IV, _B2_SIGMA)
        consumed += 128
        rest = data[take:]
        # ... then every further full block except the last 1..128 bytes, which stay buffered
        n_full = (len(rest) - 1) // 128
        if n_full > 0:
            bulk = np.frombuffer(rest[:128 * n_full], dtype="<u8").astype(np.uint64)
            _b2_blocks(self._h, bulk, consumed, _B2_IV, _B2_SIGMA)
        self._buf = bytearray(rest[128 * n_full:])
        return self

    def copy(self) -> "Blake2b":
        other = Blake2b.__new__(Blake2b)
        other._h = self._h.copy()
        other._buf = bytearray(self._buf)
        other._length = self._length
        return other

    def digest(self) -> bytes:
        h = self._h.copy()
        block = bytes(self._buf) + bytes(128 - len(self._buf))
        _b2_compress(h, np.frombuffer(block, dtype="<u8").astype(np.uint64), self._length, True,
                     _B2_IV, _B2_SIGMA)
        return h.astype("<u8").tobytes()

    def partial_state(self) -> bytes:
        """The 216-byte snarkjs ``partialHash`` of this state."""
        buf = bytes(self._buf) + bytes(128 - len(self._buf))
        pos = len(self._buf)
        tail = struct.pack("<IIII", (self._length - pos) & 0xFFFFFFFF, (self._length - pos) >> 32,
                           pos, 0)
        return buf + self._h.astype("<u8").tobytes() + tail + bytes(8)

    @classmethod
    def from_partial_state(cls, blob: bytes) -> "Blake2b":
        if len(blob) != 216:
            raise FormatError("partial hash state must be 216 bytes")
        lo, hi, pos, _ = struct.unpack_from("<IIII", blob, 192)
        if not 0 < pos <= 128:
            raise FormatError(f"partial hash state: buffer position {pos} out of range")
        out = cls.__new__(cls)
        out._h = np.frombuffer(blob[128:192], dtype="<u8").astype(np.uint64)
        out._buf = bytearray(blob[:pos])
        out._length = lo + (hi << 32) + pos
        return out


# ---- ffjavascript's ChaCha20 generator and the "fromRng" samplers --------------------------


def _rotl32(x: int, n: int) -> int:
    return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


def _quarter(st: list[int], a: int, b: int, c: int, d: int) -> None:
    st[a] = (st[a] + st[b]) & 0xFFFFFFFF
    st[d] = _rotl32(st[d] ^ st[a], 16)
    st[c] = (st[c] + st[d]) & 0xFFFFFFFF
    st[b] = _rotl32(st[b] ^ st[c], 12)
    st[a] = (st[a] + st[b]) & 0xFFFFFFFF
    st[d] = _rotl32(st[d] ^ st[a], 8)
    st[c] = (st[c] + st[d]) & 0xFFFFFFFF
    st[b] = _rotl32(st[b] ^ st[c], 7)


class ChaCha:
    """ffjavascript's ChaCha20 stream (8-word seed, zero nonce, 32-bit outputs).

    Used by snarkjs to derive points from transcript hashes; reproduced bit for bit so that
    contribution proofs interoperate.  Not used for secrets (those come from ``secrets``).
    """

    def __init__(self, seed: Sequence[int]):
        if len(seed) != 8:
            raise ValueError("ChaCha seed is 8 words")
        self._state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574,
                       *[int(s) & 0xFFFFFFFF for s in seed], 0, 0, 0, 0]
        self._out: list[int] = []
        self._idx = 16

    @classmethod
    def from_hash(cls, digest: bytes) -> "ChaCha":
        """Seed from the first 32 bytes of a hash, read as big-endian words (snarkjs)."""
        return cls(struct.unpack(">8I", digest[:32]))

    def _refill(self) -> None:
        st = list(self._state)
        for _ in range(10):
            _quarter(st, 0, 4, 8, 12)
            _quarter(st, 1, 5, 9, 13)
            _quarter(st, 2, 6, 10, 14)
            _quarter(st, 3, 7, 11, 15)
            _quarter(st, 0, 5, 10, 15)
            _quarter(st, 1, 6, 11, 12)
            _quarter(st, 2, 7, 8, 13)
            _quarter(st, 3, 4, 9, 14)
        self._out = [(st[i] + self._state[i]) & 0xFFFFFFFF for i in range(16)]
        self._idx = 0
        for k in range(12, 16):  # 128-bit block counter
            self._state[k] = (self._state[k] + 1) & 0xFFFFFFFF
            if self._state[k]:
                break

    def next_u32(self) -> int:
        if self._idx == 16:
            self._refill()
        v = self._out[self._idx]
        self._idx += 1
        return v

    def next_u64(self) -> int:
        hi = self.next_u32()
        return (hi << 32) | self.next_u32()

    def next_bool(self) -> bool:
        return bool(self.next_u32() & 1)

    def field_element(self, p: int) -> int:
        """ffjavascript ``F.fromRng``: rejection-sample 4 x u64 masked to bitlen(p) bits.
        The sample is taken as the *Montgomery* representation, so the element is v / 2^256."""
        mask = (1 << p.bit_length()) - 1
        while True:
            v = 0
            for i in range(4):
                v |= self.next_u64() << (64 * i)
            v &= mask
            if v < p:
                return v * pow(1 << 256, -1, p) % p


def _fq_sqrt(a: int) -> Optional[int]:
    s = pow(a, (Q + 1) // 4, Q)
    return s if s * s % Q == a % Q else None


def _fq_is_negative(a: int) -> bool:
    return a > (Q - 1) // 2




def _f2_is_square(a) -> bool:
    norm = (a[0] * a[0] + a[1] * a[1]) % Q
    return norm == 0 or pow(norm, (Q - 1) // 2, Q) == 1


def _f2_sqrt(a):
    """A square root in F_q2 (q = 3 mod 4; Adj-Rodriguez algorithm 9); caller checks squareness."""
    a1 = _f2_pow(a, (Q - 3) // 4)
    alpha = _f2_mul(_f2_mul(a1, a1), a)
    x0 = _f2_mul(a1, a)
    if alpha == (Q - 1, 0):
        return _f2_mul((0, 1), x0)
    b = _f2_pow(((1 + alpha[0]) % Q, alpha[1]), (Q - 1) // 2)
    return _f2_mul(b, x0)


def _f2_is_negative(a) -> bool:
    return _fq_is_negative(a[0]) if a[1] == 0 else _fq_is_negative(a[1])


#: ffjavascript's G2 cofactor for BN254 (it multiplies sampled points by this, unreduced).
G2_COFACTOR = 0x30644E72E131A029B85045B68181585E06CEECDA572A2489345F2299C0F9FA8D


def _g2_mul_unreduced(p, k: int):
    """k * p by double-and-add without reducing k mod r (p need not be in the subgroup)."""
    acc = None
    for bit in bin(k)[2:]:
        acc = g2_add(acc, acc)
        if bit == "1":
            acc = g2_add(acc, p)
    return acc


def g2_from_rng(rng: ChaCha):
    """ffjavascript ``G2.fromRng``: sample x, fix the sign of y, clear the cofactor."""
    while True:
        x = (rng.field_element(Q), rng.field_element(Q))
        greatest = rng.next_bool()
        x3b = _f2_mul(_f2_mul(x, x), x)
        x3b = ((x3b[0] + G2_B[0]) % Q, (x3b[1] + G2_B[1]) % Q)
        if _f2_is_square(x3b):
            break
    y = _f2_sqrt(x3b)
    if greatest ^ _f2_is_negative(y):
        y = ((-y[0]) % Q, (-y[1]) % Q)
    return _g2_mul_unreduced((x, y), G2_COFACTOR)


def g1_from_rng(rng: ChaCha):
    """ffjavascript ``G1.fromRng`` (G1 has cofactor 1)."""
    while True:
        x = rng.field_element(Q)
        greatest = rng.next_bool()
        y = _fq_sqrt((x * x * x + 3) % Q)
        if y is not None:
            break
    if greatest ^ _fq_is_negative(y):
        y = (-y) % Q
    return (x, y)


def hash_to_g2(digest: bytes):
    """snarkjs ``hashToG2``: the G2 point derived from a transcript hash (its proof-of-knowledge
    base), via ChaCha seeded with the hash."""
    return g2_from_rng(ChaCha.from_hash(digest))


# ---- batched same-ratio checks -------------------------------------------------------------


class RatioChecks:
    """Collects "same ratio" claims ``e(a, d) = e(b, c)`` (i.e. b/a = d/c in the exponent) and
    checks them all with one multi-pairing under random 128-bit weights; on failure, re-checks
    one by one to name the culprit."""

    def __init__(self) -> None:
        self._items: list[tuple[str, object, object, object, object]] = []

    def add(self, label: str, a_g1, b_g1, c_g2, d_g2) -> None:
        """Claim: b_g1 = x a_g1 and d_g2 = x c_g2 for the same secret x (all non-zero)."""
        self._items.append((label, a_g1, b_g1, c_g2, d_g2))

    @staticmethod
    def _one(a, b, c, d) -> bool:
        if a is None or b is None or c is None or d is None:
            return False
        return pairing_product_is_one([(a, d), (g1_neg(b), c)])

    def failures(self) -> list[str]:
        """Labels of the failing claims (empty: all hold)."""
        items = self._items
        if not items:
            return []
        if any(x is None for it in items for x in it[1:]):
            return [it[0] for it in items if any(x is None for x in it[1:])]
        pairs = []
        for _, a, b, c, d in items:
            w = secrets.randbits(128) | 1
            pairs.append((g1_mul(a, w), d))
            pairs.append((g1_neg(g1_mul(b, w)), c))
        if pairing_product_is_one(pairs):
            return []
        return [label for label, a, b, c, d in items if not self._one(a, b, c, d)]


def _rand_scalars(n: int, bits: int = 128) -> np.ndarray:
    """n uniformly random scalars of ``bits`` bits (for random linear combinations)."""
    raw = np.frombuffer(secrets.token_bytes(32 * n), dtype="<u8").reshape(n, 4).astype(np.uint64)
    if bits < 256:
        raw[:, bits // 64:] = 0
    return raw


# =============================================================================================
# The accumulator
# =============================================================================================


@dataclass
class PtauPublicKey:
    """A contributor's proof of knowledge of (tau, alpha, beta): for each secret x a random G1
    point s, x*s, and x*H(challenge, s, x*s) in G2."""

    tau_g1_s: object
    tau_g1_sx: object
    alpha_g1_s: object
    alpha_g1_sx: object
    beta_g1_s: object
    beta_g1_sx: object
    tau_g2_spx: object
    alpha_g2_spx: object
    beta_g2_spx: object

    def g1_points(self) -> list:
        return [self.tau_g1_s, self.tau_g1_sx, self.alpha_g1_s, self.alpha_g1_sx,
                self.beta_g1_s, self.beta_g1_sx]

    def g2_points(self) -> list:
        return [self.tau_g2_spx, self.alpha_g2_spx, self.beta_g2_spx]

    def uncompressed(self) -> bytes:
        return (g1_uncompressed(g1_array_from_points(self.g1_points()))
                + g2_uncompressed(g2_array_from_points(self.g2_points())))

    def lem(self) -> bytes:
        return (g1_array_from_points(self.g1_points()).astype("<u8").tobytes()
                + g2_array_from_points(self.g2_points()).astype("<u8").tobytes())


@dataclass
class PtauContribution:
    """One section-7 record: the first points after this contribution, its public key, the
    BLAKE2b state of its response (snarkjs ``partialHash``) and the next challenge hash."""

    tau_g1: object
    tau_g2: object
    alpha_g1: object
    beta_g1: object
    beta_g2: object
    key: PtauPublicKey
    partial_hash: bytes
    next_challenge: bytes
    type: int = 0                      #: 0 = random contribution, 1 = beacon
    name: Optional[str] = None
    num_iterations_exp: Optional[int] = None
    beacon_hash: Optional[bytes] = None

    def response_hash(self) -> bytes:
        h = Blake2b.from_partial_state(self.partial_hash)
        h.update(self.key.uncompressed())
        return h.digest()


@dataclass
class PowersOfTau:
    """A phase-1 accumulator (see the module docstring); point vectors are G1/G2 arrays."""

    power: int
    ceremony_power: int
    tau_g1: np.ndarray
    tau_g2: np.ndarray
    alpha_tau_g1: np.ndarray
    beta_tau_g1: np.ndarray
    beta_g2: np.ndarray                 #: G2 array of length 1
    contributions: list[PtauContribution] = field(default_factory=list)
    lagrange_tau_g1: Optional[np.ndarray] = None         #: section 12
    lagrange_tau_g2: Optional[np.ndarray] = None         #: section 13
    lagrange_alpha_tau_g1: Optional[np.ndarray] = None   #: section 14
    lagrange_beta_tau_g1: Optional[np.ndarray] = None    #: section 15

    @property
    def is_prepared(self) -> bool:
        return self.lagrange_tau_g1 is not None

    @property
    def development_only(self) -> bool:
        return not self.contributions

    def first_challenge(self) -> bytes:
        """The challenge the next contribution answers."""
        if self.contributions:
            return self.contributions[-1].next_challenge
        return first_challenge_hash(self.power)


def first_challenge_hash(power: int) -> bytes:
    """snarkjs' hash of the blank accumulator: BLAKE2b(blank response || generators...)."""
    h = hashlib.blake2b(digest_size=64)
    h.update(_BLANK_HASH)
    g1 = g1_point_uncompressed(G1_GEN)
    g2 = g2_point_uncompressed(G2_GEN)
    chunk = 4096

    def repeat(b: bytes, n: int) -> None:
        big = b * chunk
        for _ in range(n // chunk):
            h.update(big)
        h.update(b * (n % chunk))

    repeat(g1, 2 ** (power + 1) - 1)
    repeat(g2, 2 ** power)
    repeat(g1, 2 ** power)
    repeat(g1, 2 ** power)
    h.update(g2)
    return h.digest()


def new_accumulator(power: int) -> PowersOfTau:
    """The blank accumulator of ``power`` (tau = alpha = beta = 1): development-only until
    someone contributes."""
    _check_power(power)
    n = 2 ** power
    g1 = g1_array_from_points([G1_GEN])
    g2 = g2_array_from_points([G2_GEN])
    return PowersOfTau(power, power, np.repeat(g1, 2 * n - 1, axis=0), np.repeat(g2, n, axis=0),
                       np.repeat(g1, n, axis=0), np.repeat(g1, n, axis=0), g2.copy())


def _check_power(power: int) -> None:
    if not isinstance(power, int) or not 1 <= power <= MAX_POWER:
        raise ValueError(f"power must be an integer in 1..{MAX_POWER}, got {power!r}")


def _powers(base: int, n: int, first: int = 1) -> np.ndarray:
    """Canonical ``first * base^i`` for i < n."""
    from zkmargin.algebra.kernel_set import kernel_set

    return kernel_set().powers(base % R, n, first % R)


def _random_scalar() -> int:
    return secrets.randbelow(R - 1) + 1


def _make_key(challenge: bytes, tau: int, alpha: int, beta: int) -> tuple[PtauPublicKey, list]:
    """Proofs of knowledge for the three secrets (snarkjs ``createPTauKey`` with OS entropy)."""
    parts = {}
    for pers, (name, x) in enumerate((("tau", tau), ("alpha", alpha), ("beta", beta))):
        s = g1_mul(G1_GEN, _random_scalar())
        sx = g1_mul(s, x)
        sp = _g2_sp(pers, challenge, s, sx)
        parts[name] = (s, sx, g2_mul(sp, x))
    key = PtauPublicKey(parts["tau"][0], parts["tau"][1], parts["alpha"][0], parts["alpha"][1],
                        parts["beta"][0], parts["beta"][1], parts["tau"][2], parts["alpha"][2],
                        parts["beta"][2])
    return key, parts


def _g2_sp(personalization: int, challenge: bytes, g1_s, g1_sx):
    h = hashlib.blake2b(digest_size=64)
    h.update(bytes([personalization]))
    h.update(challenge)
    h.update(g1_point_uncompressed(g1_s))
    h.update(g1_point_uncompressed(g1_sx))
    return hash_to_g2(h.digest())


def _section_bytes_compressed(acc: PowersOfTau) -> list[bytes]:
    return [g1_compressed(acc.tau_g1), g2_compressed(acc.tau_g2), g1_compressed(acc.alpha_tau_g1),
            g1_compressed(acc.beta_tau_g1), g2_compressed(acc.beta_g2)]


def _section_bytes_uncompressed(acc: PowersOfTau) -> list[bytes]:
    return [g1_uncompressed(acc.tau_g1), g2_uncompressed(acc.tau_g2),
            g1_uncompressed(acc.alpha_tau_g1), g1_uncompressed(acc.beta_tau_g1),
            g2_uncompressed(acc.beta_g2)]


def contribute(acc: PowersOfTau, name: Optional[str] = None, *, progress: Progress = None,
               _secrets: Optional[tuple[int, int, int]] = None) -> PowersOfTau:
    """Apply fresh secrets (tau, alpha, beta from the OS CSPRNG) and append the record.

    The secrets live only in local variables and are dropped on return (toxic waste).
    ``_secrets`` is for tests only.  Lagrange sections, if any, are dropped: run
    :func:`prepare_phase2` again afterwards.
    """
    if acc.power != acc.ceremony_power:
        raise ValueError("this accumulator was reduced (power < ceremony power): "
                         "contributions go into the full-size file")
    tau, alpha, beta = _secrets or (_random_scalar(), _random_scalar(), _random_scalar())
    challenge = acc.first_challenge()
    key, _ = _make_key(challenge, tau, alpha, beta)
    n = 2 ** acc.power
    _tick(progress, "contribute: tau*G1", 0, 5)
    tau_g1 = _scale_section(acc.tau_g1, _powers(tau, 2 * n - 1), False)
    _tick(progress, "contribute: tau*G2", 1, 5)
    tau_g2 = _scale_section(acc.tau_g2, _powers(tau, n), True)
    _tick(progress, "contribute: alpha*tau*G1", 2, 5)
    alpha_tau_g1 = _scale_section(acc.alpha_tau_g1, _powers(tau, n, alpha), False)
    _tick(progress, "contribute: beta*tau*G1", 3, 5)
    beta_tau_g1 = _scale_section(acc.beta_tau_g1, _powers(tau, n, beta), False)
    beta_g2 = g2_scale_each(acc.beta_g2, ints_to_array([beta]))
    del tau, alpha, beta
    new = PowersOfTau(acc.power, acc.ceremony_power, tau_g1, tau_g2, alpha_tau_g1, beta_tau_g1,
                      beta_g2, list(acc.contributions))
    _tick(progress, "contribute: hashing", 4, 5)
    # snarkjs hashes the response with compressed points and the next challenge with
    # uncompressed ones
    response = Blake2b()
    response.update(challenge)
    for s in _section_bytes_compressed(new):
        response.update(s)
    partial = response.partial_state()
    response.update(key.uncompressed())
    response_hash = response.digest()
    nxt = hashlib.blake2b(digest_size=64)
    nxt.update(response_hash)
    for s in _section_bytes_uncompressed(new):
        nxt.update(s)
    g1s = g1_points_from_array(np.concatenate([tau_g1[1:2], alpha_tau_g1[:1], beta_tau_g1[:1]]))
    g2s = g2_points_from_array(np.concatenate([tau_g2[1:2], beta_g2[:1]]))
    rec = PtauContribution(tau_g1=g1s[0], tau_g2=g2s[0], alpha_g1=g1s[1], beta_g1=g1s[2],
                           beta_g2=g2s[1], key=key, partial_hash=partial,
                           next_challenge=nxt.digest(), type=0, name=_clip_name(name))
    new.contributions.append(rec)
    _tick(progress, "contribute: done", 5, 5)
    return new


def _scale_section(points: np.ndarray, scalars: np.ndarray, g2: bool) -> np.ndarray:
    """points[i] * scalars[i]. A section whose points are all the same point -- a blank
    accumulator's, where every point is the generator -- is computed as fixed-base
    multiplications of that point: the same values (tests compare), several times faster than
    independent scalar multiplications (G2 above all)."""
    from zkmargin.algebra import g1_fixed_base_muls, g2_fixed_base_muls
    if points.shape[0] > 1 and bool((points == points[:1]).all()):
        if g2:
            return g2_fixed_base_muls(g2_points_from_array(points[:1])[0], scalars)
        return g1_fixed_base_muls(g1_points_from_array(points[:1])[0], scalars)
    return (g2_scale_each if g2 else g1_scale_each)(points, scalars)


def _clip_name(name: Optional[str]) -> Optional[str]:
    if not name:
        return None
    data = name.encode("utf-8")[:64]
    return data.decode("utf-8", errors="ignore") or None


# ---- Lagrange bases (prepare phase 2) --------------------------------------------------------


def compute_lagrange_g1(tau_points: np.ndarray, n: int) -> np.ndarray:
    """[L_i(tau)]G1 for the size-n domain from the first n powers (missing ones taken as zero)."""
    block = np.zeros((n, 2, 4), dtype=np.uint64)
    m = min(n, tau_points.shape[0])
    block[:m] = tau_points[:m]
    return g1_ifft(block)


def compute_lagrange_g2(tau_points: np.ndarray, n: int) -> np.ndarray:
    block = np.zeros((n, 2, 2, 4), dtype=np.uint64)
    m = min(n, tau_points.shape[0])
    block[:m] = tau_points[:m]
    return g2_ifft(block)


def prepare_phase2(acc: PowersOfTau, *, progress: Progress = None) -> PowersOfTau:
    """Add sections 12-15: the Lagrange bases of every domain size 2^0 .. 2^power (and
    2^(power+1) for tau*G1, whose top power is missing and taken as zero, as in snarkjs)."""
    p = acc.power
    jobs = [("tauG1", acc.tau_g1, compute_lagrange_g1, p + 1), ("tauG2", acc.tau_g2, compute_lagrange_g2, p),
            ("alphaTauG1", acc.alpha_tau_g1, compute_lagrange_g1, p),
            ("betaTauG1", acc.beta_tau_g1, compute_lagrange_g1, p)]
    total = sum(2 ** (top + 1) - 1 for *_, top in jobs)
    done = 0
    out = []
    for label, pts, fn, top in jobs:
        blocks = []
        for k in range(top + 1):
            _tick(progress, f"prepare {label} 2^{k}", done, total)
            blocks.append(fn(pts, 2 ** k))
            done += 2 ** k
        out.append(np.concatenate(blocks))
    _tick(progress, "prepare: done", total, total)
    return replace(acc, lagrange_tau_g1=out[0], lagrange_tau_g2=out[1],
                   lagrange_alpha_tau_g1=out[2], lagrange_beta_tau_g1=out[3])


def _lagrange_block(section: Optional[np.ndarray], n: int) -> Optional[np.ndarray]:
    if section is None or section.shape[0] < 2 * n - 1:
        return None
    return section[n - 1:2 * n - 1]


def lagrange_block_scalars(pows: np.ndarray, m: int, *, missing_top: bool = False) -> np.ndarray:
    """f L_i(tau) for i < m, canonical uint64[m, 4], from ``pows[j] = f tau^j`` (at least m
    of them): L_i(X) = m^-1 sum_j w^(-ij) X^j (w the m-th root of unity), so the block is the
    inverse NTT of the first m powers.  ``missing_top``: the ptau lacks f tau^(m-1) (a power-k
    ptau has 2^(k+1) - 1 tau*G1 points, so its largest tau*G1 block); snarkjs' Lagrange points
    take it as zero, and so does this."""
    from zkmargin.algebra.kernel_set import kernel_set

    v = np.array(pows[:m], dtype=np.uint64)
    if missing_top:
        v[m - 1] = 0
    return kernel_set().intt(v)


def lagrange_g1(acc: PowersOfTau, which: str, n: int) -> np.ndarray:
    """Lagrange basis of size n for ``which`` in {"tau", "alpha", "beta"} (G1): from the
    prepared sections when present, else computed now."""
    sec, src = {"tau": (acc.lagrange_tau_g1, acc.tau_g1),
                "alpha": (acc.lagrange_alpha_tau_g1, acc.alpha_tau_g1),
                "beta": (acc.lagrange_beta_tau_g1, acc.beta_tau_g1)}[which]
    blk = _lagrange_block(sec, n)
    if blk is not None:
        return blk
    limit = 2 ** (acc.power + 1) if which == "tau" else 2 ** acc.power
    if n > limit:
        raise ValueError(f"domain 2^{n.bit_length() - 1} too large for a power-{acc.power} ptau")
    return compute_lagrange_g1(src, n)


def lagrange_g2(acc: PowersOfTau, n: int) -> np.ndarray:
    blk = _lagrange_block(acc.lagrange_tau_g2, n)
    if blk is not None:
        return blk
    if n > 2 ** acc.power:
        raise ValueError(f"domain 2^{n.bit_length() - 1} too large for a power-{acc.power} ptau")
    return compute_lagrange_g2(acc.tau_g2, n)


# =============================================================================================
# File format
# =============================================================================================


def _parse_contributions(data: bytes) -> list[PtauContribution]:
    r = Reader(data, "ptau contributions")
    n = r.u32()
    min_size = 2 * G1_BYTES + 2 * G2_BYTES + G1_BYTES + 6 * G1_BYTES + 3 * G2_BYTES + 216 + 64 + 8
    if n * min_size > len(data):
        raise FormatError(f"ptau contributions: {n} records declared, section has {len(data)} bytes")
    out = []
    for i in range(n):
        what = f"ptau contribution #{i + 1}"
        tau_g1 = read_g1_point(r, what)
        tau_g2 = read_g2_point(r, what)
        alpha_g1 = read_g1_point(r, what)
        beta_g1 = read_g1_point(r, what)
        beta_g2 = read_g2_point(r, what)
        g1 = [read_g1_point(r, what) for _ in range(6)]
        g2 = [read_g2_point(r, what) for _ in range(3)]
        key = PtauPublicKey(*g1, *g2)
        partial = r.take(216)
        nxt = r.take(64)
        type_, params = read_contribution_kind(r, what)
        out.append(PtauContribution(tau_g1, tau_g2, alpha_g1, beta_g1, beta_g2, key, partial, nxt,
                                    type_, params.get("name"), params.get("num_iterations_exp"),
                                    params.get("beacon_hash")))
    r.expect_end()
    return out


def _contributions_bytes(contribs: list[PtauContribution]) -> bytes:
    parts = [struct.pack("<I", len(contribs))]
    for c in contribs:
        parts += [g1_point_bytes(c.tau_g1), g2_point_bytes(c.tau_g2), g1_point_bytes(c.alpha_g1),
                  g1_point_bytes(c.beta_g1), g2_point_bytes(c.beta_g2), c.key.lem(),
                  c.partial_hash, c.next_challenge, struct.pack("<I", c.type),
                  params_bytes(c.name, c.type, c.num_iterations_exp, c.beacon_hash)]
    return b"".join(parts)


def parse_ptau(data: bytes, *, check_points: bool = True, max_power: int = MAX_POWER) -> PowersOfTau:
    """Parse ``.ptau`` bytes (snarkjs format, prepared or not).  Every size is checked against
    the header before use; coordinates must be reduced and points on their curves."""
    f = parse_binfile(data, b"ptau", max_version=1)
    h = Reader(f.section(1, name="header"), "ptau header")
    n8 = h.u32()
    if n8 != N8:
        raise FormatError(f"ptau header: field size {n8} bytes, expected {N8} (BN254)")
    if h.bigint(n8) != Q:
        raise FormatError("ptau header: base field is not BN254's q")
    power, ceremony_power = h.u32(), h.u32()
    h.expect_end()
    if not 1 <= power <= max_power:
        raise FormatError(f"ptau header: power {power} outside 1..{max_power}")
    if not power <= ceremony_power <= MAX_POWER:
        raise FormatError(f"ptau header: ceremony power {ceremony_power} inconsistent with power {power}")
    n = 2 ** power
    g1 = lambda k, cnt, nm: g1_array_from_section(f.section(k, name=nm), cnt, f"ptau {nm}",  # noqa: E731
                                                  check=check_points)
    g2 = lambda k, cnt, nm: g2_array_from_section(f.section(k, name=nm), cnt, f"ptau {nm}",  # noqa: E731
                                                  check=check_points)
    acc = PowersOfTau(power, ceremony_power, g1(2, 2 * n - 1, "tauG1"), g2(3, n, "tauG2"),
                      g1(4, n, "alphaTauG1"), g1(5, n, "betaTauG1"), g2(6, 1, "betaG2"),
                      _parse_contributions(f.section(7, name="contributions")))
    present = [k for k in (12, 13, 14, 15) if f.has(k)]
    if present and len(present) != 4:
        raise FormatError(f"ptau: incomplete phase-2 sections (only {present})")
    if present:
        acc.lagrange_tau_g1 = g1(12, 4 * n - 1, "lagrange tauG1")
        acc.lagrange_tau_g2 = g2(13, 2 * n - 1, "lagrange tauG2")
        acc.lagrange_alpha_tau_g1 = g1(14, 2 * n - 1, "lagrange alphaTauG1")
        acc.lagrange_beta_tau_g1 = g1(15, 2 * n - 1, "lagrange betaTauG1")
    return acc


def read_ptau(path: str | Path, **kwargs) -> PowersOfTau:
    return parse_ptau(Path(path).read_bytes(), **kwargs)


def ptau_to_bytes(acc: PowersOfTau) -> bytes:
    """Serialise in snarkjs' section order (1-7, then 12-15 when prepared)."""
    header = struct.pack("<I", N8) + Q.to_bytes(N8, "little") + struct.pack("<II", acc.power,
                                                                            acc.ceremony_power)
    b = lambda a: np.ascontiguousarray(a, dtype="<u8").tobytes()  # noqa: E731
    sections = [(1, header), (2, b(acc.tau_g1)), (3, b(acc.tau_g2)), (4, b(acc.alpha_tau_g1)),
                (5, b(acc.beta_tau_g1)), (6, b(acc.beta_g2)), (7, _contributions_bytes(acc.contributions))]
    if acc.is_prepared:
        sections += [(12, b(acc.lagrange_tau_g1)), (13, b(acc.lagrange_tau_g2)),
                     (14, b(acc.lagrange_alpha_tau_g1)), (15, b(acc.lagrange_beta_tau_g1))]
    return build_binfile(b"ptau", 1, sections)


def write_ptau(acc: PowersOfTau, path: str | Path) -> None:
    Path(path).write_bytes(ptau_to_bytes(acc))


# =============================================================================================
# Verification
# =============================================================================================


@dataclass
class VerifyReport:
    ok: bool
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


#: Largest beacon iteration exponent we re-derive (2^exp SHA-256 rounds; public ceremonies use
#: about 10).  A file claiming more is reported unverifiable instead of hanging the verifier.
MAX_BEACON_EXP = 28


def beacon_rng(beacon_hash: bytes, exp: int) -> "ChaCha":
    """snarkjs ``rngFromBeaconParams``: ChaCha seeded by SHA-256 iterated 2^exp times."""
    if not 0 <= exp <= MAX_BEACON_EXP:
        raise ValueError(f"beacon iteration exponent {exp} exceeds {MAX_BEACON_EXP}: not verifiable here")
    cur = beacon_hash
    for _ in range(2 ** exp):
        cur = hashlib.sha256(cur).digest()
    return ChaCha.from_hash(cur)


def _beacon_key(challenge: bytes, beacon_hash: bytes, exp: int) -> PtauPublicKey:
    """snarkjs ``keyFromBeacon``: the deterministic key of a beacon contribution."""
    rng = beacon_rng(beacon_hash, exp)
    prv = [rng.field_element(R) for _ in range(3)]
    parts = []
    for pers, x in enumerate(prv):
        s = g1_from_rng(rng)
        sx = g1_mul(s, x)
        parts.append((s, sx, g2_mul(_g2_sp(pers, challenge, s, sx), x)))
    (ts, tsx, t2), (as_, asx, a2), (bs, bsx, b2) = parts
    return PtauPublicKey(ts, tsx, as_, asx, bs, bsx, t2, a2, b2)


def _check_record(checks: RatioChecks, cur: PtauContribution, prev_points: tuple,
                  prev_challenge: bytes, label: str, errors: list[str]) -> None:
    """Queue the pairing checks that tie record ``cur`` to its predecessor (snarkjs rules)."""
    p_tau_g1, p_tau_g2, p_alpha_g1, p_beta_g1, p_beta_g2 = prev_points
    k = cur.key
    for pt in k.g1_points():
        if not g1_is_on_curve(pt) or pt is None:
            errors.append(f"{label}: public key has an invalid G1 point")
            return
    if cur.type == 1:
        try:
            expected = _beacon_key(prev_challenge, cur.beacon_hash or b"", cur.num_iterations_exp or 0)
        except ValueError as e:
            errors.append(f"{label}: {e}")
        else:
            if expected != k:
                errors.append(f"{label}: beacon key is not derived from the beacon")
    sp = [_g2_sp(i, prev_challenge, s, sx) for i, (s, sx) in
          enumerate(((k.tau_g1_s, k.tau_g1_sx), (k.alpha_g1_s, k.alpha_g1_sx), (k.beta_g1_s, k.beta_g1_sx)))]
    checks.add(f"{label}: tau key", k.tau_g1_s, k.tau_g1_sx, sp[0], k.tau_g2_spx)
    checks.add(f"{label}: alpha key", k.alpha_g1_s, k.alpha_g1_sx, sp[1], k.alpha_g2_spx)
    checks.add(f"{label}: beta key", k.beta_g1_s, k.beta_g1_sx, sp[2], k.beta_g2_spx)
    checks.add(f"{label}: tau*G1 does not follow the previous contribution", p_tau_g1, cur.tau_g1, sp[0], k.tau_g2_spx)
    checks.add(f"{label}: tau*G2 does not follow the previous contribution", k.tau_g1_s, k.tau_g1_sx, p_tau_g2, cur.tau_g2)
    checks.add(f"{label}: alpha*G1 does not follow the previous contribution", p_alpha_g1, cur.alpha_g1, sp[1], k.alpha_g2_spx)
    checks.add(f"{label}: beta*G1 does not follow the previous contribution", p_beta_g1, cur.beta_g1, sp[2], k.beta_g2_spx)
    checks.add(f"{label}: beta*G2 does not follow the previous contribution", k.beta_g1_s, k.beta_g1_sx, p_beta_g2, cur.beta_g2)


def _shifted_rlc_g1(points: np.ndarray) -> tuple:
    """(sum r_i P_i, sum r_i P_(i+1)) over i < n-1 for random r: the pair of a power check."""
    n = points.shape[0]
    if n < 2:
        return None, None
    r = _rand_scalars(n - 1)
    return msm_g1(points[:-1], r), msm_g1(points[1:], r)


def _shifted_rlc_g2(points: np.ndarray) -> tuple:
    n = points.shape[0]
    if n < 2:
        return None, None
    r = _rand_scalars(n - 1)
    return msm_g2(points[:-1], r), msm_g2(points[1:], r)


def verify(acc: PowersOfTau, *, progress: Progress = None) -> VerifyReport:
    """Verify the accumulator: the contribution chain (proofs of knowledge, each record
    following the previous one), the power structure of every section, the last record against
    the sections, the challenge hash, and the Lagrange sections if present.

    A prepared accumulator is first checked with the power and Lagrange checks of each G1
    section folded into one claim (:func:`_combined_g1_check`); only when that fails are the
    checks run one by one, to name what is wrong."""
    if acc.is_prepared and acc.contributions:
        report = _verify(acc, progress, combined=True)
        if report.ok:
            return report
    return _verify(acc, progress, combined=False)


def _combined_g1_check(mono: np.ndarray, lag: np.ndarray, top: int) -> tuple:
    """One pairing claim for a G1 section ``mono`` (claimed [f tau^j]G1) and its Lagrange
    section ``lag``: with random r (power check), s (Lagrange check) and rho (128-bit each),

        A = sum_(j < N-1) r_j P_j,     B = sum_j (r_(j-1) + rho c_j) P_j - rho sum_i s_i L_i

    where c = :func:`_lagrange_coefficients` of s.  Returns (A, B) for the claim B = tau A
    (``e(A, tau G2) = e(B, G2)``).  It holds for a correct section; otherwise
    B - tau A = (sum r_(j-1) P_j - tau A) + rho (sum c_j P_j - sum s_i L_i): for r and s fixed,
    the two brackets are the separate power and Lagrange discrepancies, and since G1 has prime
    order a non-zero one leaves the sum zero for at most one rho in 2^128."""
    from zkmargin.algebra import g1_add
    from zkmargin.algebra.kernel_set import kernel_set

    n = mono.shape[0]
    if n < 2:
        return None, None
    ks = kernel_set()
    r, s, rho = _rand_scalars(n - 1), _rand_scalars(lag.shape[0]), _rand_scalars(1)
    rho_int = int(sum(int(w) << (64 * i) for i, w in enumerate(rho[0])))
    a = msm_g1(mono[:-1], r)
    scal = ks.mul_sub(_lagrange_coefficients(s, n, top), np.repeat(rho, n, axis=0))   # rho c
    shifted = np.zeros((n, 4), dtype=np.uint64)
    shifted[1:] = r
    scal = ks.mul_sub(scal, _fr_constant(1, n), ks.mul_sub(shifted, _fr_constant(R - 1, n)))   # + r_(j-1)
    b = g1_add(msm_g1(mono, scal), g1_neg(g1_mul(msm_g1(lag, s), rho_int)))
    return a, b


def _verify(acc: PowersOfTau, progress: Progress, *, combined: bool) -> VerifyReport:
    """:func:`verify`; ``combined``: the G1 sections' power and Lagrange checks as one claim
    each (pass/fail only: the messages then name the section, not the check)."""
    errors: list[str] = []
    notes: list[str] = []
    if not acc.contributions:
        return VerifyReport(False, [DEV_ONLY_NOTE], notes)
    checks = RatioChecks()
    initial = (G1_GEN, G2_GEN, G1_GEN, G1_GEN, G2_GEN)
    prev_pts, prev_challenge = initial, first_challenge_hash(acc.ceremony_power)
    for i, c in enumerate(acc.contributions):
        _check_record(checks, c, prev_pts, prev_challenge, f"contribution #{i + 1}", errors)
        prev_pts = (c.tau_g1, c.tau_g2, c.alpha_g1, c.beta_g1, c.beta_g2)
        prev_challenge = c.next_challenge
        notes.append(f"contribution #{i + 1}: {c.name or '(no name)'}"
                     + (" [beacon]" if c.type == 1 else ""))
    last = acc.contributions[-1]
    _tick(progress, "verify: sections", 1, 4)
    first_g1 = g1_points_from_array(np.concatenate([acc.tau_g1[:2], acc.alpha_tau_g1[:1],
                                                    acc.beta_tau_g1[:1]]))
    first_g2 = g2_points_from_array(np.concatenate([acc.tau_g2[:2], acc.beta_g2[:1]]))
    if first_g1[0] != G1_GEN:
        errors.append("tauG1[0] is not the generator")
    if first_g2[0] != G2_GEN:
        errors.append("tauG2[0] is not the generator")
    if first_g1[1] != last.tau_g1 or first_g2[1] != last.tau_g2:
        errors.append("tau section does not match the last contribution record")
    if first_g1[2] != last.alpha_g1:
        errors.append("alphaTauG1[0] does not match the last contribution record")
    if first_g1[3] != last.beta_g1:
        errors.append("betaTauG1[0] does not match the last contribution record")
    if first_g2[2] != last.beta_g2:
        errors.append("betaG2 does not match the last contribution record")
    g1_jobs = [(lbl, mono, lag, top) for lbl, mono, lag, _msm, top in _lagrange_jobs(acc) if lbl != "tauG2"]
    for label, mono, lag, top in g1_jobs:
        a, b = _combined_g1_check(mono, lag, top) if combined else _shifted_rlc_g1(mono)
        checks.add(f"{label} section: powers do not match" + (" (or its Lagrange section)" if combined else ""),
                   a, b, G2_GEN, last.tau_g2)
    a, b = _shifted_rlc_g2(acc.tau_g2)
    checks.add("tauG2 section: powers do not match", G1_GEN, last.tau_g1, a, b)
    _tick(progress, "verify: pairings", 2, 4)
    errors += checks.failures()
    if acc.power == acc.ceremony_power:
        nxt = hashlib.blake2b(digest_size=64)
        nxt.update(last.response_hash())
        for s in _section_bytes_uncompressed(acc):
            nxt.update(s)
        if nxt.digest() != last.next_challenge:
            errors.append("the sections' hash does not match the last contribution's next challenge")
    if acc.is_prepared:
        _tick(progress, "verify: Lagrange sections", 3, 4)
        errors += _verify_lagrange(acc, only=("tauG2",) if combined else None)
    else:
        notes.append("no phase-2 (Lagrange) sections: run `powersoftau prepare` before setup")
    _tick(progress, "verify: done", 4, 4)
    return VerifyReport(not errors, errors, notes)


def _lagrange_jobs(acc: PowersOfTau) -> list:
    return [("tauG1", acc.tau_g1, acc.lagrange_tau_g1, msm_g1, acc.power + 1),
            ("tauG2", acc.tau_g2, acc.lagrange_tau_g2, msm_g2, acc.power),
            ("alphaTauG1", acc.alpha_tau_g1, acc.lagrange_alpha_tau_g1, msm_g1, acc.power),
            ("betaTauG1", acc.beta_tau_g1, acc.lagrange_beta_tau_g1, msm_g1, acc.power)]


def _verify_lagrange(acc: PowersOfTau, only: Optional[tuple[str, ...]] = None) -> list[str]:
    """Every block of every Lagrange section represents the same polynomial-evaluation
    functional as the powers: for random r (128-bit), sum_i r_i L_i G = sum_j c_j tau^j G with
    c = iNTT(r), the coefficients of the polynomial taking the values r on the domain (for the
    tauG1 block of 2^(power+1), whose top power is missing, that coefficient is dropped).

    All blocks of a section are checked at once -- one MSM over the whole section with
    short scalars, one over the powers with the summed coefficients -- and only on a mismatch
    block by block, to name the bad one (:func:`_verify_lagrange_blocks`).  ``only``: the
    sections to check (default all)."""
    errs = []
    for label, mono, lag, msm, top in _lagrange_jobs(acc):
        if only is not None and label not in only:
            continue
        r = _rand_scalars(lag.shape[0])
        if msm(lag, r) != msm(mono, _lagrange_coefficients(r, mono.shape[0], top)):
            errs += _verify_lagrange_blocks(label, mono, lag, msm, top)
            if not errs:        # the combined check failed, no block alone: cannot happen
                errs.append(f"Lagrange section {label} does not match the powers")
    return errs


def _lagrange_coefficients(r: np.ndarray, n_mono: int, top: int) -> np.ndarray:
    """c = sum over blocks k <= top of iNTT(r[2^k - 1 : 2^(k+1) - 1]), each block's
    coefficients added into c[:min(2^k, n_mono)] (canonical, F_r): the monomial weights with
    sum_j c_j tau^j = sum_k sum_i r_(k,i) L^(2^k)_i(tau)."""
    from zkmargin.algebra.kernel_set import kernel_set

    ks = kernel_set()
    coeffs = np.zeros((n_mono, 4), dtype=np.uint64)
    for k in range(top + 1):
        n = 2 ** k
        m = min(n, n_mono)
        block = ks.intt(r[n - 1:2 * n - 1])[:m]
        # a + b = a * 1 - (-b) with the mul_sub kernel (canonical in and out)
        coeffs[:m] = ks.mul_sub(block, _fr_constant(1, m), ks.mul_sub(coeffs[:m], _fr_constant(R - 1, m)))
    return coeffs


def _fr_constant(v: int, n: int) -> np.ndarray:
    """n copies of the canonical F_r element v."""
    return np.repeat(ints_to_array([v % R]), n, axis=0)


def _verify_lagrange_blocks(label: str, mono, lag, msm, top: int) -> list[str]:
    """The check of :func:`_verify_lagrange`, block by block (names the first bad block)."""
    for k in range(top + 1):
        n = 2 ** k
        r = _rand_scalars(n)
        m = min(n, mono.shape[0])
        r[m:] = 0  # missing top power counts as zero
        if msm(mono[:m], r[:m]) != msm(lag[n - 1:2 * n - 1], ntt(r)):
            return [f"Lagrange section {label}: block 2^{k} does not match the powers"]
    return []


# =============================================================================================
# Self-check of a whole accumulator (before a file is cached and when a cached one is loaded)
# =============================================================================================


def array_problem(label: str, arr: np.ndarray, *, g2: bool) -> Optional[str]:
    """Why a G1 / G2 array is not a vector of group elements, or None: a coordinate >= q, a
    point off its curve, or (G2) a point outside the order-r subgroup (G1 has cofactor 1, so
    on the curve is in the group; G2 membership is tested in batch by
    :func:`~zkmargin.algebra.api.g2_all_in_subgroup`, error below 2^-53).  Infinity (all
    zeros) is allowed."""
    from zkmargin.algebra import g2_all_in_subgroup, g2_first_outside_subgroup
    from zkmargin.algebra.arrays import limbs_below
    from zkmargin.algebra.kernel_set import kernel_set

    width = 16 if g2 else 8
    rows = np.ascontiguousarray(arr, dtype=np.uint64).reshape(-1, width)
    if rows.shape[0] == 0:
        return None
    ok = limbs_below(rows.reshape(-1, 4), Q)
    if not ok.all():
        return f"{label}: point {int(np.argmin(ok)) * 4 // width} has a coordinate >= q"
    ks = kernel_set()
    bad = ks.g2_first_off_curve(rows) if g2 else ks.g1_first_off_curve(rows)
    if bad >= 0:
        return f"{label}: point {bad} is not on the {'twist' if g2 else 'G1'} curve"
    if g2 and not g2_all_in_subgroup(rows):
        bad = g2_first_outside_subgroup(rows)         # exact, per point: only on failure
        return f"{label}: point {bad} is not in the order-r subgroup"
    return None


def _sections(acc: PowersOfTau) -> list[tuple[str, Optional[np.ndarray], bool]]:
    return [("tauG1", acc.tau_g1, False), ("tauG2", acc.tau_g2, True),
            ("alphaTauG1", acc.alpha_tau_g1, False), ("betaTauG1", acc.beta_tau_g1, False),
            ("betaG2", acc.beta_g2, True), ("lagrange tauG1", acc.lagrange_tau_g1, False),
            ("lagrange tauG2", acc.lagrange_tau_g2, True),
            ("lagrange alphaTauG1", acc.lagrange_alpha_tau_g1, False),
            ("lagrange betaTauG1", acc.lagrange_beta_tau_g1, False)]


def point_problems(acc: PowersOfTau) -> list[str]:
    """Every point of every section and contribution record a group element (see
    :func:`array_problem`); the list of what is not."""
    from zkmargin.algebra import check_g1, check_g2
    from zkmargin.algebra.encoding import PointError

    out = [e for label, arr, g2 in _sections(acc) if arr is not None
           for e in [array_problem(label, arr, g2=g2)] if e]
    for i, c in enumerate(acc.contributions):
        try:
            for p in (c.tau_g1, c.alpha_g1, c.beta_g1, *c.key.g1_points()):
                check_g1(p, what=f"contribution #{i + 1}: G1 point")
            for p in (c.tau_g2, c.beta_g2, *c.key.g2_points()):
                check_g2(p, what=f"contribution #{i + 1}: G2 point")
        except PointError as e:
            out.append(str(e))
    return out


def validate(acc: PowersOfTau, *, progress: Progress = None) -> VerifyReport:
    """The whole self-check of an accumulator: :func:`point_problems` (every point a group
    element), then :func:`verify` (the contribution chain and the pairing-ratio checks of
    every section, Lagrange sections included).  A file with no contribution fails (it is a
    development-only blank)."""
    _tick(progress, "check: points", 0, 2)
    errors = point_problems(acc)
    if errors:                      # the pairing code refuses invalid points: stop here
        return VerifyReport(False, errors)
    _tick(progress, "check: pairings", 1, 2)
    report = verify(acc)
    _tick(progress, "check: done", 2, 2)
    return report
