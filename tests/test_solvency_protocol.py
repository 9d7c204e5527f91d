"""End-to-end solvency proofs: Groth16 keys, bundles, attestations, tampering, replay, secrets.

Keys are made once per circuit and cached (DEVELOPMENT-ONLY, ~/.cache/zkmargin or
$ZKMARGIN_CACHE), so the first run of this module pays the setup and later runs do not.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from zkmargin.circuits.margin_circuits import Shape
from zkmargin.circuits.solvency import InsolventError
from zkmargin.margin.market import parse_market
from zkmargin.margin.portfolio import parse_portfolio
from zkmargin.margin.riskarray import net_positions
from zkmargin.prover.solvency import (ProtocolError, make_opening, make_params_file, params_from_json,
                                      prove_solvency, read_params, setup_keys, write_params)
from zkmargin.verifier import attest as at
from zkmargin.verifier.bundle import Bundle, venue_id, verify_bundle

EPOCH = 20240524
REPO = Path(__file__).resolve().parents[1]


def _sample(name):
    return json.loads(resources.files("zkmargin.margin").joinpath("samples", name).read_text())


@pytest.fixture(scope="module")
def base():
    md, pd = _sample("market.json"), _sample("portfolio.json")
    m = parse_market(md)
    insts, _ = net_positions(parse_portfolio(pd, m))
    return md, pd, insts


def _flow(base, model, shape, venue="VenueA", portfolios=None, signers=None):
    md, pd, insts = base
    pf = make_params_file(venue, EPOCH, model, insts, md, shape)
    keys = setup_keys(shape, model=model)
    portfolios = portfolios or [pd]
    ops = [make_opening(p, pf) for p in portfolios]
    signers = signers or [venue] * len(ops)
    sk = {name: at.new_key() for name in dict.fromkeys(signers)}
    atts = [at.attest(sk[s], s, op.commitment, EPOCH).to_json() for s, op in zip(signers, ops)]
    trusted = {name: at.public_hex(k) for name, k in sk.items()}
    bundle, _ = prove_solvency(pf, keys.pk, ops, venue=venue, epoch=EPOCH, nonce=42, buffer_bps=10_000,
                               attestations=atts, vk=keys.vk, development_only=True)
    return dict(pf=pf, keys=keys, ops=ops, bundle=bundle, trusted=trusted, sk=sk)


@pytest.fixture(scope="module")
def span(base):
    return _flow(base, "span16", Shape("worst_case", 8, 3, 2, 16))


def _verify(f, doc=None, pf=None, **kw):
    b = Bundle.from_json(doc) if doc is not None else f["bundle"]
    kw.setdefault("trusted", f["trusted"])
    return verify_bundle(b, f["keys"].vk, pf or f["pf"], **kw)


def _failed(report):
    return {c.name for c in report.failures}


def _edit(f, key, value, public_name=None):
    doc = copy.deepcopy(f["bundle"].to_json())
    doc["statement"][key] = value
    if public_name:
        for p in doc["public_inputs"]:
            if p["name"] == public_name:
                p["value"] = str(value)
    return doc


# ----------------------------------------------------------------------------- honest

def test_honest_bundle_verifies(span):
    rep = _verify(span, venue="VenueA", epoch=EPOCH, nonce=42, min_buffer_bps=10_000)
    assert rep.valid, rep.summary()


def test_bundle_json_roundtrip(span):
    doc = json.loads(json.dumps(span["bundle"].to_json()))
    assert _verify(span, doc).valid


# ----------------------------------------------------------------------------- tampering

def test_tampered_commitment_rejected(span):
    fake = str(int(span["bundle"].statement["commitments"][0]) + 1)
    doc = _edit(span, "commitments", [fake], "commitment_0")
    rep = _verify(span, doc, trusted=None)
    assert "groth16" in _failed(rep)


def test_tampered_digest_rejected(span, base):
    doc = _edit(span, "params_digest", "12345", "params_digest")
    assert {"parameter digest", "groth16"} <= _failed(_verify(span, doc))
    # a different parameter file (one loss changed, digest recomputed) does not match the proof
    js = span["pf"].to_json()
    js["params"]["LOSS"] = [list(r) for r in js["params"]["LOSS"]]
    js["params"]["LOSS"][0][0] += 1
    with pytest.raises(ProtocolError, match="digest"):
        params_from_json(js)                      # altered file, stale digest
    from dataclasses import replace
    altered = replace(span["pf"].params, LOSS=tuple(tuple(r) for r in js["params"]["LOSS"]))
    js["digest"] = str(altered.digest())
    other = params_from_json(js)
    assert "parameter digest" in _failed(_verify(span, pf=other))


def test_tampered_epoch_rejected(span):
    doc = _edit(span, "epoch", EPOCH + 1, "epoch")
    assert "groth16" in _failed(_verify(span, doc))


def test_tampered_buffer_rejected(span):
    doc = _edit(span, "buffer_bps", 15_000, "buffer_bps")
    assert "groth16" in _failed(_verify(span, doc))
    # the bundle's own public_inputs cannot smuggle a different value past the statement
    doc = copy.deepcopy(span["bundle"].to_json())
    doc["public_inputs"][1]["value"] = "15000"
    assert "public inputs" in _failed(_verify(span, doc))
    assert "buffer" in _failed(_verify(span, min_buffer_bps=12_500))


def test_replay_other_venue_or_epoch_rejected(span):
    assert "expected venue" in _failed(_verify(span, venue="VenueB"))
    assert "expected epoch" in _failed(_verify(span, epoch=EPOCH + 1))
    assert "expected nonce" in _failed(_verify(span, nonce=43))
    doc = _edit(span, "venue", "VenueB")
    doc["statement"]["venue_id"] = str(venue_id("VenueB"))
    for p in doc["public_inputs"]:
        if p["name"] == "venue":
            p["value"] = doc["statement"]["venue_id"]
    assert "groth16" in _failed(_verify(span, doc, venue="VenueB"))


def test_wrong_verifying_key_rejected(span):
    from dataclasses import replace
    from zkmargin.algebra import G1_GEN
    other = replace(span["keys"].vk, alpha_g1=G1_GEN)         # another key (another setup)
    rep = verify_bundle(span["bundle"], other, span["pf"], trusted=span["trusted"])
    assert {"verifying key", "groth16"} <= _failed(rep)


# ----------------------------------------------------------------------------- attestations

def test_bad_attestation_signature_rejected(span):
    doc = copy.deepcopy(span["bundle"].to_json())
    sig = doc["attestations"][0]["signature"]
    doc["attestations"][0]["signature"] = ("0" if sig[0] != "0" else "1") + sig[1:]
    failed = _failed(_verify(span, doc))
    assert any("signature" in n for n in failed) and "commitment_0 attested" in failed


def test_unknown_attester_rejected(span):
    rep = _verify(span, trusted={"SomeoneElse": at.public_hex(at.new_key())})
    assert any("trust" in n for n in _failed(rep))
    impostor = {"VenueA": at.public_hex(at.new_key())}       # right name, wrong key
    assert "commitment_0 attested" in _failed(_verify(span, trusted=impostor))


def test_attestation_for_other_epoch_rejected(span):
    op = span["ops"][0]
    old = at.attest(span["sk"]["VenueA"], "VenueA", op.commitment, EPOCH - 1).to_json()
    doc = copy.deepcopy(span["bundle"].to_json())
    doc["attestations"] = [old]
    assert "commitment_0 attested" in _failed(_verify(span, doc))


# ----------------------------------------------------------------------------- insolvency

def test_insolvent_portfolio_gives_no_proof(span, base):
    md, pd, insts = base
    poor = make_opening(dict(pd, collateral={"USDC": 100.0}), span["pf"])
    with pytest.raises(InsolventError, match=r"short by [\d,]+\.\d\d USD"):
        prove_solvency(span["pf"], span["keys"].pk, [poor], venue="VenueA", epoch=EPOCH, nonce=1,
                       buffer_bps=10_000)


# ----------------------------------------------------------------------------- multi-venue

@pytest.mark.slow
def test_cross_venue_three_accounts(base):
    md, pd, insts = base
    parts = [dict(pd, collateral={}, positions=pd["positions"][:4]),
             dict(pd, collateral={}, positions=pd["positions"][4:]),
             dict(pd, positions=[])]
    f = _flow(base, "span16", Shape("worst_case", 8, 3, 2, 16, accounts=3), venue="Lender",
              portfolios=parts, signers=["VenueA", "VenueB", "Custodian"])
    assert _verify(f, venue="Lender").valid
    doc = copy.deepcopy(f["bundle"].to_json())
    doc["attestations"] = doc["attestations"][:2]              # custodian did not attest
    assert _failed(_verify(f, doc)) == {"commitment_2 attested"}
    # each part alone is not what was proven: the statement holds only for all three commitments
    assert len(f["bundle"].statement["commitments"]) == 3


# ----------------------------------------------------------------------------- other models

@pytest.mark.slow
@pytest.mark.parametrize("model,shape", [("var", Shape("var", 8, 3, 2, 0)),
                                         ("es", Shape("es", 8, 3, 1, 24))])
def test_other_models_end_to_end(base, model, shape):
    f = _flow(base, model, shape)
    assert _verify(f, venue="VenueA", epoch=EPOCH).valid
    doc = _edit(f, "epoch", EPOCH + 1, "epoch")
    assert "groth16" in _failed(_verify(f, doc))


# ----------------------------------------------------------------------------- secrets, CLI, interop

def _json_scalars(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _json_scalars(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _json_scalars(v)
    else:
        yield obj


def _secret_values(op):
    a = op.account
    vals = {v for v in (*a.Q, *a.A, a.U) if abs(v) > 1000}
    return vals, [str(a.salt), hex(a.salt)[2:]]


def _assert_no_secrets(text: str, op):
    vals, salt = _secret_values(op)
    for s in salt:
        assert s not in text
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if doc is not None:
        scalars = {str(x) for x in _json_scalars(doc)}
        assert not {str(v) for v in vals} & scalars
    else:
        for v in vals:
            assert f" {v} " not in f" {text} "


def test_cli_flow_and_no_secrets(tmp_path, base):
    from typer.testing import CliRunner
    from zkmargin.cli.main import app
    md, pd, insts = base
    run = CliRunner().invoke
    (tmp_path / "market.json").write_text(json.dumps(md))
    (tmp_path / "portfolio.json").write_text(json.dumps(pd))
    d = str(tmp_path)
    outs = []

    def ok(args, code=0):
        r = run(app, args)
        outs.append(r.output)
        assert r.exit_code == code, r.output
        return r.output

    ok(["venue", "params", f"{d}/portfolio.json", "--market", f"{d}/market.json", "--venue", "VenueA",
        "--epoch", str(EPOCH), "--out", f"{d}/params.json"])
    ok(["venue", "setup", f"{d}/params.json", "--out-dir", f"{d}/keys"])
    ok(["commit", f"{d}/portfolio.json", "--params", f"{d}/params.json", "--out", f"{d}/commitment.json",
        "--opening", f"{d}/opening.json"])
    assert (tmp_path / "opening.json").stat().st_mode & 0o777 == 0o600
    ok(["attest", "keygen", "VenueA", "--out", f"{d}/venue_key.json", "--trust", f"{d}/trust.json"])
    assert (tmp_path / "venue_key.json").stat().st_mode & 0o777 == 0o600
    ok(["attest", "sign", f"{d}/commitment.json", "--key", f"{d}/venue_key.json", "--epoch", str(EPOCH),
        "--out", f"{d}/att.json"])
    ok(["prove", "--params", f"{d}/params.json", "--zkey", f"{d}/keys/circuit.zkey", "--opening",
        f"{d}/opening.json", "--venue", "VenueA", "--epoch", str(EPOCH), "--nonce", "9",
        "--attestation", f"{d}/att.json", "--out", f"{d}/bundle.json", "--export-dir", f"{d}/export"])
    out = ok(["verify", f"{d}/bundle.json", "--vk", f"{d}/keys/verification_key.json", "--params",
              f"{d}/params.json", "--trust", f"{d}/trust.json", "--venue", "VenueA", "--epoch", str(EPOCH)])
    assert "VALID" in out
    out = ok(["verify", f"{d}/bundle.json", "--vk", f"{d}/keys/verification_key.json", "--params",
              f"{d}/params.json", "--venue", "VenueB"], code=1)
    assert "FAIL expected venue" in out
    ok(["inspect", f"{d}/bundle.json"])
    poor = dict(pd, collateral={"USDC": 10.0})
    (tmp_path / "poor.json").write_text(json.dumps(poor))
    ok(["commit", f"{d}/poor.json", "--params", f"{d}/params.json", "--out", f"{d}/pc.json",
        "--opening", f"{d}/po.json"])
    out = ok(["prove", "--params", f"{d}/params.json", "--zkey", f"{d}/keys/circuit.zkey", "--opening",
              f"{d}/po.json", "--venue", "VenueA", "--epoch", str(EPOCH), "--out", f"{d}/pb.json"], code=1)
    assert "short by" in out and "Traceback" not in out
    assert not (tmp_path / "pb.json").exists()

    from zkmargin.prover.solvency import read_opening
    op = read_opening(tmp_path / "opening.json")
    shared = [p for p in tmp_path.rglob("*.json")
              if p.name not in ("opening.json", "po.json", "venue_key.json", "portfolio.json", "poor.json")]
    assert len(shared) >= 8
    for p in shared:
        if p.name in ("params.json", "market.json"):     # venue's public data: may share numbers
            assert str(op.account.salt) not in p.read_text()
            continue
        _assert_no_secrets(p.read_text(), op)
    for text in outs:
        _assert_no_secrets(text, op)


def test_demo_command(tmp_path):
    from typer.testing import CliRunner
    from zkmargin.cli.main import app
    r = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo")])
    assert r.exit_code == 0, r.output
    assert "VALID" in r.output and "INVALID" in r.output
    for name in ("bundle.json", "proof.json", "public.json", "verification_key.json"):
        assert (tmp_path / "demo" / name).exists()
    assert (tmp_path / "demo" / "secret" / "opening.json").stat().st_mode & 0o777 == 0o600


@pytest.mark.interop
def test_snarkjs_accepts_export(tmp_path, span):
    snarkjs = REPO / "node_modules" / ".bin" / "snarkjs"
    if not snarkjs.exists() or shutil.which("node") is None:
        pytest.skip("snarkjs not installed")
    from zkmargin.verifier.formats import proof_from_json, write_proof, write_public, write_verifying_key
    b = span["bundle"]
    write_proof(tmp_path / "proof.json", proof_from_json(b.proof))
    write_public(tmp_path / "public.json", b.public_values())
    write_verifying_key(tmp_path / "verification_key.json", span["keys"].vk)
    r = subprocess.run([str(snarkjs), "groth16", "verify", str(tmp_path / "verification_key.json"),
                        str(tmp_path / "public.json"), str(tmp_path / "proof.json")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "OK" in r.stdout, r.stdout + r.stderr
    # and a tampered public input is rejected by snarkjs too
    pub = json.loads((tmp_path / "public.json").read_text())
    pub[3] = str(int(pub[3]) + 1)
    (tmp_path / "public.json").write_text(json.dumps(pub))
    r = subprocess.run([str(snarkjs), "groth16", "verify", str(tmp_path / "verification_key.json"),
                        str(tmp_path / "public.json"), str(tmp_path / "proof.json")],
                       capture_output=True, text=True, timeout=120)
    assert "OK" not in r.stdout
