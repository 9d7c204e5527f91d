"""Root of the ``zkmargin`` command line.

Each area of the product registers its verbs from its own module, so the CLI stays a thin
layer: every command parses arguments, calls the library, and prints. The root callback
carries ``--version``; typer adds ``--install-completion`` / ``--show-completion``.
"""

from __future__ import annotations

from typing import Optional

import typer

from . import (
    cmd_algebra,
    cmd_circuits,
    cmd_groth16,
    cmd_local,
    cmd_margin,
    cmd_service,
    cmd_setup,
    cmd_solvency,
    cmd_venue_solvency,
)
from .common import EXIT_CODES_HELP
from .groups import groth16_app, ptau_app, zkey_app
from .options import hide_flag_types, one_line_usage_errors

hide_flag_types()
one_line_usage_errors()

app = typer.Typer(
    name="zkmargin",
    help=(
        "Prove in zero knowledge that collateral covers the portfolio margin of hidden "
        "positions, and verify such proofs. Groth16 over BN254, compatible with "
        "circom/snarkjs files."
    ),
    epilog=EXIT_CODES_HELP + " Verdict verbs take --json (docs/CLI.md).",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from zkmargin import __version__
        typer.echo(f"zkmargin {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                           help="Print the version and exit."),
) -> None:
    """The root options (the app's help text is the Typer's own)."""


for _module in (cmd_algebra, cmd_circuits, cmd_margin, cmd_setup, cmd_groth16, cmd_solvency, cmd_venue_solvency,
                cmd_service, cmd_local):
    _module.register(app)

app.add_typer(groth16_app, name="groth16")
app.add_typer(zkey_app, name="zkey")
app.add_typer(ptau_app, name="powersoftau")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
