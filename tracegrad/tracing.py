"""Tracing: running a Python function on symbolic Tensors to record its IR."""
from __future__ import annotations

import linecache
import os
import sys

from .grad_mode import is_grad_enabled
from .ir import Builder, Literal, Var, ops
from .tensor import Tensor, current_trace, set_current_trace

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class ConcretizationError(RuntimeError):
    """A traced function asked for the value of a traced tensor (bool(), .item(), ...)."""


def _user_frame() -> str:
    """`file:line: source` of the innermost frame outside tracegrad itself."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" + (f": {line}" if line else "")


class Trace:
    """Records the ops applied to its tracers into a Builder.

    While a trace is active every op is recorded, including ops on concrete tensors the function
    closes over: those become extra parameters (`captured`), read afresh on every call.
    """

    def __init__(self, name: str):
        self.builder = Builder(name, lift=self._lift)
        self.inputs: list[Tensor] = []
        self.captured: list[Tensor] = []
        self._captured_vars: dict[int, Var] = {}

    def input(self, like: Tensor, hint: str) -> Tensor:
        sym = self.builder.param(like.type, hint)
        t = Tensor._make(None, requires_grad=like.requires_grad, trace=self, var=sym.var)
        self.inputs.append(t)
        return t

    def _lift(self, value) -> Var:
        if isinstance(value, Tensor) and value._trace is self:
            return value._var
        if isinstance(value, Tensor) and value._trace is None:
            v = self._captured_vars.get(id(value))
            if v is None:
                v = Var(value.type, f"c{len(self.captured)}")
                self._captured_vars[id(value)] = v
                self.captured.append(value)
            return v
        raise RuntimeError(f"a traced tensor from another tracegrad.compile trace was used here "
                           f"({_user_frame()}); traced tensors must not escape their function")

    def apply(self, op, inputs, attrs):
        atoms = [a if isinstance(a, Literal) else self._lift(a) for a in inputs]
        outs = self.builder.emit_vars(op, atoms, attrs)
        differentiable = op.differentiable and any(
            isinstance(a, Tensor) and a._requires_grad for a in inputs)
        requires = differentiable and is_grad_enabled()
        if differentiable and not requires:
            # Computed under no_grad: the adjoint must not flow through it either.
            outs = [self.builder.emit_vars(ops.stop_gradient, [v], {})[0]
                    if v.dtype.is_floating_point else v for v in outs]
        results = [Tensor._make(None, requires_grad=requires and v.dtype.is_floating_point,
                                trace=self, var=v) for v in outs]
        return results[0] if len(results) == 1 else tuple(results)

    def detach(self, t: Tensor) -> Tensor:
        return self.apply(ops.stop_gradient, [t], {})

    def concretization_error(self, what: str):
        raise ConcretizationError(
            f"{what} needs a tensor's value while tracing, at {_user_frame()}. tracegrad.compile "
            f"traces the function once per input signature, so Python control flow cannot depend "
            f"on tensor values (it would bake in one branch). Compute both branches and select "
            f"with tracegrad.where, or move the value-dependent code outside the compiled function.")

    def __enter__(self):
        self._prev = current_trace()
        set_current_trace(self)
        return self

    def __exit__(self, *exc):
        set_current_trace(self._prev)
        return False

    def params(self) -> list[Var]:
        return [t._var for t in self.inputs] + [self._captured_vars[id(t)] for t in self.captured]
