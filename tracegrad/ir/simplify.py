"""IR simplification: algebraic identities, common-subexpression elimination, dead code."""
from __future__ import annotations

import math

from .function import Eqn, Function, Literal, Var


def _is_lit(a, value) -> bool:
    """`a` is the literal `value`, the sign of a zero included."""
    return isinstance(a, Literal) and a.value == value and (
        math.copysign(1.0, a.value) == math.copysign(1.0, value))


def _identity(eqn: Eqn):
    """The atom an equation reduces to without computing, or None."""
    op, ins, out = eqn.op.name, eqn.inputs, eqn.outputs[0] if eqn.outputs else None
    if out is None or len(eqn.outputs) != 1:
        return None

    def same(a):
        return isinstance(a, Var) and a.type == out.type

    if op == "mul":
        if _is_lit(ins[1], 1) and same(ins[0]):
            return ins[0]
        if _is_lit(ins[0], 1) and same(ins[1]):
            return ins[1]
    # `x + 0.0` is not folded: it turns -0.0 into +0.0.
    elif op == "pow":
        if _is_lit(ins[1], 1) and same(ins[0]):
            return ins[0]
    elif op in ("sub", "div"):
        if _is_lit(ins[1], 0 if op == "sub" else 1) and same(ins[0]):
            return ins[0]
    elif op in ("reshape", "broadcast_to", "convert", "transpose"):
        if same(ins[0]) and (op != "transpose" or eqn.attrs["perm"] == tuple(sorted(eqn.attrs["perm"]))):
            return ins[0]
    return None


def _key(eqn: Eqn, name_of):
    ins = tuple(name_of(a) for a in eqn.inputs)
    return (eqn.op.name, ins, tuple(sorted((k, repr(v)) for k, v in eqn.attrs.items())))


def simplify(fn: Function) -> Function:
    """Return an equivalent function with identities folded, duplicates shared, dead code gone."""
    subst: dict[int, object] = {}
    producer: dict[int, Eqn] = {}

    def look(a):
        return subst.get(id(a), a) if isinstance(a, Var) else a

    def name_of(a):
        return ("v", id(a)) if isinstance(a, Var) else ("l",) + a.key

    seen: dict = {}
    eqns = []
    for eqn in fn.eqns:
        eqn = Eqn(eqn.op, [look(a) for a in eqn.inputs], eqn.outputs, eqn.attrs)
        # neg(neg(x)) -> x, and transpose(transpose(x)) -> one transpose
        src = producer.get(id(eqn.inputs[0])) if eqn.inputs and isinstance(eqn.inputs[0], Var) else None
        if src is not None and eqn.op.name == src.op.name == "neg":
            subst[id(eqn.outputs[0])] = src.inputs[0]
            continue
        if src is not None and eqn.op.name == src.op.name == "transpose":
            inner, outer = src.attrs["perm"], eqn.attrs["perm"]
            eqn = Eqn(eqn.op, [src.inputs[0]], eqn.outputs, {"perm": tuple(inner[p] for p in outer)})
        ident = _identity(eqn)
        if ident is not None:
            subst[id(eqn.outputs[0])] = ident
            continue
        key = _key(eqn, name_of) if eqn.op.kind != "opaque" else None
        if key is not None and key in seen:
            for old, new in zip(eqn.outputs, seen[key].outputs):
                subst[id(old)] = new
            continue
        if key is not None:
            seen[key] = eqn
        for v in eqn.outputs:
            producer[id(v)] = eqn
        eqns.append(eqn)
    results = [look(r) for r in fn.results]
    return dead_code_elimination(Function(fn.name, list(fn.params), eqns, results))


def dead_code_elimination(fn: Function) -> Function:
    live = {id(r) for r in fn.results if isinstance(r, Var)}
    kept = []
    for eqn in reversed(fn.eqns):
        if any(id(v) in live for v in eqn.outputs):
            kept.append(eqn)
            live.update(id(a) for a in eqn.inputs if isinstance(a, Var))
    kept.reverse()
    return Function(fn.name, list(fn.params), kept, list(fn.results))
