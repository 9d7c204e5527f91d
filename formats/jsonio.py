"""One strict JSON reader and one atomic writer for every JSON file zkmargin touches.

Files arrive from other people (bundles, parameter files, trust files, keys, attestations,
portfolios, markets, snarkjs keys and proofs), so reading is strict:

* **bounded read** -- at most ``cap`` bytes are ever read, also from things that are not
  regular files (``/dev/zero``, a FIFO: read without blocking, with a deadline of
  :data:`READ_TIMEOUT_S`), so no input can hang the process or fill its memory;
* **bounded nesting** -- the depth is measured before the C decoder runs
  (:data:`MAX_JSON_DEPTH`), so deep input cannot overflow the stack;
* **numbers are numbers** -- ``NaN``, ``Infinity`` and literals that overflow a float
  (``1e400``) are rejected, as are integers of more than :data:`MAX_INT_DIGITS` digits;
* **one value per key** -- duplicate keys are rejected (two readers must never disagree on
  what a file says);
* typed field access (:func:`expect_keys`, :func:`integer`, :func:`string`, ...) whose errors
  name the file and the field, never the value of a field that might be secret.

Writing is atomic (a temporary file in the same folder, fsync, rename), and a file that must
not be lost (a signing key, a secret opening) is never replaced unless the caller says so:
:func:`write_json` with ``overwrite=False`` links the new file into place, which fails if the
name exists. :func:`check_writable` lets a command check its output paths before long work.
"""

from __future__ import annotations

import json
import math
import os
import re
import select
import stat
import time
from pathlib import Path
from typing import Any, Iterable, Sequence, Union

from zkmargin.errors import FormatError, OutputError

PathLike = Union[str, Path]

#: Largest JSON file read (bytes). A verification key with 100k public inputs is ~17 MB.
MAX_JSON_BYTES = 64 << 20
#: Default cap for the small protocol files (keys, attestations, openings, bundles, trust).
SMALL_JSON_BYTES = 16 << 20
MAX_JSON_DEPTH = 64
MAX_INT_DIGITS = 100
READ_TIMEOUT_S = 10.0

#: Names of venues, attesters and accounts: printable, no spaces or control characters, so a
#: name can be shown to an auditor without being able to fake a line of output.
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:+-]{0,63}")


def printable(text: str, limit: int = 64) -> str:
    """``text`` cut to ``limit`` characters with control characters replaced, for messages
    (a name from a file must never start a new line of output)."""
    return "".join(c if c.isprintable() else "?" for c in str(text)[:limit])


class JSONFormatError(FormatError):
    """A JSON document is malformed: syntax, size, nesting, type, range or a field."""


# ---------------------------------------------------------------------------------------------
# reading


def read_capped(path: PathLike, what: str, cap: int = MAX_JSON_BYTES) -> bytes:
    """The bytes of ``path``; at most ``cap`` are accepted, whatever kind of file it is."""
    p = Path(path)
    label = f"{what} {p.name or p}"
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    except IsADirectoryError:
        raise JSONFormatError(f"{label}: is a directory, not a file") from None
    except OSError as e:
        raise JSONFormatError(f"{label}: cannot read ({e.strerror or e})") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise JSONFormatError(f"{label}: is a directory, not a file")
        chunks: list[bytes] = []
        total = 0
        deadline = time.monotonic() + READ_TIMEOUT_S
        regular = stat.S_ISREG(mode)     # a FIFO without a writer reads as empty at once
        while True:
            try:
                chunk = os.read(fd, min(1 << 20, cap + 1 - total))
            except BlockingIOError:          # a pipe whose writer has not written yet: wait, bounded
                left = deadline - time.monotonic()
                if regular or left <= 0 or not select.select([fd], [], [], left)[0]:
                    raise JSONFormatError(f"{label}: no complete input within {READ_TIMEOUT_S:g} s") from None
                continue
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:
                raise JSONFormatError(f"{label}: larger than {cap} bytes")
        return b"".join(chunks)
    except OSError as e:
        raise JSONFormatError(f"{label}: cannot read ({e.strerror or e})") from None
    finally:
        os.close(fd)


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_BRACKETS = re.compile(rb"[\[\]{}]")


def json_depth(text: str | bytes) -> int:
    """Deepest nesting of arrays/objects in a JSON text (brackets inside strings ignored)."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    depth = deepest = 0
    for m in _JSON_BRACKETS.finditer(_JSON_STRING.sub(b"", data)):
        depth += 1 if m.group() in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def _reject_constant(name: str) -> Any:
    raise JSONFormatError(f"contains {name}, which is not a number")


def _finite_float(text: str) -> float:
    """A float literal that a 64-bit float holds exactly as written (to its shortest decimal):
    ``0.1`` passes, ``2.00000000000000001`` (silently 2.0) and ``1e400`` do not. The message
    never shows the number, which may be a secret amount."""
    v = float(text)
    if not math.isfinite(v):
        raise JSONFormatError("a number does not fit a float")
    from decimal import Decimal  # here: only a float in a JSON file needs it

    if Decimal(text) != Decimal(repr(v)):
        raise JSONFormatError("a number has more digits than a float holds exactly")
    return v


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise JSONFormatError(f"an integer has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise JSONFormatError(f"duplicate key {printable(k, 40)!r}")
        out[k] = v
    return out


def loads_strict(text: str | bytes, what: str = "JSON", cap: int = MAX_JSON_BYTES) -> Any:
    """Parse JSON text with the rules of the module docstring."""
    if len(text) > cap:
        raise JSONFormatError(f"{what}: larger than {cap} bytes")
    if json_depth(text) > MAX_JSON_DEPTH:
        raise JSONFormatError(f"{what}: nested too deeply (more than {MAX_JSON_DEPTH} levels)")
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float,
                          parse_int=_bounded_int, object_pairs_hook=_unique_keys)
    except JSONFormatError as e:
        raise JSONFormatError(f"{what}: {e}") from None
    except RecursionError:
        raise JSONFormatError(f"{what}: nested too deeply") from None
    except UnicodeDecodeError:
        raise JSONFormatError(f"{what}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise JSONFormatError(f"{what}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except ValueError as e:
        raise JSONFormatError(f"{what}: not valid JSON ({str(e)[:80]})") from None


def read_json(path: PathLike, what: str, cap: int = MAX_JSON_BYTES) -> Any:
    """Read and parse ``path`` strictly; errors name ``what`` and the file."""
    p = Path(path)
    return loads_strict(read_capped(p, what, cap), f"{what} {p.name or p}", cap)


def read_object(path: PathLike, what: str, cap: int = SMALL_JSON_BYTES) -> dict:
    """:func:`read_json` for a document that must be a JSON object."""
    p = Path(path)
    return expect_object(read_json(p, what, cap), f"{what} {p.name or p}")


# ---------------------------------------------------------------------------------------------
# typed fields


def expect_object(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise JSONFormatError(f"{where}: expected a JSON object, got {_kind(value)}")
    return value


def expect_keys(doc: dict, where: str, required: Iterable[str], optional: Iterable[str] = ()) -> dict:
    """Check that ``doc`` has every ``required`` key and nothing outside required ∪ optional."""
    required = tuple(required)
    allowed = set(required) | set(optional)
    missing = [k for k in required if k not in doc]
    if missing:
        raise JSONFormatError(f"{where}: missing field {missing[0]!r}")
    unknown = sorted(k for k in doc if k not in allowed)
    if unknown:
        raise JSONFormatError(f"{where}: unknown field {printable(unknown[0], 40)!r}")
    return doc


def _kind(v: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


_INT_TEXT = re.compile(r"-?(0|[1-9][0-9]*)")


def integer(value: Any, where: str, lo: int | None = None, hi: int | None = None) -> int:
    """An integer given as a JSON integer or a decimal string in normal form, lo ≤ v < hi."""
    if isinstance(value, bool):
        raise JSONFormatError(f"{where}: expected an integer, got a boolean")
    if isinstance(value, int):
        v = value
    elif isinstance(value, str) and len(value) <= MAX_INT_DIGITS + 1 and _INT_TEXT.fullmatch(value):
        v = int(value)
    else:
        raise JSONFormatError(f"{where}: expected an integer (or a decimal string), got {_kind(value)}")
    if (lo is not None and v < lo) or (hi is not None and v >= hi):
        bounds = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'})"
        raise JSONFormatError(f"{where}: out of range {bounds}")
    return v


def string(value: Any, where: str, *, pattern: re.Pattern | None = None, max_len: int = 4096) -> str:
    if not isinstance(value, str):
        raise JSONFormatError(f"{where}: expected a string, got {_kind(value)}")
    if len(value) > max_len:
        raise JSONFormatError(f"{where}: longer than {max_len} characters")
    if pattern is not None and not pattern.fullmatch(value):
        raise JSONFormatError(f"{where}: not a valid value (expected {pattern.pattern})")
    return value


def name(value: Any, where: str) -> str:
    """A venue / attester / account name (:data:`NAME_RE`)."""
    return string(value, where, pattern=NAME_RE, max_len=64)


def hexstring(value: Any, where: str, nbytes: int) -> bytes:
    s = string(value, where, max_len=2 * nbytes)
    if len(s) != 2 * nbytes or not re.fullmatch(r"[0-9a-fA-F]*", s):
        raise JSONFormatError(f"{where}: expected {nbytes} bytes as hex")
    return bytes.fromhex(s)


def array(value: Any, where: str, *, length: int | None = None, max_len: int | None = None) -> list:
    if not isinstance(value, list):
        raise JSONFormatError(f"{where}: expected an array, got {_kind(value)}")
    if length is not None and len(value) != length:
        raise JSONFormatError(f"{where}: expected {length} entries, got {len(value)}")
    if max_len is not None and len(value) > max_len:
        raise JSONFormatError(f"{where}: more than {max_len} entries")
    return value


def boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise JSONFormatError(f"{where}: expected true or false, got {_kind(value)}")
    return value


def choice(value: Any, where: str, options: Sequence[str]) -> str:
    s = string(value, where, max_len=64)
    if s not in options:
        raise JSONFormatError(f"{where}: must be one of {', '.join(options)}")
    return s


# ---------------------------------------------------------------------------------------------
# writing


def canonical_bytes(obj: Any) -> bytes:
    """Canonical JSON for hashing and signing: sorted keys, no whitespace, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def check_writable(path: PathLike, *, overwrite: bool = True, what: str = "output") -> Path:
    """Raise :class:`OutputError` unless ``path`` can be written: its folder exists and is
    writable, it is not a directory, and (``overwrite=False``) it does not exist yet."""
    p = Path(path)
    if p.is_dir():
        raise OutputError(f"{what} {p}: is a directory (give a file name)")
    if p.exists() and not overwrite:
        raise OutputError(f"{what} {p}: exists; refusing to replace it (use --force)")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{what} {p}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{what} {p}: folder {parent} is not writable")
    return p


def check_writable_dir(path: PathLike, *, what: str = "output folder") -> Path:
    """``path`` is (or can be created as) a writable folder."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputError(f"{what} {p}: exists and is not a folder")
    base = p
    while not base.exists():
        base = base.parent if str(base.parent) != str(base) else Path(".")
    if not os.access(base, os.W_OK | os.X_OK):
        raise OutputError(f"{what} {p}: {base} is not writable")
    return p


def _new_temp_file(parent: Path, name: str) -> tuple[int, str]:
    """A new, empty file ``.<name>.<pid>.<random>.tmp`` in ``parent``, created exclusively
    with mode 0600: (descriptor, path).  What ``tempfile.mkstemp`` gives, without importing
    ``tempfile`` (and the ``shutil`` and ``random`` it pulls in) into every prover's start."""
    for _ in range(100):
        tmp = os.path.join(parent, f".{name}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary file name in {parent}")


def write_bytes(path: PathLike, data: bytes, *, secret: bool = False, overwrite: bool = True) -> None:
    """Write ``data`` atomically. ``secret`` files are created with mode 0600;
    ``overwrite=False`` never replaces an existing file (:class:`OutputError`)."""
    p = check_writable(path, overwrite=overwrite)
    parent = p.parent if str(p.parent) else Path(".")
    fd, tmp = _new_temp_file(parent, p.name)
    try:
        os.fchmod(fd, 0o600 if secret else 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, p)
        else:
            try:
                os.link(tmp, p)           # atomic "create only if absent"
            except FileExistsError:
                raise OutputError(f"{p}: exists; refusing to replace it (use --force)") from None
            except OSError:               # no hard links here: best effort
                if p.exists():
                    raise OutputError(f"{p}: exists; refusing to replace it (use --force)") from None
                os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    try:
        dfd = os.open(parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def write_json(path: PathLike, obj: Any, *, secret: bool = False, overwrite: bool = True) -> None:
    """Write ``obj`` as indented JSON, atomically (:func:`write_bytes`)."""
    text = json.dumps(obj, indent=1, allow_nan=False) + "\n"
    write_bytes(path, text.encode("utf-8"), secret=secret, overwrite=overwrite)


__all__ = ["JSONFormatError", "printable", "MAX_JSON_BYTES", "SMALL_JSON_BYTES", "MAX_JSON_DEPTH", "NAME_RE",
           "read_capped", "loads_strict", "read_json", "read_object", "json_depth", "expect_object",
           "expect_keys", "integer", "string", "name", "hexstring", "array", "boolean", "choice",
           "canonical_bytes", "check_writable", "check_writable_dir", "write_bytes", "write_json"]
