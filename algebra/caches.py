"""Where the compiled kernels are kept on disk, and how much they take.

* **numba's JIT cache**: every ``@njit(cache=True)`` kernel of zkmargin, compiled on first use
  and cached as an index (``*.nbi``) and code (``*.nbc``) files per function, in the
  ``__pycache__`` folder beside its source when that is writable, else in numba's user-wide
  cache (``~/.cache/numba``), or under ``$NUMBA_CACHE_DIR`` when set.  numba keys an entry
  on its own source file only, so after editing a kernel's *callee* in another file, clear
  this cache (``zkmargin cache clear --kernels``).
* **the native prover kernels**: one extension module per kernel-source digest (see
  :mod:`zkmargin.algebra.native`).

Listing imports numba (about a second); nothing here compiles anything.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

#: this package's modules that define cached numba kernels (see ``zkmargin.cli.cmd_local`` for
#: the whole list, with the packages above it).
JIT_MODULES = ("zkmargin.algebra.field", "zkmargin.algebra.fq2", "zkmargin.algebra.curve",
               "zkmargin.algebra.msm", "zkmargin.algebra.fft", "zkmargin.algebra.tower",
               "zkmargin.algebra.pairing", "zkmargin.algebra.prover_kernels",
               "zkmargin.algebra.fixed_base_wide", "zkmargin.algebra.affine_products")


@dataclass(frozen=True)
class CacheFiles:
    """Files of one cache folder that belong to zkmargin."""

    folder: Path
    files: tuple[Path, ...]

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.files if p.exists())


def _module_stems(modules) -> dict[Path, set[str]]:
    """numba cache folder -> source-file stems of the named modules cached there."""
    from numba.core.registry import CPUDispatcher

    out: dict[Path, set[str]] = {}
    for name in modules:
        mod = importlib.import_module(name)
        for value in vars(mod).values():
            if isinstance(value, CPUDispatcher) and getattr(value, "_cache", None) is not None \
                    and hasattr(value._cache, "_cache_path"):
                stem = Path(mod.__file__).stem
                out.setdefault(Path(value._cache._cache_path), set()).add(stem)
                break
    return out


def jit_cache(modules=JIT_MODULES) -> list[CacheFiles]:
    """numba's cache files of the kernels of ``modules`` (module names; by default this package's
    own -- the packages above it that cache kernels pass their full list), per folder."""
    result = []
    for folder, stems in sorted(_module_stems(modules).items()):
        files = tuple(sorted(p for p in folder.glob("*.nb[ic]")
                             if p.name.split(".")[0] in stems)) if folder.is_dir() else ()
        result.append(CacheFiles(folder, files))
    return result


def native_modules() -> list[CacheFiles]:
    """The native module folders and the modules (prover and verifier, and failed-build
    markers) in them."""
    from . import native

    result = []
    for folder in native._candidate_dirs():
        files = tuple(sorted(p for spec in (native.PROVER, native.VERIFIER)
                             for p in folder.glob(f"{spec.prefix}_*"))) if folder.is_dir() else ()
        result.append(CacheFiles(folder, files))
    return result


def remove_files(paths: Iterable[Path]) -> tuple[int, int]:
    """Delete ``paths`` (one already gone is skipped); returns (files removed, bytes freed)."""
    n = size = 0
    for p in paths:
        try:
            s = p.stat().st_size
            p.unlink()
        except FileNotFoundError:
            continue
        n += 1
        size += s
    return n, size


def clear(entries: list[CacheFiles]) -> tuple[int, int]:
    """Delete the listed files; returns (files removed, bytes freed)."""
    return remove_files(p for entry in entries for p in entry.files)


__all__ = ["CacheFiles", "JIT_MODULES", "jit_cache", "native_modules", "clear", "remove_files"]
