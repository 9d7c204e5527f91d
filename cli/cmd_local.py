"""CLI verbs about local files: the sample inputs and the caches.

    zkmargin samples DIR [--force]              # book.json, market.json, portfolio.json
    zkmargin cache info                         # what each cache holds, and its size
    zkmargin cache clear [--kernels]            # the dev cache (and the compiled kernels)
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import typer

SAMPLES = {
    "book.json": "a venue's listing: 64 BTC and ETH instruments (spot, perpetuals, futures, options)",
    "market.json": "the market snapshot of 2024-05-24 (spot, vols, scan ranges, collateral haircuts, history)",
    "portfolio.json": "a trader's account: 7 positions from the book and 3 collateral assets",
}

#: every zkmargin module that defines cached numba kernels (tests/test_cli_local.py checks the list)
JIT_MODULES = ("zkmargin.algebra.field", "zkmargin.algebra.fq2", "zkmargin.algebra.curve",
               "zkmargin.algebra.msm", "zkmargin.algebra.fft", "zkmargin.algebra.tower",
               "zkmargin.algebra.pairing", "zkmargin.algebra.prover_kernels", "zkmargin.algebra.verifier_kernels",
               "zkmargin.algebra.fixed_base_wide", "zkmargin.algebra.affine_products",
               "zkmargin.prover.ptau", "zkmargin.circuits.poseidon_batch")

cache_app = typer.Typer(help="The caches: DEVELOPMENT-ONLY setup files and compiled kernels.",
                        no_args_is_help=True)


def _mb(n: int) -> str:
    return f"{n / 1e6:8.1f} MB"


def samples(
    out_dir: Path = typer.Argument(..., help="Folder to write book.json, market.json and portfolio.json into."),
    force: bool = typer.Option(False, "--force", help="Overwrite files that exist."),
) -> None:
    """Write the sample files of the documented session (docs/PROTOCOL.md)."""
    src = resources.files("zkmargin.margin.samples")
    targets = {name: out_dir / name for name in SAMPLES}
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing and not force:
        typer.echo(f"error: {', '.join(existing)} exist(s); use --force to overwrite", err=True)
        raise typer.Exit(2)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, path in targets.items():
        text = src.joinpath(name).read_text()
        json.loads(text)                                # shipped files are valid JSON
        path.write_text(text)
        typer.echo(f"wrote {path}: {SAMPLES[name]}")
    d = out_dir
    typer.echo("\nThe session of docs/PROTOCOL.md with them (venue, then trader):\n"
               f"  zkmargin venue params {d / 'book.json'} --market {d / 'market.json'} --model span16 "
               "--venue VenueA --epoch 20240524 --instruments-slots 64 --out params.json\n"
               "  zkmargin venue setup params.json --out-dir keys\n"
               f"  zkmargin commit {d / 'portfolio.json'} --params params.json --out commitment.json "
               "--opening opening.json")


@cache_app.command("info")
def cache_info() -> None:
    """Where each cache is, what it holds and how big it is."""
    import os

    from zkmargin.algebra import caches, native
    from zkmargin.prover import dev_cache

    where = "$ZKMARGIN_CACHE" if os.environ.get("ZKMARGIN_CACHE") else "default; set $ZKMARGIN_CACHE to move it"
    typer.echo(f"DEVELOPMENT-ONLY setup files: {dev_cache.cache_dir()} ({where})")
    total = 0
    for path, rec in dev_cache.entries():
        size = path.stat().st_size
        total += size
        if path.name.startswith("."):
            what = "leftover of an interrupted write (safe to remove)"
        elif rec is None:
            what = "no record (made by an older zkmargin): checked in full when next loaded"
        else:
            kind = (f"powers of tau, power {rec.get('power')}" if path.suffix == ".ptau"
                    else f"Groth16 key, {rec.get('constraints')} constraints, from {rec.get('ptau')}")
            what = f"{kind}; made by {rec.get('made_by')} {rec.get('created')}, self-checked"
        typer.echo(f"  {path.name:<36} {_mb(size)}  {what}")
    typer.echo(f"  {'total':<36} {_mb(total)}  (`zkmargin cache clear` removes these; they are "
               "remade when needed)")

    _witness_info()
    typer.echo("numba JIT cache (compiled kernels, remade on first use: minutes):")
    for entry in caches.jit_cache(JIT_MODULES):
        typer.echo(f"  {str(entry.folder):<60} {len(entry.files):5d} files {_mb(entry.size)}")
    typer.echo("native prover and verifier kernels (ahead-of-time modules, remade by "
               "`zkmargin warmup --no-jit`: ~1 min):")
    current = tuple(native.module_name(spec) for spec in (native.PROVER, native.VERIFIER))
    for entry in caches.native_modules():
        for p in entry.files:
            state = "current" if p.name.startswith(current) else "stale (other sources or environment)"
            typer.echo(f"  {str(p):<60} {_mb(p.stat().st_size)}  {state}")
        if not entry.files:
            typer.echo(f"  {str(entry.folder):<60} (empty)")


def _witness_info() -> None:
    """The trader's compiled witness programs (one per circuit shape) and memoised parameter-file
    parts (solvency/witness.py)."""
    import os

    from zkmargin.prover import dev_cache
    from zkmargin.solvency import witness

    if os.environ.get("ZKMARGIN_WITNESS_CACHE", "1") == "0":
        typer.echo("compiled witness programs: disabled (ZKMARGIN_WITNESS_CACHE=0)")
        return
    files = witness.cached_programs()
    typer.echo(f"compiled witness programs: {dev_cache.cache_dir() / 'witness'} (made by `venue setup` or the "
               "first prove of a shape)")
    for path, size in files:
        what = "witness program of a circuit shape" if path.suffix == ".zkwp" else "a parameter file's static witness part"
        typer.echo(f"  {path.name:<44} {_mb(size)}  {what}")
    typer.echo(f"  {'total':<44} {_mb(sum(s for _, s in files))}  (`zkmargin cache clear` removes these)")


@cache_app.command("clear")
def cache_clear(
    kernels: bool = typer.Option(False, "--kernels", help="Also remove the compiled kernels (numba's "
                                 "cache of zkmargin and the native modules): the next run recompiles."),
) -> None:
    """Remove the DEVELOPMENT-ONLY setup files (and, with --kernels, the compiled kernels)."""
    from zkmargin.prover import dev_cache

    n, size = dev_cache.clear()
    typer.echo(f"removed {n} development file(s), {size / 1e6:.1f} MB, from {dev_cache.cache_dir()}")
    if kernels:
        from zkmargin.algebra import caches

        n, size = caches.clear(caches.jit_cache(JIT_MODULES))
        typer.echo(f"removed {n} numba cache file(s), {size / 1e6:.1f} MB")
        n, size = caches.clear(caches.native_modules())
        typer.echo(f"removed {n} native module file(s), {size / 1e6:.1f} MB")


def register(app: typer.Typer) -> None:
    """Add this area's verbs to the root app."""
    app.command("samples")(samples)
    app.add_typer(cache_app, name="cache")
