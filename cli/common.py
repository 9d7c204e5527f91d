"""What every CLI verb shares: exit codes and the one error guard.

Exit codes (documented in ``zkmargin --help`` and docs/CLI.md):

* 0 -- valid / solvent / done;
* 1 -- invalid bundle or proof, insolvent account, below maintenance;
* 2 -- bad input or usage (a malformed file, an out-of-range option, a refused overwrite).

:func:`guard` runs a verb's body and turns every :class:`~zkmargin.errors.ZkmarginError` and
OS error into one line ``error: ...`` on stderr with exit code 2 (1 for an insolvent
account), never a traceback; anything else is a bug, reported as ``error: internal error`` in
one line (``ZKMARGIN_DEBUG=1`` re-raises it with its traceback).
"""

from __future__ import annotations

import os
from typing import Callable, NoReturn, TypeVar

import typer

from zkmargin.formats.jsonio import printable

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_BAD_INPUT = 2

T = TypeVar("T")


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
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
        fail(str(e))
    except OSError as e:
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        fail(f"{e.strerror or e}{where}")
    except Exception as e:       # a bug: still one line (ZKMARGIN_DEBUG=1 shows the traceback)
        if os.environ.get("ZKMARGIN_DEBUG"):
            raise
        fail(f"internal error, please report it ({type(e).__name__}: {printable(str(e), 200)})")
