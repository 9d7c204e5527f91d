"""The one error hierarchy of zkmargin.

Every error a user can cause with bad input (a malformed file, an out-of-range option, an
insolvent portfolio, a refused overwrite) is a :class:`ZkmarginError`. The command line
catches this one base class and prints its message as a single line (exit code 2, or 1 for
:class:`~zkmargin.circuits.solvency.InsolventError`); anything else reaching the top is a bug
and keeps its traceback.

Messages name the file and the field that is wrong, never a secret value (position sizes,
collateral amounts, salts, private keys).
"""

from __future__ import annotations


class ZkmarginError(ValueError):
    """Base class of every expected, user-facing zkmargin error."""


class FormatError(ZkmarginError):
    """A file is not a well-formed instance of the format it claims to be."""


class OutputError(ZkmarginError):
    """An output path cannot be written (missing folder, a directory, or an existing file that
    must not be overwritten without ``--force``)."""


__all__ = ["ZkmarginError", "FormatError", "OutputError"]
