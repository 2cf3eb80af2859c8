"""Scans: `cumsum` and `cumprod` along one dim. The backend lowers them as a loop carrying the
running value along that dim; `reverse=True` runs it from the end (what the VJP of a cumulative
sum is: PyTorch's `grad.flip(dim).cumsum(dim).flip(dim)`)."""
from __future__ import annotations

import numpy as np

from ..op import defop
from ..types import TensorType, int64
from .elementwise import where
from .reduce import _check_dims


def _scan_type(x, dim, reverse=False):
    _check_dims(x, (dim,))
    return TensorType(x.shape, x.dtype if x.dtype.is_floating_point else int64)


def _np_scan(fn):
    # float32 is carried in float64, as the backend does (and PyTorch's CPU kernels).
    def impl(x, dim, reverse=False):
        dtype = np.float64 if x.dtype.kind == "f" else np.int64
        if x.ndim == 0:
            return np.asarray(x, dtype=dtype)
        if reverse:
            return np.flip(fn(np.flip(x, dim), axis=dim, dtype=dtype), dim)
        return fn(x, axis=dim, dtype=dtype)
    return impl


def _cumsum_vjp(ct, out, x, dim, reverse=False):
    return cumsum(ct, dim=dim, reverse=not reverse)


cumsum = defop("cumsum", kind="scan", infer=_scan_type, impl=_np_scan(np.cumsum),
               vjp=_cumsum_vjp, grad_fn="CumsumBackward0")


def _cumprod_vjp(ct, out, x, dim, reverse=False):
    # PyTorch's cumprod_backward. Before the first zero of a slice the gradient is
    # reversed_cumsum(grad * out) / x; at the first zero it is the product of the elements
    # before it times reversed_cumsum(grad * cumprod of the elements after it); after it, 0.
    if reverse:
        raise NotImplementedError("cumprod(reverse=True) has no VJP rule")
    if x.ndim == 0:
        return ct
    zero = x == 0.0
    zeros_upto = cumsum(zero, dim=dim)                      # zeros at or before each position
    before_first = zeros_upto == 0
    first = where(zero, zeros_upto == 1, False)
    upto_first = where(before_first, True, first)
    plain = cumsum(ct * out, dim=dim, reverse=True) / where(before_first, x, 1.0)
    head = cumprod(where(before_first, x, 1.0), dim=dim)    # at the first zero: product before
    tail = cumprod(where(upto_first, 1.0, x), dim=dim)      # product after the first zero
    at_zero = head * cumsum(ct * tail, dim=dim, reverse=True)
    return where(before_first, plain, where(first, at_zero, 0.0))


cumprod = defop("cumprod", kind="scan", infer=_scan_type, impl=_np_scan(np.cumprod),
                vjp=_cumprod_vjp, grad_fn="CumprodBackward0")
