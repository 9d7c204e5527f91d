"""CLI verbs for the margin area (registered by :mod:`zkmargin.cli.main`)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this area's verbs to the root app."""
