"""Interop with the real snarkjs / circom2 (node_modules at the repository root).

* we verify snarkjs proofs (and reject tampered ones), from the CLI and the library;
* snarkjs verifies our proofs: made with a snarkjs ``.zkey`` from a circom2-compiled circuit
  and a snarkjs-computed witness, and made with a key of our own (JSON writers);
* ``zkmargin zkey export verificationkey`` writes what snarkjs writes;
* ``zkmargin groth16 batchverify`` on a directory of snarkjs and zkmargin proofs.

Skipped cleanly when node or the npm packages are missing (``make node`` installs them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "node_modules" / ".bin"
SNARKJS = BIN / "snarkjs"
CIRCOM = BIN / "circom2"

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("node") is None or not SNARKJS.exists() or not CIRCOM.exists(),
                       reason="node / snarkjs / circom2 not installed (run `make node`)"),
]

CIRCUIT = """pragma circom 2.0.0;
template Chain(N) {
    signal input a;
    signal input b;
    signal output c;
    signal t[N + 1];
    t[0] <== a;
    for (var i = 0; i < N; i++) {
        t[i + 1] <== t[i] * b + i;
    }
    c <== t[N];
}
component main {public [b]} = Chain(40);
"""


def _run(*args, cwd: Path, ok: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                         timeout=300)
    if ok and res.returncode != 0:
        raise AssertionError(f"{args[0]} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res


def snarkjs(*args, cwd: Path, ok: bool = True) -> subprocess.CompletedProcess:
    return _run(SNARKJS, *args, cwd=cwd, ok=ok)


def zkmargin(*args) -> tuple[int, str]:
    """Run our CLI in-process (typer's runner); returns (exit code, output)."""
    from typer.testing import CliRunner

    from zkmargin.cli.main import app

    res = CliRunner().invoke(app, [str(a) for a in args])
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.output


@pytest.fixture(scope="module")
def flow(tmp_path_factory) -> Path:
    """circom2 circuit, snarkjs ceremony (power 8), zkey with one contribution, a witness,
    a snarkjs proof."""
    d = tmp_path_factory.mktemp("snarkjs")
    (d / "chain.circom").write_text(CIRCUIT)
    _run(CIRCOM, "chain.circom", "--r1cs", "--wasm", "-o", ".", cwd=d)
    (d / "input.json").write_text(json.dumps({"a": "3", "b": "11"}))
    snarkjs("wtns", "calculate", "chain_js/chain.wasm", "input.json", "chain.wtns", cwd=d)
    snarkjs("powersoftau", "new", "bn128", "8", "pot0.ptau", cwd=d)
    snarkjs("powersoftau", "contribute", "pot0.ptau", "pot1.ptau", "--name=t", "-e=interop test",
            cwd=d)
    snarkjs("powersoftau", "prepare", "phase2", "pot1.ptau", "pot.ptau", cwd=d)
    snarkjs("groth16", "setup", "chain.r1cs", "pot.ptau", "chain0.zkey", cwd=d)
    snarkjs("zkey", "contribute", "chain0.zkey", "chain.zkey", "--name=t", "-e=phase two", cwd=d)
    snarkjs("zkey", "export", "verificationkey", "chain.zkey", "vk.json", cwd=d)
    snarkjs("groth16", "prove", "chain.zkey", "chain.wtns", "proof.json", "public.json", cwd=d)
    return d


def _needs_zkey_reader():
    try:
        from zkmargin.formats.zkey import read_zkey  # noqa: F401
    except ImportError:
        pytest.skip("formats.zkey (the .zkey reader) is not available yet")


# ---------------------------------------------------------------------------------------------
# We verify snarkjs proofs


def test_we_verify_snarkjs_proof(flow):
    from zkmargin.formats.snarkjs_json import read_proof, read_public, read_verifying_key
    from zkmargin.verifier.groth16 import verify

    vk = read_verifying_key(flow / "vk.json")
    res = verify(vk, read_public(flow / "public.json"), read_proof(flow / "proof.json"))
    assert res.valid, res.reason
    code, out = zkmargin("groth16", "verify", flow / "vk.json", flow / "public.json",
                         flow / "proof.json")
    assert code == 0 and "OK" in out


def test_we_reject_tampered_snarkjs_proof(flow, tmp_path):
    from zkmargin.algebra import R

    public = json.loads((flow / "public.json").read_text())
    for k, bad in enumerate([[str(int(public[0]) + 1), public[1]],
                             [str(int(public[0]) + R), public[1]], public[:1]]):
        (tmp_path / f"bad{k}.json").write_text(json.dumps(bad))
        code, out = zkmargin("groth16", "verify", flow / "vk.json", tmp_path / f"bad{k}.json",
                             flow / "proof.json")
        assert code != 0 and "INVALID" in out and len(out.strip().splitlines()) == 1
        # snarkjs agrees
        assert snarkjs("groth16", "verify", flow / "vk.json", tmp_path / f"bad{k}.json",
                       flow / "proof.json", cwd=tmp_path, ok=False).returncode != 0
    proof = json.loads((flow / "proof.json").read_text())
    proof["pi_a"], proof["pi_c"] = proof["pi_c"], proof["pi_a"]
    (tmp_path / "swapped.json").write_text(json.dumps(proof))
    code, out = zkmargin("groth16", "verify", flow / "vk.json", flow / "public.json",
                         tmp_path / "swapped.json")
    assert code == 1 and "pairing check failed" in out
    (tmp_path / "garbage.json").write_text('{"pi_a": 1}')
    code, out = zkmargin("groth16", "verify", flow / "vk.json", flow / "public.json",
                         tmp_path / "garbage.json")
    assert code == 2 and "pi_a" in out


# ---------------------------------------------------------------------------------------------
# snarkjs verifies our proofs


def test_snarkjs_verifies_our_proof_from_snarkjs_zkey(flow, tmp_path):
    """circom2 circuit + snarkjs witness + snarkjs .zkey -> our prover -> snarkjs verify."""
    _needs_zkey_reader()
    code, out = zkmargin("groth16", "prove", flow / "chain.zkey", flow / "chain.wtns",
                         tmp_path / "proof.json", tmp_path / "public.json", "--check", "--quiet")
    assert code == 0, out
    assert json.loads((tmp_path / "public.json").read_text()) == \
        json.loads((flow / "public.json").read_text())
    res = snarkjs("groth16", "verify", flow / "vk.json", tmp_path / "public.json",
                  tmp_path / "proof.json", cwd=tmp_path, ok=False)
    assert res.returncode == 0 and "OK" in res.stdout, res.stdout + res.stderr
    # zero knowledge: a second proof differs, and also verifies
    zkmargin("groth16", "prove", flow / "chain.zkey", flow / "chain.wtns",
             tmp_path / "proof2.json", tmp_path / "public2.json", "--quiet")
    assert (tmp_path / "proof.json").read_text() != (tmp_path / "proof2.json").read_text()
    assert snarkjs("groth16", "verify", flow / "vk.json", tmp_path / "public2.json",
                   tmp_path / "proof2.json", cwd=tmp_path, ok=False).returncode == 0


def test_snarkjs_verifies_our_proof_with_our_key(tmp_path):
    """A key of our own (test setup) -> our verification_key.json + proof.json -> snarkjs."""
    sys.path.insert(0, str(Path(__file__).parent))
    from test_groth16 import chain_circuit, toy_setup

    from zkmargin.algebra import ints_to_array
    from zkmargin.formats.snarkjs_json import write_proof, write_public, write_verifying_key
    from zkmargin.prover.groth16 import prove, verifying_key_of

    r1cs, w = chain_circuit(12, n_pub=2, seed=3)
    pk, _ = toy_setup(r1cs, seed=4)
    out = prove(pk, ints_to_array(w))
    write_verifying_key(tmp_path / "vk.json", verifying_key_of(pk))
    write_proof(tmp_path / "proof.json", out.proof)
    write_public(tmp_path / "public.json", out.public_signals)
    res = snarkjs("groth16", "verify", "vk.json", "public.json", "proof.json", cwd=tmp_path,
                  ok=False)
    assert res.returncode == 0 and "OK" in res.stdout, res.stdout + res.stderr


def test_export_verificationkey_matches_snarkjs(flow, tmp_path):
    _needs_zkey_reader()
    code, out = zkmargin("zkey", "export", "verificationkey", flow / "chain.zkey",
                         tmp_path / "vk.json")
    assert code == 0, out
    ours = json.loads((tmp_path / "vk.json").read_text())
    theirs = json.loads((flow / "vk.json").read_text())
    for key in ("protocol", "curve", "nPublic", "vk_alpha_1", "vk_beta_2", "vk_gamma_2",
                "vk_delta_2", "IC"):
        assert ours[key] == theirs[key], key
    if "vk_alphabeta_12" in ours:
        assert ours["vk_alphabeta_12"] == theirs["vk_alphabeta_12"]


def test_batchverify_cli(flow, tmp_path):
    d = tmp_path / "batch"
    d.mkdir()
    for k in range(3):
        shutil.copy(flow / "proof.json", d / f"proof_{k}.json")
        shutil.copy(flow / "public.json", d / f"public_{k}.json")
    code, out = zkmargin("groth16", "batchverify", flow / "vk.json", d)
    assert code == 0 and "3 proofs valid" in out
    public = json.loads((flow / "public.json").read_text())
    (d / "public_1.json").write_text(json.dumps([str(int(public[0]) + 1), public[1]]))
    code, out = zkmargin("groth16", "batchverify", flow / "vk.json", d)
    assert code == 1 and "proof_1.json" in out and "proof_0.json" not in out
    (tmp_path / "list.txt").write_text("# public proof\nbatch/public_0.json batch/proof_0.json\n")
    code, out = zkmargin("groth16", "batchverify", flow / "vk.json", tmp_path / "list.txt")
    assert code == 0 and "1 proofs valid" in out


# ---------------------------------------------------------------------------------------------
# Solidity verifier on a real EVM (optional: needs `npm install solc @ethereumjs/evm@3` in the
# directory named by ZKMARGIN_EVM_NODE_MODULES, default the repository's node_modules)

EVM_MODULES = Path(os.environ.get("ZKMARGIN_EVM_NODE_MODULES", str(ROOT / "node_modules")))

_EVM_RUNNER = """
const base = process.argv[2]
const { EVM } = require(base + '/@ethereumjs/evm')
const { hexToBytes, bytesToHex, utf8ToBytes } = require(base + '/@ethereumjs/util')
const { keccak256 } = require(base + '/ethereum-cryptography/keccak.js')
const fs = require('fs')
;(async () => {
  const [bin, words, sig] = process.argv.slice(3)
  const evm = await EVM.create()
  const code = hexToBytes('0x' + fs.readFileSync(bin, 'utf8').trim())
  const dep = await evm.runCall({ data: code, gasLimit: 10000000n })
  if (dep.execResult.exceptionError) { console.log('deploy-error'); process.exit(2) }
  const sel = bytesToHex(keccak256(utf8ToBytes(sig))).slice(0, 10)
  const res = await evm.runCall({ to: dep.createdAddress, data: hexToBytes(sel + words),
                                  gasLimit: 10000000n })
  if (res.execResult.exceptionError) { console.log('call-error'); process.exit(3) }
  console.log(bytesToHex(res.execResult.returnValue), res.execResult.executionGasUsed.toString())
})()
"""


@pytest.mark.skipif(not (EVM_MODULES / "solc").exists()
                    or not (EVM_MODULES / "@ethereumjs" / "evm").exists(),
                    reason="solc / @ethereumjs/evm not installed (optional EVM test)")
def test_solidity_verifier_on_evm(flow, tmp_path):
    from zkmargin.formats.snarkjs_json import read_proof, read_public

    code, out = zkmargin("zkey", "export", "solidityverifier", flow / "vk.json",
                         tmp_path / "Verifier.sol")
    assert code == 0, out
    _run("node", EVM_MODULES / "solc" / "solc.js", "--bin", "Verifier.sol", "-o", "build",
         cwd=tmp_path)
    (binfile,) = (tmp_path / "build").glob("*Groth16Verifier.bin")
    (tmp_path / "run.cjs").write_text(_EVM_RUNNER)
    proof, public = read_proof(flow / "proof.json"), read_public(flow / "public.json")
    (x0, x1), (y0, y1) = proof.b
    sig = f"verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[{len(public)}])"

    def call(pub: list[int]) -> str:
        words = [proof.a[0], proof.a[1], x1, x0, y1, y0, proof.c[0], proof.c[1], *pub]
        hexwords = "".join(w.to_bytes(32, "big").hex() for w in words)
        return _run("node", "run.cjs", EVM_MODULES, binfile, hexwords, sig, cwd=tmp_path).stdout

    assert call(public).startswith("0x" + "0" * 63 + "1")
    assert call([public[0] + 1, *public[1:]]).startswith("0x" + "0" * 64)
    from zkmargin.algebra import R
    assert call([public[0] + R, *public[1:]]).startswith("0x" + "0" * 64)  # input >= r
