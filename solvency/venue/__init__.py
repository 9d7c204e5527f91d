"""Venue-wide proof of solvency with portfolio margin (a Merkle sum tree of margin accounts).

One module per concern:

* :mod:`.tree`      -- the native Merkle tree over leaf commitments, inclusion paths, the
  verified top-level combination of batch subtree roots;
* :mod:`.book`      -- reading the venue's book (a folder or JSONL of portfolios or openings),
  building the tree folder (public statement, leaves, the private book of openings);
* :mod:`.files`     -- the file formats (statement, leaves, batch proofs, inclusion proofs);
* :mod:`.cluster`   -- the Dask client (an embedded ``LocalCluster`` or ``--scheduler URL``);
* :mod:`.prove`     -- proving every batch on the cluster, exactly once into the result;
* :mod:`.verify`    -- verifying the whole tree (batch Groth16 verification + the top level)
  and thousands of trader bundles;
* :mod:`.inclusion` -- a client's inclusion proof and its verification.

The statement, the circuits and the threat model are in docs/VENUE_SOLVENCY.md; the batch
circuit is :mod:`zkmargin.circuits.venue_circuits`.
"""

from __future__ import annotations

from .book import build_tree, read_book
from .files import (BatchProof, Inclusion, TreeStatement, read_batch_proof, read_inclusion, read_leaves,
                    read_statement)
from .inclusion import make_inclusion, verify_inclusion, verify_inclusion_files
from .prove import prove_tree
from .verify import verify_many, verify_tree

__all__ = ["build_tree", "read_book", "BatchProof", "Inclusion", "TreeStatement", "read_batch_proof",
           "read_inclusion", "read_leaves", "read_statement", "make_inclusion", "verify_inclusion",
           "verify_inclusion_files", "prove_tree", "verify_tree", "verify_many"]
