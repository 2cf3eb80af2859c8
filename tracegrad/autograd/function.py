"""Custom differentiable functions: subclass `Function` with static `forward(ctx, ...)` and
`backward(ctx, *grad_outputs)`, call `MyFunction.apply(...)`.

A call records one node whose VJP rule is an opaque op calling `backward`. The node reaches
its `ctx` through a handle saved like any other value, so graphs that use the same Function
the same way share one cached backward plan, and a second backward through a freed graph
raises as usual.
"""
from __future__ import annotations

import itertools
import weakref

import numpy as np

from .. import versions
from ..grad_mode import is_grad_enabled, no_grad
from ..ir import Op, TensorType, int64
from .engine import BACKWARD_TWICE, Node

_contexts: dict = {}
_handles = itertools.count()


class FunctionCtx:
    """What `forward` leaves for `backward`: `save_for_backward(*tensors)` /
    `saved_tensors`, `needs_input_grad`, and any attribute set on it."""

    def __init__(self, needs_input_grad: tuple):
        self.needs_input_grad = needs_input_grad
        self._saved = ()
        self._traced_saved = None
        self.materialize_grads = True

    def save_for_backward(self, *tensors) -> None:
        self._saved = tuple((t, None if t is None else versions.version(t._data))
                            for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self._traced_saved is not None:   # tracing `backward` under tracegrad.compile
            return self._traced_saved
        for t, v in self._saved:
            if t is not None and versions.version(t._data) != v:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [{t.dtype.name} {list(t.shape)}] is at version "
                    f"{versions.version(t._data)}; expected version {v} instead.")
        return tuple(t for t, _ in self._saved)

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable = {id(t) for t in tensors}

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class Function:
    """Base class of custom autograd functions (see the module docstring)."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        from ..tensor import Tensor, current_trace, edge_of
        if current_trace() is not None:
            return _apply_traced(cls, current_trace(), args, kwargs)
        tensor_args = [(i, a) for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
        with no_grad():
            result = cls.forward(ctx, *args, **kwargs)
        outs = list(result) if isinstance(result, tuple) else [result]
        if not all(isinstance(o, Tensor) for o in outs):
            raise TypeError(f"{cls.__name__}.forward must return a Tensor or a tuple of Tensors")
        record = is_grad_enabled() and any(a.requires_grad for _, a in tensor_args)
        non_diff = getattr(ctx, "_non_differentiable", set())
        if not record:
            return result
        handle = next(_handles)
        _contexts[handle] = ctx
        out_types = tuple(o.type for o in outs)
        grads_for = tuple(i for i, a in tensor_args if a.requires_grad)
        op = _forward_op(cls, len(args), tuple(i for i, _ in tensor_args), grads_for)
        handle_array = np.asarray(handle, dtype=np.int64)
        inputs = [a for _, a in tensor_args]
        node = Node.create(op, {"out_types": out_types},
                           [("const", TensorType((), int64))] + [edge_of(a) for a in inputs],
                           [handle_array] + [a._data for a in inputs],
                           [o._data for o in outs], list(out_types), f"{cls.__name__}Backward")
        weakref.finalize(node, _contexts.pop, handle, None)
        wrapped = []
        for k, o in enumerate(outs):
            grad = o.dtype.is_floating_point and id(o) not in non_diff
            wrapped.append(Tensor._make(o._data, requires_grad=grad,
                                        grad_fn=node if grad else None, out_index=k))
        return tuple(wrapped) if isinstance(result, tuple) else wrapped[0]


_ops: dict = {}


def _forward_op(cls, n_args: int, tensor_positions: tuple, grads_for: tuple) -> Op:
    """The node op of `cls` for one way of calling it (which arguments are tensors and which
    need gradients): cached, so equal graphs have equal signatures."""
    key = (cls, n_args, tensor_positions, grads_for)
    op = _ops.get(key)
    if op is not None:
        return op

    def run_backward(handle, *cts, types, n_out):
        ctx = _contexts.get(int(handle))
        if ctx is None:
            raise RuntimeError(BACKWARD_TWICE)
        from ..tensor import Tensor
        grads = cls.backward(ctx, *[Tensor._make(np.array(c)) for c in cts[:n_out]])
        grads = grads if isinstance(grads, tuple) else (grads,)
        if len(grads) != n_args:
            raise RuntimeError(f"function {cls.__name__}Backward returned an incorrect number of "
                               f"gradients (expected {n_args}, got {len(grads)})")
        out = []
        for pos, t in zip(grads_for, types):
            g = grads[pos]
            if g is None:
                out.append(np.zeros(t.shape, t.dtype.np))
                continue
            if not isinstance(g, Tensor):
                raise TypeError(f"{cls.__name__}.backward returned a {type(g).__name__} for "
                                f"argument {pos}; expected a Tensor or None")
            if tuple(g.shape) != t.shape:
                raise RuntimeError(f"Function {cls.__name__}Backward returned an invalid "
                                   f"gradient at index {pos} - got {list(g.shape)} but expected "
                                   f"shape compatible with {list(t.shape)}")
            out.append(np.asarray(g._data, dtype=t.dtype.np))
        return tuple(out)

    def not_differentiable(*args, **kwargs):
        raise NotImplementedError(f"double backward through the custom Function {cls.__name__} "
                                  f"is not supported (its backward runs as Python code)")

    backward_op = Op(f"{cls.__name__}_backward", kind="opaque",
                     infer=lambda *ts, types, n_out: list(types), impl=run_backward,
                     vjp=not_differentiable)

    def rule(cts, outs, handle, *inputs, out_types):
        if not isinstance(cts, tuple):
            cts = (cts,)
        types = tuple(inputs[tensor_positions.index(p)].type for p in grads_for)
        # The inputs are operands too (unused by the impl): gradients computed from them must
        # not look constant to a second differentiation (which then raises).
        grads = backward_op(handle, *cts, *inputs, types=types, n_out=len(out_types))
        grads = grads if isinstance(grads, tuple) else (grads,)
        result = [None] * (1 + len(tensor_positions))
        for p, g in zip(grads_for, grads):
            result[1 + tensor_positions.index(p)] = g
        return tuple(result)

    op = _ops[key] = Op(cls.__name__, kind="opaque", infer=lambda *ts, out_types: list(out_types),
                        impl=None, vjp=rule, grad_fn=f"{cls.__name__}Backward")
    return op


# ---- under tracegrad.compile ---------------------------------------------------------------
# The forward is traced as ops (with no gradient of its own) and `backward` is traced once,
# without values, into an IR function that becomes the VJP rule of a `custom_vjp` equation
# joining the forward's outputs to the inputs. So the compiled adjoint runs the user's rule.

class _Backward:
    """The traced backward of one custom Function call: `fn` maps (cotangents, saved tensors,
    constants it closes over) to the gradients of the arguments in `grads_for`."""

    def __init__(self, name: str, fn, grads_for: tuple, n_args: int):
        self.name, self.fn, self.grads_for, self.n_args = name, fn, grads_for, n_args

    def __repr__(self) -> str:   # stable across processes: the IR text keys compiled code
        return f"<backward of {self.name} {self.fn.key()[:12]}>"


def _custom_vjp_rule(cts, outs, *inputs, n_out, backward):
    from ..ir import Literal, Sym, bind
    cts = cts if isinstance(cts, tuple) else (cts,)
    n_tensor_args = len(backward.grads_for_positions)
    args = inputs[n_out:n_out + n_tensor_args]
    extra = inputs[n_out + n_tensor_args:]
    builder = next(a.builder for a in (*cts, *inputs) if isinstance(a, Sym))
    env = {id(p): v for p, v in zip(backward.fn.params, (*cts, *extra))}
    for e in backward.fn.eqns:
        ins = [a.value if isinstance(a, Literal) else env[id(a)] for a in e.inputs]
        if e.op.kind == "source":
            res = builder.emit(e.op, [], e.attrs)
        else:
            res = bind(e.op, *ins, **e.attrs)
        res = res if isinstance(res, tuple) else (res,)
        env.update((id(v), r) for v, r in zip(e.outputs, res))
    grads = [env[id(r)] if not isinstance(r, Literal) else r.value for r in backward.fn.results]
    by_position = dict(zip(backward.grads_for, grads))
    return ((None,) * n_out + tuple(by_position.get(p) for p in backward.grads_for_positions)
            + (None,) * len(extra))


CUSTOM_VJP = Op(
    "custom_vjp", kind="composite",
    infer=lambda *types, n_out, backward: list(types[:n_out]),
    impl=lambda *arrays, n_out, backward: tuple(arrays[:n_out]) if n_out > 1 else arrays[0],
    vjp=_custom_vjp_rule,
    decompose=lambda *values, n_out, backward: tuple(values[:n_out]) if n_out > 1
    else values[0])


def _apply_traced(cls, trace, args, kwargs):
    from ..tensor import Tensor
    from ..tracing import Trace
    tensor_positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
    ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
    with no_grad():   # the forward's own ops carry no gradient: the user's backward does
        result = cls.forward(ctx, *args, **kwargs)
    outs = list(result) if isinstance(result, tuple) else [result]
    if not all(isinstance(o, Tensor) for o in outs):
        raise TypeError(f"{cls.__name__}.forward must return a Tensor or a tuple of Tensors")
    grads_for = tuple(i for i in tensor_positions if args[i].requires_grad)
    if not grads_for or not is_grad_enabled():
        return result
    saved = [t for t, _ in ctx._saved]
    # Trace `backward` without values: cotangents and saved tensors are its inputs.
    inner = Trace(f"{cls.__name__}_backward", values_known=False)
    cts = [inner.input(Tensor._make(None, type=o.type), f"ct{k}") for k, o in enumerate(outs)]
    ctx._traced_saved = tuple(None if t is None else inner.input(Tensor._make(None, type=t.type),
                                                                 f"saved{k}")
                              for k, t in enumerate(saved))
    try:
        with inner:
            grads = cls.backward(ctx, *cts)
    finally:
        ctx._traced_saved = None
    grads = grads if isinstance(grads, tuple) else (grads,)
    if len(grads) != len(args):
        raise RuntimeError(f"function {cls.__name__}Backward returned an incorrect number of "
                           f"gradients (expected {len(args)}, got {len(grads)})")
    results = []
    for i in grads_for:
        g = grads[i]
        if g is None:
            g = inner.full(tuple(args[i].shape), args[i].dtype, 0)
        elif tuple(g.shape) != tuple(args[i].shape):
            raise RuntimeError(f"Function {cls.__name__}Backward returned an invalid gradient "
                               f"at index {i} - got {list(g.shape)} but expected shape "
                               f"compatible with {list(args[i].shape)}")
        if g.dtype is not args[i].dtype:
            g = g.to(args[i].dtype)
        results.append(inner._lift(g))
    from ..ir import Function
    fn = Function(f"{cls.__name__}_backward", inner.params(), inner.builder.eqns, results)
    fn.verify()
    backward = _Backward(cls.__name__, fn, grads_for, len(args))
    backward.grads_for_positions = tensor_positions
    saved_inputs = [t for t in saved if t is not None]
    operands = outs + [args[i] for i in tensor_positions] + saved_inputs + inner.captured
    joined = trace.apply(CUSTOM_VJP, operands, {"n_out": len(outs), "backward": backward})
    joined = joined if isinstance(joined, tuple) else (joined,)
    return tuple(joined) if isinstance(result, tuple) else joined[0]
