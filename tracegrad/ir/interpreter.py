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
        if type(o) is not np.ndarray:
            o = np.asarray(o)
        dtype = t.dtype.np
        if o.dtype is not dtype and o.dtype != dtype:
            o = o.astype(dtype)
        if o.shape != t.shape:
            raise AssertionError(f"{op.name}: numpy gave shape {o.shape}, type rule {t.shape}")
        result.append(o)
    return result


# `run_op` under np.errstate(all="ignore"). The decorator form costs half what a `with` block
# does, which shows in eager code, where this runs once per op.
run_op_quiet = np.errstate(all="ignore")(run_op)


def literal_value(lit: Literal):
    return lit.dtype.np.type(lit.value)


def evaluate(fn: Function, args) -> list[np.ndarray]:
    """Run `fn` on numpy arrays; intermediates are dropped after their last use."""
    return Evaluator(fn)(args)


class Evaluator:
    """`evaluate` for one Function, with the per-function work (where each value lives, when it
    dies) done once: callers running the same small function often (the backward engine's
    cached plans) keep one. The Function must not change afterwards."""

    __slots__ = ("fn", "_params", "_steps", "_results", "_env", "_direct")

    def __init__(self, fn: Function):
        self.fn = fn
        slot: dict = {}
        for v in fn.params:
            slot.setdefault(id(v), len(slot))
        self._params = [(slot[id(p)], p.type.shape, p.type.dtype.np, p.type) for p in fn.params]
        env = [None] * len(slot)   # the environment's template: literals have slots too
        last_use = {}
        for i, eqn in enumerate(fn.eqns):
            for a in eqn.inputs:
                if isinstance(a, Var):
                    last_use[id(a)] = i
        keep = {id(r) for r in fn.results}
        # Per equation: op, operand slots, attrs, output types, output slots, and the slots
        # whose last reader it is (freed right after).
        self._steps = []
        for i, eqn in enumerate(fn.eqns):
            ins = []
            for a in eqn.inputs:
                if isinstance(a, Var):
                    ins.append(slot[id(a)])
                else:
                    ins.append(len(env))
                    env.append(literal_value(a))
            outs = []
            for v in eqn.outputs:
                outs.append(slot.setdefault(id(v), len(env)))
                if outs[-1] == len(env):
                    env.append(None)
            dead = sorted({slot[id(a)] for a in eqn.inputs
                           if isinstance(a, Var) and last_use[id(a)] == i and id(a) not in keep})
            self._steps.append((eqn.op, ins, eqn.attrs, [v.type for v in eqn.outputs], outs,
                                dead))
        self._results = [(True, slot[id(r)]) if isinstance(r, Var) else (False, r)
                         for r in fn.results]
        self._env = env
        # One equation from the parameters, in order, to the results (the adjoint of a lone
        # compiled call): run it without the environment.
        eqn = fn.eqns[0] if len(fn.eqns) == 1 else None
        self._direct = (eqn is not None and eqn.inputs == fn.params
                        and eqn.outputs == fn.results and len(set(map(id, fn.params))) ==
                        len(fn.params))

    def __call__(self, args) -> list[np.ndarray]:
        fn = self.fn
        if len(args) != len(self._params):
            raise TypeError(f"{fn.name}: expected {len(self._params)} arguments, got {len(args)}")
        env = self._env.copy()
        for (k, shape, dtype, t), a in zip(self._params, args):
            if type(a) is not np.ndarray:
                a = np.asarray(a)
            if a.shape != shape or (a.dtype is not dtype and a.dtype != dtype):
                raise TypeError(f"{fn.name}: argument of type {a.dtype}{list(a.shape)} "
                                f"does not match parameter {t}")
            env[k] = a
        if self._direct:
            op, _, attrs, out_types, _, _ = self._steps[0]
            # distinct parameters: slot k is parameter k
            return run_op_quiet(op, env[:len(self._params)], attrs, out_types)
        with np.errstate(all="ignore"):
            for op, ins, attrs, out_types, outs, dead in self._steps:
                vals = [env[k] for k in ins]
                for k, o in zip(outs, run_op(op, vals, attrs, out_types)):
                    env[k] = o
                for k in dead:
                    env[k] = None
        return [env[x] if is_var else np.asarray(literal_value(x)) for is_var, x in self._results]
