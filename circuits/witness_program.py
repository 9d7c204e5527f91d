"""A compiled witness program: a built circuit's witness computation, without the builder.

:class:`~zkmargin.circuits.builder.ConstraintSystem` records, for every intermediate signal,
the step that computes it (``outputs = fn(*<lc, w>)``). :func:`compile_program` turns those
steps into plain data -- a table of the distinct linear combinations the steps read, and per
step an opcode (product, bit decomposition, copy, or a Python hint function) -- so that the
witness of a circuit *shape* can be recomputed for new inputs without rebuilding the circuit
(names, sections, constraints and LC arithmetic are most of a build's cost).

Static part: the caller names the inputs that stay fixed across many witnesses (for a
solvency proof: everything the venue's parameter file determines). Steps that depend only on
them (and on constants) are *static*; their values are computed once per assignment of the
static inputs and memoised (:attr:`WitnessProgram.static_cache`, and optionally on disk), so a
new witness only replays the dynamic steps.

Serialisation (:meth:`WitnessProgram.to_bytes`, :func:`program_from_bytes`) stores numbers
only (numpy arrays, no pickle). Hint functions are stored *by reference to code that already
exists in zkmargin's modules* -- module, qualified name and first line of the code object,
plus its defaults and closure values (ints, strings, tuples and other such functions) -- and
are rebuilt from the loaded module's own code objects. Nothing in a program file is executed
as code; a program whose hints capture anything else simply is not serialisable
(:class:`NotSerialisable`). Program files carry a fingerprint of the source of the modules
their hints come from and of the builder: any change there makes the file stale.

The result equals :meth:`ConstraintSystem.solve` exactly (tests compare both).
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import io
import json
import sys
import types
from dataclasses import dataclass, field
from operator import mul
from typing import Callable, Iterable, Sequence

import numpy as np

from zkmargin.algebra.constants import R
from zkmargin.algebra.kernel_set import OP_BITS, OP_COPY, OP_MUL, OP_PY
from zkmargin.errors import ZkmarginError

from . import builder as _b

FORMAT = "zkmargin/witness-program/v1"



class NotSerialisable(ZkmarginError):
    """A hint function captures something that cannot be stored by code reference."""


def _lambda_code(fn_code: types.CodeType, n_args: int) -> types.CodeType | None:
    for c in fn_code.co_consts:
        if isinstance(c, types.CodeType) and c.co_name == "<lambda>" and c.co_argcount == n_args:
            return c
    return None


# The builder's own step functions, recognised by their code objects.
_HINT_WRAPPER = _lambda_code(_b.ConstraintSystem.hint.__code__, 0)     # lambda *v: (fn(*v),)
_MUL_LAMBDA = _lambda_code(_b.ConstraintSystem.mul.__code__, 2)         # lambda x, y: x * y
_COPY_LAMBDA = _lambda_code(_b.ConstraintSystem.output.__code__, 1)     # lambda v: v


def _bits_code() -> types.CodeType | None:
    from . import gadgets
    return _lambda_code(gadgets.to_bits.__code__, 1)


_BITS_LAMBDA = _bits_code()                                              # lambda v: [(v >> i) & 1 ...]


def _classify(fn) -> tuple[int, int]:
    """(opcode, aux) of a step function: aux is the bit count of a decomposition."""
    code = getattr(fn, "__code__", None)
    if code is _HINT_WRAPPER and fn.__closure__:
        inner = fn.__closure__[0].cell_contents
        if getattr(inner, "__code__", None) is _MUL_LAMBDA:
            return OP_MUL, 0
    if code is _COPY_LAMBDA:
        return OP_COPY, 0
    if code is _BITS_LAMBDA and fn.__closure__ and len(fn.__closure__) == 1:
        n = fn.__closure__[0].cell_contents
        if isinstance(n, int):
            return OP_BITS, n
    return OP_PY, 0


# ---------------------------------------------------------------------------------------------
# hint functions by code reference


def _encode_value(v):
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return {"i": str(v)} if abs(v) >= 1 << 53 else v
    if isinstance(v, tuple):
        return {"t": [_encode_value(x) for x in v]}
    if isinstance(v, list):
        return {"l": [_encode_value(x) for x in v]}
    if isinstance(v, types.FunctionType):
        return {"f": encode_function(v)}
    raise NotSerialisable(f"a hint captures a {type(v).__name__}")


def _decode_value(d):
    if isinstance(d, dict):
        (k, v), = d.items()
        if k == "i":
            return int(v)
        if k == "t":
            return tuple(_decode_value(x) for x in v)
        if k == "l":
            return [_decode_value(x) for x in v]
        if k == "f":
            return decode_function(v)
        raise ValueError(f"bad value tag {k!r}")
    return d


def encode_function(fn) -> dict:
    """A hint function as data: where its code is, and its defaults and closure values."""
    if not isinstance(fn, types.FunctionType):
        raise NotSerialisable(f"a step function is a {type(fn).__name__}")
    mod = fn.__module__ or ""
    if not mod.startswith("zkmargin."):
        raise NotSerialisable(f"a hint comes from module {mod!r}")
    if fn.__kwdefaults__:
        raise NotSerialisable("a hint has keyword-only defaults")
    code = fn.__code__
    cells = [c.cell_contents for c in (fn.__closure__ or ())]
    return {"module": mod, "qualname": code.co_qualname, "line": code.co_firstlineno,
            "defaults": [_encode_value(x) for x in (fn.__defaults__ or ())],
            "closure": [_encode_value(x) for x in cells]}


_CODE_INDEX: dict[str, dict[tuple[str, int], types.CodeType]] = {}


def _codes_of(module) -> dict[tuple[str, int], types.CodeType]:
    idx = _CODE_INDEX.get(module.__name__)
    if idx is None:
        idx = {}
        seen: set[int] = set()

        def walk(code: types.CodeType) -> None:
            if id(code) in seen:
                return
            seen.add(id(code))
            idx.setdefault((code.co_qualname, code.co_firstlineno), code)
            for c in code.co_consts:
                if isinstance(c, types.CodeType):
                    walk(c)

        def visit(obj, depth=0):
            if isinstance(obj, types.FunctionType) and obj.__module__ == module.__name__:
                walk(obj.__code__)
            elif isinstance(obj, (staticmethod, classmethod)):
                visit(obj.__func__, depth)
            elif isinstance(obj, property):
                for f in (obj.fget, obj.fset, obj.fdel):
                    if f is not None:
                        visit(f, depth)
            elif isinstance(obj, type) and obj.__module__ == module.__name__ and depth < 3:
                for v in vars(obj).values():
                    visit(v, depth + 1)

        for v in list(vars(module).values()):
            visit(v)
        _CODE_INDEX[module.__name__] = idx
    return idx


def decode_function(d: dict):
    """Rebuild a hint function from :func:`encode_function`'s data (code from the module)."""
    mod = str(d["module"])
    if not mod.startswith("zkmargin."):
        raise ValueError(f"hint module {mod!r} is not zkmargin's")
    module = importlib.import_module(mod)
    code = _codes_of(module).get((str(d["qualname"]), int(d["line"])))
    if code is None:
        raise ValueError(f"no code {d['qualname']} at line {d['line']} in {mod}")
    closure = [_decode_value(x) for x in d["closure"]]
    if len(closure) != len(code.co_freevars):
        raise ValueError(f"closure of {d['qualname']} does not match its code")
    defaults = tuple(_decode_value(x) for x in d["defaults"]) or None
    return types.FunctionType(code, module.__dict__, code.co_name, defaults,
                              tuple(types.CellType(v) for v in closure) or None)


def _fn_modules(desc: dict, out: set[str]) -> None:
    out.add(desc["module"])

    def scan(v):
        if isinstance(v, dict):
            for k, x in v.items():
                if k == "f":
                    _fn_modules(x, out)
                else:
                    scan(x)
        elif isinstance(v, list):
            for x in v:
                scan(x)
    scan(desc["defaults"])
    scan(desc["closure"])


def source_fingerprint(modules: Iterable[str]) -> str:
    """SHA-256 over the source files of ``modules`` and of the builder and gadgets."""
    h = hashlib.sha256(FORMAT.encode())
    for name in sorted(set(modules) | {_b.__name__, "zkmargin.circuits.gadgets", __name__}):
        mod = sys.modules.get(name) or importlib.import_module(name)
        path = getattr(mod, "__file__", None)
        h.update(name.encode() + b"\0")
        if path:
            with open(path, "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# the program


class _LCTable:
    """The distinct linear combinations of a program, ``(signal ids, coefficients)`` each;
    a loaded program decodes one on first use (a witness with its static part memoised reads
    only the few the dynamic steps need)."""

    def __init__(self, decoded: list | None = None, *, ptr=None, idx=None, vec=None, vecs=None,
                 coeffs=None, vec_ptr=None, vec_cid=None):
        self._flat = None
        if decoded is not None:
            self._dec = list(decoded)
            self._n = len(self._dec)
        else:
            self._n = len(ptr) - 1
            self._dec = [None] * self._n
            self._ptr, self._idx, self._vec, self._vecs = ptr, idx, vec, vecs
            if coeffs is not None:
                # per term: the id of its coefficient among the distinct ones
                term_lc = np.repeat(np.arange(self._n), np.diff(ptr))
                pos = np.arange(len(idx)) - np.asarray(ptr)[term_lc]
                cid = np.asarray(vec_cid, np.int64)[np.asarray(vec_ptr, np.int64)[np.asarray(vec)[term_lc]] + pos]
                self._flat = (np.asarray(ptr, np.int64), np.asarray(idx, np.int64), cid, coeffs)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, j: int):
        v = self._dec[j]
        if v is None:
            a, b = int(self._ptr[j]), int(self._ptr[j + 1])
            v = self._dec[j] = (self._idx[a:b].tolist(), self._vecs[int(self._vec[j])])
        return v

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
        """The whole table as arrays: term offsets per LC, each term's signal and the id of its
        coefficient, and the distinct coefficients."""
        if self._flat is None:
            ids: dict[int, int] = {}
            ptr, idx, cid = [0], [], []
            for j in range(self._n):
                sig, co = self[j]
                idx.extend(sig)
                cid.extend([ids.setdefault(c, len(ids)) for c in co])
                ptr.append(len(idx))
            self._flat = (np.asarray(ptr, np.int64), np.asarray(idx, np.int64), np.asarray(cid, np.int64), list(ids))
        return self._flat

    def decode_all(self) -> None:
        """Decode every entry at once (one conversion instead of one per entry)."""
        if self._n and any(v is None for v in self._dec):
            ptr, idx, vec, vecs = self._ptr.tolist(), self._idx.tolist(), self._vec.tolist(), self._vecs
            dec = self._dec
            for j in range(self._n):
                if dec[j] is None:
                    dec[j] = (idx[ptr[j]:ptr[j + 1]], vecs[vec[j]])


class _Ragged:
    """Per-step signal lists (inputs or outputs) as one flat list and offsets."""

    __slots__ = ("ptr", "flat")

    def __init__(self, ptr: list[int], flat: list[int]):
        self.ptr, self.flat = ptr, flat

    @classmethod
    def of(cls, seqs) -> "_Ragged":
        if isinstance(seqs, _Ragged):
            return seqs
        ptr, flat = [0], []
        for x in seqs:
            flat.extend(x)
            ptr.append(len(flat))
        return cls(ptr, flat)

    def __len__(self) -> int:
        return len(self.ptr) - 1

    def __getitem__(self, s: int) -> list[int]:
        return self.flat[self.ptr[s]:self.ptr[s + 1]]


#: static parts kept in memory per program (the most recent parameter files)
STATIC_MEMO = 4

#: the phases of :meth:`WitnessProgram.tables`
STATIC, DYNAMIC = 0, 1


@dataclass
class WitnessProgram:
    """A circuit's witness computation as data (see the module docstring).

    Internal ids are the builder's signal ids (0 is the constant 1); ``order`` lists them in
    wire order. ``lcs`` are the distinct multi-term (or scaled) linear combinations the steps
    read; a step input ``r >= 0`` is the signal ``r`` itself, ``r < 0`` the LC ``-r - 1``."""

    n_values: int
    order: list[int]
    inputs: dict[str, int]               # input name -> internal id
    defaults: dict[str, int]             # declared input values (canonical)
    lcs: object                          # _LCTable (or a list of (ids, coefficients))
    ops: list[int]
    ins: object                          # per step: signal refs read (a _Ragged or list of tuples)
    outs: object                         # per step: signal ids written
    aux: list[int]                       # BITS: width; PY: index into fns
    fns: list[Callable]
    static_inputs: tuple[str, ...] = ()
    info: dict = field(default_factory=dict)
    #: the static steps when known (a loaded program); else computed from ``static_inputs``
    split: list | None = field(default=None, repr=False)

    def __post_init__(self):
        if not isinstance(self.lcs, _LCTable):
            self.lcs = _LCTable(self.lcs)
        self.ins, self.outs = _Ragged.of(self.ins), _Ragged.of(self.outs)
        if self.split is None:
            self._split()
        else:
            marks = bytearray(len(self.ops))
            for s in self.split:
                marks[s] = 1
            self.static_steps = list(self.split)
            self.dynamic_steps = [s for s in range(len(self.ops)) if not marks[s]]
        self.split = None
        self.static_outputs = [o for s in self.static_steps for o in self.outs[s]]
        self.static_cache: dict = {}
        self._static_ids = np.asarray(self.static_outputs, np.int64)
        is_static = np.zeros(self.n_values, bool)
        is_static[self._static_ids] = True
        self._other_ids = np.flatnonzero(~is_static)
        self._other_list = self._other_ids.tolist()
        self._order = np.asarray(self.order, np.int64)
        self._boundary_memo: list | None = None
        self._tables_memo = None

    def _boundary(self) -> list[tuple[int, int]]:
        """(signal, position among the static outputs) of the static values the dynamic steps
        read: what the reference evaluation restores as ints from memoised limbs."""
        if self._boundary_memo is None:
            pos = {o: p for p, o in enumerate(self.static_outputs)}
            need: set[int] = set()
            for s in self.dynamic_steps:
                for r in self.ins[s]:
                    for k in ((r,) if r >= 0 else self.lcs[-r - 1][0]):
                        if k in pos:
                            need.add(k)
            self._boundary_memo = sorted((k, pos[k]) for k in need)
        return self._boundary_memo

    def tables(self):
        """The program as :class:`~zkmargin.algebra.kernel_set.ProgramTables` (made and checked
        once); its phases are the static steps (:data:`STATIC`) and the dynamic ones."""
        if self._tables_memo is None:
            from zkmargin.algebra.kernel_set import ProgramTables
            from zkmargin.formats.wtns import ints_to_limbs
            lc_ptr, lc_idx, lc_cid, coeffs = self.lcs.flat()
            mont = ints_to_limbs([(c % R << 256) % R for c in coeffs]) if coeffs else np.zeros((0, 4), np.uint64)
            self._tables_memo = ProgramTables.make(self.n_values, lc_ptr, lc_idx, lc_cid, mont, self.ops, self.aux,
                                                   self.ins.ptr, self.ins.flat, self.outs.ptr, self.outs.flat,
                                                   (self.static_steps, self.dynamic_steps))
        return self._tables_memo

    # -- static / dynamic ----------------------------------------------------------------------
    def _split(self) -> None:
        dyn = bytearray(self.n_values)
        static_ids = {self.inputs[n] for n in self.static_inputs if n in self.inputs}
        for name, i in self.inputs.items():
            if i not in static_ids:
                dyn[i] = 1
        lc_dyn: list = [None] * len(self.lcs)     # memo: an LC reads only earlier signals
        static_steps, dynamic_steps = [], []
        for s in range(len(self.ops)):
            d = False
            for r in self.ins[s]:
                if (dyn[r] if r >= 0 else _lc_dyn(self.lcs, lc_dyn, dyn, -r - 1)):
                    d = True
                    break
            if d:
                for o in self.outs[s]:
                    dyn[o] = 1
                dynamic_steps.append(s)
            else:
                static_steps.append(s)
        self.static_steps, self.dynamic_steps = static_steps, dynamic_steps

    # -- evaluation ------------------------------------------------------------------------------
    def assignment_values(self, assignment: dict[str, int] | None) -> list[int]:
        vals = [0] * self.n_values
        vals[0] = 1
        assignment = dict(assignment or {})
        for name, idx in self.inputs.items():
            vals[idx] = _b._check_input(name, assignment.pop(name)) if name in assignment else self.defaults[name]
        if assignment:
            raise KeyError(f"unknown inputs: {sorted(assignment)}")
        return vals

    def static_key(self, vals: Sequence[int]) -> str:
        h = hashlib.sha256(self.info.get("id", "").encode())
        for n in self.static_inputs:
            i = self.inputs.get(n)
            if i is not None:
                h.update(n.encode() + b"=" + vals[i].to_bytes(32, "big"))
        return h.hexdigest()

    def solve(self, assignment: dict[str, int] | None = None, *, static_store=None, reference: bool = False,
              kernels=None) -> list[int]:
        """The witness in wire order as ints (equal to :meth:`ConstraintSystem.solve`)."""
        from zkmargin.formats.wtns import limbs_to_ints
        return limbs_to_ints(self.solve_limbs(assignment, static_store=static_store, reference=reference,
                                              kernels=kernels))

    def solve_limbs(self, assignment: dict[str, int] | None = None, *, static_store=None, reference: bool = False,
                    kernels=None) -> np.ndarray:
        """The witness in wire order as the prover's ``(n, 4)`` uint64 limbs. ``static_store``
        (``get(key)`` -> limbs or None, ``put(key, limbs)``) keeps the static part beyond this
        process; in memory it is kept for the last :data:`STATIC_MEMO` assignments.

        The steps run in compiled code (``kernels``: a
        :class:`~zkmargin.algebra.kernel_set.KernelSet`, by default the prover's), Python hints
        in Python; ``reference=True`` runs every step on Python ints instead (the test oracle)."""
        with _NoGC():
            if reference:
                return self._solve_python(assignment, static_store)
            if kernels is None:
                from zkmargin.algebra.kernel_set import kernel_set
                kernels = kernel_set()
            return self._solve_compiled(assignment, static_store, kernels)

    def _static_rows(self, key: str | None, static_store) -> np.ndarray | None:
        """The memoised static part for ``key`` (memory first, then the store), or None."""
        from zkmargin.formats.wtns import limbs_below_r
        rows = self.static_cache.pop(key, None) if key else None
        if rows is None and key and static_store is not None:
            rows = static_store.get(key)
            if rows is not None and (rows.shape != (len(self.static_outputs), 4) or not limbs_below_r(rows).all()):
                rows = None
        return rows

    def _remember(self, key: str | None, rows: np.ndarray) -> None:
        if key:
            self.static_cache[key] = rows
            while len(self.static_cache) > STATIC_MEMO:
                self.static_cache.pop(next(iter(self.static_cache)))

    def _call_hint(self, s: int, args: list[int], n_out: int) -> list[int]:
        """Run Python step ``s`` on ``args``: its ``n_out`` values, reduced mod r."""
        try:
            res = self.fns[self.aux[s]](*args)
            if n_out == 1 and isinstance(res, int):
                res = (res,)
            res = [int(v) % R for v in res]
        except Exception as e:  # noqa: BLE001 - as the builder's replay
            raise _b.HintError(f"hint #{s} failed: {e!r}") from e
        if len(res) != n_out:
            raise _b.HintError(f"hint #{s} returned {len(res)} values, expected {n_out}")
        return res

    # -- compiled evaluation ---------------------------------------------------------------------
    def _solve_compiled(self, assignment, static_store, ks) -> np.ndarray:
        from zkmargin.formats.wtns import ints_to_limbs
        tables = self.tables()
        vals = self.assignment_values(assignment)
        key = self.static_key(vals) if self.static_inputs else None
        ids = [0, *self.inputs.values()]
        mont = np.zeros((self.n_values, 4), np.uint64)
        mont[ids] = ints_to_limbs([(vals[i] << 256) % R for i in ids])
        n_lcs = len(tables.lc_ptr) - 1
        lcv, done = np.empty((n_lcs, 4), np.uint64), np.zeros(n_lcs, np.uint8)
        scratch = np.empty((max(1, tables.max_inputs), 4), np.uint64)
        rows = self._static_rows(key, static_store)
        if rows is None:
            self._run_compiled(ks, tables, STATIC, mont, lcv, done, scratch)
            rows = ks.from_mont(mont[self._static_ids])
            if key and static_store is not None:
                static_store.put(key, rows)
        else:
            mont[self._static_ids] = ks.to_mont(rows)
        self._remember(key, rows)
        self._run_compiled(ks, tables, DYNAMIC, mont, lcv, done, scratch)
        return ks.from_mont(mont)[self._order]

    def _run_compiled(self, ks, tables, phase: int, mont, lcv, done, scratch) -> None:
        from zkmargin.formats.wtns import ints_to_limbs, limbs_to_ints
        steps = tables.phases[phase]
        pos = 0
        while True:
            pos = ks.run_program(tables, phase, pos, mont, lcv, done, scratch)
            if pos >= len(steps):
                return
            s = int(steps[pos])
            n_in = int(tables.in_ptr[s + 1] - tables.in_ptr[s])
            o = self.outs[s]
            args = limbs_to_ints(ks.from_mont(scratch[:n_in])) if n_in else []
            res = self._call_hint(s, args, len(o))
            mont[o] = ints_to_limbs([(v << 256) % R for v in res])
            pos += 1

    # -- reference evaluation (Python ints) --------------------------------------------------------
    def _solve_python(self, assignment, static_store) -> np.ndarray:
        from zkmargin.formats.wtns import ints_to_limbs
        vals = self.assignment_values(assignment)
        lcv: list = [None] * len(self.lcs)
        n_static = len(self.static_outputs)
        key = self.static_key(vals) if self.static_inputs else None
        rows = self._static_rows(key, static_store)
        if rows is None:
            self.lcs.decode_all()
            self._run(self.static_steps, vals, lcv)
            rows = ints_to_limbs([vals[o] for o in self.static_outputs]) if n_static else np.zeros((0, 4), np.uint64)
            if key and static_store is not None:
                static_store.put(key, rows)
        else:
            for o, p in self._boundary():
                vals[o] = int.from_bytes(rows[p].astype("<u8").tobytes(), "little")
        self._remember(key, rows)
        self._run(self.dynamic_steps, vals, lcv)
        full = np.empty((self.n_values, 4), np.uint64)
        full[self._static_ids] = rows
        full[self._other_ids] = ints_to_limbs([vals[i] for i in self._other_list])
        return full[self._order]

    def _run(self, steps: Sequence[int], vals: list[int], lcv: list) -> None:
        lcs, ops = self.lcs, self.ops
        dec = lcs._dec
        iptr, iflat, optr, oflat = self.ins.ptr, self.ins.flat, self.outs.ptr, self.outs.flat
        for s in steps:
            args = []
            for r in iflat[iptr[s]:iptr[s + 1]]:
                if r >= 0:
                    args.append(vals[r])
                else:
                    j = -r - 1
                    v = lcv[j]
                    if v is None:
                        idx, co = dec[j] or lcs[j]
                        if len(idx) == 1:
                            v = co[0] * vals[idx[0]] % R
                        else:
                            v = sum(map(mul, co, [vals[k] for k in idx])) % R
                        lcv[j] = v
                    args.append(v)
            op = ops[s]
            if op == OP_MUL:
                vals[oflat[optr[s]]] = args[0] * args[1] % R
            elif op == OP_BITS:
                v = args[0]
                for i, o in enumerate(oflat[optr[s]:optr[s + 1]]):
                    vals[o] = (v >> i) & 1
            elif op == OP_COPY:
                vals[oflat[optr[s]]] = args[0]
            else:
                o = oflat[optr[s]:optr[s + 1]]
                for i, v in zip(o, self._call_hint(s, args, len(o))):
                    vals[i] = v

    # -- serialisation ---------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The program as an ``.npz`` (numbers only; hints by code reference)."""
        fdesc = [encode_function(f) for f in self.fns]
        mods: set[str] = set()
        for d in fdesc:
            _fn_modules(d, mods)
        coeff_ids: dict[int, int] = {}
        vec_ids: dict[int, int] = {}             # coefficient vectors are shared (by identity)
        vecs: list[list[int]] = []
        lc_ptr = np.zeros(len(self.lcs) + 1, np.int64)
        lc_idx, lc_vec = [], []
        for j in range(len(self.lcs)):
            idx, co = self.lcs[j]
            lc_idx.extend(idx)
            v = vec_ids.get(id(co))
            if v is None:
                v = vec_ids[id(co)] = len(vecs)
                vecs.append(co)
            lc_vec.append(v)
            lc_ptr[j + 1] = len(lc_idx)
        vec_ptr = np.cumsum([0] + [len(co) for co in vecs], dtype=np.int64)
        vec_cid = [coeff_ids.setdefault(c, len(coeff_ids)) for co in vecs for c in co]
        coeffs = b"".join(c.to_bytes(32, "big") for c in coeff_ids)
        meta = {"format": FORMAT, "n_values": self.n_values, "inputs": self.inputs,
                "defaults": {k: str(v) for k, v in self.defaults.items()},
                "static_inputs": list(self.static_inputs), "fns": fdesc, "info": self.info,
                "source": source_fingerprint(mods), "modules": sorted(mods)}
        in_ptr, out_ptr = np.asarray(self.ins.ptr, np.int64), np.asarray(self.outs.ptr, np.int64)
        buf = io.BytesIO()
        np.savez(buf, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8),
                 order=np.asarray(self.order, np.int32), coeffs=np.frombuffer(coeffs, np.uint8),
                 lc_ptr=lc_ptr, lc_idx=np.asarray(lc_idx, np.int32), lc_vec=np.asarray(lc_vec, np.int32),
                 vec_ptr=vec_ptr, vec_cid=np.asarray(vec_cid, np.int32),
                 static_steps=np.asarray(self.static_steps, np.int32),
                 ops=np.asarray(self.ops, np.int8), aux=np.asarray(self.aux, np.int32),
                 in_ptr=in_ptr, ins=np.asarray(self.ins.flat, np.int64),
                 out_ptr=out_ptr, outs=np.asarray(self.outs.flat, np.int32))
        return buf.getvalue()


def _lc_dyn(lcs, lc_dyn, dyn, j) -> bool:
    v = lc_dyn[j]
    if v is None:
        v = lc_dyn[j] = any(dyn[k] for k in lcs[j][0])
    return v


class _NoGC:
    """Cyclic GC off while building many small lists (it would rescan them repeatedly)."""

    def __enter__(self):
        self.was = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        if self.was:
            gc.enable()


def program_from_bytes(data: bytes, *, check_source: bool = True) -> WitnessProgram:
    with _NoGC():
        return _from_bytes(data, check_source)


def _from_bytes(data: bytes, check_source: bool) -> WitnessProgram:
    """Load :meth:`WitnessProgram.to_bytes`; raises ValueError when the file is not a program
    of this format or (``check_source``) was made from other source than the running one."""
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        meta = json.loads(bytes(z["meta"]).decode())
        if meta.get("format") != FORMAT:
            raise ValueError("not a zkmargin witness program")
        if check_source and meta["source"] != source_fingerprint(meta["modules"]):
            raise ValueError("the witness program was compiled from other zkmargin source")
        raw = bytes(z["coeffs"])
        coeffs = [int.from_bytes(raw[i:i + 32], "big") for i in range(0, len(raw), 32)]
        vec_ptr, vec_cid = z["vec_ptr"].tolist(), z["vec_cid"].tolist()
        if not vec_ptr or vec_ptr[0] != 0 or vec_ptr[-1] != len(vec_cid) or (np.diff(z["vec_ptr"]) < 0).any() or \
                (vec_cid and not 0 <= min(vec_cid) <= max(vec_cid) < len(coeffs)):
            raise ValueError("witness program: bad coefficient table")
        vecs = [[coeffs[c] for c in vec_cid[a:b]] for a, b in zip(vec_ptr, vec_ptr[1:])]
        n = int(meta["n_values"])
        for name in ("lc_idx", "ins", "outs"):
            a = z[name]
            low = -len(z["lc_vec"]) if name == "ins" else 0
            if a.size and not (a.max() < n and a.min() >= low):
                raise ValueError(f"witness program: bad signal index in {name}")
        lc_ptr, lc_vec = z["lc_ptr"], z["lc_vec"]
        if len(lc_ptr) != len(lc_vec) + 1 or (lc_vec.size and not 0 <= lc_vec.min() <= lc_vec.max() < len(vecs)):
            raise ValueError("witness program: bad linear-combination table")
        lens = np.diff(lc_ptr)
        if lc_ptr[0] != 0 or lc_ptr[-1] != len(z["lc_idx"]) or (lens < 0).any() or \
                (lens != np.asarray([len(v) for v in vecs], np.int64)[lc_vec]).any():
            raise ValueError("witness program: bad linear combination")
        lcs = _LCTable(ptr=lc_ptr, idx=z["lc_idx"], vec=lc_vec, vecs=vecs, coeffs=coeffs,
                       vec_ptr=z["vec_ptr"], vec_cid=z["vec_cid"])
        in_ptr, out_ptr, ops_a, aux_a = z["in_ptr"], z["out_ptr"], z["ops"], z["aux"]
        n_steps = len(ops_a)
        if not (len(aux_a) == n_steps == len(in_ptr) - 1 == len(out_ptr) - 1) or in_ptr[0] or out_ptr[0] or \
                in_ptr[-1] != len(z["ins"]) or out_ptr[-1] != len(z["outs"]):
            raise ValueError("witness program: bad step table")
        n_fns = len(meta["fns"])
        nin, nout = np.diff(in_ptr), np.diff(out_ptr)
        ok = (ops_a >= 0) & (ops_a <= OP_PY) & (nin >= 0) & (nout >= 1)
        ok &= (ops_a != OP_PY) | ((aux_a >= 0) & (aux_a < n_fns))
        ok &= (ops_a != OP_BITS) | ((aux_a == nout) & (nin == 1))
        ok &= (ops_a != OP_MUL) | ((nin == 2) & (nout == 1))
        ok &= (ops_a != OP_COPY) | ((nin == 1) & (nout == 1))
        if not ok.all():
            raise ValueError("witness program: bad step")
        ss = z["static_steps"]
        if ss.size and not (0 <= ss.min() and ss.max() < n_steps):
            raise ValueError("witness program: bad static steps")
        order_a = z["order"]
        if len(order_a) != n or not np.array_equal(np.sort(order_a), np.arange(n)):
            raise ValueError("witness program: bad wire order")
        ins = _Ragged(in_ptr.tolist(), z["ins"].tolist())
        outs = _Ragged(out_ptr.tolist(), z["outs"].tolist())
        ops, aux, order, static_steps = ops_a.tolist(), aux_a.tolist(), order_a.tolist(), ss.tolist()
    fns = [decode_function(d) for d in meta["fns"]]
    return WitnessProgram(n, order, {k: int(v) for k, v in meta["inputs"].items()},
                          {k: int(v) for k, v in meta["defaults"].items()}, lcs, ops, ins, outs, aux, fns,
                          tuple(meta["static_inputs"]), meta["info"], split=static_steps)


def compile_program(cs: "_b.ConstraintSystem", static_inputs: Iterable[str] = (), info: dict | None = None) -> WitnessProgram:
    """Compile ``cs``'s witness steps (see the module docstring). ``static_inputs`` names the
    inputs whose dependent steps are memoised per assignment."""
    with _NoGC():
        return _compile(cs, static_inputs, info)


def _compile(cs, static_inputs, info) -> WitnessProgram:
    lc_ids: dict[tuple, int] = {}
    vec_ids: dict[tuple, list[int]] = {}
    lcs: list[tuple[list[int], list[int]]] = []
    fns: list[Callable] = []
    fn_ids: dict[int, int] = {}
    ops, ins, outs, aux = [], [], [], []
    for st in cs._steps:
        refs = []
        for lc in st.inputs:
            if len(lc) == 1 and lc[0][1] == 1:
                refs.append(lc[0][0])
            else:
                j = lc_ids.get(lc)
                if j is None:
                    j = lc_ids[lc] = len(lcs)
                    co = tuple(c for _, c in lc)
                    lcs.append(([k for k, _ in lc], vec_ids.setdefault(co, list(co))))
                refs.append(-j - 1)
        op, a = _classify(st.fn)
        if op == OP_PY:
            a = fn_ids.get(id(st.fn))
            if a is None:
                a = fn_ids[id(st.fn)] = len(fns)
                fns.append(st.fn)
        ops.append(op)
        ins.append(tuple(refs))
        outs.append(tuple(st.outputs))
        aux.append(a)
    defaults = {name: cs.values[i] for name, i in cs._inputs.items()}
    return WitnessProgram(len(cs.values), cs._order(), dict(cs._inputs), defaults, lcs, ops, ins, outs,
                          aux, fns, tuple(static_inputs), dict(info or {}))


__all__ = ["WitnessProgram", "compile_program", "program_from_bytes", "NotSerialisable",
           "encode_function", "decode_function", "source_fingerprint"]
