"""``zkmargin demo``: the whole solvency flow on the built-in sample, with readable progress.

Steps: venue publishes parameters (span16 on margin/samples/market.json, the instruments of
margin/samples/portfolio.json) → keys for the circuit shape (DEVELOPMENT-ONLY ptau, cached)
→ trader commits to the account (secret opening 0600) → venue attests the commitment →
trader proves equity ≥ 1.0 × requirement → auditor verifies the bundle → a tampered bundle
(epoch changed) is rejected. Writes bundle.json, proof.json, public.json,
verification_key.json (snarkjs-compatible), params.json, commitment.json, attestation.json,
trust.json; the opening and the venue's signing key go to a ``secret/`` subfolder (0600).
"""

from __future__ import annotations

import copy
import json
import time
from importlib import resources
from pathlib import Path
from typing import Callable

from zkmargin.circuits.margin_circuits import Shape

DEMO_VENUE = "demo-venue"
DEMO_EPOCH = 20240524
DEMO_SHAPE = Shape("worst_case", instruments=8, assets=3, groups=2, scenarios=16)


def _sample(name: str) -> dict:
    return json.loads(resources.files("zkmargin.margin").joinpath("samples", name).read_text())


def run_demo(out: Path, say: Callable[[str], None] = print, ticks=None) -> bool:
    """Run the flow; returns True when the honest bundle verifies and the tampered one fails.
    ``ticks(what, done, total)`` receives the progress of the key setup (first run only)."""
    import secrets

    from zkmargin.margin.market import parse_market
    from zkmargin.margin.portfolio import parse_portfolio
    from zkmargin.margin.riskarray import net_positions
    from zkmargin.prover.solvency import (make_opening, make_params_file, prove_solvency,
                                          setup_keys, write_json, write_opening, write_params)
    from zkmargin.prover.zkey import write_zkey
    from zkmargin.verifier import attest as at
    from zkmargin.verifier.bundle import Bundle, verify_bundle
    from zkmargin.verifier.formats import write_proof, write_public, write_verifying_key

    out = Path(out)
    (out / "secret").mkdir(parents=True, exist_ok=True)
    (out / "secret").chmod(0o700)
    t_all = time.perf_counter()
    market_doc, portfolio_doc = _sample("market.json"), _sample("portfolio.json")
    market = parse_market(market_doc)
    instruments, _ = net_positions(parse_portfolio(portfolio_doc, market))

    say(f"[1/7] venue '{DEMO_VENUE}' publishes span16 risk parameters for epoch {DEMO_EPOCH}")
    pf = make_params_file(DEMO_VENUE, DEMO_EPOCH, "span16", instruments, market_doc, DEMO_SHAPE)
    write_params(pf, out / "params.json")
    say(f"      {len(instruments)} instruments, {len(pf.assets)} collateral assets, "
        f"parameter digest {str(pf.digest)[:16]}...")

    say("[2/7] trusted setup for the circuit shape (DEVELOPMENT-ONLY powers of tau)")
    t = time.perf_counter()
    keys = setup_keys(pf.shape, progress=lambda m: say("      " + m), ticks=ticks)
    write_zkey(keys.pk, out / "circuit.zkey")
    write_verifying_key(out / "verification_key.json", keys.vk)
    say(f"      {keys.n_constraints} constraints, keys in {time.perf_counter() - t:.1f} s  "
        "[DEVELOPMENT-ONLY: a single party ran this setup]")

    say("[3/7] trader commits to positions + collateral (salted Poseidon)")
    op = make_opening(portfolio_doc, pf)
    write_opening(op, out / "commitment.json", out / "secret" / "opening.json", holder="trader-1")
    say(f"      commitment {str(op.commitment)[:16]}...  (opening in secret/opening.json, mode 0600)")

    say("[4/7] venue attests the commitment (Ed25519)")
    key = at.new_key()
    write_json(out / "secret" / "venue_key.json", at.private_key_json(DEMO_VENUE, key), secret=True)
    att = at.attest(key, DEMO_VENUE, op.commitment, DEMO_EPOCH, "account")
    write_json(out / "attestation.json", att.to_json())
    write_json(out / "trust.json", at.trust_json({DEMO_VENUE: at.public_hex(key)}))

    say("[5/7] trader proves: equity >= 1.0 x span16 requirement")
    nonce = secrets.randbits(128)
    bundle, tm = prove_solvency(pf, keys.pk, [op], venue=DEMO_VENUE, epoch=DEMO_EPOCH, nonce=nonce,
                                buffer_bps=10_000, attestations=[att.to_json()], vk=keys.vk,
                                development_only=keys.development_only)
    write_json(out / "bundle.json", bundle.to_json())
    from zkmargin.verifier.formats import proof_from_json
    write_proof(out / "proof.json", proof_from_json(bundle.proof))
    write_public(out / "public.json", bundle.public_values())
    say(f"      witness {tm.build_s:.2f} s, proof {tm.prove_s:.2f} s -> bundle.json, proof.json, public.json")

    say("[6/7] auditor verifies the bundle")
    trusted = at.trust_from_json(json.loads((out / "trust.json").read_text()))
    report = verify_bundle(Bundle.from_json(json.loads((out / "bundle.json").read_text())), keys.vk, pf,
                           trusted=trusted, venue=DEMO_VENUE, epoch=DEMO_EPOCH)
    say(f"      {report.summary()}  ({len(report.checks)} checks)")

    say("[7/7] a tampered bundle (epoch changed to replay it tomorrow) is rejected")
    evil = copy.deepcopy(bundle.to_json())
    evil["statement"]["epoch"] = DEMO_EPOCH + 1
    for p in evil["public_inputs"]:
        if p["name"] == "epoch":
            p["value"] = str(DEMO_EPOCH + 1)
    bad = verify_bundle(Bundle.from_json(evil), keys.vk, pf, trusted=trusted)
    say(f"      {bad.summary()}")
    say(f"done in {time.perf_counter() - t_all:.1f} s; files in {out}")
    return report.valid and not bad.valid
