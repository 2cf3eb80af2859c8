"""One specialization of a compiled function: its traced IR, adjoint, programs and guards.

The compiled forward returns the function's outputs, then the intermediate values the adjoint
needs (residuals), then one bool per guard. Outputs get a `CompiledFunctionBackward` grad_fn:
a Node of an opaque op whose VJP rule calls the compiled adjoint, so the eager engine runs it
like any other node and `.grad` accumulation, `retain_graph` and mixing with eager ops behave
as in eager mode.
"""
from __future__ import annotations

import math
import time

import numpy as np

from . import autograd, config, versions
from .creation import draw
from .ir import Function, Op, Var, vjp
from .ir.interpreter import Evaluator
from .ir.vjp import value_and_grad_function, vjp_function
from .ir.partition import split
from .sources import fingerprint, same, show, tensor_sig
from .tensor import Tensor


class InterpretedProgram:
    """The reference backend: evaluates IR with numpy (for debugging and cross-checking)."""

    def __init__(self, fn: Function):
        self.fn = fn
        self._run = Evaluator(fn)

    def __call__(self, *arrays):
        return self._run(arrays)

    def run(self, arrays):
        return self._run(arrays)


def backend(name: str):
    if name == "llvm":
        from .codegen import compile_function
        from .codegen.diskcache import DiskCache

        def compile_llvm(fn: Function):
            return compile_function(fn, DiskCache(config.cache_dir) if config.disk_cache
                                    else None)
        return compile_llvm
    if name == "interpreter":
        return InterpretedProgram
    raise ValueError(f"unknown backend {name!r} (expected 'llvm' or 'interpreter')")


class Specialization:
    """Everything compiled for one input signature and one path through value-dependent code.

    `traced` is the traced IR with the guard predicates as extra results after the outputs;
    `forward` the same equations returning the outputs only (what the adjoint differentiates).
    """

    def __init__(self, name, traced: Function, n_out: int, guards: list, captured, sources,
                 root_guards, out_requires, multiple: bool, backend_name: str, wrt: list,
                 signature: tuple, reason: str, trace_seconds: float, random=(),
                 mutated=()):
        self.traced = traced
        # Parameters updated in place: their new values follow the guards in the results.
        self.mutated = list(mutated)
        # Random inputs, drawn per call; the trace's own draws serve the first call.
        self.random = [(kind, shape, dtype, params) for kind, shape, dtype, params, _ in random]
        self._first_draws = [value for *_, value in random]
        self.forward = Function(name, traced.params, traced.eqns, traced.results[:n_out])
        self.guards = guards
        self.captured = captured
        self.captured_sig = [tensor_sig(t) for t in captured]
        self.sources = sources            # per captured tensor: its Source, or None
        self.root_guards = root_guards    # (Source, fingerprint of its value when traced)
        self.closed = not captured and not root_guards   # reads nothing but its arguments
        self.signature = signature
        self.out_requires = out_requires
        self.multiple = multiple
        self.n_out = n_out
        self.reason = reason
        self.trace_seconds = trace_seconds
        self.hits = 0
        guard_vars = traced.results[n_out:len(traced.results) - len(self.mutated)]
        mutation_vars = traced.results[len(traced.results) - len(self.mutated):]
        self.adjoint = None
        self.split = None
        self.hidden = []
        compile_fn = self._compile_fn = backend(backend_name)
        start = time.perf_counter()
        if wrt:
            self.adjoint = vjp(self.forward, wrt, name=f"{name}_vjp")
            # The backward recomputes cheap values from inputs and saved ones (ir/partition.py).
            # Residuals that are inputs are read from the inputs; the saved ones become extra
            # ("hidden") outputs of the forward program.
            self.split = split(self.forward, self.adjoint, name=f"{name}_vjp",
                               overwritten=[traced.params[i] for i in self.mutated])
            param_index = {id(p): i for i, p in enumerate(traced.params)}
            self.hidden = self.split.saved
            hidden_index = {id(r): n_out + k for k, r in enumerate(self.hidden)}
            self.residual_src = [("in", param_index[id(r)]) if id(r) in param_index
                                 else ("out", hidden_index[id(r)])
                                 for r in self.split.residuals]
        joint = self.joint = Function(name, traced.params, traced.eqns,
                         self.forward.results + self.hidden + guard_vars + mutation_vars)
        self.out_types = [v.type for v in joint.results]
        self.forward_program = self.backward_program = None
        # A scalar loss whose gradients are wanted compiles as one program computing the loss
        # and its gradients for a cotangent of one (what `loss.backward()` asks for), so the
        # backward only hands the gradients over: one pass over the data, one native call per
        # step. Any other use of the gradient (another cotangent, a graph around the output,
        # create_graph) recomputes through the compiled VJP, and the specialization switches
        # to separate forward and backward programs for later calls.
        self.fused = self.fused_program = None
        out = traced.results[0] if n_out == 1 else None
        if (self.adjoint is not None and out is not None and isinstance(out, Var)
                and out.type.shape == () and out.dtype.is_floating_point
                and config.fused_gradient):
            self.fused = value_and_grad_function(traced, n_out, self.adjoint, name=name)
            self.fused_types = [v.type for v in self.fused.results]
            self.fused_program = compile_fn(self.fused)
            self.fused_op = self._fused_op(name)
            self._fused_guard_at = n_out + len(self.adjoint.wrt)
            # The inputs the split backward would read: the same version checks apply.
            self._fused_reads = [i for src, i in self.residual_src if src == "in"]
        else:
            self._compile_split()
        self.compile_seconds = time.perf_counter() - start
        self._guard_at = n_out + len(self.hidden)

    def _compile_split(self) -> None:
        """Compile the forward (outputs, saved values, guards, updates) and the backward."""
        start = time.perf_counter()
        self.forward_program = self._compile_fn(self.joint)
        if self.adjoint is not None:
            self.backward_program = self._compile_fn(self.split.backward)
            self.call_op = self._call_op(self.joint.name)
        if self.fused is not None:
            self.compile_seconds += time.perf_counter() - start
        self.fused = None

    @property
    def programs(self) -> list:
        """[(what, Program)] the calls of this specialization run now: the fused loss and
        gradients, or the forward and the backward."""
        if self.fused is not None:
            return [("value_and_grad", self.fused_program)]
        return [(what, p) for what, p in (("forward", self.forward_program),
                                          ("backward", self.backward_program))
                if p is not None]

    @property
    def saved_bytes(self) -> int:
        """Bytes a call keeps for its backward (not counting inputs, which the caller holds
        anyway): the saved values of the split, or for a fused loss its gradients; 0 without
        an adjoint."""
        if self.fused is not None:
            return sum(math.prod(v.shape) * v.dtype.itemsize
                       for v in self.fused.results[self.n_out:self._fused_guard_at])
        return self.split.saved_bytes if self.split is not None else 0

    def _call_op(self, name) -> Op:
        adj = self.adjoint
        out_types = self.out_types
        n_in = len(self.forward.params)
        backward_op = self._backward_op = compiled_call(
            self.split.backward, self._compile_fn, f"{name}_backward", self.backward_program)
        # Gradients through the residual outputs only arise when a gradient of this function
        # is differentiated again (create_graph=True): their VJP is compiled on first use.
        hidden = Function(f"{name}_residuals", self.forward.params, self.forward.eqns,
                          list(self.hidden))
        hidden_op = []

        def rule(cts, outs, *inputs):
            if not isinstance(cts, tuple):
                cts, outs = (cts,), (outs,)
            residuals = [inputs[i] if src == "in" else outs[i] for src, i in self.residual_src]
            grads = backward_op(*residuals, *cts[:self.n_out])
            grads = grads if isinstance(grads, tuple) else (grads,)
            result = [None] * n_in
            for i, g in zip(adj.wrt, grads):
                result[i] = g
            hidden_cts = cts[self.n_out:self.n_out + len(self.hidden)]
            if hidden_cts and not all(_is_zero(c) for c in hidden_cts):
                if not hidden_op:
                    hidden_op.append(vjp_call(hidden, self._compile_fn, f"{name}_residuals"))
                for i, g in hidden_op[0](inputs, hidden_cts):
                    result[i] = g if result[i] is None else result[i] + g
            return tuple(result)

        return Op(name, kind="opaque", infer=lambda *types: out_types,
                  impl=lambda *arrays: tuple(self.forward_program(*arrays)),
                  vjp=rule, grad_fn="CompiledFunctionBackward")

    def _fused_op(self, name) -> Op:
        """The node op of a fused specialization's outputs. `loss.backward()` takes the
        gradients the program already computed (`_fused_backward`, through the `fused_backward`
        attribute `Tensor.backward` looks for); the general engine gets the VJP rule, which
        recomputes through the compiled VJP of the forward."""
        n_out, wrt, n_in = self.n_out, self.adjoint.wrt, len(self.forward.params)
        types = self.fused_types
        state = {}

        def rule(cts, outs, *inputs):
            if self.fused is not None:   # later calls: separate forward and backward
                self._compile_split()
            cts = cts if isinstance(cts, tuple) else (cts,)
            if not self.hidden:   # the split backward reads inputs only: as in split mode
                grads = self._backward_op(*[inputs[i] for _, i in self.residual_src],
                                          *cts[:n_out])
                grads = grads if isinstance(grads, tuple) else (grads,)
                return tuple(dict(zip(wrt, grads)).get(i) for i in range(n_in))
            if "vjp" not in state:
                state["vjp"] = vjp_call(self.forward, self._compile_fn, f"{name}_backward",
                                        wrt=wrt)
            result = [None] * n_in
            for i, g in state["vjp"](inputs, cts[:n_out]):
                result[i] = g
            return tuple(result)

        op = Op(name, kind="opaque", infer=lambda *ts: types,
                impl=lambda *arrays: tuple(self.fused_program(*arrays)), vjp=rule,
                grad_fn="CompiledFunctionBackward")
        op.fused_backward = self._fused_backward
        return op

    def _fused_backward(self, node, out_index: int, retain_graph: bool):
        """`backward()` of a fused specialization's loss: [(leaf, gradient array)] from the
        program's results, or None when the general engine must run (hooks or retained
        gradients on the output, an input that is not a leaf)."""
        edges = node.edges
        if node.retained or node.hooks or out_index != 0:
            return None
        pairs = []
        for i in self.adjoint.wrt:
            edge = edges[i]
            if edge[0] != "leaf":
                return None
            pairs.append(edge[1])
        if node.freed:
            if self.hidden or self._fused_reads:
                raise RuntimeError(autograd.BACKWARD_TWICE)
            return None   # the gradient reads no values: the engine runs the split backward
        if versions.any_written():   # PyTorch's error if one was overwritten in place
            for i in self._fused_reads:
                autograd.saved_value([("saved", 0, i)], [node])
        grads = node.outputs[self.n_out:self.n_out + len(pairs)]
        if retain_graph:
            grads = [g.copy() for g in grads]
        else:
            node.free()
        return list(zip(pairs, grads))

    def captured_now(self):
        """(tensors the function closes over, as they are now; None) or (None, why they do
        not fit this trace): a global or closure variable the code reads changed (see
        `tracegrad.sources`), or a tensor it reaches changed shape, dtype or requires_grad."""
        for src, expected in self.root_guards:
            try:
                value = src.read()
            except LookupError as e:
                return None, str(e)
            if expected[0] == "object" and value is expected[1]:
                continue   # the same object (a module, a function): nothing to fingerprint
            got = fingerprint(value)
            if not same(got, expected):
                return None, f"{src.describe()} changed from {show(expected)} to {show(got)}"
        tensors = []
        for t, src, sig in zip(self.captured, self.sources, self.captured_sig):
            if src is not None:
                try:
                    t = src.read()
                except LookupError as e:
                    return None, str(e)
                got = fingerprint(t)
                if not same(got, ("tensor", sig)):
                    return None, (f"{src.describe()} changed from {show(('tensor', sig))} "
                                  f"to {show(got)}")
            tensors.append(t)
        return tensors, None

    def run(self, tensors, captured):
        """Run the compiled forward on `tensors`, then the `captured` ones. Returns the output
        tensors, or the first guard that disagrees (this call takes another path)."""
        inputs = tensors + captured if captured else tensors
        if self.random:
            draws, self._first_draws = self._first_draws or [
                draw(*spec) for spec in self.random], None
            inputs = inputs + [Tensor._make(d) for d in draws]
        arrays = [t._data for t in inputs]
        fused = self.fused is not None
        if fused:
            program, guard_at = self.fused_program, self._fused_guard_at
        else:
            program, guard_at = self.forward_program, self._guard_at
        try:
            outs = program.run(arrays)
        except (IndexError, RuntimeError) as error:   # an index check failed (codegen/gather.py)
            outs = getattr(error, "outputs", None)
            if outs is None or all(bool(v) == g.expect
                                   for g, v in zip(self.guards, outs[guard_at:])):
                raise
        if self.guards:
            for g, value in zip(self.guards, outs[guard_at:]):
                if bool(value) != g.expect:
                    if g.error is not None:   # a runtime check (integer division by zero...)
                        raise RuntimeError(g.error)
                    return g
        node = None
        if self.adjoint is not None:  # grad mode is part of the signature
            op, types = ((self.fused_op, self.fused_types) if fused
                         else (self.call_op, self.out_types))
            # `edge_of` for tensors, inline: this runs on every call
            edges = [("node", t.grad_fn, t._out_index) if t.grad_fn is not None
                     else ("leaf", t) if t._requires_grad else ("const", t._type)
                     for t in inputs]
            node = autograd.Node.create(op, {}, edges, arrays, outs, types,
                                        "CompiledFunctionBackward")
            if self.n_out == 1 and not self.mutated and self.out_requires[0]:
                self.hits += 1
                return [Tensor._make(outs[0], requires_grad=True, grad_fn=node,
                                     type=self.out_types[0])]
        if self.mutated:   # in-place updates of the caller's tensors (batch_norm's stats)
            for pos, value in zip(self.mutated, outs[len(outs) - len(self.mutated):]):
                target = inputs[pos]._data
                np.copyto(target, value, casting="unsafe")
                versions.bump(target)
        results = []
        for i, (o, req, t) in enumerate(zip(outs[:self.n_out], self.out_requires,
                                            self.out_types)):
            grad = node is not None and req
            results.append(Tensor._make(o, requires_grad=grad, grad_fn=node if grad else None,
                                        out_index=i, type=t))
        self.hits += 1
        return results


def _is_zero(value) -> bool:
    """`value` is the zero cotangent the reverse-mode transform fills in for an output that
    gets none (a `full` of 0 in the function being built)."""
    from .ir import Sym
    if not isinstance(value, Sym):
        return False
    for e in reversed(value.builder.eqns):
        if any(v is value.var for v in e.outputs):
            return e.op.name == "full" and e.attrs.get("value") == 0
    return False


def compiled_call(fn: Function, compile_fn, name: str, program=None) -> Op:
    """An opaque op running `fn` compiled (with `program` if already compiled). Its VJP is
    the compiled call of `fn`'s VJP function, built on first use, so derivatives of any
    order run compiled code."""
    state = {"program": program}
    types = [r.type for r in fn.results]

    def impl(*arrays):
        if state["program"] is None:
            state["program"] = compile_fn(fn)
        return tuple(state["program"](*arrays))

    def rule(cts, outs, *inputs):
        cts = cts if isinstance(cts, tuple) else (cts,)
        result = [None] * len(inputs)
        if "vjp" not in state:
            state["vjp"] = vjp_call(fn, compile_fn, f"{name}_vjp")
        for i, g in state["vjp"](inputs, cts):
            result[i] = g
        return tuple(result)

    return Op(name, kind="opaque", infer=lambda *ts: types, impl=impl, vjp=rule)


def vjp_call(fn: Function, compile_fn, name: str, wrt=None):
    """A callable (inputs, cotangents) -> [(input index, cotangent)] applying the compiled
    VJP of `fn` with respect to the parameters `wrt` (default: the floating-point ones)."""
    if wrt is None:
        wrt = [i for i, p in enumerate(fn.params) if p.dtype.is_floating_point]
    vfn, grad_of = vjp_function(fn, wrt, name=name)
    op = compiled_call(vfn, compile_fn, name) if grad_of else None

    def apply(inputs, cts):
        if op is None:
            return []
        grads = op(*inputs, *cts)
        grads = grads if isinstance(grads, tuple) else (grads,)
        return list(zip(grad_of, grads))

    return apply
