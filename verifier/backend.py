"""Which engine a verification runs on (importing this module costs nothing: no NumPy).

A backend is one of

* ``native`` -- the ahead-of-time module of :mod:`zkmargin.algebra.verifier_kernels`
  (:data:`zkmargin.algebra.native.VERIFIER`, built by ``zkmargin warmup``): no numba in the
  process, a few milliseconds to load, 2-3 ms per proof;
* ``jit`` -- the same kernels compiled by numba (about a second of numba start-up, and a long
  first compile when numba's cache is cold);
* ``python`` -- no kernels: the pure-Python pairing of :mod:`zkmargin.algebra.pairing_py`
  (about 20 ms per proof).

``auto`` (the default) is ``native`` when that module is already built (and
``$ZKMARGIN_KERNELS`` is not ``jit``), else ``python`` for a single proof and ``jit`` for a
batch.  The verifier never builds the module itself: a one-shot check must not turn into a
minute of compiling.  ``$ZKMARGIN_VERIFIER`` replaces ``auto`` by a fixed choice.

Why the one-shot command line asks for ``python``: importing NumPy alone costs about 0.16 s of
CPU here, the whole pure-Python verification of a proof with a few public inputs about 0.02 s.
Inside a long-lived process (the gateway, ``verify-many``, a batch) NumPy is loaded anyway and
the kernels are an order of magnitude faster.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import TYPE_CHECKING, Optional

from ..errors import ZkmarginError

if TYPE_CHECKING:  # pragma: no cover
    from .kernels import Kernels

BACKENDS = ("auto", "native", "jit", "python")


class BackendError(ZkmarginError, ValueError):
    """An unknown verifier backend, or a requested one that is not available."""


def requested(backend: str = "auto") -> str:
    """``backend`` checked, with ``auto`` replaced by ``$ZKMARGIN_VERIFIER`` when that is set."""
    b = (backend or "auto").strip().lower()
    if b == "auto":
        b = os.environ.get("ZKMARGIN_VERIFIER", "auto").strip().lower() or "auto"
    if b not in BACKENDS:
        raise BackendError(f"verifier backend must be one of {', '.join(BACKENDS)}, got {b!r}")
    return b


def one_shot() -> str:
    """The backend of a one-shot command-line verification: ``$ZKMARGIN_VERIFIER`` if set, else
    ``python`` (no NumPy import: the fastest whole process for one proof)."""
    return os.environ.get("ZKMARGIN_VERIFIER", "").strip().lower() or "python"


_found: list[ModuleType] = []   # the module once found: finding it hashes its sources (ms)


def native_module() -> Optional[ModuleType]:
    """The built native verifier module, or None (never builds; None under ZKMARGIN_KERNELS=jit).
    Once found it is kept for the process; a miss is looked up again next time (the module may
    be built meanwhile)."""
    from ..algebra import native

    if native.mode() == "jit":
        return None
    if _found:
        return _found[0]
    path = native.find(native.VERIFIER)
    if path is None:
        return None
    try:
        mod = native.load_path(path)
    except ImportError:
        return None
    _found.append(mod)
    return mod


def _jit_module() -> ModuleType:
    from ..algebra import verifier_kernels

    return verifier_kernels


def resolve(backend: str = "auto", *, batch: bool = False) -> Optional["Kernels"]:
    """The kernels for ``backend``; None means pure Python.  ``auto``: the native module if it
    is built, else pure Python for one proof (``batch=False``) or the JIT kernels for a batch."""
    b = requested(backend)
    if b == "python":
        return None
    from .kernels import kernels_for

    if b == "jit":
        return kernels_for(_jit_module(), "jit")
    mod = native_module()
    if mod is not None:
        return kernels_for(mod, "native")
    if b == "native":
        raise BackendError("the native verifier kernels are not built (run `zkmargin warmup`)")
    return kernels_for(_jit_module(), "jit") if batch else None


__all__ = ["BACKENDS", "BackendError", "requested", "one_shot", "native_module", "resolve"]
