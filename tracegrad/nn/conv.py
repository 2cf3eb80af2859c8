"""Convolution and pooling of `tracegrad.nn.functional`, composed from ops.

Sliding windows are `im2col` done with one `gather` from the (padded) input at index tables
that depend only on shapes: the result is (N, C, kh, kw, Ho, Wo). A convolution is then one
matrix product per group, max pooling a `max` over the window (its gradient goes to the first
maximum, as PyTorch's) and average pooling a sum divided by PyTorch's divisor. The gradient of
the gather is a scatter-add, so forward and backward compile like any other ops.
"""
from __future__ import annotations

import math

import numpy as np

from ..ir import ops
from ..tensor import _overload, tensor


def _pair(v, name="kernel_size"):
    if isinstance(v, int):
        return (v, v)
    v = tuple(v)
    if len(v) == 1:
        return (v[0], v[0])
    if len(v) != 2:
        raise RuntimeError(f"{name} must either be a single int, or a tuple of two ints")
    return v


def _window_tables(k, s, d, out):
    """Index tables (1, 1, kh, 1, Ho, 1) and (1, 1, 1, kw, 1, Wo) of the rows and columns each
    window element reads (in padded coordinates)."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = k, s, d, out
    rows = (np.arange(kh)[:, None] * dh + np.arange(ho)[None, :] * sh).reshape(1, 1, kh, 1, ho, 1)
    cols = (np.arange(kw)[:, None] * dw + np.arange(wo)[None, :] * sw).reshape(1, 1, 1, kw, 1, wo)
    return rows, cols


def _windows(x, k, s, d, out, pads, value=0.0):
    """x (N, C, H, W) -> (N, C, kh, kw, Ho, Wo): element (i, j) of window (y, x), reading the
    input padded by pads ((top, bottom), (left, right)) with `value`."""
    if any(p for pair in pads for p in pair):
        x = ops.constant_pad(x, pads=((0, 0), (0, 0)) + tuple(pads), value=value)
    n, c, hp, wp = x.shape
    x6 = ops.reshape(x, shape=(n, c, 1, 1, hp, wp))
    rows, cols = _window_tables(k, s, d, out)
    # the gather's domain is its indices' broadcast shape: a zero index spans N and C
    zero = tensor(np.zeros((n, c, 1, 1, 1, 1), np.int64))
    return ops.gather(x6, zero, zero, tensor(rows), tensor(cols), dims=(2, 3, 4, 5), wrap=False,
                      error="index")


def _batched(input, name, fn):
    """Run fn on a 4-D input, adding and removing the batch dim of a 3-D (unbatched) one."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to {name}, but got "
                           f"input of size: {list(input.shape)}")
    if input.ndim == 4:
        return fn(input), False
    return fn(ops.reshape(input, shape=(1,) + tuple(input.shape))), True


def _unbatch(out, squeezed):
    return ops.reshape(out, shape=tuple(out.shape[1:])) if squeezed else out


# ---- convolution ---------------------------------------------------------------------------------
def _conv_padding(padding, k, s, d):
    """((top, bottom), (left, right)) for an int/tuple padding or 'same'/'valid'."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding != "same":
            raise RuntimeError(f"Invalid padding string: '{padding}'")
        if any(v != 1 for v in s):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        # PyTorch pads the odd extra element at the end
        totals = [dd * (kk - 1) for kk, dd in zip(k, d)]
        return tuple((t // 2, t - t // 2) for t in totals)
    p = _pair(padding, "padding")
    return tuple((q, q) for q in p)


def _check_conv_operands(input, weight, bias, ndim):
    if weight.ndim != ndim:
        raise RuntimeError(f"Expected {weight.ndim}-dimensional input for {weight.ndim}-"
                           f"dimensional weight {list(weight.shape)}, but got {input.ndim}-"
                           f"dimensional input of size {list(input.shape)} instead")
    for other in (weight, bias):
        if other is not None and other.dtype is not input.dtype:
            raise RuntimeError(f"expected scalar type {input.dtype.scalar_name} but found "
                               f"{other.dtype.scalar_name}")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    """2-D cross-correlation of (N, C, H, W) (or unbatched (C, H, W)) input with (O, C/groups,
    kh, kw) weights: stride, padding (ints or 'same'/'valid'), dilation, groups, bias (O,)."""
    s, d = _pair(stride, "stride"), _pair(dilation, "dilation")
    _check_conv_operands(input, weight, bias, 4)
    o, cg, kh, kw = weight.shape
    pads = _conv_padding(padding, (kh, kw), s, d)

    def run(x):
        n, c, h, w = x.shape
        if o % groups:
            raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by "
                               f"{groups} at dimension 0, but got weight of size "
                               f"[{list(weight.shape)}] instead")
        if c != cg * groups:
            raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, "
                               f"expected input{list(x.shape)} to have {cg * groups} channels, "
                               f"but got {c} channels instead")
        if bias is not None and (bias.ndim != 1 or bias.shape[0] != o):
            raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be "
                               f"1-dimensional with {o} elements, but got bias of size "
                               f"{list(bias.shape)} instead")
        hp, wp = h + sum(pads[0]), w + sum(pads[1])
        eh, ew = d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1
        if hp < eh or wp < ew:
            raise RuntimeError(f"Calculated padded input size per channel: ({hp} x {wp}). "
                               f"Kernel size: ({eh} x {ew}). Kernel size can't be greater than "
                               f"actual input size")
        ho, wo = (hp - eh) // s[0] + 1, (wp - ew) // s[1] + 1
        cols = _windows(x, (kh, kw), s, d, (ho, wo), pads)
        cols = ops.reshape(cols, shape=(n, groups, cg * kh * kw, ho * wo))
        wmat = ops.reshape(weight, shape=(groups, o // groups, cg * kh * kw))
        out = ops.reshape(ops.matmul(wmat, cols), shape=(n, o, ho, wo))
        if bias is not None:
            out = out + ops.reshape(bias, shape=(1, o, 1, 1))
        return out

    out, squeezed = _batched(input, "conv2d", run)
    out = _overload(out, "ConvolutionBackward0")
    return _overload(_unbatch(out, True), "SqueezeBackward1") if squeezed else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    """1-D cross-correlation of (N, C, L) (or unbatched (C, L)) input with (O, C/groups, k)
    weights; a conv2d over a height-1 image."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2D (unbatched) or 3D (batched) input to conv1d, but got "
                           f"input of size: {list(input.shape)}")
    _check_conv_operands(input, weight, bias, 3)
    x = ops.reshape(input, shape=tuple(input.shape[:-1]) + (1, input.shape[-1]))
    w = ops.reshape(weight, shape=tuple(weight.shape[:-1]) + (1, weight.shape[-1]))
    pad = padding if isinstance(padding, str) else (0, _single(padding))
    out = conv2d(x, w, bias, (1, _single(stride)), pad, (1, _single(dilation)), groups)
    out = ops.reshape(out, shape=tuple(out.shape[:-2]) + (out.shape[-1],))
    return _overload(out, "ConvolutionBackward0" if input.ndim == 3 else "SqueezeBackward1")


def _single(v):
    if isinstance(v, int):
        return v
    (v,) = tuple(v)
    return v


# ---- pooling -------------------------------------------------------------------------------------
def _pool_out(size, k, s, p, d, ceil_mode):
    """PyTorch's pooling output size (ceil mode drops a window starting in the right padding)."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_params(input, kernel_size, stride, padding, dilation, ceil_mode):
    k = _pair(kernel_size)
    s = k if stride is None or stride == () or stride == [] else _pair(stride, "stride")
    p, d = _pair(padding, "padding"), _pair(dilation, "dilation")
    for pp, kk, dd in zip(p, k, d):
        if pp > (dd * (kk - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={pp}, kernel_size={kk} and dilation={dd}")
    if input.ndim not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    h, w = input.shape[-2:]
    out = tuple(_pool_out(n, kk, ss, pp, dd, ceil_mode) for n, kk, ss, pp, dd in
                zip((h, w), k, s, p, d))
    if out[0] < 1 or out[1] < 1:
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, input.shape[-3:]))}). "
                           f"Calculated output size: ({input.shape[-3]}x{out[0]}x{out[1]}). "
                           f"Output size is too small")
    # ceil mode may read past the padded input on the right: pad it with the filler there
    pads = tuple((pp, max(pp, (oo - 1) * ss + dd * (kk - 1) + 1 - n - pp))
                 for n, kk, ss, pp, dd, oo in zip((h, w), k, s, p, d, out))
    return k, s, p, d, out, pads


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Maximum over each window; padding counts as -inf. The gradient goes to the first maximum
    of the window (row-major); `return_indices` also gives its flat position in the input."""
    k, s, p, d, (ho, wo), pads = _pool_params(input, kernel_size, stride, padding, dilation,
                                              ceil_mode)
    x = input if input.ndim == 4 else ops.reshape(input, shape=(1,) + tuple(input.shape))
    n, c, h, w = x.shape
    cols = ops.reshape(_windows(x, k, s, d, (ho, wo), pads, value=-math.inf),
                       shape=(n, c, k[0] * k[1], ho, wo))
    out = _overload(_unbatch(ops.max_dim(cols, dims=(2,), keepdim=False), input.ndim == 3),
                    "MaxPool2DWithIndicesBackward0")
    if not return_indices:
        return out
    # flat input position of every window element (padding positions are never the max
    # unless the whole window is padding, which PyTorch's size rules exclude)
    rows, colsx = _window_tables(k, s, d, (ho, wo))
    flat = ((rows - p[0]) * w + (colsx - p[1])).reshape(1, 1, k[0] * k[1], ho, wo)
    arg = ops.argmax(cols, dims=(2,), keepdim=True)
    picked = ops.where(ops.iota(cols, dim=2) == arg, tensor(flat), 0)
    indices = ops.reduce_sum(picked, dims=(2,), keepdim=False)
    return out, _unbatch(indices, input.ndim == 3)


def _avg_divisors(size, k, s, p, out, count_include_pad):
    """Per output position along one dim: PyTorch's window length for the divisor."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    full = end - start
    valid = np.minimum(end, size) - np.maximum(start, 0)
    return full if count_include_pad else valid


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None):
    """Mean over each window: the sum divided by the window size (zero padding counted when
    `count_include_pad`; windows reaching past the padding in ceil mode are cut), or by
    `divisor_override`."""
    k, s, p, d, (ho, wo), pads = _pool_params(input, kernel_size, stride, padding, 1,
                                              ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    x = input if input.ndim == 4 else ops.reshape(input, shape=(1,) + tuple(input.shape))
    n, c, h, w = x.shape
    total = ops.reduce_sum(_windows(x, k, s, d, (ho, wo), pads), dims=(2, 3), keepdim=False)
    if divisor_override is not None:
        out = total / float(divisor_override)
    else:
        dh = _avg_divisors(h, k[0], s[0], p[0], ho, count_include_pad)
        dw = _avg_divisors(w, k[1], s[1], p[1], wo, count_include_pad)
        out = total / tensor((dh[:, None] * dw[None, :]).astype(input.dtype.np))
    return _overload(_unbatch(out, input.ndim == 3), "AvgPool2DBackward0")


def _adaptive_mask(size, out):
    """(out, size) bool: which inputs each adaptive window covers (PyTorch's start/end)."""
    i = np.arange(out)
    start = (i * size) // out
    end = -(-((i + 1) * size) // out)
    pos = np.arange(size)
    return (pos[None, :] >= start[:, None]) & (pos[None, :] < end[:, None]), end - start


def adaptive_avg_pool2d(input, output_size):
    """Average over the windows that split H and W into output_size parts (None keeps a
    size). Each window is selected exactly with `where` and summed (no products with zero)."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got "
                           f"{list(input.shape)}")
    oh, ow = _pair(output_size, "output_size")
    h, w = input.shape[-2:]
    oh, ow = h if oh is None else oh, w if ow is None else ow
    lead = tuple(input.shape[:-2])
    mh, nh = _adaptive_mask(h, oh)
    mw, nw = _adaptive_mask(w, ow)
    # rows: (..., oh, H, W) summed over H; then columns: (..., oh, ow, W) summed over W
    x = ops.reshape(input, shape=lead + (1, h, w))
    rows = ops.reduce_sum(ops.where(tensor(mh.reshape(oh, h, 1)), x, 0.0),
                          dims=(len(lead) + 1,), keepdim=False)
    rows = ops.reshape(rows, shape=lead + (oh, 1, w))
    sums = ops.reduce_sum(ops.where(tensor(mw.reshape(1, ow, w)), rows, 0.0),
                          dims=(len(lead) + 2,), keepdim=False)
    out = sums / tensor((nh[:, None] * nw[None, :]).astype(input.dtype.np))
    return _overload(out, "AdaptiveAvgPool2DBackward0")
