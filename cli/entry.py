"""The ``zkmargin`` console entry point: a lean path for the one-shot Groth16 verbs.

``zkmargin groth16 prove ZKEY WTNS PROOF PUBLIC [--check|--no-check] [--r1cs R1CS] [-q|--quiet]``
and ``zkmargin groth16 verify VK PUBLIC PROOF`` are recognised from plain argv and run without
importing typer, rich or the rest of the CLI (their import is most of a one-shot verb's fixed
cost). Everything else -- any other verb, ``--help``, an option this parser does not know, a
wrong argument count -- goes to the typer application of :mod:`zkmargin.cli.main` unchanged.

The lean verbs print the same lines on the same streams and return the same exit codes as the
typer verbs in :mod:`zkmargin.cli.cmd_groth16` (tests/test_cli_entry.py runs both): 0 valid /
written, 1 invalid proof (or, with ``--check``, a witness that does not satisfy the circuit), 2
unreadable input. On a terminal the typer prover shows a transient progress bar; the lean one
shows a transient stage line on stderr, so what remains on screen is the same.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional, Sequence


class _Exit(SystemExit):
    """Leave the lean path with an exit code (what typer.Exit is on the typer path)."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def _fail(message: str, code: int = 1) -> None:
    print(message, file=sys.stderr)
    raise _Exit(code)


def unreadable(path: Path, e: Exception) -> None:
    """Exit 2 with the one ``error:`` line every verb gives for unreadable input."""
    from .messages import os_error_message, user_message

    if isinstance(e, OSError):
        _fail(f"error: {os_error_message(e, path)}", 2)
    why = user_message(e)
    _fail(f"error: {why}" if path.name in why else f"error: cannot read {path}: {why}", 2)


def open_zkey(path: Path, *, check_points: bool = True):
    """Map a .zkey (a :class:`~zkmargin.formats.zkey.MappedZkey`; exit 2 with one line if it
    cannot be read). The prover skips the per-point curve checks (as snarkjs does): a bad point
    can only spoil its own proof, which ``--check`` catches."""
    from ..formats.binfile import FormatError
    from ..formats.zkey import map_zkey

    try:
        return map_zkey(path, check_points=check_points)
    except (FormatError, ValueError, OSError) as e:
        unreadable(path, e)


def check_kernel_setting() -> None:
    """Exit 2 with one line if ``$ZKMARGIN_KERNELS`` names no kernel choice (checked before
    the key is read, so a mistyped setting is not reported as an unreadable key)."""
    from ..algebra.native import KernelModeError, mode

    try:
        mode()
    except KernelModeError as e:
        _fail(f"error: {e}", 2)


def load_zkey(path: Path, *, check_points: bool = True):
    """The proving key of a .zkey (as :func:`open_zkey`)."""
    return open_zkey(path, check_points=check_points).key


def zkey_still_intact(mapped, path: Path) -> None:
    """Exit 2 with one line if the mapped .zkey was rewritten in place while it was used (a
    proof made from it would mix old and new bytes; nothing is written)."""
    from ..formats.zkey import ZkeyChangedError

    try:
        mapped.check_unchanged()
    except ZkeyChangedError as e:
        unreadable(path, e)


def load_vk(path: Path):
    """A verifying key from a verification_key.json (or, as a convenience, from a .zkey)."""
    from ..formats.snarkjs_json import JSONFormatError, read_verifying_key

    if path.suffix == ".zkey":
        from ..prover.groth16 import verifying_key_of

        return verifying_key_of(load_zkey(path))
    try:
        return read_verifying_key(path)
    except (JSONFormatError, OSError) as e:
        unreadable(path, e)


def load_witness(path: Path):
    """A .wtns as limbs (exit 2 with one line if it cannot be read)."""
    from ..formats.binfile import FormatError
    from ..formats.wtns import read_wtns_limbs

    try:
        return read_wtns_limbs(path)
    except (FormatError, ValueError, OSError) as e:
        unreadable(path, e)


def load_public_and_proof(public_json: Path, proof_json: Path):
    """public.json and proof.json (exit 2 with one line naming the file that cannot be read)."""
    from ..formats.snarkjs_json import JSONFormatError, read_proof, read_public

    try:
        public = read_public(public_json)
    except (JSONFormatError, OSError) as e:
        unreadable(public_json, e)
    try:
        proof = read_proof(proof_json)
    except (JSONFormatError, OSError) as e:
        unreadable(proof_json, e)
    return public, proof


def groth16_prove(zkey: Path, witness: Path, proof_json: Path, public_json: Path, *, check: bool = False,
                  r1cs: Optional[Path] = None, quiet: bool = False) -> int:
    """``zkmargin groth16 prove`` without typer (same output and exit codes)."""
    from ..formats.snarkjs_json import write_proof, write_public
    from ..prover.groth16 import WitnessError, first_unsatisfied_constraint, prove

    check_kernel_setting()
    mapped = open_zkey(zkey, check_points=False)
    pk = mapped.key
    w = load_witness(witness)

    tty = not quiet and sys.stderr.isatty()

    def cb(stage: str, done: int, total: int) -> None:
        sys.stderr.write(f"\r\x1b[Kgroth16 prove {stage:<10} {done}/{total}")
        sys.stderr.flush()

    try:
        out = prove(pk, w, progress=cb if tty else None, check=check, done_with=mapped.release)
    except WitnessError as e:
        msg = f"error: {e}"
        if r1cs is not None:
            from ..formats.r1cs import read_r1cs

            bad = first_unsatisfied_constraint(read_r1cs(r1cs), w)
            if bad is not None:
                msg += f"; first unsatisfied constraint: #{bad}"
        if tty:
            sys.stderr.write("\r\x1b[K")
        _fail(msg, 1)
    finally:
        if tty:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
    zkey_still_intact(mapped, zkey)
    write_proof(proof_json, out.proof)
    write_public(public_json, out.public_signals)
    return 0


def groth16_verify(verification_key: Path, public_json: Path, proof_json: Path) -> int:
    """``zkmargin groth16 verify`` without typer (same output and exit codes)."""
    from ..verifier.backend import BackendError, one_shot
    from ..verifier.groth16 import verify

    vk = load_vk(verification_key)
    public, proof = load_public_and_proof(public_json, proof_json)
    try:
        result = verify(vk, public, proof, backend=one_shot())
    except BackendError as e:
        _fail(f"error: {e}", 2)
    if not result.valid:
        _fail(f"INVALID: {result.reason}", 1)
    print("OK!")
    return 0


def _plain(args: Sequence[str]) -> bool:
    """Positional arguments the lean parser takes as paths (typer would too)."""
    return all(a and not a.startswith("-") for a in args)


def lean_command(argv: Sequence[str]):
    """A zero-argument callable for a recognised lean invocation, else None (typer's turn)."""
    argv = list(argv)
    if len(argv) < 2 or argv[0] != "groth16":
        return None
    verb, rest = argv[1], argv[2:]
    if verb == "verify":
        if len(rest) == 3 and _plain(rest):
            return lambda: groth16_verify(*map(Path, rest))
        return None
    if verb != "prove":
        return None
    pos: list[str] = []
    opts = {"check": False, "r1cs": None, "quiet": False}
    i = 0
    while i < len(rest):
        a = rest[i]
        if a == "--check":
            opts["check"] = True
        elif a == "--no-check":
            opts["check"] = False
        elif a in ("-q", "--quiet"):
            opts["quiet"] = True
        elif a == "--r1cs" and i + 1 < len(rest) and _plain([rest[i + 1]]):
            opts["r1cs"] = Path(rest[i + 1])
            i += 1
        elif a.startswith("--r1cs=") and len(a) > len("--r1cs="):
            opts["r1cs"] = Path(a[len("--r1cs="):])
        elif a == "--":
            if not all(rest[i + 1:]):
                return None
            pos += rest[i + 1:]
            break
        elif _plain([a]):
            pos.append(a)
        else:
            return None
        i += 1
    if len(pos) != 4:
        return None
    return lambda: groth16_prove(*map(Path, pos), **opts)


def main(argv: Optional[Sequence[str]] = None) -> None:  # pragma: no cover - console entry point
    args = sys.argv[1:] if argv is None else list(argv)
    cmd = lean_command(args)
    if cmd is None:
        from .main import app

        app(args=args, prog_name="zkmargin")
        return
    from ..errors import ZkmarginError

    try:
        code = cmd()
    except _Exit as e:
        code = e.code
    except ZkmarginError as e:   # a user's setting or input: one line, as on the typer path
        from .messages import user_message

        print(f"error: {user_message(e)}", file=sys.stderr)
        code = 2
    sys.stdout.flush()
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
