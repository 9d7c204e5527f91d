"""Data types and file formats shared by every layer above :mod:`zkmargin.algebra`.

* :mod:`.data_structures` -- ``Proof``, ``VerifyingKey``, ``ProvingKey`` (what setup, prover and
  verifier exchange)
* :mod:`.binfile`    -- the iden3 binary container (magic, version, sections)
* :mod:`.r1cs`       -- the ``R1CS`` type, ``.r1cs`` and ``.sym`` files
* :mod:`.wtns`       -- ``.wtns`` witness files
* :mod:`.zkey`       -- snarkjs Groth16 ``.zkey`` files
* :mod:`.snarkjs_bin`  -- the point sections and header fields shared by ``.zkey`` and ``.ptau``
* :mod:`.snarkjs_json` -- ``proof.json``, ``public.json``, ``verification_key.json``
* :mod:`.jsonio`     -- bounded strict JSON reading, canonical bytes, atomic writing

The ``.ptau`` format lives with the powers-of-tau code (:mod:`zkmargin.prover.ptau`).
Formats are described in docs/FORMATS.md.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "data_structures": ("Proof", "VerifyingKey", "ProvingKey"),
    "r1cs": ("R1CS", "read_r1cs", "write_r1cs", "read_sym", "write_sym"),
    "wtns": ("read_wtns", "write_wtns"),
    "zkey": ("read_zkey", "write_zkey"),
    "snarkjs_json": ("read_proof", "write_proof", "read_public", "write_public",
                     "read_verifying_key", "write_verifying_key"),
    "binfile": ("FormatError",),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
