"""``zkmargin demo``: the whole solvency flow on the built-in sample, with readable progress.

Steps: the venue makes a signing key and publishes signed span16 parameters (on
margin/samples/market.json, the instruments of margin/samples/portfolio.json) → keys for the
circuit shape (DEVELOPMENT-ONLY ptau, cached) and a signed setup record → the trader commits
to the account (secret opening 0600) → the venue checks the opening against its books and
attests it (ledger) → the auditor issues a nonce and the trader proves equity ≥ 1.0 ×
requirement → the auditor verifies the bundle with every check → a tampered bundle (epoch
changed) is rejected.

Public files go to ``out/``; the opening, the venue's signing key and its ledger go to
``out/secret/`` (0700, files 0600). The demo only ever replaces files in a folder it made
itself (marked by ``.zkmargin-demo``), so pointing ``--out`` at a folder of yours is refused.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from importlib import resources
from pathlib import Path
from typing import Callable

from zkmargin.circuits.margin_circuits import Shape
from zkmargin.formats import jsonio as jio

from .params import ProtocolError

DEMO_VENUE = "demo-venue"
DEMO_EPOCH = 20240524
DEMO_SHAPE = Shape("worst_case", instruments=8, assets=3, groups=2, scenarios=16)
MARKER = ".zkmargin-demo"


def sample(name: str) -> dict:
    """A built-in sample file (``market.json``, ``portfolio.json``), decoded."""
    return json.loads(resources.files("zkmargin.margin").joinpath("samples", name).read_text())


def _prepare(out: Path) -> None:
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise ProtocolError(f"{out} exists and was not made by zkmargin demo (no {MARKER} in it); choose "
                            "another --out, or remove the folder")
    (out / "secret").mkdir(parents=True, exist_ok=True)
    (out / "secret").chmod(0o700)
    (out / MARKER).write_text("made by zkmargin demo; its files are replaced on the next run\n")
    for old in (out / "secret").glob("*"):      # the demo's own secrets from its last run
        old.unlink()


def run_demo(out: Path, say: Callable[[str], None] = print, ticks=None) -> bool:
    """Run the flow; True when the honest bundle verifies and the tampered one is rejected."""
    from zkmargin.formats.snarkjs_json import write_proof, write_public, write_verifying_key
    from zkmargin.formats.zkey import write_zkey
    from zkmargin.margin.market import parse_market
    from zkmargin.margin.portfolio import parse_portfolio
    from zkmargin.margin.riskarray import net_positions

    from . import trust as tr
    from .attest import Ledger, sign_account
    from .bundle import Bundle, verify_bundle, write_bundle
    from .keys import setup_keys, setup_record, write_setup_record
    from .opening import make_opening, write_opening
    from .params import make_params_file, write_params
    from .prove import prove_solvency

    out = Path(out)
    _prepare(out)
    t_all = time.perf_counter()
    market_doc, portfolio_doc = sample("market.json"), sample("portfolio.json")
    market = parse_market(market_doc)
    instruments, _ = net_positions(parse_portfolio(portfolio_doc, market))

    say(f"[1/7] venue '{DEMO_VENUE}' makes a signing key and publishes signed span16 parameters "
        f"for epoch {DEMO_EPOCH}")
    key = tr.new_key()
    tr.write_private_key(out / "secret" / "venue_key.json", DEMO_VENUE, key)
    trust = tr.Trust({}).with_key(DEMO_VENUE, tr.public_hex(key), ("account", "params", "setup"))
    tr.write_trust(out / "trust.json", trust)
    pf = make_params_file(DEMO_VENUE, DEMO_EPOCH, "span16", instruments, market_doc, DEMO_SHAPE).signed(key, DEMO_VENUE)
    write_params(pf, out / "params.json")
    say(f"      {len(instruments)} instruments, {len(pf.assets)} collateral assets, "
        f"parameter digest {str(pf.digest)[:16]}...")

    say("[2/7] trusted setup for the circuit shape (DEVELOPMENT-ONLY powers of tau)")
    t = time.perf_counter()
    keys = setup_keys(pf.shape, progress=lambda m: say("      " + m), ticks=ticks)
    write_zkey(keys.pk, out / "circuit.zkey")
    write_verifying_key(out / "verification_key.json", keys.vk)
    record = setup_record(keys, pf).signed(key, DEMO_VENUE)
    write_setup_record(record, out / "setup.json")
    say(f"      {keys.n_constraints} constraints, keys in {time.perf_counter() - t:.1f} s  "
        "[DEVELOPMENT-ONLY: a single party ran this setup; setup.json says so]")

    say("[3/7] trader commits to positions + collateral (salted Poseidon)")
    op = make_opening(portfolio_doc, pf)
    write_opening(op, out / "commitment.json", out / "secret" / "opening.json", holder="trader-1", force=True)
    say(f"      commitment {str(op.commitment)[:16]}...  (opening in secret/opening.json, mode 0600)")

    say("[4/7] venue checks the opening against its books and attests it (Ed25519, ledger)")
    ledger = Ledger(out / "secret" / "venue_ledger.jsonl")
    att = sign_account(key, DEMO_VENUE, op, pf, dict(portfolio_doc, account="trader-1"), ledger)
    jio.write_json(out / "attestation.json", att.to_json())

    say("[5/7] auditor issues a nonce; trader proves: equity >= 1.0 x span16 requirement")
    nonce = secrets.randbits(128)
    bundle, tm = prove_solvency(pf, keys.pk, [op], nonce=nonce, buffer_bps=10_000, attestations=[att], vk=keys.vk)
    write_bundle(bundle, out / "bundle.json")
    write_proof(out / "proof.json", bundle.proof)
    write_public(out / "public.json", bundle.public_values())
    say(f"      witness {tm.build_s:.2f} s, proof {tm.prove_s:.2f} s -> bundle.json, proof.json, public.json")

    say("[6/7] auditor verifies the bundle (trust file, setup record, venue, epoch, nonce, buffer >= 1.0)")
    report = verify_bundle(Bundle.from_json(jio.read_json(out / "bundle.json", "bundle")), keys.vk, pf,
                           trust=tr.read_trust(out / "trust.json"), venue=DEMO_VENUE, epoch=DEMO_EPOCH,
                           nonce=nonce, setup=record)
    say(f"      {report.summary()}  ({len(report.checks)} checks)")
    for note in report.notes:
        say(f"      note: {note}")

    say("[7/7] a tampered bundle (epoch changed to replay it tomorrow) is rejected")
    evil = copy.deepcopy(bundle.to_json())
    evil["statement"]["epoch"] = DEMO_EPOCH + 1
    for p in evil["public_inputs"]:
        if p["name"] == "epoch":
            p["value"] = str(DEMO_EPOCH + 1)
    bad = verify_bundle(Bundle.from_json(evil), keys.vk, pf, trust=trust, venue=DEMO_VENUE,  # tomorrow's auditor
                        epoch=DEMO_EPOCH + 1, nonce=nonce, setup=record)
    say(f"      {bad.summary()}")
    say(f"done in {time.perf_counter() - t_all:.1f} s; files in {out}")
    return report.valid and not bad.valid


__all__ = ["run_demo", "sample", "DEMO_VENUE", "DEMO_EPOCH", "DEMO_SHAPE"]
