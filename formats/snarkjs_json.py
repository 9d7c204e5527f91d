"""snarkjs JSON files: ``verification_key.json``, ``proof.json`` and ``public.json``.

These files arrive from other people, so parsing is strict (docs/PITFALLS.md #15): every number
must be a decimal string in normal form below its modulus, every point must have the exact
shape snarkjs writes, required fields must be present, and anything else is rejected with a
:class:`JSONFormatError` naming the field.  Parsing is *syntactic* -- whether a point is on
its curve or in its subgroup is the verifier's business (:mod:`zkmargin.verifier.groth16`),
so that it can say which check failed.

Encodings (docs/INTEROP.md "JSON"):

* G1 point ``[x, y, "1"]`` (projective, z = 1); infinity is written ``["0", "1", "0"]``.
* G2 point ``[[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]`` -- real part first (unlike EIP-197).
* ``public.json``: a list of decimal strings (outputs first, then public inputs).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Union

from ..algebra.constants import Q, R
from .data_structures import G1Point, G2Point, Proof, VerifyingKey
from .jsonio import MAX_JSON_BYTES, JSONFormatError, loads_strict, read_json, write_json

PathLike = Union[str, Path]

_DECIMAL = re.compile(r"(0|[1-9][0-9]{0,77})")
_CURVE_NAMES = ("bn128", "bn254", "alt_bn128")


# ---------------------------------------------------------------------------------------------
# Scalars and points


def parse_decimal(value: Any, where: str, modulus: int | None = None) -> int:
    """A decimal string in normal form (no sign, no leading zeros, no spaces), < modulus."""
    if not isinstance(value, str):
        raise JSONFormatError(f"{where}: expected a decimal string, got {type(value).__name__}")
    if not _DECIMAL.fullmatch(value):
        shown = value if len(value) <= 20 else value[:17] + "..."
        raise JSONFormatError(f"{where}: not a decimal number in normal form: {shown!r}")
    n = int(value)
    if modulus is not None and n >= modulus:
        raise JSONFormatError(f"{where}: value is not below the field modulus")
    return n


def _expect_list(value: Any, length: int, where: str) -> list:
    if not isinstance(value, list):
        raise JSONFormatError(f"{where}: expected a list, got {type(value).__name__}")
    if len(value) != length:
        raise JSONFormatError(f"{where}: expected {length} entries, got {len(value)}")
    return value


def g1_from_json(value: Any, where: str) -> G1Point:
    """``[x, y, z]`` with z = "1" (affine point) or z = "0" (infinity)."""
    x, y, z = (_expect_list(value, 3, where))
    xi, yi = parse_decimal(x, f"{where}[0]", Q), parse_decimal(y, f"{where}[1]", Q)
    zi = parse_decimal(z, f"{where}[2]", Q)
    if zi == 0:
        return None
    if zi != 1:
        raise JSONFormatError(f"{where}: z coordinate must be \"1\" (affine) or \"0\" (infinity)")
    return (xi, yi)


def g1_to_json(p: G1Point) -> list[str]:
    if p is None:
        return ["0", "1", "0"]
    return [str(p[0]), str(p[1]), "1"]


def _fq2_from_json(value: Any, where: str) -> tuple[int, int]:
    c0, c1 = _expect_list(value, 2, where)
    return parse_decimal(c0, f"{where}[0]", Q), parse_decimal(c1, f"{where}[1]", Q)


def g2_from_json(value: Any, where: str) -> G2Point:
    """``[[x.c0, x.c1], [y.c0, y.c1], [z.c0, z.c1]]`` with z = 1 (affine) or 0 (infinity)."""
    x, y, z = _expect_list(value, 3, where)
    xp, yp = _fq2_from_json(x, f"{where}[0]"), _fq2_from_json(y, f"{where}[1]")
    zp = _fq2_from_json(z, f"{where}[2]")
    if zp == (0, 0):
        return None
    if zp != (1, 0):
        raise JSONFormatError(f"{where}: z coordinate must be [\"1\", \"0\"] (affine) "
                              "or [\"0\", \"0\"] (infinity)")
    return (xp, yp)


def g2_to_json(p: G2Point) -> list[list[str]]:
    if p is None:
        return [["0", "0"], ["1", "0"], ["0", "0"]]
    (x0, x1), (y0, y1) = p
    return [[str(x0), str(x1)], [str(y0), str(y1)], ["1", "0"]]


# ---------------------------------------------------------------------------------------------
# Documents


def _read(path: PathLike, what: str) -> Any:
    return read_json(path, what, MAX_JSON_BYTES)


def _write(path: PathLike, obj: Any) -> None:
    write_json(path, obj)


def _expect_object(doc: Any, what: str) -> dict:
    if not isinstance(doc, dict):
        raise JSONFormatError(f"{what}: expected a JSON object, got {type(doc).__name__}")
    return doc


def _field(doc: dict, key: str, what: str) -> Any:
    if key not in doc:
        raise JSONFormatError(f"{what}: missing field {key!r}")
    return doc[key]


def _check_tag(doc: dict, key: str, allowed: tuple[str, ...], what: str, required: bool) -> None:
    if key not in doc:
        if required:
            raise JSONFormatError(f"{what}: missing field {key!r}")
        return
    if doc[key] not in allowed:
        raise JSONFormatError(f"{what}: {key} is {doc[key]!r}, expected {allowed[0]!r}")


# --- proof.json ------------------------------------------------------------------------------


def proof_from_json(doc: Any) -> Proof:
    """Parse a snarkjs ``proof.json`` object."""
    what = "proof.json"
    doc = _expect_object(doc, what)
    _check_tag(doc, "protocol", ("groth16",), what, required=False)
    _check_tag(doc, "curve", _CURVE_NAMES, what, required=False)
    return Proof(a=g1_from_json(_field(doc, "pi_a", what), "pi_a"),
                 b=g2_from_json(_field(doc, "pi_b", what), "pi_b"),
                 c=g1_from_json(_field(doc, "pi_c", what), "pi_c"))


def proof_to_json(proof: Proof) -> dict:
    return {"pi_a": g1_to_json(proof.a), "pi_b": g2_to_json(proof.b), "pi_c": g1_to_json(proof.c),
            "protocol": "groth16", "curve": "bn128"}


def read_proof(path: PathLike) -> Proof:
    return proof_from_json(_read(path, "proof"))


def write_proof(path: PathLike, proof: Proof) -> None:
    _write(path, proof_to_json(proof))


# --- public.json -----------------------------------------------------------------------------


def public_from_json(doc: Any, *, reduce_check: bool = False) -> list[int]:
    """Parse ``public.json``: a list of decimal strings.

    Values are *not* required to be below r here: the verifier rejects them with a reason
    (docs/PITFALLS.md #6).  With ``reduce_check`` a value >= r is a format error instead.
    """
    if not isinstance(doc, list):
        raise JSONFormatError(f"public.json: expected a list, got {type(doc).__name__}")
    modulus = R if reduce_check else 1 << 256
    return [parse_decimal(v, f"public.json[{i}]", modulus) for i, v in enumerate(doc)]


def public_to_json(values: list[int]) -> list[str]:
    return [str(int(v)) for v in values]


def read_public(path: PathLike) -> list[int]:
    return public_from_json(_read(path, "public inputs"))


def write_public(path: PathLike, values: list[int]) -> None:
    _write(path, public_to_json(values))


# --- verification_key.json -------------------------------------------------------------------


def verifying_key_from_json(doc: Any) -> VerifyingKey:
    """Parse a snarkjs Groth16 ``verification_key.json`` (``vk_alphabeta_12`` is ignored)."""
    what = "verification_key.json"
    doc = _expect_object(doc, what)
    _check_tag(doc, "protocol", ("groth16",), what, required=True)
    _check_tag(doc, "curve", _CURVE_NAMES, what, required=True)
    n_public = _field(doc, "nPublic", what)
    if isinstance(n_public, bool) or not isinstance(n_public, int) or n_public < 0:
        raise JSONFormatError(f"{what}: nPublic must be a non-negative integer")
    ic = _field(doc, "IC", what)
    if not isinstance(ic, list):
        raise JSONFormatError(f"{what}: IC must be a list")
    if len(ic) != n_public + 1:
        raise JSONFormatError(f"{what}: IC has {len(ic)} points, nPublic + 1 = {n_public + 1}")
    return VerifyingKey(
        alpha_g1=g1_from_json(_field(doc, "vk_alpha_1", what), "vk_alpha_1"),
        beta_g2=g2_from_json(_field(doc, "vk_beta_2", what), "vk_beta_2"),
        gamma_g2=g2_from_json(_field(doc, "vk_gamma_2", what), "vk_gamma_2"),
        delta_g2=g2_from_json(_field(doc, "vk_delta_2", what), "vk_delta_2"),
        ic=[g1_from_json(p, f"IC[{i}]") for i, p in enumerate(ic)],
    )


def _alphabeta_json(vk: VerifyingKey) -> Any | None:
    """``vk_alphabeta_12`` = e(alpha, beta) in snarkjs' F_q12 layout, when the pairing exists."""
    if vk.alpha_g1 is None or vk.beta_g2 is None:
        return None
    # pure Python (tens of ms): the compiled pairing would cost a numba import and cache load
    from ..algebra.pairing_py import pairing_snarkjs_strings_py
    return pairing_snarkjs_strings_py(vk.alpha_g1, vk.beta_g2)


def verifying_key_to_json(vk: VerifyingKey) -> dict:
    doc: dict[str, Any] = {
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": vk.n_public,
        "vk_alpha_1": g1_to_json(vk.alpha_g1),
        "vk_beta_2": g2_to_json(vk.beta_g2),
        "vk_gamma_2": g2_to_json(vk.gamma_g2),
        "vk_delta_2": g2_to_json(vk.delta_g2),
    }
    alphabeta = _alphabeta_json(vk)
    if alphabeta is not None:
        doc["vk_alphabeta_12"] = alphabeta
    doc["IC"] = [g1_to_json(p) for p in vk.ic]
    return doc


def read_verifying_key(path: PathLike) -> VerifyingKey:
    return verifying_key_from_json(_read(path, "verification key"))


def write_verifying_key(path: PathLike, vk: VerifyingKey) -> None:
    _write(path, verifying_key_to_json(vk))


__all__ = [
    "JSONFormatError", "parse_decimal", "loads_strict",
    "g1_from_json", "g1_to_json", "g2_from_json", "g2_to_json",
    "proof_from_json", "proof_to_json", "read_proof", "write_proof",
    "public_from_json", "public_to_json", "read_public", "write_public",
    "verifying_key_from_json", "verifying_key_to_json", "read_verifying_key",
    "write_verifying_key",
]
