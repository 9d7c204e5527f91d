"""The trader's witness, fast: a compiled witness program per circuit shape.

Building the solvency circuit in Python (:func:`~zkmargin.circuits.margin_circuits.build_solvency_circuit`)
costs seconds for the documented 64-slot shape, most of it the Poseidon digest of the
parameter vector. The circuit's structure depends on the shape only (in ``constant`` parameter
mode also on the parameters), so it is compiled once into a
:class:`~zkmargin.circuits.witness_program.WitnessProgram` and kept in memory and on disk
(``$ZKMARGIN_CACHE/witness/``); each witness then evaluates the program. The steps that depend
only on the parameter file (its digest section above all) are memoised per parameter file, in
memory and on disk, so a second portfolio under the same file replays only its own steps.

Nothing here is trusted blindly: :func:`~zkmargin.solvency.prove.prove_solvency` verifies the
proof under the key's own verifying key, and on any failure rebuilds the circuit the reference
way (which also names a failing constraint). A program file is bound to the source of the
circuit modules it was compiled from (a change makes it stale) and a stale, unreadable or
mismatching file is ignored and replaced.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from zkmargin.algebra.constants import R
from zkmargin.circuits.margin_circuits import Account, CircuitParams, Context, Shape, build_solvency_circuit, public_input_names
from zkmargin.circuits.witness_program import (
    NotSerialisable,
    WitnessProgram,
    compile_program,
    program_from_bytes,
    source_fingerprint,
)

#: the circuit modules whose source the program depends on (its key includes their hash)
CIRCUIT_MODULES = ("zkmargin.circuits.builder", "zkmargin.circuits.gadgets", "zkmargin.circuits.margin_circuits",
                   "zkmargin.circuits.poseidon", "zkmargin.circuits.poseidon_gadget",
                   "zkmargin.circuits.poseidon_constants", "zkmargin.circuits.witness_program")

_MEMORY: dict[str, WitnessProgram] = {}
_LOCK = threading.Lock()


def is_static_input(name: str) -> bool:
    """Inputs the parameter file fixes (the digest section depends on nothing else)."""
    return name in ("model", "venue", "epoch", "params_digest", "params_digest/params_meta") or name.startswith("param_")


def solvency_inputs(shape: Shape, params: CircuitParams, accounts: Sequence[Account], ctx: Context) -> dict[str, int]:
    """The input assignment :func:`build_solvency_circuit` declares, by name, without building
    (a test compares it with the built circuit's inputs)."""
    n, c = shape.instruments, shape.assets
    out = {"model": ctx.model, "buffer_bps": ctx.buffer_bps, "venue": ctx.venue, "epoch": ctx.epoch,
           "nonce": ctx.nonce}
    if not shape.params_public:
        out["params_digest"] = params.digest()
    for k, a in enumerate(accounts):
        out[f"commitment_{k}"] = a.commitment()
    for k, a in enumerate(accounts):
        out[f"kind_{k}"] = a.kind
    if not shape.params_constant:
        for j, v in enumerate(params.vector()):
            out[f"param_{j}"] = v % R
    for k, a in enumerate(accounts):
        for i in range(n):
            out[f"account{k}/Q{i}"] = a.Q[i] % R
        out[f"account{k}/U"] = a.U % R
        for j in range(c):
            out[f"account{k}/A{j}"] = a.A[j] % R
        out[f"account{k}/salt"] = a.salt % R
    if not shape.params_public and not shape.params_constant:
        out["params_digest/params_meta"] = params.meta % R
    return out


def program_key(shape: Shape, params: CircuitParams) -> str:
    """What the compiled program depends on: the shape, (constant mode) the parameter set, and
    the source of the circuit modules."""
    doc = {"shape": shape.as_dict(), "source": source_fingerprint(CIRCUIT_MODULES)}
    if shape.params_constant:
        doc["params"] = str(params.digest())
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]


def cache_folder() -> Path | None:
    """``$ZKMARGIN_CACHE/witness`` (None when ``ZKMARGIN_WITNESS_CACHE=0``)."""
    if os.environ.get("ZKMARGIN_WITNESS_CACHE", "1") == "0":
        return None
    from zkmargin.prover.dev_cache import cache_dir
    d = cache_dir() / "witness"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


class _StaticStore:
    """The static part of a witness per parameter file on disk: canonical limbs, 32 bytes a value
    (checked on load: right size, every value < r; a wrong value only makes a proof that does
    not verify, and the prover then falls back to the reference build)."""

    def __init__(self, folder: Path | None, key: str):
        self.folder, self.key = folder, key

    def _path(self, skey: str) -> Path:
        return self.folder / f"{self.key}-{skey[:32]}.static"

    def get(self, skey: str):
        if self.folder is None:
            return None
        try:
            raw = self._path(skey).read_bytes()
        except OSError:
            return None
        if len(raw) % 32:
            return None
        return np.frombuffer(raw, dtype="<u8").reshape(-1, 4)

    def put(self, skey: str, rows) -> None:
        if self.folder is not None:
            _write_atomic(self._path(skey), np.ascontiguousarray(rows, dtype="<u8").tobytes())


def compile_solvency(shape: Shape, params: CircuitParams, model: str | None = None) -> WitnessProgram:
    """Build the shape's circuit on dummy inputs (the setup circuit) and compile it."""
    from zkmargin.solvency.keys import setup_circuit
    circ = setup_circuit(shape, model or params.model, params)
    static = [n for n in circ.cs.input_names if is_static_input(n)]
    return compile_program(circ.cs, static, {"id": program_key(shape, params),
                                             "constraints": len(circ.cs.constraints)})


def program_for(shape: Shape, params: CircuitParams, *, disk: bool = True, fresh: bool = False) -> WitnessProgram:
    """The shape's compiled program: from memory, else from disk, else compiled (and saved);
    ``fresh`` compiles it again whatever is cached."""
    key = program_key(shape, params)
    with _LOCK:
        prog = None if fresh else _MEMORY.get(key)
        if prog is not None:
            return prog
        folder = cache_folder() if disk else None
        path = folder / f"{key}.zkwp" if folder is not None else None
        if path is not None and path.is_file() and not fresh:
            try:
                prog = program_from_bytes(path.read_bytes())
                if prog.info.get("id") != key:
                    prog = None
            except (ValueError, KeyError, OSError):
                prog = None
        if prog is None:
            prog = compile_solvency(shape, params)
            if path is not None:
                try:
                    _write_atomic(path, prog.to_bytes())
                except NotSerialisable:
                    pass
        _MEMORY[key] = prog
        return prog


def precompile(shape: Shape, params: CircuitParams, circ=None) -> bool:
    """Compile and save the shape's program ahead of the first prove (``venue setup`` does, so
    a trader's first proof does not pay the compilation). ``circ``: the shape's setup circuit
    when already built (:func:`zkmargin.solvency.keys.setup_circuit` of this shape, model and
    parameters -- the circuit :func:`compile_solvency` would build). Returns whether a program
    was compiled (False: already cached in memory or on disk, or no disk cache)."""
    key = program_key(shape, params)
    folder = cache_folder()
    if folder is None:
        return False
    path = folder / f"{key}.zkwp"
    with _LOCK:
        if key in _MEMORY or path.is_file():
            return False
    if circ is None:
        program_for(shape, params)
        return True
    static = [n for n in circ.cs.input_names if is_static_input(n)]
    prog = compile_program(circ.cs, static, {"id": key, "constraints": len(circ.cs.constraints)})
    with _LOCK:
        _MEMORY[key] = prog
        try:
            _write_atomic(path, prog.to_bytes())
        except NotSerialisable:
            pass
    return True


def cached_programs() -> list[tuple[Path, int]]:
    """The compiled programs and memoised parameter-file parts on disk: (path, size); the
    folder is not created."""
    from zkmargin.prover.dev_cache import cache_dir

    folder = cache_dir() / "witness"
    if not folder.is_dir():
        return []
    return [(p, p.stat().st_size) for p in sorted(folder.glob("*")) if p.is_file() and p.suffix in (".zkwp", ".static")]


def solvency_witness(shape: Shape, params: CircuitParams, accounts: Sequence[Account], ctx: Context, *,
                     disk: bool = True) -> tuple[list[int], list[str]]:
    """The honest witness (wire order, ints) of ``build_solvency_circuit(shape, params,
    accounts, ctx)`` and the public input names, without building the circuit."""
    from zkmargin.formats.wtns import limbs_to_ints
    limbs, names = solvency_witness_limbs(shape, params, accounts, ctx, disk=disk)
    return limbs_to_ints(limbs), names


def solvency_witness_limbs(shape: Shape, params: CircuitParams, accounts: Sequence[Account], ctx: Context, *,
                           disk: bool = True):
    """As :func:`solvency_witness`, as the prover's ``(n, 4)`` limbs. A cached program that
    fails is dropped and the shape compiled afresh (once)."""
    inputs = solvency_inputs(shape, params, accounts, ctx)
    for attempt in (0, 1):
        prog = program_for(shape, params, disk=disk, fresh=bool(attempt))
        store = _StaticStore(cache_folder() if disk else None, prog.info["id"])
        try:
            w = prog.solve_limbs(inputs, static_store=store if not attempt else _Writeonly(store))
            break
        except Exception:   # noqa: BLE001 - a damaged cache file: compile afresh once
            if attempt:
                raise
    return w, public_input_names(shape, len(params.vector()))


class _Writeonly:
    def __init__(self, store):
        self.store = store

    def get(self, key):
        return None

    def put(self, key, rows):
        self.store.put(key, rows)


def reference_witness(shape: Shape, params: CircuitParams, accounts: Sequence[Account], ctx: Context):
    """The builder's witness (the reference the fast path must equal) and its circuit."""
    circ = build_solvency_circuit(shape, params, accounts, ctx)
    return circ.cs.witness(), circ


def discard(shape: Shape, params: CircuitParams) -> None:
    """Drop the shape's program and memoised static parts, in memory and on disk (after a
    proof from them failed to verify)."""
    key = program_key(shape, params)
    with _LOCK:
        _MEMORY.pop(key, None)
        folder = cache_folder()
        if folder is not None:
            for p in [folder / f"{key}.zkwp", *folder.glob(f"{key}-*.static")]:
                try:
                    p.unlink()
                except OSError:
                    pass


def forget() -> None:
    """Drop the in-memory programs (tests)."""
    with _LOCK:
        _MEMORY.clear()


__all__ = ["solvency_inputs", "solvency_witness", "solvency_witness_limbs", "program_for", "compile_solvency", "program_key",
           "reference_witness", "is_static_input", "discard", "forget", "precompile", "cached_programs"]
