"""Building IR functions by applying ops to symbolic values."""
from __future__ import annotations

from typing import Callable

from .function import Eqn, Function, Literal, Var
from .op import Op, Value


class Sym(Value):
    """A symbolic value inside a Builder: applying an op to it appends an equation."""

    _bind_priority = 10
    __slots__ = ("builder", "var")

    def __init__(self, builder: "Builder", var: Var):
        self.builder = builder
        self.var = var

    @property
    def shape(self):
        return self.var.type.shape

    @property
    def dtype(self):
        return self.var.type.dtype

    def _bind(self, op, inputs, attrs):
        return self.builder.emit(op, inputs, attrs)

    def __repr__(self):
        return f"Sym({self.var.type})"


class Builder:
    """Accumulates equations. `lift` turns foreign values (e.g. eager tensors captured by a traced
    function) into atoms of this function; without it they are an error."""

    def __init__(self, name: str = "f", lift: Callable[[Value], Var] | None = None):
        self.name = name
        self.params: list[Var] = []
        self.eqns: list[Eqn] = []
        self.lift = lift

    def param(self, type, hint: str | None = None) -> Sym:
        v = Var(type, hint)
        self.params.append(v)
        return Sym(self, v)

    def atom(self, a):
        if isinstance(a, (Var, Literal)):
            return a
        if isinstance(a, Sym) and a.builder is self:
            return a.var
        if isinstance(a, Value) and self.lift is not None:
            return self.lift(a)
        raise TypeError(f"value {a!r} does not belong to the function being built")

    def emit_vars(self, op: Op, inputs, attrs) -> list[Var]:
        atoms = [self.atom(a) for a in inputs]
        outs = [Var(t) for t in op.infer_types([a.type for a in atoms], attrs)]
        self.eqns.append(Eqn(op, atoms, outs, dict(attrs)))
        return outs

    def emit(self, op: Op, inputs, attrs):
        outs = [Sym(self, v) for v in self.emit_vars(op, inputs, attrs)]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def build(self, results, params=None) -> Function:
        return Function(self.name, list(self.params if params is None else params),
                        list(self.eqns), [self.atom(r) for r in results])
