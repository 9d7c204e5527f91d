"""Circuits: the R1CS builder, sound gadgets, Poseidon, the margin and venue circuits.

* :mod:`.builder`   -- :class:`ConstraintSystem` (signals, constraints, hints, witness)
* :mod:`.gadgets`   -- range checks, comparisons, selection
* :mod:`.poseidon`, :mod:`.poseidon_gadget` -- Poseidon (circomlib constants) natively and in-circuit
* :mod:`.margin_circuits` -- the solvency circuit families (``Shape``, ``CircuitParams``)
* :mod:`.solvency`  -- circuit parameters from the margin engine's inputs
* :mod:`.venue_circuits` -- the venue-wide batch circuit
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "builder": ("ConstraintSystem", "HintError"),
    "margin_circuits": ("Shape", "CircuitParams", "Account", "Context", "build_solvency_circuit",
                        "MODEL_CODES", "ParameterError"),
    "poseidon": ("poseidon", "commit"),
    "solvency": ("InsolventError",),
    "venue_circuits": ("BatchContext", "build_batch_circuit"),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
