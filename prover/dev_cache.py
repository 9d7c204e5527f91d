"""The development cache: self-checked setup artifacts kept between runs.

``$ZKMARGIN_CACHE`` (default ``~/.cache/zkmargin``) holds the DEVELOPMENT-ONLY powers of tau
(``dev-power<k>.ptau``) and the development keys made from them (``dev-<r1cs hash>.zkey``).
Each artifact has a *record* beside it, ``<name>.json``: what made it (the function and its
steps), when, with which zkmargin and kernels, its size and SHA-256, and the self-check it
passed before it was published.

Rules (issue 11):

* an artifact is checked (:func:`zkmargin.prover.ptau.validate`,
  :func:`zkmargin.prover.phase2.check_key`) *before* it is cached; a failure raises
  :class:`ArtifactError` naming the step that made it, and nothing is written;
* a cached artifact is checked again when it is loaded: its bytes must be the ones its
  record says passed the current self-check (SHA-256), and a file without such a record
  (made by an older zkmargin, or whose record is gone) gets the whole self-check again;
* a bad cached file is reported with its record and left in place -- never deleted or
  silently rebuilt (``zkmargin cache clear`` removes it);
* files are published atomically (written to a temporary name, then hard-linked into place,
  which fails rather than overwrite a file another process published first).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Callable, Optional

from zkmargin.errors import ZkmarginError

RECORD_FORMAT = "zkmargin/dev-artifact/v1"
#: Raised whenever the self-checks change, so files checked by older rules are re-checked.
VALIDATOR_VERSION = 1


class ArtifactError(ZkmarginError):
    """A setup artifact failed its self-check (the message says which file or step)."""


def cache_dir() -> Path:
    """$ZKMARGIN_CACHE or ~/.cache/zkmargin (created)."""
    d = Path(os.environ.get("ZKMARGIN_CACHE") or Path.home() / ".cache" / "zkmargin")
    d.mkdir(parents=True, exist_ok=True)
    return d


def record_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_record(path: Path) -> Optional[dict]:
    """The record of an artifact, or None when there is none (or it is unreadable)."""
    try:
        doc = json.loads(record_path(path).read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("format") == RECORD_FORMAT else None


def _kernels() -> str:
    from zkmargin.algebra import native

    try:
        return f"{native.mode()}; native module {native.module_name()}"
    except Exception as e:  # a broken environment should not hide the real error
        return f"unknown ({type(e).__name__})"


def make_record(path: Path, made_by: str, steps: list[str], check: str, seconds: float,
                **extra) -> dict:
    from zkmargin import __version__

    return {"format": RECORD_FORMAT, "file": path.name, "made_by": made_by, "steps": steps,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "zkmargin": __version__, "kernels": _kernels(),
            "check": {"validator": VALIDATOR_VERSION, "what": check, "seconds": round(seconds, 2)},
            **extra}


def _write_atomic(path: Path, data: bytes, *, replace: bool) -> bool:
    """Write via a temporary file in the same folder; ``replace=False`` never overwrites
    (returns False when the target already exists)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:                    # no hard links here: rename if still absent
            if path.exists():
                return False
            os.replace(tmp, path)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def publish(path: Path, data: bytes, record: dict) -> bool:
    """Put a checked artifact and its record into the cache.  Returns False (and writes
    nothing) when another process published the same file first."""
    record = dict(record, size=len(data), sha256=hashlib.sha256(data).hexdigest())
    if not _write_atomic(path, data, replace=False):
        return False
    _write_atomic(record_path(path), (json.dumps(record, indent=1) + "\n").encode(), replace=True)
    return True


def describe_record(rec: Optional[dict]) -> str:
    if rec is None:
        return "no record of what made it (an older zkmargin, or the record was removed)"
    return (f"made by {rec.get('made_by')} ({'; '.join(rec.get('steps', []))}) on "
            f"{rec.get('created')} with zkmargin {rec.get('zkmargin')}, kernels {rec.get('kernels')}")


def bad_cached(path: Path, rec: Optional[dict], problem: str) -> ArtifactError:
    return ArtifactError(
        f"the cached {path.name} in {path.parent} fails its self-check: {problem}. It was "
        f"{describe_record(rec)}. The file is left in place for inspection and nothing was "
        "rebuilt; remove it with `zkmargin cache clear` (or delete it) to make a new one")


def load_checked(path: Path, parse: Callable[[bytes], object],
                 check: Callable[[object], "object"], *, made_by_unknown: str) -> tuple[object, dict]:
    """Load a cached artifact: parse it (format and curve checks), then either confirm its
    bytes are the ones its record says passed the current self-check, or run ``check`` (a
    function returning a report with ``ok`` and ``errors``) and record the result.

    Raises :class:`ArtifactError` for a file that does not parse, whose bytes changed since
    they were checked, or that fails the check."""
    rec = read_record(path)
    try:
        data = path.read_bytes()
        obj = parse(data)
    except (OSError, ValueError) as e:
        raise bad_cached(path, rec, f"cannot be read ({e})") from None
    digest = hashlib.sha256(data).hexdigest()
    if rec is not None and rec.get("sha256") not in (None, digest):
        raise bad_cached(path, rec, "its bytes differ from the ones that passed the self-check "
                                    f"(SHA-256 {digest[:16]}..., recorded {str(rec.get('sha256'))[:16]}...)")
    if rec is not None and rec.get("sha256") == digest and \
            rec.get("check", {}).get("validator") == VALIDATOR_VERSION:
        return obj, rec
    t0 = time.perf_counter()
    report = check(obj)
    if not report.ok:
        raise bad_cached(path, rec, "; ".join(report.errors))
    new = dict(rec) if rec else make_record(path, made_by_unknown, ["unknown"], "", 0.0)
    new.update(size=len(data), sha256=digest,
               check={"validator": VALIDATOR_VERSION, "what": "re-checked when loaded",
                      "seconds": round(time.perf_counter() - t0, 2)})
    _write_atomic(record_path(path), (json.dumps(new, indent=1) + "\n").encode(), replace=True)
    return obj, new




def entries() -> list[tuple[Path, Optional[dict]]]:
    """The development artifacts in the cache (dev-*.ptau, dev-*.zkey, leftovers of
    interrupted writes) with their records (None when absent)."""
    d = cache_dir()
    files = [p for p in d.iterdir() if p.is_file() and p.name.startswith(("dev-", ".dev-"))
             and not p.name.endswith(".json")]
    return [(p, read_record(p)) for p in sorted(files)]


def clear() -> tuple[int, int]:
    """Remove every development artifact and its record, and the compiled witness programs of
    ``witness/`` (nothing else in the folder: the native kernels may live in its ``native/``
    subfolder).  Returns (files, bytes)."""
    from zkmargin.algebra.caches import remove_files

    artifacts = [f for p, _ in entries() for f in (p, record_path(p))]
    orphans = list(cache_dir().glob("dev-*.json"))        # records whose artifact is gone
    # the trader's compiled witness programs and their memoised parts (solvency/witness.py)
    witness = [f for f in (cache_dir() / "witness").glob("*")
               if f.is_file() and f.suffix in (".zkwp", ".static", ".tmp")]
    return remove_files([*artifacts, *orphans, *witness])   # a record listed twice counts once


__all__ = ["ArtifactError", "RECORD_FORMAT", "VALIDATOR_VERSION", "cache_dir", "record_path",
           "read_record", "make_record", "publish", "load_checked", "describe_record",
           "bad_cached", "sha256_file", "entries", "clear"]
