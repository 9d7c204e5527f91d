"""Groth16 proving: powers of tau (phase 1), key setup, phase 2, the prover.

* :mod:`.ptau`     -- the ``.ptau`` accumulator: new, contribute, prepare, verify, file I/O
* :mod:`.setup`    -- a proving key from an R1CS and a prepared ``.ptau``
* :mod:`.phase2`   -- phase-2 contributions to a ``.zkey`` and their verification
* :mod:`.groth16`  -- the prover
* :mod:`.known_tau`, :mod:`.dev_cache` -- development-only keys and their cache records
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "groth16": ("prove", "ProverOutput", "WitnessError", "verifying_key_of", "public_signals"),
    "setup": ("new_proving_key", "SetupError"),
    "ptau": ("PowersOfTau", "new_accumulator", "prepare_phase2", "read_ptau", "write_ptau"),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
