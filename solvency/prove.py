"""The trader's side: prove that committed accounts cover buffer × the margin requirement.

:func:`prove_solvency` checks everything it can before any proving work (shape, the openings'
parameter file, distinct commitments, the context ranges, the attestations it is given, and
solvency itself, which raises :class:`~zkmargin.circuits.solvency.InsolventError` with the
shortfall in USD and no secret), builds the circuit with the honest witness, proves, and
returns a :class:`~zkmargin.solvency.bundle.Bundle`. The statement's venue and epoch are the
parameter file's: a proof is always "under venue V's parameters for epoch E".
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from zkmargin.algebra.constants import R
from zkmargin.circuits.margin_circuits import MODEL_CODES, Context, build_solvency_circuit
from zkmargin.circuits.solvency import check_solvent

from .attest import Attestation
from .bundle import MAX_BUFFER_BPS, Bundle, Statement, venue_id
from .keys import vk_fingerprint
from .opening import Opening
from .params import ParamsFile, ProtocolError

Progress = Optional[Callable[[str], None]]


@dataclass
class ProofTimings:
    build_s: float
    prove_s: float
    n_constraints: int


def check_context(pf: ParamsFile, openings: Sequence[Opening], *, nonce: int, buffer_bps: int,
                  attestations: Sequence[Attestation] = (), venue: str | None = None,
                  epoch: int | None = None) -> None:
    """Everything about a proving request that can be refused before work (no secret in errors)."""
    shape = pf.shape
    if venue is not None and venue != pf.venue:
        raise ProtocolError(f"the parameter file is venue {pf.venue}'s, not {venue}'s")
    if epoch is not None and int(epoch) != pf.epoch:
        raise ProtocolError(f"the parameter file is for epoch {pf.epoch}, not {epoch}")
    if pf.model == "var" and any(i.is_option for i in pf.instruments):
        raise ProtocolError("delta-normal var ignores gamma and vega and would under-cover option books: "
                            "a var parameter file that lists options is not proven (use es or hvar)")
    if not 0 <= int(nonce) < R:
        raise ProtocolError("nonce must be an integer in [0, r) (the verifier's challenge)")
    if not 1 <= int(buffer_bps) <= MAX_BUFFER_BPS:
        raise ProtocolError(f"buffer must be between 0.0001 and {MAX_BUFFER_BPS / 10_000:g}")
    if len(openings) != shape.accounts:
        raise ProtocolError(f"this key's shape takes {shape.accounts} account commitment(s), "
                            f"got {len(openings)} opening(s)")
    for k, op in enumerate(openings):
        if op.params_digest != pf.digest:
            raise ProtocolError(f"opening #{k + 1} was made for another parameter file")
        if (len(op.account.Q), len(op.account.A)) != (shape.instruments, shape.assets):
            raise ProtocolError(f"opening #{k + 1} does not have this shape's slot counts")
    commitments = [op.commitment for op in openings]
    if len(set(commitments)) != len(commitments):
        raise ProtocolError("the same commitment is given twice (an account would be counted twice)")
    for k, a in enumerate(attestations):
        if a.commitment not in commitments:
            raise ProtocolError(f"attestation #{k + 1} ({a.attester}) is for a commitment not being proven")
        if (a.epoch, a.params_digest) != (pf.epoch, pf.digest):
            raise ProtocolError(f"attestation #{k + 1} ({a.attester}) is for another epoch or parameter file")


def prove_solvency(pf: ParamsFile, pk, openings: Sequence[Opening], *, nonce: int, buffer_bps: int,
                   attestations: Sequence[Attestation] = (), venue: str | None = None,
                   epoch: int | None = None, progress: Progress = None, vk=None,
                   fast: bool = True) -> tuple[Bundle, ProofTimings]:
    """Prove that the combined accounts cover ``buffer_bps``/10000 × the requirement.

    ``fast`` (default): the witness comes from the shape's compiled witness program
    (:mod:`zkmargin.solvency.witness`) and the proof is verified under the key's own
    verifying key before it is returned; on a failure the circuit is rebuilt the reference way
    (``fast=False``: build the circuit, check every constraint, prove)."""
    from zkmargin.prover.groth16 import WitnessError, prove, verifying_key_of

    check_context(pf, openings, nonce=nonce, buffer_bps=buffer_bps, attestations=attestations,
                  venue=venue, epoch=epoch)
    accounts = [op.account for op in openings]
    check_solvent(pf.params, accounts, buffer_bps)
    ctx = Context(MODEL_CODES[pf.model], int(buffer_bps), venue_id(pf.venue), pf.epoch, int(nonce))
    t0 = time.perf_counter()
    if progress:
        progress("building the circuit and witness")
    if fast:        # the shape's compiled witness program (solvency/witness.py)
        from .witness import program_for, solvency_witness_limbs
        limbs, names = solvency_witness_limbs(pf.shape, pf.params, accounts, ctx)
        n_constraints = program_for(pf.shape, pf.params).info["constraints"]
    else:
        limbs, names, n_constraints = _reference_limbs(pf, accounts, ctx)
    t1 = time.perf_counter()
    if progress:
        progress(f"proving ({n_constraints} constraints)")
    try:
        # check=True: the proof must verify under the key's own verifying key
        out = prove(pk, limbs, check=fast)
    except WitnessError:
        if not fast:
            raise
        from .witness import discard
        discard(pf.shape, pf.params)          # never reuse what made a bad witness
        limbs, names, n_constraints = _reference_limbs(pf, accounts, ctx)   # names a failing constraint
        out = prove(pk, limbs, check=True)
    t2 = time.perf_counter()
    vk = vk or verifying_key_of(pk)
    st = Statement(pf.model, int(buffer_bps), pf.venue, pf.epoch, int(nonce), pf.digest, pf.shape,
                   tuple((op.commitment, op.kind) for op in openings))
    bundle = Bundle(st, list(zip(names, out.public_signals)), out.proof, vk_fingerprint(vk),
                    list(attestations))
    return bundle, ProofTimings(t1 - t0, t2 - t1, n_constraints)


def _reference_limbs(pf: ParamsFile, accounts, ctx):
    """The builder's witness (the reference), checked constraint by constraint."""
    circ = build_solvency_circuit(pf.shape, pf.params, accounts, ctx)
    bad = circ.cs.check()
    if bad:  # cannot happen once check_solvent passed; never print values
        raise ProtocolError(f"witness does not satisfy the circuit ({len(bad)} constraints, first: {bad[0].name})")
    return circ.cs.witness_limbs(), circ.public_names, len(circ.cs.constraints)


__all__ = ["prove_solvency", "check_context", "ProofTimings"]
