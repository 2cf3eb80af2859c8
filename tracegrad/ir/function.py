"""The IR: a flat, typed SSA function (jaxpr-like) and its text form.

    func @f(%x: f32[4]) -> (f32[]) {
      %0: f32[4] = add %x, 2.0
      %1: f32[4] = mul %0, %0
      %2: f32[] = mean[dims=(0,), keepdim=False] %1
      return %2
    }
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .types import DTYPES, DType, TensorType


class Var:
    """An SSA value. Identity is the object; printed names are assigned by position."""

    __slots__ = ("type", "hint")

    def __init__(self, type: TensorType, hint: str | None = None):
        self.type = type
        self.hint = hint  # preferred printed name for parameters

    @property
    def shape(self):
        return self.type.shape

    @property
    def dtype(self) -> DType:
        return self.type.dtype

    def __repr__(self):
        return f"Var({self.type})"


@dataclass(frozen=True, eq=False)
class Literal:
    """A scalar constant operand, already of the computation's dtype.

    Literals are equal when their dtype and printed value are: -0.0 differs from 0.0, and NaN
    equals NaN, as structural comparison (hashing, CSE, caches) needs."""

    value: object
    dtype: DType

    @property
    def key(self) -> tuple:
        return (self.dtype.name, repr(self.value))

    def __eq__(self, other):
        return isinstance(other, Literal) and self.key == other.key

    def __hash__(self):
        return hash(self.key)

    @property
    def type(self) -> TensorType:
        return _SCALAR_TYPES[self.dtype.name]

    @property
    def shape(self):
        return ()

    def __str__(self):
        v = self.value
        if self.dtype.is_floating_point:
            return repr(float(v))
        if self.dtype.category == 0:
            return "true" if v else "false"
        return str(int(v))


_SCALAR_TYPES = {d.name: TensorType((), d) for d in DTYPES}


@dataclass(eq=False)
class Eqn:
    op: "Op"  # noqa: F821 - ir.op.Op; kept untyped here to avoid a cycle
    inputs: list
    outputs: list
    attrs: dict = field(default_factory=dict)
    origin: str = ""   # provenance, printed as a comment: "x.py:12" or "vjp of mul (x.py:12)"


@dataclass(eq=False)
class Function:
    """`params -> eqns -> results`; every stage of the pipeline is one of these."""

    name: str
    params: list
    eqns: list
    results: list

    def __str__(self) -> str:
        return format_function(self)

    def key(self) -> str:
        """Structural hash: equal for functions that differ only in Var identities."""
        text = format_function(self, name="f", anonymous=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def free_vars(self) -> list:
        """Values used but defined nowhere in the function (a function under construction,
        like the adjoint before its parameters are set)."""
        defined = set(map(id, self.params))
        free = {}
        for eqn in self.eqns:
            for a in eqn.inputs:
                if isinstance(a, Var) and id(a) not in defined:
                    free[id(a)] = a
            defined.update(id(v) for v in eqn.outputs)
        for r in self.results:
            if isinstance(r, Var) and id(r) not in defined:
                free[id(r)] = r
        return list(free.values())

    def verify(self, free=()) -> None:
        """Check SSA form (single definitions, no use before definition), arity, attributes
        and types (every equation's result types re-inferred by its op's type rule); `free`
        values count as defined. Errors are ValueErrors naming the line as printed (the
        header is line 1) and the rule broken."""
        defined = set(map(id, free))
        for p in self.params:
            if id(p) in defined:
                raise ValueError("line 1: a parameter is listed twice (rule: single definition)")
            defined.add(id(p))
        for i, eqn in enumerate(self.eqns):
            where = f"line {i + 2}: {eqn.op.name}"
            for k, a in enumerate(eqn.inputs):
                if isinstance(a, Var) and id(a) not in defined:
                    raise ValueError(f"{where}: operand {k} is used before it is defined "
                                     f"(rule: use before definition)")
            try:
                expected = eqn.op.infer_types([a.type for a in eqn.inputs], eqn.attrs)
            except TypeError as e:
                raise ValueError(f"{where}: {e} (rule: arity and attributes)") from None
            except (RuntimeError, IndexError, ValueError) as e:
                raise ValueError(f"{where}: {e} (rule: types)") from None
            got = [v.type for v in eqn.outputs]
            if expected != got:
                shown = ", ".join(map(str, got))
                raise ValueError(f"{where}: result types {shown} but the type rule gives "
                                 f"{', '.join(map(str, expected))} (rule: types)")
            for v in eqn.outputs:
                if id(v) in defined:
                    raise ValueError(f"{where}: a value is defined twice (rule: single "
                                     f"definition)")
                defined.add(id(v))
        for k, r in enumerate(self.results):
            if isinstance(r, Var) and id(r) not in defined:
                raise ValueError(f"line {len(self.eqns) + 2}: return: result {k} is not defined "
                                 f"(rule: use before definition)")


def format_attr(v) -> str:
    if isinstance(v, DType):
        return v.short
    return repr(v)


def format_function(fn: Function, name: str | None = None, anonymous: bool = False) -> str:
    names: dict[int, str] = {}
    taken = set()
    for i, p in enumerate(fn.params):
        hint = None if anonymous else p.hint
        n = hint if hint and hint not in taken and not hint.isdigit() else f"arg{i}"
        k = 0
        while n in taken:   # a hint may already use the positional name
            k += 1
            n = f"arg{i}_{k}"
        taken.add(n)
        names[id(p)] = n
    counter = 0

    def ref(a) -> str:
        return str(a) if isinstance(a, Literal) else "%" + names[id(a)]

    lines = []
    for eqn in fn.eqns:
        outs = []
        for v in eqn.outputs:
            names[id(v)] = str(counter)
            counter += 1
            outs.append(f"%{names[id(v)]}: {v.type}")
        attrs = ", ".join(f"{k}={format_attr(v)}" for k, v in eqn.attrs.items())
        head = eqn.op.name + (f"[{attrs}]" if attrs else "")
        args = ", ".join(ref(a) for a in eqn.inputs)
        note = f"  # {eqn.origin}" if eqn.origin and not anonymous else ""
        lines.append(f"  {', '.join(outs)} = {head}{' ' + args if args else ''}{note}")
    params = ", ".join(f"%{names[id(p)]}: {p.type}" for p in fn.params)
    rtypes = ", ".join(str(r.type) for r in fn.results)
    rets = ", ".join(ref(r) for r in fn.results)
    return "\n".join([f"func @{name or fn.name}({params}) -> ({rtypes}) {{", *lines,
                      f"  return {rets}", "}"])
