"""CLI verbs for the trusted setup (snarkjs-compatible argument order and files).

    zkmargin powersoftau new <power> <out.ptau>
    zkmargin powersoftau contribute <in.ptau> <out.ptau> [--name NAME]
    zkmargin powersoftau verify <in.ptau>
    zkmargin powersoftau prepare <in.ptau> <out.ptau>        (alias: preparephase2)
    zkmargin groth16 setup <circuit.r1cs> <powers.ptau> <circuit.zkey>
    zkmargin zkey contribute <in.zkey> <out.zkey> [--name NAME]
    zkmargin zkey verify <circuit.r1cs> <powers.ptau> <circuit.zkey>

Entropy for contributions comes from the OS CSPRNG (no prompt).  A ceremony file or key that
nobody has contributed to is labelled DEVELOPMENT-ONLY in the output (docs/PITFALLS.md #11).
Errors are one line on stderr with a non-zero exit: 2 for unusable input, 1 for a failed
verification.  Heavy imports happen inside the commands so ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, Iterator, Optional

import typer

from .common import EXIT_BAD_INPUT, EXIT_INVALID, check, emit_json, finish, os_error_message, user_message, verdict
from .groups import groth16_app, ptau_app, zkey_app


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _warn(message: str) -> None:
    typer.secho(f"WARNING: {message}", err=True, fg=typer.colors.YELLOW)


@contextlib.contextmanager
def _progress(title: str, quiet: bool) -> Iterator[Optional[Callable[[str, int, int], None]]]:
    """The library's progress callback, rendered on stderr (:mod:`zkmargin.cli.progress`): a
    bar with elapsed time and time left on a terminal, else one line per stage."""
    from .progress import reporter

    with reporter(title, quiet=quiet, indent="") as rep:
        yield rep.ticks


def _read(kind: str, path: Path):
    """Load a .ptau / .zkey / .r1cs with a one-line error on failure."""
    from ..formats.binfile import FormatError

    try:
        if kind == "ptau":
            from ..prover.ptau import read_ptau
            return read_ptau(path)
        if kind == "zkey":
            from ..formats.zkey import read_zkey
            return read_zkey(path)
        from ..formats.r1cs import read_r1cs
        return read_r1cs(path)
    except OSError as e:
        _fail(os_error_message(e, path))
    except (FormatError, ValueError) as e:
        _fail(f"cannot read {path}: {user_message(e)}")


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as e:
        _fail(f"cannot write {os_error_message(e, path)}")


# ---- powers of tau ----------------------------------------------------------------------------


@ptau_app.command("new")
def ptau_new(
    power: int = typer.Argument(..., help="log2 of the largest circuit domain (1..28)."),
    out: Path = typer.Argument(..., help="Output .ptau file."),
) -> None:
    """Start a powers-of-tau ceremony (`snarkjs powersoftau new bn128 <power>`)."""
    from ..prover.ptau import DEV_ONLY_NOTE, MAX_POWER, new_accumulator, ptau_to_bytes

    if not 1 <= power <= MAX_POWER:
        _fail(f"power must be in 1..{MAX_POWER}, got {power}")
    _write(out, ptau_to_bytes(new_accumulator(power)))
    typer.echo(f"wrote {out}: power {power}, 0 contributions")
    _warn(DEV_ONLY_NOTE)


@ptau_app.command("contribute")
def ptau_contribute(
    src: Path = typer.Argument(..., help="Input .ptau."),
    out: Path = typer.Argument(..., help="Output .ptau with your contribution."),
    name: Optional[str] = typer.Option(None, "--name", "-n", help="Contributor name (public)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
) -> None:
    """Add a contribution with fresh secrets from the OS CSPRNG."""
    from ..prover.ptau import contribute, ptau_to_bytes

    acc = _read("ptau", src)
    if acc.is_prepared:
        _warn("the input had phase-2 sections; they are dropped: run `powersoftau prepare` again")
    try:
        with _progress("powersoftau contribute", quiet) as cb:
            new = contribute(acc, name, progress=cb)
    except ValueError as e:
        _fail(str(e))
    _write(out, ptau_to_bytes(new))
    c = new.contributions[-1]
    typer.echo(f"wrote {out}: contribution #{len(new.contributions)}"
               + (f" ({c.name})" if c.name else ""))
    typer.echo(f"contribution response hash: {c.response_hash().hex()}")
    typer.echo(f"next challenge hash:        {c.next_challenge.hex()}")


def _report_json(command: str, report, **extra) -> None:
    """The verdict of a ceremony check as JSON: one check per error (or one passing check)."""
    checks = [check(command, False, e) for e in report.errors] or [check(command, True)]
    doc = verdict(command, report.ok, checks, notes=list(report.notes), **extra)
    emit_json(doc)
    finish(doc)


@ptau_app.command("verify")
def ptau_verify(
    src: Path = typer.Argument(..., help=".ptau to verify."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    as_json: bool = typer.Option(False, "--json", help="print the verdict as JSON (schema in docs/CLI.md)"),
) -> None:
    """Verify the contribution chain, the powers and (if present) the Lagrange sections.

    Exit codes: 0 valid, 1 invalid, 2 unreadable input."""
    from ..prover.ptau import verify

    acc = _read("ptau", src)
    with _progress("powersoftau verify", quiet or as_json) as cb:
        report = verify(acc, progress=cb)
    if as_json:
        _report_json("powersoftau verify", report, power=acc.power, contributions=len(acc.contributions))
    for note in report.notes:
        typer.echo(note)
    if not report.ok:
        _fail("INVALID: " + "; ".join(report.errors), EXIT_INVALID)
    typer.echo(f"OK: power {acc.power}, {len(acc.contributions)} contribution(s) verified")


@ptau_app.command("prepare")
def ptau_prepare(
    src: Path = typer.Argument(..., help="Input .ptau."),
    out: Path = typer.Argument(..., help="Output .ptau with the Lagrange sections 12-15."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
) -> None:
    """Prepare phase 2: Lagrange bases for every domain size (`snarkjs powersoftau prepare phase2`)."""
    import time

    from ..prover.ptau import DEV_ONLY_NOTE, prepare_phase2, ptau_to_bytes

    acc = _read("ptau", src)
    t0 = time.perf_counter()
    with _progress("powersoftau prepare", quiet) as cb:
        new = prepare_phase2(acc, progress=cb)
    _write(out, ptau_to_bytes(new))
    typer.echo(f"wrote {out}: power {acc.power}, Lagrange sections in {time.perf_counter() - t0:.1f} s")
    if new.development_only:
        _warn(DEV_ONLY_NOTE)


ptau_app.command("preparephase2", hidden=True)(ptau_prepare)


# ---- Groth16 setup and phase 2 ---------------------------------------------------------------


@groth16_app.command("setup")
def groth16_setup(
    r1cs_path: Path = typer.Argument(..., metavar="CIRCUIT.R1CS", help="The circuit (.r1cs)."),
    ptau_path: Path = typer.Argument(..., metavar="POWERS.PTAU", help="Powers of tau (.ptau)."),
    zkey_path: Path = typer.Argument(..., metavar="CIRCUIT.ZKEY", help="Output proving key."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
) -> None:
    """Create the initial proving key (delta = 1), identical to `snarkjs groth16 setup`."""
    from ..formats.zkey import mpc_params, zkey_to_bytes
    from ..prover.setup import DEV_ONLY_WARNING, SetupError, new_proving_key

    r1cs = _read("r1cs", r1cs_path)
    acc = _read("ptau", ptau_path)
    if acc.development_only:
        _warn("the .ptau has no contribution: it is DEVELOPMENT-ONLY too")
    try:
        with _progress("groth16 setup", quiet) as cb:
            pk = new_proving_key(r1cs, acc, progress=cb)
    except SetupError as e:
        _fail(str(e))
    _write(zkey_path, zkey_to_bytes(pk))
    typer.echo(f"wrote {zkey_path}: {r1cs.n_constraints} constraints, {pk.n_public} public, "
               f"domain 2^{pk.domain_size.bit_length() - 1}")
    typer.echo(f"circuit hash: {mpc_params(pk).cs_hash.hex()}")
    _warn(DEV_ONLY_WARNING)


@zkey_app.command("contribute")
def zkey_contribute(
    src: Path = typer.Argument(..., help="Input .zkey."),
    out: Path = typer.Argument(..., help="Output .zkey with your contribution."),
    name: Optional[str] = typer.Option(None, "--name", "-n", help="Contributor name (public)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
) -> None:
    """Add a phase-2 contribution (delta <- x delta) with a secret from the OS CSPRNG."""
    from ..formats.zkey import zkey_to_bytes
    from ..prover.phase2 import contribute

    pk = _read("zkey", src)
    try:
        with _progress("zkey contribute", quiet) as cb:
            new, digest = contribute(pk, name, progress=cb)
    except ValueError as e:
        _fail(str(e))
    _write(out, zkey_to_bytes(new))
    typer.echo(f"wrote {out}: contribution #{new.n_contributions}" + (f" ({name})" if name else ""))
    typer.echo(f"contribution hash: {digest.hex()}")


@zkey_app.command("verify")
def zkey_verify(
    r1cs_path: Path = typer.Argument(..., metavar="CIRCUIT.R1CS", help="The circuit (.r1cs)."),
    ptau_path: Path = typer.Argument(..., metavar="POWERS.PTAU", help="Powers of tau (.ptau)."),
    zkey_path: Path = typer.Argument(..., metavar="CIRCUIT.ZKEY", help="The key to check."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    as_json: bool = typer.Option(False, "--json", help="print the verdict as JSON (schema in docs/CLI.md)"),
) -> None:
    """Check that a .zkey comes from the .r1cs and .ptau through valid contributions
    (`snarkjs zkey verify`).

    Exit codes: 0 valid, 1 invalid, 2 unreadable input."""
    from ..prover.phase2 import verify
    from ..prover.setup import SetupError

    r1cs = _read("r1cs", r1cs_path)
    acc = _read("ptau", ptau_path)
    pk = _read("zkey", zkey_path)
    try:
        with _progress("zkey verify", quiet or as_json) as cb:
            report = verify(pk, r1cs, acc, progress=cb)
    except SetupError as e:
        _fail(str(e))
    if as_json:
        _report_json("zkey verify", report, contributions=pk.n_contributions,
                     development_only=bool(pk.development_only))
    for note in report.notes:
        typer.echo(note)
    if not report.ok:
        _fail("INVALID: " + "; ".join(report.errors), EXIT_INVALID)
    if pk.development_only:
        typer.echo("OK (structure) -- but DEVELOPMENT-ONLY: no phase-2 contribution yet")
    else:
        typer.echo(f"OK: key matches the circuit and ceremony; {pk.n_contributions} contribution(s) verified")


def register(app: typer.Typer) -> None:
    """The verbs above are attached to the shared groups when this module is imported."""
