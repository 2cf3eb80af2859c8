"""Op records, the op registry, and `bind`: the single entry point every op application takes.

An `Op` holds everything about one primitive: its type rule, its numpy reference, its VJP rule
(written with ops, so the adjoint is IR too) and its lowering. `bind` applies type promotion and
hands the op to whichever value implementation is involved (an eager or traced Tensor, or a
symbolic value inside a `Builder`), so the same rules serve eager execution, tracing and the
reverse-mode transform.
"""
from __future__ import annotations

import numbers
from typing import Callable

from .function import Literal
from .types import DEFAULT_FLOAT, DType, TensorType, result_type

OPS: dict[str, "Op"] = {}


class Op:
    """One primitive.

    kind:      "elementwise" (fusable scalar expression), "reduce", "matmul", "layout",
               "composite" (lowered by `decompose`), "source" (no inputs) or "opaque".
    infer:     (*input_types, **attrs) -> TensorType | tuple of TensorType; raises on bad input.
    impl:      (*numpy_arrays, **attrs) -> ndarray | tuple; the reference semantics.
    vjp:       (ct, out, *inputs, **attrs) -> one cotangent (or None) per input. Inputs that
               were literals arrive as Python scalars. Multi-output ops get tuples for ct/out.
    lower:     elementwise only: (emitter, *scalar_operands, **attrs) -> scalar.
    view:      layout only: (strided_view, **attrs) -> the view of the result, or None when
               it is not expressible without a copy (the backend's View type provides
               transpose/broadcast_to/reshape).
    decompose: composite only: (*inputs, **attrs) -> output, written with other ops.
    promote:   None, "same" (common dtype of operands from `promote_from` on) or "float"
               (same, then integer results become float32).
    listed:    (operand index, is a literal) -> whether the operand appears in a node's
               `next_functions`; PyTorch omits the Python scalars of its scalar overloads
               (pow, rsub) and `where`'s condition. Default: all operands.
    runtime_check: (*inputs, **attrs) -> [(0-d bool Value, message)]: errors the numpy
               `impl` raises on some values (integer division by zero). Compiled code cannot
               raise mid-loop, so a traced call computes each predicate and raises
               RuntimeError(message) after the run when one holds.
    """

    def __init__(self, name: str, *, kind: str, infer: Callable, impl: Callable,
                 vjp: Callable | None = None, lower: Callable | None = None,
                 view: Callable | None = None,
                 decompose: Callable | None = None, grad_fn: str | Callable | None = None,
                 promote: str | None = None, promote_from: int = 0,
                 check: Callable | None = None,
                 listed: Callable[[int, bool], bool] | None = None,
                 runtime_check: Callable | None = None):
        self.name = name
        self.kind = kind
        self.infer = infer
        self.impl = impl
        self.vjp = vjp
        self.lower = lower
        self.view = view
        self.decompose = decompose
        self.grad_fn = grad_fn
        self.promote = promote
        self.promote_from = promote_from
        self.check = check
        self.listed = listed or (lambda index, is_literal: True)
        self.runtime_check = runtime_check
        self.differentiable = vjp is not None

    def infer_types(self, in_types, attrs) -> list[TensorType]:
        out = self.infer(*in_types, **attrs)
        return list(out) if isinstance(out, (tuple, list)) else [out]

    def grad_fn_name(self, inputs, attrs) -> str:
        """PyTorch's name for this op's backward node (`inputs` are Values or Literals)."""
        if callable(self.grad_fn):
            return self.grad_fn(inputs, **attrs)
        return self.grad_fn or f"{self.name.capitalize()}Backward0"

    def __call__(self, *args, **attrs):
        return bind(self, *args, **attrs)

    def __repr__(self):
        return f"<op {self.name}>"


def defop(name: str, **kw) -> Op:
    if name in OPS:
        raise ValueError(f"op {name!r} defined twice")
    op = OPS[name] = Op(name, **kw)
    return op


class Value:
    """Anything an op can be applied to. Subclasses provide `shape`, `dtype`, `_bind` and a
    `_bind_priority` (the value kind with the highest priority among the operands binds)."""

    _bind_priority = 0
    __hash__ = object.__hash__

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def type(self) -> TensorType:
        return TensorType(tuple(self.shape), self.dtype)

    def _bind(self, op: Op, inputs: list, attrs: dict):
        raise NotImplementedError

    # Python operators: one definition shared by every value kind.
    def __add__(self, o): return bind(OPS["add"], self, o)
    def __radd__(self, o): return bind(OPS["add"], o, self)
    def __sub__(self, o): return bind(OPS["sub"], self, o)
    def __rsub__(self, o): return bind(OPS["sub"], o, self)
    def __mul__(self, o): return bind(OPS["mul"], self, o)
    def __rmul__(self, o): return bind(OPS["mul"], o, self)
    def __truediv__(self, o): return bind(OPS["div"], self, o)
    def __rtruediv__(self, o): return bind(OPS["div"], o, self)
    def __pow__(self, o): return bind(OPS["pow"], self, o)
    def __rpow__(self, o): return bind(OPS["pow"], o, self)
    def __matmul__(self, o): return bind(OPS["matmul"], self, o)
    def __rmatmul__(self, o): return bind(OPS["matmul"], o, self)
    def __neg__(self): return bind(OPS["neg"], self)
    def __pos__(self): return self
    def __eq__(self, o): return bind(OPS["eq"], self, o)
    def __ne__(self, o): return bind(OPS["ne"], self, o)
    def __lt__(self, o): return bind(OPS["lt"], self, o)
    def __le__(self, o): return bind(OPS["le"], self, o)
    def __gt__(self, o): return bind(OPS["gt"], self, o)
    def __ge__(self, o): return bind(OPS["ge"], self, o)


def _is_scalar(a) -> bool:
    # the exact-type test first: the abstract-class check is slow, and bind runs per op
    return type(a) in (float, int, bool) or (isinstance(a, numbers.Number)
                                            and not isinstance(a, complex))


def literal(value, dtype: DType) -> Literal:
    return Literal(dtype.np.type(value).item(), dtype)


def _common_dtype(values) -> DType | None:
    """The dtype every one of `values` has, or None."""
    dtype = values[0].dtype if values else None
    for v in values:
        if v.dtype is not dtype:
            return None
    return dtype


def bind(op: Op, *args, **attrs):
    """Apply `op`: promote operand dtypes, turn scalars into literals, dispatch to a value."""
    binder, scalars, unsupported = None, False, None
    for a in args:
        if isinstance(a, Value):
            if binder is None or a._bind_priority > binder._bind_priority:
                binder = a   # the first of the highest priority
        elif _is_scalar(a):
            scalars = True
        elif unsupported is None:
            unsupported = a
    if binder is None:
        raise TypeError(f"{op.name}: expected at least one tensor operand")
    if unsupported is not None:
        raise TypeError(f"{op.name}(): unsupported operand type {type(unsupported).__name__}")
    atoms = list(args)
    if op.promote:
        head, tail = atoms[:op.promote_from], atoms[op.promote_from:]
        # Operands of one dtype (the common case) are what result_type would give: as is.
        dtype = None if scalars else _common_dtype(tail)
        as_is = dtype is not None
        if not as_is:
            dtype = result_type([a.type for a in tail if isinstance(a, Value)],
                                [a for a in tail if not isinstance(a, Value)])
        if op.promote == "float" and not dtype.is_floating_point:
            dtype, as_is = DEFAULT_FLOAT, False
        if not as_is:
            tail = [a if isinstance(a, Value) and a.dtype is dtype
                    else bind(OPS["convert"], a, dtype=dtype) if isinstance(a, Value)
                    else literal(a, dtype) for a in tail]
            atoms = head + tail
    elif scalars:
        raise TypeError(f"{op.name}(): expected Tensor operands, got a Python scalar")
    if op.check:
        op.check(*atoms, **attrs)
    return binder._bind(op, atoms, attrs)
