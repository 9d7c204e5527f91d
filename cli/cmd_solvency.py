"""CLI verbs for the solvency area (registered by :mod:`zkmargin.cli.main`).

Venue:    zkmargin venue params / zkmargin venue setup
Holders:  zkmargin attest keygen / zkmargin attest sign
Trader:   zkmargin commit / zkmargin prove
Auditor:  zkmargin verify / zkmargin inspect
All:      zkmargin demo [--out DIR]

Thin layer over :mod:`zkmargin.prover.solvency`, :mod:`zkmargin.verifier.bundle` and
:mod:`zkmargin.verifier.attest`. Input problems print one line ``error: ...`` and exit 2;
an insolvent account prints the shortfall and exits 1; a rejected bundle lists every failed
check and exits 1. No secret value (positions, collateral, salt) is ever printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

venue_app = typer.Typer(help="Venue side: publish risk parameters, run the key setup.", no_args_is_help=True)
attest_app = typer.Typer(help="Ed25519 attestations of account commitments.", no_args_is_help=True)


def _fail(msg: str, code: int = 2) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(code=code)


def _guard(fn):
    """Run ``fn``; turn expected errors into one-line messages (never a traceback)."""
    from zkmargin.circuits.margin_circuits import ParameterError
    from zkmargin.circuits.solvency import InsolventError
    from zkmargin.margin.errors import InputError, ModelError
    from zkmargin.margin.quantize import QuantizationError
    from zkmargin.prover.solvency import ProtocolError
    from zkmargin.verifier.attest import AttestationError
    try:
        return fn()
    except InsolventError as e:
        _fail(str(e), code=1)
    except (ProtocolError, ParameterError, InputError, ModelError, QuantizationError,
            AttestationError, ValueError, OSError) as e:
        _fail(str(e))


def _instrument_list(paths: list[Path], market):
    """Instruments (in order of first appearance) of portfolio-like files."""
    from zkmargin.margin.portfolio import parse_portfolio
    from zkmargin.margin.riskarray import net_positions
    from zkmargin.prover.solvency import instruments_from_dicts, load_json
    out = []
    for p in paths:
        doc = load_json(p, "instruments")
        if "instruments" in doc:
            insts = instruments_from_dicts(doc["instruments"], market)
        else:
            insts, _ = net_positions(parse_portfolio(doc, market))
        out += [i for i in insts if i not in out]
    return out


@venue_app.command("params")
def venue_params_cmd(
    instruments: List[Path] = typer.Argument(..., help="portfolio.json files (or {\"instruments\": [...]}) listing the venue's instruments"),
    market: Path = typer.Option(..., "--market", help="market.json snapshot"),
    model: str = typer.Option("span16", "--model", help="span16, paradex, deribit, es, var"),
    venue: str = typer.Option(..., "--venue"),
    epoch: int = typer.Option(..., "--epoch", help="e.g. 20240524"),
    n_instruments: int = typer.Option(8, "--instruments-slots", help="padded number of instrument slots"),
    n_assets: int = typer.Option(0, "--asset-slots", help="padded collateral slots (0: market's count)"),
    groups: int = typer.Option(0, "--groups", help="underlying groups (0: as needed)"),
    scenarios: int = typer.Option(0, "--scenarios", help="scenarios per group (span16: 16) or historical count (ES)"),
    accounts: int = typer.Option(1, "--accounts", help="account commitments per proof (venues + custodians)"),
    param_mode: str = typer.Option("digest", "--param-mode", help="digest (default), public (parameters as public inputs) or constant (baked into the key: one key per parameter set)"),
    out: Path = typer.Option(Path("params.json"), "--out"),
):
    """Publish a venue's risk parameters (quantized, padded to a circuit shape) with their digest."""
    def run():
        from zkmargin.circuits.margin_circuits import MODEL_FAMILY, Shape
        from zkmargin.margin.market import parse_market
        from zkmargin.prover.solvency import load_json, make_params_file, write_params
        mdoc = load_json(market, "market")
        m = parse_market(mdoc)
        insts = _instrument_list(instruments, m)
        fam = MODEL_FAMILY.get(model)
        if fam is None:
            raise ValueError(f"unknown model {model!r}")
        unds = len(dict.fromkeys(i.underlying for i in insts))
        g = groups or (1 if fam == "es" else unds)
        s = scenarios or {"worst_case": 16, "es": 250, "var": 0}[fam]
        shape = Shape(fam, n_instruments, n_assets or len(m.collateral), g, s, accounts, param_mode)
        pf = make_params_file(venue, epoch, model, insts, mdoc, shape)
        write_params(pf, out)
        typer.echo(f"wrote {out}: {model} for {venue} epoch {epoch}, {len(insts)} instruments, "
                   f"shape {shape.as_dict()}, digest {pf.digest}")
    _guard(run)


@venue_app.command("setup")
def venue_setup_cmd(
    params: Path = typer.Argument(..., help="params.json"),
    out_dir: Path = typer.Option(Path("keys"), "--out-dir"),
    ptau: Optional[Path] = typer.Option(None, "--ptau", help="phase-1 file from a public ceremony (default: DEVELOPMENT-ONLY local one)"),
):
    """Groth16 keys for the parameter file's circuit shape: circuit.zkey + verification_key.json."""
    def run():
        from zkmargin.prover.solvency import read_params, setup_keys, vk_fingerprint
        from zkmargin.prover.zkey import write_zkey
        from zkmargin.verifier.formats import write_verifying_key
        from zkmargin.cli.progress import reporter
        pf = read_params(params)
        with reporter("venue setup") as rep:        # stage lines / progress bar on stderr
            keys = setup_keys(pf.shape, ptau, model=pf.model, progress=rep.say, params=pf.params,
                              ticks=rep.ticks)
        out_dir.mkdir(parents=True, exist_ok=True)
        write_zkey(keys.pk, out_dir / "circuit.zkey")
        write_verifying_key(out_dir / "verification_key.json", keys.vk)
        typer.echo(f"wrote {out_dir}/circuit.zkey and verification_key.json "
                   f"({keys.n_constraints} constraints), fingerprint {vk_fingerprint(keys.vk)}")
        if keys.development_only:
            typer.echo("WARNING: DEVELOPMENT-ONLY setup (single-party powers of tau): its creator "
                       "could forge proofs. Use --ptau with a public ceremony file and independent "
                       "`zkmargin zkey contribute` rounds for production.")
    _guard(run)


@attest_app.command("keygen")
def attest_keygen(
    name: str = typer.Argument(..., help="attester name (venue or custodian)"),
    out: Path = typer.Option(..., "--out", help="private key file (written 0600)"),
    trust: Optional[Path] = typer.Option(None, "--trust", help="add the public key to this trust file"),
):
    """New Ed25519 signing key for a venue or custodian."""
    def run():
        from zkmargin.prover.solvency import write_json
        from zkmargin.verifier import attest as at
        key = at.new_key()
        write_json(out, at.private_key_json(name, key), secret=True)
        if trust is not None:
            keys = at.trust_from_json(json.loads(trust.read_text())) if trust.exists() else {}
            keys[name] = at.public_hex(key)
            write_json(trust, at.trust_json(keys))
        typer.echo(f"{name} public key {at.public_hex(key)}")
    _guard(run)


@attest_app.command("sign")
def attest_sign(
    commitment: Path = typer.Argument(..., help="commitment.json"),
    key: Path = typer.Option(..., "--key"),
    epoch: int = typer.Option(..., "--epoch"),
    role: str = typer.Option("account", "--role", help="positions, collateral or account"),
    out: Path = typer.Option(Path("attestation.json"), "--out"),
):
    """Sign (commitment, attester, epoch, role) with the attester's key."""
    def run():
        from zkmargin.prover.solvency import load_json, write_json
        from zkmargin.verifier import attest as at
        name, k = at.private_key_from_json(load_json(key, "key"))
        c = int(str(load_json(commitment, "commitment")["commitment"]))
        write_json(out, at.attest(k, name, c, epoch, role).to_json())
        typer.echo(f"wrote {out}: {name} attests commitment {str(c)[:16]}... for epoch {epoch}")
    _guard(run)


def _commit(
    portfolio: Path = typer.Argument(..., help="portfolio.json (positions and/or collateral at one venue/custodian)"),
    params: Path = typer.Option(..., "--params"),
    out: Path = typer.Option(Path("commitment.json"), "--out", help="public commitment"),
    opening: Path = typer.Option(Path("opening.json"), "--opening", help="SECRET opening (written 0600)"),
    holder: str = typer.Option("", "--holder"),
):
    """Commit to an account: public commitment.json + secret 0600 opening (values and salt)."""
    def run():
        from zkmargin.prover.solvency import load_json, make_opening, read_params, write_opening
        pf = read_params(params)
        op = make_opening(load_json(portfolio, "portfolio"), pf)
        write_opening(op, out, opening, holder)
        typer.echo(f"wrote {out} (commitment {op.commitment}) and {opening} (SECRET, mode 0600)")
    _guard(run)


def _prove(
    params: Path = typer.Option(..., "--params"),
    zkey: Path = typer.Option(..., "--zkey"),
    opening: List[Path] = typer.Option(..., "--opening", help="secret opening(s), one per account"),
    venue: str = typer.Option(..., "--venue", help="the venue the claim is addressed to"),
    epoch: int = typer.Option(..., "--epoch"),
    nonce: int = typer.Option(0, "--nonce", help="verifier's challenge nonce"),
    buffer: str = typer.Option("1.0", "--buffer", help="claim equity >= buffer x requirement"),
    attestation: Optional[List[Path]] = typer.Option(None, "--attestation"),
    out: Path = typer.Option(Path("bundle.json"), "--out"),
    export_dir: Optional[Path] = typer.Option(None, "--export-dir", help="also write proof.json, public.json, verification_key.json"),
):
    """Prove solvency of the committed account(s); writes a proof bundle."""
    def run():
        from zkmargin.prover.solvency import (buffer_to_bps, load_json, prove_solvency, read_opening,
                                              read_params, write_json)
        from zkmargin.prover.zkey import read_zkey
        from zkmargin.prover.groth16 import verifying_key_of
        pf = read_params(params)
        ops = [read_opening(p) for p in opening]
        atts = [load_json(p, "attestation") for p in (attestation or [])]
        pk = read_zkey(zkey)
        bundle, tm = prove_solvency(pf, pk, ops, venue=venue, epoch=epoch, nonce=nonce,
                                    buffer_bps=buffer_to_bps(buffer), attestations=atts,
                                    progress=typer.echo, development_only=pk.development_only)
        write_json(out, bundle.to_json())
        typer.echo(f"wrote {out} (witness {tm.build_s:.2f} s, proof {tm.prove_s:.2f} s, {tm.n_constraints} constraints)")
        if export_dir:
            _export(bundle, verifying_key_of(pk), export_dir)
    _guard(run)


def _export(bundle, vk, d: Path) -> None:
    from zkmargin.verifier.formats import proof_from_json, write_proof, write_public, write_verifying_key
    d.mkdir(parents=True, exist_ok=True)
    write_proof(d / "proof.json", proof_from_json(bundle.proof))
    write_public(d / "public.json", bundle.public_values())
    write_verifying_key(d / "verification_key.json", vk)
    typer.echo(f"wrote {d}/proof.json, public.json, verification_key.json (snarkjs groth16 verify)")


def _load_bundle(path: Path):
    from zkmargin.prover.solvency import load_json
    from zkmargin.verifier.bundle import Bundle
    return Bundle.from_json(load_json(path, "bundle"))


def _verify(
    bundle: Path = typer.Argument(..., help="bundle.json"),
    vk: Path = typer.Option(..., "--vk", help="verification_key.json you trust for this venue's shape"),
    params: Path = typer.Option(..., "--params", help="the venue's params.json"),
    trust: Optional[Path] = typer.Option(None, "--trust", help="trust file: every commitment must be attested by a key in it"),
    venue: Optional[str] = typer.Option(None, "--venue", help="expected venue (replay protection)"),
    epoch: Optional[int] = typer.Option(None, "--epoch", help="expected epoch"),
    nonce: Optional[int] = typer.Option(None, "--nonce", help="expected nonce"),
    min_buffer: Optional[str] = typer.Option(None, "--min-buffer", help="required buffer, e.g. 1.25"),
    no_dev: bool = typer.Option(False, "--no-dev", help="reject DEVELOPMENT-ONLY keys"),
):
    """Verify a bundle; prints every failed check; exit 0 only if all pass."""
    def run():
        from zkmargin.prover.solvency import buffer_to_bps, load_json, read_params
        from zkmargin.verifier import attest as at
        from zkmargin.verifier.bundle import verify_bundle
        from zkmargin.verifier.formats import read_verifying_key
        b = _load_bundle(bundle)
        pf = read_params(params)
        key = read_verifying_key(vk)
        trusted = at.trust_from_json(load_json(trust, "trust")) if trust else None
        rep = verify_bundle(b, key, pf, trusted=trusted, venue=venue, epoch=epoch, nonce=nonce,
                            min_buffer_bps=buffer_to_bps(min_buffer) if min_buffer else None,
                            allow_development=not no_dev)
        for c in rep.checks:
            typer.echo(f"  {'ok  ' if c.ok else 'FAIL'} {c.name}" + ("" if c.ok else f": {c.detail}"))
        if trusted is None:
            typer.echo("  note: no --trust file: attestation signers were not checked against trusted keys")
        if b.development_only:
            typer.echo("  note: the bundle says its key is DEVELOPMENT-ONLY (single-party setup); "
                       "use --no-dev to refuse such keys")
        if rep.valid:
            st = b.statement
            typer.echo(f"VALID: {st['claim']} (venue {st['venue']}, epoch {st['epoch']})")
        else:
            typer.echo(f"INVALID: {len(rep.failures)} check(s) failed", err=True)
            raise typer.Exit(code=1)
    _guard(run)


def _inspect(bundle: Path = typer.Argument(..., help="bundle.json")):
    """Show what a bundle claims (no verification)."""
    def run():
        b = _load_bundle(bundle)
        st = b.statement
        typer.echo(f"claim:          {st.get('claim')}")
        for k in ("model", "buffer", "venue", "epoch", "nonce", "params_digest", "params_venue", "params_epoch"):
            typer.echo(f"{k + ':':<16}{st.get(k)}")
        typer.echo(f"shape:          {st.get('shape')}")
        for k, c in enumerate(st.get("commitments", [])):
            typer.echo(f"commitment_{k}:   {c}")
        typer.echo(f"vk fingerprint: {b.vk_fingerprint}")
        typer.echo(f"public inputs:  {len(b.public_inputs)} ({', '.join(p['name'] for p in b.public_inputs[:8])}"
                   f"{', ...' if len(b.public_inputs) > 8 else ''})")
        for a in b.attestations:
            typer.echo(f"attestation:    {a.get('attester')} ({a.get('role')}) on {str(a.get('commitment'))[:16]}... "
                       f"epoch {a.get('epoch')}")
        if b.development_only:
            typer.echo("WARNING: made with a DEVELOPMENT-ONLY key")
    _guard(run)


def _demo(out: Path = typer.Option(Path("zkmargin-demo"), "--out", help="output folder")):
    """Run the whole flow on a built-in sample (parameters, setup, commit, attest, prove, verify)."""
    import shutil
    from rich.console import Console
    from zkmargin.cli.progress import reporter
    from zkmargin.prover.solvency_demo import run_demo
    console = Console(soft_wrap=True)
    with reporter("setup", console=console) as rep:          # progress of the first run's setup
        ok = _guard(lambda: run_demo(out, lambda m: console.print(m, highlight=False), ticks=rep.ticks))
    if not ok:
        console.print("[red]demo FAILED[/red]")
        raise typer.Exit(code=1)
    console.print("[green]demo OK[/green]: honest bundle VALID, tampered bundle rejected.")
    check = f"groth16 verify {out}/verification_key.json {out}/public.json {out}/proof.json"
    local = Path("node_modules/.bin/snarkjs")
    if local.exists():
        console.print(f"Check the proof with snarkjs: {local} {check}", highlight=False)
    elif shutil.which("snarkjs"):
        console.print(f"Check the proof with snarkjs: snarkjs {check}", highlight=False)
    elif Path("Makefile").exists() and Path("package.json").exists():
        console.print("Check the proof with snarkjs: `make verify-demo` (installs snarkjs from "
                      "package.json with npm, then runs snarkjs groth16 verify on out/)", highlight=False)
    else:
        console.print(f"Check the proof with snarkjs: `npm install snarkjs@0.7.6`, then `npx snarkjs {check}`",
                      highlight=False)


def register(app: typer.Typer) -> None:
    """Add this area's verbs to the root app."""
    app.add_typer(venue_app, name="venue")
    app.add_typer(attest_app, name="attest")
    app.command("commit")(_commit)
    app.command("prove")(_prove)
    app.command("verify")(_verify)
    app.command("inspect")(_inspect)
    app.command("demo")(_demo)
