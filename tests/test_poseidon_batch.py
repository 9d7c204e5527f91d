"""The compiled many-at-once Poseidon (circuits/poseidon_batch.py) against the reference."""

from __future__ import annotations

import random

import numpy as np
import pytest

from zkmargin.algebra.arrays import ints_to_array
from zkmargin.algebra.constants import R
from zkmargin.circuits import poseidon as ref
from zkmargin.circuits import poseidon_batch as pb
from zkmargin.circuits.poseidon import PoseidonInputError


def test_every_width_equals_the_reference_permutation():
    rng = random.Random(11)
    for t in range(2, 18):
        states = [[rng.randrange(R) for _ in range(t)] for _ in range(3)] + [[0] * t, [R - 1] * t]
        got = pb.lane0(np.stack([ints_to_array(s) for s in states]))
        assert [int.from_bytes(row.tobytes(), "little") for row in got] == [ref.permutation(s)[0] for s in states], t


def test_commitments_of_every_length_equal_the_reference():
    rng = random.Random(12)
    for n in (0, 1, 7, 12, 13, 14, 27, 28, 29, 45):
        vecs = [[rng.randrange(R) for _ in range(n)] for _ in range(4)]
        salts = [rng.randrange(R) for _ in range(4)]
        assert pb.commit_many(vecs, salts) == [ref.commit(v, s) for v, s in zip(vecs, salts)], n
    assert pb.commit_many([], []) == []


def test_tree_levels_equal_pairwise_reference_hashing():
    rng = random.Random(13)
    for n in (1, 2, 3, 5, 8, 13):
        leaves = [rng.randrange(R) for _ in range(n)]
        pads = [rng.randrange(R) for _ in range(5)]
        want = [leaves]
        for h in range(4):
            cur = want[-1]
            want.append([ref.poseidon([cur[i], cur[i + 1] if i + 1 < len(cur) else pads[h]])
                         for i in range(0, len(cur), 2)])
        assert pb.levels(leaves, pads, 4) == want
        assert pb.top(leaves, pads, 4) == want[4]
    assert pb.node_hashes([1, 2], [3, 4]) == [ref.poseidon([1, 3]), ref.poseidon([2, 4])]


def test_inputs_outside_the_field_are_refused():
    with pytest.raises(PoseidonInputError, match="salt"):
        pb.commit_many([[1]], [R])
    with pytest.raises(PoseidonInputError, match="value"):
        pb.commit_many([[-1]], [1])
    with pytest.raises(PoseidonInputError, match="one length"):
        pb.commit_many([[1], [1, 2]], [1, 2])
    with pytest.raises(PoseidonInputError, match="leaf"):
        pb.levels([R], [0], 1)
    with pytest.raises(PoseidonInputError):
        pb.lane0(np.zeros((1, 18, 4), dtype=np.uint64))
