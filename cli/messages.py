"""Error messages in the user's terms, shared by the typer verbs (:mod:`.common`) and the lean
``groth16 prove|verify`` path (:mod:`.entry`); imports nothing heavy."""

from __future__ import annotations

import re
from typing import Optional

_ERRNO = re.compile(r"\[Errno \d+\] ([^:]+): '([^']*)'")


def os_error_message(e: OSError, path: Optional[object] = None) -> str:
    """An OS error in the user's terms: ``PATH: is a directory, not a file`` (no errno)."""
    where = getattr(e, "filename", None) or path
    if isinstance(e, IsADirectoryError):
        what = "is a directory, not a file"
    elif isinstance(e, FileNotFoundError):
        what = "no such file or folder"
    elif isinstance(e, PermissionError):
        what = "permission denied"
    elif isinstance(e, NotADirectoryError):
        what = "a part of the path is a file, not a folder"
    elif isinstance(e, FileExistsError):
        what = "exists already"
    else:
        what = (e.strerror or str(e)).lower()
    return f"{where}: {what}" if where is not None else what


def user_message(e: BaseException) -> str:
    """The one-line message of an expected error, with any raw ``[Errno N] ...`` rewritten."""
    cause = e.__cause__ or e.__context__
    text = str(e)
    if isinstance(cause, OSError) and "[Errno" in text:
        return os_error_message(cause)
    return _ERRNO.sub(lambda m: f"{m.group(2)}: {m.group(1).lower()}", text)
