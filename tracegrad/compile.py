"""`@tracegrad.compile`: trace once per input signature, compile forward and adjoint IR, re-run.

The compiled forward returns the function's outputs plus the intermediate values the adjoint
needs (residuals). Outputs get a `CompiledFunctionBackward` grad_fn: a Node of an opaque op
whose VJP rule calls the compiled adjoint, so the eager engine runs it like any other node and
`.grad` accumulation, `retain_graph` and mixing with eager ops behave as in eager mode.
"""
from __future__ import annotations

import functools
import os
import types

import numpy as np

from . import autograd
from .grad_mode import is_grad_enabled
from .ir import Function, Op, Var, evaluate, simplify, vjp
from .tensor import Tensor, current_trace, edge_of
from .tracing import Trace


class InterpretedProgram:
    """The reference backend: evaluates IR with numpy (for debugging and cross-checking)."""

    def __init__(self, fn: Function):
        self.fn = fn

    def __call__(self, *arrays):
        return evaluate(self.fn, arrays)


def _backend(name: str):
    if name == "llvm":
        from .codegen import compile_function
        return compile_function
    if name == "interpreter":
        return InterpretedProgram
    raise ValueError(f"unknown backend {name!r} (expected 'llvm' or 'interpreter')")


class Specialization:
    """Everything compiled for one input signature."""

    def __init__(self, name, forward: Function, captured, out_requires, multiple: bool,
                 bindings: list, backend: str, wrt: list):
        self.forward = forward
        self.captured = captured
        self.captured_sig = [_tensor_sig(t) for t in captured]
        self.bindings = bindings
        self.out_requires = out_requires
        self.multiple = multiple
        self.n_out = len(forward.results)
        self.adjoint = None
        compile_fn = _backend(backend)
        if wrt:
            self.adjoint = vjp(forward, wrt, name=f"{name}_vjp")
            # Residuals that are inputs are read from the inputs; the others become extra
            # ("hidden") outputs of the forward program.
            param_index = {id(p): i for i, p in enumerate(forward.params)}
            self.hidden = [r for r in self.adjoint.residuals if id(r) not in param_index]
            hidden_index = {id(r): self.n_out + k for k, r in enumerate(self.hidden)}
            self.residual_src = [("in", param_index[id(r)]) if id(r) in param_index
                                 else ("out", hidden_index[id(r)])
                                 for r in self.adjoint.residuals]
            self.out_types = [v.type for v in forward.results + self.hidden]
            joint = Function(name, forward.params, forward.eqns, forward.results + self.hidden)
            self.forward_program = compile_fn(joint)
            self.backward_program = compile_fn(self.adjoint.fn)
            self.call_op = self._call_op(name)
        else:
            self.forward_program = compile_fn(forward)
            self.backward_program = None

    def _call_op(self, name) -> Op:
        adj = self.adjoint
        out_types = self.out_types
        grad_types = [v.type for v in adj.fn.results]
        n_in = len(self.forward.params)
        backward_op = Op(f"{name}_backward", kind="opaque",
                         infer=lambda *types: grad_types,
                         impl=lambda *arrays: tuple(self.backward_program(*arrays)))

        def rule(cts, outs, *inputs):
            if not isinstance(cts, tuple):
                cts, outs = (cts,), (outs,)
            residuals = [inputs[i] if src == "in" else outs[i] for src, i in self.residual_src]
            grads = backward_op(*residuals, *cts[:self.n_out])
            grads = grads if isinstance(grads, tuple) else (grads,)
            result = [None] * n_in
            for i, g in zip(adj.wrt, grads):
                result[i] = g
            return tuple(result)

        return Op(name, kind="opaque", infer=lambda *types: out_types,
                  impl=lambda *arrays: tuple(self.forward_program(*arrays)),
                  vjp=rule, grad_fn="CompiledFunctionBackward")

    def guards_hold(self) -> bool:
        """Captured tensors kept their types, and the names the function reads them through
        (globals, closure cells) still refer to the same tensors."""
        return ([_tensor_sig(t) for t in self.captured] == self.captured_sig
                and all(_binding(holder, name) is value for holder, name, value in self.bindings))

    def run(self, tensors):
        """Run the compiled forward on `tensors` (then the captured ones); outputs that
        require grad share one `CompiledFunctionBackward` node holding the residuals."""
        inputs = list(tensors) + self.captured
        arrays = [t._data for t in inputs]
        outs = self.forward_program(*arrays)
        node = None
        if self.backward_program is not None:  # grad mode is part of the signature
            node = autograd.Node.create(
                self.call_op, {}, [edge_of(t) for t in inputs], arrays, outs, self.out_types,
                "CompiledFunctionBackward")
        results = []
        for i, (o, req) in enumerate(zip(outs[:self.n_out], self.out_requires)):
            grad = node is not None and req
            results.append(Tensor._make(o, requires_grad=grad, grad_fn=node if grad else None,
                                        out_index=i))
        return results


def _tensor_bindings(fn) -> list:
    """(namespace, name, value) for each global and closure cell holding a tensor (or None)
    that `fn` can read: in its own code, nested code (lambdas, comprehensions) and the
    functions it calls by global or closure name. Rebinding one of them must retrace.
    Tensors reached through other objects (attributes, containers) are read afresh on every
    call, but rebinding those is not detected."""
    found, seen = [], set()

    def visit(f):
        f = f.fn if isinstance(f, CompiledFunction) else f
        code = getattr(f, "__code__", None)
        if code is None or id(code) in seen:
            return
        seen.add(id(code))
        for cell in getattr(f, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if isinstance(value, Tensor):
                found.append((cell, None, value))
            elif callable(value):
                visit(value)
        visit_code(code, f.__globals__)

    def visit_code(code, namespace):
        for name in code.co_names:
            if name not in namespace:
                continue
            value = namespace[name]
            if value is None or isinstance(value, Tensor):
                found.append((namespace, name, value))
            elif isinstance(value, (types.FunctionType, CompiledFunction)):
                visit(value)
        for const in code.co_consts:
            if isinstance(const, types.CodeType) and id(const) not in seen:
                seen.add(id(const))
                visit_code(const, namespace)

    visit(fn)
    return found


def _binding(holder, name):
    if name is None:
        try:
            return holder.cell_contents
        except ValueError:
            return None
    return holder.get(name)


def _const_key(a):
    """A non-tensor argument as a signature key: floats by repr, which keeps -0.0 apart from
    0.0 and makes NaN equal to itself; tuples and frozensets element by element."""
    if isinstance(a, (float, np.floating)):
        return (type(a).__name__, repr(a))
    if isinstance(a, tuple):
        return ("tuple",) + tuple(_const_key(x) for x in a)
    if isinstance(a, frozenset):
        return ("frozenset", frozenset(_const_key(x) for x in a))
    return (type(a).__name__, a)


def _tensor_sig(t: Tensor):
    return (tuple(t.shape), t.dtype.name, t.requires_grad)


class CompiledFunction:
    """A function traced and compiled once per signature (shapes, dtypes, requires_grad, grad
    mode, non-tensor arguments). See `tracegrad.compile`."""

    def __init__(self, fn, backend: str = "llvm"):
        self.fn = fn
        self.backend = backend
        self.name = getattr(fn, "__name__", "f").replace("<", "").replace(">", "")
        self.specializations: dict = {}
        self.trace_count = 0
        functools.update_wrapper(self, fn)

    def signature(self, flat, keys=()) -> tuple:
        """The specialization key of a call: per argument, a tensor's (shape, dtype,
        requires_grad) or a non-tensor's value; keyword names; grad mode."""
        sig = []
        for a in flat:
            if isinstance(a, Tensor):
                sig.append(("tensor",) + _tensor_sig(a))
            else:
                try:
                    hash(a)
                except TypeError:
                    raise TypeError(f"tracegrad.compile: argument of type {type(a).__name__} is "
                                    f"neither a Tensor nor hashable") from None
                sig.append(("const", _const_key(a)))
        return (tuple(sig), keys, is_grad_enabled())

    def _call(self, flat, keys):
        n = len(flat) - len(keys)
        return self.fn(*flat[:n], **dict(zip(keys, flat[n:])))

    def trace(self, flat, keys=()):
        """Trace for the arguments `flat` (positional, then keyword values in `keys` order);
        return (forward Function, captured tensors, output flags, whether a tuple came back)."""
        trace = Trace(self.name)
        names = _param_names(self.fn, len(flat) - len(keys)) + list(keys)
        traced = [trace.input(a, names[i]) if isinstance(a, Tensor) else a
                  for i, a in enumerate(flat)]
        with trace:
            out = self._call(traced, keys)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        if not outs or not all(isinstance(o, Tensor) for o in outs):
            raise TypeError(f"tracegrad.compile: {self.name} must return a Tensor or a tuple of "
                            f"Tensors")
        results = [trace._lift(o) for o in outs]
        forward = simplify(Function(self.name, trace.params(), trace.builder.eqns, results))
        self.trace_count += 1
        return (forward, trace.captured, [o.requires_grad for o in outs],
                isinstance(out, (tuple, list)))

    def _specialize(self, flat, keys):
        bindings = _tensor_bindings(self.fn)
        forward, captured, out_requires, multiple = self.trace(flat, keys)
        inputs = [a for a in flat if isinstance(a, Tensor)] + captured
        # The trace saw the grad mode of every op (no_grad / enable_grad inside included).
        wrt = [i for i, t in enumerate(inputs) if t.requires_grad] if any(out_requires) else []
        return Specialization(self.name, forward, captured, out_requires, multiple, bindings,
                              self.backend, wrt)

    def _specialization(self, args, kwargs):
        keys = tuple(sorted(kwargs))
        flat = list(args) + [kwargs[k] for k in keys]
        sig = self.signature(flat, keys)
        spec = self.specializations.get(sig)
        if spec is None or not spec.guards_hold():
            spec = self.specializations[sig] = self._specialize(flat, keys)
        return spec, flat

    def __call__(self, *args, **kwargs):
        if current_trace() is not None or os.environ.get("TRACEGRAD_DISABLE_COMPILE") == "1":
            return self.fn(*args, **kwargs)  # inside another trace: inline; disabled: eager
        spec, flat = self._specialization(args, kwargs)
        outs = spec.run([a for a in flat if isinstance(a, Tensor)])
        return tuple(outs) if spec.multiple else outs[0]

    def stages(self, *args, **kwargs) -> dict:
        """The text of every stage for these arguments: traced IR, adjoint IR, optimized IR
        (what the backend compiles: forward returning residuals, then adjoint), LLVM IR and
        assembly."""
        spec, _ = self._specialization(args, kwargs)
        out = {"traced": str(spec.forward)}
        if spec.adjoint is not None:
            out["adjoint"] = str(spec.adjoint.fn)
        for key, attr in (("optimized", "fn"), ("llvm", "llvm_ir_optimized"), ("asm", "asm")):
            text = [getattr(p, attr, None) for p in (spec.forward_program, spec.backward_program)
                    if p is not None]
            if all(t is not None for t in text):
                out[key] = "\n".join(map(str, text))
        return out


def _param_names(fn, n: int) -> list:
    code = getattr(fn, "__code__", None)
    names = list(code.co_varnames[:code.co_argcount]) if code else []
    return (names + [f"arg{i}" for i in range(len(names), n)])[:n]


def compile(fn=None, *, backend: str = "llvm"):
    """Decorator: trace `fn` on the first call for each input signature, compile its forward and
    adjoint IR to machine code, and re-run that on later calls with the same signature.

    Set TRACEGRAD_DISABLE_COMPILE=1 to run every compiled function eagerly.
    """
    if fn is None:
        return lambda f: CompiledFunction(f, backend)
    return CompiledFunction(fn, backend)
