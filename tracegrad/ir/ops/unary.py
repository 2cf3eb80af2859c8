"""Unary elementwise math: rounding, sign, trigonometric/hyperbolic, logarithms and exponentials,
erf, plus the composites rsqrt, reciprocal and nan_to_num.

Gradients follow PyTorch's derivatives.yaml at special points: abs'(0) = 0, sign and the
rounding ops have zero gradient.
"""
from __future__ import annotations

import math

import numpy as np

from ..op import defop
from ..types import bool_
from .elementwise import _broadcast, where, zeros_like
from . import elementwise as _ew

_LN2, _LN10 = math.log(2.0), math.log(10.0)


def _not_bool(what):
    """Type rule that refuses bool, as PyTorch's kernels do for abs, floor..."""
    def infer(x):
        if x.dtype is bool_:
            raise NotImplementedError(f'"{what}" not implemented for \'Bool\'')
        return _broadcast(x)
    return infer


def _keeps_dtype(name, impl, vjp, lower, bool_ok=False):
    """The result keeps the input's dtype (integers too); bool is refused unless `bool_ok`."""
    return defop(name, kind="elementwise", infer=_broadcast if bool_ok else _not_bool(name),
                 impl=impl, vjp=vjp, lower=lower)


def _float(name, impl, vjp, lower, grad_fn=None):
    """Integer inputs become float32, as in PyTorch."""
    return defop(name, kind="elementwise", infer=_broadcast, impl=impl, vjp=vjp, lower=lower,
                 promote="float", grad_fn=grad_fn)


def _zero_grad(ct, out, x):
    return zeros_like(ct)


def _sign_impl(x):
    # (x > 0) - (x < 0): PyTorch gives 0 for NaN where numpy gives NaN.
    return ((x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)) if x.dtype != np.bool_ else x


# ---- sign and rounding (integers keep their dtype; rounding is the identity on them) ---------
abs = _keeps_dtype("abs", np.abs, lambda ct, out, x: ct * sign(x), lambda e, x: e.abs(x))
sign = _keeps_dtype("sign", _sign_impl, _zero_grad, lambda e, x: e.sign(x), bool_ok=True)
floor = _keeps_dtype("floor", np.floor, _zero_grad, lambda e, x: e.floor(x))
ceil = _keeps_dtype("ceil", np.ceil, _zero_grad, lambda e, x: e.ceil(x))
round = _keeps_dtype("round", np.round, _zero_grad, lambda e, x: e.round(x))  # half to even
trunc = _keeps_dtype("trunc", np.trunc, _zero_grad, lambda e, x: e.trunc(x))

# ---- trigonometric and hyperbolic ---------------------------------------------------------------
sin = _float("sin", np.sin, lambda ct, out, x: ct * cos(x), lambda e, x: e.sin(x))
cos = _float("cos", np.cos, lambda ct, out, x: -ct * sin(x), lambda e, x: e.cos(x))
tan = _float("tan", np.tan, lambda ct, out, x: ct * (1.0 + out * out), lambda e, x: e.tan(x))
asin = _float("asin", np.arcsin, lambda ct, out, x: ct * rsqrt(1.0 - x * x),
              lambda e, x: e.asin(x))
acos = _float("acos", np.arccos, lambda ct, out, x: -ct * rsqrt(1.0 - x * x),
              lambda e, x: e.acos(x))
atan = _float("atan", np.arctan, lambda ct, out, x: ct / (x * x + 1.0), lambda e, x: e.atan(x))
sinh = _float("sinh", np.sinh, lambda ct, out, x: ct * cosh(x), lambda e, x: e.sinh(x))
cosh = _float("cosh", np.cosh, lambda ct, out, x: ct * sinh(x), lambda e, x: e.cosh(x))

# ---- logarithms and exponentials ----------------------------------------------------------------
log2 = _float("log2", np.log2, lambda ct, out, x: ct / (x * _LN2), lambda e, x: e.log2(x))
log10 = _float("log10", np.log10, lambda ct, out, x: ct / (x * _LN10), lambda e, x: e.log10(x))
log1p = _float("log1p", np.log1p, lambda ct, out, x: ct / (x + 1.0), lambda e, x: e.log1p(x),
               grad_fn="Log1PBackward0")
exp2 = _float("exp2", np.exp2, lambda ct, out, x: ct * (out * _LN2), lambda e, x: e.exp2(x))
expm1 = _float("expm1", np.expm1, lambda ct, out, x: ct * (out + 1.0), lambda e, x: e.expm1(x))

# numpy has no erf. float64: math.erf/erfc per element (exact, slow). float32: in float64 with
# a Taylor series near 0 and Numerical Recipes' erfcc elsewhere (relative error < 1.1e-7,
# below float32's rounding); compiled code has its own, more accurate, polynomials
# (tracegrad/codegen/mathlib.py).
ERFC_CHEBYSHEV = [0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806,
                  0.09678418, 0.37409196, 1.00002368, -1.26551223]
ERF_TAYLOR = [2 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1))
              for n in reversed(range(9))]   # erf(x) = x * P(x**2), for |x| < 0.5
_erf64 = np.vectorize(math.erf, otypes=[np.float64])
_erfc64 = np.vectorize(math.erfc, otypes=[np.float64])


def _horner(coeffs, x):
    """coeffs[0] * x**n + ... + coeffs[n], in place (np.polyval makes two temporaries a step)."""
    y = np.full_like(x, coeffs[0])
    for c in coeffs[1:]:
        y *= x
        y += c
    return y


def _erfc_pos(z):
    t = 1.0 / (1.0 + 0.5 * z)
    return t * np.exp(_horner(ERFC_CHEBYSHEV, t) - z * z)


def erfc_f32(x64):
    """erfc of float32 values given as float64, accurate to float32 precision."""
    pos = _erfc_pos(np.abs(x64))
    return np.where(x64 < 0, 2.0 - pos, pos)


def _erf_impl(x):
    if x.dtype != np.float32:
        return _erf64(x).astype(x.dtype)
    x = x.astype(np.float64)
    small = x * _horner(ERF_TAYLOR, x * x)
    big = np.copysign(1.0 - _erfc_pos(np.abs(x)), x)
    return np.where(np.abs(x) < 0.5, small, big).astype(np.float32)


def _erfc_impl(x):
    if x.dtype != np.float32:
        return _erfc64(x).astype(x.dtype)
    return erfc_f32(x.astype(np.float64)).astype(np.float32)


erf = _float("erf", _erf_impl,
             lambda ct, out, x: ct * (2.0 / math.sqrt(math.pi) * _ew.exp(-(x * x))),
             lambda e, x: e.erf(x))
# 1 - erf(x) without the cancellation (normal tails: gelu's CDF).
erfc = _float("erfc", _erfc_impl,
              lambda ct, out, x: ct * (-2.0 / math.sqrt(math.pi) * _ew.exp(-(x * x))),
              lambda e, x: e.erfc(x))

# ---- composites -------------------------------------------------------------------------------
rsqrt = defop("rsqrt", kind="composite", infer=_broadcast, promote="float",
              impl=lambda x: (1.0 / np.sqrt(x)).astype(x.dtype),
              vjp=lambda ct, out, x: ct * (-0.5 * (out * out * out)),
              decompose=lambda x: 1.0 / _ew.sqrt(x))
reciprocal = defop("reciprocal", kind="composite", infer=_broadcast, promote="float",
                   impl=lambda x: (1.0 / x).astype(x.dtype),
                   vjp=lambda ct, out, x: -ct * (out * out),
                   decompose=lambda x: 1.0 / x)


def _nan_to_num_impl(x, nan, posinf, neginf):
    if x.dtype.kind != "f":
        return x.copy()
    return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


def _nan_to_num(x, nan, posinf, neginf):
    if not x.dtype.is_floating_point:
        return _ew.clone(x)
    inf = float("inf")
    return where(x != x, nan, where(x == inf, posinf, where(x == -inf, neginf, x)))


# `posinf`/`neginf` arrive resolved (the dtype's largest finite values by default).
nan_to_num = defop(
    "nan_to_num", kind="composite",
    infer=lambda x, nan, posinf, neginf: _broadcast(x), impl=_nan_to_num_impl,
    vjp=lambda ct, out, x, nan, posinf, neginf: where(x - x == 0.0, ct, 0.0),  # finite
    decompose=_nan_to_num, grad_fn="NanToNumBackward0")

