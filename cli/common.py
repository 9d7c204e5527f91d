"""What every CLI verb shares: exit codes, the one error guard and the JSON verdict.

Exit codes (documented in ``zkmargin --help`` and docs/CLI.md):

* 0 -- valid / solvent / done;
* 1 -- invalid bundle or proof, insolvent account, below maintenance;
* 2 -- bad input or usage (a malformed file, an out-of-range option, a refused overwrite).

:func:`guard` runs a verb's body and turns every :class:`~zkmargin.errors.ZkmarginError` and
OS error into one line ``error: ...`` on stderr with exit code 2 (1 for an insolvent
account), never a traceback; anything else is a bug, reported as ``error: internal error`` in
one line (``ZKMARGIN_DEBUG=1`` re-raises it with its traceback). Unreadable input is always
reported this way, by every verb: ``error: PATH: is a directory, not a file`` and the like.

:func:`verdict` builds the one JSON shape of a verdict verb's ``--json`` output (docs/CLI.md):
``command``, ``verdict``, ``valid``, ``exit_code`` and ``checks`` (``name``, ``status``,
``reason``), plus the verb's own fields.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Iterable, NoReturn, TypeVar

import typer

from zkmargin.formats.jsonio import printable

from .messages import os_error_message, user_message  # noqa: F401  (re-exported for the verbs)

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_BAD_INPUT = 2

#: the exit-code paragraph of ``--help`` (root and verdict verbs)
EXIT_CODES_HELP = "Exit codes: 0 valid / solvent, 1 invalid / insolvent / below maintenance, 2 bad input or usage."

T = TypeVar("T")



def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``error: message`` on stderr and exit (2 unless told otherwise)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=code)


def guard(fn: Callable[[], T]) -> T:
    """Run ``fn``; expected errors become one-line messages with a meaningful exit code."""
    from zkmargin.circuits.solvency import InsolventError
    from zkmargin.errors import ZkmarginError
    try:
        return fn()
    except typer.Exit:
        raise
    except InsolventError as e:
        fail(str(e), EXIT_INVALID)
    except ZkmarginError as e:
        fail(user_message(e))
    except OSError as e:
        fail(os_error_message(e))
    except Exception as e:       # a bug: still one line (ZKMARGIN_DEBUG=1 shows the traceback)
        if os.environ.get("ZKMARGIN_DEBUG"):
            raise
        fail(f"internal error, please report it ({type(e).__name__}: {printable(str(e), 200)})")


# ---------------------------------------------------------------------------------------------
# --json


def check(name: str, ok: bool, reason: str = "") -> dict:
    """One check of a verdict: ``{"name", "status": "ok" | "fail", "reason"}``."""
    return {"name": name, "status": "ok" if ok else "fail", "reason": "" if ok else reason}


def verdict(command: str, valid: bool, checks: Iterable[dict], *, ok_word: str = "VALID",
            bad_word: str = "INVALID", **extra: Any) -> dict:
    """The ``--json`` document of a verdict verb (schema in docs/CLI.md, "Verdict object")."""
    return {"command": command, "verdict": ok_word if valid else bad_word, "valid": bool(valid),
            "exit_code": EXIT_OK if valid else EXIT_INVALID, "checks": list(checks), **extra}


def emit_json(doc: dict) -> None:
    """Print one JSON document on stdout (complete: never cut to the terminal width)."""
    typer.echo(json.dumps(doc, indent=2, default=str))


def finish(doc: dict) -> NoReturn:
    """End the verb with the verdict's exit code (after its JSON is printed)."""
    raise typer.Exit(code=doc["exit_code"])
