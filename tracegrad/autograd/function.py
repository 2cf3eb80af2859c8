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
        self.materialize_grads = True

    def save_for_backward(self, *tensors) -> None:
        self._saved = tuple((t, None if t is None else versions.version(t._data))
                            for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
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
            raise NotImplementedError(
                f"{cls.__name__}.apply inside tracegrad.compile: custom autograd.Functions run "
                f"eagerly only (their backward is Python code); call it outside the compiled "
                f"function")
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
