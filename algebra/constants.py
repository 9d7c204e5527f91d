"""BN254 (alt_bn128) constants: the two primes, generators, roots of unity, GLV data.

All values are plain Python ints; kernels derive their limb tables from these.
"""

from __future__ import annotations

#: Base field modulus q (coordinates of curve points live in F_q).
Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583
#: Scalar field modulus r (the group order; circuits and witnesses live in F_r).
R = 21888242871839275222246405745257275088548364400416034343698204186575808495617

#: Montgomery radix used everywhere (also by snarkjs files): 2^256.
MONT_R = 1 << 256

#: G1 is y^2 = x^3 + 3 over F_q, generator (1, 2).
G1_B = 3
G1_GENERATOR = (1, 2)

#: G2 is y^2 = x^3 + 3/(u + 9) over F_q2 = F_q[u]/(u^2 + 1); c0 + c1*u written (c0, c1).
G2_GENERATOR = (
    (
        10857046999023057135944570762232829481370756359578518086990519993285655852781,
        11559732032986387107991004021392285783925812861821192530917403151452391805634,
    ),
    (
        8495653923123431417604973247489272438418190587263600148770280649306958101930,
        4082367875863433681332203403145435568316851327593401208105741076214120093531,
    ),
)

#: Fr: multiplicative generator 5, two-adicity 28 (r - 1 = 2^28 * odd).
FR_GENERATOR = 5
FR_TWO_ADICITY = 28

#: GLV endomorphism on G1: lambda * (x, y) = (omega * x, y).
GLV_OMEGA = 2203960485148121921418603742825762020974279258880205651966
GLV_LAMBDA = 4407920970296243842393367215006156084916469457145843978461

#: BN parameter x (u) of the curve family; the optimal-ate loop uses 6x + 2.
BN_X = 4965661367192848881


def root_of_unity(n: int) -> int:
    """A primitive n-th root of unity in F_r for n a power of two, n <= 2^28.

    Uses 5^((r-1)/2^28) squared down to order n, the same choice as snarkjs/ffjavascript.
    """
    if n <= 0 or n & (n - 1):
        raise ValueError(f"domain size must be a power of two, got {n}")
    k = n.bit_length() - 1
    if k > FR_TWO_ADICITY:
        raise ValueError(f"domain size 2^{k} exceeds F_r two-adicity 2^{FR_TWO_ADICITY}")
    w = pow(FR_GENERATOR, (R - 1) >> FR_TWO_ADICITY, R)
    for _ in range(FR_TWO_ADICITY - k):
        w = w * w % R
    return w
