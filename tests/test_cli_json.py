"""Every ``--json`` output against its schema in docs/CLI.md (issue 17), with its exit code.

The schemas are read from the document itself (the ``<!-- schema: VERB -->`` blocks), so the
documentation and the outputs cannot drift apart. The verbs whose real inputs take minutes
(a venue tree on Dask, a running gateway) are run on their library results, substituted
where the CLI calls the library: the JSON layer under test is the CLI's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zkmargin.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def schemas() -> dict[str, dict]:
    text = (ROOT / "docs" / "CLI.md").read_text(encoding="utf-8")
    found = re.findall(r"<!-- schema: ([a-z0-9 -]+) -->\s*```json\n(.*?)```", text, re.S)
    return {name: json.loads(body) for name, body in found}


SCHEMAS = schemas()
TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def validate(doc, schema: dict, where: str = "$") -> None:
    """The JSON Schema subset docs/CLI.md uses: type, required, properties, items, enum,
    const, and ``$ref`` to another documented schema by name."""
    if "$ref" in schema:
        return validate(doc, SCHEMAS[schema["$ref"]], where)
    if "const" in schema:
        assert doc == schema["const"] and type(doc) is type(schema["const"]), f"{where}: {doc!r}"
    if "enum" in schema:
        assert doc in schema["enum"], f"{where}: {doc!r} not in {schema['enum']}"
    t = schema.get("type")
    if t == "integer":
        assert isinstance(doc, int) and not isinstance(doc, bool), f"{where}: {doc!r} is not an integer"
    elif t == "number":
        assert isinstance(doc, (int, float)) and not isinstance(doc, bool), f"{where}: {doc!r} is not a number"
    elif t is not None:
        assert isinstance(doc, TYPES[t]), f"{where}: {type(doc).__name__} is not {t}"
    for key in schema.get("required", []):
        assert key in doc, f"{where}: missing {key!r}"
    for key, sub in schema.get("properties", {}).items():
        if isinstance(doc, dict) and key in doc:
            validate(doc[key], sub, f"{where}.{key}")
    if "items" in schema and isinstance(doc, list):
        for k, item in enumerate(doc):
            validate(item, schema["items"], f"{where}[{k}]")


def run_json(args: list[str], verb: str, code: int) -> dict:
    """Run ``args``, check the exit code and that stdout is one document valid for ``verb``."""
    r = runner.invoke(app, args)
    assert r.exit_code == code, r.output
    doc = json.loads(r.stdout)
    validate(doc, SCHEMAS[verb])
    assert doc.get("exit_code", code) == code
    if "checks" in doc:
        assert doc["valid"] == (code == 0) and all(c["status"] in ("ok", "fail") for c in doc["checks"])
        assert doc["valid"] == all(c["status"] == "ok" for c in doc["checks"])
    return doc


def test_every_verdict_verb_has_one_schema():
    assert set(SCHEMAS) >= {"check", "verify", "inspect", "groth16 verify", "groth16 batchverify",
                            "powersoftau verify", "zkey verify", "venue check", "venue solvency verify",
                            "verify-inclusion", "verify-many", "submit", "margin", "backtest"}
    for name, schema in SCHEMAS.items():
        if name not in ("check", "inspect", "backtest"):
            assert {"command", "verdict", "valid", "exit_code", "checks"} <= set(schema["required"]), name


# ---------------------------------------------------------------------------------------------
# margin, backtest, venue check


def test_margin_json_ok_and_below_maintenance(samples, tmp_path):
    args = ["margin", str(samples / "portfolio.json"), "--market", str(samples / "market.json"), "--json"]
    doc = run_json(args + ["--model", "hvar"], "margin", 0)
    assert doc["verdict"] == "OK" and doc["details"]["alpha"] == 0.99
    poor = json.loads((samples / "portfolio.json").read_text())
    poor["collateral"] = {"USDC": 10.0}
    (tmp_path / "poor.json").write_text(json.dumps(poor))
    doc = run_json(["margin", str(tmp_path / "poor.json"), "--market", str(samples / "market.json"), "--json",
                    "--integer"], "margin", 1)
    assert doc["verdict"] == "BELOW MAINTENANCE" and doc["below_maintenance"] is True
    assert doc["checks"][0]["status"] == "fail" and "below the maintenance margin" in doc["checks"][0]["reason"]
    assert doc["integer"]["solvent"] is False


def test_backtest_json(tmp_path):
    import numpy as np
    rng = np.random.default_rng(0)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.03, 90)))
    from datetime import date, timedelta
    rows = [f"{(date(2021, 1, 1) + timedelta(days=k)).isoformat()},{c}" for k, c in enumerate(closes)]
    f = tmp_path / "btc_usd.csv"
    f.write_text("Date,Close\n" + "\n".join(rows) + "\n")
    doc = run_json(["backtest", str(f), "--window", "30", "--model", "span16", "--json"], "backtest", 0)
    assert {r["model"] for r in doc["results"]} == {"isolated", "span16"}


def test_venue_check_json(samples, tmp_path, monkeypatch):
    p = tmp_path / "params.json"
    r = runner.invoke(app, ["venue", "params", str(samples / "portfolio.json"), "--market", str(samples / "market.json"),
                            "--venue", "VenueA", "--epoch", "20240524", "--out", str(p)])
    assert r.exit_code == 0, r.output
    doc = run_json(["venue", "check", str(p), "--json"], "venue check", 0)
    assert doc["verdict"] == "OK" and doc["venue"] == "VenueA"
    # a file made by another recomputation (any edit of this one is refused as altered: exit 2)
    monkeypatch.setattr("zkmargin.solvency.params.recompute_problems", lambda pf: ["H", "LOSS"])
    doc = run_json(["venue", "check", str(p), "--json"], "venue check", 1)
    assert doc["verdict"] == "MISMATCH" and [c["name"] for c in doc["checks"]] == ["H", "LOSS"]


# ---------------------------------------------------------------------------------------------
# Groth16 and the ceremony


@pytest.fixture(scope="module")
def groth16_files(tmp_path_factory):
    """A tiny circuit through the CLI's own ceremony: ptau (power 3), setup, prove, export."""
    from zkmargin.circuits.builder import ConstraintSystem
    from zkmargin.formats.r1cs import write_r1cs
    from zkmargin.formats.wtns import write_wtns

    d = tmp_path_factory.mktemp("g16")
    cs = ConstraintSystem("tiny")
    x = cs.private("x", 3)
    y = cs.public("y", 35)
    x3 = cs.mul(cs.mul(x, x, "x2"), x, "x3")
    cs.assert_equal(x3 + x + 5, y)
    write_r1cs(cs.to_r1cs(), d / "c.r1cs")
    write_wtns(cs.witness(), d / "w.wtns")
    p = lambda n: str(d / n)  # noqa: E731
    for args in (["powersoftau", "new", "3", p("0.ptau")],
                 ["powersoftau", "contribute", p("0.ptau"), p("1.ptau"), "-q"],
                 ["powersoftau", "prepare", p("1.ptau"), p("2.ptau"), "-q"],
                 ["groth16", "setup", p("c.r1cs"), p("2.ptau"), p("c0.zkey"), "-q"],
                 ["zkey", "contribute", p("c0.zkey"), p("c.zkey"), "-q"],
                 ["groth16", "prove", p("c.zkey"), p("w.wtns"), p("proof.json"), p("public.json"), "-q"],
                 ["zkey", "export", "verificationkey", p("c.zkey"), p("vk.json")]):
        r = runner.invoke(app, args)
        assert r.exit_code == 0, (args, r.output)
    return d


def test_groth16_verify_json(groth16_files, tmp_path):
    d = groth16_files
    doc = run_json(["groth16", "verify", str(d / "vk.json"), str(d / "public.json"), str(d / "proof.json"), "--json"],
                   "groth16 verify", 0)
    assert doc["checks"] == [{"name": "groth16", "status": "ok", "reason": ""}] and doc["public_inputs"] == 1
    (tmp_path / "public.json").write_text(json.dumps(["36"]))
    doc = run_json(["groth16", "verify", str(d / "vk.json"), str(tmp_path / "public.json"), str(d / "proof.json"),
                    "--json"], "groth16 verify", 1)
    assert doc["verdict"] == "INVALID" and doc["checks"][0]["reason"]
    # unreadable input: exit 2, nothing on stdout, one error line, with or without --json
    for extra in ([], ["--json"]):
        r = runner.invoke(app, ["groth16", "verify", str(d / "vk.json"), str(tmp_path), str(d / "proof.json"), *extra])
        assert r.exit_code == 2 and r.stdout == "", r.output
        assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1
        assert f"{tmp_path.name}: is a directory, not a file" in r.stderr and "Errno" not in r.stderr


def test_groth16_batchverify_json(groth16_files, tmp_path):
    import shutil
    d = groth16_files
    folder = tmp_path / "many"
    folder.mkdir()
    for k in range(2):
        shutil.copy(d / "proof.json", folder / f"proof{k}.json")
        shutil.copy(d / "public.json", folder / f"public{k}.json")
    doc = run_json(["groth16", "batchverify", str(d / "vk.json"), str(folder), "--json"], "groth16 batchverify", 0)
    assert doc["proofs"] == 2 and [c["name"] for c in doc["checks"]] == ["proof0.json", "proof1.json"]
    (folder / "public1.json").write_text(json.dumps(["36"]))
    doc = run_json(["groth16", "batchverify", str(d / "vk.json"), str(folder), "--json"], "groth16 batchverify", 1)
    assert doc["invalid"] == 1 and [c["status"] for c in doc["checks"]] == ["ok", "fail"]


def test_ceremony_verify_json(groth16_files):
    d = groth16_files
    doc = run_json(["powersoftau", "verify", str(d / "2.ptau"), "--json"], "powersoftau verify", 0)
    assert doc["power"] == 3 and doc["contributions"] == 1
    doc = run_json(["zkey", "verify", str(d / "c.r1cs"), str(d / "2.ptau"), str(d / "c.zkey"), "--json"],
                   "zkey verify", 0)
    assert doc["contributions"] == 1 and doc["checks"] == [{"name": "zkey verify", "status": "ok", "reason": ""}]


# ---------------------------------------------------------------------------------------------
# verify and inspect: a real bundle (a development key cached per machine)


@pytest.fixture(scope="module")
def bundle_files(tmp_path_factory):
    from solvency_flow import make_flow, write_flow_files

    d = tmp_path_factory.mktemp("bundle")
    flow = make_flow(d)
    return write_flow_files(flow, d), flow


def test_verify_and_inspect_json(bundle_files):
    from solvency_flow import NONCE
    d, flow = bundle_files
    base = ["verify", str(d / "bundle.json"), "--vk", str(d / "vk.json"), "--params", str(d / "params.json"),
            "--trust", str(d / "trust.json"), "--setup", str(d / "setup.json"), "--epoch", str(flow.pf.epoch),
            "--json"]
    doc = run_json(base + ["--nonce", str(NONCE)], "verify", 0)
    assert doc["verdict"] == "VALID" and doc["claim"]["nonce"] == str(NONCE)
    assert any("use --no-dev" in n for n in doc["notes"])          # a development key, accepted
    doc = run_json(base + ["--nonce", str(NONCE), "--no-dev"], "verify", 1)
    failed = {c["name"]: c["reason"] for c in doc["checks"] if c["status"] == "fail"}
    assert set(failed) == {"setup"} and "DEVELOPMENT-ONLY" in failed["setup"]
    assert not any("--no-dev" in n for n in doc["notes"])          # no hint to use what was given
    r = runner.invoke(app, base[:-1] + ["--nonce", str(NONCE), "--no-dev"])
    assert r.exit_code == 1 and "use --no-dev" not in r.output
    doc = run_json(base + ["--nonce", "7", "--min-buffer", "1.5"], "verify", 1)
    assert "claim" not in doc and len([c for c in doc["checks"] if c["status"] == "fail"]) >= 2
    doc = run_json(["inspect", str(d / "bundle.json"), "--json"], "inspect", 0)
    assert doc["statement"]["venue"] == "VenueA" and "instrument slots" in doc["shape"]
    r = runner.invoke(app, ["inspect", str(d / "bundle.json")])
    assert r.exit_code == 0 and "{" not in r.output                  # the shape in words, no raw dict


# ---------------------------------------------------------------------------------------------
# verbs whose inputs take minutes: the library's result substituted


def _tree_report(valid: bool):
    from zkmargin.solvency.bundle import Check
    from zkmargin.solvency.venue.verify import TreeReport
    checks = [Check("batch proofs", True), Check("statement signature", valid, "" if valid else "not signed")]
    rep = TreeReport(checks=checks, notes=["a note"], bad_batches=[] if valid else [3])
    if valid:
        class _St:
            def to_json(self):
                return {"venue": "VenueA"}
        rep.statement = _St()
    return rep


@pytest.mark.parametrize("valid", [True, False])
def test_tree_verdicts_json(monkeypatch, tmp_path, valid):
    import zkmargin.solvency.venue.inclusion as inclusion
    import zkmargin.solvency.venue.verify as verify
    monkeypatch.setattr(verify, "verify_tree", lambda *a, **k: _tree_report(valid))
    monkeypatch.setattr(inclusion, "verify_inclusion_files", lambda *a, **k: _tree_report(valid))
    monkeypatch.setattr("zkmargin.solvency.params.read_params", lambda p: None)
    monkeypatch.setattr("zkmargin.formats.snarkjs_json.read_verifying_key", lambda p: None)
    code = 0 if valid else 1
    doc = run_json(["venue", "solvency", "verify", str(tmp_path), "--params", "p.json", "--epoch", "1",
                    "--allow-unsigned", "--json"], "venue solvency verify", code)
    assert doc["bad_batches"] == ([] if valid else [3])
    run_json(["verify-inclusion", "inc.json", "--statement", str(tmp_path), "--epoch", "1", "--json"],
             "verify-inclusion", code)


@pytest.mark.parametrize("rows,code", [([("a.json", True, "VALID: ...")], 0),
                                       ([("a.json", True, "VALID: ..."), ("b.json", False, "INVALID: groth16")], 1)])
def test_verify_many_json(monkeypatch, tmp_path, rows, code):
    import zkmargin.solvency.venue.verify as verify
    monkeypatch.setattr(verify, "verify_many", lambda *a, **k: rows)
    monkeypatch.setattr("zkmargin.solvency.params.read_params", lambda p: None)
    monkeypatch.setattr("zkmargin.formats.snarkjs_json.read_verifying_key", lambda p: None)
    doc = run_json(["verify-many", str(tmp_path), "--vk", "vk.json", "--params", "p.json", "--allow-unattested",
                    "--json"], "verify-many", code)
    assert doc["total"] == len(rows) and [b["bundle"] for b in doc["bundles"]] == [r[0] for r in rows]


@pytest.mark.parametrize("answer,code", [({"status": "accepted", "id": 4}, 0),
                                         ({"status": "rejected", "failures": [{"name": "groth16", "reason": "bad"}]}, 1)])
def test_submit_json(monkeypatch, tmp_path, answer, code):
    import zkmargin.service.client as client

    class Fake:
        def __init__(self, *a, **k):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, path):
            return answer

    monkeypatch.setattr(client, "GatewayClient", Fake)
    doc = run_json(["submit", str(tmp_path / "bundle.json"), "--json"], "submit", code)
    assert doc["answer"] == answer and doc["verdict"] == ("ACCEPTED" if code == 0 else "REJECTED")
