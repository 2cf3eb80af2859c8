"""Tensor factories and the random generator (`manual_seed`)."""
from __future__ import annotations

import numpy as np

from .ir.types import DType, float32, int64, scalar_dtype
from .tensor import Tensor, _shape_arg, current_trace

_rng = np.random.default_rng()


def manual_seed(seed: int):
    """Seed the generator behind `randn` and `rand`."""
    global _rng
    _rng = np.random.default_rng(int(seed))
    return _rng


def _new(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._make(arr)
    return t.requires_grad_(True) if requires_grad else t


def full(size, fill_value, *, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    dtype = dtype or scalar_dtype(fill_value)
    return _new(np.full(_shape_arg((size,)), fill_value, dtype=dtype.np), requires_grad)


def ones(*size, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    return full(_shape_arg(size), 1, dtype=dtype or float32, requires_grad=requires_grad)


def zeros(*size, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    return full(_shape_arg(size), 0, dtype=dtype or float32, requires_grad=requires_grad)


def ones_like(t: Tensor, *, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    return full(tuple(t.shape), 1, dtype=dtype or t.dtype, requires_grad=requires_grad)


def zeros_like(t: Tensor, *, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    return full(tuple(t.shape), 0, dtype=dtype or t.dtype, requires_grad=requires_grad)


def randn(*size, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    dtype = dtype or float32
    _not_traced("randn")
    _float_only("randn", dtype)
    return _new(_rng.standard_normal(_shape_arg(size)).astype(dtype.np), requires_grad)


def rand(*size, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1)."""
    dtype = dtype or float32
    _not_traced("rand")
    _float_only("rand", dtype)
    return _new(_rng.random(_shape_arg(size)).astype(dtype.np), requires_grad)


def _not_traced(name: str) -> None:
    if current_trace() is not None:
        raise RuntimeError(f"tracegrad.{name}() inside tracegrad.compile would give the same "
                           f"numbers on every call; draw them outside and pass them as arguments")


def _float_only(name: str, dtype: DType) -> None:
    if not dtype.is_floating_point:
        raise RuntimeError(f"\"{name}\" not implemented for '{dtype.name}'")


def arange(start, end=None, step=1, *, dtype: DType | None = None,
           requires_grad: bool = False) -> Tensor:
    """Values from `start` to `end` (exclusive) by `step`; int64 unless a bound is a float."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        dtype = float32 if is_float else int64
    n = max(0, int(np.ceil((end - start) / step)))
    arr = (start + step * np.arange(n, dtype=np.float64)).astype(dtype.np) \
        if dtype is not int64 else np.arange(start, end, step, dtype=np.int64)
    return _new(arr, requires_grad)


__all__ = ["arange", "full", "manual_seed", "ones", "ones_like", "rand", "randn",
           "zeros", "zeros_like"]
