"""The native Merkle tree of a venue's book.

Leaves are the accounts' salted Poseidon commitments in book order, padded to 2^depth with
:func:`~zkmargin.circuits.venue_circuits.empty_leaf`; inner nodes are ``poseidon([left, right])``
(:func:`~zkmargin.circuits.venue_circuits.node_hash`). Only the real prefix is hashed: a missing
subtree at height h is the constant ``empty_roots[h]``, so n leaves cost about n hashes. The
hashing runs level by level in the compiled kernel of :mod:`zkmargin.circuits.poseidon_batch`
(about 25 times faster than Python big integers; the same function).

The batch proofs vouch for the subtree roots at height b = log2(B); :func:`combine` is the
verified top level: the verifier hashes the batch roots (and the constant empty roots of the
batches beyond the book) up to the published root itself.
"""

from __future__ import annotations

from typing import Sequence

from zkmargin.circuits import poseidon_batch as pb
from zkmargin.circuits.margin_circuits import Shape
from zkmargin.circuits.venue_circuits import MAX_TREE_DEPTH, empty_roots, node_hash

from ..params import ProtocolError


def depth_for(n: int, batch: int) -> int:
    """Tree depth for n accounts: enough for n leaves, at least one batch."""
    d = max(0, (max(n, 1) - 1).bit_length(), batch.bit_length() - 1)
    if d > MAX_TREE_DEPTH:
        raise ProtocolError(f"{n} accounts need a tree deeper than {MAX_TREE_DEPTH}")
    return d


def levels(shape: Shape, leaves: Sequence[int], depth: int, *, upto: int | None = None) -> list[list[int]]:
    """The hashed levels 0..upto (default depth) over the real prefix; level h has
    ceil(n / 2^h) nodes (a missing right child is the empty root of its height)."""
    if len(leaves) > 1 << depth:
        raise ProtocolError(f"{len(leaves)} leaves do not fit a tree of depth {depth}")
    return pb.levels(leaves, empty_roots(shape, depth), depth if upto is None else upto)


def level(shape: Shape, leaves: Sequence[int], height: int) -> list[int]:
    """The nodes at ``height`` over the real prefix (batch roots when height = log2 B): node j is
    the root of leaves [j 2^height, (j+1) 2^height) padded with empty leaves."""
    return pb.top(leaves, empty_roots(shape, height), height)


def root_of(shape: Shape, leaves: Sequence[int], depth: int) -> int:
    if len(leaves) > 1 << depth:
        raise ProtocolError(f"{len(leaves)} leaves do not fit a tree of depth {depth}")
    top = level(shape, leaves, depth)
    return top[0] if top else empty_roots(shape, depth)[depth]


def combine(shape: Shape, batch_roots: Sequence[int], height: int, depth: int) -> int:
    """The published root from the batch subtree roots at ``height`` (the verified top level)."""
    if height > depth:
        raise ProtocolError("batch height exceeds the tree depth")
    empty = empty_roots(shape, depth)
    if len(batch_roots) > 1 << (depth - height):
        raise ProtocolError("more batches than the tree has room for")
    top = pb.top(list(batch_roots), empty[height:], depth - height)
    return top[0] if top else empty[depth]


def path(shape: Shape, lv: list[list[int]], index: int, depth: int) -> list[int]:
    """Sibling hashes from the leaf ``index`` up to the root (``lv`` from :func:`levels`)."""
    empty = empty_roots(shape, depth)
    out, i = [], index
    for h in range(depth):
        sib = i ^ 1
        out.append(lv[h][sib] if sib < len(lv[h]) else empty[h])
        i >>= 1
    return out


def root_from_path(leaf: int, index: int, siblings: Sequence[int]) -> int:
    """Hash a leaf up its path (bit h of ``index`` says whether the node is a right child)."""
    node = leaf
    for h, sib in enumerate(siblings):
        node = node_hash(sib, node) if (index >> h) & 1 else node_hash(node, sib)
    return node


__all__ = ["depth_for", "levels", "level", "root_of", "combine", "path", "root_from_path"]
