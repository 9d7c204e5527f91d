"""Ahead-of-time compiled kernels: build, find and load them without importing numba.

Two extension modules are compiled with ``numba.pycc``, each described by a
:class:`ModuleSpec`:

* :data:`PROVER` -- the kernels of :mod:`zkmargin.algebra.prover_kernels`, in
  ``zkm_native_<digest>`` (built by ``make install`` / ``zkmargin warmup``, or on the first
  prove);
* :data:`VERIFIER` -- the pairing and subgroup kernels of
  :mod:`zkmargin.algebra.verifier_kernels`, in ``zkm_verify_<digest>`` (built by
  ``zkmargin warmup``; the verifier never builds it, it falls back to pure Python or JIT).

The digest covers the module's kernel sources, the Python version and the NumPy version, so
an edited kernel never runs stale code: a new digest simply has no module yet.  Hashing the
sources costs every process a few milliseconds (OpenSSL's import included), so the digest is
remembered in a small file beside the modules (:func:`digest`), keyed by the exact environment
text and by each source's device, inode, size, mtime and ctime -- any write to a source
changes its ctime, which no tool can set back -- and written only once every source is at
least :data:`SETTLED_S` seconds old, so an edit within the file system's timestamp
granularity cannot go unnoticed.  Loading a
module costs a few milliseconds, against about a second for numba's own start-up in a fresh
process.  Every function below takes the spec as an optional first argument (the prover's by
default).

Where the module lives: ``$ZKMARGIN_NATIVE_DIR`` if set, else ``algebra/_native/`` inside the
package when that is writable, else ``~/.cache/zkmargin/native``.  Whatever is in that folder
runs as part of zkmargin, so it must be as trusted as the package itself (like numba's and
Python's own caches).

Which kernels a prover process uses (``$ZKMARGIN_KERNELS``; ``jit`` also keeps the verifier off
its native module):

* ``auto`` (default): the native module, building it on first use (about 30 s on 2 cores,
  reported on stderr); if the build fails (no C compiler), the JIT kernels.
* ``native``: the native module or an error.
* ``jit``: never the native module.

The build is the only place that imports numba here.  It compiles into a temporary folder
and renames the finished file into place, so an interrupted build leaves nothing behind.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import sysconfig
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable, Iterator, Optional

import numpy as np

from zkmargin.errors import ZkmarginError

_HERE = Path(__file__).resolve().parent

#: Sources whose text decides the prover module's code: the kernels, everything they call or
#: take constants from, and this build script (tests/test_kernel_set.py checks the list is
#: complete).
KERNEL_SOURCES = ("prover_kernels.py", "msm.py", "msm_plan.py", "curve.py", "field.py", "fq2.py",
                  "mont.py", "wide.py", "points.py", "constants.py", "arrays.py", "encoding.py", "glv.py", "native.py")

#: The same for the verifier module.
VERIFIER_SOURCES = ("verifier_kernels.py", "pairing.py", "pairing_py.py", "tower.py", "curve.py", "msm.py", "msm_plan.py",
                    "field.py", "fq2.py", "mont.py", "wide.py", "points.py", "constants.py", "arrays.py",
                    "encoding.py", "glv.py", "native.py")


@dataclass(frozen=True)
class ModuleSpec:
    """One ahead-of-time module: file-name ``prefix``, the ``kernels`` module of this package
    whose ``EXPORTS`` it compiles, the ``sources`` its digest covers, and a ``title`` for
    messages."""

    prefix: str
    kernels: str
    sources: tuple[str, ...]
    title: str


PROVER = ModuleSpec("zkm_native", "prover_kernels", KERNEL_SOURCES, "native prover kernels")
VERIFIER = ModuleSpec("zkm_verify", "verifier_kernels", VERIFIER_SOURCES, "native verifier kernels")

MODES = ("auto", "native", "jit")


class NativeBuildError(ZkmarginError, RuntimeError):
    """The native module could not be built (for example: no C compiler)."""


class KernelModeError(ZkmarginError, ValueError):
    """``$ZKMARGIN_KERNELS`` names no known kernel choice (a user's setting: one error line)."""


def mode() -> str:
    """The kernel choice from ``$ZKMARGIN_KERNELS`` (``auto``, ``native`` or ``jit``)."""
    m = os.environ.get("ZKMARGIN_KERNELS", "auto").strip().lower() or "auto"
    if m not in MODES:
        raise KernelModeError(f"ZKMARGIN_KERNELS must be one of {', '.join(MODES)}, got {m!r}")
    return m


def _dist_info(package: str) -> str:
    """The installed ``<package>-<version>.dist-info`` name, found without importing the
    package (importlib.metadata would cost ~30 ms of every prover's start)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        return f"{package}: absent"
    site = Path(spec.origin).parent.parent
    return ",".join(sorted(p.name for p in site.glob(f"{package}-*.dist-info"))) or spec.origin


def _cpu_identity() -> str:
    """Model and feature flags of this CPU: the module is compiled for the host CPU
    (``target_cpu = "host"``), so it must never load on a CPU that lacks its instructions."""
    try:
        with open("/proc/cpuinfo") as f:
            first = f.read().split("\n\n", 1)[0]
        keep = [ln for ln in first.splitlines() if ln.split(":")[0].strip() in ("model name", "flags")]
        if keep:
            return "\n".join(keep)
    except OSError:
        pass
    import platform

    return f"{platform.machine()} {platform.processor()}"


def _environment_text() -> str:
    """What :func:`environment_tag` hashes: interpreter, NumPy, numba/llvmlite and the CPU."""
    return "\n".join([sys.version, sysconfig.get_config_var("EXT_SUFFIX") or "", np.__version__,
                      _dist_info("numba"), _dist_info("llvmlite"), _cpu_identity()])


def _sha256_hex(data: bytes) -> str:
    import hashlib  # here, not at the top: a process with a remembered digest skips it

    return hashlib.sha256(data).hexdigest()


def environment_tag() -> str:
    """8 hex digits for the interpreter, NumPy, numba/llvmlite and the CPU."""
    return _sha256_hex(_environment_text().encode())[:8]


def _source_hash(spec: ModuleSpec) -> str:
    """12 hex digits of SHA-256 over the spec's source files (names and bytes)."""
    data = b"".join(name.encode() + b"\0" + (_HERE / name).read_bytes() + b"\0" for name in spec.sources)
    return _sha256_hex(data)[:12]


#: Sources younger than this (seconds, by mtime or ctime) keep their digest from being remembered.
SETTLED_S = 2.0


def _sources_identity(spec: ModuleSpec) -> tuple[str, int]:
    """(one line per source: name, device, inode, size, mtime, ctime in ns; the newest of
    those times)."""
    lines, newest = [], 0
    for name in spec.sources:
        st = os.stat(_HERE / name)
        lines.append(f"{name} {st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns}")
        newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
    return "\n".join(lines), newest


def _digest_cache_name(spec: ModuleSpec) -> str:
    return f"{spec.prefix}.{sys.implementation.cache_tag}.digest"


def _read_remembered(spec: ModuleSpec, key: str) -> Optional[str]:
    """The digest remembered for exactly ``key`` in a candidate folder, or None."""
    for d in _candidate_dirs():
        try:
            text = (d / _digest_cache_name(spec)).read_text()
        except (OSError, UnicodeDecodeError):
            continue
        stored, sep, value = text.rpartition("\0")
        if sep and stored == key and value:
            return value
    return None


def _remember(spec: ModuleSpec, key: str, value: str) -> None:
    """Store ``value`` for ``key`` in the build folder (replacing the file by rename); silently
    nothing where no folder is writable."""
    try:
        target = build_dir() / _digest_cache_name(spec)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        tmp.write_text(key + "\0" + value)
        os.replace(tmp, target)
    except (OSError, NativeBuildError):
        pass


def digest(spec: ModuleSpec = PROVER) -> str:
    """``<environment tag>_<source digest>``: names the module for these sources here.
    Remembered across processes as the module docstring describes (the key is compared
    exactly; anything unreadable or different means hashing again)."""
    identity, newest = _sources_identity(spec)
    env = _environment_text()
    key = "\0".join(["zkmargin digest 1", spec.prefix, str(_HERE), env, identity])
    value = _read_remembered(spec, key)
    if value is None:
        value = f"{_sha256_hex(env.encode())[:8]}_{_source_hash(spec)}"
        if time.time_ns() - newest >= SETTLED_S * 1e9:
            _remember(spec, key, value)
    return value


def module_name(spec: ModuleSpec = PROVER) -> str:
    return f"{spec.prefix}_{digest(spec)}"


def _candidate_dirs() -> list[Path]:
    env = os.environ.get("ZKMARGIN_NATIVE_DIR")
    if env:
        return [Path(env)]
    return [_HERE / "_native", Path.home() / ".cache" / "zkmargin" / "native"]


def _writable(d: Path) -> bool:
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(d, os.W_OK)


def build_dir() -> Path:
    """The first writable candidate folder (where a build goes)."""
    for d in _candidate_dirs():
        if _writable(d):
            return d
    raise NativeBuildError("no writable folder for the native kernels; set ZKMARGIN_NATIVE_DIR")


def module_path(directory: Path, name: Optional[str] = None) -> Path:
    """Where the prover module for the current sources (or the given module name) lives in a
    folder."""
    return directory / ((name or module_name()) + (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))


def _failure_marker(directory: Path, name: Optional[str] = None) -> Path:
    return directory / ((name or module_name()) + ".failed")


def failed_before(spec: ModuleSpec = PROVER) -> Optional[str]:
    """The recorded error of an earlier failed build for the current sources, if any (so
    that ``auto`` mode does not retry a doomed build in every process)."""
    name = module_name(spec)
    for d in _candidate_dirs():
        marker = _failure_marker(d, name)
        if marker.is_file():
            return marker.read_text(errors="replace").strip() or "unknown error"
    return None


def find(spec: ModuleSpec = PROVER) -> Optional[Path]:
    """Path of an already built module for the current sources, or None."""
    name = module_name(spec)
    for d in _candidate_dirs():
        p = module_path(d, name)
        if p.is_file():
            return p
    return None


_loaded: dict[Path, ModuleType] = {}
#: Serialises loading and building within a process (the build also patches a numba global).
_lock = threading.RLock()


def load_path(path: Path) -> ModuleType:
    """Import the extension module at ``path`` (once per process)."""
    with _lock:
        return _load_path_locked(path)


def _load_path_locked(path: Path) -> ModuleType:
    if path not in _loaded:
        name = path.name.split(".")[0]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _loaded[path] = mod
    return _loaded[path]


@contextmanager
def _wrappers_release_the_gil() -> Iterator[None]:
    """pycc builds its Python wrappers with default compiler flags, which hold the GIL during
    the call.  During our build only, hand it flags with ``release_gil`` set, so that kernel
    calls from several Python threads run in parallel."""
    import numba.pycc.compiler as pycc_compiler
    from numba.core.compiler import Flags

    class _GilFreeFlags(Flags):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.release_gil = True

    saved = pycc_compiler.Flags
    pycc_compiler.Flags = _GilFreeFlags
    try:
        yield
    finally:
        pycc_compiler.Flags = saved


@contextmanager
def _reporting_stages(progress: Optional[Callable[[str, int, int], None]], exports: list[str],
                      cc) -> Iterator[None]:
    """Report the stages of ``cc.compile()`` to ``progress(what, done, total)``: numba
    compiles the exported kernels one by one (with everything they call), then LLVM emits
    the machine code, the C helpers compile, and the module links.  Hooks pycc's module-level
    ``compile_extra`` and two methods of this one ``CC`` object, during the build only."""
    if progress is None:
        yield
        return
    import numba.pycc.compiler as pycc_compiler

    # weights: roughly seconds on 2 cores (measured: a kernel 0.1-2 s, more with a cold numba
    # cache; machine code 12 s; C helpers 10 s; linking 0.2 s), so the ETA means something
    kernel_w, stage_w = 2, {"machine code (LLVM)": 12, "C helpers": 10, "linking": 1}
    total = kernel_w * len(exports) + sum(stage_w.values())
    done = [0]
    count = [0]

    def tick(what: str, weight: int) -> None:
        progress(what, done[0], total)
        done[0] += weight

    real_compile_extra = pycc_compiler.compile_extra

    def compile_extra(*args, **kwargs):
        if count[0] < len(exports):
            tick(f"kernel {exports[count[0]]}", kernel_w)
        count[0] += 1
        result = real_compile_extra(*args, **kwargs)
        if count[0] == len(exports):
            tick("machine code (LLVM)", stage_w["machine code (LLVM)"])
        return result

    real_mixins, real_link = cc._compile_mixins, cc._toolchain.link_shared

    def mixins(*args, **kwargs):
        tick("C helpers", stage_w["C helpers"])
        return real_mixins(*args, **kwargs)

    def link(*args, **kwargs):
        tick("linking", stage_w["linking"])
        return real_link(*args, **kwargs)

    pycc_compiler.compile_extra = compile_extra
    cc._compile_mixins, cc._toolchain.link_shared = mixins, link
    try:
        yield
    finally:
        pycc_compiler.compile_extra = real_compile_extra
    progress("done", total, total)


def build(spec: ModuleSpec = PROVER, *, log: Optional[Callable[[str], None]] = None,
          progress: Optional[Callable[[str, int, int], None]] = None) -> Path:
    """Compile the native module for the current sources; returns its path.

    ``log`` receives one-line messages; ``progress(what, done, total)`` the stages (one per
    exported kernel, then machine code, C helpers, linking).  Raises :class:`NativeBuildError`."""
    with _lock:
        return _build_locked(spec, log, progress)


def _build_locked(spec: ModuleSpec, log: Optional[Callable[[str], None]],
                  progress: Optional[Callable[[str, int, int], None]] = None) -> Path:
    say = log or (lambda _msg: None)
    target = build_dir()
    name = module_name(spec)
    final = module_path(target, name)
    t0 = time.perf_counter()
    say(f"compiling {spec.title} into {final.name} (one-off: about a minute on 2 cores)")
    try:
        import importlib

        from numba.pycc import CC

        kernels = importlib.import_module(f"{__package__}.{spec.kernels}")
    except ImportError as e:  # pragma: no cover - numba is a hard dependency
        raise NativeBuildError(f"numba.pycc is unavailable: {e}") from e
    import tempfile

    with tempfile.TemporaryDirectory(dir=target, prefix=".build-") as tmp:
        cc = CC(name)
        cc.output_dir = tmp
        cc.target_cpu = "host"   # built on the machine that runs it
        cc.verbose = False
        for kernel, signature in kernels.EXPORTS.items():
            cc.export(kernel, signature)(getattr(kernels, kernel))
        try:
            with _wrappers_release_the_gil(), _reporting_stages(progress, list(kernels.EXPORTS), cc):
                cc.compile()
        except Exception as e:  # setuptools / compiler failures come in many types
            msg = f"building the {spec.title} failed: {type(e).__name__}: {e}"
            _failure_marker(target, name).write_text(msg + "\n")
            raise NativeBuildError(msg) from e
        built = [p for p in Path(tmp).iterdir() if p.name.startswith(name)]
        if len(built) != 1:
            msg = f"building the {spec.title} produced no module"
            _failure_marker(target, name).write_text(msg + "\n")
            raise NativeBuildError(msg)
        os.replace(built[0], final)
    _failure_marker(target, name).unlink(missing_ok=True)
    # older builds for this environment (other environments sharing the folder keep theirs)
    for old in target.glob(f"{spec.prefix}_{environment_tag()}_*"):
        if old != final and old.is_file():
            try:
                old.unlink()
            except OSError:
                pass
    say(f"{spec.title} ready in {time.perf_counter() - t0:.1f} s")
    return final


def _stage_lines(log: Callable[[str], None]) -> Callable[[str, int, int], None]:
    """A progress callback that logs a stage line at most every 2 s (for builds started on
    first use, where no CLI renders a bar)."""
    t0 = time.perf_counter()
    last = [None, -10.0]

    def progress(what: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if what == last[0] or (now - last[1] < 2.0 and done < total):
            return
        last[:] = [what, now]
        log(f"native kernels: {what} ({100 * done // max(total, 1)}%, {now - t0:.0f} s)")

    return progress


def _stderr(msg: str) -> None:
    print(f"[zkmargin] {msg}", file=sys.stderr, flush=True)


def get(spec: ModuleSpec = PROVER, *, build_if_missing: Optional[bool] = None,
        log: Optional[Callable[[str], None]] = _stderr) -> Optional[ModuleType]:
    """The native module per :func:`mode`, or None when the JIT kernels should be used.

    ``build_if_missing`` defaults to True, except in ``auto`` mode after a failed build."""
    with _lock:
        return _get_locked(spec, build_if_missing, log)


def _get_locked(spec: ModuleSpec, build_if_missing: Optional[bool],
                log: Optional[Callable[[str], None]]) -> Optional[ModuleType]:
    m = mode()
    if m == "jit":
        return None
    path = find(spec)
    if path is None and build_if_missing is None:
        # auto mode does not retry a build that failed before (`zkmargin warmup` does)
        build_if_missing = m == "native" or failed_before(spec) is None
    if path is None and build_if_missing:
        try:
            path = build(spec, log=log, progress=None if log is None else _stage_lines(log))
        except NativeBuildError as e:
            if m == "native":
                raise
            if log is not None:
                log(f"{e}; using the JIT kernels")
            return None
    if path is None:
        if m == "native":
            raise NativeBuildError(f"the {spec.title} are not built (run `zkmargin warmup`)")
        return None
    try:
        return load_path(path)
    except ImportError as e:
        if m == "native":
            raise NativeBuildError(f"cannot load {path.name}: {e}") from e
        if log is not None:
            log(f"cannot load {path.name} ({e}); using the JIT kernels")
        return None


__all__ = ["KERNEL_SOURCES", "VERIFIER_SOURCES", "MODES", "ModuleSpec", "PROVER", "VERIFIER",
           "KernelModeError", "NativeBuildError", "build", "digest", "find", "get", "load_path", "mode", "module_name"]
