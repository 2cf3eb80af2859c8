"""Reductions. `sum` is the primitive the backend lowers; `mean` and `norm` decompose into it."""
from __future__ import annotations

import math

import numpy as np

from ..op import defop
from ..types import TensorType, int64
from .elementwise import sqrt, where
from .shape import broadcast_to, reshape


def _reduced_shape(shape, dims, keepdim):
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def _check_dims(x, dims):
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims} has a dimension listed more than once")
    for d in dims:
        if not 0 <= d < max(x.ndim, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-max(x.ndim, 1)}, {max(x.ndim, 1) - 1}], but got {d})")


def _sum_type(x, dims, keepdim):
    _check_dims(x, dims)
    dtype = x.dtype if x.dtype.is_floating_point else int64
    return TensorType(_reduced_shape(x.shape, dims, keepdim), dtype)


def _float_reduce_type(opname, x, dims, keepdim):
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{opname}(): could not infer output dtype. Input dtype must be either "
                           f"a floating point or complex dtype. Got: "
                           f"{x.dtype.scalar_name}")
    _check_dims(x, dims)
    return TensorType(_reduced_shape(x.shape, dims, keepdim), x.dtype)


def _expand_back(ct, x, dims, keepdim):
    """Broadcast a reduced cotangent back over the reduced dimensions of `x`."""
    if not keepdim:
        ct = reshape(ct, shape=_reduced_shape(x.shape, dims, True))
    return broadcast_to(ct, shape=x.shape)


def _count(x, dims):
    return math.prod(x.shape[d] for d in dims)


reduce_sum = defop(
    "sum", kind="reduce", infer=_sum_type,
    impl=lambda x, dims, keepdim: np.asarray(np.sum(
        x, axis=dims, keepdims=keepdim, dtype=x.dtype if x.dtype.kind == "f" else np.int64)),
    vjp=lambda ct, out, x, dims, keepdim: _expand_back(ct, x, dims, keepdim),
    grad_fn="SumBackward0")  # `dim=` overload: SumBackward1

mean = defop(
    "mean", kind="composite",
    infer=lambda x, dims, keepdim: _float_reduce_type("mean", x, dims, keepdim),
    impl=lambda x, dims, keepdim: np.asarray(
        np.sum(x, axis=dims, keepdims=keepdim) / x.dtype.type(_count(x, dims))),
    vjp=lambda ct, out, x, dims, keepdim: (
        _expand_back(ct, x, dims, keepdim) / float(_count(x, dims))),
    decompose=lambda x, dims, keepdim: (
        reduce_sum(x, dims=dims, keepdim=keepdim) / float(_count(x, dims))),
    grad_fn="MeanBackward0")  # `dim=` overload: MeanBackward1


def _norm_vjp(ct, out, x, dims, keepdim):
    if not keepdim:
        shape = _reduced_shape(x.shape, dims, True)
        ct, out = reshape(ct, shape=shape), reshape(out, shape=shape)
    # The subgradient at 0 is 0, as in PyTorch.
    return ct * where(out == 0, 0.0, x / out)


norm = defop(
    "norm", kind="composite",
    infer=lambda x, dims, keepdim: _float_reduce_type("linalg.vector_norm", x, dims, keepdim),
    impl=lambda x, dims, keepdim: np.asarray(
        np.sqrt(np.sum(x * x, axis=dims, keepdims=keepdim))),
    vjp=_norm_vjp,
    decompose=lambda x, dims, keepdim: sqrt(reduce_sum(x * x, dims=dims, keepdim=keepdim)),
    grad_fn="LinalgVectorNormBackward0")
