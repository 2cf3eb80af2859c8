"""`Tensor`: eager numpy-backed values with PyTorch's autograd semantics.

A Tensor is either concrete (holds an ndarray) or traced (holds an IR Var of the function
`tracegrad.compile` is building). Every op goes through `tracegrad.ir.bind`, which promotes
dtypes and calls `Tensor._bind`: concrete tensors evaluate the op's numpy reference and record a
`Node` when gradients are wanted; traced tensors append an equation to their trace.
"""
from __future__ import annotations

import math

import threading
import warnings

import numpy as np

from . import autograd, versions
from .grad_mode import is_grad_enabled, no_grad
from .ir import Literal, TensorType, Value, ops, run_op
from .ir.interpreter import literal_value
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
        t._type = type or (var.type if data is None
                           else TensorType(data.shape, from_numpy_dtype(data.dtype)))
        t._data = data
        t._trace = trace
        t._var = var
        t._requires_grad = requires_grad
        t.grad_fn = grad_fn
        t._out_index = out_index
        t._grad = None
        t._retains_grad = False
        t._tracked = True     # in-place writes bump the version counter (not through `.data`)
        return t

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

    def backward(self, gradient=None, retain_graph=None, create_graph=False) -> None:
        """Accumulate d(self)/d(leaf) (times `gradient`) into every leaf's `.grad`."""
        if create_graph:
            raise NotImplementedError("backward(create_graph=True) is not supported yet")
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
        if self.grad_fn is None:
            pairs = [(self, g.copy() if gradient is not None else g)]
        else:
            pairs = autograd.run_backward(self.grad_fn, self._out_index, g, bool(retain_graph))
        for leaf, grad in pairs:
            leaf._accumulate(grad)

    def _accumulate(self, grad: np.ndarray) -> None:
        """Add a gradient the caller no longer uses (it may become `.grad` without a copy)."""
        if self._grad is None:
            self._grad = Tensor._make(grad)
        elif self.is_leaf and self._grad._data.flags.writeable:
            self._grad._data += grad  # in place, so references to .grad see the sum (as PyTorch)
        else:
            self._grad = Tensor._make(self._grad._data + grad)

    # ---- in-place ops ----------------------------------------------------------------------------
    def _write(self, op, other) -> "Tensor":
        """`self = op(self, other)` into self's memory (shared with its views, `.data` and
        `detach()`), bumping its version so saved values overwritten this way are detected."""
        if self._trace is not None or current_trace() is not None:
            raise NotImplementedError("in-place ops inside tracegrad.compile are not supported; "
                                      "use the out-of-place form")
        if is_grad_enabled() and (self._requires_grad or (
                isinstance(other, Tensor) and other._requires_grad)):
            if self.is_leaf and self._requires_grad:
                raise RuntimeError("a leaf Variable that requires grad is being used in an "
                                   "in-place operation.")
            raise NotImplementedError(
                f"in-place {op.name} that must be recorded for autograd is not supported yet; "
                f"use the out-of-place form or wrap the update in tracegrad.no_grad()")
        with no_grad():
            result = op(self, other) if other is not None else op(self)
        if result.dtype.category > self.dtype.category:
            raise RuntimeError(f"result type {result.dtype.scalar_name} can't be cast to the "
                               f"desired output type {self.dtype.scalar_name}")
        if result.shape != self.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast "
                               f"shape {list(result.shape)}")
        if not self._data.flags.writeable:
            raise RuntimeError("unsupported operation: more than one element of the written-to "
                               "tensor refers to a single memory location. Please clone() the "
                               "tensor before performing the operation.")
        np.copyto(self._data, result._data, casting="unsafe")
        if self._tracked:
            versions.bump(self._data)
        return self

    def add_(self, other): return self._write(ops.add, other)
    def sub_(self, other): return self._write(ops.sub, other)
    def mul_(self, other): return self._write(ops.mul, other)
    def div_(self, other): return self._write(ops.div, other)
    def zero_(self): return self._write(ops.zeros_like, None)

    def _augmented(self, op, other) -> "Tensor":
        """`x op= y`: in place where PyTorch needs no graph for it (the `w -= lr * w.grad`
        step under no_grad); where the update must be recorded (x or y requires grad, or x is
        traced), `x = x op y`: the same values and gradients, as a new tensor."""
        leaf_requiring_grad = self.is_leaf and self._requires_grad
        recorded = is_grad_enabled() and (self._requires_grad or (
            isinstance(other, Tensor) and other._requires_grad))
        if self._trace is not None or (recorded and not leaf_requiring_grad):
            return op(self, other)
        return self._write(op, other)

    def __iadd__(self, other): return self._augmented(ops.add, other)
    def __isub__(self, other): return self._augmented(ops.sub, other)
    def __imul__(self, other): return self._augmented(ops.mul, other)
    def __itruediv__(self, other): return self._augmented(ops.div, other)

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
    def mm(self, other): return self @ other
    def clone(self): return ops.clone(self)

    def sum(self, dim=None, keepdim: bool = False):
        out = ops.reduce_sum(self, dims=_normalize_dims(dim, self.ndim), keepdim=keepdim)
        return out if dim is None else _overload(out, "SumBackward1")

    def mean(self, dim=None, keepdim: bool = False):
        out = ops.mean(self, dims=_normalize_dims(dim, self.ndim), keepdim=keepdim)
        return out if dim is None else _overload(out, "MeanBackward1")

    def norm(self, p=2, dim=None, keepdim: bool = False):
        if p not in (2, 2.0, "fro"):
            raise NotImplementedError(f"norm: only p=2 is supported, got p={p!r}")
        return ops.norm(self, dims=_normalize_dims(dim, self.ndim), keepdim=keepdim)

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
        return ops.reshape(self, shape=shape)

    view = reshape

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


def _overload(out: Tensor, name: str) -> Tensor:
    """Rename the node `out` was just given: PyTorch names nodes by the overload called
    (`x.sum()` SumBackward0, `x.sum(dim)` SumBackward1; `t()`, `permute()`), not by the op."""
    if out.grad_fn is not None:
        out.grad_fn = out.grad_fn.renamed(name)
    return out


def _eager_apply(op, inputs, attrs):
    """Evaluate `op` on concrete operands and record a Node if a gradient will be wanted."""
    arrays = [a._data if isinstance(a, Tensor) else literal_value(a) for a in inputs]
    out_types = op.infer_types([a.type for a in inputs], attrs)
    with np.errstate(all="ignore"):
        outs = run_op(op, arrays, attrs, out_types)
    record = (op.differentiable and is_grad_enabled()
              and any(isinstance(a, Tensor) and a._requires_grad for a in inputs))
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
