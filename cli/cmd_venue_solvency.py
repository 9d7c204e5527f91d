"""CLI verbs of venue-wide solvency (registered by :mod:`zkmargin.cli.main`).

Venue:     zkmargin venue solvency setup P.json --batch B --out-dir keys/ [--ptau F] --key K
           zkmargin venue solvency build BOOK --params P.json --out tree/ --batch B [--insurance-fund USD]
           zkmargin venue solvency prove tree/ --params P.json [--keys keys/] [--scheduler URL] [--key K]
           zkmargin venue solvency sign tree/ --params P.json --key K
           zkmargin venue solvency inclusion tree/ ACCOUNT --out inc.json [--opening-out op.json]
Custodian: zkmargin venue solvency attest-fund --venue V --epoch E --amount USD --key K --out r.json
Auditor:   zkmargin venue solvency verify tree/ --params P.json --trust T --epoch E [--no-dev] [--reserves r.json]
Client:    zkmargin verify-inclusion inc.json --statement tree/ --opening op.json --trust T --epoch E [--account ID]
Auditor:   zkmargin verify-many DIR --vk VK --params P.json --trust T [--nonces N.jsonl] [--scheduler URL]

A thin layer over :mod:`zkmargin.solvency.venue`. Bad input prints one line ``error: ...`` and
exits 2; a book whose shortfall exceeds the insurance fund exits 1; a rejected tree, inclusion
proof or bundle lists the failed checks and exits 1. No account value is ever printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .common import EXIT_INVALID, check, emit_json, finish, guard, verdict
from .options import BUFFER_HELP, parse_buffer, parse_usd

solvency_app = typer.Typer(help="Venue-wide proof of solvency: a Merkle sum tree of every margin account, "
                                "proven in batches on a Dask cluster.", no_args_is_help=True)

SCHEDULER_HELP = "Dask scheduler, e.g. tcp://host:8786 (default: an embedded LocalCluster on this machine)"


def _print_report(rep, as_json: bool, command: str) -> None:
    if as_json:
        js = rep.to_json()
        js.pop("valid", None)
        doc = verdict(command, rep.valid, js.pop("checks"), **js)
        emit_json(doc)
        finish(doc)
    else:
        for c in rep.checks:
            typer.echo(f"  {'ok  ' if c.ok else 'FAIL'} {c.name}" + ("" if c.ok else f": {c.detail}"))
        for note in rep.notes:
            typer.echo(f"  note: {note}")
        typer.echo(rep.summary() if rep.valid else f"INVALID: {len(rep.failures)} check(s) failed",
                   err=not rep.valid)
    if not rep.valid:
        raise typer.Exit(code=EXIT_INVALID)


@solvency_app.command("build")
def build_cmd(
    book: Path = typer.Argument(..., help="folder of portfolio.json / opening.json files, or one .jsonl file"),
    params: Path = typer.Option(..., "--params", help="the venue's params.json (digest mode)"),
    out: Path = typer.Option(..., "--out", help="tree folder to write"),
    insurance_fund: str = typer.Option("0", "--insurance-fund", parser=lambda v: str(parse_usd(v)), metavar="USD",
                                       help="insurance / default fund in USD (at most 14 decimals)"),
    buffer: str = typer.Option("1.0", "--buffer", parser=lambda v: str(parse_buffer(v)), metavar="DECIMAL",
                               help=f"required buffer x margin requirement {BUFFER_HELP}"),
    batch: int = typer.Option(64, "--batch", min=1, max=1 << 16, help="accounts per batch proof (a power of two)"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
    workers: Optional[int] = typer.Option(None, "--workers", min=0, max=1024, help="embedded cluster workers (0: this process; default: one per core, for books of more than one chunk)"),
    force: bool = typer.Option(False, "--force", help="replace an existing tree in --out"),
):
    """Build the tree: quantize and commit every account (in chunks on Dask), sums, shortfall, root.

    Exit codes: 0 tree written, 1 the book's shortfall exceeds the insurance fund, 2 bad input or usage."""
    def run():
        from zkmargin.solvency.bundle import buffer_to_bps
        from zkmargin.solvency.params import read_params
        from zkmargin.solvency.venue.book import build_tree, money_of
        pf = read_params(params)
        st = build_tree(book, pf, out, buffer_bps=buffer_to_bps(buffer), insurance_fund=money_of(insurance_fund),
                        batch=batch, force=force, progress=lambda m: typer.echo(m, err=True), scheduler=scheduler,
                        workers=workers)
        typer.echo(f"wrote {out}/statement.json, leaves.bin and private/book.jsonl (SECRET, 0600): {st.accounts} "
                   f"accounts, depth {st.depth}, root {str(st.root)[:20]}...")
    guard(run)


def _venue_key(path: Path, venue: str):
    from zkmargin.solvency.params import ProtocolError
    from zkmargin.solvency.trust import read_private_key
    signer, key = read_private_key(path)
    if signer != venue:
        raise ProtocolError(f"the key in {path} is {signer}'s, not the venue {venue}'s")
    return signer, key


@solvency_app.command("setup")
def setup_cmd(
    params: Path = typer.Argument(..., help="the venue's params.json (digest mode)"),
    batch: int = typer.Option(64, "--batch", min=1, max=1 << 16, help="accounts per batch proof (a power of two)"),
    out_dir: Path = typer.Option(Path("keys"), "--out-dir", help="writes circuit.zkey, verification_key.json, setup.json"),
    ptau: Optional[Path] = typer.Option(None, "--ptau", help="phase-1 file from a public ceremony (default: a DEVELOPMENT-ONLY local one)"),
    ceremony: Optional[str] = typer.Option(None, "--ceremony", help="name the ceremony of a --ptau file that is not a recognised public one (its chain is then verified)"),
    key: Optional[Path] = typer.Option(None, "--key", help="the venue's signing key: sign the setup record"),
    force: bool = typer.Option(False, "--force", help="replace existing keys in --out-dir"),
):
    """Groth16 keys of the batch circuit, and their setup record (role setup)."""
    def run():
        from zkmargin.solvency.params import read_params
        from zkmargin.solvency.venue.prove import setup_batch_keys
        pf = read_params(params)
        signer, skey = _venue_key(key, pf.venue) if key is not None else (None, None)
        keys, rec = setup_batch_keys(pf, batch, out_dir, ptau=ptau, ceremony=ceremony, key=skey, signer=signer,
                                     force=force, progress=lambda m: typer.echo(m, err=True))
        typer.echo(f"wrote {out_dir}/circuit.zkey, verification_key.json and setup.json ({rec.circuit}, "
                   f"{keys.n_constraints} constraints), fingerprint {rec.vk_fingerprint}")
        if rec.development_only:
            typer.echo("WARNING: DEVELOPMENT-ONLY setup: its creator could forge proofs (verify --no-dev refuses it); "
                       "use --ptau with a public ceremony file, `zkmargin zkey contribute`, then `venue solvency record`")
        if skey is None:
            typer.echo("WARNING: setup.json is not signed (--key): verifiers with a trust file will refuse it")
    guard(run)


@solvency_app.command("record")
def record_cmd(
    params: Path = typer.Argument(..., help="the venue's params.json"),
    zkey: Path = typer.Option(..., "--zkey", help="the final batch key (after zkey contribute rounds)"),
    batch: int = typer.Option(..., "--batch", min=1, max=1 << 16, help="the batch size the key is for"),
    ptau: Optional[Path] = typer.Option(None, "--ptau", help="the phase-1 ceremony file: the key is verified against it"),
    ceremony: Optional[str] = typer.Option(None, "--ceremony", help="name the ceremony of a --ptau file that is not a recognised public one"),
    key: Optional[Path] = typer.Option(None, "--key", help="the venue's signing key for the record"),
    out: Path = typer.Option(Path("setup.json"), "--out"),
    force: bool = typer.Option(False, "--force", help="replace an existing record"),
):
    """Write the setup record of a batch key (after `zkey contribute`), verifying it against --ptau."""
    def run():
        from zkmargin.formats.jsonio import check_writable
        from zkmargin.solvency.keys import write_setup_record
        from zkmargin.solvency.params import read_params
        from zkmargin.solvency.venue.prove import record_batch_key
        pf = read_params(params)
        check_writable(out, overwrite=force)
        signer, skey = _venue_key(key, pf.venue) if key is not None else (None, None)
        rec = record_batch_key(pf, batch, zkey, ptau=ptau, ceremony=ceremony, progress=lambda m: typer.echo(m, err=True))
        if skey is not None:
            rec = rec.signed(skey, signer)
        write_setup_record(rec, out, overwrite=force)
        typer.echo(f"wrote {out}: {rec.circuit}, phase 1 {rec.phase1['source']}, {len(rec.phase2)} phase-2 "
                   f"contribution(s), fingerprint {rec.vk_fingerprint}")
    guard(run)


@solvency_app.command("prove")
def prove_cmd(
    tree: Path = typer.Argument(..., help="tree folder from `build`"),
    params: Path = typer.Option(..., "--params", help="the venue's params.json"),
    keys: Optional[Path] = typer.Option(None, "--keys", help="folder from `venue solvency setup` (circuit.zkey, setup.json; default: a DEVELOPMENT-ONLY key)"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, max=1024, help="embedded cluster: worker processes (default: one per core)"),
    kernel_threads: int = typer.Option(1, "--kernel-threads", min=1, max=256, help="embedded cluster: prover threads per task"),
    key: Optional[Path] = typer.Option(None, "--key", help="the venue's signing key: sign the statement once every batch is proven"),
    no_bar: bool = typer.Option(False, "--no-progress", help="no progress bar"),
):
    """Prove every batch on Dask (the batch size the tree was built for); resumes an interrupted run."""
    def run():
        from zkmargin.solvency.keys import read_setup_record
        from zkmargin.solvency.params import ProtocolError, read_params
        from zkmargin.solvency.venue.prove import prove_tree
        pf = read_params(params)
        signer, skey = _venue_key(key, pf.venue) if key is not None else (None, None)
        zkey = setup = None
        if keys is not None:
            zkey, rec = keys / "circuit.zkey", keys / "setup.json"
            if not zkey.is_file() or not rec.is_file():
                raise ProtocolError(f"{keys}: needs circuit.zkey and setup.json (venue solvency setup)")
            setup = read_setup_record(rec)
        r = prove_tree(tree, pf, scheduler=scheduler, workers=workers, kernel_threads=kernel_threads, zkey=zkey,
                       setup=setup, bar=not no_bar, progress=lambda m: typer.echo(m, err=True))
        typer.echo(f"proved {r.proven} of {r.batches} batches ({r.skipped} already proven, {r.duplicates} duplicate "
                   f"results ignored) in {r.seconds:.1f} s; proofs in {tree}/proofs, keys in {tree}/keys")
        if skey is not None:
            from zkmargin.solvency.venue.publish import sign_tree
            st = sign_tree(tree, pf, skey, signer)
            typer.echo(f"signed {tree}/statement.json as {signer} (batch key {st.vk_fingerprint[:23]}...)")
        else:
            typer.echo("note: the statement is not signed yet (venue solvency sign --key): verifiers with a trust "
                       "file will refuse it")
    guard(run)


@solvency_app.command("sign")
def sign_cmd(
    tree: Path = typer.Argument(..., help="a proven tree folder"),
    params: Path = typer.Option(..., "--params", help="the venue's params.json"),
    key: Path = typer.Option(..., "--key", help="the venue's signing key (trusted for solvency and setup)"),
):
    """Sign the statement of a proven tree (root, totals, shortfall, fund, epoch, key) as the venue."""
    def run():
        from zkmargin.solvency.params import read_params
        from zkmargin.solvency.venue.publish import sign_tree
        pf = read_params(params)
        signer, skey = _venue_key(key, pf.venue)
        st = sign_tree(tree, pf, skey, signer)
        typer.echo(f"signed {tree}/statement.json as {signer}: {st.accounts} accounts, root {str(st.root)[:20]}..., "
                   f"batch key {st.vk_fingerprint[:23]}...")
    guard(run)


@solvency_app.command("attest-fund")
def attest_fund_cmd(
    venue: str = typer.Option(..., "--venue", help="the venue whose insurance fund you hold"),
    epoch: int = typer.Option(..., "--epoch", min=0, max=(1 << 64) - 1, help="the epoch you attest for"),
    amount: str = typer.Option(..., "--amount", parser=lambda v: str(parse_usd(v)), metavar="USD",
                               help="the fund you hold for it, in USD at that epoch (at most 14 decimals)"),
    key: Path = typer.Option(..., "--key", help="your signing key (trusted for reserves)"),
    out: Path = typer.Option(Path("reserves.json"), "--out"),
    force: bool = typer.Option(False, "--force", help="replace an existing output file"),
):
    """Attest, as the holder of a venue's insurance fund, that you hold at least --amount for it."""
    def run():
        from zkmargin.formats import jsonio as jio
        from zkmargin.solvency.trust import read_private_key
        from zkmargin.solvency.venue.book import money_of
        from zkmargin.solvency.venue.reserves import attest_reserves
        jio.check_writable(out, overwrite=force)
        signer, skey = read_private_key(key)
        att = attest_reserves(venue, epoch, money_of(amount), skey, signer)
        jio.write_json(out, att.to_json(), overwrite=force)
        typer.echo(f"wrote {out}: {signer} attests the insurance fund of {venue} for epoch {epoch}")
    guard(run)


@solvency_app.command("verify")
def verify_cmd(
    tree: Path = typer.Argument(..., help="tree folder"),
    params: Path = typer.Option(..., "--params", help="the venue's params.json"),
    trust: Optional[Path] = typer.Option(None, "--trust", help="your trust file: the venue's key for params, setup and solvency"),
    epoch: int = typer.Option(..., "--epoch", min=0, help="the epoch you are checking"),
    venue: Optional[str] = typer.Option(None, "--venue", help="the venue you expect"),
    allow_unsigned: bool = typer.Option(False, "--allow-unsigned", help="accept a tree without a trust file (nobody vouches for the statement or the key)"),
    vk: Optional[Path] = typer.Option(None, "--vk", help="the batch verification key (default: tree/keys/; the venue's signatures vouch for it)"),
    setup: Optional[Path] = typer.Option(None, "--setup", help="the key's setup record (default: tree/keys/setup.json)"),
    no_dev: bool = typer.Option(False, "--no-dev", help="refuse a DEVELOPMENT-ONLY or unrecorded key"),
    min_buffer: str = typer.Option("1.0", "--min-buffer", parser=lambda v: str(parse_buffer(v)), metavar="DECIMAL",
                                   help=f"lowest buffer accepted (x the margin requirement) {BUFFER_HELP}"),
    reserves: Optional[List[Path]] = typer.Option(None, "--reserves", help="an attestation of the insurance fund by its holder (repeat)"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
    workers: Optional[int] = typer.Option(None, "--workers", min=0, max=1024, help="embedded cluster workers (0: this process)"),
    as_json: bool = typer.Option(False, "--json", help="print the verdict as JSON (schema in docs/CLI.md)"),
):
    """Verify every batch proof (batch verification), the top level and the venue's signatures.

    Exit codes: 0 all checks pass, 1 any check fails, 2 bad input or usage."""
    def run():
        from zkmargin.formats.snarkjs_json import read_verifying_key
        from zkmargin.solvency.bundle import buffer_to_bps
        from zkmargin.solvency.keys import read_setup_record
        from zkmargin.solvency.params import read_params
        from zkmargin.solvency.trust import read_trust
        from zkmargin.solvency.venue.reserves import read_reserves
        from zkmargin.solvency.venue.verify import verify_tree
        rec = setup if setup is not None else tree / "keys" / "setup.json"
        rep = verify_tree(tree, read_params(params), vk=read_verifying_key(vk or tree / "keys" / "verification_key.json"),
                          setup=read_setup_record(rec) if setup is not None or rec.is_file() else None,
                          trust=read_trust(trust) if trust else None, epoch=epoch, venue=venue,
                          allow_unsigned=allow_unsigned, allow_development=not no_dev,
                          reserves=[read_reserves(r) for r in reserves or []],
                          min_buffer_bps=buffer_to_bps(min_buffer), scheduler=scheduler, workers=workers)
        _print_report(rep, as_json, "venue solvency verify")
    guard(run)


@solvency_app.command("inclusion")
def inclusion_cmd(
    tree: Path = typer.Argument(..., help="tree folder"),
    account: str = typer.Argument(..., help="the account id in the book"),
    out: Path = typer.Option(..., "--out", help="inclusion proof to write (public)"),
    opening_out: Optional[Path] = typer.Option(None, "--opening-out", help="also write the client's opening (SECRET, 0600)"),
    force: bool = typer.Option(False, "--force", help="replace an existing opening file"),
):
    """Give a client the path of its leaf (and its opening when the venue drew the salt)."""
    def run():
        from zkmargin.formats import jsonio as jio
        from zkmargin.solvency.venue.inclusion import make_inclusion
        jio.check_writable(out, what="inclusion proof")
        if opening_out is not None:
            jio.check_writable(opening_out, overwrite=force, what="opening")
        inc, op = make_inclusion(tree, account)
        jio.write_json(out, inc.to_json())
        msg = f"wrote {out} (leaf {inc.index} of depth {inc.depth})"
        if opening_out is not None:
            jio.write_json(opening_out, op.secret_json(), secret=True, overwrite=force)
            msg += f" and {opening_out} (SECRET: hand it to the client privately)"
        typer.echo(msg)
    guard(run)


def _verify_inclusion(
    inclusion: Path = typer.Argument(..., help="inclusion proof from the venue"),
    statement: Path = typer.Option(..., "--statement", help="the published statement.json (or its tree folder)"),
    opening: Optional[Path] = typer.Option(None, "--opening", help="your opening.json"),
    commitment: Optional[Path] = typer.Option(None, "--commitment", help="or your commitment.json"),
    portfolio: Optional[Path] = typer.Option(None, "--portfolio", help="your portfolio.json (needs --params)"),
    params: Optional[Path] = typer.Option(None, "--params", help="the venue's params.json"),
    trust: Optional[Path] = typer.Option(None, "--trust", help="your trust file (the venue's key for solvency)"),
    epoch: int = typer.Option(..., "--epoch", min=0, help="the epoch you are checking"),
    account: Optional[str] = typer.Option(None, "--account", help="your own account id at the venue (needed when "
                                          "the venue drew your salt: check 'your salt')"),
    allow_unsigned: bool = typer.Option(False, "--allow-unsigned", help="accept a statement without a trust file"),
    as_json: bool = typer.Option(False, "--json", help="print the verdict as JSON (schema in docs/CLI.md)"),
):
    """Check that your account is a leaf of the venue's published, signed tree.

    If you gave the venue a portfolio (the venue drew your salt), pass --account with your own
    account id: your opening's salt must be derived from it ('your salt'), so no other client
    can be handed your leaf.

    Exit codes: 0 included, 1 any check fails, 2 bad input or usage."""
    def run():
        from zkmargin.solvency.venue.inclusion import verify_inclusion_files
        _print_report(verify_inclusion_files(inclusion, statement, opening=opening, commitment=commitment,
                                             portfolio=portfolio, params=params, trust=trust, epoch=epoch,
                                             allow_unsigned=allow_unsigned, account=account), as_json,
                                      "verify-inclusion")
    guard(run)


def _verify_many(
    folder: Path = typer.Argument(..., help="folder of bundle.json files"),
    vk: Path = typer.Option(..., "--vk", help="verification_key.json of the bundles' shape"),
    params: Path = typer.Option(..., "--params", help="the venue's params.json"),
    trust: Optional[Path] = typer.Option(None, "--trust", help="your trust file"),
    allow_unattested: bool = typer.Option(False, "--allow-unattested", help="accept bundles without a trust file"),
    setup: Optional[Path] = typer.Option(None, "--setup", help="the key's setup record"),
    no_dev: bool = typer.Option(False, "--no-dev", help="refuse DEVELOPMENT-ONLY keys"),
    nonces: Optional[Path] = typer.Option(None, "--nonces", help="JSONL of the nonce you issued each trader: {\"bundle\": \"FILE.json\", \"nonce\": \"N\"} per line"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
    workers: Optional[int] = typer.Option(None, "--workers", min=0, max=1024, help="embedded cluster workers (0: this process)"),
    as_json: bool = typer.Option(False, "--json", help="print the verdict as one JSON object (schema in docs/CLI.md)"),
):
    """Verify every bundle in a folder on Dask; one line each.

    Exit codes: 0 all bundles valid, 1 any invalid, 2 bad input or usage."""
    def run():
        from zkmargin.formats.snarkjs_json import read_verifying_key
        from zkmargin.solvency.keys import read_setup_record
        from zkmargin.solvency.params import read_params
        from zkmargin.solvency.trust import read_trust
        from zkmargin.solvency.venue.verify import read_nonces, verify_many
        rows = verify_many(folder, read_params(params), vk=read_verifying_key(vk),
                           trust=read_trust(trust) if trust else None,
                           setup=read_setup_record(setup) if setup else None, allow_development=not no_dev,
                           allow_unattested=allow_unattested, nonces=read_nonces(nonces) if nonces else None,
                           scheduler=scheduler, workers=workers)
        bad = sum(1 for _, ok, _ in rows if not ok)
        if as_json:
            doc = verdict("verify-many", not bad,
                          [check(name, ok, summary) for name, ok, summary in rows],
                          bundles=[{"bundle": name, "valid": ok, "summary": summary} for name, ok, summary in rows],
                          valid_count=len(rows) - bad, total=len(rows))
            emit_json(doc)
            finish(doc)
        for name, ok, summary in rows:
            typer.echo(f"{name}: {summary}")
        typer.echo(f"{len(rows) - bad} of {len(rows)} bundles valid", err=bool(bad))
        if bad:
            raise typer.Exit(code=EXIT_INVALID)
    guard(run)


def register(app: typer.Typer) -> None:
    """Add ``venue solvency ...``, ``verify-inclusion`` and ``verify-many``."""
    from .cmd_solvency import venue_app
    venue_app.add_typer(solvency_app, name="solvency")
    app.command("verify-inclusion")(_verify_inclusion)
    app.command("verify-many")(_verify_many)
