"""CLI verbs of venue-wide solvency (registered by :mod:`zkmargin.cli.main`).

Venue:    zkmargin venue solvency build BOOK --params P.json --out tree/ [--insurance-fund USD]
          zkmargin venue solvency prove tree/ --params P.json [--scheduler URL] [--batch B]
          zkmargin venue solvency inclusion tree/ ACCOUNT --out inc.json [--opening-out op.json]
Auditor:  zkmargin venue solvency verify tree/ --params P.json [--vk VK] [--setup S] [--scheduler URL]
Client:   zkmargin verify-inclusion inc.json --statement tree/statement.json --opening op.json
Auditor:  zkmargin verify-many DIR --vk VK --params P.json [--trust T] [--scheduler URL]

A thin layer over :mod:`zkmargin.solvency.venue`. Bad input prints one line ``error: ...`` and
exits 2; a book whose shortfall exceeds the insurance fund exits 1; a rejected tree, inclusion
proof or bundle lists the failed checks and exits 1. No account value is ever printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .common import EXIT_INVALID, guard

solvency_app = typer.Typer(help="Venue-wide proof of solvency: a Merkle sum tree of every margin account, "
                                "proven in batches on a Dask cluster.", no_args_is_help=True)

SCHEDULER_HELP = "Dask scheduler, e.g. tcp://host:8786 (default: an embedded LocalCluster on this machine)"


def _print_report(rep, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(rep.to_json(), indent=1))
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
    insurance_fund: str = typer.Option("0", "--insurance-fund", help="insurance / default fund in USD"),
    buffer: str = typer.Option("1.0", "--buffer", help="required buffer x margin requirement"),
    batch: int = typer.Option(64, "--batch", min=1, max=1 << 16, help="largest batch size the tree must hold"),
    force: bool = typer.Option(False, "--force", help="replace an existing tree in --out"),
):
    """Build the tree: quantize and commit every account, sums, shortfall, root."""
    def run():
        from zkmargin.solvency.bundle import buffer_to_bps
        from zkmargin.solvency.params import read_params
        from zkmargin.solvency.venue.book import build_tree, money_of
        pf = read_params(params)
        st = build_tree(book, pf, out, buffer_bps=buffer_to_bps(buffer), insurance_fund=money_of(insurance_fund),
                        batch=batch, force=force, progress=lambda m: typer.echo(m, err=True))
        typer.echo(f"wrote {out}/statement.json, leaves.bin and private/book.jsonl (SECRET, 0600): {st.accounts} "
                   f"accounts, depth {st.depth}, root {str(st.root)[:20]}...")
    guard(run)


@solvency_app.command("prove")
def prove_cmd(
    tree: Path = typer.Argument(..., help="tree folder from `build`"),
    params: Path = typer.Option(..., "--params", help="the venue's params.json"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
    batch: int = typer.Option(64, "--batch", min=1, max=1 << 16, help="accounts per proof (a power of two)"),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, max=1024, help="embedded cluster: worker processes (default: one per core)"),
    kernel_threads: int = typer.Option(1, "--kernel-threads", min=1, max=256, help="embedded cluster: prover threads per task"),
    zkey: Optional[Path] = typer.Option(None, "--zkey", help="the batch circuit's proving key (default: a DEVELOPMENT-ONLY key)"),
    no_bar: bool = typer.Option(False, "--no-progress", help="no progress bar"),
):
    """Prove every batch on Dask; resumes an interrupted run."""
    def run():
        from zkmargin.solvency.params import read_params
        from zkmargin.solvency.venue.prove import prove_tree
        r = prove_tree(tree, read_params(params), batch=batch, scheduler=scheduler, workers=workers,
                       kernel_threads=kernel_threads, zkey=zkey, bar=not no_bar,
                       progress=lambda m: typer.echo(m, err=True))
        typer.echo(f"proved {r.proven} of {r.batches} batches ({r.skipped} already proven, {r.duplicates} duplicate "
                   f"results ignored) in {r.seconds:.1f} s; proofs in {tree}/proofs, keys in {tree}/keys")
    guard(run)


@solvency_app.command("verify")
def verify_cmd(
    tree: Path = typer.Argument(..., help="tree folder"),
    params: Path = typer.Option(..., "--params", help="the venue's params.json"),
    vk: Optional[Path] = typer.Option(None, "--vk", help="the batch verification key you trust (default: tree/keys/)"),
    setup: Optional[Path] = typer.Option(None, "--setup", help="the key's setup record"),
    no_dev: bool = typer.Option(False, "--no-dev", help="refuse a DEVELOPMENT-ONLY or unrecorded key"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
    workers: Optional[int] = typer.Option(None, "--workers", min=0, max=1024, help="embedded cluster workers (0: this process)"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
):
    """Verify every batch proof (batch verification) and the top level; exit 0 only if all pass."""
    def run():
        from zkmargin.solvency.keys import read_setup_record
        from zkmargin.solvency.params import ProtocolError, read_params
        from zkmargin.solvency.venue.verify import verify_tree
        from zkmargin.verifier.formats import read_verifying_key
        if no_dev and setup is None:
            raise ProtocolError("--no-dev needs the key's setup record (--setup)")
        rep = verify_tree(tree, read_params(params), vk=read_verifying_key(vk or tree / "keys" / "verification_key.json"),
                          setup=read_setup_record(setup) if setup else None, allow_development=not no_dev,
                          scheduler=scheduler, workers=workers)
        if vk is None:
            rep.notes.append("verification key taken from the tree folder: compare its fingerprint with the venue's record")
        _print_report(rep, as_json)
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
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
):
    """Check that your account is a leaf of the venue's published tree."""
    def run():
        from zkmargin.solvency.venue.inclusion import verify_inclusion_files
        _print_report(verify_inclusion_files(inclusion, statement, opening=opening, commitment=commitment,
                                             portfolio=portfolio, params=params), as_json)
    guard(run)


def _verify_many(
    folder: Path = typer.Argument(..., help="folder of bundle.json files"),
    vk: Path = typer.Option(..., "--vk", help="verification_key.json of the bundles' shape"),
    params: Path = typer.Option(..., "--params", help="the venue's params.json"),
    trust: Optional[Path] = typer.Option(None, "--trust", help="your trust file"),
    allow_unattested: bool = typer.Option(False, "--allow-unattested", help="accept bundles without a trust file"),
    setup: Optional[Path] = typer.Option(None, "--setup", help="the key's setup record"),
    no_dev: bool = typer.Option(False, "--no-dev", help="refuse DEVELOPMENT-ONLY keys"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
    workers: Optional[int] = typer.Option(None, "--workers", min=0, max=1024, help="embedded cluster workers (0: this process)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object per bundle"),
):
    """Verify every bundle in a folder on Dask; one line each; exit 0 only if all are valid."""
    def run():
        from zkmargin.solvency.keys import read_setup_record
        from zkmargin.solvency.params import read_params
        from zkmargin.solvency.trust import read_trust
        from zkmargin.solvency.venue.verify import verify_many
        from zkmargin.verifier.formats import read_verifying_key
        rows = verify_many(folder, read_params(params), vk=read_verifying_key(vk),
                           trust=read_trust(trust) if trust else None,
                           setup=read_setup_record(setup) if setup else None, allow_development=not no_dev,
                           allow_unattested=allow_unattested, scheduler=scheduler, workers=workers)
        for name, ok, summary in rows:
            typer.echo(json.dumps({"bundle": name, "valid": ok, "summary": summary}) if as_json else f"{name}: {summary}")
        bad = sum(1 for _, ok, _ in rows if not ok)
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
