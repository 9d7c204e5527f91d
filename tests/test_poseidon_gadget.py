"""Poseidon / commitment R1CS gadgets: agreement with the native hash, soundness, counts."""

from __future__ import annotations

import random

import pytest

from zkmargin.algebra.constants import R
from zkmargin.circuits.builder import ConstraintSystem
from zkmargin.circuits.poseidon import PoseidonInputError, commit, poseidon
from zkmargin.circuits.poseidon_constants import partial_rounds
from zkmargin.circuits.poseidon_gadget import (
    commit_constraints,
    commit_gadget,
    poseidon_constraints,
    poseidon_gadget,
)


def _hash_circuit(values: list[int]) -> tuple[ConstraintSystem, object]:
    cs = ConstraintSystem("poseidon-test")
    xs = [cs.private(f"x{i}", v) for i, v in enumerate(values)]
    out = cs.output("h", poseidon_gadget(cs, xs))
    return cs, out


def _surviving_mutations(cs: ConstraintSystem) -> list[str]:
    """Signals whose value can be changed (by +1 or to 0) without breaking a constraint.

    Looks only at the constraints touching the mutated signal, so a sweep over all signals
    costs about one pass over the constraints per mutation.
    """
    touching: dict[int, list[int]] = {}
    for n, con in enumerate(cs.constraints):
        for sig in set(con.a) | set(con.b) | set(con.c):
            touching.setdefault(sig, []).append(n)

    def dot(terms: dict[int, int], vals: list[int]) -> int:
        return sum(c * vals[k] for k, c in terms.items()) % R

    vals = list(cs.values)
    survivors = []
    for sig in range(1, len(vals)):
        old = vals[sig]
        for new in ((old + 1) % R, 0 if old else 1):
            vals[sig] = new
            ok = True
            for n in touching.get(sig, ()):
                con = cs.constraints[n]
                if dot(con.a, vals) * dot(con.b, vals) % R != dot(con.c, vals):
                    ok = False
                    break
            if ok:
                survivors.append(f"{cs.names[sig]} -> {new}")
        vals[sig] = old
    return survivors


@pytest.mark.parametrize("n_inputs", list(range(1, 17)))
def test_gadget_matches_native_every_width(n_inputs):
    rng = random.Random(n_inputs)
    values = [rng.randrange(R) for _ in range(n_inputs)]
    cs, out = _hash_circuit(values)
    assert out.value == poseidon(values)
    assert cs.check() == []
    # 3 per S-box, minus the free constant lane 0 of round 0, plus one for the output wire.
    assert len(cs.constraints) == poseidon_constraints(n_inputs) + 1
    t = n_inputs + 1
    assert poseidon_constraints(n_inputs) == 3 * (8 * t + partial_rounds(t) - 1)


def test_constraint_counts_reported(capsys):
    table = {k + 1: poseidon_constraints(k) for k in range(1, 17)}
    assert table[3] == 240  # circomlib's Poseidon(2) also has 240
    assert table[2] == 213
    assert table[17] == 609
    with capsys.disabled():
        print("\nPoseidon gadget constraints by t: "
              + ", ".join(f"t={t}: {c}" for t, c in table.items()))
        print("commit gadget constraints by n: "
              + ", ".join(f"n={n}: {commit_constraints(n)}" for n in (1, 4, 13, 14, 28, 40)))


def test_published_vector_in_circuit():
    cs, out = _hash_circuit([1, 2])
    assert out.value == 7853200120776062878684798364095072458815029376092732009249414926327459813530
    assert cs.check() == []
    assert cs.unconstrained_signals() == []


def test_every_signal_is_pinned_t3():
    cs, _ = _hash_circuit([11, 22])
    assert _surviving_mutations(cs) == []


def test_every_signal_is_pinned_commit():
    cs = ConstraintSystem("commit-test")
    values = [cs.private(f"v{i}", 1000 + i) for i in range(15)]  # two blocks
    salt = cs.private("salt", 987654321)
    cs.output("c", commit_gadget(cs, values, salt))
    assert cs.check() == []
    assert _surviving_mutations(cs) == []


def test_wrong_claimed_hash_fails():
    cs = ConstraintSystem("claim")
    xs = [cs.private("a", 3), cs.private("b", 4)]
    claim = cs.public("claim", poseidon([3, 4]))
    cs.assert_equal(poseidon_gadget(cs, xs), claim, "hash matches claim")
    assert cs.check() == []
    bad = cs.solve({"claim": poseidon([3, 4]) + 1})
    failures = cs.check(bad)
    assert failures and failures[-1].name.endswith("hash matches claim")
    # Another preimage under the same claim also fails.
    assert cs.check(cs.solve({"a": 4, "b": 3})) != []


def test_witness_replay_new_inputs():
    cs, _ = _hash_circuit([0, 0, 0])
    witness = cs.solve({"x0": 5, "x1": 6, "x2": 7})
    assert witness[1] == poseidon([5, 6, 7])  # wire 1 is the public output
    assert cs.check(witness) == []


def test_constant_inputs_fold_to_no_constraints():
    cs = ConstraintSystem("const")
    out = poseidon_gadget(cs, [1, 2])
    assert out.is_constant()
    assert out.constant_value() == poseidon([1, 2])
    assert len(cs.constraints) == 0


def test_mixed_lc_inputs():
    cs = ConstraintSystem("lc")
    a = cs.private("a", 9)
    b = cs.private("b", 10)
    out = poseidon_gadget(cs, [a + b * 3, 5, a - b])
    assert out.value == poseidon([39, 5, (9 - 10) % R])
    assert cs.check() == []
    # Constant lane 2 (the 5) is free in the first round.
    assert len(cs.constraints) == poseidon_constraints(3) - 3


def test_gadget_rejects_bad_arguments():
    cs = ConstraintSystem("bad")
    with pytest.raises(PoseidonInputError):
        poseidon_gadget(cs, [])
    with pytest.raises(PoseidonInputError):
        poseidon_gadget(cs, [cs.private(f"x{i}", i) for i in range(17)])
    with pytest.raises(PoseidonInputError):
        poseidon_gadget(cs, [R])
    with pytest.raises(PoseidonInputError):
        commit_gadget(cs, [1, -1], 0)


@pytest.mark.parametrize("n", [0, 1, 5, 13, 14, 28, 29, 40])
def test_commit_gadget_matches_native(n):
    rng = random.Random(1000 + n)
    values = [rng.randrange(R) for _ in range(n)]
    salt_value = rng.randrange(R)
    cs = ConstraintSystem("commit")
    vs = [cs.private(f"v{i}", v) for i, v in enumerate(values)]
    salt = cs.private("salt", salt_value)
    c = commit_gadget(cs, vs, salt)
    assert c.value == commit(values, salt_value)
    assert cs.check() == []
    assert len(cs.constraints) == commit_constraints(n)


def test_commit_gadget_binds_salt_and_values():
    cs = ConstraintSystem("commit-claim")
    vs = [cs.private(f"v{i}", 10 * i) for i in range(4)]
    salt = cs.private("salt", 31337)
    claimed = cs.public("commitment", commit([0, 10, 20, 30], 31337))
    cs.assert_equal(commit_gadget(cs, vs, salt), claimed, "commitment opens")
    assert cs.check() == []
    assert cs.check(cs.solve({"salt": 31338})) != []
    assert cs.check(cs.solve({"v2": 21})) != []
    assert cs.check(cs.solve({"v0": 10, "v1": 0})) != []


def test_project_tamper_helper_if_available():
    pytest.importorskip("zkmargin.formats.r1cs")
    from zkmargin.circuits.builder import WitnessTampering

    cs, _ = _hash_circuit([5, 6])
    tamper = WitnessTampering(cs.to_r1cs(), cs.witness())
    assert tamper.survivors() == []
