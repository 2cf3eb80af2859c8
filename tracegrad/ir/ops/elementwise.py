"""Elementwise primitives: one record each (type rule, numpy reference, VJP, scalar lowering).

Operands broadcast implicitly (numpy rules); the reverse-mode transform sums cotangents back to
each operand's shape, so VJP rules here are written for same-shape operands.
"""
from __future__ import annotations

import math

import numpy as np

from ..op import Value, defop
from ..types import TensorType, bool_, broadcast_shapes


def _broadcast(*types: TensorType, dtype=None) -> TensorType:
    shape = ()
    for t in types:
        shape = broadcast_shapes(shape, t.shape)
    return TensorType(shape, dtype or types[-1].dtype)


def _compare_type(a, b):
    return _broadcast(a, b, dtype=bool_)


def _float_unary(name, impl, vjp, lower):
    return defop(name, kind="elementwise", infer=_broadcast, impl=impl, vjp=vjp, lower=lower,
                 promote="float")


def _binary(name, impl, vjp, lower, promote="same", grad_fn=None, check=None, listed=None):
    return defop(name, kind="elementwise", infer=_broadcast, impl=impl, vjp=vjp, lower=lower,
                 promote=promote, grad_fn=grad_fn, check=check, listed=listed)


def _compare(name, impl):
    return defop(name, kind="elementwise", infer=_compare_type, impl=impl, promote="same",
                 lower=lambda e, a, b: e.compare(name, a, b))


# ---- conversion and selection -------------------------------------------------------------
convert = defop(
    "convert", kind="elementwise",
    infer=lambda x, dtype: TensorType(x.shape, dtype),
    impl=lambda x, dtype: np.asarray(x).astype(dtype.np),
    vjp=lambda ct, out, x, dtype: convert(ct, dtype=x.dtype) if x.dtype.is_floating_point else None,
    lower=lambda e, x, dtype: e.convert(x, dtype),
    grad_fn="ToCopyBackward0")


def _where_type(c, a, b):
    if c.dtype is not bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {c.dtype.scalar_name}")
    return _broadcast(c, a, b, dtype=b.dtype)


where = defop(
    "where", kind="elementwise", infer=_where_type, promote="same", promote_from=1,
    impl=lambda c, a, b: np.where(c, a, b),
    vjp=lambda ct, out, c, a, b: (None, where(c, ct, 0.0), where(c, 0.0, ct)),
    lower=lambda e, c, a, b: e.select(c, a, b),
    grad_fn="WhereBackward0", listed=lambda index, is_literal: index > 0)

full = defop(
    "full", kind="source",
    infer=lambda shape, dtype, value: TensorType(tuple(shape), dtype),
    impl=lambda shape, dtype, value: np.full(shape, value, dtype=dtype.np),
    lower=lambda e, shape, dtype, value: e.const(value, dtype))

# The exact zero a VJP rule returns for an input that has no influence (not `0 * ct`: NaN-safe).
zeros_like = defop("zeros_like", kind="elementwise", infer=_broadcast, impl=np.zeros_like,
                   lower=lambda e, x: e.const(0, x.dtype))

# `detach()` inside a trace: the value passes, the gradient does not.
stop_gradient = defop("stop_gradient", kind="elementwise", infer=_broadcast, impl=np.asarray,
                      lower=lambda e, x: x)

# ---- unary ----------------------------------------------------------------------------------
clone = defop("clone", kind="elementwise", infer=_broadcast, impl=np.copy,
              vjp=lambda ct, out, x: ct, lower=lambda e, x: x, grad_fn="CloneBackward0")
neg = defop("neg", kind="elementwise", infer=_broadcast, impl=np.negative,
            vjp=lambda ct, out, x: -ct, lower=lambda e, x: e.neg(x))
exp = _float_unary("exp", np.exp, lambda ct, out, x: ct * out, lambda e, x: e.exp(x))
log = _float_unary("log", np.log, lambda ct, out, x: ct / x, lambda e, x: e.log(x))
sqrt = _float_unary("sqrt", np.sqrt, lambda ct, out, x: ct / (2.0 * out), lambda e, x: e.sqrt(x))
tanh = _float_unary("tanh", np.tanh, lambda ct, out, x: ct * (1.0 - out * out),
                    lambda e, x: e.tanh(x))
sigmoid = _float_unary(
    "sigmoid", lambda x: (1.0 / (1.0 + np.exp(-x))).astype(x.dtype),
    lambda ct, out, x: ct * (out * (1.0 - out)),
    lambda e, x: e.div(e.const(1, x.dtype), e.add(e.const(1, x.dtype), e.exp(e.neg(x)))))
# `x < 0 ? 0 : x` keeps NaN, as torch.relu does.
relu = defop("relu", kind="elementwise", infer=_broadcast,
             impl=lambda x: np.where(x < 0, np.zeros((), x.dtype), x),
             vjp=lambda ct, out, x: where(out <= 0, 0.0, ct),  # NaN passes, as in PyTorch
             lower=lambda e, x: e.select(e.compare("lt", x, e.const(0, x.dtype)),
                                         e.const(0, x.dtype), x))

# ---- binary ---------------------------------------------------------------------------------
add = _binary("add", np.add, lambda ct, out, x, y: (ct, ct), lambda e, x, y: e.add(x, y))
sub = _binary("sub", np.subtract, lambda ct, out, x, y: (ct, -ct), lambda e, x, y: e.sub(x, y),
              grad_fn=lambda inputs: "SubBackward0" if isinstance(inputs[0], Value)
              else "RsubBackward1", listed=lambda index, is_literal: index == 1 or not is_literal)
mul = _binary("mul", np.multiply, lambda ct, out, x, y: (ct * y, ct * x),
              lambda e, x, y: e.mul(x, y))
div = _binary("div", np.true_divide, lambda ct, out, x, y: (ct / y, -ct * x / (y * y)),
              lambda e, x, y: e.div(x, y), promote="float")


def _pow_vjp(ct, out, x, y):
    # PyTorch's pow_backward / pow_backward_exponent: zero where the formula would give 0*inf.
    gx = gy = None
    if isinstance(x, Value):
        if isinstance(y, Value):
            gx = where(y == 0, 0.0, ct * (y * x ** (y - 1)))
        else:
            gx = ct * (y * x ** (y - 1)) if y != 0 else zeros_like(ct)
    if isinstance(y, Value):
        if isinstance(x, Value):
            grad = ct * (out * log(x))
            gy = where(x == 0, where(y >= 0, 0.0, grad), grad)
        elif x == 0:
            gy = where(y >= 0, 0.0, ct * (out * float("-inf")))
        else:
            gy = ct * (out * (math.log(x) if x > 0 else float("nan")))
    return gx, gy


def _pow_check(x, y):
    if (not isinstance(y, Value) and not y.dtype.is_floating_point and y.value < 0
            and not x.dtype.is_floating_point):
        raise RuntimeError("Integers to negative integer powers are not allowed.")


def _pow_impl(x, y):
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype.kind not in "iub" or y.dtype.kind not in "iub":
        return np.power(x, y)
    # PyTorch's integer rule where numpy raises: x ** -n is 1/x**n truncated toward zero.
    neg = y < 0
    if not neg.any():
        return np.power(x, y)
    pos = np.power(x, np.where(neg, 0, y))
    sign = np.where(y % 2 == 0, 1, -1)
    at_neg = np.where(x == 1, 1, np.where(x == -1, sign, 0))
    return np.where(neg, at_neg, pos)


def _pow_name(inputs):
    if not isinstance(inputs[1], Value):
        return "PowBackward0"
    return "PowBackward1" if isinstance(inputs[0], Value) else "PowBackward2"


pow = _binary("pow", _pow_impl, _pow_vjp, lambda e, x, y: e.pow(x, y), check=_pow_check,
              grad_fn=_pow_name, listed=lambda index, is_literal: not is_literal)

# ---- comparisons (not differentiable) -------------------------------------------------------
eq = _compare("eq", np.equal)
ne = _compare("ne", np.not_equal)
lt = _compare("lt", np.less)
le = _compare("le", np.less_equal)
gt = _compare("gt", np.greater)
ge = _compare("ge", np.greater_equal)
