"""`Tensor`: eager numpy-backed values with PyTorch's autograd semantics.

A Tensor is either concrete (holds an ndarray) or traced (holds an IR Var of the function
`tracegrad.compile` is building). Every op goes through `tracegrad.ir.bind`, which promotes
dtypes and calls `Tensor._bind`: concrete tensors evaluate the op's numpy reference and record a
`Node` when gradients are wanted; traced tensors append an equation to their trace.
"""
from __future__ import annotations

import functools
import math
import threading
import warnings

import numpy as np

from . import autograd, return_types, versions
from .grad_mode import is_grad_enabled, no_grad
from .ir import Literal, TensorType, Value, ops
from .ir.interpreter import literal_value, run_op_quiet
from .ir.types import DType, bool_, float32, float64, from_numpy_dtype, int64
from .printing import tensor_repr
from .size import Size

_REQUIRES_GRAD_DTYPE = "only Tensors of floating point and complex dtype can require gradients"


_tracing = threading.local()


def current_trace():
    """The `tracegrad.tracing.Trace` being recorded on this thread, or None."""
    return getattr(_tracing, "trace", None)


def set_current_trace(trace) -> None:
    _tracing.trace = trace


def _normalize_dims(dim, ndim: int) -> tuple:
    """Dimensions as sorted non-negative ints; None or () means all (as in PyTorch)."""
    dims = () if dim is None else (dim,) if isinstance(dim, int) else tuple(dim)
    if not dims:
        return tuple(range(ndim))
    n = max(ndim, 1)
    out = []
    for d in dims:
        if not -n <= d < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                             f"but got {d})")
        out.append(d % n if ndim else 0)
    if len(set(out)) != len(out):
        raise RuntimeError(f"dim {out[0]} appears multiple times in the list of dims")
    return tuple(sorted(out)) if ndim else ()


@functools.lru_cache(maxsize=1024)
def _array_type(shape: tuple, npdtype) -> TensorType:
    """The type of an array (cached: `Tensor._make` runs for every eager result)."""
    return TensorType(shape, from_numpy_dtype(npdtype))


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


class Tensor(Value):
    """A multi-dimensional array with autograd, PyTorch style."""

    __array_priority__ = 1000  # make `ndarray op Tensor` defer to Tensor's reflected operators

    def __init__(self, *args, **kwargs):
        raise TypeError("use tracegrad.tensor(data) or a factory such as tracegrad.ones(...)")

    @classmethod
    def _make(cls, data=None, requires_grad=False, grad_fn=None, out_index=0,
              trace=None, var=None, type=None) -> "Tensor":
        t = object.__new__(cls)
        t._type = type or (var.type if data is None else _array_type(data.shape, data.dtype))
        t._data = data
        # Other attributes keep the class defaults below unless given (tensors are made often).
        if trace is not None:
            t._trace = trace
        if var is not None:
            t._var = var
        if requires_grad:
            t._requires_grad = True
        if grad_fn is not None:
            t.grad_fn = grad_fn
        if out_index:
            t._out_index = out_index
        return t

    _trace = None
    _var = None
    _requires_grad = False
    grad_fn = None
    _out_index = 0
    _grad = None
    _retains_grad = False
    _hooks = None
    _viewed = False     # an op returned a view of this tensor (see `_inplace`)
    _tracked = True     # in-place writes bump the version counter (not through `.data`)

    # ---- binding ops ---------------------------------------------------------------------------
    @property
    def _bind_priority(self):
        return 0 if self._trace is None else 5

    def _bind(self, op, inputs, attrs):
        # While tracing, ops on concrete tensors are traced too: the function may close over
        # tensors whose values change between calls, so nothing computed from them is baked in.
        trace = self._trace or current_trace()
        if trace is not None:
            return trace.apply(op, inputs, attrs)
        return _eager_apply(op, inputs, attrs)

    # ---- type and metadata ---------------------------------------------------------------------
    @property
    def type(self) -> TensorType:
        return self._type

    @property
    def shape(self) -> Size:
        return Size(self._type.shape)

    @property
    def dtype(self) -> DType:
        return self._type.dtype

    @property
    def device(self) -> str:
        return "cpu"

    def size(self, dim: int | None = None):
        if dim is None:
            return self.shape
        return self.shape[_normalize_dims(dim, self.ndim)[0]] if self.ndim else 1

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return self.type.size

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    # ---- autograd attributes -------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set `requires_grad` in place (leaves only, floating point only)."""
        if not self.is_leaf and not requires_grad:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach().")
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError(_REQUIRES_GRAD_DTYPE)
        if self._trace is not None:
            raise RuntimeError("requires_grad_() on a traced tensor inside tracegrad.compile is "
                               "not supported; set it on the inputs before calling")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def retain_grad(self) -> None:
        """Make backward() fill this non-leaf tensor's `.grad` too."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._trace is not None:
            raise RuntimeError("retain_grad() inside tracegrad.compile is not supported")
        if self.is_leaf or self._retains_grad:
            return
        node = self.grad_fn
        if node.retained is None:
            node.retained = {}
        node.retained[self._out_index] = self
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    @property
    def grad(self):
        if not self.is_leaf and not self._retains_grad:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
                ".grad attribute won't be populated during autograd.backward(). If you indeed want "
                "the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the "
                "non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure you access "
                "the leaf Tensor instead.", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got "
                                f"grad of type {type(value).__name__}")
            if value.dtype is not self.dtype:
                raise RuntimeError("assigned grad has data of a different type")
            if value.shape != self.shape:
                raise RuntimeError("assigned grad has data of a different size")
        self._grad = value

    def backward(self, gradient=None, retain_graph=None, create_graph=False,
                 inputs=None) -> None:
        """Accumulate d(self)/d(leaf) (times `gradient`) into every leaf's `.grad` (or only into
        `inputs`). With `create_graph` the gradients are recorded, so they can be
        differentiated again."""
        fn = self.grad_fn
        if (gradient is None and fn is not None and not create_graph and inputs is None
                and self._trace is None):
            # A compiled loss whose program computed its gradients for a cotangent of one.
            fused = getattr(fn.op, "fused_backward", None)
            if fused is not None and current_trace() is None:
                pairs = fused(fn, self._out_index, bool(retain_graph))
                if pairs is not None:
                    for leaf, grad in pairs:
                        if leaf._grad is None and not leaf._hooks:   # the common case
                            leaf._grad = Tensor._make(grad, type=leaf._type)
                        else:
                            leaf._accumulate(grad)
                    return
        if create_graph or inputs is not None:
            if self._trace is not None or current_trace() is not None:
                raise RuntimeError("backward() inside tracegrad.compile is not supported; call "
                                   "it on the compiled function's output")
            return autograd.backward(self, gradient, retain_graph, create_graph, inputs)
        if self._trace is not None or current_trace() is not None:
            raise RuntimeError("backward() inside tracegrad.compile is not supported; call it on "
                               "the compiled function's output")
        if not self._requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn")
        if gradient is not None:
            gradient = gradient if isinstance(gradient, Tensor) else tensor(gradient)
            autograd.check_gradient(self.type, tuple(gradient.shape))
            g = np.asarray(gradient._data, dtype=self.dtype.np)
        else:
            autograd.check_gradient(self.type, None)
            g = np.ones(self._data.shape, dtype=self.dtype.np)
        # An explicit gradient of one can use a compiled loss's gradients too.
        fused = getattr(getattr(self.grad_fn, "op", None), "fused_backward", None)
        pairs = None
        if fused is not None and gradient is not None and g == 1:
            pairs = fused(self.grad_fn, self._out_index, bool(retain_graph))
        if pairs is None and self.grad_fn is None:
            pairs = [(self, g.copy() if gradient is not None else g)]
        elif pairs is None:
            pairs = autograd.run_backward(self.grad_fn, self._out_index, g, bool(retain_graph))
        for leaf, grad in pairs:
            leaf._accumulate(grad)

    def _accumulate(self, grad) -> None:
        """Add a gradient the caller no longer uses (it may become `.grad` without a copy): an
        array, or a Tensor recorded in the graph (create_graph=True)."""
        if self._hooks and self.is_leaf:
            grad = self._run_hooks(grad)
        if isinstance(grad, Tensor):
            self._grad = grad if self._grad is None else self._grad + grad
        elif self._grad is None:
            self._grad = Tensor._make(grad)
        elif self.is_leaf and self._grad._data.flags.writeable and self._grad.grad_fn is None:
            self._grad._data += grad  # in place, so references to .grad see the sum (as PyTorch)
        else:
            self._grad = Tensor._make(self._grad._data + grad)

    def _run_hooks(self, grad):
        g = grad if isinstance(grad, Tensor) else Tensor._make(grad)
        for fn in list(self._hooks.values()):
            out = fn(g)
            if out is not None:
                autograd.check_hook_result(g, out)
                g = out
        return g if isinstance(grad, Tensor) else g._data

    def register_hook(self, hook):
        """Call `hook(grad)` whenever this tensor's gradient is computed; a Tensor it returns
        replaces the gradient. Returns a handle whose `remove()` unregisters it."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._trace is not None:
            raise RuntimeError("register_hook() inside tracegrad.compile is not supported")
        if self._hooks is None:
            self._hooks = {}
        key = object()
        self._hooks[key] = hook
        if not self.is_leaf:
            node = self.grad_fn
            if node.hooks is None:
                node.hooks = {}
            node.hooks.setdefault(self._out_index, []).append(hook)
        return _HookHandle(self, key, hook)

    # ---- in-place ops ----------------------------------------------------------------------------
    def _inplace(self, name: str, compute, *others) -> "Tensor":
        """`self = compute(self)` in self's memory (shared with `.data`, `detach()` and numpy
        views), bumping its version so values saved for backward that this overwrites are
        detected. `others` are the other tensor operands.

        When autograd must record the update (grad mode on and self or an operand requires
        grad), self's history is rebased onto the op, as PyTorch does: `self.grad_fn` becomes
        the op's node, whose input is self's previous value. Inside `tracegrad.compile` the
        traced value is replaced the same way."""
        trace = self._trace or current_trace()
        requires = is_grad_enabled() and (self._requires_grad or any(
            isinstance(o, Tensor) and o._requires_grad for o in others))
        leaf = self._var in trace.params() if self._trace is not None else self.is_leaf
        if requires and leaf and self._requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an "
                               "in-place operation.")
        if self._data is not None and not self._data.flags.writeable:
            raise RuntimeError("unsupported operation: more than one element of the written-to "
                               "tensor refers to a single memory location. Please clone() the "
                               "tensor before performing the operation.")
        if trace is not None or requires:
            if self._viewed or (self._data is not None and self._data.base is not None):
                raise NotImplementedError(
                    f"{name} on a tensor that is a view or has views, where autograd or "
                    f"tracegrad.compile must record the update, is not supported (the views' "
                    f"history could not follow); use the out-of-place form or clone() first")
            if trace is not None:
                old = Tensor._make(None, requires_grad=self._requires_grad, trace=trace,
                                   var=trace._lift(self))
            else:
                old = Tensor._make(self._data.copy(), requires_grad=self._requires_grad,
                                   grad_fn=self.grad_fn, out_index=self._out_index,
                                   type=self._type)
            result = self._inplace_result(compute(old))
            if trace is not None:
                if self._trace is None or hasattr(self, "_param_var"):
                    if result._requires_grad:
                        raise NotImplementedError(
                            f"{name} inside tracegrad.compile on a tensor the function receives "
                            f"or closes over, recorded for autograd, is not supported (only "
                            f"its value could be written back); use the out-of-place form")
                    trace.mutate(self, result._var)   # the caller's tensor: written back
                else:
                    self._var, self._requires_grad = result._var, result._requires_grad
                return self
            np.copyto(self._data, result._data, casting="unsafe")
            versions.bump(self._data)
            node = result.grad_fn
            if node is not None:   # the node's output is self's memory from now on
                node.outputs[result._out_index] = self._data
                node.out_versions = versions.snapshot(node.outputs)
                if self._retains_grad:
                    self.grad_fn.retained.pop(self._out_index, None)
                    node.retained = {**(node.retained or {}), result._out_index: self}
            self.grad_fn, self._out_index = node, result._out_index
            self._requires_grad = result._requires_grad
            return self
        with no_grad():
            result = self._inplace_result(compute(self))
        np.copyto(self._data, result._data, casting="unsafe")
        if self._tracked:
            versions.bump(self._data)
        return self

    def _inplace_result(self, result: "Tensor") -> "Tensor":
        """`result` checked against PyTorch's in-place rules and converted to self's dtype."""
        if result.dtype.category > self.dtype.category:
            raise RuntimeError(f"result type {result.dtype.scalar_name} can't be cast to the "
                               f"desired output type {self.dtype.scalar_name}")
        if result.shape != self.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast "
                               f"shape {list(result.shape)}")
        if result.dtype is not self.dtype:
            name = result.grad_fn.name() if result.grad_fn is not None else None
            result = ops.convert(result, dtype=self.dtype)
            if name is not None:
                result = _overload(result, name)
        return result

    def add_(self, other, *, alpha=1):
        other = other if alpha == 1 else other * alpha
        return self._inplace("add_", lambda t: t + other, other)

    def sub_(self, other, *, alpha=1):
        other = other if alpha == 1 else other * alpha
        return self._inplace("sub_", lambda t: t - other, other)

    def mul_(self, other): return self._inplace("mul_", lambda t: t * other, other)
    def div_(self, other): return self._inplace("div_", lambda t: t / other, other)

    def _fill_with(self, name: str, node_name: str, value) -> "Tensor":
        # where(True, value, t): the value everywhere, a zero gradient for the old one.
        return self._inplace(name, lambda t: _overload(
            ops.where(Tensor._make(np.ones((), np.bool_)), value, t), node_name), value)

    def zero_(self): return self._fill_with("zero_", "ZeroBackward0", 0)

    def fill_(self, value):
        if isinstance(value, Tensor) and value.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value.ndim} dimensions.")
        return self._fill_with("fill_", "FillBackward3" if isinstance(value, Tensor)
                               else "FillBackward2", value)

    def copy_(self, src):
        if not isinstance(src, Tensor):
            raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
        src = src if src.dtype is self.dtype else src.to(self.dtype)
        return self._fill_with("copy_", "CopyBackwards", src)

    def clamp_(self, min=None, max=None):
        from .functional import clamp
        return self._inplace("clamp_", lambda t: clamp(t, min, max), min, max)

    def masked_fill_(self, mask, value):
        return self._inplace("masked_fill_", lambda t: t.masked_fill(mask, value), mask, value)

    def normal_(self, mean: float = 0.0, std: float = 1.0):
        from .creation import fill_random_
        return fill_random_(self, "normal", mean, std)

    def uniform_(self, a: float = 0.0, b: float = 1.0):
        from .creation import fill_random_
        return fill_random_(self, "uniform", a, b)

    def __iadd__(self, other): return self.add_(other)
    def __isub__(self, other): return self.sub_(other)
    def __imul__(self, other): return self.mul_(other)
    def __itruediv__(self, other): return self.div_(other)

    def detach(self) -> "Tensor":
        """A tensor sharing this one's data, cut from the graph."""
        trace = self._trace or current_trace()
        if trace is not None:
            return trace.detach(self)
        return Tensor._make(self._data)

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self) -> "Tensor":
        """The same memory, outside the graph; like PyTorch's, writes through it are not
        tracked by version counters (detach() is the tracked alternative)."""
        t = self.detach()
        t._tracked = t._trace is not None
        return t

    @data.setter
    def data(self, value: "Tensor") -> None:
        if self._trace is not None or current_trace() is not None:
            raise RuntimeError("assigning .data inside tracegrad.compile is not supported")
        self._data = value._data
        self._type = value._type

    # ---- conversion to Python / numpy ----------------------------------------------------------
    def _concrete(self, what: str) -> np.ndarray:
        trace = self._trace or current_trace()
        if trace is not None:  # the value decides Python control flow: the trace guards it
            return trace.concrete(self, what)
        return self._data

    def item(self):
        return self._item(".item()")

    def _item(self, what: str):
        data = self._concrete(what)
        if data.size != 1:
            raise RuntimeError(f"a Tensor with {data.size} elements cannot be converted to Scalar")
        return data.reshape(()).item()

    def tolist(self):
        return self._concrete(".tolist()").tolist()

    def numpy(self) -> np.ndarray:
        if self._requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self._concrete(".numpy()")

    def __bool__(self) -> bool:
        data = self._concrete("bool()")
        if data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with "
                               f"{'no values' if data.size == 0 else 'more than one value'} "
                               f"is ambiguous")
        return bool(data.reshape(()))

    def __float__(self) -> float:
        return float(self._item("float()"))

    def __int__(self) -> int:
        return int(self._item("int()"))

    def __index__(self) -> int:
        if self.dtype.is_floating_point:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self)

    def __repr__(self) -> str:
        if self._data is None:
            return f"Tensor(traced {self.type}{', requires_grad=True' if self._requires_grad else ''})"
        suffixes = []
        if self.grad_fn is not None:
            suffixes.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self._requires_grad:
            suffixes.append("requires_grad=True")
        return tensor_repr(self._data, suffixes)

    # ---- ops -----------------------------------------------------------------------------------
    def add(self, other): return self + other
    def sub(self, other): return self - other
    def mul(self, other): return self * other
    def div(self, other): return self / other
    def pow(self, exponent): return self ** exponent
    def neg(self): return ops.neg(self)
    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def sqrt(self): return ops.sqrt(self)
    def relu(self): return ops.relu(self)
    def tanh(self): return ops.tanh(self)
    def sigmoid(self): return ops.sigmoid(self)
    def eq(self, other): return self == other
    def ne(self, other): return self != other
    def lt(self, other): return self < other
    def le(self, other): return self <= other
    def gt(self, other): return self > other
    def ge(self, other): return self >= other
    def matmul(self, other): return self @ other
    def mm(self, other): return _mm(self, other)
    def clone(self): return ops.clone(self)

    # ---- elementwise math, activations, binary elementwise ---------------------------------------
    def abs(self): return ops.abs(self)
    __abs__ = abs
    absolute = abs
    def sign(self): return ops.sign(self)
    def rsqrt(self): return ops.rsqrt(self)
    def square(self): return self ** 2   # PyTorch's square is pow(x, 2) (PowBackward0)
    def reciprocal(self): return ops.reciprocal(self)
    def sin(self): return ops.sin(self)
    def cos(self): return ops.cos(self)
    def tan(self): return ops.tan(self)
    def asin(self): return ops.asin(self)
    def acos(self): return ops.acos(self)
    def atan(self): return ops.atan(self)
    def sinh(self): return ops.sinh(self)
    def cosh(self): return ops.cosh(self)
    def log2(self): return ops.log2(self)
    def log10(self): return ops.log10(self)
    def log1p(self): return ops.log1p(self)
    def exp2(self): return ops.exp2(self)
    def expm1(self): return ops.expm1(self)
    def erf(self): return ops.erf(self)
    def erfc(self): return ops.erfc(self)
    def floor(self): return ops.floor(self)
    def ceil(self): return ops.ceil(self)
    def trunc(self): return ops.trunc(self)

    def round(self, decimals: int = 0):
        """Round half to even; with `decimals`, at that decimal position (as PyTorch:
        round(x * 10**d) / 10**d, whose gradient is zero)."""
        if not decimals:
            return ops.round(self)
        scale = 10.0 ** abs(decimals)
        out = (ops.round(self * scale) / scale if decimals > 0
               else ops.round(self / scale) * scale)
        return _overload(out, "RoundBackward1")

    def clamp(self, min=None, max=None):
        """Clamp into [min, max] (scalars or tensors, either optional; min > max gives max).
        The gradient passes where min <= x <= max."""
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        if min is not None and max is not None and \
                isinstance(min, Tensor) != isinstance(max, Tensor):
            raise TypeError("clamp() received an invalid combination of arguments: min and max "
                            "must be both tensors or both numbers")
        if min is None:
            return ops.clamp_max(self, max)
        return ops.clamp_min(self, min) if max is None else ops.clamp(self, min, max)

    clip = clamp

    def nan_to_num(self, nan: float = 0.0, posinf=None, neginf=None):
        """NaN -> `nan`, +-inf -> `posinf`/`neginf` (default: the dtype's extreme finite
        values); integers are returned unchanged."""
        big = float(np.finfo(self.dtype.np).max) if self.dtype.is_floating_point else 0.0
        return ops.nan_to_num(self, nan=float(nan),
                              posinf=big if posinf is None else float(posinf),
                              neginf=-big if neginf is None else float(neginf))

    def isnan(self): return self != self
    def isinf(self): return (self == math.inf) + (self == -math.inf)   # bool + is "or"
    def isfinite(self): return (self == self) * (self != math.inf) * (self != -math.inf)
    def logical_not(self): return _truth(self) == False  # noqa: E712 (an elementwise compare)
    def logical_and(self, other):   # on bools, * is "and" and + is "or"
        return _truth(self) * _truth(_tensor_arg("logical_and", other))

    def logical_or(self, other): return _truth(self) + _truth(_tensor_arg("logical_or", other))
    def logical_xor(self, other): return _truth(self) != _truth(_tensor_arg("logical_xor", other))

    def maximum(self, other): return ops.maximum(self, _tensor_arg("maximum", other))
    def minimum(self, other): return ops.minimum(self, _tensor_arg("minimum", other))
    def remainder(self, other): return ops.remainder(self, other)
    __mod__ = remainder
    def fmod(self, other): return ops.fmod(self, other)
    def atan2(self, other): return ops.atan2(self, _tensor_arg("atan2", other))
    arctan2 = atan2

    def lerp(self, end, weight):
        """self + weight * (end - self), computed from the nearer end as PyTorch does."""
        for name, t in (("end", end), ("weight", weight)):
            if isinstance(t, Tensor) and t.dtype is not self.dtype:
                raise RuntimeError(f"expected dtype {self.dtype.scalar_name.lower()} for `{name}` "
                                   f"but got dtype {t.dtype.scalar_name.lower()}")
        return ops.lerp(self, end, weight)

    def isclose(self, other, rtol: float = 1e-05, atol: float = 1e-08,
                equal_nan: bool = False):
        """|self - other| <= atol + rtol * |other| (elementwise, bool), or equal (infinities);
        NaNs compare equal only with `equal_nan`."""
        other = _tensor_arg("isclose", other)
        if self.dtype is not other.dtype:
            raise RuntimeError(f"{self.dtype.scalar_name} did not match "
                               f"{other.dtype.scalar_name}")
        for name, v in (("rtol", rtol), ("atol", atol)):
            if v < 0:
                raise RuntimeError(f"{name} must be greater than or equal to zero, but got {v}")
        a, b = self.detach(), other.detach()
        close = a == b
        if equal_nan and a.dtype.is_floating_point:
            close = close + a.isnan() * b.isnan()
        if rtol == 0 and atol == 0:
            return close
        if not a.dtype.is_floating_point:
            a, b = a.float(), b.float()
        actual = (a - b).abs()
        return close + actual.isfinite() * (actual <= atol + (rtol * b).abs())

    def allclose(self, other, rtol: float = 1e-05, atol: float = 1e-08,
                 equal_nan: bool = False) -> bool:
        """Whether every element is close (see `isclose`): a Python bool."""
        close = self.isclose(other, rtol, atol, equal_nan)
        return bool(np.all(close._concrete("allclose()")))

    # ---- reductions, scans, softmax ----------------------------------------------------------
    def sum(self, dim=None, keepdim: bool = False, *, dtype: DType | None = None):
        x = self if dtype is None else self.to(dtype)
        out = ops.reduce_sum(x, dims=_normalize_dims(dim, self.ndim), keepdim=keepdim)
        return out if dim is None else _overload(out, "SumBackward1")

    def mean(self, dim=None, keepdim: bool = False, *, dtype: DType | None = None):
        x = self if dtype is None else self.to(dtype)
        out = ops.mean(x, dims=_normalize_dims(dim, self.ndim), keepdim=keepdim)
        return out if dim is None else _overload(out, "MeanBackward1")

    def prod(self, dim: int | None = None, keepdim: bool = False, *,
             dtype: DType | None = None):
        """Product of all elements, or along `dim` (int/bool give int64)."""
        x = self if dtype is None else self.to(dtype)
        out = ops.prod(x, dims=_normalize_dims(dim, self.ndim), keepdim=keepdim)
        return out if dim is None else _overload(out, "ProdBackward1")

    def max(self, dim=None, keepdim: bool = False):
        """max() of all elements (0-d), `(values, indices)` along `dim`, or elementwise
        `max(other)`."""
        return self._extremum("max", ops.max_all, ops.max_dim, ops.argmax, dim, keepdim)

    def min(self, dim=None, keepdim: bool = False):
        return self._extremum("min", ops.min_all, ops.min_dim, ops.argmin, dim, keepdim)

    def _extremum(self, name, whole, along, arg, dim, keepdim):
        if isinstance(dim, Value):   # max(other): elementwise
            return self.maximum(dim) if name == "max" else self.minimum(dim)
        if dim is None:
            if self.numel() == 0:
                raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                                   f"input.numel() == 0. Specify the reduction dim with the "
                                   f"'dim' argument.")
            return whole(self, dims=_normalize_dims(None, self.ndim), keepdim=False)
        dims = _normalize_dims(_one_dim(dim, self.ndim), self.ndim)
        result = return_types.max if name == "max" else return_types.min
        return result(along(self, dims=dims, keepdim=keepdim), arg(self, dims=dims,
                                                                    keepdim=keepdim))

    def amax(self, dim=(), keepdim: bool = False):
        """Maximum over `dim` (an int or tuple; () means all); ties share the gradient."""
        return ops.amax(self, dims=_normalize_dims(dim, self.ndim), keepdim=keepdim)

    def amin(self, dim=(), keepdim: bool = False):
        return ops.amin(self, dims=_normalize_dims(dim, self.ndim), keepdim=keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False):
        """Index of the maximum along `dim` (of the flattened tensor when None); the first on
        ties, a NaN's if any."""
        return self._arg("argmax", ops.argmax, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False):
        return self._arg("argmin", ops.argmin, dim, keepdim)

    def _arg(self, name, op, dim, keepdim):
        if dim is None and self.numel() == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                             f"input.numel() == 0.")
        # dim=None flattens: the index counts over all dims in row-major order.
        dims = _normalize_dims(None if dim is None else _one_dim(dim, self.ndim), self.ndim)
        return op(self, dims=dims, keepdim=keepdim)

    def var(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction=None):
        """Variance over `dim`, dividing by N - correction (default 1: Bessel's correction)."""
        return self._moment(ops.var, dim, unbiased, keepdim, correction)

    def std(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction=None):
        return self._moment(ops.std, dim, unbiased, keepdim, correction)

    def _moment(self, op, dim, unbiased, keepdim, correction):
        if isinstance(dim, bool):          # var(unbiased) overload
            dim, unbiased = None, dim
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        elif unbiased is not None:
            raise RuntimeError("Cannot specify both unbiased and correction")
        dims = _normalize_dims(dim, self.ndim)
        if math.prod(self.shape[d] for d in dims) - correction <= 0:
            warnings.warn("var(): degrees of freedom is <= 0. Correction should be strictly less "
                          "than the reduction factor (input numel divided by output numel).",
                          UserWarning, stacklevel=3)
        return op(self, dims=dims, correction=correction, keepdim=keepdim)

    def logsumexp(self, dim, keepdim: bool = False):
        """log(sum(exp(x))) over `dim`, computed stably (shifted by the max)."""
        return ops.logsumexp(self, dims=_normalize_dims(dim, self.ndim), keepdim=keepdim)

    def softmax(self, dim: int, dtype: DType | None = None):
        """exp(x) / sum(exp(x)) along `dim` (computed in `dtype` when given)."""
        return self._softmax(ops.softmax, dim, dtype)

    def log_softmax(self, dim: int, dtype: DType | None = None):
        return self._softmax(ops.log_softmax, dim, dtype)

    def _softmax(self, op, dim, dtype):
        x = self if dtype is None else self.to(dtype)
        return op(x, dim=_one_dim(dim, self.ndim))

    def cumsum(self, dim: int, *, dtype: DType | None = None):
        """Running sum along `dim` (int/bool give int64)."""
        return self._scan(ops.cumsum, dim, dtype)

    def cumprod(self, dim: int, *, dtype: DType | None = None):
        return self._scan(ops.cumprod, dim, dtype)

    def _scan(self, op, dim, dtype):
        x = self if dtype is None else self.to(dtype)
        return op(x, dim=_one_dim(dim, self.ndim))

    def any(self, dim=None, keepdim: bool = False):
        """Whether any element (over `dim`) is nonzero: a bool tensor."""
        return ops.reduce_any(self, dims=_normalize_dims(dim, self.ndim), keepdim=keepdim)

    def all(self, dim=None, keepdim: bool = False):
        return ops.reduce_all(self, dims=_normalize_dims(dim, self.ndim), keepdim=keepdim)

    def norm(self, p="fro", dim=None, keepdim: bool = False, dtype: DType | None = None):
        """Vector norm of order `p` (2, 1, inf, -inf, 0, any float; "fro" is 2) over `dim`."""
        if p == "fro" or p is None:
            p = 2
        if isinstance(p, str):
            raise NotImplementedError(f"norm: p={p!r} is not supported (vector norms only)")
        x = self if dtype is None else self.to(dtype)
        return ops.norm(x, dims=_normalize_dims(dim, self.ndim), keepdim=keepdim, ord=float(p))

    def reshape(self, *shape):
        shape = _shape_arg(shape)
        if shape.count(-1) > 1:
            raise RuntimeError("only one dimension can be inferred")
        if -1 in shape:
            known = math.prod(s for s in shape if s != -1)
            if known == 0 or self.numel() % known:
                raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size "
                                   f"{self.numel()}")
            shape = tuple(self.numel() // known if s == -1 else s for s in shape)
        return shaping.reshape(self, shape)

    def view(self, *shape):
        return shaping.view(self, self.reshape(*shape))

    def transpose(self, dim0: int, dim1: int):
        perm = list(range(self.ndim))
        if self.ndim:
            d0, d1 = _normalize_dims(dim0, self.ndim)[0], _normalize_dims(dim1, self.ndim)[0]
            perm[d0], perm[d1] = perm[d1], perm[d0]
        return ops.transpose(self, perm=tuple(perm))

    def permute(self, *dims):
        dims = _shape_arg(dims)
        if len(dims) != self.ndim:
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input "
                               f"does not match the length of the desired ordering of dimensions "
                               f"i.e. input.dim() = {self.ndim} is not equal to len(dims) = "
                               f"{len(dims)}")
        perm = tuple(_normalize_dims(d, self.ndim)[0] for d in dims)
        if len(set(perm)) != len(perm):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        return _overload(ops.transpose(self, perm=perm), "PermuteBackward0")

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        out = self.transpose(0, 1) if self.ndim == 2 else ops.transpose(
            self, perm=tuple(range(self.ndim)))
        return _overload(out, "TBackward0")

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    def expand(self, *shape):
        shape = _shape_arg(shape)
        lead = len(shape) - self.ndim
        for i in range(max(lead, 0)):
            if shape[i] == -1:
                raise RuntimeError(f"The expanded size of the tensor (-1) isn't allowed in a "
                                   f"leading, non-existing dimension {i}")
        shape = tuple(self.shape[i - lead] if s == -1 and i >= lead else s
                      for i, s in enumerate(shape))
        return ops.broadcast_to(self, shape=shape)

    def to(self, dtype: DType):
        return self if dtype is self.dtype else ops.convert(self, dtype=dtype)

    def float(self): return self.to(float32)
    def double(self): return self.to(float64)
    def long(self): return self.to(int64)
    def bool(self): return self.to(bool_)

    # ---- shape and indexing (argument handling in tracegrad/shaping.py) ----
    def __getitem__(self, key): return shaping.getitem(self, key)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __array__(self, dtype=None, copy=None):
        # Without it numpy would treat a tensor as a nested sequence, now that it is indexable.
        data = self.numpy()
        return data if dtype is None else data.astype(dtype)


    def __setitem__(self, key, value):
        self._inplace("__setitem__", lambda t: shaping.setitem(t, key, value), value)
    def flatten(self, start_dim=0, end_dim=-1): return shaping.flatten(self, start_dim, end_dim)
    def unflatten(self, dim, sizes): return shaping.unflatten(self, dim, sizes)
    def squeeze(self, dim=None): return shaping.squeeze(self, dim)
    def unsqueeze(self, dim): return shaping.unsqueeze(self, dim)
    def expand_as(self, other): return self.expand(*other.shape)
    def broadcast_to(self, size): return shaping.broadcast_to(self, size)
    def contiguous(self): return shaping.contiguous(self)
    def diagonal(self, offset=0, dim1=0, dim2=1): return shaping.diagonal(self, offset, dim1, dim2)
    def flip(self, *dims): return shaping.flip(self, *dims)
    def roll(self, shifts, dims=None): return shaping.roll(self, shifts, dims)
    def repeat(self, *sizes): return shaping.repeat(self, *sizes)
    def tile(self, *dims): return shaping.tile(self, *dims)
    def split(self, split_size, dim=0): return shaping.split(self, split_size, dim)
    def chunk(self, chunks, dim=0): return shaping.chunk(self, chunks, dim)
    def tril(self, diagonal=0): return shaping.tril(self, diagonal)
    def triu(self, diagonal=0): return shaping.triu(self, diagonal)
    def index_select(self, dim, index): return shaping.index_select(self, dim, index)
    def gather(self, dim, index): return shaping.gather(self, dim, index)
    def scatter(self, dim, index, src=None, *, value=None):
        return shaping.scatter(self, dim, index, src, value=value)
    def scatter_add(self, dim, index, src): return shaping.scatter_add(self, dim, index, src)
    def masked_fill(self, mask, value): return shaping.masked_fill(self, mask, value)

    @property
    def mT(self):
        return shaping.mT(self)


def _one_dim(dim, ndim: int) -> int:
    """A single dim argument, checked and made non-negative (0 for a 0-d tensor)."""
    if isinstance(dim, (tuple, list)):   # PyTorch's int[1] overloads accept a 1-tuple
        if len(dim) != 1:
            raise TypeError(f"expected a single dim, got {tuple(dim)}")
        dim = dim[0]
    dims = _normalize_dims(int(dim), ndim)
    return dims[0] if dims else 0


# ---- linear algebra ----------------------------------------------------------------------------
def _linalg_check(fn: str, a, b) -> None:
    """PyTorch's rank checks of mm/bmm/dot/outer (matmul itself accepts any rank >= 1)."""
    want = {"mm": 2, "bmm": 3, "dot": 1, "outer": 1}[fn]
    if fn == "dot" and (a.ndim, b.ndim) != (1, 1):
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    names = {"mm": ("self", "mat2"), "bmm": ("batch1", "batch2"), "outer": ("self", "vec2")}
    for name, x in zip(names.get(fn, ()), (a, b)):
        if x.ndim != want:
            if fn == "mm":
                raise RuntimeError(f"{name} must be a matrix")
            if fn == "bmm":
                raise RuntimeError(f"{name} must be a 3D tensor")
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {x.ndim}-D")


def _mm(self, mat2):
    """Matrix product of two 2-D tensors."""
    _linalg_check("mm", self, mat2)
    return ops.bmm(self, mat2)


def _bmm(self, batch2):
    """Batched matrix product of (b, n, m) and (b, m, p) tensors."""
    _linalg_check("bmm", self, batch2)
    return ops.bmm(self, batch2)


def _dot(self, other):
    """Inner product of two 1-D tensors."""
    _linalg_check("dot", self, other)
    return ops.matmul(self, other)


def _outer(self, vec2):
    """Outer product of two 1-D tensors: out[i, j] = self[i] * vec2[j]."""
    _linalg_check("outer", self, vec2)
    return ops.reshape(self, shape=(self.shape[0], 1)) * vec2


Tensor.bmm, Tensor.dot, Tensor.outer = _bmm, _dot, _outer
Tensor.ger = Tensor.outer

# ---- elementwise math, activations, binary elementwise ----
def _truth(x) -> Tensor:
    """x as bool (nonzero, NaN included), PyTorch's reading of logical_* operands."""
    return x if x.dtype is bool_ else x != 0


def _tensor_arg(fn: str, other) -> Tensor:
    if not isinstance(other, Tensor):
        raise TypeError(f"{fn}(): argument 'other' (position 1) must be Tensor, not "
                        f"{type(other).__name__}")
    return other


class _HookHandle:
    def __init__(self, tensor, key, hook):
        self._tensor, self._key, self._hook = tensor, key, hook

    def remove(self) -> None:
        t = self._tensor
        if t._hooks is not None:
            t._hooks.pop(self._key, None)
        node = t.grad_fn
        if node is not None and node.hooks and self._hook in node.hooks.get(t._out_index, ()):
            node.hooks[t._out_index].remove(self._hook)


def _overload(out: Tensor, name: str) -> Tensor:
    """Rename the node `out` was just given: PyTorch names nodes by the overload called
    (`x.sum()` SumBackward0, `x.sum(dim)` SumBackward1; `t()`, `permute()`), not by the op."""
    if out.grad_fn is not None:
        out.grad_fn = out.grad_fn.renamed(name)
    return out


def _eager_apply(op, inputs, attrs):
    """Evaluate `op` on concrete operands and record a Node if a gradient will be wanted."""
    arrays, types, wants_grad = [], [], False
    for a in inputs:
        if isinstance(a, Tensor):
            arrays.append(a._data)
            wants_grad = wants_grad or a._requires_grad
        else:
            arrays.append(literal_value(a))
        types.append(a.type)
    out_types = op.infer_types(types, attrs)
    outs = run_op_quiet(op, arrays, attrs, out_types)
    record = wants_grad and op.differentiable and is_grad_enabled()
    node = None
    if record:
        saved = [None if isinstance(a, Literal) else x for a, x in zip(inputs, arrays)]
        node = autograd.Node.create(op, attrs, [edge_of(a) for a in inputs], saved, outs,
                                    out_types, op.grad_fn_name(inputs, attrs))
    results = []
    for i, (o, t) in enumerate(zip(outs, out_types)):
        grad = record and t.dtype.is_floating_point
        results.append(Tensor._make(o, requires_grad=grad, grad_fn=node if grad else None,
                                    out_index=i, type=t))
        if o.base is not None:  # a view: in-place updates of its source must not be recorded
            for a in inputs:
                if isinstance(a, Tensor):
                    a._viewed = True
    return results[0] if len(results) == 1 else tuple(results)


def edge_of(a) -> tuple:
    """How a recorded node refers to one operand."""
    if isinstance(a, Literal):
        return ("lit", a)
    if a.grad_fn is not None:
        return ("node", a.grad_fn, a._out_index)
    if a._requires_grad:
        return ("leaf", a)
    return ("const", a.type)


def tensor(data, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    """Build a tensor from (nested) Python numbers, a numpy array or a Tensor (copied)."""
    if isinstance(data, Tensor):
        data = data._concrete("tracegrad.tensor()")
    if dtype is None:
        arr = np.array(data)
        if arr.dtype == object:
            raise TypeError("tensor(): could not infer dtype from the given data")
        if not isinstance(data, (np.ndarray, np.generic)) and arr.dtype.kind == "f":
            arr = arr.astype(np.float32)  # Python floats use the default dtype, as in PyTorch
        dtype = from_numpy_dtype(arr.dtype)
    arr = np.array(data, dtype=dtype.np, copy=True)
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


# Shape and indexing methods delegate to `shaping`, which builds on this module.
from . import shaping  # noqa: E402
