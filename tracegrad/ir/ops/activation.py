"""Activation functions (`tracegrad.nn.functional`): composites of elementwise primitives, each
with its own numpy reference, PyTorch's backward formula (boundaries included) and node name.

Scalar parameters (negative_slope, alpha, beta...) are attributes, so they become literals of
the input's dtype.
"""
from __future__ import annotations

import math

import numpy as np

from ..op import defop
from .elementwise import _broadcast, exp, sigmoid, tanh, where
from .binary import maximum, minimum
from .unary import _erfc64, abs, erfc, erfc_f32, expm1, log1p


def _floating(name):
    def infer(x, **attrs):
        if not x.dtype.is_floating_point:
            raise NotImplementedError(f'"{name}_cpu" not implemented for '
                                      f"'{x.dtype.scalar_name}'")
        return _broadcast(x)
    return infer


def _activation(name, impl, vjp, decompose, grad_fn):
    return defop(name, kind="composite", infer=_floating(name), impl=impl, vjp=vjp,
                 decompose=decompose, grad_fn=grad_fn)


def _np(f):
    """A numpy reference computed as written, returned in the input's dtype."""
    return lambda x, **attrs: np.asarray(f(x, **attrs)).astype(x.dtype)


leaky_relu = _activation(
    "leaky_relu", _np(lambda x, negative_slope: np.where(x > 0, x, x * negative_slope)),
    lambda ct, out, x, negative_slope: where(x > 0.0, ct, ct * negative_slope),
    lambda x, negative_slope: where(x > 0.0, x, x * negative_slope), "LeakyReluBackward0")

# elu(x) = scale * (x if x > 0 else alpha * expm1(input_scale * x)); selu fixes the constants.
elu = _activation(
    "elu", _np(lambda x, alpha, scale, input_scale: np.where(
        x > 0, scale * x, scale * alpha * np.expm1(x * input_scale))),
    # `x <= 0` picks the exponential branch, so NaN takes the linear one's gradient (PyTorch)
    lambda ct, out, x, alpha, scale, input_scale: where(
        x <= 0.0, ct * (input_scale * alpha * scale) * exp(x * input_scale), ct * scale),
    lambda x, alpha, scale, input_scale: where(
        x <= 0.0, expm1(x * input_scale) * (alpha * scale), x * scale), "EluBackward0")

_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_PI = math.sqrt(2.0 / math.pi)


def _gelu_impl(x, approximate):
    x64 = x.astype(np.float64)
    if approximate == "tanh":
        y = 0.5 * x64 * (1.0 + np.tanh(_SQRT_2_PI * (x64 + 0.044715 * x64 ** 3)))
    else:   # float32: the fast erfc (math.erfc per element is slow)
        y = 0.5 * x64 * (erfc_f32 if x.dtype == np.float32 else _erfc64)(x64 * -_SQRT1_2)
    return y.astype(x.dtype)


def _gelu(x, approximate):
    if approximate == "tanh":
        return (x * 0.5) * (1.0 + tanh((x + 0.044715 * (x * x * x)) * _SQRT_2_PI))
    return (x * 0.5) * erfc(x * -_SQRT1_2)   # 1 + erf(x / sqrt 2), accurate for x << 0


def _gelu_vjp(ct, out, x, approximate):
    if approximate == "tanh":
        t = tanh((x + 0.044715 * (x * x * x)) * _SQRT_2_PI)
        inner_grad = _SQRT_2_PI * (1.0 + (3.0 * 0.044715) * (x * x))
        return ct * (0.5 * (1.0 + t) + (0.5 * x) * ((1.0 - t * t) * inner_grad))
    cdf = 0.5 * erfc(x * -_SQRT1_2)
    pdf = exp(-0.5 * (x * x)) * _INV_SQRT_2PI
    return ct * (cdf + x * pdf)


gelu = _activation("gelu", _gelu_impl, _gelu_vjp, _gelu, "GeluBackward0")


def _silu_vjp(ct, out, x):
    s = sigmoid(x)
    return ct * (s * (1.0 + x * (1.0 - s)))


silu = _activation("silu", _np(lambda x: x / (1.0 + np.exp(-x))), _silu_vjp,
                   lambda x: x * sigmoid(x), "SiluBackward0")


def _mish_vjp(ct, out, x):
    t = tanh(log1p(exp(x)))
    return ct * (t + x * sigmoid(x) * (1.0 - t * t))


mish = _activation("mish", _np(lambda x: x * np.tanh(np.log1p(np.exp(x)))), _mish_vjp,
                   lambda x: x * tanh(log1p(exp(x))), "MishBackward0")


# Linear above `threshold` (in units of x * beta), as PyTorch.
def _softplus_vjp(ct, out, x, beta, threshold):
    z = exp(x * beta)
    return where(x * beta > threshold, ct, ct * (z / (z + 1.0)))


softplus = _activation(
    "softplus", _np(lambda x, beta, threshold: np.where(
        x * beta > threshold, x, np.log1p(np.exp(x * beta)) / beta)),
    _softplus_vjp,
    lambda x, beta, threshold: where(x * beta > threshold, x, log1p(exp(x * beta)) / beta),
    "SoftplusBackward0")

# hardtanh is a clamp whose gradient is zero at the boundaries too, unlike clamp's. NaN gets 0
# as in PyTorch's vectorized kernel (its scalar tail, used for short tensors, passes the gradient).
hardtanh = _activation(
    "hardtanh", _np(lambda x, min_val, max_val: np.minimum(np.maximum(x, min_val), max_val)),
    lambda ct, out, x, min_val, max_val: where(x > min_val, where(x < max_val, ct, 0.0), 0.0),
    lambda x, min_val, max_val: minimum(maximum(x, min_val), max_val), "HardtanhBackward0")

hardsigmoid = _activation(
    "hardsigmoid", _np(lambda x: np.minimum(np.maximum(x + 3.0, 0.0), 6.0) / 6.0),
    lambda ct, out, x: where(x > -3.0, where(x < 3.0, ct * (1.0 / 6.0), 0.0), 0.0),
    lambda x: minimum(maximum(x + 3.0, 0.0), 6.0) / 6.0, "HardsigmoidBackward0")

hardswish = _activation(
    "hardswish", _np(lambda x: x * np.minimum(np.maximum(x + 3.0, 0.0), 6.0) / 6.0),
    lambda ct, out, x: where(x <= -3.0, 0.0, where(x < 3.0, ct * (x / 3.0 + 0.5), ct)),
    lambda x: x * minimum(maximum(x + 3.0, 0.0), 6.0) / 6.0, "HardswishBackward0")


# log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)): no overflow for large |x|.
def _logsigmoid_vjp(ct, out, x):
    z = exp(-abs(x))
    q = z / (z + 1.0)
    return where(x < 0.0, ct * (1.0 - q), ct * q)


logsigmoid = _activation(
    "logsigmoid", _np(lambda x: np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))),
    _logsigmoid_vjp, lambda x: minimum(x, 0.0) - log1p(exp(-abs(x))), "LogSigmoidBackward0")
