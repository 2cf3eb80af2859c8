"""Rewrite a Function into the primitive kinds the scheduler lowers.

Composite ops are replaced by their `decompose` rule (repeatedly, since a rule may itself use
composites); equations no result depends on are dropped so they never reach the scheduler.
"""
from __future__ import annotations

from ..ir import Builder, Function, Literal, Sym, Var
from ..ir.simplify import dead_code_elimination
from .errors import UnsupportedError

LOWERABLE = ("elementwise", "source", "reduce", "matmul", "layout", "index", "scan",
             "gather", "scatter", "pad")
REDUCTIONS = ("sum", "prod", "amax", "amin", "argmax", "argmin")   # what the kernels reduce with
SCANS = ("cumsum", "cumprod")
_MAX_ROUNDS = 16


def check_lowerable(fn: Function) -> None:
    """Raise UnsupportedError for the first equation the backend has no lowering for."""
    for eqn in fn.eqns:
        op = eqn.op
        if op.kind not in LOWERABLE:
            raise UnsupportedError(op.name, f"op kind {op.kind!r} has no lowering")
        if op.kind in ("elementwise", "source") and op.lower is None:
            raise UnsupportedError(op.name, "elementwise op without a scalar `lower` rule")
        if op.kind == "reduce" and op.name not in REDUCTIONS:
            raise UnsupportedError(op.name, f"the primitive reductions are {', '.join(REDUCTIONS)}")
        if op.kind == "scan" and op.name not in SCANS:
            raise UnsupportedError(op.name, f"the primitive scans are {', '.join(SCANS)}")
        if op.kind == "layout" and op.view is None:
            raise UnsupportedError(op.name, "layout op without a `view` rule")
        if len(eqn.outputs) != 1:
            raise UnsupportedError(op.name, "multi-output equations are not lowered")


def _expand_once(fn: Function) -> Function:
    b = Builder(fn.name)
    env: dict[int, object] = {}
    params = []
    for p in fn.params:
        s = b.param(p.type, p.hint)
        env[id(p)] = s.var
        params.append(s.var)

    def atom(a):
        return a if isinstance(a, Literal) else env[id(a)]

    for eqn in fn.eqns:
        ins = [atom(a) for a in eqn.inputs]
        if eqn.op.kind == "composite" and eqn.op.decompose is not None:
            # Rules are written with ops, so they go through `bind`: tensors as Syms of this
            # builder, literal inputs as the Python scalars `bind` expects.
            args = [a.value if isinstance(a, Literal) else Sym(b, a) for a in ins]
            out = eqn.op.decompose(*args, **eqn.attrs)
            outs = out if isinstance(out, tuple) else (out,)
            for v, o in zip(eqn.outputs, outs):
                got = b.atom(o)
                if got.type != v.type:
                    raise AssertionError(f"{eqn.op.name}: decomposition gives {got.type}, "
                                         f"expected {v.type}")
                env[id(v)] = got
        else:
            for v, new in zip(eqn.outputs, b.emit_vars(eqn.op, ins, eqn.attrs)):
                env[id(v)] = new
    return Function(fn.name, params, b.eqns, [atom(r) for r in fn.results])


def decompose(fn: Function) -> Function:
    """Expand composites until only lowerable kinds remain; raise UnsupportedError otherwise."""
    for _ in range(_MAX_ROUNDS):
        fn = dead_code_elimination(fn)
        if not any(e.op.kind == "composite" for e in fn.eqns):
            break
        for e in fn.eqns:
            if e.op.kind == "composite" and e.op.decompose is None:
                raise UnsupportedError(e.op.name, "composite op without a decomposition")
        fn = _expand_once(fn)
    else:
        raise UnsupportedError(next(e.op.name for e in fn.eqns if e.op.kind == "composite"),
                               "decomposition does not terminate")
    check_lowerable(fn)
    return fn
