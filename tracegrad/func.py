"""Function transforms on functions of tensors, in the style of `torch.func` / JAX:
`grad`, `value_and_grad`, `vjp`, `jvp`, `jacrev`, `hessian`.

They are built on the autograd engine with `create_graph=True`, so they compose
(`grad(grad(f))`, `hessian = jacrev(grad(f))`) and apply to compiled functions, whose
derivatives of every order then run compiled code (each order's VJP is compiled on first
use; see `specialization.compiled_call`). Forward mode
(`jvp`) is the VJP of the VJP: `v -> J v` is the gradient, with respect to a dummy cotangent
`u`, of `<J^T u, v>`, computed on the same adjoint IR as reverse mode.
"""
from __future__ import annotations

import numpy as np

from . import autograd
from .grad_mode import enable_grad
from .tensor import Tensor


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _fresh(args, argnums) -> bool:
    """No argument to differentiate is part of a graph yet: the results then leave the
    transform detached (nothing outside can differentiate them further)."""
    return not any(isinstance(args[i], Tensor) and args[i].requires_grad for i in argnums)


def _out(fresh: bool, values):
    if not fresh:
        return values
    if isinstance(values, tuple):
        return tuple(_out(True, v) for v in values)
    return values.detach() if isinstance(values, Tensor) else values


def _leaves(args, argnums: tuple) -> list:
    """The arguments to differentiate as fresh nodes: a new leaf, or for an argument already
    in a graph (an outer transform's input) a recorded copy of it, so that gradients still
    reach the outer level while this level differentiates only its own uses (not the other
    uses of the same tensor, e.g. through a closure)."""
    out = list(args)
    for i in argnums:
        a = args[i]
        if not isinstance(a, Tensor):
            raise TypeError(f"argument {i} to differentiate must be a Tensor, got "
                            f"{type(a).__name__}")
        if not a.dtype.is_floating_point:
            raise TypeError(f"argument {i} to differentiate must be floating point, got "
                            f"{a.dtype.name}")
        out[i] = a.clone() if a.requires_grad else a.detach().requires_grad_(True)
    return out


def _gradients(out, inputs, grad_outputs=None) -> tuple:
    """d out / d inputs (zeros where an input is unused), recorded for further transforms."""
    gs = autograd.grad(out, inputs, grad_outputs, create_graph=True, allow_unused=True)
    return tuple(Tensor._make(np.zeros(tuple(x.shape), x.dtype.np)) if g is None else g
                 for g, x in zip(gs, inputs))


def value_and_grad(f, argnums=0, has_aux: bool = False):
    """`f` -> a function returning (f(*args), d f / d args[argnums]); f must return a scalar
    tensor (or (scalar, aux) with `has_aux`)."""
    nums = _as_tuple(argnums)

    def wrapped(*args, **kwargs):
        fresh = _fresh(args, nums)
        with enable_grad():
            args = _leaves(args, nums)
            result = f(*args, **kwargs)
            value, aux = result if has_aux else (result, None)
            if not isinstance(value, Tensor) or value.numel() != 1:
                raise RuntimeError("grad: the function must return a tensor with a single "
                                   "element (got " + (f"shape {list(value.shape)})"
                                                      if isinstance(value, Tensor)
                                                      else f"{type(value).__name__})"))
            if not value.requires_grad:   # a constant function: zero gradients
                gs = tuple(Tensor._make(np.zeros(tuple(args[i].shape), args[i].dtype.np))
                           for i in nums)
            else:
                gs = _gradients(value, [args[i] for i in nums])
        g = gs if isinstance(argnums, (tuple, list)) else gs[0]
        return _out(fresh, ((value, aux), g) if has_aux else (value, g))

    return wrapped


def grad(f, argnums=0, has_aux: bool = False):
    """`f` -> its gradient function (with respect to args[argnums]); composes."""
    vg = value_and_grad(f, argnums, has_aux)

    def wrapped(*args, **kwargs):
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapped


def vjp(f, *primals):
    """(f(*primals), vjp_fn) where vjp_fn(*cotangents) gives the cotangents of the primals."""
    fresh = _fresh(primals, range(len(primals)))
    with enable_grad():
        xs = _leaves(primals, tuple(range(len(primals))))
        out = f(*xs)
    outs = _as_tuple(out)

    def vjp_fn(*cotangents):
        return _out(fresh, _vjp(*cotangents))

    def _vjp(*cotangents):
        if len(cotangents) != len(outs):
            raise RuntimeError(f"vjp: expected {len(outs)} cotangent(s), got {len(cotangents)}")
        with enable_grad():
            live = [(o, c) for o, c in zip(outs, cotangents) if o.requires_grad]
            if not live:
                return tuple(Tensor._make(np.zeros(tuple(x.shape), x.dtype.np)) for x in xs)
            return _gradients([o for o, _ in live], xs, [c for _, c in live])

    return _out(fresh, out), vjp_fn


def jvp(f, primals, tangents):
    """(f(*primals), J @ tangents): forward mode, as the VJP of the VJP (see the module
    docstring)."""
    primals, tangents = _as_tuple(primals), _as_tuple(tangents)
    if len(primals) != len(tangents):
        raise RuntimeError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    for p, t in zip(primals, tangents):
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError(f"jvp: tangent of shape {list(t.shape)} for a primal of shape "
                               f"{list(p.shape)}")
    fresh = _fresh(primals, range(len(primals)))
    with enable_grad():
        xs = _leaves(primals, tuple(range(len(primals))))
        out = f(*xs)
        outs = _as_tuple(out)
        us = [Tensor._make(np.zeros(tuple(o.shape), o.dtype.np)).requires_grad_(True)
              for o in outs]
        live = [(o, u) for o, u in zip(outs, us) if o.requires_grad]
        if not live:
            zero = tuple(Tensor._make(np.zeros(tuple(o.shape), o.dtype.np)) for o in outs)
            return _out(fresh, (out, zero if isinstance(out, tuple) else zero[0]))
        jt_u = _gradients([o for o, _ in live], xs, [u for _, u in live])   # J^T u
        terms = [(g * t).sum() for g, t in zip(jt_u, tangents)]
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        if not total.requires_grad:   # f is affine in a way that gives no dependence on u
            tangent_out = tuple(Tensor._make(np.zeros(tuple(o.shape), o.dtype.np))
                                for o in outs)
        else:
            tangent_out = _gradients(total, us)
    return _out(fresh, (out, tangent_out if isinstance(out, tuple) else tangent_out[0]))


def jacrev(f, argnums: int = 0):
    """`f` -> its Jacobian with respect to args[argnums] (shape out.shape + arg.shape), one
    reverse-mode pass per output element."""
    def wrapped(*args, **kwargs):
        fresh = _fresh(args, (argnums,))
        with enable_grad():
            xs = _leaves(args, (argnums,))
            out = f(*xs, **kwargs)
            x = xs[argnums]
            rows = []
            for k in range(out.numel()):
                seed = np.zeros(out.numel(), out.dtype.np)
                seed[k] = 1
                seed_t = Tensor._make(seed.reshape(tuple(out.shape)))
                if out.requires_grad:
                    (g,) = _gradients(out, [x], seed_t)
                else:
                    g = Tensor._make(np.zeros(tuple(x.shape), x.dtype.np))
                rows.append(g.reshape(1, x.numel()))
            from .shaping import cat
            jac = cat(rows, 0) if rows else Tensor._make(np.zeros((0, x.numel()), x.dtype.np))
        return _out(fresh, jac.reshape(*out.shape, *x.shape))

    return wrapped


def hessian(f, argnums: int = 0):
    """`f` (scalar-valued) -> its Hessian with respect to args[argnums]."""
    return jacrev(grad(f, argnums), argnums)


__all__ = ["grad", "hessian", "jacrev", "jvp", "value_and_grad", "vjp"]
