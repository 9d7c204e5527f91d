"""CLI verbs of the solvency protocol (registered by :mod:`zkmargin.cli.main`).

Venue:    zkmargin venue params | setup | record | check
Holders:  zkmargin attest keygen | trust | sign
Trader:   zkmargin commit | prove
Auditor:  zkmargin verify | inspect
All:      zkmargin demo [--out DIR]

A thin layer over :mod:`zkmargin.solvency`. Bad input prints one line ``error: ...`` and
exits 2; an insolvent account prints the shortfall and exits 1; a rejected bundle lists every
failed check and exits 1. No secret value (positions, collateral, salt, key) is ever printed.
Output paths are checked before any long work; secret files are never replaced without
``--force``.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Literal, Optional

import typer

from zkmargin.circuits.margin_circuits import ACCOUNT_KINDS, MODEL_CODES, PARAM_MODES

from .common import EXIT_INVALID, check, emit_json, finish, guard, verdict
from .options import BUFFER_HELP, describe_shape, parse_alpha_decimal, parse_buffer, value_of

venue_app = typer.Typer(help="Venue side: publish signed risk parameters, run the key setup.", no_args_is_help=True)
attest_app = typer.Typer(help="Ed25519 keys, trust files and attestations of account commitments.",
                         no_args_is_help=True)

ModelName = Literal[tuple(MODEL_CODES)]
ParamMode = Literal[tuple(PARAM_MODES)]
AccountKind = Literal[tuple(ACCOUNT_KINDS)]


def _instrument_list(paths: list[Path], market):
    """Instruments (in order of first appearance) of portfolio-like files."""
    from zkmargin.formats.jsonio import read_object
    from zkmargin.margin.portfolio import parse_portfolio
    from zkmargin.margin.riskarray import net_positions
    from zkmargin.solvency.params import instruments_from_dicts
    out = []
    for p in paths:
        doc = read_object(p, "instruments")
        if "instruments" in doc:
            insts = instruments_from_dicts(doc["instruments"], market)
        else:
            insts, _ = net_positions(parse_portfolio(doc, market))
        out += [i for i in insts if i not in out]
    return out


def _signing_key(path: Optional[Path]):
    if path is None:
        return None, None
    from zkmargin.solvency.trust import read_private_key
    return read_private_key(path)


# ---------------------------------------------------------------------------------------------
# venue


@venue_app.command("params")
def venue_params_cmd(
    instruments: List[Path] = typer.Argument(..., help="portfolio.json files (or {\"instruments\": [...]}) listing the venue's instruments"),
    market: Path = typer.Option(..., "--market", help="market.json snapshot"),
    model: ModelName = typer.Option("span16", "--model", help="margin model"),
    venue: str = typer.Option(..., "--venue", help="venue name (letters, digits, . _ - @ : +)"),
    epoch: int = typer.Option(..., "--epoch", min=0, max=(1 << 64) - 1, metavar="N", help="e.g. 20240524 (0 to 2^64 - 1)"),
    n_instruments: int = typer.Option(8, "--instruments-slots", min=1, max=256, metavar="N", help="padded number of instrument slots, 1 to 256"),
    n_assets: int = typer.Option(0, "--asset-slots", min=0, max=256, help="padded collateral slots (0: the market's count)"),
    groups: int = typer.Option(0, "--groups", min=0, max=256, help="underlying groups (0: as needed)"),
    scenarios: int = typer.Option(0, "--scenarios", min=0, max=4096, help="scenarios per group (0: the model's own count) or historical count (es, hvar; default 250)"),
    accounts: int = typer.Option(1, "--accounts", min=1, max=256, help="account commitments per proof (venues + custodians)"),
    param_mode: ParamMode = typer.Option("digest", "--param-mode", help="digest (default), public (parameters as public inputs) or constant (one key per parameter set)"),
    alpha: Optional[str] = typer.Option(None, "--alpha", parser=lambda v: str(parse_alpha_decimal(v)), metavar="DECIMAL",
                                        help="confidence for es / hvar / var, in [0.5, 1), e.g. 0.975"),
    horizon: float = typer.Option(1.0, "--horizon", min=1e-6, max=3650.0, help="VaR horizon in days"),
    credit_pairs: int = typer.Option(0, "--credit-pairs", min=0, max=32, help="span16: spread-credit pair slots (0: as many as the market's spread_credits need; pad to keep one key across files)"),
    no_credits: bool = typer.Option(False, "--no-spread-credits", help="span16: no spread credits even when the market configures them"),
    vol_history: Optional[List[str]] = typer.Option(None, "--vol-history", metavar="U=FILE", help="es, hvar: vol index of one underlying (Close in vol points) as U=FILE, embedded in the file; vol moves from the index (repeatable)"),
    vol_moves: Optional[str] = typer.Option(None, "--vol-moves", help="es, hvar: vol moves in the scenarios: none, proxy, index or auto (overrides the market's historical block)"),
    filtered: Optional[bool] = typer.Option(None, "--filtered/--unfiltered", help="es, hvar: filtered historical simulation (overrides the market's historical block)"),
    stress: Optional[str] = typer.Option(None, "--stress", help="es, hvar: stressed period FIRST:LAST always in the scenarios"),
    key: Optional[Path] = typer.Option(None, "--key", help="the venue's signing key: sign the file (verifiers with a trust file require it)"),
    out: Path = typer.Option(Path("params.json"), "--out"),
    force: bool = typer.Option(False, "--force", help="replace an existing output file"),
):
    """Publish a venue's risk parameters (quantized, padded to a circuit shape), signed."""
    def run():
        from zkmargin.circuits.margin_circuits import MODEL_FAMILY, Shape
        from zkmargin.formats.jsonio import check_writable, read_object
        from zkmargin.margin.market import parse_market
        from zkmargin.solvency.params import ProtocolError, make_params_file, write_params
        check_writable(out, overwrite=force)
        signer, skey = _signing_key(key)
        if signer is not None and signer != venue:
            raise ProtocolError(f"the key in {key} is {signer}'s, not the venue {venue}'s")
        mdoc = read_object(market, "market", 64 << 20)
        m = parse_market(mdoc)
        insts = _instrument_list(instruments, m)
        fam = MODEL_FAMILY[model]
        unds = len(dict.fromkeys(i.underlying for i in insts))
        g = groups or (1 if fam in ("es", "quantile") else unds)
        own = _model_scenarios(model, fam, insts, m)
        if scenarios and fam not in ("es", "quantile", "var") and scenarios < own:
            raise ProtocolError(f"--scenarios {scenarios}: the {model} model has {own} scenarios per underlying; "
                                f"use --scenarios {own} or more (0: the model's own count)")
        s = scenarios or own
        pairs = _credit_slots(model, insts, m, credit_pairs, no_credits)
        moves = value_of(vol_moves)
        policy = (vol_history, moves, filtered, stress)
        if fam not in ("es", "quantile") and any(x is not None for x in policy):
            raise ProtocolError("--vol-history, --vol-moves, --filtered and --stress are hvar / es options")
        shape = Shape(fam, n_instruments, n_assets or len(m.collateral), g, s, accounts, param_mode, pairs)
        pf = make_params_file(venue, epoch, model, insts, mdoc, shape, alpha=alpha, horizon_days=horizon,
                              vol_moves=moves, filtered=filtered, stress=stress,
                              vol_history=_vol_points(vol_history))
        if skey is not None:
            pf = pf.signed(skey, signer)
        write_params(pf, out, overwrite=force)
        typer.echo(f"wrote {out}: {model} for {venue} epoch {epoch}, {len(insts)} instruments (shape "
                   f"{describe_shape(shape)}), digest {pf.digest}"
                   + ("" if skey else "\nWARNING: not signed (--key): verifiers with a trust file will refuse it"))
    guard(run)


def _credit_slots(model: str, insts, market, slots: int, off: bool) -> int:
    """Pair slots of a span16 file: none with --no-spread-credits or when the market configures
    no pair between the instruments' underlyings; else --credit-pairs (at least the pairs
    needed), default exactly the pairs needed."""
    from zkmargin.solvency.params import ProtocolError
    if model != "span16":
        if slots or off:
            raise ProtocolError("--credit-pairs and --no-spread-credits are span16 options")
        return 0
    if off:
        if slots:
            raise ProtocolError("--credit-pairs contradicts --no-spread-credits")
        return 0
    unds = set(i.underlying for i in insts)
    need = sum(1 for c in market.spread_credits if c.first in unds and c.second in unds)
    if slots and slots < need:
        raise ProtocolError(f"--credit-pairs {slots}: the market's spread_credits need {need} pair slots")
    return slots or need


def _vol_points(items):
    """``--vol-history U=file.csv`` → {U: (days, levels in vol points)}, or None."""
    if not items:
        return None
    from zkmargin.margin.history import read_vol_index_points
    from zkmargin.solvency.params import ProtocolError
    out = {}
    for item in items:
        if "=" not in item:
            raise ProtocolError(f"--vol-history expects UNDERLYING=path.csv, got {item!r}")
        name, path = (x.strip() for x in item.split("=", 1))
        out[name] = read_vol_index_points(path)
    return out


def _model_scenarios(model: str, family: str, insts, market) -> int:
    """The model's own scenario count per underlying (span16: 16; a grid: its risk array's)."""
    if family in ("es", "quantile"):
        return 250
    if family == "var":
        return 0
    if model == "span16":
        return 16
    import numpy as np

    from zkmargin.margin.riskarray import grid_risk_array
    from zkmargin.margin.scenarios import PRESETS
    ra = grid_risk_array(insts[:1], np.zeros(1), market, PRESETS[model])
    return sum(1 for g in ra.scenario_group if g == 0)


@venue_app.command("setup")
def venue_setup_cmd(
    params: Path = typer.Argument(..., help="params.json"),
    out_dir: Path = typer.Option(Path("keys"), "--out-dir", help="writes circuit.zkey, verification_key.json, setup.json"),
    ptau: Optional[Path] = typer.Option(None, "--ptau", help="phase-1 file from a public ceremony (default: a DEVELOPMENT-ONLY local one)"),
    ceremony: Optional[str] = typer.Option(None, "--ceremony", help="name the ceremony of a --ptau file that is not a recognised public one (its chain is then verified)"),
    key: Optional[Path] = typer.Option(None, "--key", help="the venue's signing key: sign the setup record"),
    force: bool = typer.Option(False, "--force", help="replace existing keys in --out-dir"),
):
    """Groth16 keys for the parameter file's circuit shape, and the setup record that says where
    they came from (verifiers use it with --no-dev)."""
    def run():
        from zkmargin.cli.progress import reporter
        from zkmargin.formats.jsonio import check_writable, check_writable_dir
        from zkmargin.formats.snarkjs_json import write_verifying_key
        from zkmargin.formats.zkey import write_zkey
        from zkmargin.solvency.keys import setup_keys, setup_record, write_setup_record
        from zkmargin.solvency.params import read_params
        pf = read_params(params)
        signer, skey = _signing_key(key)
        check_writable_dir(out_dir)
        names = ("circuit.zkey", "verification_key.json", "setup.json")
        for name in names:               # before any work: a ceremony's key is never lost
            if (out_dir / name).exists():
                check_writable(out_dir / name, overwrite=force)
        if ptau is not None and not ptau.is_file():
            raise FileNotFoundError(2, "no such ptau file", str(ptau))
        with reporter("venue setup") as rep:        # stage lines / progress bar on stderr
            keys = setup_keys(pf.shape, ptau, model=pf.model, progress=rep.say, params=pf.params,
                              ceremony=ceremony, ticks=rep.ticks, precompile_witness=True)
        out_dir.mkdir(parents=True, exist_ok=True)
        write_zkey(keys.pk, out_dir / "circuit.zkey")
        write_verifying_key(out_dir / "verification_key.json", keys.vk)
        rec = setup_record(keys, pf)
        if skey is not None:
            rec = rec.signed(skey, signer)
        write_setup_record(rec, out_dir / "setup.json")
        typer.echo(f"wrote {out_dir}/circuit.zkey, verification_key.json and setup.json "
                   f"({keys.n_constraints} constraints), fingerprint {rec.vk_fingerprint}")
        if rec.development_only:
            typer.echo("WARNING: DEVELOPMENT-ONLY setup (single-party powers of tau): its creator could "
                       "forge proofs, and setup.json says so (verify --no-dev refuses it). Use --ptau with "
                       "a public ceremony file and independent `zkmargin zkey contribute` rounds, then "
                       "`zkmargin venue record`.")
        if skey is None:
            typer.echo("WARNING: setup.json is not signed (--key)")
    guard(run)


@venue_app.command("record")
def venue_record_cmd(
    params: Path = typer.Argument(..., help="params.json"),
    zkey: Path = typer.Option(..., "--zkey", help="the final key (after zkey contribute rounds)"),
    ptau: Optional[Path] = typer.Option(None, "--ptau", help="the phase-1 ceremony file: the key is verified against it"),
    ceremony: Optional[str] = typer.Option(None, "--ceremony", help="name the ceremony of a --ptau file that is not a recognised public one"),
    key: Optional[Path] = typer.Option(None, "--key", help="signing key for the record"),
    out: Path = typer.Option(Path("setup.json"), "--out"),
    force: bool = typer.Option(False, "--force", help="replace an existing record"),
):
    """Write the setup record of a key (after `zkey contribute`), verifying it against --ptau."""
    def run():
        from zkmargin.formats.jsonio import check_writable
        from zkmargin.formats.zkey import read_zkey
        from zkmargin.solvency.keys import record_for_zkey, write_setup_record
        from zkmargin.solvency.params import read_params
        pf = read_params(params)
        check_writable(out, overwrite=force)
        signer, skey = _signing_key(key)
        rec = record_for_zkey(read_zkey(zkey), pf, ptau, ceremony=ceremony, progress=typer.echo)
        if skey is not None:
            rec = rec.signed(skey, signer)
        write_setup_record(rec, out, overwrite=force)
        typer.echo(f"wrote {out}: phase 1 {rec.phase1['source']}, {len(rec.phase2)} phase-2 contribution(s), "
                   f"development_only {str(rec.development_only).lower()}, fingerprint {rec.vk_fingerprint}")
    guard(run)


@venue_app.command("check")
def venue_check_cmd(params: Path = typer.Argument(..., help="params.json"),
                    as_json: bool = typer.Option(False, "--json", help="print the verdict as JSON (schema in docs/CLI.md)")):
    """Re-derive a parameter file's numbers from its own market, instruments and options.

    Exit codes: 0 the numbers follow, 1 a mismatch, 2 unreadable input."""
    def run():
        from zkmargin.solvency.params import read_params, recompute_problems
        pf = read_params(params)
        bad = recompute_problems(pf)
        if as_json:
            checks = [check(name, False, "does not follow from the file's market and model") for name in bad]
            doc = verdict("venue check", not bad, checks or [check("recomputed parameters", True)],
                          ok_word="OK", bad_word="MISMATCH", model=pf.model, venue=pf.venue, epoch=pf.epoch,
                          params_digest=str(pf.digest))
            emit_json(doc)
            finish(doc)
        if bad:
            typer.echo(f"MISMATCH: {', '.join(bad)} do not follow from the file's market and model")
            raise typer.Exit(EXIT_INVALID)
        typer.echo(f"OK: {pf.model} parameters of {pf.venue} epoch {pf.epoch} follow from the file's market "
                   f"(digest {pf.digest})")
    guard(run)


# ---------------------------------------------------------------------------------------------
# attesters


@attest_app.command("keygen")
def attest_keygen(
    name: str = typer.Argument(..., help="attester name (venue or custodian)"),
    out: Path = typer.Option(..., "--out", help="private key file (written 0600)"),
    trust: Optional[Path] = typer.Option(None, "--trust", help="add the public key to this trust file"),
    role: Optional[List[str]] = typer.Option(None, "--role", help="what the key may sign, for --trust: account, positions, collateral, params, setup, solvency, reserves (repeat; default: account)"),
    force: bool = typer.Option(False, "--force", help="replace an existing key file / trust entry"),
):
    """New Ed25519 signing key for a venue or custodian."""
    def run():
        from zkmargin.formats.jsonio import check_writable
        from zkmargin.formats.jsonio import name as check_name
        from zkmargin.solvency import trust as tr
        check_name(name, "attester name")
        check_writable(out, overwrite=force, what="key")
        t = _trust_for_update(trust, name, force)
        key = tr.new_key()
        tr.write_private_key(out, name, key, force=force)
        if trust is not None:
            tr.write_trust(trust, t.with_key(name, tr.public_hex(key), role or ["account"]))
        typer.echo(f"{name} public key {tr.public_hex(key)}" + (f" (added to {trust})" if trust else ""))
    guard(run)


def _trust_for_update(trust: Optional[Path], name: str, force: bool):
    from zkmargin.solvency import trust as tr
    if trust is None:
        return None
    t = tr.read_trust(trust) if trust.exists() else tr.Trust({})
    if name in t.attesters and not force:
        raise tr.TrustError(f"{trust} already trusts a key for {name}; use --force to replace it")
    return t


@attest_app.command("trust")
def attest_trust(
    name: str = typer.Argument(..., help="attester name"),
    public_key: str = typer.Argument(..., help="its Ed25519 public key (64 hex digits)"),
    trust: Path = typer.Option(..., "--trust", help="the trust file to create or update"),
    role: List[str] = typer.Option(..., "--role", help="what the key may sign: account, positions, collateral, params, setup, solvency, reserves (repeat)"),
    force: bool = typer.Option(False, "--force", help="replace an existing entry for this name"),
):
    """Add an attester's published public key, and the roles you trust it for, to a trust file."""
    def run():
        from zkmargin.formats.jsonio import hexstring
        from zkmargin.solvency import trust as tr
        t = _trust_for_update(trust, name, force)
        tr.write_trust(trust, t.with_key(name, hexstring(public_key, "public key", 32).hex(), role))
        typer.echo(f"{trust}: {name} trusted for {', '.join(role)}")
    guard(run)


@attest_app.command("sign")
def attest_sign(
    opening: Path = typer.Argument(..., help="the account's opening.json, sent to you privately by its holder"),
    params: Path = typer.Option(..., "--params", help="the parameter file the commitment was made for"),
    portfolio: Path = typer.Option(..., "--portfolio", help="YOUR record of the account (portfolio.json from your books; its \"account\" field names it)"),
    epoch: int = typer.Option(..., "--epoch", min=0, help="the epoch you vouch for (must be the parameter file's)"),
    key: Path = typer.Option(..., "--key", help="your signing key"),
    account: Optional[str] = typer.Option(None, "--account", help="must equal the record's account name"),
    role: Optional[AccountKind] = typer.Option(None, "--role", help="account, positions or collateral (default: the opening's kind)"),
    ledger: Optional[Path] = typer.Option(None, "--ledger", help="your ledger of signed commitments (default: KEY.ledger.jsonl)"),
    allow_same_holdings: bool = typer.Option(False, "--allow-same-holdings", help="sign although another account in the ledger has identical holdings this epoch"),
    out: Path = typer.Option(Path("attestation.json"), "--out"),
    force: bool = typer.Option(False, "--force", help="replace an existing output file"),
):
    """Check an opening against your records and attest its commitment (once per account and
    epoch: the ledger refuses a second commitment for the same account)."""
    def run():
        from zkmargin.formats.jsonio import check_writable, read_object, write_json
        from zkmargin.solvency.attest import Ledger, default_ledger_path, sign_account
        from zkmargin.solvency.opening import read_opening
        from zkmargin.solvency.params import ProtocolError, read_params
        from zkmargin.solvency.trust import read_private_key
        check_writable(out, overwrite=force)
        pf = read_params(params)
        if epoch != pf.epoch:
            raise ProtocolError(f"the parameter file is for epoch {pf.epoch}, not {epoch}")
        name, k = read_private_key(key)
        att = sign_account(k, name, read_opening(opening), pf, read_object(portfolio, "portfolio"),
                           Ledger(ledger or default_ledger_path(key)), account, role,
                           allow_same_holdings=allow_same_holdings)
        write_json(out, att.to_json(), overwrite=force)
        typer.echo(f"wrote {out}: {name} attests the {att.role} commitment {str(att.commitment)[:16]}... "
                   f"for epoch {att.epoch}")
    guard(run)


# ---------------------------------------------------------------------------------------------
# trader


def _commit(
    portfolio: Path = typer.Argument(..., help="portfolio.json (positions and/or collateral at one venue or custodian)"),
    params: Path = typer.Option(..., "--params"),
    out: Path = typer.Option(Path("commitment.json"), "--out", help="public commitment"),
    opening: Path = typer.Option(Path("opening.json"), "--opening", help="SECRET opening (written 0600)"),
    kind: AccountKind = typer.Option("account", "--kind", help="account (anything), positions (no collateral) or collateral (no positions)"),
    holder: str = typer.Option("", "--holder", help="a label for the account's holder"),
    force: bool = typer.Option(False, "--force", help="replace an existing opening (its commitment may be attested!)"),
):
    """Commit to an account: public commitment.json + secret 0600 opening (values and salt)."""
    def run():
        from zkmargin.formats.jsonio import read_object
        from zkmargin.solvency.opening import make_opening, write_opening
        from zkmargin.solvency.params import read_params
        pf = read_params(params)
        op = make_opening(read_object(portfolio, "portfolio"), pf, kind=kind)
        write_opening(op, out, opening, holder, force=force)
        typer.echo(f"wrote {out} ({kind} commitment {op.commitment}) and {opening} (SECRET, mode 0600)")
    guard(run)


def _prove(
    params: Path = typer.Option(..., "--params"),
    zkey: Path = typer.Option(..., "--zkey"),
    opening: List[Path] = typer.Option(..., "--opening", help="secret opening(s), one per account"),
    nonce: int = typer.Option(..., "--nonce", min=0, help="the verifier's challenge"),
    buffer: str = typer.Option("1.0", "--buffer", parser=lambda v: str(parse_buffer(v)), metavar="DECIMAL",
                               help=f"claim equity >= buffer x requirement {BUFFER_HELP}"),
    attestation: Optional[List[Path]] = typer.Option(None, "--attestation"),
    venue: Optional[str] = typer.Option(None, "--venue", help="must equal the parameter file's venue"),
    epoch: Optional[int] = typer.Option(None, "--epoch", min=0, help="must equal the parameter file's epoch"),
    out: Path = typer.Option(Path("bundle.json"), "--out"),
    export_dir: Optional[Path] = typer.Option(None, "--export-dir", help="also write proof.json, public.json, verification_key.json"),
    force: bool = typer.Option(False, "--force", help="replace existing output files"),
):
    """Prove solvency of the committed account(s); writes a proof bundle.

    Exit codes: 0 bundle written, 1 insolvent (equity short of buffer x requirement), 2 bad input or usage."""
    def run():
        from zkmargin.formats.jsonio import check_writable, check_writable_dir
        from zkmargin.formats.zkey import read_zkey
        from zkmargin.prover.groth16 import verifying_key_of
        from zkmargin.solvency.attest import read_attestation
        from zkmargin.solvency.bundle import buffer_to_bps, write_bundle
        from zkmargin.solvency.opening import read_opening
        from zkmargin.solvency.params import read_params
        from zkmargin.solvency.prove import check_context, prove_solvency
        check_writable(out, overwrite=force)
        if export_dir is not None:
            check_writable_dir(export_dir)
            for name in ("proof.json", "public.json", "verification_key.json"):
                if (export_dir / name).exists():
                    check_writable(export_dir / name, overwrite=force)
        pf = read_params(params)
        ops = [read_opening(p) for p in opening]
        atts = [read_attestation(p) for p in (attestation or [])]
        bps = buffer_to_bps(buffer)
        check_context(pf, ops, nonce=nonce, buffer_bps=bps, attestations=atts, venue=venue, epoch=epoch)
        pk = read_zkey(zkey)
        bundle, tm = prove_solvency(pf, pk, ops, nonce=nonce, buffer_bps=bps, attestations=atts,
                                    progress=typer.echo)
        write_bundle(bundle, out, overwrite=force)
        typer.echo(f"wrote {out} (witness {tm.build_s:.2f} s, proof {tm.prove_s:.2f} s, {tm.n_constraints} constraints)")
        if export_dir:
            _export(bundle, verifying_key_of(pk), export_dir)
    guard(run)


def _export(bundle, vk, d: Path) -> None:
    from zkmargin.formats.snarkjs_json import write_proof, write_public, write_verifying_key
    d.mkdir(parents=True, exist_ok=True)
    write_proof(d / "proof.json", bundle.proof)
    write_public(d / "public.json", bundle.public_values())
    write_verifying_key(d / "verification_key.json", vk)
    typer.echo(f"wrote {d}/proof.json, public.json, verification_key.json (snarkjs groth16 verify); a "
               "verifier must use the venue's own verification_key.json, not one the prover hands over")


# ---------------------------------------------------------------------------------------------
# auditor


def _verify(
    bundle: Path = typer.Argument(..., help="bundle.json"),
    vk: Path = typer.Option(..., "--vk", help="verification_key.json you trust for this venue's shape"),
    params: Path = typer.Option(..., "--params", help="the venue's params.json"),
    trust: Optional[Path] = typer.Option(None, "--trust", help="your trust file: who may vouch for accounts, parameters and setups"),
    allow_unattested: bool = typer.Option(False, "--allow-unattested", help="accept a bundle without a trust file (nobody vouches for the accounts)"),
    setup: Optional[Path] = typer.Option(None, "--setup", help="the key's setup record (setup.json from the venue)"),
    venue: Optional[str] = typer.Option(None, "--venue", help="expected venue (replay protection)"),
    epoch: int = typer.Option(..., "--epoch", min=0, help="the epoch you are checking"),
    nonce: Optional[int] = typer.Option(None, "--nonce", min=0, help="the nonce you issued"),
    min_buffer: str = typer.Option("1.0", "--min-buffer", parser=lambda v: str(parse_buffer(v)), metavar="DECIMAL",
                                   help=f"required buffer {BUFFER_HELP}"),
    no_dev: bool = typer.Option(False, "--no-dev", help="refuse keys whose setup record is missing or says DEVELOPMENT-ONLY"),
    as_json: bool = typer.Option(False, "--json", help="print the verdict as JSON (schema in docs/CLI.md)"),
):
    """Verify a bundle; prints every check.

    Exit codes: 0 all checks pass, 1 any check fails, 2 bad input or usage."""
    def run():
        from zkmargin.solvency import verify_files
        rep = verify_files(bundle, vk=vk, params=params, trust=trust, setup=setup, venue=venue, epoch=epoch,
                           nonce=nonce, min_buffer=min_buffer, allow_development=not no_dev,
                           allow_unattested=allow_unattested)
        if as_json:
            js = rep.to_json()
            js.pop("valid", None)
            doc = verdict("verify", rep.valid, js.pop("checks"), **js)
            emit_json(doc)
            finish(doc)
        else:
            for c in rep.checks:
                typer.echo(f"  {'ok  ' if c.ok else 'FAIL'} {c.name}" + ("" if c.ok else f": {c.detail}"))
            for note in rep.notes:
                typer.echo(f"  note: {note}")
            if rep.valid:
                typer.echo(f"VALID: {rep.claim()}")
            else:
                typer.echo(f"INVALID: {len(rep.failures)} check(s) failed", err=True)
        if not rep.valid:
            raise typer.Exit(code=EXIT_INVALID)
    guard(run)


def _inspect(bundle: Path = typer.Argument(..., help="bundle.json"),
             as_json: bool = typer.Option(False, "--json", help="print the statement as JSON (schema in docs/CLI.md)")):
    """Show what a bundle claims, WITHOUT verifying it (use `zkmargin verify`).

    Exit codes: 0 the bundle is well-formed (not verified!), 2 unreadable or malformed."""
    def run():
        from zkmargin.circuits.margin_circuits import BPS
        from zkmargin.solvency.bundle import read_bundle
        b = read_bundle(bundle)
        st = b.statement
        if as_json:
            emit_json({"command": "inspect", "verdict": "UNVERIFIED", "verified": False, "exit_code": 0,
                       "statement": st.to_json(), "shape": describe_shape(st.shape),
                       "vk_fingerprint": b.vk_fingerprint, "public_inputs": len(b.public_inputs),
                       "attestations": [{"attester": a.attester, "role": a.role,
                                         "commitment": str(a.commitment), "epoch": a.epoch}
                                        for a in b.attestations]})
            return
        typer.echo("UNVERIFIED bundle contents (run `zkmargin verify` to check them):")
        typer.echo(f"  claims:         equity >= {st.buffer_bps / BPS:g} x {st.model} margin requirement")
        for k in ("venue", "epoch", "nonce", "params_digest"):
            typer.echo(f"  {k + ':':<16}{getattr(st, k)}")
        typer.echo(f"  shape:          {describe_shape(st.shape)}")
        for k, (c, kind) in enumerate(st.accounts):
            typer.echo(f"  account {k}:      {kind} {c}")
        typer.echo(f"  vk fingerprint: {b.vk_fingerprint}")
        typer.echo(f"  public inputs:  {len(b.public_inputs)}")
        for a in b.attestations:
            typer.echo(f"  attestation:    {a.attester} ({a.role}) on {str(a.commitment)[:16]}... epoch {a.epoch}")
    guard(run)


def _demo(out: Path = typer.Option(Path("zkmargin-demo"), "--out", help="output folder")):
    """Run the whole flow on a built-in sample (parameters, setup, commit, attest, prove, verify).

    Exit codes: 0 demo OK, 1 demo failed, 2 bad input (e.g. --out is someone else's folder)."""
    import shutil

    from rich.console import Console

    from zkmargin.cli.progress import reporter
    from zkmargin.solvency.demo import run_demo
    console = Console(soft_wrap=True)
    with reporter("setup", console=console) as rep:          # progress of the first run's setup
        ok = guard(lambda: run_demo(out, lambda m: console.print(m, highlight=False, markup=False),
                                    ticks=rep.ticks))
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
