"""Verb groups shared by several CLI modules (``zkmargin groth16 ...``, ``zkmargin zkey ...``,
``zkmargin powersoftau ...``)."""

from __future__ import annotations

import typer

groth16_app = typer.Typer(help="Groth16 setup, proving and verification (snarkjs-compatible).",
                          no_args_is_help=True)
zkey_app = typer.Typer(help="Work with .zkey proving keys (snarkjs-compatible).", no_args_is_help=True)
ptau_app = typer.Typer(help="Powers-of-tau (phase 1) ceremony files (snarkjs-compatible .ptau).",
                       no_args_is_help=True)
