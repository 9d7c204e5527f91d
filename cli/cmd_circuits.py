"""CLI verbs for the circuits area (registered by :mod:`zkmargin.cli.main`).

``zkmargin poseidon X1 [X2 ... X16]`` prints the circomlib Poseidon hash of the inputs in
decimal. Inputs are decimal or ``0x``-hex integers in 0 <= x < r. Bad input gives a one-line
``error: ...`` on stderr and exit status 2. Messages name the input position, never its
value (inputs may be secrets).
"""

from __future__ import annotations

import re
from typing import Optional

import typer

from zkmargin.algebra.constants import R
from zkmargin.circuits.poseidon import MAX_INPUTS, MIN_INPUTS, PoseidonInputError, poseidon

#: Exit status for unusable input (matches click's usage-error status).
EXIT_BAD_INPUT = 2

_DECIMAL = re.compile(r"[0-9]+")
_HEX = re.compile(r"0[xX][0-9a-fA-F]+")


def parse_field_int(token: str, what: str) -> int:
    """Parse a decimal or 0x-hex integer in 0 <= x < r; raise ``ValueError`` otherwise."""
    text = token.strip()
    negative = text.startswith("-")
    body = text[1:] if negative else text
    if _DECIMAL.fullmatch(body):
        value = int(body, 10)
    elif _HEX.fullmatch(body):
        value = int(body, 16)
    else:
        raise ValueError(f"{what} is not an integer (use decimal or 0x-hex)")
    if negative and value != 0:
        raise ValueError(f"{what} is negative; inputs must satisfy 0 <= x < r")
    if value >= R:
        raise ValueError(f"{what} is not below the field modulus r (no silent reduction)")
    return value


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def poseidon_command(
    inputs: Optional[list[str]] = typer.Argument(
        None,
        metavar="X...",
        help=f"{MIN_INPUTS} to {MAX_INPUTS} field elements, decimal or 0x-hex, each < r.",
        show_default=False,
    ),
) -> None:
    """Print the circomlib-compatible Poseidon hash (BN254) of the inputs, in decimal."""
    tokens = inputs or []
    if not MIN_INPUTS <= len(tokens) <= MAX_INPUTS:
        _fail(f"poseidon takes {MIN_INPUTS} to {MAX_INPUTS} inputs, got {len(tokens)}")
    try:
        values = [parse_field_int(tok, f"input {i + 1}") for i, tok in enumerate(tokens)]
        digest = poseidon(values)
    except (ValueError, PoseidonInputError) as exc:
        _fail(str(exc))
    typer.echo(str(digest))


def register(app: typer.Typer) -> None:
    """Add this area's verbs to the root app."""
    app.command(
        "poseidon",
        # Let "-1" reach the parser (and get a clear message) instead of "no such option".
        context_settings={"ignore_unknown_options": True},
    )(poseidon_command)
