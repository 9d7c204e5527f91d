"""CLI verbs for the algebra core (registered by :mod:`zkmargin.cli.main`)."""

from __future__ import annotations

import time

import typer
from rich.console import Console

from .progress import reporter


def register(app: typer.Typer) -> None:
    """Add this area's verbs to the root app."""

    @app.command()
    def warmup(
        jit: bool = typer.Option(True, "--jit/--no-jit",
                                 help="Compile and cache every JIT kernel (setup, MSM, NTT, pairing)."),
        native: bool = typer.Option(True, "--native/--no-native",
                                    help="Build the ahead-of-time prover and verifier kernels (no "
                                         "numba start-up in `groth16 prove`; fast in-process verify)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    ) -> None:
        """Compile the BN254 kernels now (first run: minutes; later: about a second)."""
        console = Console(stderr=True, soft_wrap=True, highlight=False)
        if native:
            from zkmargin.algebra import native as native_mod

            fallback = {native_mod.PROVER: "the prover will use the JIT kernels",
                        native_mod.VERIFIER: "the verifier will use pure Python or the JIT kernels"}
            for spec, otherwise in fallback.items():
                found = native_mod.find(spec)
                if found is None:
                    try:
                        with reporter(f"{spec.title} build", quiet=quiet, console=console, indent="  ") as rep:
                            found = native_mod.build(spec, log=rep.say, progress=rep.ticks)
                    except native_mod.NativeBuildError as e:
                        console.print(f"[yellow]{e}[/yellow]; {otherwise}")
                if found is not None:
                    console.print(f"{spec.title}: {found.name}")
        if jit:
            from zkmargin.algebra import warm_up

            t0 = time.perf_counter()
            with reporter("JIT compile", quiet=quiet, console=console, indent="  ") as rep:
                rep.say("compiling (or loading from numba's cache) the JIT kernels")
                timings = warm_up(progress=rep.ticks)
            for name, secs in timings.items():
                console.print(f"  {name:<10} {secs:7.2f} s")
            console.print(f"kernels ready ({time.perf_counter() - t0:.1f} s in all)")
