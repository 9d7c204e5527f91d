"""Groth16 verification (pure Python for one proof, compiled kernels for batches) and the
Solidity export.

* :mod:`.groth16`  -- :func:`verify` with the reason of a rejection
* :mod:`.batch`    -- many proofs under one key with one multi-pairing
* :mod:`.solidity` -- a Solidity verifier contract and its calldata
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "groth16": ("verify", "VerificationResult", "prepare_verifying_key", "InvalidKeyError"),
    "batch": ("batch_verify", "BatchResult"),
    "solidity": ("solidity_verifier", "solidity_calldata"),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
