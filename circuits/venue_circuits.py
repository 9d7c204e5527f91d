"""Venue-wide solvency: the batch circuit of a Merkle sum tree of margin accounts.

A venue proves, for one epoch and one parameter file, that every account in its book is
margin-compliant under the published model or that the sum of what is not is covered by its
insurance fund. The book is a binary Merkle tree; batch j covers the B = 2^b leaves
[jB, (j+1)B) and one Groth16 proof per batch shows, for the subtree rooted there:

Public inputs (in this order, :func:`batch_public_names`)::

    model, buffer_bps, venue, epoch, params_digest     as in the trader's circuit (no nonce)
    batch_index                                        j: a proof is bound to its position
    count                                              real accounts in the batch, 0 <= count <= B
    root                                               the subtree root over the B leaves
    total_0 .. total_{C-1}                             Σ collateral amount per asset slot (1e-8 units)
    shortfall                                          Σ per-account shortfall (money units, 1e-14 USD)

Private inputs: the parameter vector and ``meta`` (digest mode, hashed in-circuit to
``params_digest`` exactly as in :mod:`.margin_circuits`), and per slot i the account Q, U, A
and salt.

Constraints, per slot i (``slot{i}`` sections):

* **leaf** ``leaf_i = commit([Q, U, A], salt)`` -- the same salted Poseidon commitment as the
  trader's own (:meth:`Account.commitment`), so the trader's commitment *is* its leaf;
* **padding** ``used_i`` boolean, ``used_i = 1 ⇒ used_{i-1} = 1`` (a prefix) and
  ``Σ used_i = count``; so ``used_i = [i < count]``. A padding slot has every value and the salt
  forced to zero (``(1 − used_i)·x = 0``), so its leaf is the constant
  :data:`EMPTY_LEAF` = commit(0…0, 0) and its sums and shortfall are zero: nothing can hide there;
* **ranges and margin** exactly the trader circuit's blocks on this single account
  (:func:`.margin_circuits.account_ranges`, :func:`~.margin_circuits.equity_lc`,
  :func:`~.margin_circuits.requirement_lc`): Q signed 58 bits, A 57 bits (no negative
  balance), U signed 92 bits, equity E and requirement REQ with the integer semantics of
  :mod:`zkmargin.margin.quantize`;
* **shortfall** ``D_i = buffer_bps·REQ_i − 10000·E_i`` (signed, |D| < 2^130, one relu that also
  range-checks it), ``sf_i = ⌈max(D_i, 0) / 10000⌉`` (an exact ceiling division by a constant:
  ``sf·10000 = max(D,0) + rem``, 0 <= rem < 10000). So sf_i = max(0, buffer × REQ − E),
  rounded up to the money unit: never in the venue's favour.

Per batch:

* ``total_c = Σ_i A_{i,c}``: every term is a 57-bit range-checked balance and the sum of at most
  B <= 2^16 of them is asserted at build time to stay below 2^73 < r (``gadgets.sum_bounded``),
  so no partial sum can wrap the field; ``shortfall = Σ sf_i`` likewise (sf < 2^117);
* the Merkle subtree: ``node = poseidon([left, right])`` level by level, the root equal to
  the public ``root``.

The top of the tree (subtree roots → published root) is *not* a circuit: the verifier
recomputes those few Poseidon nodes natively and adds the batch sums as integers
(:mod:`zkmargin.solvency.venue.tree`). A final circuit could only re-prove the same hashes and
additions, which are cheaper to check than a proof, and Groth16 cannot verify the batch proofs
inside BN254 anyway; so the top level stays a verified Merkle combination.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from zkmargin.algebra.constants import R

from . import gadgets as g
from .builder import LC, ConstraintSystem
from .margin_circuits import (
    A_BITS,
    BPS,
    CLAIM_BITS,
    Account,
    CircuitParams,
    ParameterError,
    ParamViews,
    Shape,
    account_ranges,
    account_wires,
    bind_context,
    bind_params,
    equity_lc,
    param_wires,
    requirement_lc,
)
from .poseidon_fast import commit as fast_commit
from .poseidon_fast import poseidon as fast_poseidon
from .poseidon_gadget import commit_gadget, poseidon_gadget

#: Largest batch (leaves per proof) and deepest tree supported.
MAX_BATCH_BITS = 16
MAX_TREE_DEPTH = 40
#: Width of a batch total per asset: B·(2^57 − 1) < 2^(57 + 16).
TOTAL_BITS = A_BITS + MAX_BATCH_BITS
#: The shortfall relu input: |buffer·REQ − 10000·E| < 2^130 (as the trader's claim gap).
SHORTFALL_D_BITS = CLAIM_BITS + 1
#: Per-account shortfall in money units: ⌈2^130 / 10^4⌉ < 2^117.
SHORTFALL_BITS = 117
SHORTFALL_TOTAL_BITS = SHORTFALL_BITS + MAX_BATCH_BITS


@dataclass(frozen=True)
class BatchContext:
    """The public context of one batch proof (field ints)."""

    model: int
    buffer_bps: int
    venue: int
    epoch: int
    batch_index: int


def empty_account(shape: Shape) -> Account:
    """The account of a padding slot: all zero, salt zero."""
    return Account((0,) * shape.instruments, 0, (0,) * shape.assets, 0)


def leaf_of(account: Account) -> int:
    """The leaf of an account: its salted Poseidon commitment (= :meth:`Account.commitment`)."""
    return fast_commit(account.vector(), account.salt % R)


def leaves_of(accounts: Sequence[Account]) -> list[int]:
    """:func:`leaf_of` of many accounts of one shape at once (compiled Poseidon,
    :mod:`.poseidon_batch`)."""
    from .poseidon_batch import commit_many
    return commit_many([a.vector() for a in accounts], [a.salt % R for a in accounts])


def node_hash(left: int, right: int) -> int:
    """An inner node: circomlib Poseidon of its two children."""
    return fast_poseidon([left, right])


def empty_leaf(shape: Shape) -> int:
    """:data:`EMPTY_LEAF` for a shape: the commitment of the all-zero account with salt 0."""
    return leaf_of(empty_account(shape))


@lru_cache(maxsize=64)
def _empty_roots(shape: Shape, depth: int) -> tuple[int, ...]:
    out = [empty_leaf(shape)]
    for _ in range(depth):
        out.append(node_hash(out[-1], out[-1]))
    return tuple(out)


def empty_roots(shape: Shape, depth: int) -> list[int]:
    """Roots of all-padding subtrees of height 0..depth (computed once per shape and depth)."""
    return list(_empty_roots(shape, depth))


def merkle_root(leaves: Sequence[int]) -> int:
    """Root over a power-of-two number of leaves."""
    from .poseidon_batch import top
    level = list(leaves)
    if not level or len(level) & (len(level) - 1):
        raise ParameterError("a Merkle level needs a power-of-two number of nodes")
    return top(level, [0] * 64, len(level).bit_length() - 1)[0]


def batch_public_names(shape: Shape) -> list[str]:
    return (["model", "buffer_bps", "venue", "epoch", "params_digest", "batch_index", "count", "root"]
            + [f"total_{c}" for c in range(shape.assets)] + ["shortfall"])


@dataclass
class BatchCircuit:
    cs: ConstraintSystem
    shape: Shape
    batch: int
    public_names: list[str]
    leaves: list[LC]
    shortfalls: list[LC]


def _check_shape(shape: Shape, batch: int) -> None:
    if shape.params != "digest":
        raise ParameterError("the venue batch circuit takes digest-mode parameter files")
    if batch < 1 or batch & (batch - 1) or batch > 1 << MAX_BATCH_BITS:
        raise ParameterError(f"batch size must be a power of two in 1..2^{MAX_BATCH_BITS}")


def build_batch_circuit(shape: Shape, params: CircuitParams, accounts: Sequence[Account], batch: int,
                        ctx: BatchContext) -> BatchCircuit:
    """Constraints and honest witness of one batch. ``accounts`` are the real accounts (at most
    ``batch``); the remaining slots are padding. The structure depends on (shape, batch) only."""
    _check_shape(shape, batch)
    if len(accounts) > batch:
        raise ParameterError(f"{len(accounts)} accounts do not fit a batch of {batch}")
    n, c = shape.instruments, shape.assets
    slots = list(accounts) + [empty_account(shape)] * (batch - len(accounts))
    cs = ConstraintSystem(f"venue-batch-{shape.family}-{batch}")
    vec = params.vector()

    # ---- public inputs (the values are the honest ones; the verifier supplies its own) ------
    model = cs.public("model", ctx.model)
    buffer = cs.public("buffer_bps", ctx.buffer_bps)
    venue = cs.public("venue", ctx.venue)
    epoch = cs.public("epoch", ctx.epoch)
    digest_pub = cs.public("params_digest", params.digest())
    index = cs.public("batch_index", ctx.batch_index)
    count = cs.public("count", len(accounts))
    leaves_native = leaves_of(slots)
    root_pub = cs.public("root", merkle_root(leaves_native))
    totals_pub = [cs.public(f"total_{j}", sum(a.A[j] for a in accounts) % R) for j in range(c)]
    sf_native = [_claimed_shortfall(params, a, ctx.buffer_bps) for a in accounts]
    shortfall_pub = cs.public("shortfall", sum(sf_native) % R)
    pv = param_wires(cs, shape, vec)

    wires = []
    for i, a in enumerate(slots):
        with cs.section(f"slot{i}"):
            wires.append(account_wires(cs, a, n, c))

    with cs.section("context"):
        bind_context(cs, ((venue, "venue"), (epoch, "epoch"), (index, "batch_index")), buffer)
        g.assert_in_range(cs, count, 0, batch, name="count")
    bind_params(cs, shape, params, model, digest_pub, pv)
    views = ParamViews(pv)
    H, V = views.take(c), views.take(n)
    rest = views.pos

    # ---- padding: used_i = [i < count] ---------------------------------------------------------
    with cs.section("padding"):
        used = []
        for i in range(batch):
            u = cs.hint(f"used{i}", lambda k, i=i: 1 if i < k else 0, count)
            g.assert_bool(cs, u, f"used{i} boolean")
            if used:
                cs.assert_mul(u, 1 - used[-1], 0, f"used{i} only after used{i - 1}")
            used.append(u)
        cs.assert_equal(sum(used, cs.const(0)), count, "sum of used = count")

    leaves, sfs = [], []
    for i, (q, u, am, salt) in enumerate(wires):
        with cs.section(f"slot{i}"):
            free = 1 - used[i]
            with cs.section("padding"):
                for k, x in enumerate([*q, u, *am, salt]):
                    cs.assert_mul(free, x, 0, f"padding value {k} = 0")
            with cs.section("leaf"):
                leaves.append(commit_gadget(cs, [*q, u, *am], salt))
            with cs.section("account"):
                Qm = account_ranges(cs, q, u, am)
            with cs.section("equity"):
                E = equity_lc(cs, H, V, q, am, Qm, u)
            with cs.section("requirement"):
                views.pos = rest
                REQ, _ = requirement_lc(cs, shape, q, Qm, views)
            with cs.section("shortfall"):
                D = cs.mul(buffer, REQ, "buffer_x_req") - E * BPS
                pos_d = g.relu(cs, D, SHORTFALL_D_BITS, name="D")
                sf, _ = g.div_const(cs, pos_d, BPS, SHORTFALL_D_BITS - 1, ceil=True, name="sf")
                g.range_check(cs, sf, SHORTFALL_BITS, name="sf")
            sfs.append(sf)
    assert views.done()

    with cs.section("sums"):
        for j in range(c):
            tot = g.sum_bounded(cs, [w[2][j] for w in wires], A_BITS, name=f"total_{j}")
            g.range_check(cs, tot, TOTAL_BITS, name=f"total_{j}")
            cs.assert_equal(tot, totals_pub[j], f"total_{j}")
        tot = g.sum_bounded(cs, sfs, SHORTFALL_BITS, name="shortfall")
        g.range_check(cs, tot, SHORTFALL_TOTAL_BITS, name="shortfall")
        cs.assert_equal(tot, shortfall_pub, "shortfall")

    with cs.section("merkle"):
        level = leaves
        depth = 0
        while len(level) > 1:
            with cs.section(f"level{depth}"):
                level = [poseidon_gadget(cs, [level[k], level[k + 1]]) for k in range(0, len(level), 2)]
            depth += 1
        cs.assert_equal(level[0], root_pub, "root")
    return BatchCircuit(cs, shape, batch, batch_public_names(shape), leaves, sfs)


def shortfall_of(params: CircuitParams, account: Account, buffer_bps: int) -> int:
    """The native per-account shortfall, exactly the circuit's: ⌈max(0, buffer·REQ − 10000·E) / 10000⌉
    with E and REQ from the reference integer evaluator (:func:`zkmargin.circuits.solvency.evaluate`)."""
    from .solvency import evaluate
    ev = evaluate(params, [account])
    d = buffer_bps * ev.requirement - BPS * ev.equity
    if abs(d) >= 1 << (SHORTFALL_D_BITS - 1):       # no witness: refuse before any proving work
        raise ParameterError("an account's margin values exceed the circuit's range (|buffer·REQ − E| >= 2^130)")
    return -(-d // BPS) if d > 0 else 0


def _claimed_shortfall(params: CircuitParams, account: Account, buffer_bps: int) -> int:
    """The honest prover's public value; 0 for an account no witness exists for (out of range:
    the circuit then fails on that account's own range checks, which attack tests look at)."""
    from zkmargin.margin.quantize import QuantizationError
    try:
        return shortfall_of(params, account, buffer_bps)
    except (ParameterError, QuantizationError):
        return 0


def dummy_batch(shape: Shape, model: str | None = None) -> tuple[CircuitParams, BatchContext]:
    from .margin_circuits import dummy_inputs
    p, _, ctx = dummy_inputs(shape, model)
    return p, BatchContext(ctx.model, 1, 0, 0, 0)


def batch_assignment(circ: BatchCircuit, params: CircuitParams, accounts: Sequence[Account],
                     ctx: BatchContext) -> dict[str, int]:
    """Input assignment (by name) for :meth:`ConstraintSystem.solve` on a circuit built once
    for the shape: the same values :func:`build_batch_circuit` would declare."""
    shape, batch = circ.shape, circ.batch
    if len(accounts) > batch:
        raise ParameterError(f"{len(accounts)} accounts do not fit a batch of {batch}")
    slots = list(accounts) + [empty_account(shape)] * (batch - len(accounts))
    out = {"model": ctx.model, "buffer_bps": ctx.buffer_bps, "venue": ctx.venue, "epoch": ctx.epoch,
           "params_digest": params.digest(), "batch_index": ctx.batch_index, "count": len(accounts),
           "root": merkle_root(leaves_of(slots)),
           "shortfall": sum(_claimed_shortfall(params, a, ctx.buffer_bps) for a in accounts) % R,
           "params_digest/params_meta": params.meta % R}
    for j in range(shape.assets):
        out[f"total_{j}"] = sum(a.A[j] for a in accounts) % R
    for j, v in enumerate(params.vector()):
        out[f"param_{j}"] = v % R
    for i, a in enumerate(slots):
        for k, q in enumerate(a.Q):
            out[f"slot{i}/Q{k}"] = q % R
        out[f"slot{i}/U"] = a.U % R
        for k, v in enumerate(a.A):
            out[f"slot{i}/A{k}"] = v % R
        out[f"slot{i}/salt"] = a.salt % R
    return out


__all__ = ["BatchContext", "BatchCircuit", "build_batch_circuit", "batch_assignment", "batch_public_names",
           "leaf_of", "leaves_of", "node_hash", "empty_leaf", "empty_roots", "merkle_root", "shortfall_of", "empty_account",
           "dummy_batch", "MAX_BATCH_BITS", "MAX_TREE_DEPTH", "TOTAL_BITS", "SHORTFALL_BITS"]
