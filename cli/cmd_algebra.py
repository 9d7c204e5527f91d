"""CLI verbs for the algebra core (registered by :mod:`zkmargin.cli.main`)."""

from __future__ import annotations

import typer
from rich.console import Console


def register(app: typer.Typer) -> None:
    """Add this area's verbs to the root app."""

    @app.command()
    def warmup() -> None:
        """Compile and cache the BN254 kernels now (first run: minutes; later: about a second)."""
        from zkmargin.algebra import warm_up

        console = Console(stderr=True)
        with console.status("compiling kernels…") as status:
            timings = warm_up(progress=lambda name: status.update(f"compiling {name} kernels…"))
        for name, secs in timings.items():
            console.print(f"  {name:<10} {secs:7.2f} s")
        console.print(f"kernels ready ({sum(timings.values()):.1f} s in all)")
