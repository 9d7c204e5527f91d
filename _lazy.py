"""Lazy package exports (PEP 562): a package lists ``{module: names}`` and each name loads its
module on first use, so importing one sub-module (say the pure-Python verifier) never loads the
rest of the package (numba, the engine)."""

from __future__ import annotations

import importlib
from typing import Callable


def lazy_exports(package: str, exports: dict[str, tuple[str, ...]],
                 namespace: dict) -> tuple[list[str], Callable, Callable]:
    """``__all__``, ``__getattr__`` and ``__dir__`` for ``package`` (pass ``globals()``)."""
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str):
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(where))

    return list(where), __getattr__, __dir__
