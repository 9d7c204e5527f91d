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

from . import builder as _b

FORMAT = "zkmargin/witness-program/v1"

OP_MUL, OP_BITS, OP_COPY, OP_PY = range(4)


class NotSerialisable(ValueError):
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
    lcs: list[tuple[list[int], list[int]]]
    ops: list[int]
    ins: list[tuple[int, ...]]
    outs: list[tuple[int, ...]]
    aux: list[int]                       # BITS: width; PY: index into fns
    fns: list[Callable]
    static_inputs: tuple[str, ...] = ()
    info: dict = field(default_factory=dict)
    static_cache: dict = field(default_factory=dict, repr=False)
    #: the static steps when known (a loaded program); else computed from ``static_inputs``
    split: list | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.split is None:
            self._split()
        else:
            marks = bytearray(len(self.ops))
            for s in self.split:
                marks[s] = 1
            self.static_steps = list(self.split)
            self.dynamic_steps = [s for s in range(len(self.ops)) if not marks[s]]
            self.static_outputs = [o for s in self.static_steps for o in self.outs[s]]
        self.split = None

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
        self.static_outputs = [o for s in static_steps for o in self.outs[s]]

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

    def solve(self, assignment: dict[str, int] | None = None, *, static_store=None) -> list[int]:
        """The witness in wire order (as :meth:`ConstraintSystem.solve`). ``static_store``
        (get(key) -> list | None, put(key, values)) keeps static values beyond this process."""
        with _NoGC():
            return self._solve(assignment, static_store)

    def _solve(self, assignment, static_store) -> list[int]:
        vals = self.assignment_values(assignment)
        lcv: list = [None] * len(self.lcs)
        key = self.static_key(vals) if self.static_inputs else None
        cached = self.static_cache.get(key) if key else None
        if cached is None and key and static_store is not None:
            cached = static_store.get(key)
            if cached is not None and len(cached) != len(self.static_outputs):
                cached = None
        if cached is not None:
            for o, v in zip(self.static_outputs, cached):
                vals[o] = v
            self.static_cache[key] = cached
            self._run(self.dynamic_steps, vals, lcv)
        else:
            self._run(self.static_steps, vals, lcv)
            if key:
                static = [vals[o] for o in self.static_outputs]
                self.static_cache[key] = static
                if static_store is not None:
                    static_store.put(key, static)
            self._run(self.dynamic_steps, vals, lcv)
        return [vals[i] for i in self.order]

    def _run(self, steps: Sequence[int], vals: list[int], lcv: list) -> None:
        lcs, ops, ins, outs, aux, fns = self.lcs, self.ops, self.ins, self.outs, self.aux, self.fns
        for s in steps:
            args = []
            for r in ins[s]:
                if r >= 0:
                    args.append(vals[r])
                else:
                    j = -r - 1
                    v = lcv[j]
                    if v is None:
                        idx, co = lcs[j]
                        if len(idx) == 1:
                            v = co[0] * vals[idx[0]] % R
                        else:
                            v = sum(map(mul, co, [vals[k] for k in idx])) % R
                        lcv[j] = v
                    args.append(v)
            op = ops[s]
            if op == OP_MUL:
                vals[outs[s][0]] = args[0] * args[1] % R
            elif op == OP_BITS:
                v = args[0]
                for i, o in enumerate(outs[s]):
                    vals[o] = (v >> i) & 1
            elif op == OP_COPY:
                vals[outs[s][0]] = args[0]
            else:
                o = outs[s]
                try:
                    res = fns[aux[s]](*args)
                    if len(o) == 1 and isinstance(res, int):
                        res = (res,)
                    res = list(res)
                except Exception as e:  # noqa: BLE001 - as the builder's replay
                    raise _b.HintError(f"hint #{s} failed: {e!r}") from e
                if len(res) != len(o):
                    raise _b.HintError(f"hint #{s} returned {len(res)} values, expected {len(o)}")
                for i, v in zip(o, res):
                    vals[i] = int(v) % R

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
        for j, (idx, co) in enumerate(self.lcs):
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
        in_ptr = np.cumsum([0] + [len(x) for x in self.ins], dtype=np.int64)
        out_ptr = np.cumsum([0] + [len(x) for x in self.outs], dtype=np.int64)
        buf = io.BytesIO()
        np.savez(buf, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8),
                 order=np.asarray(self.order, np.int32), coeffs=np.frombuffer(coeffs, np.uint8),
                 lc_ptr=lc_ptr, lc_idx=np.asarray(lc_idx, np.int32), lc_vec=np.asarray(lc_vec, np.int32),
                 vec_ptr=vec_ptr, vec_cid=np.asarray(vec_cid, np.int32),
                 static_steps=np.asarray(self.static_steps, np.int32),
                 ops=np.asarray(self.ops, np.int8), aux=np.asarray(self.aux, np.int32),
                 in_ptr=in_ptr, ins=np.asarray([r for x in self.ins for r in x], np.int64),
                 out_ptr=out_ptr, outs=np.asarray([o for x in self.outs for o in x], np.int32))
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
        vecs = [[coeffs[c] for c in vec_cid[a:b]] for a, b in zip(vec_ptr, vec_ptr[1:])]
        n = int(meta["n_values"])
        for name in ("lc_idx", "ins", "outs"):
            a = z[name]
            if a.size and not (a.max() < n and (a.min() >= 0 or name == "ins")):
                raise ValueError(f"witness program: bad signal index in {name}")
        lc_ptr, lc_idx, lc_vec = z["lc_ptr"].tolist(), z["lc_idx"].tolist(), z["lc_vec"].tolist()
        lcs = [(lc_idx[a:b], vecs[v]) for a, b, v in zip(lc_ptr, lc_ptr[1:], lc_vec)]
        if any(len(idx) != len(co) for idx, co in lcs):
            raise ValueError("witness program: bad linear combination")
        static_steps = z["static_steps"].tolist()
        in_ptr, flat_in = z["in_ptr"].tolist(), z["ins"].tolist()
        out_ptr, flat_out = z["out_ptr"].tolist(), z["outs"].tolist()
        ins = [tuple(flat_in[a:b]) for a, b in zip(in_ptr, in_ptr[1:])]
        outs = [tuple(flat_out[a:b]) for a, b in zip(out_ptr, out_ptr[1:])]
        ops, aux, order = z["ops"].tolist(), z["aux"].tolist(), z["order"].tolist()
    fns = [decode_function(d) for d in meta["fns"]]
    if len(order) != n or any(not 0 <= i < n for i in order):
        raise ValueError("witness program: bad wire order")
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
