"""Tracing: running a Python function on symbolic Tensors to record its IR.

Traced tensors hold no data. When Python needs one's value (`bool()`, `.item()`, `.tolist()`),
the trace evaluates it on the concrete inputs of the call being traced and records a guard:
a bool in the IR that is True exactly when another input would give the same value, so the
compiled code can tell when a call must take a different path.
"""
from __future__ import annotations

import linecache
import math
import os
import sys
from dataclasses import dataclass

import numpy as np

from .grad_mode import is_grad_enabled
from .ir import Builder, Literal, TensorType, Var, bool_, ops
from .ir.interpreter import literal_value, run_op
from .tensor import Tensor, current_trace, set_current_trace

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_frame() -> str:
    """`file:line: source` of the innermost frame outside tracegrad itself."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" + (f": {line}" if line else "")


@dataclass
class Guard:
    """A value-dependent decision: the guard equation's output `var` must equal `expect`."""
    var: Var
    expect: bool
    at: str        # "file:line: source" of the Python code that read the value
    what: str      # "bool()", ".item()", ...
    value: str     # the value read, for messages
    error: str | None = None   # a runtime check: when the predicate holds, raise this

    def describe(self) -> str:
        """`line 12: if x.sum() > 0:` for a truth value, `line 3: ... (.item() == 2.5)`."""
        if self.error is not None:
            return f"`{_short(self.at)}` (check: {self.what} raises {self.error})"
        if self.what == "bool()":
            return f"`{_short(self.at)}`"
        return f"`{_short(self.at)}` ({self.what} == {self.value})"


def _short_frame() -> str:
    """`file.py:line` of the user code applying an op (the provenance of a traced equation)."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    return "" if frame is None else f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


def _short(at: str) -> str:
    """`file:line: source` -> `line N: source`."""
    head, _, source = at.partition(": ")
    line = head.rsplit(":", 1)[-1]
    return f"line {line}: {source}" if source else f"line {line}"


class Trace:
    """Records the ops applied to its tracers into a Builder.

    While a trace is active every op is recorded, including ops on concrete tensors the function
    closes over: those become extra parameters (`captured`), read afresh on every call.
    `guards` lists the value-dependent decisions taken (see the module docstring).
    """

    def __init__(self, name: str, values_known: bool = True):
        self.values_known = values_known   # False: tracing without concrete inputs
        self.builder = Builder(name, lift=self._lift)
        self.inputs: list[Tensor] = []
        self.captured: list[Tensor] = []
        self._captured_vars: dict[int, Var] = {}
        self.guards: list[Guard] = []
        self.mutations: dict[int, tuple] = {}   # id(parameter Var) -> (parameter, new value)
        # (kind, shape, dtype, params, value drawn now) per random tensor: inputs the
        # compiled function draws afresh on every call (see `creation.draw`).
        self.random: list[tuple] = []
        self._random_vars: list[Var] = []
        self._values: dict[int, np.ndarray] = {}   # concrete value of each evaluated Var
        self._evaluated = 0                         # equations evaluated so far

    def input(self, like: Tensor, hint: str) -> Tensor:
        sym = self.builder.param(like.type, hint)
        t = Tensor._make(None, requires_grad=like.requires_grad, trace=self, var=sym.var)
        t._param_var = sym.var      # what an in-place update of the input must write back to
        self._values[id(sym.var)] = like._data
        self.inputs.append(t)
        return t

    def mutate(self, t: Tensor, new: Var) -> None:
        """Record an in-place update of a tensor the caller holds (an input, or a tensor the
        function closes over): later ops read `new`, and the compiled function writes `new`
        back into the caller's tensor after each call."""
        if t._trace is self:
            param = t._param_var
            t._var = new
        else:
            param = self._lift(t, original=True)
        self.mutations[id(param)] = (param, new)

    def mutated(self) -> list:
        """(parameter position, final Var) of every parameter updated in place."""
        params = self.params()
        position = {id(p): i for i, p in enumerate(params)}
        return [(position[id(p)], v) for p, v in self.mutations.values()]

    def _lift(self, value, original: bool = False) -> Var:
        if isinstance(value, Tensor) and value._trace is self:
            return value._var
        if isinstance(value, Tensor) and value._trace is None:
            v = self._captured_vars.get(id(value))
            if v is None:
                v = Var(value.type, f"c{len(self.captured)}")
                self._captured_vars[id(value)] = v
                self._values[id(v)] = value._data
                self.captured.append(value)
            if not original and id(v) in self.mutations:   # updated in place earlier
                return self.mutations[id(v)][1]
            return v
        raise RuntimeError(f"a traced tensor from another tracegrad.compile trace was used here "
                           f"({_user_frame()}); traced tensors must not escape their function")

    def apply(self, op, inputs, attrs):
        if op.kind == "layout":  # the result aliases its input (see Tensor._inplace)
            for a in inputs:
                if isinstance(a, Tensor):
                    a._viewed = True
        atoms = [a if isinstance(a, Literal) else self._lift(a) for a in inputs]
        outs = self.builder.emit_vars(op, atoms, attrs)
        self.builder.eqns[-1].origin = _short_frame()
        if op.runtime_check is not None:
            self._runtime_checks(op, inputs, attrs)
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

    def _runtime_checks(self, op, inputs, attrs) -> None:
        """Record `op`'s error conditions as guards that raise (see `Op.runtime_check`); one
        that holds for the inputs being traced raises now, as eager code would."""
        at = _user_frame()
        for pred, message in op.runtime_check(*inputs, **attrs):
            var = self._lift(pred)
            if self.values_known and bool(self.value(pred)):
                raise RuntimeError(message)
            var = self.builder.emit_vars(ops.guard, [var], {"expect": False, "at": at})[0]
            self.guards.append(Guard(var, False, at, op.name, "", error=message))

    def detach(self, t: Tensor) -> Tensor:
        return self.apply(ops.stop_gradient, [t], {})

    def value(self, t: Tensor) -> np.ndarray:
        """The concrete value of `t` for the inputs being traced (equations not evaluated yet
        are evaluated now, with the same numpy implementations eager mode uses)."""
        var = self._lift(t)
        eqns = self.builder.eqns
        with np.errstate(all="ignore"):
            while self._evaluated < len(eqns):
                e = eqns[self._evaluated]
                args = [literal_value(a) if isinstance(a, Literal) else self._values[id(a)]
                        for a in e.inputs]
                outs = run_op(e.op, args, e.attrs, [v.type for v in e.outputs])
                self._values.update((id(v), o) for v, o in zip(e.outputs, outs))
                self._evaluated += 1
        return self._values[id(var)]

    def concrete(self, t: Tensor, what: str) -> np.ndarray:
        """`t`'s value for Python code (`what` is "bool()", ".item()", ...), guarded: a call
        with inputs that give another value (another truth value for `bool()`) must not reuse
        this trace."""
        if not self.values_known:
            raise NotImplementedError(
                f"{what} of a tensor at {_user_frame()}: this code is traced without concrete "
                f"values (the backward of a custom autograd.Function under tracegrad.compile), "
                f"so its Python control flow cannot depend on tensor values")
        data = self.value(t)
        if data.size == 0 or (what == "bool()" and data.size != 1):
            return data  # nothing to guard, or the caller raises PyTorch's error
        # Called from Python code inside the traced function: this trace is the current one,
        # so the ops below are recorded in it (for a captured concrete `t` too).
        if what == "bool()":
            x = ops.reshape(t, shape=())
            pred = x if x.dtype is bool_ else ops.ne(x, 0)
            expect, shown = bool(data), str(bool(data))
        else:
            pred, expect, shown = self._equals(t, data), True, _show(data)
        at = _user_frame()
        var = self.builder.emit_vars(ops.guard, [self._lift(pred)],
                                     {"expect": expect, "at": at})[0]
        self.guards.append(Guard(var, expect, at, what, shown))
        return data

    def _equals(self, t: Tensor, data: np.ndarray) -> Tensor:
        """A traced 0-d bool: every element of `t` equals `data` (NaN equal to NaN, and a
        zero only to a zero of the same sign: 1/x tells -0.0 from 0.0)."""
        if data.size == 1:
            x = ops.reshape(t, shape=())
            v = data.reshape(()).item()
            if isinstance(v, float) and math.isnan(v):
                return ops.ne(x, x)
            if isinstance(v, float) and v == 0:
                return ops.where(ops.eq(x, v), ops.eq(ops.div(1.0, x),
                                                      math.copysign(math.inf, v)), False)
            return ops.eq(x, v)
        same = ops.eq(t, Tensor._make(data.copy()))
        if data.dtype.kind == "f":
            zero = data == 0
            if zero.any():
                signed = ops.eq(ops.div(1.0, t), Tensor._make(
                    np.copysign(np.inf, data).astype(data.dtype)))
                same = ops.where(Tensor._make(zero), ops.where(same, signed, False), same)
            nan = np.isnan(data)
            if nan.any():
                same = ops.where(Tensor._make(nan), ops.ne(t, t), same)
        count = ops.reduce_sum(same, dims=tuple(range(data.ndim)), keepdim=False)
        return ops.eq(count, int(data.size))

    def __enter__(self):
        self._prev = current_trace()
        set_current_trace(self)
        return self

    def __exit__(self, *exc):
        set_current_trace(self._prev)
        return False

    def params(self) -> list[Var]:
        return ([t._param_var for t in self.inputs]
                + [self._captured_vars[id(t)] for t in self.captured]
                + self._random_vars)

    def full(self, shape: tuple, dtype, value) -> Tensor:
        """A constant tensor made inside the traced function (`tracegrad.zeros(3)`)."""
        var = self.builder.emit_vars(ops.full, [], {"shape": tuple(shape), "dtype": dtype,
                                                    "value": dtype.np.type(value).item()})[0]
        return Tensor._make(None, trace=self, var=var)

    def random_input(self, kind: str, shape: tuple, dtype, params: tuple) -> Tensor:
        """A tensor of random samples: a parameter of the traced function that every call
        fills with fresh draws (this trace's own draw serves the call being traced)."""
        from .creation import draw
        var = Var(TensorType(tuple(shape), dtype), f"rng{len(self.random)}")
        value = draw(kind, tuple(shape), dtype, tuple(params))
        self._values[id(var)] = value
        self._random_vars.append(var)
        self.random.append((kind, tuple(shape), dtype, tuple(params), value))
        return Tensor._make(None, trace=self, var=var)


def _show(data: np.ndarray) -> str:
    return repr(data.reshape(()).item()) if data.size == 1 else f"a {data.dtype} array"
