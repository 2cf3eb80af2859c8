"""Unary elementwise math: abs/sign, rounding, trigonometric and hyperbolic functions,
logarithms/exponentials, erf, rsqrt/square/reciprocal, clamp/clip, nan_to_num and the
predicates isnan/isinf/isfinite/logical_not."""
from __future__ import annotations

import math

import numpy as np

from opinfo import E, OpInfo, S, arr

NAN, INF = math.nan, math.inf
_erf = np.vectorize(math.erf, otypes=[np.float64])
# NaN, infinities, signed zeros and ordinary values, for the non-differentiable predicates.
SPECIAL = np.array([[1.5, NAN, INF], [-INF, 0.0, -0.0]], dtype=np.float32)
_INTEGERS = list(range(-3, 4))
REFS = {}   # name -> reference, for the integer-input entry
_HALVES = [k + 0.5 for k in range(-4, 4)]


def _samples(make):
    """A non-contiguous 2-d tensor, a 0-d one and an empty one (integer inputs: INT_INPUTS)."""
    return [S(make(3, 4), noncontiguous=True), S(make(), label="0d"),
            S(make(0, 3), label="empty")]


def _unary(name, ref, make=arr, grad_fn=None, rtol=1e-5, atol=1e-6, errors=()):
    """`torch.<name>(x)` and `x.<name>()` (the second output), as one entry."""
    REFS[name] = ref
    return OpInfo(name, lambda m, x: (getattr(m, name)(x), getattr(x, name)()),
                  lambda x: (ref(x), ref(x)), _samples(make), errors=list(errors),
                  grad_fn=grad_fn or f"{name.capitalize()}Backward0", rtol=rtol, atol=atol)


def _between(low, high, away_from=None):
    return lambda *shape: arr(*shape, low=low, high=high, away_from=away_from)


def _sign_ref(x):
    return np.where(np.isnan(x), 0, np.sign(x)).astype(x.dtype)   # PyTorch: sign(NaN) == 0


def _clamp_ref(x, min=None, max=None):
    if min is not None:
        x = np.maximum(x, min)
    return x if max is None else np.minimum(x, max)


def _nan_to_num_ref(x, nan=0.0, posinf=None, neginf=None):
    return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


def _predicate(name, ref):
    return OpInfo(name, lambda m, x: (getattr(m, name)(x), getattr(x, name)()),
                  lambda x: (ref(x), ref(x)),
                  [S(SPECIAL), S(SPECIAL, noncontiguous=True, label="noncontiguous"),
                   S(arr(4, dtype=np.int64), label="int"), S(arr(0), label="empty")],
                  differentiable=False)


_BOOL = E(NotImplementedError, "not implemented for 'Bool'", arr(3, dtype=np.bool_))
_AWAY_FROM_KINKS = _between(-3.5, 3.5, away_from=_INTEGERS)

OPS = [
    _unary("abs", np.abs, make=lambda *s: arr(*s, away_from=0), errors=[_BOOL]),
    _unary("sign", _sign_ref),
    _unary("floor", np.floor, make=_AWAY_FROM_KINKS, errors=[_BOOL]),
    _unary("ceil", np.ceil, make=_AWAY_FROM_KINKS, errors=[_BOOL]),
    _unary("trunc", np.trunc, make=_AWAY_FROM_KINKS, errors=[_BOOL]),
    _unary("round", np.round, make=_between(-4, 4, away_from=_HALVES), errors=[_BOOL]),
    OpInfo("round_decimals", lambda m, x: (m.round(x, decimals=2), x.round(decimals=-1)),
           lambda x: (np.round(x * 100) / 100, np.round(x / 10) * 10),
           [S(arr(4, low=-30, high=30, away_from=[5.0, 15.0, -5.0, -15.0, 25.0, -25.0]))],
           grad_fn="RoundBackward1"),
    _unary("rsqrt", lambda x: 1 / np.sqrt(x), make=lambda *s: arr(*s, positive=True)),
    _unary("reciprocal", lambda x: 1 / x, make=lambda *s: arr(*s, away_from=0)),
    OpInfo("square", lambda m, x: (m.square(x), x.square()), lambda x: (x * x, x * x),
           _samples(arr), grad_fn="PowBackward0"),
    _unary("sin", np.sin),
    _unary("cos", np.cos),
    _unary("tan", np.tan, make=_between(-1.2, 1.2)),
    _unary("asin", np.arcsin, make=_between(-0.9, 0.9)),
    _unary("acos", np.arccos, make=_between(-0.9, 0.9)),
    _unary("atan", np.arctan),
    _unary("sinh", np.sinh),
    _unary("cosh", np.cosh),
    _unary("log2", np.log2, make=lambda *s: arr(*s, positive=True)),
    _unary("log10", np.log10, make=lambda *s: arr(*s, positive=True)),
    _unary("log1p", np.log1p, make=_between(-0.9, 3.0), grad_fn="Log1PBackward0"),
    _unary("exp2", np.exp2),
    _unary("expm1", np.expm1),
    _unary("erf", _erf),
    _unary("erfc", np.vectorize(math.erfc, otypes=[np.float64])),
    OpInfo("clamp", lambda m, x, *a, **kw: x.clamp(*a, **kw), _clamp_ref,
           [S(arr(3, 4, away_from=[-0.5, 0.5]), -0.5, 0.5, noncontiguous=True),
            S(arr(5, away_from=-0.5), min=-0.5, label="min"),
            S(arr(5, away_from=0.5), max=0.5, label="max"),
            S(arr(), 0.7, -0.7, label="min_gt_max"),
            S(arr(0, 2), -1.0, 1.0, label="empty")],
           errors=[E(RuntimeError, "At least one of 'min' or 'max' must not be None", arr(3))],
           grad_fn="ClampBackward1"),
    OpInfo("clamp_tensor", lambda m, x, lo, hi: (m.clamp(x, lo, hi), x.clamp(min=lo),
                                                  x.clip(max=hi)),
           lambda x, lo, hi: (_clamp_ref(x, lo, hi), _clamp_ref(x, lo), _clamp_ref(x, None, hi)),
           [S(arr(2, 3, low=-2, high=2), arr(3, low=-2, high=-1), arr(2, 1, low=1, high=2)),
            S(arr(3, 3, low=-2, high=2), arr(3, 3, low=-1, high=0), arr(3, 3, low=0, high=1),
              noncontiguous=True, label="noncontiguous"),
            S(arr(), arr(), arr(), label="0d")],
           errors=[E(TypeError, "invalid combination of arguments", arr(3), arr(3), 1.0)],
           grad_fn="ClampBackward0"),
    OpInfo("clip", lambda m, x, lo, hi: (m.clip(x, lo, hi), m.clamp(x, lo, hi)),
           lambda x, lo, hi: (np.clip(x, lo, hi),) * 2,
           [S(arr(4, 3, away_from=[-1.0, 1.0]), -1.0, 1.0)], grad_fn="ClampBackward1"),
    OpInfo("nan_to_num", lambda m, x, **kw: (m.nan_to_num(x, **kw), x.nan_to_num(**kw)),
           lambda x, **kw: (_nan_to_num_ref(x, **kw),) * 2,
           [S(arr(3, 4), noncontiguous=True), S(arr(), label="0d"),
            S(arr(5), nan=1.0, posinf=2.0, neginf=-2.0, label="keywords")],
           grad_fn="NanToNumBackward0"),
    _predicate("isnan", np.isnan),
    _predicate("isinf", np.isinf),
    _predicate("isfinite", np.isfinite),
    OpInfo("logical_not", lambda m, x: (m.logical_not(x), x.logical_not()),
           lambda x: (np.logical_not(x),) * 2,
           [S(SPECIAL), S(arr(5, dtype=np.int64), label="int"),
            S(arr(2, 2, dtype=np.bool_), label="bool")], differentiable=False),
]

# Integer inputs: abs/sign/rounding keep int64 (rounding is the identity), the others give
# float32; one entry for all, since such results have no gradient.
_INT_OPS = sorted(n for n in REFS if n not in ("asin", "acos"))


def _int_ref(x):
    with np.errstate(all="ignore"):   # log of negatives, 1/0: NaN and inf, as PyTorch
        return tuple(REFS[n](x) if n in ("abs", "sign", "floor", "ceil", "trunc", "round")
                     else REFS[n](x.astype(np.float64)) for n in _INT_OPS)


OPS.append(OpInfo(
    "int_inputs", lambda m, x: tuple(getattr(m, n)(x) for n in _INT_OPS), _int_ref,
    [S(arr(2, 3, dtype=np.int64, low=1, high=6)), S(arr(4, dtype=np.int64), label="signs")],
    differentiable=False))
OPS.append(OpInfo(
    "int_clamp", lambda m, x: (x.clamp(-2, 3), x.clamp(0.5), x.clamp(max=1), m.nan_to_num(x)),
    lambda x: (np.clip(x, -2, 3), np.maximum(x.astype(np.float64), 0.5), np.minimum(x, 1), x),
    [S(arr(6, dtype=np.int64))], differentiable=False))
