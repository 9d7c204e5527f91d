"""Interop with the real circom2 / snarkjs tools from node_modules (skipped without node).

* a circuit compiled by circom2 (circomlib Poseidon, Num2Bits, LessThan, LessEqThan) loads here
  and its witness, computed by circom's wasm through ``snarkjs wtns calculate``, satisfies our
  loaded constraint system -- and tampered witnesses do not;
* ``snarkjs r1cs info`` and ``snarkjs wtns check`` accept the files we write.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from zkmargin.algebra.constants import R
from zkmargin.circuits import gadgets as g
from zkmargin.circuits.builder import ConstraintSystem, WitnessTampering
from zkmargin.formats.r1cs import read_r1cs, read_sym, write_r1cs, write_sym
from zkmargin.formats.wtns import read_wtns, write_wtns, wtns_to_bytes

pytestmark = pytest.mark.interop

ANSI = re.compile(r"\x1b\[[0-9;]*m")
CIRCUIT = Path("tests") / "circom" / "interop.circom"
INPUT = {"bound": 100, "a": 12, "b": 40, "salt": 987654321}


def _ok(proc, what: str) -> str:
    out = ANSI.sub("", proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{out[-2000:]}"
    return out


@pytest.fixture(scope="module")
def circom_build(node_tools, repo_root, tmp_path_factory):
    """Compile tests/circom/interop.circom once per session (about 4 s)."""
    if not (node_tools.node_modules / "circomlib" / "circuits" / "poseidon.circom").exists():
        pytest.skip("circomlib is not installed in node_modules")
    out = tmp_path_factory.mktemp("circom")
    # circom2 runs as WASI and only sees the working directory's tree: run it from the repo
    # root with relative source and library paths.
    proc = node_tools.run(node_tools.circom2, str(CIRCUIT), "--r1cs", "--wasm", "--sym", "-l",
                          "node_modules", "-o", str(out), cwd=repo_root, timeout=300)
    _ok(proc, "circom2 compile")
    return {"dir": out, "r1cs": out / "interop.r1cs", "sym": out / "interop.sym",
            "wasm": out / "interop_js" / "interop.wasm"}


def _circom_witness(node_tools, build, inputs: dict, name: str) -> Path:
    d = build["dir"]
    (d / f"{name}.json").write_text(json.dumps({k: str(v) for k, v in inputs.items()}))
    wtns = d / f"{name}.wtns"
    _ok(node_tools.snarkjs_cmd("wtns", "calculate", str(build["wasm"]), str(d / f"{name}.json"),
                               str(wtns)), "snarkjs wtns calculate")
    return wtns


def _wtns_check(node_tools, r1cs: Path, wtns: Path):
    return node_tools.snarkjs_cmd("wtns", "check", str(r1cs), str(wtns))


def test_circom_circuit_loads_and_its_witness_satisfies(node_tools, circom_build):
    r1 = read_r1cs(circom_build["r1cs"])
    assert (r1.n_pub_out, r1.n_pub_in, r1.n_prv_in) == (2, 1, 3)
    assert r1.n_constraints > 300                   # Poseidon(3) + comparators
    w = read_wtns(_circom_witness(node_tools, circom_build, INPUT, "honest"))
    assert len(w) == r1.n_wires
    assert r1.check(w) == []
    commitment, less, bound = r1.public_signals(w)
    assert (less, bound) == (1, 100)
    assert w[1 + 3:1 + 3 + 3] == [12, 40, 987654321]          # private inputs follow publics
    read_sym(circom_build["sym"], r1)
    assert r1.wire_names[:7] == ["one", "main.commitment", "main.less", "main.bound",
                                 "main.a", "main.b", "main.salt"]
    w[4] += 1
    bad = r1.check(w)
    assert bad and "main.a" in " ".join(r1.describe(i) for i in bad)
    try:
        from zkmargin.circuits.poseidon import poseidon
    except ImportError:  # pragma: no cover - Poseidon lives in another module
        return
    assert commitment == poseidon([12, 40, 987654321])


def test_circom_second_witness_and_failing_statement(node_tools, circom_build):
    r1 = read_r1cs(circom_build["r1cs"])
    w = read_wtns(_circom_witness(node_tools, circom_build, {**INPUT, "a": 70, "b": 30}, "other"))
    assert r1.check(w) == [] and r1.public_signals(w)[1] == 0
    # a + b > bound: circom's wasm refuses to produce a witness (assert fails)
    d = circom_build["dir"]
    (d / "bad.json").write_text(json.dumps({k: str(v) for k, v in {**INPUT, "a": 90}.items()}))
    proc = node_tools.snarkjs_cmd("wtns", "calculate", str(circom_build["wasm"]),
                                  str(d / "bad.json"), str(d / "bad.wtns"))
    assert proc.returncode != 0 or not (d / "bad.wtns").exists()


def test_circom_witness_tampering_detected_here(node_tools, circom_build):
    """Our checker catches every single-value mutation of circom's witness: circomlib's
    gadgets pin every signal, and our loaded constraint system sees that."""
    r1 = read_r1cs(circom_build["r1cs"])
    w = read_wtns(_circom_witness(node_tools, circom_build, INPUT, "honest2"))
    t = WitnessTampering(r1, w)
    assert t.survivors(mutations=[lambda v: v + 1, lambda v: -v if v else 1]) == []
    w[2] = 0                                    # claim "a < b" is false
    assert r1.check(w)
    w[2] = 1
    w[1] = (w[1] + 1) % R                       # another commitment
    assert r1.check(w)


def test_our_rewrite_of_circom_files_is_accepted_by_snarkjs(node_tools, circom_build, tmp_path):
    r1 = read_r1cs(circom_build["r1cs"])
    wtns_path = _circom_witness(node_tools, circom_build, INPUT, "honest3")
    w = read_wtns(wtns_path)
    assert wtns_to_bytes(w) == wtns_path.read_bytes()          # byte-exact .wtns writer
    ours = tmp_path / "rewritten.r1cs"
    write_r1cs(r1, ours)
    assert read_r1cs(ours).constraints == r1.constraints
    out = _ok(_wtns_check(node_tools, ours, wtns_path), "snarkjs wtns check")
    assert "WITNESS IS CORRECT" in out


def _gadget_circuit() -> ConstraintSystem:
    cs = ConstraintSystem("interop")
    collateral = cs.private("collateral", 10_000)
    loss = cs.private("loss", -2_500)
    rate = cs.public("rate", 7)
    buffer_ = cs.public("buffer", 1_000)
    with cs.section("margin"):
        pos = g.relu(cs, -loss, 32)
        q, _ = g.ceil_div(cs, pos * 3, rate, 40, 8)
        g.assert_less_equal(cs, q + buffer_, collateral, 48)
        flag = g.is_zero(cs, loss)
        cs.output("level", g.select(cs, flag, 0, q))
        g.to_bits(cs, collateral, 254)
    return cs


def test_snarkjs_accepts_our_files(node_tools, tmp_path):
    cs = _gadget_circuit()
    assert cs.check() == []
    r1 = cs.to_r1cs()
    r1_path, w_path = tmp_path / "ours.r1cs", tmp_path / "ours.wtns"
    write_r1cs(r1, r1_path)
    write_wtns(cs.witness(), w_path)
    info = _ok(node_tools.snarkjs_cmd("r1cs", "info", str(r1_path)), "snarkjs r1cs info")
    fields = dict(re.findall(r"# of ([A-Za-z ]+): (\d+)", info))
    assert int(fields["Constraints"]) == r1.n_constraints
    assert int(fields["Wires"]) == r1.n_wires
    assert int(fields["Public Inputs"]) == 2 and int(fields["Outputs"]) == 1
    assert int(fields["Private Inputs"]) == 2
    assert "WITNESS IS CORRECT" in _ok(_wtns_check(node_tools, r1_path, w_path), "wtns check")
    write_sym(r1, tmp_path / "ours.sym")
    printed = _ok(node_tools.snarkjs_cmd("r1cs", "print", str(r1_path), str(tmp_path / "ours.sym")),
                  "snarkjs r1cs print")
    assert "main.margin.relu" in printed and "main.collateral" in printed
    # and snarkjs rejects a witness our checker rejects
    bad = cs.witness()
    bad[-1] = (bad[-1] + 1) % R
    assert cs.check(bad)
    write_wtns(bad, w_path)
    proc = _wtns_check(node_tools, r1_path, w_path)
    assert proc.returncode != 0 and "NOT CORRECT" in ANSI.sub("", proc.stdout + proc.stderr)
