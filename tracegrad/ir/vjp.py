"""Reverse mode as an IR-to-IR transform.

`vjp(fwd, wrt)` builds the adjoint function: its parameters are the forward values the VJP
rules read (residuals) followed by one cotangent per forward result; its results are the
cotangents of the forward parameters listed in `wrt` that the results depend on, then those of
the intermediate values listed in `retain` that receive one.
"""
from __future__ import annotations

from dataclasses import dataclass

from .builder import Builder, Sym
from .function import Eqn, Function, Literal, Var
from .ops import full, sum_to
from .simplify import canonicalize, dead_code_elimination, simplify


@dataclass
class Adjoint:
    fn: Function          # (*residuals, *cotangents) -> grads
    residuals: list       # forward Vars (params or equation outputs) feeding fn.params[:n]
    wrt: list             # forward param index of each gradient result of `fn`
    readers: list         # per residual: forward equation indices whose VJP rules read it
    retained: list        # index into `retain` of each result after the gradients
    # Forward equation indices whose rules read saved values for any operand, even one that
    # needs no gradient: like the set of PyTorch nodes that save tensors (MulBackward0 saves
    # the scalar of `x * 2.0`), it decides which nodes a second backward may not run.
    saved_by: set

    @property
    def n_residuals(self) -> int:
        return len(self.residuals)


def active_vars(fwd: Function, wrt) -> set:
    """Ids of the floating-point values that depend differentiably on the `wrt` parameters."""
    active = {id(fwd.params[i]) for i in wrt}
    for eqn in fwd.eqns:
        if eqn.op.differentiable and any(isinstance(a, Var) and id(a) in active
                                         for a in eqn.inputs):
            active.update(id(v) for v in eqn.outputs if v.dtype.is_floating_point)
    return active


def vjp(fwd: Function, wrt, name: str | None = None, retain=()) -> Adjoint:
    wrt = list(wrt)
    retain_ids = {id(v): k for k, v in enumerate(retain)}
    retained: dict[int, Sym] = {}
    b = Builder(name or f"{fwd.name}_vjp")
    active = active_vars(fwd, wrt)
    residual_sym: dict[int, Sym] = {}   # forward var id -> placeholder in the adjoint
    residual_of: dict[int, Var] = {}    # placeholder var id -> forward var

    def saved(a):
        if isinstance(a, Literal):
            return a.value
        s = residual_sym.get(id(a))
        if s is None:
            s = residual_sym[id(a)] = Sym(b, Var(a.type, a.hint))
            residual_of[id(s.var)] = a
        return s

    ct_params = [Var(r.type, "ct" if len(fwd.results) == 1 else f"ct{i}")
                 for i, r in enumerate(fwd.results)]
    cts: dict[int, Sym] = {}

    def accumulate(var, g):
        prev = cts.get(id(var))
        cts[id(var)] = g if prev is None else prev + g

    for r, p in zip(fwd.results, ct_params):
        if isinstance(r, Var) and id(r) in active:
            accumulate(r, Sym(b, p))

    origin: dict[int, int] = {}   # id(first output) of an adjoint eqn -> forward eqn index
    saved_by = set()
    for index in range(len(fwd.eqns) - 1, -1, -1):
        eqn = fwd.eqns[index]
        for v in eqn.outputs:  # every consumer is processed: the cotangent is final
            if id(v) in retain_ids and id(v) in cts:
                retained[retain_ids[id(v)]] = cts[id(v)]
        if not any(id(v) in cts for v in eqn.outputs):
            continue
        if not any(isinstance(a, Var) and id(a) in active for a in eqn.inputs):
            continue
        op = eqn.op
        if op.vjp is None:
            raise NotImplementedError(f"{op.name}: no VJP rule")
        out_cts = [cts.pop(id(v), None) for v in eqn.outputs]
        outs = [saved(v) for v in eqn.outputs]
        inputs = [saved(a) for a in eqn.inputs]
        start = len(b.eqns)
        if len(eqn.outputs) == 1:
            grads = op.vjp(out_cts[0], outs[0], *inputs, **eqn.attrs)
        else:
            out_cts = [c if c is not None else b.emit(full, [], dict(
                shape=v.shape, dtype=v.dtype, value=0.0)) for c, v in zip(out_cts, eqn.outputs)]
            grads = op.vjp(tuple(out_cts), tuple(outs), *inputs, **eqn.attrs)
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        for a, g in zip(eqn.inputs, grads):
            if g is None or not isinstance(a, Var) or id(a) not in active:
                continue
            if tuple(g.shape) != a.shape:
                g = sum_to(g, a.shape)
            accumulate(a, g)
        where = f"vjp of {op.name}" + (f" at {eqn.origin}" if eqn.origin else "")
        for e in b.eqns[start:]:
            origin[id(e.outputs[0])] = index
            e.origin = where
            if any(isinstance(a, Var) and id(a) in residual_of for a in e.inputs):
                saved_by.add(index)

    grad_vars, grad_of = [], []
    for i in wrt:
        g = cts.get(id(fwd.params[i]))
        if g is not None:
            grad_vars.append(b.atom(g))
            grad_of.append(i)
    kept = sorted(retained)
    grad_vars += [b.atom(retained[k]) for k in kept]
    # Which rules read each saved value, counting only equations a gradient needs (a rule also
    # builds cotangents for inputs that turn out inactive) and before CSE merges equations of
    # different rules.
    live = dead_code_elimination(Function(b.name, [], b.eqns, grad_vars))
    readers: dict[int, set] = {}
    for e in live.eqns:
        for a in e.inputs:
            if isinstance(a, Var) and id(a) in residual_of:
                readers.setdefault(id(a), set()).add(origin[id(e.outputs[0])])
    fn = simplify(live, canonical=False)
    used = {id(a) for e in fn.eqns for a in e.inputs} | {id(r) for r in fn.results}
    res_params = [s.var for s in residual_sym.values() if id(s.var) in used]
    fn.params = res_params + ct_params
    fn = canonicalize(fn)
    return Adjoint(fn, [residual_of[id(v)] for v in res_params], grad_of,
                   [readers.get(id(v), set()) for v in res_params], kept, saved_by)


def vjp_function(fn: Function, wrt, name: str | None = None) -> tuple[Function, list]:
    """(x..., ct...) -> the cotangents of the parameters `wrt` of `fn`, as one Function that
    recomputes the forward values its rules read (so it depends only on its parameters and
    can be compiled or differentiated again); also the parameter index of each result."""
    adj = vjp(fn, wrt, name=name or f"{fn.name}_vjp")
    n_res = adj.n_residuals
    subst = {id(p): r for p, r in zip(adj.fn.params[:n_res], adj.residuals)}

    def look(a):
        return subst.get(id(a), a) if isinstance(a, Var) else a

    eqns = list(fn.eqns) + [type(e)(e.op, [look(a) for a in e.inputs], e.outputs, e.attrs,
                                    e.origin) for e in adj.fn.eqns]
    out = Function(adj.fn.name, list(fn.params) + adj.fn.params[n_res:], eqns,
                   [look(r) for r in adj.fn.results[:len(adj.wrt)]])
    return simplify(out), list(adj.wrt)


def value_and_grad_function(fn: Function, n_out: int, adj: Adjoint,
                            name: str | None = None) -> Function:
    """`fn` computing, right after its first `n_out` results, the gradients of `adj` (the
    adjoint of those results) for cotangents of one: the loss and its gradients in one program,
    whose loops the backend fuses (JAX's `value_and_grad`). `adj.wrt` says whose gradient each
    inserted result is."""
    n_res = adj.n_residuals
    subst = {id(p): r for p, r in zip(adj.fn.params[:n_res], adj.residuals)}
    seeds = [Eqn(full, [], [ct], dict(shape=ct.shape, dtype=ct.dtype, value=1.0))
             for ct in adj.fn.params[n_res:]]

    def look(a):
        return subst.get(id(a), a) if isinstance(a, Var) else a

    eqns = list(fn.eqns) + seeds + [type(e)(e.op, [look(a) for a in e.inputs], e.outputs,
                                            e.attrs, e.origin) for e in adj.fn.eqns]
    grads = [look(r) for r in adj.fn.results[:len(adj.wrt)]]
    out = Function(name or fn.name, list(fn.params), eqns,
                   fn.results[:n_out] + grads + fn.results[n_out:])
    return simplify(out)
