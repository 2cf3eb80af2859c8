"""Binary elementwise math: maximum/minimum, remainder/fmod, atan2, lerp, and clamp (with both
bounds, or one: clamp_min/clamp_max).

Ties and special points follow PyTorch's derivatives.yaml: maximum/minimum split the gradient
in half where the operands are equal; clamp passes it where min <= x <= max.
"""
from __future__ import annotations

import numpy as np

from ..op import Value, defop
from ..types import bool_
from .elementwise import _broadcast, where
from .reduce import reduce_any
from .unary import floor, trunc


def _no_bool(kernel):
    """Type rule of ops PyTorch does not define on bool (the operands are promoted already)."""
    def infer(*types):
        out = _broadcast(*types)
        if out.dtype is bool_:
            raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')
        return out
    return infer


def _tie_split(ct, x, y, loses):
    """ct where this operand wins, ct/2 on ties, 0 where it loses (NaN: ct to both)."""
    return where(loses, 0.0, where(x == y, ct * 0.5, ct))


def _signed_zeros(r, x, y, negative_wins: bool):
    """IEEE 754-2019 maximum/minimum order -0.0 below +0.0 (as LLVM's llvm.maximum does, so
    eager and compiled results agree); numpy returns either zero."""
    r = np.asarray(r)
    if r.dtype.kind != "f":
        return r
    x, y = np.asarray(x), np.asarray(y)
    both = (x == 0) & (y == 0)
    if not np.any(both):
        return r
    neg = (np.signbit(x) | np.signbit(y)) if negative_wins else (np.signbit(x) & np.signbit(y))
    return np.where(both, np.where(neg, -0.0, 0.0).astype(r.dtype), r)


def ieee_maximum(x, y):
    return _signed_zeros(np.maximum(x, y), x, y, negative_wins=False)


def ieee_minimum(x, y):
    return _signed_zeros(np.minimum(x, y), x, y, negative_wins=True)


maximum = defop(
    "maximum", kind="elementwise", infer=_broadcast, promote="same", impl=ieee_maximum,
    vjp=lambda ct, out, x, y: (_tie_split(ct, x, y, x < y), _tie_split(ct, x, y, x > y)),
    lower=lambda e, x, y: e.maximum(x, y))
minimum = defop(
    "minimum", kind="elementwise", infer=_broadcast, promote="same", impl=ieee_minimum,
    vjp=lambda ct, out, x, y: (_tie_split(ct, x, y, x > y), _tie_split(ct, x, y, x < y)),
    lower=lambda e, x, y: e.minimum(x, y))


# ---- remainder and fmod -------------------------------------------------------------------------
def _int_divisor_check(y):
    if y.dtype.kind in "iu" and np.any(y == 0):
        raise RuntimeError("ZeroDivisionError")


def _zero_divisor_literal(x, y):
    if not isinstance(y, Value) and not y.dtype.is_floating_point and y.value == 0:
        raise RuntimeError("ZeroDivisionError")


def _zero_divisor(x, y):
    """Integer division by a zero element raises (PyTorch's and the impl's behaviour)."""
    if not isinstance(y, Value) or y.dtype.is_floating_point:
        return []
    return [(reduce_any(y == 0, dims=tuple(range(y.ndim)), keepdim=False), "ZeroDivisionError")]


def _remainder_impl(x, y):
    x, y = np.asarray(x), np.asarray(y)
    _int_divisor_check(y)
    if x.dtype.kind in "iub":
        return np.remainder(x, y)
    # PyTorch's rule (numpy differs on the sign of zero results): fmod, plus y where signs differ.
    r = np.fmod(x, y)
    return np.where((r != 0) & ((r < 0) != (y < 0)), r + y, r)


def _fmod_impl(x, y):
    x, y = np.asarray(x), np.asarray(y)
    _int_divisor_check(y)
    return np.fmod(x, y)


def _scalar_overload(base):
    """PyTorch's node names: `op(Tensor, Scalar)` is ...Backward0, `op(Tensor, Tensor)` ...1."""
    return lambda inputs: f"{base}Backward{1 if isinstance(inputs[1], Value) else 0}"


def _quotient_grad(round_fn):
    # d/dy (x - y * round(x / y)) = -round(x / y), the rounded quotient being piecewise constant.
    def vjp(ct, out, x, y):
        gy = -ct * round_fn(x / y) if isinstance(y, Value) else None
        return ct, gy
    return vjp


remainder = defop(
    "remainder", kind="elementwise", infer=_no_bool("remainder_cpu"), promote="same",
    impl=_remainder_impl,
    vjp=_quotient_grad(floor), lower=lambda e, x, y: e.remainder(x, y),
    grad_fn=_scalar_overload("Remainder"), listed=lambda index, is_literal: not is_literal,
    check=_zero_divisor_literal, runtime_check=_zero_divisor)
fmod = defop(
    "fmod", kind="elementwise", infer=_no_bool("fmod_cpu"), promote="same", impl=_fmod_impl,
    vjp=_quotient_grad(trunc), lower=lambda e, x, y: e.fmod(x, y),
    grad_fn=_scalar_overload("Fmod"), listed=lambda index, is_literal: not is_literal,
    check=_zero_divisor_literal, runtime_check=_zero_divisor)


def _atan2_vjp(ct, out, y, x):
    # PyTorch zeroes the reciprocal of y*y + x*x where it is infinite (at the origin).
    d = y * y + x * x
    scale = where(d == 0.0, 0.0, ct / d)
    return scale * x, -scale * y


atan2 = defop("atan2", kind="elementwise", infer=_broadcast, promote="float", impl=np.arctan2,
              vjp=_atan2_vjp, lower=lambda e, y, x: e.atan2(y, x))


# ---- lerp -----------------------------------------------------------------------------------
def _lerp_type(start, end, weight):
    # (start, end and a tensor weight must share a dtype: the wrappers check, as PyTorch.)
    if not start.dtype.is_floating_point:
        raise NotImplementedError(f'"lerp_kernel" not implemented for '
                                  f"'{start.dtype.scalar_name}'")
    return _broadcast(start, end, weight, dtype=start.dtype)


def _lerp_impl(s, e, w):
    # PyTorch's formula: exact at both ends, from the nearer one.
    d = e - s
    return np.where(np.abs(w) < 0.5, s + w * d, e - d * (1 - w))


def _lerp_decompose(s, e, w):
    d = e - s
    if not isinstance(w, Value):
        return s + w * d if abs(w) < 0.5 else e - d * (1.0 - w)
    return where(w * w < 0.25, s + w * d, e - d * (1.0 - w))


def _lerp_vjp(ct, out, s, e, w):
    return ct * (1.0 - w), ct * w, ct * (e - s) if isinstance(w, Value) else None


lerp = defop("lerp", kind="composite", infer=_lerp_type, impl=_lerp_impl, vjp=_lerp_vjp,
             decompose=_lerp_decompose, promote="same",
             grad_fn=lambda inputs: f"LerpBackward{1 if isinstance(inputs[2], Value) else 0}",
             listed=lambda index, is_literal: not is_literal)


# ---- clamp ------------------------------------------------------------------------------------
# Values as maximum/minimum: NaN in x or in a bound propagates, min > max gives max. x's
# gradient passes where min <= x <= max (not for NaN); a tensor bound gets it where x lies
# beyond it, except that with both bounds PyTorch gives `min` nothing unless min < max and
# gives `max` everything where max < min. Nodes are named by overload: scalar bounds
# ClampBackward1, tensor bounds ClampBackward0.
def _clamp_name(inputs):
    return "ClampBackward" + ("0" if isinstance(inputs[1], Value) else "1")


def _clamp_vjp(ct, out, x, lo, hi):
    gx = where(x >= lo, where(x <= hi, ct, 0.0), 0.0)
    if not isinstance(lo, Value):
        return gx, None, None
    return (gx, where(x < lo, where(lo < hi, ct, 0.0), 0.0),
            where(x > hi, ct, where(hi < lo, ct, 0.0)))


clamp = defop(
    "clamp", kind="composite", infer=_no_bool("clamp_cpu"), promote="same",
    impl=lambda x, lo, hi: ieee_minimum(ieee_maximum(x, lo), hi), vjp=_clamp_vjp,
    decompose=lambda x, lo, hi: minimum(maximum(x, lo), hi), grad_fn=_clamp_name,
    listed=lambda index, is_literal: not is_literal)


def _clamp_op(name, impl, prim, inside, beyond):
    """clamp with one bound."""
    return defop(
        name, kind="composite", infer=_no_bool("clamp_cpu"), promote="same", impl=impl,
        vjp=lambda ct, out, x, b: (where(inside(x, b), ct, 0.0),
                                   where(beyond(x, b), ct, 0.0) if isinstance(b, Value)
                                   else None),
        decompose=prim, grad_fn=_clamp_name, listed=lambda index, is_literal: not is_literal)


clamp_min = _clamp_op("clamp_min", ieee_maximum, lambda x, b: maximum(x, b),
                      lambda x, b: x >= b, lambda x, b: x < b)
clamp_max = _clamp_op("clamp_max", ieee_minimum, lambda x, b: minimum(x, b),
                      lambda x, b: x <= b, lambda x, b: x > b)
