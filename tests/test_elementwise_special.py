"""Elementwise math, activations and binary ops at special points: NaN, infinities, signed zeros,
ties, half-integers, activation boundaries and huge values. Values and gradients are compared
with PyTorch (eager), and compiled code with eager (NaN where NaN, exact at the boundaries)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tracegrad as tg

NAN, INF = math.nan, math.inf
SPECIAL = np.array([NAN, INF, -INF, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -2.5, 3.0, -3.0, 6.0,
                    1e-30, 30.0, -30.0, 100.0, -100.0, 1e30], np.float32)
# Every (x, y) pair of a smaller set, for binary ops.
_PAIR = np.array([NAN, INF, -INF, 0.0, -0.0, 1.0, -1.0, 2.5, -2.5], np.float32)
PAIR_X, PAIR_Y = (a.reshape(-1) for a in np.meshgrid(_PAIR, _PAIR))

UNARY = {
    "abs": lambda m, x: x.abs(), "sign": lambda m, x: x.sign(),
    "floor": lambda m, x: x.floor(), "ceil": lambda m, x: x.ceil(),
    "round": lambda m, x: x.round(), "trunc": lambda m, x: x.trunc(),
    "rsqrt": lambda m, x: x.rsqrt(), "reciprocal": lambda m, x: x.reciprocal(),
    "sin": lambda m, x: x.sin(), "cos": lambda m, x: x.cos(), "tan": lambda m, x: x.tan(),
    "asin": lambda m, x: x.asin(), "acos": lambda m, x: x.acos(), "atan": lambda m, x: x.atan(),
    "sinh": lambda m, x: x.sinh(), "cosh": lambda m, x: x.cosh(),
    "log2": lambda m, x: x.log2(), "log10": lambda m, x: x.log10(),
    "log1p": lambda m, x: x.log1p(), "exp2": lambda m, x: x.exp2(),
    "expm1": lambda m, x: x.expm1(), "erf": lambda m, x: x.erf(),
    "erfc": lambda m, x: x.erfc(),
    "clamp": lambda m, x: x.clamp(-1.0, 1.0), "clamp_min": lambda m, x: x.clamp(min=0.5),
    "nan_to_num": lambda m, x: x.nan_to_num(),
    "nan_to_num_kw": lambda m, x: x.nan_to_num(nan=1.0, posinf=2.0, neginf=-2.0),
    "relu6": lambda m, x: m.nn.functional.relu6(x),
    "leaky_relu": lambda m, x: m.nn.functional.leaky_relu(x, 0.1),
    "elu": lambda m, x: m.nn.functional.elu(x), "selu": lambda m, x: m.nn.functional.selu(x),
    "gelu": lambda m, x: m.nn.functional.gelu(x),
    "gelu_tanh": lambda m, x: m.nn.functional.gelu(x, approximate="tanh"),
    "silu": lambda m, x: m.nn.functional.silu(x), "mish": lambda m, x: m.nn.functional.mish(x),
    "softplus": lambda m, x: m.nn.functional.softplus(x),
    "softplus_beta": lambda m, x: m.nn.functional.softplus(x, beta=2.0, threshold=3.0),
    "softsign": lambda m, x: m.nn.functional.softsign(x),
    "hardtanh": lambda m, x: m.nn.functional.hardtanh(x),
    "hardsigmoid": lambda m, x: m.nn.functional.hardsigmoid(x),
    "hardswish": lambda m, x: m.nn.functional.hardswish(x),
    "logsigmoid": lambda m, x: m.nn.functional.logsigmoid(x),
}
PREDICATES = {
    "isnan": lambda m, x: x.isnan(), "isinf": lambda m, x: x.isinf(),
    "isfinite": lambda m, x: x.isfinite(), "logical_not": lambda m, x: x.logical_not(),
}
BINARY = {
    "maximum": lambda m, x, y: m.maximum(x, y), "minimum": lambda m, x, y: m.minimum(x, y),
    "remainder": lambda m, x, y: m.remainder(x, y), "fmod": lambda m, x, y: m.fmod(x, y),
    "atan2": lambda m, x, y: m.atan2(x, y), "lerp": lambda m, x, y: m.lerp(x, y, 0.25),
    "lerp_tensor": lambda m, x, y: m.lerp(x, y, y),
    "clamp_tensor": lambda m, x, y: x.clamp(min=y),
    "clamp_tensors": lambda m, x, y: x.clamp(y, y * 0.5 + 1.0),
}
# PyTorch's vectorized float32 kernels round differently from numpy/libm by an ulp or so,
# which cancellation (expm1 + 1, gelu's tails) turns into a few 1e-6 relative.
# PyTorch's float32 gelu computes 1 + erf(x / sqrt 2), which cancels for x << 0 (1e-4 relative
# at x = -3); tracegrad uses erfc.
RTOL = {"tan": 1e-5, "sinh": 1e-5, "cosh": 1e-5, "gelu": 2e-4, "gelu_tanh": 3e-5, "mish": 1e-5,
        "expm1": 1e-5, "softsign": 1e-5}
FINITE = SPECIAL[np.isfinite(SPECIAL) | np.isnan(SPECIAL)]
# PyTorch's gelu gives NaN at +inf (its vectorized erf); tracegrad gives the limit, inf.
# remainder's gradient for y is -floor(x / y), where PyTorch's floor division is Python's
# (-1 // inf == -1): infinite operands are left out.
INPUTS = {"gelu": [FINITE], "remainder": [a[np.isfinite(PAIR_X) & np.isfinite(PAIR_Y)]
                                          for a in (PAIR_X, PAIR_Y)]}


def _close(got, want, name, what, rtol=1e-6):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, f"{name} {what}: dtype {got.dtype} != {want.dtype}"
    np.testing.assert_allclose(got, want, rtol=RTOL.get(name, rtol), atol=1e-30, equal_nan=True,
                               err_msg=f"{name} {what}")


def _run(m, fn, arrays, grad=True, compiled=False):
    leaves = [m.tensor(a.copy(), requires_grad=grad) for a in arrays]
    f = tg.compile(lambda *a: fn(m, *a)) if compiled else (lambda *a: fn(m, *a))
    with np.errstate(all="ignore"):
        out = f(*leaves)
        if grad:
            out.sum().backward()
    value = out.detach().numpy() if hasattr(out, "detach") else np.asarray(out)
    return value, [l.grad.numpy() for l in leaves] if grad else []


def _check(name, fn, arrays, grad=True):
    torch = pytest.importorskip("torch")
    eager, eager_grads = _run(tg, fn, arrays, grad)
    want, want_grads = _run(torch, fn, arrays, grad)
    _close(eager, want, name, "value")
    for k, (g, w) in enumerate(zip(eager_grads, want_grads)):
        _close(g, w, name, f"gradient {k}")
    compiled, compiled_grads = _run(tg, fn, arrays, grad, compiled=True)
    _close(compiled, eager, name, "compiled value")
    for k, (g, w) in enumerate(zip(compiled_grads, eager_grads)):
        _close(g, w, name, f"compiled gradient {k}")


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_at_special_points(name):
    _check(name, UNARY[name], INPUTS.get(name, [SPECIAL]))


@pytest.mark.parametrize("name", sorted(PREDICATES))
def test_predicates_at_special_points(name):
    _check(name, PREDICATES[name], [SPECIAL], grad=False)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_at_special_points(name):
    _check(name, BINARY[name], INPUTS.get(name, [PAIR_X, PAIR_Y]))


def test_gradients_at_kinks_follow_derivatives_yaml():
    """abs'(0) = 0; clamp passes the gradient at its bounds, hardtanh/relu6 do not; maximum
    splits ties; rounding has zero gradient."""
    def grads(fn, *values):
        leaves = [tg.tensor(v, requires_grad=True) for v in values]
        fn(*leaves).sum().backward()
        return [l.grad.tolist() for l in leaves]

    assert grads(lambda x: x.abs(), [0.0, -2.0]) == [[0.0, -1.0]]
    assert grads(lambda x: x.clamp(0.0, 6.0), [0.0, 6.0, 7.0]) == [[1.0, 1.0, 0.0]]
    assert grads(lambda x: tg.nn.functional.relu6(x), [0.0, 6.0, 3.0]) == [[0.0, 0.0, 1.0]]
    assert grads(tg.maximum, [1.0, 2.0], [1.0, 1.0]) == [[0.5, 1.0], [0.5, 0.0]]
    assert grads(lambda x: x.round() + x.floor() + x.sign(), [0.5, 1.2]) == [[0.0, 0.0]]


def test_maximum_minimum_clamp_order_signed_zeros_like_llvm_in_eager_and_compiled():
    a, b = tg.tensor([-0.0, 0.0, -0.0, 0.0]), tg.tensor([0.0, -0.0, -0.0, 0.0])
    for fn, want in ((lambda x, y: tg.maximum(x, y), [False, False, True, False]),
                     (lambda x, y: tg.minimum(x, y), [True, True, True, False]),
                     (lambda x, y: tg.clamp(x, min=y), [False, False, True, False])):
        assert np.signbit(fn(a, b).numpy()).tolist() == want
        assert np.signbit(tg.compile(fn)(a, b).numpy()).tolist() == want
