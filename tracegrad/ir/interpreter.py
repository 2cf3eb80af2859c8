"""Reference evaluation of IR with each op's numpy implementation."""
from __future__ import annotations

import numpy as np

from .function import Function, Literal, Var
from .op import Op


def run_op(op: Op, args: list, attrs: dict, out_types) -> list[np.ndarray]:
    """Evaluate one op on numpy arrays/scalars, returning arrays of exactly the inferred types.

    Call it under `np.errstate(all="ignore")`: IEEE results (inf, nan) are what PyTorch gives,
    without warnings."""
    out = op.impl(*args, **attrs)
    outs = out if isinstance(out, tuple) else (out,)
    result = []
    for o, t in zip(outs, out_types):
        o = np.asarray(o)
        if o.dtype != t.dtype.np:
            o = o.astype(t.dtype.np)
        if o.shape != t.shape:
            raise AssertionError(f"{op.name}: numpy gave shape {o.shape}, type rule {t.shape}")
        result.append(o)
    return result


def literal_value(lit: Literal):
    return lit.dtype.np.type(lit.value)


def evaluate(fn: Function, args) -> list[np.ndarray]:
    """Run `fn` on numpy arrays; intermediates are dropped after their last use."""
    if len(args) != len(fn.params):
        raise TypeError(f"{fn.name}: expected {len(fn.params)} arguments, got {len(args)}")
    env = {}
    for p, a in zip(fn.params, args):
        a = np.asarray(a)
        if a.shape != p.type.shape or a.dtype != p.type.dtype.np:
            raise TypeError(f"{fn.name}: argument of type {a.dtype}{list(a.shape)} "
                            f"does not match parameter {p.type}")
        env[id(p)] = a
    last_use = {}
    for i, eqn in enumerate(fn.eqns):
        for a in eqn.inputs:
            if isinstance(a, Var):
                last_use[id(a)] = i
    keep = {id(r) for r in fn.results}
    with np.errstate(all="ignore"):
        _run_eqns(fn, env, last_use, keep)
    return [env[id(r)] if isinstance(r, Var) else np.asarray(literal_value(r))
            for r in fn.results]


def _run_eqns(fn: Function, env: dict, last_use: dict, keep: set) -> None:
    for i, eqn in enumerate(fn.eqns):
        vals = [env[id(a)] if isinstance(a, Var) else literal_value(a) for a in eqn.inputs]
        outs = run_op(eqn.op, vals, eqn.attrs, [v.type for v in eqn.outputs])
        for v, o in zip(eqn.outputs, outs):
            env[id(v)] = o
        for a in eqn.inputs:
            if isinstance(a, Var) and last_use.get(id(a)) == i and id(a) not in keep:
                env.pop(id(a), None)
