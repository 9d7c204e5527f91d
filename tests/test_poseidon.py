"""Native Poseidon: published vectors, circomlibjs agreement, input checks, CLI, commitment."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zkmargin.algebra.constants import R
from zkmargin.circuits import poseidon_constants as pc
from zkmargin.circuits.poseidon import (
    COMMIT_FIRST_SLOTS,
    COMMIT_NEXT_SLOTS,
    COMMIT_TAG,
    PoseidonInputError,
    commit,
    commit_blocks,
    commit_layout,
    permutation,
    poseidon,
    random_salt,
)
from zkmargin.cli.main import app

REPO_ROOT = Path(__file__).resolve().parent.parent
CIRCOMLIBJS = REPO_ROOT / "node_modules" / "circomlibjs"

VECTORS = [
    ([1, 2], 7853200120776062878684798364095072458815029376092732009249414926327459813530),
    ([1, 2, 3, 4], 0x299C867DB6C1FDD79DCEFA40E4510B9837E60EBB1CE0663DBAA525DF65250465),
    ([3, 4], 14763215145315200506921711489642608356394854266165572616578112107564877678998),
]


# --------------------------------------------------------------------------- constants


def test_constants_shapes_and_speed():
    start = time.perf_counter()
    for t in range(pc.MIN_T, pc.MAX_T + 1):
        constants = pc.round_constants(t)
        matrix = pc.mds_matrix(t)
        assert len(constants) == (pc.FULL_ROUNDS + pc.partial_rounds(t)) * t
        assert all(0 <= c < R for c in constants)
        assert len(matrix) == t and all(len(row) == t for row in matrix)
        # Cauchy matrix: every entry non-zero, rows distinct.
        assert all(0 < m < R for row in matrix for m in row)
        assert len(set(matrix)) == t
    assert time.perf_counter() - start < 10.0


def test_partial_rounds_table():
    assert [pc.partial_rounds(t) for t in range(2, 18)] == [
        56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68,
    ]
    for bad in (1, 18, 0, -3):
        with pytest.raises(ValueError):
            pc.partial_rounds(bad)


def test_first_constant_t3():
    # A spot value of circomlib's C for t = 3 (first round constant of lane 0).
    assert pc.round_constants(3)[0] == (
        0x0EE9A592BA9A9518D05986D656F40C2114C4993C11BB29938D21D47304CD8E6E
    )


def test_mds_is_not_symmetric_and_orientation_matters():
    matrix = pc.mds_matrix(3)
    transposed = tuple(zip(*matrix))
    assert matrix != transposed


# --------------------------------------------------------------------------- the hash


@pytest.mark.parametrize("inputs,expected", VECTORS)
def test_published_vectors(inputs, expected):
    assert poseidon(inputs) == expected


def test_hash_equals_permutation_lane0():
    assert poseidon([5, 6, 7]) == permutation([0, 5, 6, 7])[0]


def test_numpy_integers_accepted():
    np = pytest.importorskip("numpy")
    assert poseidon([np.int64(1), np.uint32(2)]) == VECTORS[0][1]


def test_tuple_input_and_edge_values():
    assert poseidon((1, 2)) == VECTORS[0][1]
    assert 0 <= poseidon([R - 1] * 16) < R
    assert 0 <= poseidon([0]) < R


@pytest.mark.parametrize(
    "inputs",
    [[], list(range(17)), [R], [1, R + 5], [-1], [1, 2**300], [1.0], ["1"], [True], [None]],
)
def test_bad_inputs_rejected(inputs):
    with pytest.raises(PoseidonInputError):
        poseidon(inputs)


def test_bad_input_container_rejected():
    for bad in ("12", b"\x01", 5, None, {1, 2}):
        with pytest.raises(PoseidonInputError):
            poseidon(bad)


def test_error_messages_do_not_leak_values():
    secret = R + 123456789
    with pytest.raises(PoseidonInputError) as info:
        poseidon([1, secret])
    assert str(secret) not in str(info.value)
    assert "123456789" not in str(info.value)


def test_no_silent_reduction():
    # x and x + r must not both be accepted (they would hash alike after reduction).
    poseidon([7])
    with pytest.raises(PoseidonInputError):
        poseidon([7 + R])


# --------------------------------------------------------------------------- circomlibjs

_NODE_SCRIPT = r"""
const {buildPoseidon} = require("circomlibjs");
let data = "";
process.stdin.on("data", c => data += c);
process.stdin.on("end", async () => {
  const cases = JSON.parse(data);
  const hasher = await buildPoseidon();
  const out = cases.map(inputs => hasher.F.toString(hasher(inputs.map(BigInt))));
  process.stdout.write(JSON.stringify(out));
});
"""


def _node_available() -> bool:
    return shutil.which("node") is not None and CIRCOMLIBJS.is_dir()


needs_circomlibjs = pytest.mark.skipif(
    not _node_available(), reason="node or node_modules/circomlibjs missing"
)


def _circomlibjs_hashes(cases: list[list[int]]) -> list[int]:
    """Hash every case with circomlibjs in a single node process."""
    proc = subprocess.run(
        ["node", "-e", _NODE_SCRIPT],
        input=json.dumps([[str(x) for x in case] for case in cases]),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [int(s) for s in json.loads(proc.stdout)]


@pytest.mark.interop
@needs_circomlibjs
def test_matches_circomlibjs_all_widths():
    rng = random.Random(20240503)
    cases: list[list[int]] = []
    for k in range(1, 17):  # t = k + 1 = 2 .. 17
        cases.append([rng.randrange(R) for _ in range(k)])
        cases.append([rng.randrange(2**64) for _ in range(k)])
        cases.append([R - 1 - i for i in range(k)])
        cases.append([0] * k)
    cases.extend(inputs for inputs, _ in VECTORS)
    expected = _circomlibjs_hashes(cases)
    assert len(expected) == len(cases)
    for case, want in zip(cases, expected):
        assert poseidon(case) == want, f"mismatch for t = {len(case) + 1}"


@pytest.mark.interop
@pytest.mark.skipif(not CIRCOMLIBJS.is_dir(), reason="node_modules/circomlibjs missing")
def test_constants_equal_circomlibjs_tables():
    """Our generated C and M equal the tables shipped with circomlibjs, for every t."""
    tables = json.loads((CIRCOMLIBJS / "src" / "poseidon_constants.json").read_text())
    for t in range(2, 18):
        assert pc.round_constants(t) == tuple(int(c, 16) for c in tables["C"][t - 2])
        assert pc.mds_matrix(t) == tuple(
            tuple(int(m, 16) for m in row) for row in tables["M"][t - 2]
        )


# --------------------------------------------------------------------------- CLI

runner = CliRunner()


def _cli(*args: str):
    return runner.invoke(app, ["poseidon", *args])


def test_cli_vector_decimal_and_hex():
    result = _cli("1", "2")
    assert result.exit_code == 0
    assert result.stdout.strip() == str(VECTORS[0][1])
    result = _cli("0x1", "0X2")
    assert result.exit_code == 0
    assert result.stdout.strip() == str(VECTORS[0][1])
    result = _cli("1", "2", "3", "4")
    assert int(result.stdout.strip()) == VECTORS[1][1]


def test_cli_sixteen_inputs():
    args = [str(i) for i in range(1, 17)]
    result = _cli(*args)
    assert result.exit_code == 0
    assert int(result.stdout) == poseidon(list(range(1, 17)))


@pytest.mark.parametrize(
    "args,fragment",
    [
        ([], "got 0"),
        ([str(i) for i in range(17)], "got 17"),
        (["abc"], "not an integer"),
        (["1.5"], "not an integer"),
        (["0xzz"], "not an integer"),
        (["1", "-1"], "negative"),
        ([str(R)], "field modulus"),
        ([hex(R + 1)], "field modulus"),
        (["--bogus"], "not an integer"),
    ],
)
def test_cli_bad_input(args, fragment):
    result = _cli(*args)
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert fragment in lines[0]
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- commitment


def test_commit_matches_documented_chain():
    values = list(range(100, 140))  # 40 values: 13 + 15 + 12 -> 3 blocks
    salt = 987654321
    assert commit_blocks(len(values)) == 3
    first = [COMMIT_TAG, 40, salt, *values[:13]]
    h = poseidon(first)
    h = poseidon([h, *values[13:28]])
    h = poseidon([h, *values[28:40], 0, 0, 0])
    assert commit(values, salt) == h


def test_commit_short_and_empty():
    assert commit([], 5) == poseidon([COMMIT_TAG, 0, 5] + [0] * 13)
    assert commit([9], 5) == poseidon([COMMIT_TAG, 1, 5, 9] + [0] * 12)
    assert commit_blocks(0) == 1
    assert commit_blocks(COMMIT_FIRST_SLOTS) == 1
    assert commit_blocks(COMMIT_FIRST_SLOTS + 1) == 2
    assert commit_blocks(COMMIT_FIRST_SLOTS + COMMIT_NEXT_SLOTS) == 2
    assert commit_blocks(COMMIT_FIRST_SLOTS + COMMIT_NEXT_SLOTS + 1) == 3


def test_commit_layout_blocks_are_full_width():
    for n in (0, 1, 13, 14, 28, 29, 60):
        blocks = commit_layout(list(range(n)), 1)
        assert len(blocks) == commit_blocks(n)
        assert all(len(b) == 16 for b in blocks)


def test_commit_binding_values_and_salt():
    values = [3, 1, 4, 1, 5]
    salt = 42
    base = commit(values, salt)
    assert commit(values, salt + 1) != base
    assert commit([3, 1, 4, 1, 6], salt) != base
    assert commit([1, 3, 4, 1, 5], salt) != base  # order matters
    assert commit(values, salt) == base  # deterministic


def test_commit_length_extension_and_padding():
    salt = 77
    # Trailing zeros are not padding: the length is hashed.
    assert commit([1, 2], salt) != commit([1, 2, 0], salt)
    assert commit([], salt) != commit([0], salt)
    # Across a block boundary.
    thirteen = list(range(1, 14))
    assert commit(thirteen, salt) != commit(thirteen + [0], salt)
    assert commit(thirteen + [0], salt) != commit(thirteen + [0, 0], salt)


def test_commit_domain_separation():
    # The commitment is not a bare Poseidon of the values, nor of (salt, values).
    values = [10, 20, 30]
    salt = 5
    c = commit(values, salt)
    assert c != poseidon(values)
    assert c != poseidon([salt, *values])
    assert c != poseidon([len(values), salt, *values])
    # Salt and a value cannot trade places.
    assert commit([5, 20, 30], 10) != c


def test_commit_rejects_bad_inputs_without_leaking():
    with pytest.raises(PoseidonInputError):
        commit([1, R], 3)
    with pytest.raises(PoseidonInputError):
        commit([1, -2], 3)
    with pytest.raises(PoseidonInputError) as info:
        commit([1, 2], R + 99999)
    assert "salt" in str(info.value)
    assert str(R + 99999) not in str(info.value)
    with pytest.raises(PoseidonInputError):
        commit("12", 3)


def test_random_salt():
    salts = {random_salt() for _ in range(32)}
    assert all(0 <= s < R for s in salts)
    assert len(salts) == 32
    assert max(salts).bit_length() > 200
