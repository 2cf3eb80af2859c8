"""`torch.nn.functional` counterparts: activation functions (and, from other families, softmax,
padding, linear layers...). Each is a thin wrapper over an op of `tracegrad.ir.ops`."""
from __future__ import annotations

import warnings

from .. import functional as _functional
from ..ir import ops
from ..tensor import _overload


def _activation(name, input, inplace, fn, inplace_node=None):
    """fn(input); with `inplace`, written into input (PyTorch names some in-place nodes
    differently: `inplace_node`)."""
    if not inplace:
        return fn(input)
    return input._inplace(name + "_", lambda t: _overload(fn(t), inplace_node)
                          if inplace_node else fn(t))


# ---- elementwise math, activations, binary elementwise ----------------------------------------
def relu(input, inplace=False):
    """max(x, 0)."""
    return _activation("relu", input, inplace, ops.relu)


def relu6(input, inplace=False):
    """min(max(x, 0), 6): hardtanh(x, 0, 6), whose node it shares."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope * x."""
    return _activation("leaky_relu", input, inplace, lambda t: ops.leaky_relu(
        t, negative_slope=float(negative_slope)), "LeakyReluBackward1")


def elu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha * (exp(x) - 1)."""
    return _activation("elu", input, inplace, lambda t: ops.elu(
        t, alpha=float(alpha), scale=1.0, input_scale=1.0), "EluBackward1")


def selu(input, inplace=False):
    """scale * elu(x, alpha) with SELU's self-normalizing constants."""
    return _activation("selu", input, inplace, _functional.selu, "EluBackward1")


def gelu(input, approximate="none"):
    """x * Phi(x), Phi the standard normal CDF; `approximate='tanh'` uses the tanh formula."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return ops.gelu(input, approximate=approximate)


def silu(input, inplace=False):
    """x * sigmoid(x)."""
    return _activation("silu", input, inplace, ops.silu)


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    return _activation("mish", input, inplace, ops.mish)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold."""
    return ops.softplus(input, beta=float(beta), threshold=float(threshold))


def softsign(input):
    """x / (1 + |x|)."""
    return input / (1 + ops.abs(input))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x clamped to [min_val, max_val]; unlike clamp, the gradient is 0 at the boundaries."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _activation("hardtanh", input, inplace, lambda t: ops.hardtanh(
        t, min_val=float(min_val), max_val=float(max_val)))


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6."""
    return _activation("hardsigmoid", input, inplace, ops.hardsigmoid)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6."""
    return _activation("hardswish", input, inplace, ops.hardswish)


def logsigmoid(input):
    """log(sigmoid(x)), computed without overflow."""
    return ops.logsigmoid(input)


def sigmoid(input):
    return ops.sigmoid(input)


def tanh(input):
    return ops.tanh(input)


# ---- reductions, scans, softmax ----
def _softmax_dim(name, dim, ndim):
    if dim is not None:
        return dim
    # PyTorch's deprecated implicit choice (_get_softmax_dim).
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  f"to include dim=X as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x) / sum(exp(x)) along `dim`, computed stably (shifted by the max)."""
    return input.softmax(_softmax_dim("softmax", dim, input.ndim), dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x - logsumexp(x) along `dim`."""
    return input.log_softmax(_softmax_dim("log_softmax", dim, input.ndim), dtype)


# ---- linear algebra, convolution, pooling, normalization, losses ----
from .conv import (adaptive_avg_pool2d, avg_pool2d, conv1d, conv2d,  # noqa: E402,F401
                   max_pool2d)
from .layers import (batch_norm, dropout, embedding, layer_norm, linear,  # noqa: E402,F401
                     scaled_dot_product_attention)
from .loss import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: E402,F401
                   cross_entropy, l1_loss, mse_loss, nll_loss, smooth_l1_loss)


# ---- shape and indexing ----
from ..shaping import one_hot, pad  # noqa: E402,F401
