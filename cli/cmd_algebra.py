"""CLI verbs for the algebra core (registered by :mod:`zkmargin.cli.main`)."""

from __future__ import annotations

import typer
from rich.console import Console


def register(app: typer.Typer) -> None:
    """Add this area's verbs to the root app."""

    @app.command()
    def warmup(
        jit: bool = typer.Option(True, "--jit/--no-jit",
                                 help="Compile and cache every JIT kernel (setup, MSM, NTT, pairing)."),
        native: bool = typer.Option(True, "--native/--no-native",
                                    help="Build the ahead-of-time prover kernels (no numba start-up "
                                         "in `groth16 prove`)."),
    ) -> None:
        """Compile the BN254 kernels now (first run: minutes; later: about a second)."""
        console = Console(stderr=True)
        if native:
            from zkmargin.algebra import native as native_mod

            found = native_mod.find()
            if found is None:
                try:
                    found = native_mod.build(log=lambda msg: console.print(msg, soft_wrap=True))
                except native_mod.NativeBuildError as e:
                    console.print(f"[yellow]{e}[/yellow]; the prover will use the JIT kernels")
            if found is not None:
                console.print(f"native prover kernels: {found.name}", soft_wrap=True)
        if jit:
            from zkmargin.algebra import warm_up

            with console.status("compiling kernels…") as status:
                timings = warm_up(progress=lambda name: status.update(f"compiling {name} kernels…"))
            for name, secs in timings.items():
                console.print(f"  {name:<10} {secs:7.2f} s")
            console.print(f"kernels ready ({sum(timings.values()):.1f} s in all)")
