"""CLI verbs for Groth16 proving and verification (snarkjs-compatible argument order).

    zkmargin groth16 prove   <circuit.zkey> <witness.wtns> <proof.json> <public.json>
    zkmargin groth16 verify  <verification_key.json> <public.json> <proof.json>
    zkmargin groth16 batchverify <verification_key.json> <dir-or-list>
    zkmargin zkey export verificationkey <circuit.zkey> <verification_key.json>
    zkmargin zkey export solidityverifier <circuit.zkey|verification_key.json> <verifier.sol>
    zkmargin zkey export soliditycalldata <public.json> <proof.json>

Heavy imports (numba kernels) happen inside the commands so ``--help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import EXIT_BAD_INPUT, EXIT_INVALID, check, emit_json, finish, os_error_message, user_message, verdict
from .entry import check_kernel_setting, load_public_and_proof, load_vk, load_witness, load_zkey, open_zkey, zkey_still_intact
from .entry import unreadable as unreadable_input
from .groups import groth16_app, zkey_app

export_app = typer.Typer(help="Export keys and verifiers from a .zkey (snarkjs-compatible).",
                         no_args_is_help=True)


def _fail(message: str, code: int = EXIT_INVALID) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


@groth16_app.command("prove")
def prove_cmd(
    zkey: Path = typer.Argument(..., help="Proving key (.zkey, snarkjs format)."),
    witness: Path = typer.Argument(..., help="Witness (.wtns)."),
    proof_json: Path = typer.Argument(..., help="Where to write proof.json."),
    public_json: Path = typer.Argument(..., help="Where to write public.json."),
    check: bool = typer.Option(False, "--check/--no-check",
                               help="Verify the proof before writing it (one pairing check): "
                                    "catches a witness that does not satisfy the circuit."),
    r1cs: Optional[Path] = typer.Option(None, "--r1cs",
                                        help="With --check: name the first failing constraint."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
) -> None:
    """Create a Groth16 proof (same files and argument order as `snarkjs groth16 prove`).

    Exit codes: 0 proof written, 1 the witness does not satisfy the circuit, 2 bad input or usage."""
    from ..formats.snarkjs_json import write_proof, write_public
    from ..prover.groth16 import STAGES, WitnessError, first_unsatisfied_constraint, prove

    check_kernel_setting()
    mapped = open_zkey(zkey, check_points=False)
    pk = mapped.key
    w = load_witness(witness)

    def run(progress_cb):
        try:
            return prove(pk, w, progress=progress_cb, check=check, done_with=mapped.release)
        except WitnessError as e:
            msg = f"error: {e}"
            if r1cs is not None:
                from ..formats.r1cs import read_r1cs

                bad = first_unsatisfied_constraint(read_r1cs(r1cs), w)
                if bad is not None:
                    msg += f"; first unsatisfied constraint: #{bad}"
            _fail(msg, 1)

    if quiet:
        out = run(None)
    else:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        with Progress(TextColumn("[bold]groth16 prove[/bold] {task.description:<10}"),
                      BarColumn(), TimeElapsedColumn(), console=console, transient=True,
                      disable=not console.is_terminal) as bar:
            task = bar.add_task("", total=len(STAGES))

            def cb(stage: str, done: int, total: int) -> None:
                bar.update(task, completed=done, description=stage)

            out = run(cb)
    zkey_still_intact(mapped, zkey)
    write_proof(proof_json, out.proof)
    write_public(public_json, out.public_signals)


@groth16_app.command("verify")
def verify_cmd(
    verification_key: Path = typer.Argument(..., help="verification_key.json"),
    public_json: Path = typer.Argument(..., help="public.json"),
    proof_json: Path = typer.Argument(..., help="proof.json"),
    as_json: bool = typer.Option(False, "--json", help="print the verdict as JSON (schema in docs/CLI.md)"),
) -> None:
    """Verify a Groth16 proof. Exit 0 if valid; otherwise non-zero with a one-line reason.

    Exit codes: 0 valid, 1 invalid proof, 2 unreadable or malformed input."""
    from ..verifier.backend import BackendError, one_shot
    from ..verifier.groth16 import verify

    vk = load_vk(verification_key)
    public, proof = load_public_and_proof(public_json, proof_json)
    try:
        result = verify(vk, public, proof, backend=one_shot())
    except BackendError as e:
        _fail(f"error: {e}", EXIT_BAD_INPUT)
    if as_json:
        doc = verdict("groth16 verify", result.valid, [check("groth16", result.valid, result.reason or "")],
                      public_inputs=len(public))
        emit_json(doc)
        finish(doc)
    if not result.valid:
        _fail(f"INVALID: {result.reason}", EXIT_INVALID)
    typer.echo("OK!")


def _batch_items(source: Path) -> list[tuple[str, Path, Path]]:
    """(label, public.json, proof.json) triples from a directory or a list file.

    * directory: every ``*proof*.json`` below it (one level of subdirectories too), paired
      with the file whose name has ``proof`` replaced by ``public`` in the same directory;
    * list file: one ``<public.json> <proof.json>`` pair per line (paths relative to the
      list file; blank lines and ``#`` comments ignored).
    """
    items = []
    if source.is_dir():
        candidates = sorted(list(source.glob("*proof*.json")) + list(source.glob("*/*proof*.json")))
        for proof in candidates:
            public = proof.with_name(proof.name.replace("proof", "public"))
            if not public.exists():
                _fail(f"error: {proof}: no matching {public.name}", EXIT_BAD_INPUT)
            items.append((str(proof.relative_to(source)), public, proof))
        if not items:
            _fail(f"error: no *proof*.json files in {source}", EXIT_BAD_INPUT)
        return items
    try:
        lines = source.read_text().splitlines()
    except OSError as e:
        unreadable_input(source, e)
    for k, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            _fail(f"error: {source}:{k}: expected '<public.json> <proof.json>'", EXIT_BAD_INPUT)
        public, proof = (source.parent / p for p in parts)
        items.append((parts[1], public, proof))
    return items


@groth16_app.command("batchverify")
def batchverify_cmd(
    verification_key: Path = typer.Argument(..., help="verification_key.json"),
    source: Path = typer.Argument(..., help="Directory of proof/public pairs, or a list file "
                                            "with '<public.json> <proof.json>' per line."),
    as_json: bool = typer.Option(False, "--json", help="print the verdict as JSON (schema in docs/CLI.md)"),
) -> None:
    """Verify many proofs under one key with one multi-pairing; names every bad proof.

    Exit codes: 0 all valid, 1 any invalid or unreadable proof, 2 bad key or list."""
    from ..formats.snarkjs_json import JSONFormatError, read_proof, read_public
    from ..verifier.backend import BackendError
    from ..verifier.batch import batch_verify
    from ..verifier.groth16 import InvalidKeyError

    vk = load_vk(verification_key)
    triples = _batch_items(source)
    items, labels, unreadable = [], [], []
    for label, public, proof in triples:
        try:
            items.append((read_public(public), read_proof(proof)))
            labels.append(label)
        except (JSONFormatError, OSError) as e:
            unreadable.append((label, os_error_message(e) if isinstance(e, OSError) else user_message(e)))
    try:
        result = batch_verify(vk, items)
    except (InvalidKeyError, BackendError) as e:
        _fail(f"error: {e}", EXIT_BAD_INPUT)
    bad = {labels[j]: result.reasons[j] for j in result.bad}
    bad.update(dict(unreadable))
    if as_json:
        checks = [check(label, label not in bad, bad.get(label, "")) for label, _, _ in triples]
        doc = verdict("groth16 batchverify", not bad, checks, proofs=len(triples), invalid=len(bad))
        emit_json(doc)
        finish(doc)
    for label, why in unreadable:
        typer.echo(f"INVALID {label}: {why}", err=True)
    for j in result.bad:
        typer.echo(f"INVALID {labels[j]}: {result.reasons[j]}", err=True)
    if bad:
        _fail(f"{len(bad)} of {len(triples)} proofs invalid", EXIT_INVALID)
    typer.echo(f"OK! {len(triples)} proofs valid")


@export_app.command("verificationkey")
def export_vk_cmd(
    zkey: Path = typer.Argument(..., help="circuit.zkey"),
    verification_key: Path = typer.Argument(..., help="Where to write verification_key.json."),
) -> None:
    """Write the verification_key.json of a .zkey (as `snarkjs zkey export verificationkey`)."""
    from ..formats.snarkjs_json import write_verifying_key
    from ..prover.groth16 import verifying_key_of

    write_verifying_key(verification_key, verifying_key_of(load_zkey(zkey)))


@export_app.command("solidityverifier")
def export_solidity_cmd(
    key: Path = typer.Argument(..., help="circuit.zkey or verification_key.json"),
    verifier_sol: Path = typer.Argument(..., help="Where to write the Solidity contract."),
) -> None:
    """Write a Solidity Groth16 verifier contract for the key (EIP-197 precompiles)."""
    from ..verifier.groth16 import InvalidKeyError, prepare_verifying_key
    from ..verifier.solidity import solidity_verifier

    vk = load_vk(key)
    try:
        prepare_verifying_key(vk)
    except InvalidKeyError as e:
        _fail(f"error: {e}", EXIT_BAD_INPUT)
    verifier_sol.write_text(solidity_verifier(vk))


@export_app.command("soliditycalldata")
def export_calldata_cmd(
    public_json: Path = typer.Argument(..., help="public.json"),
    proof_json: Path = typer.Argument(..., help="proof.json"),
) -> None:
    """Print the arguments of verifyProof(...) for a proof (as `snarkjs zkey export
    soliditycalldata`)."""
    from ..formats.snarkjs_json import JSONFormatError, read_proof, read_public
    from ..verifier.solidity import solidity_calldata

    try:
        typer.echo(solidity_calldata(read_proof(proof_json), read_public(public_json)))
    except (JSONFormatError, OSError) as e:
        _fail(f"error: {os_error_message(e) if isinstance(e, OSError) else user_message(e)}", EXIT_BAD_INPUT)


def register(app: typer.Typer) -> None:
    """Add this area's verbs to the shared groups (see :mod:`zkmargin.cli.groups`)."""
    if not any(g.name == "export" for g in zkey_app.registered_groups):
        zkey_app.add_typer(export_app, name="export")
