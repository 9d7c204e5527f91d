"""zkmargin: prove in zero knowledge that collateral covers portfolio margin.

Sub-packages (each a top-level folder of the repository):

* :mod:`zkmargin.algebra`  -- BN254 fields, curves, MSM, NTT, pairing (compiled kernels)
* :mod:`zkmargin.circuits` -- R1CS builder, gadgets, Poseidon, margin circuits, circom files
* :mod:`zkmargin.prover`   -- powers of tau, Groth16 setup and prover (.ptau / .zkey)
* :mod:`zkmargin.verifier` -- Groth16 verifier, batch verification, Solidity export, bundles
* :mod:`zkmargin.margin`   -- margin engine: instruments, pricing, models, backtests
* :mod:`zkmargin.cli`      -- the ``zkmargin`` command line (thin layer over the above)
"""

__version__ = "0.1.0"
