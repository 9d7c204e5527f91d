"""R1CS builder: named signals, linear combinations, constraints and the witness, together.

A rank-1 constraint system over the BN254 scalar field F_r is a list of constraints

    <A_i, w> * <B_i, w> = <C_i, w>        (mod r)

over a witness vector ``w`` whose entry 0 is the constant 1.  This module lets you write such a
system in ordinary Python while computing the honest witness at the same time.

Vocabulary
----------
* **signal** -- one entry of the witness vector.  Created by :meth:`ConstraintSystem.public`,
  :meth:`~ConstraintSystem.private` (inputs), :meth:`~ConstraintSystem.output`,
  :meth:`~ConstraintSystem.mul` and :meth:`~ConstraintSystem.hint` (intermediates).  Every signal
  has a hierarchical name (``"range/x/bit3"``).
* **LC** -- a linear combination ``c_0 + sum_j c_j * signal_j``.  Adding LCs, subtracting them and
  multiplying by a constant is free (no constraint).  ``LC * LC`` is refused: use
  :meth:`ConstraintSystem.mul`, which costs one constraint.
* **hint** -- a value the prover computes outside the constraints (a bit, a quotient, an
  inverse).  A hint is *unconstrained* until you add the constraints that pin it: always follow
  a hint by them (docs/PITFALLS.md #3).  :class:`WitnessTampering` checks this in tests.
* **section** -- ``with cs.section("range"):`` prefixes the names of the signals and constraints
  created inside it, so a failing constraint says which gadget failed, and
  :meth:`~ConstraintSystem.report` counts constraints per section.

Wire order (circom's): wire 0 is the constant 1, then public outputs, then public inputs, then
private inputs, then every other (intermediate) signal.  Our policy: values the *verifier*
supplies (risk parameters, commitments, epoch, nonce) are **public inputs**; values the circuit
*computes* and reveals are **public outputs** (``cs.output``, which costs one constraint).  Both
are public; ``public.json`` lists outputs first, then public inputs, exactly like snarkjs.

Witness replay
--------------
Every intermediate signal records how its value is computed (a small function of LCs of earlier
signals).  :meth:`ConstraintSystem.solve` replays that program for a new assignment of the
inputs without rebuilding the circuit, so one built circuit serves many proofs.  Hint functions
must therefore be pure functions of their arguments (canonical ints in ``[0, r)``) and total
(they also run on the all-zero dummy inputs used for setup).

Example
-------
>>> from zkmargin.circuits.builder import ConstraintSystem
>>> cs = ConstraintSystem("demo")
>>> x = cs.private("x", 3)
>>> y = cs.public("y", 35)
>>> with cs.section("cube"):
...     x2 = cs.mul(x, x, "x2")            # one constraint: x * x = x2
...     x3 = cs.mul(x2, x, "x3")           # one constraint: x2 * x = x3
>>> cs.assert_equal(x3 + x + 5, y)       # linear: (x3 + x + 5 - y) * 1 = 0
>>> inv = cs.hint("inv", lambda v: pow(v, -1, R) if v else 0, x)   # prover-supplied ...
>>> cs.assert_mul(x, inv, 1, "x is nonzero")                       # ... then pinned
>>> cs.check()                            # list of failing constraints; empty = satisfied
[]
>>> r1cs = cs.to_r1cs()                   # wire order: 1, outputs, public inputs, private
>>> (r1cs.n_wires, r1cs.n_pub_in, len(r1cs.constraints))
(6, 1, 4)
>>> w = cs.solve({"x": 4, "y": 73})      # new witness, same circuit
>>> r1cs.check(w)
[]
>>> print(cs.report())                    # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence, Union

from zkmargin.algebra.constants import R
from zkmargin.errors import ZkmarginError

if TYPE_CHECKING:  # pragma: no cover
    from zkmargin.formats.r1cs import R1CS

__all__ = [
    "R", "LC", "Term", "ConstraintSystem", "Constraint", "Failure", "HintError",
    "WitnessTampering", "Tamper", "to_signed", "field",
]

#: Anything that can stand where a linear combination is expected.
Term = Union["LC", int]


def field(v: int) -> int:
    """Reduce a Python int into the canonical range ``[0, r)``; negatives wrap (−1 -> r − 1)."""
    return v % R


def to_signed(v: int) -> int:
    """Interpret a canonical field element as a signed integer in ``(−r/2, r/2)``."""
    v %= R
    return v - R if v > R // 2 else v


class HintError(ZkmarginError, RuntimeError):
    """A hint function failed while computing the witness."""


# ---------------------------------------------------------------------------------------------
# Linear combinations
# ---------------------------------------------------------------------------------------------


class LC:
    """A linear combination ``sum_j coeff_j * signal_j`` (signal 0 is the constant 1).

    ``terms`` maps *internal* signal ids to nonzero coefficients in ``[0, r)``.  LCs are
    immutable; the arithmetic operators return new LCs.  ``lc.value`` is its value under the
    witness currently held by the constraint system.
    """

    __slots__ = ("cs", "terms")

    def __init__(self, cs: "ConstraintSystem", terms: dict[int, int]):
        self.cs = cs
        self.terms = terms

    # -- arithmetic -------------------------------------------------------------------------
    def _other(self, other: Term) -> dict[int, int]:
        if isinstance(other, LC):
            if other.cs is not self.cs:
                raise ValueError("cannot combine linear combinations of different constraint systems")
            return other.terms
        if isinstance(other, int) or hasattr(other, "__index__"):
            other = operator.index(other) % R
            return {0: other} if other else {}
        return NotImplemented  # type: ignore[return-value]

    def __add__(self, other: Term) -> "LC":
        o = self._other(other)
        if o is NotImplemented:
            return NotImplemented
        out = dict(self.terms)
        for k, v in o.items():
            s = (out.get(k, 0) + v) % R
            if s:
                out[k] = s
            else:
                out.pop(k, None)
        return LC(self.cs, out)

    __radd__ = __add__

    def __neg__(self) -> "LC":
        return LC(self.cs, {k: R - v for k, v in self.terms.items()})

    def __sub__(self, other: Term) -> "LC":
        o = self._other(other)
        if o is NotImplemented:
            return NotImplemented
        return self + LC(self.cs, {k: R - v for k, v in o.items()})

    def __rsub__(self, other: Term) -> "LC":
        return (-self) + other

    def __mul__(self, other: int) -> "LC":
        if isinstance(other, LC):
            raise TypeError("LC * LC is not linear: use cs.mul(a, b) (one constraint)")
        if not (isinstance(other, int) or hasattr(other, "__index__")):
            return NotImplemented
        c = operator.index(other) % R
        if c == 0:
            return LC(self.cs, {})
        return LC(self.cs, {k: v * c % R for k, v in self.terms.items()})

    __rmul__ = __mul__

    # -- inspection -------------------------------------------------------------------------
    @property
    def value(self) -> int:
        """Value of the LC under the current witness, canonical in ``[0, r)``."""
        vals = self.cs.values
        return sum(c * vals[k] for k, c in self.terms.items()) % R

    @property
    def signed_value(self) -> int:
        """:attr:`value` read as a signed integer (``r − 1`` -> ``−1``)."""
        return to_signed(self.value)

    def is_constant(self) -> bool:
        return all(k == 0 for k in self.terms)

    def constant_value(self) -> int:
        """The value of a constant LC (raises if the LC involves a signal)."""
        if not self.is_constant():
            raise ValueError("not a constant")
        return self.terms.get(0, 0)

    def key(self) -> tuple[tuple[int, int], ...]:
        """Canonical hashable form (sorted terms); equal keys mean equal LCs."""
        return tuple(sorted(self.terms.items()))

    def __repr__(self) -> str:
        parts = []
        for k, c in sorted(self.terms.items()):
            cs_ = to_signed(c)
            name = "1" if k == 0 else self.cs.names[k]
            parts.append(name if cs_ == 1 else f"{cs_}*{name}")
        return "LC(" + (" + ".join(parts) or "0") + ")"

    def __bool__(self) -> bool:  # guard against `if lc:` meaning "if value is nonzero"
        raise TypeError("an LC has no truth value; compare lc.value or use a gadget")


# ---------------------------------------------------------------------------------------------
# Constraint system
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Constraint:
    """``A * B = C`` over internal signal ids, with the section and label it was created under."""

    a: dict[int, int]
    b: dict[int, int]
    c: dict[int, int]
    name: str


@dataclass(frozen=True)
class Failure:
    """A constraint that the checked witness does not satisfy."""

    index: int          #: constraint index (same as the row in the exported R1CS)
    name: str           #: "section/sub/label"
    a: int              #: <A, w>
    b: int              #: <B, w>
    c: int              #: <C, w>
    signals: tuple[str, ...]   #: names of the signals the constraint touches

    def __str__(self) -> str:
        # Names only: the values derive from private inputs and must not reach logs or
        # error messages (docs/PITFALLS.md #14).  They stay available as attributes for debugging.
        return (f"constraint #{self.index} '{self.name}' fails (A*B != C); "
                f"signals: {', '.join(self.signals) or '(none)'}")


@dataclass
class _Step:
    """One step of the witness program: ``outputs = fn(*[<lc, w> for lc in inputs])``."""

    fn: Callable[..., object]
    inputs: tuple[tuple[tuple[int, int], ...], ...]
    outputs: tuple[int, ...]


_KIND_ONE, _KIND_OUT, _KIND_PUB, _KIND_PRV, _KIND_INT = range(5)


class ConstraintSystem:
    """Builds constraints and the honest witness side by side.  See the module docstring."""

    def __init__(self, name: str = "circuit"):
        self.name = name
        #: current value of each internal signal (index 0 is the constant 1)
        self.values: list[int] = [1]
        #: hierarchical name of each internal signal
        self.names: list[str] = ["one"]
        self._kinds: list[int] = [_KIND_ONE]
        self.constraints: list[Constraint] = []
        self._steps: list[_Step] = []
        self._inputs: dict[str, int] = {}          # input name -> internal id
        self._name_use: dict[str, int] = {}
        self._sections: list[str] = []
        #: for each open section depth, the section paths a new constraint is counted under
        self._prefixes: list[list[str]] = [[""]]
        self._section_counts: dict[str, int] = {}
        #: bit widths proven for LCs (key -> bits): 0 <= value < 2^bits is enforced
        self._bounds: dict[tuple[tuple[int, int], ...], int] = {}

    # -- naming and sections ------------------------------------------------------------------
    @contextlib.contextmanager
    def section(self, name: str) -> Iterator[None]:
        """Name scope: signals and constraints created inside are prefixed with ``name/``."""
        if not name or "/" in name:
            raise ValueError(f"bad section name {name!r}")
        self._sections.append(name)
        self._prefixes.append(self._prefixes[-1] + ["/".join(self._sections)])
        try:
            yield
        finally:
            self._sections.pop()
            self._prefixes.pop()

    def _path(self) -> str:
        return "/".join(self._sections)

    def _full(self, name: str) -> str:
        p = self._path()
        return f"{p}/{name}" if p else name

    def _unique(self, full: str) -> str:
        n = self._name_use.get(full, 0)
        self._name_use[full] = n + 1
        return full if n == 0 else f"{full}#{n}"

    # -- signals ------------------------------------------------------------------------------
    @property
    def one(self) -> LC:
        """The constant 1 as an LC."""
        return LC(self, {0: 1})

    def const(self, v: int) -> LC:
        """A constant LC (free)."""
        v %= R
        return LC(self, {0: v} if v else {})

    def lc(self, x: Term) -> LC:
        """Coerce an int or LC into an LC of this system."""
        if isinstance(x, LC):
            if x.cs is not self:
                raise ValueError("LC belongs to another constraint system")
            return x
        if isinstance(x, int) or hasattr(x, "__index__"):   # ints, numpy integers
            return self.const(operator.index(x))
        raise TypeError(f"expected LC or int, got {type(x).__name__}")

    def _new(self, name: str, kind: int, value: int) -> int:
        idx = len(self.values)
        self.values.append(value % R)
        self.names.append(self._unique(self._full(name)))
        self._kinds.append(kind)
        return idx

    def _input(self, name: str, value: int, kind: int) -> LC:
        full = self._full(name)
        if full in self._name_use:
            raise ValueError(f"input name {full!r} is already used")
        idx = self._new(name, kind, _check_input(full, value))
        self._inputs[self.names[idx]] = idx
        return LC(self, {idx: 1})

    def public(self, name: str, value: int = 0) -> LC:
        """Declare a public input (supplied by the verifier).  ``value`` may be negative."""
        return self._input(name, value, _KIND_PUB)

    def private(self, name: str, value: int = 0) -> LC:
        """Declare a private input (known only to the prover).  ``value`` may be negative."""
        return self._input(name, value, _KIND_PRV)

    def output(self, name: str, x: Term) -> LC:
        """Reveal ``x`` as a public output wire (one constraint: ``out = x``)."""
        x = self.lc(x)
        idx = self._new(name, _KIND_OUT, 0)
        self._add_step(lambda v: v, (x,), (idx,))
        out = LC(self, {idx: 1})
        self.assert_equal(out, x, f"{name} is output")
        return out

    def hint(self, name: str, fn: Callable[..., int], *args: Term) -> LC:
        """A new prover-supplied signal with value ``fn(*values of args)``.

        UNCONSTRAINED until you add constraints that pin it.  ``fn`` receives canonical ints and
        may return any int (reduced mod r).
        """
        return self.hints([name], lambda *v: (fn(*v),), *args)[0]

    def hints(self, names: Sequence[str], fn: Callable[..., Iterable[int]], *args: Term) -> list[LC]:
        """Several prover-supplied signals computed by one function returning a sequence."""
        ins = tuple(self.lc(a) for a in args)
        ids = tuple(self._new(n, _KIND_INT, 0) for n in names)
        self._add_step(fn, ins, ids)
        return [LC(self, {i: 1}) for i in ids]

    def _add_step(self, fn: Callable[..., object], ins: tuple[LC, ...], outs: tuple[int, ...]) -> None:
        step = _Step(fn, tuple(tuple(a.terms.items()) for a in ins), outs)
        self._steps.append(step)
        _run_step(step, self.values, self.names)

    # -- constraints --------------------------------------------------------------------------
    def _constrain(self, a: LC, b: LC, c: LC, label: str) -> None:
        name = self._full(label)
        ta, tb, tc = a.terms, b.terms, c.terms
        if all(k == 0 for k in ta) and all(k == 0 for k in tb) and all(k == 0 for k in tc):
            if ta.get(0, 0) * tb.get(0, 0) % R != tc.get(0, 0):
                raise ValueError(f"constraint '{name}' is constant and can never hold")
            return  # trivially true; emit nothing
        self._append(Constraint(dict(ta), dict(tb), dict(tc), name))

    def _append(self, con: Constraint) -> None:
        self.constraints.append(con)
        counts = self._section_counts
        for path in self._prefixes[-1]:
            counts[path] = counts.get(path, 0) + 1

    def _assert_fresh_bits_boolean(self, bits: Sequence[LC], label: str) -> None:
        """Fast path for ``b * (b − 1) = 0`` on single-signal LCs (used by bit decompositions)."""
        prefix = self._path()
        prefix = f"{prefix}/" if prefix else ""
        for i, b in enumerate(bits):
            (k, c), = b.terms.items()
            if c != 1 or k == 0:
                raise ValueError("expected a plain signal")
            self._append(Constraint({k: 1}, {0: R - 1, k: 1}, {}, f"{prefix}{label}.b{i} boolean"))
            self._bounds[((k, 1),)] = 1

    def assert_mul(self, a: Term, b: Term, c: Term, label: str = "mul") -> None:
        """Constrain ``a * b = c`` (one constraint)."""
        self._constrain(self.lc(a), self.lc(b), self.lc(c), label)

    def assert_equal(self, a: Term, b: Term, label: str = "equal") -> None:
        """Constrain ``a = b`` (one constraint ``(a − b) * 1 = 0``; none if trivially true)."""
        self._constrain(self.lc(a) - self.lc(b), self.one, self.const(0), label)

    def assert_zero(self, a: Term, label: str = "zero") -> None:
        """Constrain ``a = 0``."""
        self.assert_equal(a, 0, label)

    def mul(self, a: Term, b: Term, name: str = "prod") -> LC:
        """A new signal ``z = a * b`` with the constraint ``a * b = z``.

        Free (no constraint, no signal) when ``a`` or ``b`` is a constant.
        """
        a, b = self.lc(a), self.lc(b)
        if a.is_constant():
            return b * a.constant_value()
        if b.is_constant():
            return a * b.constant_value()
        z = self.hint(name, lambda x, y: x * y, a, b)
        self._constrain(a, b, z, f"{name} = a*b")
        return z

    # -- range bookkeeping (used by gadgets) ----------------------------------------------------
    def known_bits(self, x: Term) -> int | None:
        """A width ``k`` such that ``0 <= x < 2^k`` is already enforced, or None if unknown."""
        x = self.lc(x)
        if x.is_constant():
            return x.constant_value().bit_length()
        return self._bounds.get(x.key())

    def _record_bits(self, x: LC, bits: int) -> None:
        """Record that constraints already enforce ``0 <= x < 2^bits``.  Gadget use only:
        recording a bound that is not enforced makes comparisons unsound."""
        key = x.key()
        old = self._bounds.get(key)
        if old is None or bits < old:
            self._bounds[key] = bits

    # -- witness -------------------------------------------------------------------------------
    @property
    def input_names(self) -> list[str]:
        """Names of the declared inputs (public and private), in declaration order."""
        return list(self._inputs)

    def _order(self) -> list[int]:
        """Internal ids in wire order: one, outputs, public inputs, private inputs, rest."""
        by_kind: list[list[int]] = [[] for _ in range(5)]
        for i, k in enumerate(self._kinds):
            by_kind[k].append(i)
        return [i for group in by_kind for i in group]

    def solve(self, assignment: dict[str, int] | None = None, *,
              overrides: dict[str, int | Callable[[int], int]] | None = None) -> list[int]:
        """Witness in wire order for a new assignment of the inputs (by name); replays hints.

        Inputs missing from ``assignment`` keep the value they were declared with.  The system's
        current values are NOT changed.

        ``overrides`` (for soundness tests) plays a *malicious prover*: it maps signal names to
        a value, or to a function of the honest value, that replaces the hint's result; every
        later step is computed from the tampered value, as a cheating prover would do.
        """
        vals = [0] * len(self.values)
        vals[0] = 1
        assignment = dict(assignment or {})
        for name, idx in self._inputs.items():
            vals[idx] = _check_input(name, assignment.pop(name)) if name in assignment else self.values[idx]
        if assignment:
            raise KeyError(f"unknown inputs: {sorted(assignment)}")
        evil: dict[int, int | Callable[[int], int]] = {}
        if overrides:
            index = {n: i for i, n in enumerate(self.names)}
            unknown = [n for n in overrides
                       if n not in index or self._kinds[index[n]] not in (_KIND_INT, _KIND_OUT)]
            if unknown:
                raise KeyError(f"overrides must name computed signals (not inputs): {unknown}")
            evil = {index[n]: f for n, f in overrides.items()}
        for step in self._steps:
            _run_step(step, vals, self.names)
            for i in step.outputs:
                if i in evil:
                    f = evil[i]
                    vals[i] = (f(vals[i]) if callable(f) else f) % R
        return [vals[i] for i in self._order()]

    def signal_names(self, prefix: str = "") -> list[str]:
        """Names of all signals starting with ``prefix`` (creation order)."""
        return [n for n in self.names[1:] if n.startswith(prefix)]

    def witness(self) -> list[int]:
        """The current (honest) witness in wire order."""
        return [self.values[i] for i in self._order()]

    def witness_limbs(self, witness: Sequence[int] | None = None):
        """A witness (default: the current one) as the prover's ``(n, 4)`` uint64 limb array."""
        from zkmargin.formats.wtns import ints_to_limbs

        return ints_to_limbs(self.witness() if witness is None else witness)

    def public_values(self, witness: Sequence[int] | None = None) -> list[int]:
        """The public signals (outputs, then public inputs) of a witness in wire order."""
        w = self.witness() if witness is None else witness
        return list(w[1:1 + self.n_public])

    def set_values(self, assignment: dict[str, int]) -> None:
        """Re-solve for new inputs and make the result the current values."""
        w = self.solve(assignment)
        for pos, i in enumerate(self._order()):
            self.values[i] = w[pos]

    # -- checking and export -----------------------------------------------------------------
    def check(self, witness: Sequence[int] | None = None) -> list[Failure]:
        """Failing constraints for ``witness`` (wire order; default: the current values)."""
        if witness is None:
            vals = self.values
        else:
            if len(witness) != len(self.values):
                raise ValueError(f"witness has {len(witness)} values, expected {len(self.values)}")
            vals = [0] * len(self.values)
            for pos, i in enumerate(self._order()):
                vals[i] = witness[pos] % R
        out = []
        for n, con in enumerate(self.constraints):
            a = _dot(con.a, vals)
            b = _dot(con.b, vals)
            c = _dot(con.c, vals)
            if a * b % R != c:
                ids = sorted(set(con.a) | set(con.b) | set(con.c))
                out.append(Failure(n, con.name, a, b, c, tuple(self.names[i] for i in ids if i)))
        return out

    def assert_satisfied(self, witness: Sequence[int] | None = None) -> None:
        """Raise AssertionError naming the first few failing constraints."""
        bad = self.check(witness)
        if bad:
            more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
            raise AssertionError("; ".join(str(f) for f in bad[:5]) + more)

    def counts(self) -> dict[str, int]:
        """Constraints per section path (inclusive of sub-sections); ``""`` is the total."""
        out = dict(self._section_counts)
        out.setdefault("", 0)
        return out

    def report(self) -> str:
        """A readable table of constraint counts per section, nested by indentation."""
        counts = self.counts()
        lines = [f"{self.name}: {counts['']} constraints, {len(self.values)} wires "
                 f"({self.n_public} public)"]
        for path in sorted(p for p in counts if p):
            depth = path.count("/")
            lines.append(f"  {'  ' * depth}{path.rsplit('/', 1)[-1]:<{max(1, 40 - 2 * depth)}} {counts[path]:>8}")
        return "\n".join(lines)

    @property
    def n_public(self) -> int:
        """Number of public wires (outputs + public inputs), excluding the constant."""
        return sum(1 for k in self._kinds if k in (_KIND_OUT, _KIND_PUB))

    def unconstrained_signals(self) -> list[str]:
        """Names of signals that appear in no constraint (a lint for forgotten pins)."""
        used: set[int] = set()
        for con in self.constraints:
            used.update(con.a)
            used.update(con.b)
            used.update(con.c)
        return [self.names[i] for i in range(1, len(self.values)) if i not in used]

    def to_r1cs(self) -> "R1CS":
        """Export in circom wire order (see :class:`zkmargin.formats.r1cs.R1CS`)."""
        from zkmargin.formats.r1cs import R1CS

        order = self._order()
        wire_of = [0] * len(order)
        for pos, i in enumerate(order):
            wire_of[i] = pos

        def remap(t: dict[int, int]) -> dict[int, int]:
            return {wire_of[k]: v for k, v in sorted(t.items(), key=lambda kv: wire_of[kv[0]])}

        kinds = self._kinds
        return R1CS(
            n_wires=len(order),
            n_pub_out=kinds.count(_KIND_OUT),
            n_pub_in=kinds.count(_KIND_PUB),
            n_prv_in=kinds.count(_KIND_PRV),
            constraints=[(remap(c.a), remap(c.b), remap(c.c)) for c in self.constraints],
            n_labels=len(order),
            label_ids=list(range(len(order))),
            wire_names=[self.names[i] for i in order],
            constraint_names=[c.name for c in self.constraints],
        )


def _check_input(name: str, value: int) -> int:
    if isinstance(value, bool) or not (isinstance(value, int) or hasattr(value, "__index__")):
        raise TypeError(f"input {name!r}: value must be an int, got {type(value).__name__}")
    value = operator.index(value)
    if not -R < value < R:
        raise ValueError(f"input {name!r}: value out of range (|v| must be < r)")
    return value % R


def _dot(terms: dict[int, int], vals: Sequence[int]) -> int:
    return sum(c * vals[k] for k, c in terms.items()) % R


def _run_step(step: _Step, vals: list[int], names: Sequence[str]) -> None:
    args = []
    for lc in step.inputs:
        if len(lc) == 1:                      # the common case: one signal, maybe scaled
            k, c = lc[0]
            args.append(vals[k] if c == 1 else c * vals[k] % R)
        else:
            args.append(sum(c * vals[k] for k, c in lc) % R)
    try:
        res = step.fn(*args)
        if len(step.outputs) == 1 and isinstance(res, int):
            res = (res,)
        res = list(res)  # type: ignore[arg-type]
    except Exception as e:  # noqa: BLE001 - re-raised with the signal names
        raise HintError(f"hint for {names[step.outputs[0]]!r} failed: {e!r}") from e
    if len(res) != len(step.outputs):
        raise HintError(f"hint for {names[step.outputs[0]]!r} returned {len(res)} values, "
                        f"expected {len(step.outputs)}")
    for i, v in zip(step.outputs, res):
        vals[i] = int(v) % R


# ---------------------------------------------------------------------------------------------
# Soundness testing helper
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tamper:
    """A single-value mutation of a witness that still satisfies every constraint."""

    wire: int
    name: str
    old: int
    new: int


class WitnessTampering:
    """Mutate each private witness value of a satisfying witness and report survivors.

    A surviving mutation means the value is not pinned by the constraints (docs/PITFALLS.md #3) --
    either a bug or a genuinely free value (e.g. a salt that only feeds a hash outside this
    circuit).  Only constraints touching the mutated wire are re-checked, so the sweep costs
    about one pass over the constraints per mutation.

    >>> t = WitnessTampering(cs.to_r1cs(), cs.witness())     # doctest: +SKIP
    >>> assert t.survivors() == []                           # doctest: +SKIP
    """

    #: default mutations: v -> v + 1, v -> v − 1 (wraps to r − 1 from 0), v -> 0, v -> 1, v -> r − v
    DEFAULT_MUTATIONS: tuple[Callable[[int], int], ...] = (
        lambda v: v + 1, lambda v: v - 1, lambda v: 0, lambda v: 1, lambda v: -v,
    )

    def __init__(self, r1cs: "R1CS", witness: Sequence[int]):
        if len(witness) != r1cs.n_wires:
            raise ValueError("witness length does not match the R1CS")
        self.r1cs = r1cs
        self.witness = [w % R for w in witness]
        bad = r1cs.check(self.witness)
        if bad:
            raise ValueError(f"the starting witness does not satisfy {len(bad)} constraints")
        self._touching: dict[int, list[int]] = {}
        for n, (a, b, c) in enumerate(r1cs.constraints):
            for w in set(a) | set(b) | set(c):
                self._touching.setdefault(w, []).append(n)

    @classmethod
    def from_cs(cls, cs: "ConstraintSystem") -> "WitnessTampering":
        """Sweep the current honest witness of a builder circuit."""
        return cls(cs.to_r1cs(), cs.witness())

    def private_wires(self) -> range:
        """Private inputs and intermediate signals."""
        return range(1 + self.r1cs.n_pub_out + self.r1cs.n_pub_in, self.r1cs.n_wires)

    def intermediate_wires(self) -> range:
        """Signals that are not inputs (hints, products, outputs excluded)."""
        r = self.r1cs
        return range(1 + r.n_pub_out + r.n_pub_in + r.n_prv_in, r.n_wires)

    def still_satisfies(self, wire: int, new: int) -> bool:
        w = self.witness
        old = w[wire]
        w[wire] = new % R
        try:
            for n in self._touching.get(wire, ()):
                a, b, c = self.r1cs.constraints[n]
                if _dot(a, w) * _dot(b, w) % R != _dot(c, w):
                    return False
            return True
        finally:
            w[wire] = old

    def survivors(self, wires: Iterable[int] | None = None,
                  mutations: Sequence[Callable[[int], int]] | None = None) -> list[Tamper]:
        """Mutations (of the given wires, default all private ones) that keep every constraint."""
        muts = mutations or self.DEFAULT_MUTATIONS
        names = self.r1cs.wire_names
        out = []
        for wire in (self.private_wires() if wires is None else wires):
            old = self.witness[wire]
            for m in muts:
                new = m(old) % R
                if new != old and self.still_satisfies(wire, new):
                    out.append(Tamper(wire, names[wire] if names else str(wire), old, new))
        return out

