"""CLI verbs of the settlement gateway (registered by :mod:`zkmargin.cli.main`).

Venue:             zkmargin serve --params P.json --vk verification_key.json --trust trust.json [--setup setup.json] --db URL
Trader:            zkmargin challenge --gateway URL --venue V --epoch E      (prints the nonce)
                   zkmargin submit bundle.json --gateway URL
Venue operator:    zkmargin gateway register KIND FILE --gateway URL --key venue_key.json
                   zkmargin gateway close-epoch --venue V --epoch E [--next-epoch N] --gateway URL --key K
Anyone:            zkmargin gateway account COMMITMENT --epoch E --gateway URL

`submit` exits 0 when the bundle was accepted, 1 when it was rejected (each failed check is
printed), 2 when the gateway could not decide (unreachable, bad input).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Literal, Optional

import typer

from .common import EXIT_INVALID, emit_json, guard
from .options import BUFFER_HELP, parse_buffer

gateway_app = typer.Typer(help="Settlement gateway administration and queries (signed admin requests).",
                          no_args_is_help=True)

DEFAULT_DB = "sqlite:///zkmargin-gateway.db"
DEFAULT_URL = "http://127.0.0.1:8080"
RegisterKind = Literal["params", "vk", "setup", "trust"]
LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]


def _serve(
    params: List[Path] = typer.Option(..., "--params", help="the venue's signed parameter file(s) (repeat)"),
    vk: List[Path] = typer.Option(..., "--vk", help="verification_key.json (repeat for several shapes)"),
    trust: Path = typer.Option(..., "--trust", help="the gateway's trust file: whom it believes, and for what"),
    setup: List[Path] = typer.Option([], "--setup", help="the keys' signed setup records (--no-dev needs them)"),
    db: str = typer.Option(DEFAULT_DB, "--db", metavar="URL", show_default="an embedded SQLite file, zkmargin-gateway.db",
                          help="database URL: sqlite:///FILE, or a PostgreSQL URL (docs/GATEWAY.md)"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8080, "--port", min=1, max=65535),
    no_dev: bool = typer.Option(False, "--no-dev", help="refuse bundles proven with a DEVELOPMENT-ONLY key"),
    min_buffer: str = typer.Option("1.0", "--min-buffer", parser=lambda v: str(parse_buffer(v)), metavar="DECIMAL",
                                   help=f"lowest buffer accepted (x the margin requirement) {BUFFER_HELP}"),
    nonce_ttl: int = typer.Option(900, "--nonce-ttl", min=1, max=30 * 86400, help="seconds a nonce stays valid"),
    max_body: int = typer.Option(1 << 20, "--max-body", min=1024, max=64 << 20, help="largest bundle body, bytes"),
    batch: int = typer.Option(64, "--batch", min=1, max=4096, help="most proofs in one pairing batch"),
    batch_wait_ms: float = typer.Option(10.0, "--batch-wait-ms", min=0, max=10_000, help="how long a batch waits to fill"),
    body_timeout: float = typer.Option(10.0, "--body-timeout", min=0.1, max=600, help="seconds a request body may take to arrive"),
    pairing_processes: int = typer.Option(1, "--pairing-processes", min=0, max=1, help="1: pairings in their own process (uses a second core); 0: in a thread"),
    log_level: LogLevel = typer.Option("info", "--log-level"),
):
    """Run the settlement gateway (HTTP API, dashboard at /, OpenAPI docs at /docs)."""
    def run():
        from zkmargin.service.gateway import GatewayConfig
        from zkmargin.service.server import serve
        from zkmargin.solvency.bundle import buffer_to_bps
        cfg = GatewayConfig(db_url=db, allow_development=not no_dev, min_buffer_bps=buffer_to_bps(min_buffer),
                            nonce_ttl_s=nonce_ttl, max_bundle_bytes=max_body, batch_max=batch,
                            batch_wait_s=batch_wait_ms / 1000, pairing_processes=pairing_processes,
                            body_timeout_s=body_timeout)
        serve(cfg, host=host, port=port, trust=trust, params=params, vks=vk, setups=setup,
              echo=lambda s: typer.echo(s, err=True), log_level=log_level)
    guard(run)


def _challenge(
    gateway: str = typer.Option(DEFAULT_URL, "--gateway", help="the gateway's URL"),
    venue: str = typer.Option(..., "--venue"),
    epoch: int = typer.Option(..., "--epoch", min=0, max=(1 << 64) - 1),
    json_out: bool = typer.Option(False, "--json", help="print the whole answer (nonce, expiry) as JSON"),
):
    """Ask the gateway for a fresh nonce to prove against (prints the nonce)."""
    def run():
        from zkmargin.service.client import GatewayClient
        with GatewayClient(gateway) as c:
            got = c.challenge(venue, epoch)
        typer.echo(json.dumps(got, indent=1) if json_out else got["nonce"])
    guard(run)


def _submit(
    bundle: Path = typer.Argument(..., help="bundle.json (zkmargin prove)"),
    gateway: str = typer.Option(DEFAULT_URL, "--gateway", help="the gateway's URL"),
    json_out: bool = typer.Option(False, "--json", help="print the gateway's whole answer as JSON"),
):
    """Submit a bundle to the gateway (failed checks listed).

    Exit codes: 0 accepted, 1 rejected, 2 the gateway could not decide (unreachable, bad input)."""
    def run():
        from zkmargin.service.client import GatewayClient
        with GatewayClient(gateway) as c:
            got = c.submit(bundle)
        if json_out:
            ok = got["status"] == "accepted"
            emit_json({"command": "submit", "verdict": "ACCEPTED" if ok else "REJECTED", "valid": ok,
                       "exit_code": 0 if ok else EXIT_INVALID,
                       "checks": [{"name": f["name"], "status": "fail", "reason": f["reason"]}
                                  for f in got.get("failures", [])], "answer": got})
        elif got["status"] == "accepted":
            dup = " (already accepted before)" if got.get("duplicate") else ""
            typer.echo(f"ACCEPTED: submission {got['id']}{dup}")
        else:
            typer.echo("REJECTED: " + "; ".join(f"{f['name']}: {f['reason']}" for f in got.get("failures", [])))
        if got["status"] != "accepted":
            raise typer.Exit(EXIT_INVALID)
    guard(run)


@gateway_app.command("register")
def gateway_register(
    kind: RegisterKind = typer.Argument(..., help="params, vk, setup or trust"),
    file: Path = typer.Argument(..., help="the file to register"),
    gateway: str = typer.Option(DEFAULT_URL, "--gateway"),
    key: Path = typer.Option(..., "--key", help="the venue's signing key (zkmargin attest keygen)"),
):
    """Register a parameter file, verifying key, setup record or trust file (a signed request)."""
    def run():
        from zkmargin.service.client import GatewayClient
        with GatewayClient(gateway, key=key) as c:
            fn = {"params": c.register_params, "vk": c.register_vk, "setup": c.register_setup,
                  "trust": c.register_trust}[kind]
            got = fn(file)
        typer.echo(json.dumps(got, indent=1))
    guard(run)


@gateway_app.command("close-epoch")
def gateway_close_epoch(
    venue: str = typer.Option(..., "--venue"),
    epoch: int = typer.Option(..., "--epoch", min=0),
    next_epoch: Optional[int] = typer.Option(None, "--next-epoch", min=0, help="default: the venue's next registered epoch"),
    gateway: str = typer.Option(DEFAULT_URL, "--gateway"),
    key: Path = typer.Option(..., "--key", help="the venue's signing key"),
):
    """Close an epoch: every account proven in it without an accepted proof for the next one
    gets a margin call (printed)."""
    def run():
        from zkmargin.service.client import GatewayClient
        with GatewayClient(gateway, key=key) as c:
            got = c.close_epoch(venue, epoch, next_epoch)
            calls = c.margin_calls(epoch, venue)
        typer.echo(f"closed {venue} epoch {epoch} (next {got['next_epoch']}): {got['margin_calls']} margin call(s)")
        for ev in calls:
            typer.echo(f"margin call: commitment {ev['commitment']}")
    guard(run)


@gateway_app.command("account")
def gateway_account(
    commitment: str = typer.Argument(..., help="the account's commitment (decimal)"),
    epoch: int = typer.Option(..., "--epoch", min=0),
    gateway: str = typer.Option(DEFAULT_URL, "--gateway"),
):
    """An account's status for an epoch: solvent, expired, rejected or unknown."""
    def run():
        from zkmargin.service.client import GatewayClient
        with GatewayClient(gateway) as c:
            typer.echo(json.dumps(c.account(commitment, epoch), indent=1))
    guard(run)


def register(app: typer.Typer) -> None:
    app.command("serve")(_serve)
    app.command("challenge")(_challenge)
    app.command("submit")(_submit)
    app.add_typer(gateway_app, name="gateway")


__all__ = ["register", "gateway_app"]
