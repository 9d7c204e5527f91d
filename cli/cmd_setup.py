"""CLI verbs for trusted setup (registered by :mod:`zkmargin.cli.main`)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this area's verbs to the shared groups (see :mod:`zkmargin.cli.groups`)."""
