"""Activation functions of `nn.functional` (plus torch.selu): relu6, leaky_relu, elu/selu, gelu,
silu, mish, softplus, softsign, hardtanh, hardsigmoid, hardswish, logsigmoid, sigmoid, tanh."""
from __future__ import annotations

import math

import numpy as np

from opinfo import E, OpInfo, S, arr

_erf = np.vectorize(math.erf, otypes=[np.float64])
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _F(name):
    return lambda m, x, **kw: getattr(m.nn.functional, name)(x, **kw)


def _samples(make=arr, **kw):
    """Non-contiguous 2-d, 0-d and empty inputs (with keyword arguments `kw`)."""
    return [S(make(3, 4), noncontiguous=True, **kw), S(make(), label="0d", **kw),
            S(make(0, 3), label="empty", **kw)]


def _away(*points, low=None, high=None):
    return lambda *shape: arr(*shape, low=low, high=high, away_from=list(points))


def _elu_ref(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(x))


def _gelu_ref(x, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def _softplus_ref(x, beta=1.0, threshold=20.0):
    return np.where(x * beta > threshold, x, np.log1p(np.exp(x * beta)) / beta)


def _hardtanh_ref(x, min_val=-1.0, max_val=1.0):
    return np.clip(x, min_val, max_val)


def _relu6(x):
    return np.clip(x, 0, 6)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


_INPLACE = {"relu": lambda x: np.maximum(x, 0), "relu6": _relu6,
            "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x), "elu": _elu_ref,
            "selu": lambda x: SELU_SCALE * _elu_ref(x, SELU_ALPHA),
            "silu": lambda x: x * _sigmoid(x), "mish": lambda x: x * np.tanh(np.log1p(np.exp(x))),
            "hardtanh": _hardtanh_ref, "hardsigmoid": lambda x: _relu6(x + 3) / 6,
            "hardswish": lambda x: x * _relu6(x + 3) / 6}
_NOT_FLOAT = E(NotImplementedError, "not implemented for 'Long'", arr(3, dtype=np.int64))

OPS = [
    OpInfo("F.relu", _F("relu"), lambda x: np.maximum(x, 0), _samples(_away(0.0)),
           grad_fn="ReluBackward0"),
    OpInfo("F.relu6", _F("relu6"), _relu6, _samples(_away(0.0, 6.0, low=-3, high=9)),
           grad_fn="HardtanhBackward0"),
    OpInfo("F.leaky_relu", _F("leaky_relu"),
           lambda x, negative_slope=0.01: np.where(x > 0, x, negative_slope * x),
           _samples(_away(0.0)) + [S(arr(5, away_from=0.0), negative_slope=0.2,
                                     label="slope")],
           errors=[_NOT_FLOAT], grad_fn="LeakyReluBackward0"),
    OpInfo("F.elu", _F("elu"), _elu_ref,
           _samples(_away(0.0)) + [S(arr(5, away_from=0.0), alpha=0.5, label="alpha")],
           errors=[_NOT_FLOAT], grad_fn="EluBackward0"),
    OpInfo("F.selu", lambda m, x: (m.nn.functional.selu(x), m.selu(x)),
           lambda x: (SELU_SCALE * _elu_ref(x, SELU_ALPHA),) * 2, _samples(_away(0.0)),
           grad_fn="EluBackward0"),
    OpInfo("F.gelu", _F("gelu"), _gelu_ref,
           _samples() + [S(arr(3, 4), approximate="tanh", label="tanh"),
                         S(arr(), approximate="tanh", label="tanh_0d")],
           errors=[E(RuntimeError, "approximate argument must be either none or tanh",
                     arr(3), approximate="erf")],
           grad_fn="GeluBackward0"),
    OpInfo("F.silu", _F("silu"), lambda x: x * _sigmoid(x), _samples(), grad_fn="SiluBackward0"),
    OpInfo("F.mish", _F("mish"), lambda x: x * np.tanh(np.log1p(np.exp(x))), _samples(),
           grad_fn="MishBackward0"),
    OpInfo("F.softplus", _F("softplus"), _softplus_ref,
           _samples() + [S(arr(6, away_from=0.5), beta=2.0, threshold=1.0, label="threshold"),
                         S(arr(4) * 10, label="large")],
           grad_fn="SoftplusBackward0"),
    OpInfo("F.softsign", _F("softsign"), lambda x: x / (1 + np.abs(x)),
           _samples(_away(0.0)), grad_fn="DivBackward0"),
    OpInfo("F.hardtanh", _F("hardtanh"), _hardtanh_ref,
           _samples(_away(-1.0, 1.0, low=-2, high=2))
           + [S(arr(6, low=-1, high=3, away_from=[-0.5, 2.0]), min_val=-0.5, max_val=2.0,
                label="bounds")],
           errors=[E(ValueError, "min_val cannot be greater than max_val", arr(3),
                     min_val=2.0, max_val=1.0)],
           grad_fn="HardtanhBackward0"),
    OpInfo("F.hardsigmoid", _F("hardsigmoid"), lambda x: _relu6(x + 3) / 6,
           _samples(_away(-3.0, 3.0, low=-5, high=5)), grad_fn="HardsigmoidBackward0"),
    OpInfo("F.hardswish", _F("hardswish"), lambda x: x * _relu6(x + 3) / 6,
           _samples(_away(-3.0, 3.0, low=-5, high=5)), grad_fn="HardswishBackward0"),
    OpInfo("F.logsigmoid", _F("logsigmoid"), lambda x: -np.log1p(np.exp(-x)),
           _samples() + [S(np.array([-40.0, -5.0, 5.0, 40.0], np.float32), label="tails")],
           grad_fn="LogSigmoidBackward0"),
    OpInfo("F.sigmoid", _F("sigmoid"), _sigmoid, _samples()[:1], grad_fn="SigmoidBackward0"),
    OpInfo("F.tanh", _F("tanh"), np.tanh, _samples()[:1], grad_fn="TanhBackward0"),
    # inplace=True writes into the input and returns it (here a non-leaf, as PyTorch requires)
    OpInfo("F.inplace", lambda m, x: tuple(getattr(m.nn.functional, n)(x * 1.0, inplace=True)
                                           for n in _INPLACE),
           lambda x: tuple(_INPLACE[n](x) for n in _INPLACE),
           [S(arr(3, 4, low=-5, high=7, away_from=[-3.0, -1.0, 0.0, 1.0, 3.0, 6.0]))],
           grad_fn="ReluBackward0"),
]
