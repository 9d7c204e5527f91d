"""End-to-end solvency proofs: the honest flow, tampering, replay, insolvency, the CLI, secrets.

The attacks of the protocol-soundness review live in test_protocol_attacks.py; hostile files
in test_hostile_files.py. Keys are development keys cached per circuit (~/.cache/zkmargin or
$ZKMARGIN_CACHE), so the first run pays the setup and later runs do not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from solvency_flow import EPOCH, NONCE, base, failed, make_flow

from zkmargin.circuits.margin_circuits import Shape
from zkmargin.circuits.solvency import InsolventError
from zkmargin.solvency.bundle import read_bundle, write_bundle
from zkmargin.solvency.opening import make_opening
from zkmargin.solvency.prove import prove_solvency

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def span(tmp_path_factory):
    return make_flow(tmp_path_factory.mktemp("span"))


def _edit_public(doc, name, value):
    for p in doc["public_inputs"]:
        if p["name"] == name:
            p["value"] = str(value)
    return doc


# ----------------------------------------------------------------------------- honest

def test_honest_bundle_verifies(span):
    rep = span.verify(venue="VenueA", epoch=EPOCH)
    assert rep.valid, rep.summary()
    assert rep.claim().startswith("equity >= 1 x span16 margin requirement (1 account; venue VenueA")
    assert "expected epoch" in failed(span.verify(epoch=None))     # the auditor must say which epoch


def test_bundle_file_roundtrip(span, tmp_path):
    write_bundle(span.bundle, tmp_path / "b.json")
    assert span.verify(read_bundle(tmp_path / "b.json")).valid
    assert not list(tmp_path.glob(".*tmp"))          # atomic write left nothing behind


def test_report_json_names_every_check(span):
    doc = span.verify().to_json()
    assert doc["valid"] and doc["claim"]["buffer_bps"] == 10_000 and doc["claim"]["venue"] == "VenueA"
    assert all(set(c) == {"name", "status", "reason"} for c in doc["checks"])


# ----------------------------------------------------------------------------- tampering

def test_tampered_commitment_rejected(span):
    doc = span.doc()
    fake = str(int(doc["statement"]["accounts"][0]["commitment"]) + 1)
    doc["statement"]["accounts"][0]["commitment"] = fake
    _edit_public(doc, "commitment_0", fake)
    assert {"groth16", "commitment_0 attested"} <= failed(span.verify(doc))


def test_tampered_epoch_buffer_nonce_rejected(span):
    for key, value in (("epoch", EPOCH + 1), ("buffer_bps", 15_000), ("nonce", NONCE + 1)):
        doc = span.doc()
        doc["statement"][key] = value if key != "nonce" else str(value)
        _edit_public(doc, key, value)
        rep = span.verify(doc, nonce=NONCE + 1 if key == "nonce" else NONCE)
        assert "groth16" in failed(rep), key
    doc = span.doc()                    # the bundle's own list cannot smuggle a value past the statement
    doc["public_inputs"][1]["value"] = "15000"
    assert "public inputs" in failed(span.verify(doc))


def test_replay_checks(span):
    assert "expected venue" in failed(span.verify(venue="VenueB"))
    assert "expected epoch" in failed(span.verify(epoch=EPOCH + 1))
    assert "expected nonce" in failed(span.verify(nonce=NONCE + 1))
    assert span.verify(nonce=None).notes        # no nonce: said, not silently accepted


def test_wrong_verifying_key_rejected(span):
    from dataclasses import replace

    from zkmargin.algebra import G1_GEN
    other = replace(span.keys.vk, alpha_g1=G1_GEN)
    assert {"verifying key", "groth16", "setup record"} <= failed(span.verify(vk=other))


def test_bad_attestation_signature_rejected(span):
    doc = span.doc()
    sig = doc["attestations"][0]["signature"]
    doc["attestations"][0]["signature"] = ("0" if sig[0] != "0" else "1") + sig[1:]
    assert {"attestation #1 (VenueA) signature", "commitment_0 attested"} <= failed(span.verify(doc))


# ----------------------------------------------------------------------------- insolvency

def test_insolvent_portfolio_gives_no_proof(span):
    _, pd, _ = base()
    poor = make_opening(dict(pd, collateral={"USDC": 100.0}), span.pf)
    with pytest.raises(InsolventError, match=r"short by [\d,]+\.\d\d USD"):
        prove_solvency(span.pf, span.keys.pk, [poor], nonce=1, buffer_bps=10_000)


# ----------------------------------------------------------------------------- several accounts

@pytest.mark.slow
def test_cross_venue_three_accounts(tmp_path):
    """Two venues' position accounts and a custodian's collateral account, proven together."""
    _, pd, _ = base()
    parts = [dict(pd, collateral={}, positions=pd["positions"][:4]),
             dict(pd, collateral={}, positions=pd["positions"][4:]),
             dict(pd, positions=[])]
    f = make_flow(tmp_path, shape=Shape("worst_case", 8, 3, 2, 16, accounts=3), venue="Lender",
                  portfolios=parts, holders=["VenueA", "VenueB", "CustodianX"],
                  kinds=["positions", "positions", "collateral"])
    assert f.verify(venue="Lender").valid, f.verify().summary()
    doc = f.doc()
    doc["attestations"] = doc["attestations"][:2]              # the custodian did not attest
    assert failed(f.verify(doc)) == {"commitment_2 attested"}


@pytest.mark.slow
@pytest.mark.parametrize("model,shape", [("var", Shape("var", 8, 3, 2, 0)), ("es", Shape("es", 8, 3, 1, 24))])
def test_other_models_end_to_end(tmp_path, model, shape):
    kw = {}
    if model == "var":           # delta-normal var is not provable for instrument lists with options
        md, pd, insts = base()
        lin = dict(pd, positions=[p for p in pd["positions"] if p["type"] != "option"])
        kw = dict(portfolios=[lin], instruments=[i for i in insts if not i.is_option])
    f = make_flow(tmp_path, model, shape, **kw)
    assert f.verify(venue="VenueA", epoch=EPOCH).valid
    doc = f.doc()
    doc["statement"]["nonce"] = str(NONCE + 1)
    _edit_public(doc, "nonce", NONCE + 1)
    assert "groth16" in failed(f.verify(doc, nonce=NONCE + 1))


# ----------------------------------------------------------------------------- CLI, secrets

def _json_scalars(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _json_scalars(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _json_scalars(v)
    else:
        yield obj


def assert_no_secrets(text: str, op):
    a = op.account
    for s in (str(a.salt), hex(a.salt)[2:]):
        assert s not in text
    vals = {str(v) for v in (*a.Q, *a.A, a.U) if abs(v) > 1000}
    try:
        doc = json.loads(text)
    except ValueError:
        for v in vals:
            assert f" {v} " not in f" {text} "
        return
    assert not vals & {str(x) for x in _json_scalars(doc)}


def test_cli_flow_and_no_secrets(tmp_path):
    from typer.testing import CliRunner

    from zkmargin.cli.main import app
    from zkmargin.solvency.opening import read_opening
    md, pd, _ = base()
    (tmp_path / "market.json").write_text(json.dumps(md))
    (tmp_path / "portfolio.json").write_text(json.dumps(pd))
    d = str(tmp_path)
    outs = []

    def ok(args, code=0):
        r = CliRunner().invoke(app, args)
        outs.append(r.output)
        assert r.exit_code == code, r.output
        assert "Traceback" not in r.output
        return r.output

    ok(["attest", "keygen", "VenueA", "--out", f"{d}/venue_key.json", "--trust", f"{d}/trust.json",
        "--role", "account", "--role", "params", "--role", "setup"])
    assert (tmp_path / "venue_key.json").stat().st_mode & 0o777 == 0o600
    ok(["venue", "params", f"{d}/portfolio.json", "--market", f"{d}/market.json", "--venue", "VenueA",
        "--epoch", str(EPOCH), "--key", f"{d}/venue_key.json", "--out", f"{d}/params.json"])
    ok(["venue", "setup", f"{d}/params.json", "--out-dir", f"{d}/keys", "--key", f"{d}/venue_key.json"])
    ok(["commit", f"{d}/portfolio.json", "--params", f"{d}/params.json", "--out", f"{d}/commitment.json",
        "--opening", f"{d}/opening.json"])
    assert (tmp_path / "opening.json").stat().st_mode & 0o777 == 0o600
    ok(["attest", "sign", f"{d}/opening.json", "--params", f"{d}/params.json", "--portfolio",
        f"{d}/portfolio.json", "--epoch", str(EPOCH), "--key", f"{d}/venue_key.json", "--out", f"{d}/att.json"])
    assert (tmp_path / "venue_key.json.ledger.jsonl").stat().st_mode & 0o777 == 0o600
    ok(["prove", "--params", f"{d}/params.json", "--zkey", f"{d}/keys/circuit.zkey", "--opening",
        f"{d}/opening.json", "--nonce", "9", "--attestation", f"{d}/att.json", "--out", f"{d}/bundle.json",
        "--export-dir", f"{d}/export"])
    verify = ["verify", f"{d}/bundle.json", "--vk", f"{d}/keys/verification_key.json", "--params",
              f"{d}/params.json", "--trust", f"{d}/trust.json", "--setup", f"{d}/keys/setup.json",
              "--epoch", str(EPOCH)]
    out = ok(verify + ["--venue", "VenueA", "--nonce", "9"])
    assert "VALID: equity >= 1 x span16" in out
    out = ok(verify + ["--venue", "VenueB"], code=1)
    assert "FAIL expected venue" in out
    out = ok(verify + ["--nonce", "9", "--no-dev"], code=1)        # a development key, judged by its record
    assert "FAIL setup:" in out
    js = json.loads(ok(verify + ["--nonce", "9", "--json"]))
    assert js["valid"] is True and js["claim"]["nonce"] == "9"
    ok(["inspect", f"{d}/bundle.json"])
    poor = dict(pd, collateral={"USDC": 10.0})
    (tmp_path / "poor.json").write_text(json.dumps(poor))
    ok(["commit", f"{d}/poor.json", "--params", f"{d}/params.json", "--out", f"{d}/pc.json", "--opening", f"{d}/po.json"])
    out = ok(["prove", "--params", f"{d}/params.json", "--zkey", f"{d}/keys/circuit.zkey", "--opening",
              f"{d}/po.json", "--nonce", "1", "--out", f"{d}/pb.json"], code=1)
    assert "short by" in out
    assert not (tmp_path / "pb.json").exists()

    op = read_opening(tmp_path / "opening.json")
    secret = {"opening.json", "po.json", "venue_key.json", "portfolio.json", "poor.json"}
    shared = [p for p in tmp_path.rglob("*.json") if p.name not in secret]
    assert len(shared) >= 10
    for p in shared:
        if p.name in ("params.json", "market.json"):     # the venue's public data may share numbers
            assert str(op.account.salt) not in p.read_text()
            continue
        assert_no_secrets(p.read_text(), op)
    for text in outs:
        assert_no_secrets(text, op)


def test_demo_command(tmp_path):
    from typer.testing import CliRunner

    from zkmargin.cli.main import app
    r = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo")])
    assert r.exit_code == 0, r.output
    assert "VALID" in r.output and "INVALID" in r.output
    for name in ("bundle.json", "proof.json", "public.json", "verification_key.json", "setup.json", "trust.json"):
        assert (tmp_path / "demo" / name).exists()
    assert (tmp_path / "demo" / "secret" / "opening.json").stat().st_mode & 0o777 == 0o600
    r = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo")])      # its own folder: reused
    assert r.exit_code == 0, r.output
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    r = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "mine")])      # someone else's: refused
    assert r.exit_code == 2 and (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


@pytest.mark.interop
def test_snarkjs_accepts_export(tmp_path, span, node_tools):
    from zkmargin.formats.snarkjs_json import write_proof, write_public, write_verifying_key
    b = span.bundle
    write_proof(tmp_path / "proof.json", b.proof)
    write_public(tmp_path / "public.json", b.public_values())
    write_verifying_key(tmp_path / "verification_key.json", span.keys.vk)
    args = [tmp_path / "verification_key.json", tmp_path / "public.json", tmp_path / "proof.json"]
    r = node_tools.snarkjs_cmd("groth16", "verify", *map(str, args))
    assert r.returncode == 0 and "OK" in r.stdout, r.stdout + r.stderr
    pub = json.loads((tmp_path / "public.json").read_text())
    pub[3] = str(int(pub[3]) + 1)
    (tmp_path / "public.json").write_text(json.dumps(pub))
    r = node_tools.snarkjs_cmd("groth16", "verify", *map(str, args))
    assert "OK" not in r.stdout
