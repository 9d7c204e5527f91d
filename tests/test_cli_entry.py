"""The console entry point's lean groth16 prove / verify (cli/entry.py) against the typer verbs:
same stdout, stderr and exit code, and neither typer nor rich imported on the lean path."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from test_groth16 import chain_circuit, toy_setup

from zkmargin.algebra.constants import R
from zkmargin.cli.entry import lean_command

LEAN = ("import sys, atexit\n"
        "atexit.register(lambda: print('[typer]' if 'typer' in sys.modules or 'rich' in sys.modules "
        "else '[lean]', file=sys.stderr))\n"
        "from zkmargin.cli.entry import main\n"
        "main(sys.argv[1:])\n")


def _run(args, lean: bool, env=None):
    cmd = [sys.executable, "-c", LEAN, *args] if lean else [sys.executable, "-m", "zkmargin.cli.main", *args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                         env=None if env is None else {**os.environ, **env})
    err = res.stderr
    if lean:
        err, _, tag = err.rstrip("\n").rpartition("\n")
        err = err + "\n" if err else ""
        tag = tag or err.strip()
        assert tag == "[lean]", f"the lean path imported typer/rich: {res.stderr}"
    return res.returncode, res.stdout, err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from zkmargin.formats.r1cs import write_r1cs
    from zkmargin.formats.snarkjs_json import write_verifying_key
    from zkmargin.formats.wtns import write_wtns
    from zkmargin.formats.zkey import write_zkey
    from zkmargin.prover.groth16 import verifying_key_of

    d = tmp_path_factory.mktemp("entry")
    r1cs, w = chain_circuit(30, n_pub=2)
    pk, _ = toy_setup(r1cs, seed=3)
    write_zkey(pk, d / "c.zkey")
    write_r1cs(r1cs, d / "c.r1cs")
    write_wtns(w, d / "w.wtns")
    bad = list(w)
    bad[4] = (bad[4] + 1) % R
    write_wtns(bad, d / "bad.wtns")
    (d / "junk.wtns").write_bytes(b"junk")
    write_verifying_key(d / "vk.json", verifying_key_of(pk))
    return d


def test_lean_parser_takes_only_plain_invocations():
    assert lean_command(["groth16", "verify", "a", "b", "c"]) is not None
    assert lean_command(["groth16", "prove", "a", "b", "c", "d", "--check", "--r1cs", "x", "-q"]) is not None
    assert lean_command(["groth16", "prove", "a", "b", "c", "d", "--r1cs=x"]) is not None
    for argv in (["groth16", "verify", "a", "b"], ["groth16", "verify", "--help"],
                 ["groth16", "prove", "a", "b", "c"], ["groth16", "prove", "a", "b", "c", "d", "--json"],
                 ["groth16", "prove", "a", "b", "c", "d", "--r1cs"], ["groth16", "batchverify", "a", "b"],
                 ["prove", "a"], [], ["--version"]):
        assert lean_command(argv) is None, argv


def test_prove_and_verify_same_as_typer(files):
    d = files
    for lean in (False, True):
        tag = "lean" if lean else "typer"
        args = ["groth16", "prove", f"{d}/c.zkey", f"{d}/w.wtns", f"{d}/proof-{tag}.json", f"{d}/public-{tag}.json"]
        assert _run(args + ["--quiet"], lean) == (0, "", "")
        assert _run(args + ["--check"], lean) == (0, "", "")
    assert json.loads((d / "public-lean.json").read_text()) == json.loads((d / "public-typer.json").read_text())
    for tag in ("lean", "typer"):
        for lean in (False, True):
            assert _run(["groth16", "verify", f"{d}/vk.json", f"{d}/public-{tag}.json", f"{d}/proof-{tag}.json"],
                        lean) == (0, "OK!\n", "")
    # the verifying key read from the .zkey
    args = ["groth16", "verify", f"{d}/c.zkey", f"{d}/public-lean.json", f"{d}/proof-lean.json"]
    assert _run(args, True) == _run(args, False) == (0, "OK!\n", "")


def test_failures_same_as_typer(files):
    d = files
    pub = json.loads((d / "public-typer.json").read_text()) if (d / "public-typer.json").exists() else None
    if pub is None:
        _run(["groth16", "prove", f"{d}/c.zkey", f"{d}/w.wtns", f"{d}/proof-typer.json",
              f"{d}/public-typer.json", "-q"], False)
        pub = json.loads((d / "public-typer.json").read_text())
    pub[0] = str((int(pub[0]) + 1) % R)
    (d / "public-bad.json").write_text(json.dumps(pub))
    (d / "proof-junk.json").write_text("{")
    cases = [
        ["groth16", "prove", f"{d}/missing.zkey", f"{d}/w.wtns", f"{d}/p.json", f"{d}/q.json", "-q"],
        ["groth16", "prove", f"{d}/c.zkey", f"{d}/junk.wtns", f"{d}/p.json", f"{d}/q.json", "-q"],
        ["groth16", "prove", f"{d}/c.zkey", f"{d}/bad.wtns", f"{d}/p.json", f"{d}/q.json", "-q", "--check",
         "--r1cs", f"{d}/c.r1cs"],
        ["groth16", "prove", f"{d}/c.zkey", f"{d}/bad.wtns", f"{d}/p.json", f"{d}/q.json", "--check"],
        ["groth16", "verify", f"{d}/vk.json", f"{d}/public-bad.json", f"{d}/proof-typer.json"],
        ["groth16", "verify", f"{d}/vk.json", f"{d}/public-typer.json", f"{d}/proof-junk.json"],
        ["groth16", "verify", f"{d}/proof-junk.json", f"{d}/public-typer.json", f"{d}/proof-typer.json"],
        ["groth16", "verify", f"{d}/missing.json", f"{d}/public-typer.json", f"{d}/proof-typer.json"],
    ]
    for args in cases:
        typer_res = _run(args, False)
        assert typer_res[0] in (1, 2), (args, typer_res)
        assert _run(args, True) == typer_res, args
    assert not (d / "p.json").exists()


def test_bad_engine_settings_are_one_line_errors(files):
    """A mistyped $ZKMARGIN_KERNELS or $ZKMARGIN_VERIFIER is named in one line, exit 2, on both
    paths (not a traceback, not "cannot read" the key)."""
    d = files
    prove = ["groth16", "prove", f"{d}/c.zkey", f"{d}/w.wtns", f"{d}/p.json", f"{d}/q.json", "-q"]
    verify = ["groth16", "verify", f"{d}/vk.json", f"{d}/public-typer.json", f"{d}/proof-typer.json"]
    if not (d / "proof-typer.json").exists():
        _run(["groth16", "prove", f"{d}/c.zkey", f"{d}/w.wtns", f"{d}/proof-typer.json",
              f"{d}/public-typer.json", "-q"], False)
    for args, env, name in ((prove, {"ZKMARGIN_KERNELS": "bogus"}, "ZKMARGIN_KERNELS"),
                            (verify, {"ZKMARGIN_VERIFIER": "bogus"}, "verifier backend")):
        for lean in (True, False):
            code, out, err = _run(args, lean, env)
            assert code == 2 and err.startswith("error: ") and name in err, (args, lean, err)
            assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "cannot read" not in err
    assert not (d / "p.json").exists()
