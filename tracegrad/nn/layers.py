"""linear, layer_norm, batch_norm, embedding, dropout and scaled_dot_product_attention of
`tracegrad.nn.functional`, composed from ops (matmul, reductions, elementwise, softmax) so
they fuse and compile; results carry PyTorch's node names."""
from __future__ import annotations

import math

import numpy as np

from .. import creation
from ..grad_mode import no_grad
from ..ir import ops
from ..ir.ops.linalg import mT
from ..tensor import _overload, tensor


def linear(input, weight, bias=None):
    """input @ weight.T + bias, weight laid out (out_features, in_features)."""
    out = ops.matmul(input, mT(weight) if weight.ndim == 2 else weight)
    if bias is None:
        return out
    return _overload(out + bias, "AddmmBackward0" if input.ndim == 2 else "ViewBackward0")


def _normalize(x, dims, eps):
    """(x - mean) / sqrt(biased var + eps) over `dims`, and the mean and biased variance."""
    mean = ops.mean(x, dims=dims, keepdim=True)
    d = x - mean
    var = ops.mean(d * d, dims=dims, keepdim=True)
    return d * ops.rsqrt(var + eps), mean, var


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Normalize over the trailing `normalized_shape` dims, then scale and shift."""
    if not isinstance(normalized_shape, (tuple, list)):
        raise TypeError(f"layer_norm(): argument 'normalized_shape' (position 2) must be tuple "
                        f"of ints, not {type(normalized_shape).__name__}")
    shape = tuple(normalized_shape)
    n = len(shape)
    if n == 0 or tuple(input.shape[input.ndim - n:]) != shape or input.ndim < n:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"{list(input.shape)}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {list(p.shape)} and normalized_shape = "
                               f"{list(shape)}")
    out, _, _ = _normalize(input, tuple(range(input.ndim - n, input.ndim)), eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return _overload(out, "NativeLayerNormBackward0")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5):
    """Normalize each channel (dim 1) over the batch and spatial dims. In training, batch
    statistics are used and the running ones (if given) are updated in place:
    r = (1 - momentum) r + momentum s, with the unbiased batch variance for running_var. In
    evaluation the running statistics are used."""
    if input.ndim < 2:
        raise ValueError(f"Expected 2D or 3D input (got {input.ndim}D input)")
    c = input.shape[1]
    dims = (0,) + tuple(range(2, input.ndim))
    count = input.numel() // c if c else 0
    shape = (1, c) + (1,) * (input.ndim - 2)

    def channel(p):
        return ops.reshape(p, shape=shape)

    if training:
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {input.shape}")
        out, mean, var = _normalize(input, dims, eps)
        if running_mean is not None or running_var is not None:
            # In place, as PyTorch does; a compiled function writes the new values back.
            with no_grad():
                if running_mean is not None:
                    running_mean.mul_(1 - momentum).add_(
                        ops.reshape(mean, shape=(c,)).detach() * momentum)
                if running_var is not None:
                    unbiased = ops.reshape(var, shape=(c,)).detach() * (count / (count - 1))
                    running_var.mul_(1 - momentum).add_(unbiased * momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError(f"running_{'mean' if running_mean is None else 'var'} must be "
                               f"defined in evaluation mode")
        out = (input - channel(running_mean)) * ops.rsqrt(channel(running_var) + eps)
    if weight is not None:
        out = out * channel(weight)
    if bias is not None:
        out = out + channel(bias)
    return _overload(out, "NativeBatchNormBackward0")


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False):
    """Rows of `weight` (num_embeddings, dim) at the integer indices `input`; the row at
    `padding_idx` gets no gradient."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not "
                                  "supported")
    if input.dtype.is_floating_point or input.dtype.name == "bool":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got "
                           f"torch.{input.dtype.scalar_name}Tensor instead (while checking "
                           f"arguments for embedding)")
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= num
        # the padding row's value passes, its gradient does not
        weight = ops.where(ops.iota(weight, dim=0) == padding_idx, ops.stop_gradient(weight),
                           weight)
    flat = ops.reshape(input, shape=(input.numel(),))
    out = ops.reshape(ops.index_select(weight, flat, dim=0),
                      shape=tuple(input.shape) + (weight.shape[1],))
    return _overload(out, "EmbeddingBackward0")


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero each element with probability p (seeded by `tracegrad.manual_seed`) and scale the
    rest by 1 / (1 - p). Identity when not training or p == 0."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if inplace:
        raise NotImplementedError("dropout(inplace=True) is not supported; use inplace=False")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    # The mask's uniform draws come from `tracegrad.rand`, which compiled functions draw per
    # call in the same order: compiled and eager dropout agree for the same seed.
    u = creation.rand(*input.shape, dtype=input.dtype)
    return input * ops.where(u >= p, 1.0 / (1.0 - p), 0.0)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale=None, enable_gqa: bool = False):
    """softmax(q @ k^T * scale + mask) @ v, scale = 1/sqrt(E) by default. A bool mask keeps
    the positions where it is True; a float mask is added; `is_causal` keeps j <= i;
    `dropout_p` drops attention weights (seeded by `tracegrad.manual_seed`)."""
    if enable_gqa:
        raise NotImplementedError("scaled_dot_product_attention: enable_gqa is not supported")
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    e = query.shape[-1]
    s = 1.0 / math.sqrt(e) if scale is None else float(scale)
    scores = ops.matmul(query, mT(key)) * s
    L, S = query.shape[-2], key.shape[-2]
    if is_causal:
        causal = tensor(np.tril(np.ones((L, S), dtype=bool)))
        scores = ops.where(causal, scores, -math.inf)
    if attn_mask is not None:
        if attn_mask.dtype.name == "bool":
            scores = ops.where(attn_mask, scores, -math.inf)
        else:
            scores = scores + attn_mask
    weights = ops.softmax(scores, dim=scores.ndim - 1)
    if dropout_p != 0.0:   # applied whenever given, as PyTorch does (no training flag)
        weights = dropout(weights, dropout_p, training=True)
    out = ops.matmul(weights, value)
    # PyTorch's CPU flash kernel takes 4-D inputs of one head dim; its math path ends in matmul
    if all(t.ndim == 4 for t in (query, key, value)) and e == key.shape[-1] == value.shape[-1]:
        return _overload(out, "ScaledDotProductFlashAttentionForCpuBackward0")
    return out
