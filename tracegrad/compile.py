"""`@tracegrad.compile`: trace once per input signature and path, compile, re-run.

A call is looked up by its signature (tensor shapes, dtypes, requires_grad; non-tensor
arguments by value; keyword names; grad mode). Each signature holds the specializations traced
for it so far, one per path through value-dependent Python code (`if x.sum() > 0`, `.item()`):
the compiled forward computes every guard, and a call whose guards disagree with the ones
recorded tries the next specialization, or traces the new path. Side effects of the Python
function (printing, appending to a list) happen when it is traced, not on compiled calls.
"""
from __future__ import annotations

import functools
import logging
import time
import warnings
from typing import NamedTuple

import numpy as np

from . import config, creation
from .grad_mode import is_grad_enabled
from .ir import Function, simplify
from .sources import fingerprint, locate, roots
from .specialization import Specialization
from .tensor import Tensor, current_trace
from .tracing import Guard, Trace

log = logging.getLogger("tracegrad.compile")


class Traced(NamedTuple):
    """What tracing a call gives (`CompiledFunction.trace`)."""
    fn: Function             # optimized: outputs, then guard predicates
    n_out: int
    guards: list
    captured: list           # tensors the function closes over (inputs after the arguments)
    out_requires: list       # per output: requires_grad
    multiple: object         # the tuple type the function returned (a named tuple's class),
                             # or False for a single tensor
    recorded: Function       # as recorded, before the pass pipeline
    random: list             # (kind, shape, dtype, params, value drawn while tracing)
    mutated: list            # parameter positions updated in place (results after the guards)


class CompiledFunction:
    """A function traced and compiled per signature and path. See `tracegrad.compile`."""

    def __init__(self, fn, backend: str = "llvm", recompile_limit: int | None = None):
        self.fn = fn
        self.backend = backend
        self.recompile_limit = recompile_limit
        self.name = getattr(fn, "__name__", "f").replace("<", "").replace(">", "")
        self._by_signature: dict = {}
        self.specializations: list[Specialization] = []
        self.trace_count = 0
        self.eager_reason: str | None = None   # set when the limit was reached
        self._last: Specialization | None = None   # the specialization the last call ran
        self._random = False   # some specialization draws random inputs
        functools.update_wrapper(self, fn)

    # ---- signatures --------------------------------------------------------------------------
    def signature(self, flat, keys=()) -> tuple:
        """The specialization key of a call: per argument, a tensor's (shape, dtype,
        requires_grad) or a non-tensor's value; keyword names; grad mode."""
        return self._scan(flat, keys)[0]

    @staticmethod
    def _scan(flat, keys) -> tuple:
        """(signature, the tensors the call passes to compiled code: see `_call_tensors`), in
        one pass over the arguments: this runs on every call."""
        sig, tensors, module_tensors = [], [], []
        for a in flat:
            if isinstance(a, Tensor):
                t = a._type
                sig.append(("tensor", t.shape, t.dtype.name, a._requires_grad))
                tensors.append(a)
            elif _is_module(a):
                named = _module_tensors(a)
                module_tensors += [t for _, t in named]
                state = tuple((name, tuple(t.shape), t.dtype.name, t.requires_grad)
                              for name, t in named)
                sig.append(("module", id(a), state,
                            tuple(m.training for m in a.modules())))
            else:
                try:
                    hash(_const_key(a))
                except TypeError:
                    raise TypeError(f"tracegrad.compile: argument of type {type(a).__name__} is "
                                    f"neither a Tensor nor hashable") from None
                sig.append(("const", _const_key(a)))
        return (tuple(sig), keys, is_grad_enabled()), tensors + module_tensors

    def _names(self, n_positional: int, keys) -> list:
        return _param_names(self.fn, n_positional) + list(keys)

    def _why_new(self, sig, names) -> str:
        """Why no specialization fits `sig`: the differences from the nearest one."""
        if not self._by_signature:
            return "first call"
        diffs = [_differences(old, sig, names) for old in self._by_signature]
        return "; ".join(min(diffs, key=len))

    # ---- calling -----------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if current_trace() is not None or self.eager_reason or config.compile_disabled():
            return self.fn(*args, **kwargs)  # inside another trace: inline; else eager
        if kwargs:
            keys = tuple(sorted(kwargs))
            flat = list(args) + [kwargs[k] for k in keys]
        else:
            keys, flat = (), args
        sig, tensors = self._scan(flat, keys)
        reason = None
        specs = self._by_signature.get(sig, ())
        # A specialization that failed its guards must not use up random draws: the one
        # that runs (or the new trace) draws from the state eager code would see.
        rng = creation.rng_state() if self._random and any(s.random for s in specs) else None
        for i, spec in enumerate(specs):
            captured, why = ([], None) if spec.closed else spec.captured_now()
            if why is None and spec.mutated and _overlapping(list(tensors) + captured,
                                                             spec.mutated):
                # In-place updates through one of two aliased inputs: the compiled code
                # treats them as independent, so this call runs eagerly.
                return self.fn(*args, **kwargs)
            if why is None:
                if rng is not None:
                    creation.set_rng_state(rng)
                outs = spec.run(tensors, captured)
                if not isinstance(outs, Guard):
                    if i:  # most recently used first: loops tend to repeat a path
                        specs.insert(0, specs.pop(i))
                    self._last = spec
                    return _pack(outs, spec.multiple)
                why = (f"guard {outs.describe()} was {not outs.expect}, "
                       f"expected {outs.expect}")
            reason = reason or why
        names = self._names(len(flat) - len(keys), keys)
        reason = reason or self._why_new(sig, names)
        limit = config.recompile_limit if self.recompile_limit is None else self.recompile_limit
        if len(self.specializations) >= limit:
            self.eager_reason = (f"{len(self.specializations)} specializations reached the limit "
                                 f"of {limit} (last reason: {reason})")
            warnings.warn(f"tracegrad.compile: {self.name} now runs eagerly: "
                          f"{self.eager_reason}. Raise tracegrad.config.recompile_limit (or "
                          f"TRACEGRAD_RECOMPILE_LIMIT) to compile more.", RuntimeWarning,
                          stacklevel=2)
            return self.fn(*args, **kwargs)
        if config.log_recompiles:
            log.warning("tracegrad.compile: tracing %s (specialization %d): %s", self.name,
                        len(self.specializations), reason)
        if rng is not None:
            creation.set_rng_state(rng)
        spec = self._specialize(flat, keys, sig, reason)
        captured, why = spec.captured_now()
        if spec.mutated and why is None and _overlapping(list(tensors) + captured,
                                                         spec.mutated):
            return self.fn(*args, **kwargs)
        outs = spec.run(tensors, captured) if why is None else None
        if outs is None or isinstance(outs, Guard):
            # The function does not trace the same way twice on the same inputs (it reads a
            # clock or a random generator): this call at least is exactly eager.
            return self.fn(*args, **kwargs)
        self._last = spec
        return _pack(outs, spec.multiple)

    def trace(self, flat, keys=()):
        """Trace for the arguments `flat` (positional, then keyword values in `keys` order).
        Returns a `Traced`."""
        trace = Trace(self.name)
        names = self._names(len(flat) - len(keys), keys)
        traced = [trace.input(a, names[i]) if isinstance(a, Tensor) else a
                  for i, a in enumerate(flat)]
        # A Module's parameters and buffers are inputs too: swapped for tracers while tracing.
        swaps = []
        for i, m in enumerate(flat):
            if _is_module(m):
                for name, t in _module_tensors(m):
                    tracer = trace.input(t, f"{names[i]}.{name}")
                    for owner, store, key in _slots(m, t):
                        swaps.append((getattr(owner, store), key, t))
                        getattr(owner, store)[key] = tracer
        n = len(flat) - len(keys)
        try:
            with trace:
                out = self.fn(*traced[:n], **dict(zip(keys, traced[n:])))
        finally:
            for store, key, t in reversed(swaps):
                store[key] = t
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        if not outs or not all(isinstance(o, Tensor) for o in outs):
            raise TypeError(f"tracegrad.compile: {self.name} must return a Tensor or a tuple of "
                            f"Tensors")
        mutated = trace.mutated()
        results = ([trace._lift(o) for o in outs] + [g.var for g in trace.guards]
                   + [v for _, v in mutated])
        recorded = Function(self.name, trace.params(), trace.builder.eqns, results)
        fn = simplify(recorded)
        # Simplification may merge equal guard predicates: read them back from the results.
        for g, var in zip(trace.guards, fn.results[len(outs):]):
            g.var = var
        self.trace_count += 1
        return Traced(fn, len(outs), trace.guards, trace.captured,
                      [o.requires_grad for o in outs],
                      (type(out) if hasattr(out, "_fields") else tuple)
                      if isinstance(out, (tuple, list)) else False, recorded,
                      trace.random, [pos for pos, _ in mutated])

    def _specialize(self, flat, keys, sig, reason) -> Specialization:
        start = time.perf_counter()
        sources = roots(self.fn, CompiledFunction)
        t = self.trace(flat, keys)
        # Fingerprints taken after tracing: what the function itself did to a list or dict
        # while traced (appending to a log) happens at trace time only, so later calls see
        # that state; changes made by anyone else between calls differ from it.
        root_guards = []
        for src in sources:
            try:
                root_guards.append((src, fingerprint(src.read())))
            except LookupError:
                continue
        traced, n_out, guards, captured, out_requires, multiple, recorded = t[:7]
        trace_seconds = time.perf_counter() - start
        inputs = _call_tensors(flat) + captured
        # The trace saw the grad mode of every op (no_grad / enable_grad inside included).
        wrt = [i for i, t in enumerate(inputs) if t.requires_grad] if any(out_requires) else []
        spec = Specialization(self.name, traced, n_out, guards, captured,
                              locate(captured, sources), root_guards, out_requires, multiple,
                              self.backend, wrt, sig, reason, trace_seconds,
                              random=t.random, mutated=t.mutated)
        spec.recorded = recorded
        self._random = self._random or bool(spec.random)
        self._by_signature.setdefault(sig, []).insert(0, spec)   # most recent first
        self.specializations.append(spec)
        return spec

    # ---- inspection --------------------------------------------------------------------------
    def stages(self, *args, **kwargs) -> dict:
        """The text of every stage for these arguments (compiling them if needed): traced IR
        (outputs, then guard predicates), adjoint IR, the forward/backward split (forward
        returning outputs and saved values, backward recomputing the rest; each headed by a
        comment with the saved bytes), optimized IR (what the backend compiles: for a scalar
        loss one program computing it and its gradients, else the forward returning saved
        values and guards, then the backward), LLVM IR, assembly."""
        spec = self._spec_for(args, kwargs)
        out = {"traced": str(spec.recorded)}
        if spec.adjoint is not None:
            out["adjoint"] = str(spec.adjoint.fn)
            s = spec.split
            note = (f"// saved for backward: {s.saved_bytes} bytes ({s.unsplit_bytes} without "
                    f"recomputation), {s.recomputed} equation(s) recomputed")
            out["forward"] = f"{note}\n{s.forward}"
            out["backward"] = f"{note}\n{s.backward}"
        # The programs may be shared with structurally equal functions: print our own IR.
        if spec.fused is not None:
            compiled = ["// the loss, then its gradients (for backward()), in one program\n"
                        + str(spec.fused)]
        else:
            compiled = [spec.joint] + ([spec.split.backward] if spec.split is not None else [])
        out["optimized"] = "\n".join(map(str, compiled))
        for key, attr in (("llvm", "llvm_ir_optimized"), ("asm", "asm")):
            text = [getattr(p, attr, None) for _, p in spec.programs]
            if all(t is not None for t in text):
                out[key] = "\n".join(map(str, text))
        return out

    def _spec_for(self, args, kwargs) -> Specialization:
        """The specialization a call with these arguments runs (creating it if needed)."""
        self._last = None
        self(*args, **kwargs)
        if self._last is None:
            raise RuntimeError(f"tracegrad.compile: {self.name} ran eagerly for these arguments"
                               + (f": {self.eager_reason}" if self.eager_reason else ""))
        return self._last

    def explain(self) -> "Explanation":
        """The specializations so far: signature, guards, why each was traced, trace and
        compile times, and how often each ran."""
        return Explanation(self)


class Explanation:
    """`CompiledFunction.explain()`: printable; `.specializations` holds one dict each."""

    def __init__(self, cf: CompiledFunction):
        self.name = cf.name
        self.eager_reason = cf.eager_reason
        self.specializations = []
        for spec in cf.specializations:
            n_pos = len(spec.signature[0]) - len(spec.signature[1])
            names = cf._names(n_pos, spec.signature[1])
            self.specializations.append({
                "signature": _signature_text(spec.signature, names),
                "guards": [f"{g.describe()} is {g.expect}" for g in spec.guards],
                "reason": spec.reason,
                "trace_ms": spec.trace_seconds * 1e3,
                "compile_ms": spec.compile_seconds * 1e3,
                "hits": spec.hits,
                "saved_bytes": spec.saved_bytes,
                "fused": spec.fused is not None,
            })

    def __str__(self) -> str:
        lines = [f"{self.name}: {len(self.specializations)} specialization(s)"]
        if self.eager_reason:
            lines.append(f"  runs eagerly: {self.eager_reason}")
        for i, s in enumerate(self.specializations):
            lines.append(f"  [{i}] {s['signature']}")
            lines.append(f"      traced because: {s['reason']}")
            lines += [f"      guard: {g}" for g in s["guards"]]
            kept = ("bytes of gradients computed with the loss" if s["fused"]
                    else "bytes saved for backward")
            lines.append(f"      trace {s['trace_ms']:.1f} ms, compile {s['compile_ms']:.1f} ms, "
                         f"{s['hits']} call(s), {s['saved_bytes']} {kept}")
        return "\n".join(lines)

    __repr__ = __str__


def _overlapping(tensors, mutated) -> bool:
    """Whether a tensor updated in place (positions `mutated`) shares memory with another
    input (the same tensor twice, or a view of it)."""
    for i in mutated:
        if i >= len(tensors):   # a random input: fresh memory
            continue
        a = tensors[i]._data
        if any(j != i and np.may_share_memory(a, t._data) for j, t in enumerate(tensors)):
            return True
    return False


def _pack(outs: list, multiple):
    """The outputs as the function returned them: a tensor, a tuple, or a named tuple
    (`torch.return_types.max`-like results keep `.values` / `.indices`)."""
    if not multiple:
        return outs[0]
    return tuple(outs) if multiple is tuple else multiple(*outs)


def _is_module(a) -> bool:
    global _Module
    if _Module is None:   # imported on first use: tracegrad.nn imports this module's package
        from .nn.modules import Module as _Module
    return isinstance(a, _Module)


_Module = None


def _module_tensors(m) -> list:
    """(dotted name, tensor) of each distinct parameter and buffer of Module `m`."""
    seen, out = set(), []
    for prefix, mod in m.named_modules():
        for store in (mod._parameters, mod._buffers):
            for key, t in store.items():
                if t is not None and id(t) not in seen:
                    seen.add(id(t))
                    out.append((f"{prefix}.{key}" if prefix else key, t))
    return out


def _slots(m, t) -> list:
    """(module, store attribute, key) of every place Module `m` holds tensor `t`."""
    return [(mod, store, key) for _, mod in m.named_modules()
            for store in ("_parameters", "_buffers")
            for key, v in getattr(mod, store).items() if v is t]


def _call_tensors(flat) -> list:
    """The tensors a call passes to compiled code: tensor arguments, then the parameters and
    buffers of Module arguments."""
    out = [a for a in flat if isinstance(a, Tensor)]
    for a in flat:
        if _is_module(a):
            out += [t for _, t in _module_tensors(a)]
    return out


def _arg_text(entry) -> str:
    if entry[0] == "module":
        return f"module with {len(entry[2])} tensors"
    if entry[0] == "tensor":
        _, shape, dtype, requires_grad = entry
        return f"{dtype}{list(shape)}" + (" requires_grad" if requires_grad else "")
    return repr(entry[1][-1])


def _signature_text(sig, names) -> str:
    args = ", ".join(f"{n}: {_arg_text(e)}" for n, e in zip(names, sig[0]))
    return f"({args}), grad mode {'on' if sig[2] else 'off'}"


def _differences(old, new, names) -> list[str]:
    """Readable differences between two signatures (`old` is what a trace expected)."""
    (old_args, old_keys, old_grad), (new_args, new_keys, new_grad) = old, new
    if old_keys != new_keys or len(old_args) != len(new_args):
        return [f"arguments changed from ({', '.join(names[:len(old_args)])}...) with keywords "
                f"{list(old_keys)} to keywords {list(new_keys)}"]
    out = []
    for name, a, b in zip(names, old_args, new_args):
        if a == b:
            continue
        if a[0] != b[0]:
            out.append(f"argument {name!r} changed from {_arg_text(a)} to {_arg_text(b)}")
        elif a[0] == "module":
            if a[1] != b[1]:
                out.append(f"argument {name!r} is another module")
            elif a[3] != b[3]:
                out.append(f"module {name!r} switched between train() and eval()")
            else:
                changed = [x[0] for x, y in zip(a[2], b[2]) if x != y] or ["its tensors"]
                out.append(f"module {name!r} changed {', '.join(changed)} (shape, dtype or "
                           f"requires_grad)")
        elif a[0] == "tensor":
            if a[1] != b[1]:
                if len(a[1]) != len(b[1]):
                    out.append(f"tensor {name!r} dimension mismatch: expected {len(a[1])}, "
                               f"actual {len(b[1])}")
                else:
                    i = next(i for i, (x, y) in enumerate(zip(a[1], b[1])) if x != y)
                    out.append(f"tensor {name!r} size mismatch at index {i}: expected "
                               f"{a[1][i]}, actual {b[1][i]}")
            if a[2] != b[2]:
                out.append(f"tensor {name!r} dtype mismatch: expected {a[2]}, actual {b[2]}")
            if a[3] != b[3]:
                out.append(f"tensor {name!r} requires_grad mismatch: expected {a[3]}, "
                           f"actual {b[3]}")
        else:
            out.append(f"argument {name!r} changed: expected {a[1][-1]!r}, actual {b[1][-1]!r}")
    if old_grad != new_grad:
        out.append(f"grad mode mismatch: expected {'enabled' if old_grad else 'disabled'}, "
                   f"actual {'enabled' if new_grad else 'disabled'}")
    return out


def _param_names(fn, n: int) -> list:
    code = getattr(fn, "__code__", None)
    names = list(code.co_varnames[:code.co_argcount]) if code else []
    return (names + [f"arg{i}" for i in range(len(names), n)])[:n]


def _const_key(a):
    """A non-tensor argument as a signature key: floats by repr, which keeps -0.0 apart from
    0.0 and makes NaN equal to itself; tuples and frozensets element by element."""
    if isinstance(a, (float, np.floating)):
        return (type(a).__name__, repr(a))
    if isinstance(a, tuple):
        return ("tuple",) + tuple(_const_key(x) for x in a)
    if isinstance(a, frozenset):
        return ("frozenset", frozenset(_const_key(x) for x in a))
    if isinstance(a, slice):   # indexing keys (slices are unhashable before Python 3.12)
        return ("slice", _const_key(a.start), _const_key(a.stop), _const_key(a.step))
    return (type(a).__name__, a)


def compile(fn=None, *, backend: str = "llvm", recompile_limit: int | None = None):
    """Decorator: trace `fn` on the first call for each input signature, compile its forward and
    adjoint IR to machine code, and re-run that on later calls with the same signature.

    Python code that reads tensor values (`if loss > 0`, `.item()`) is traced along the path
    the values take, with guards that send calls taking another path to a new specialization;
    after `recompile_limit` specializations (default `tracegrad.config.recompile_limit`, 8) the
    function runs eagerly. `f.explain()` lists the specializations and why each was made.
    `tracegrad.config` (or environment variables) disables compilation or logs recompiles.
    """
    if fn is None:
        return lambda f: CompiledFunction(f, backend, recompile_limit)
    return CompiledFunction(fn, backend, recompile_limit)
