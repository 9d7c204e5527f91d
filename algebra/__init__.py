"""BN254 algebra: fields, G1/G2, MSM, NTT, pairing -- a readable API over compiled kernels.

Conventions (shared by every module of zkmargin):

* **Single points** are Python values: G1 ``(x, y)`` ints or ``None`` (infinity); G2
  ``((x.c0, x.c1), (y.c0, y.c1))`` or ``None``.  See :mod:`zkmargin.algebra.points`.
* **Point vectors** are numpy arrays in the snarkjs ``.zkey`` / ``.ptau`` byte layout:
  G1 array ``uint64[n, 2, 4]``, G2 array ``uint64[n, 2, 2, 4]``: affine coordinates,
  little-endian 64-bit limbs, Montgomery form (x * 2^256 mod q), infinity = all zeros.
* **Scalar / field vectors** are ``uint64[n, 4]`` canonical (non-Montgomery) F_r limbs, the
  layout of ``.wtns`` files.

The slow reference for every kernel is plain Python ints and py_ecc ``optimized_bn128``
(the test oracle), exposed through :mod:`zkmargin.algebra.points` and ``*_py_ecc`` helpers.
"""

# The pure-Python layer (constants, single points, encodings) imports at once; the compiled
# kernels (numba: about a second to import and load from cache) load on first use of one of
# their names, through the module-level __getattr__ below (PEP 562).  A one-shot verifier
# therefore never pays for numba.
from .constants import Q, R, root_of_unity
from .encoding import (
    PointError,
    check_g1,
    check_g2,
    g1_from_bytes,
    g1_from_snarkjs_bytes,
    g1_to_bytes,
    g1_to_snarkjs_bytes,
    g2_from_bytes,
    g2_from_snarkjs_bytes,
    g2_to_bytes,
    g2_to_snarkjs_bytes,
)
from .points import (
    G1_GEN,
    G2_GEN,
    G1Point,
    G2Point,
    g1_add,
    g1_from_py_ecc,
    g1_is_on_curve,
    g1_mul,
    g1_neg,
    g1_sub,
    g1_to_py_ecc,
    g2_add,
    g2_from_py_ecc,
    g2_in_subgroup,
    g2_is_on_curve,
    g2_mul,
    g2_neg,
    g2_to_py_ecc,
)

_KERNEL_API = frozenset({
    "msm_g1", "msm_g2", "g1_scale_each", "g2_scale_each", "g1_fixed_base_muls", "g2_fixed_base_muls",
    "g1_sparse_matvec", "g2_sparse_matvec", "g1_ifft", "g2_ifft", "ntt", "intt", "coset_ntt",
    "coset_intt", "fr_batch_inverse", "pairing_product_is_one", "ints_to_array", "array_to_ints",
    "warm_up", "g2_first_outside_subgroup", "g2_all_in_subgroup",
})


#: numpy point-array converters: imported on first use, so a verifier that never touches a
#: point array (groth16 verify) does not import numpy
_ARRAY_API = frozenset({"g1_array_from_points", "g1_points_from_array", "g2_array_from_points",
                        "g2_points_from_array"})


def __getattr__(name: str):
    if name in _ARRAY_API:
        from . import arrays
        value = getattr(arrays, name)
        globals()[name] = value
        return value
    if name in _KERNEL_API:
        from . import api
        value = getattr(api, name)
        globals()[name] = value        # later look-ups skip this function
        return value
    raise AttributeError(f"module 'zkmargin.algebra' has no attribute {name!r}")


__all__ = sorted(_KERNEL_API | {
    "g1_array_from_points", "g1_points_from_array", "g2_array_from_points", "g2_points_from_array",
    "Q", "R", "root_of_unity", "G1_GEN", "G2_GEN", "G1Point", "G2Point", "g1_add", "g1_sub",
    "g1_neg", "g1_mul", "g1_is_on_curve", "g2_add", "g2_neg", "g2_mul", "g2_is_on_curve",
    "g2_in_subgroup", "g1_to_py_ecc", "g1_from_py_ecc", "g2_to_py_ecc", "g2_from_py_ecc",
    "PointError", "check_g1", "check_g2", "g1_to_bytes", "g1_from_bytes", "g2_to_bytes",
    "g2_from_bytes", "g1_to_snarkjs_bytes", "g1_from_snarkjs_bytes", "g2_to_snarkjs_bytes",
    "g2_from_snarkjs_bytes",
})
