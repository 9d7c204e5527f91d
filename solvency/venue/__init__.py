"""Venue-wide proof of solvency with portfolio margin (a Merkle sum tree of margin accounts).

One module per concern:

* :mod:`.tree`      -- the native Merkle tree over leaf commitments, inclusion paths, the
  verified top-level combination of batch subtree roots;
* :mod:`.book`      -- reading the venue's book (a folder or JSONL of portfolios or openings),
  building the tree folder (public statement, leaves, the private book of openings);
* :mod:`.files`     -- the file formats (statement, leaves, batch proofs, inclusion proofs);
* :mod:`.cluster`   -- the Dask client (an embedded ``LocalCluster`` or ``--scheduler URL``);
* :mod:`.prove`     -- proving every batch on the cluster, exactly once into the result;
* :mod:`.verify`    -- verifying the whole tree (the venue's signatures, batch Groth16
  verification, the top level) and thousands of trader bundles (with per-trader nonces);
* :mod:`.publish`   -- the venue's signature over a proven tree's statement;
* :mod:`.reserves`  -- attestations that the insurance fund is held;
* :mod:`.inclusion` -- a client's inclusion proof and its verification.

The statement, the circuits and the threat model are in docs/VENUE_SOLVENCY.md; the batch
circuit is :mod:`zkmargin.circuits.venue_circuits`.
"""

from __future__ import annotations

from .book import build_tree, read_book
from .files import BatchProof, Inclusion, TreeStatement, read_batch_proof, read_inclusion, read_leaves, read_statement
from .inclusion import make_inclusion, verify_inclusion, verify_inclusion_files
from .prove import prove_tree, setup_batch_keys
from .publish import sign_tree
from .reserves import ReservesAttestation, attest_reserves, read_reserves
from .verify import read_nonces, verify_many, verify_tree

__all__ = ["build_tree", "read_book", "BatchProof", "Inclusion", "TreeStatement", "read_batch_proof",
           "read_inclusion", "read_leaves", "read_statement", "make_inclusion", "verify_inclusion",
           "verify_inclusion_files", "prove_tree", "setup_batch_keys", "sign_tree", "ReservesAttestation",
           "attest_reserves", "read_reserves", "verify_tree", "verify_many", "read_nonces"]
