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

    def verify(self) -> None:
        """Check SSA form and re-infer every equation's types."""
        defined = set(map(id, self.params))
        for eqn in self.eqns:
            for a in eqn.inputs:
                if isinstance(a, Var) and id(a) not in defined:
                    raise ValueError(f"{eqn.op.name}: operand used before definition")
            expected = eqn.op.infer_types([a.type for a in eqn.inputs], eqn.attrs)
            got = [v.type for v in eqn.outputs]
            if expected != got:
                raise ValueError(f"{eqn.op.name}: result types {got} != inferred {expected}")
            for v in eqn.outputs:
                if id(v) in defined:
                    raise ValueError(f"{eqn.op.name}: value defined twice")
                defined.add(id(v))
        for r in self.results:
            if id(r) not in defined:
                raise ValueError("result is not defined in the function")


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
        lines.append(f"  {', '.join(outs)} = {head}{' ' + args if args else ''}")
    params = ", ".join(f"%{names[id(p)]}: {p.type}" for p in fn.params)
    rtypes = ", ".join(str(r.type) for r in fn.results)
    rets = ", ".join(ref(r) for r in fn.results)
    return "\n".join([f"func @{name or fn.name}({params}) -> ({rtypes}) {{", *lines,
                      f"  return {rets}", "}"])
