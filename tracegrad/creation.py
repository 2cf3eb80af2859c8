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
    shape = _shape_arg((size,))
    trace = current_trace()
    if trace is not None and not requires_grad:   # a constant of the traced function
        return trace.full(shape, dtype, fill_value)
    return _new(np.full(shape, fill_value, dtype=dtype.np), requires_grad)


def ones(*size, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    return full(_shape_arg(size), 1, dtype=dtype or float32, requires_grad=requires_grad)


def zeros(*size, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    return full(_shape_arg(size), 0, dtype=dtype or float32, requires_grad=requires_grad)


def ones_like(t: Tensor, *, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    return full(tuple(t.shape), 1, dtype=dtype or t.dtype, requires_grad=requires_grad)


def zeros_like(t: Tensor, *, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    return full(tuple(t.shape), 0, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rng_state() -> dict:
    """The generator's state (to replay draws exactly)."""
    return _rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    _rng.bit_generator.state = state


def draw(kind: str, shape: tuple, dtype: DType, params: tuple = ()) -> np.ndarray:
    """Samples from the generator: `kind` is a numpy Generator method ("standard_normal",
    "random", "integers", "normal", "uniform") taking `params` first."""
    return getattr(_rng, kind)(*params, size=shape).astype(dtype.np)


def _random(kind: str, shape: tuple, dtype: DType, params: tuple, requires_grad: bool):
    """Eagerly: fresh samples. Inside `tracegrad.compile`: a tensor the compiled function
    draws afresh on every call, in the same order eager code would (same seed, same
    numbers)."""
    trace = current_trace()
    if trace is not None:
        if requires_grad:
            raise RuntimeError("random tensors that require grad cannot be created inside "
                               "tracegrad.compile; create them outside and pass them in")
        return trace.random_input(kind, shape, dtype, params)
    return _new(draw(kind, shape, dtype, params), requires_grad)


def randn(*size, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    dtype = dtype or float32
    _float_only("randn", dtype)
    return _random("standard_normal", _shape_arg(size), dtype, (), requires_grad)


def rand(*size, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1)."""
    dtype = dtype or float32
    _float_only("rand", dtype)
    return _random("random", _shape_arg(size), dtype, (), requires_grad)


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


def linspace(start, end, steps: int, *, dtype: DType | None = None,
             requires_grad: bool = False) -> Tensor:
    """`steps` values evenly spaced from `start` to `end` inclusive."""
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dtype = dtype or float32
    arr = np.linspace(float(start), float(end), int(steps), dtype=np.float64)
    if not dtype.is_floating_point:
        arr = np.trunc(arr)   # PyTorch truncates toward zero for integer dtypes
    return _new(arr.astype(dtype.np), requires_grad)


def eye(n: int, m: int | None = None, *, dtype: DType | None = None,
        requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix (m defaults to n)."""
    m = n if m is None else m
    if n < 0 or m < 0:
        raise RuntimeError(f"{'n' if n < 0 else 'm'} must be greater or equal to 0, got "
                           f"{n if n < 0 else m}")
    return _new(np.eye(n, m, dtype=(dtype or float32).np), requires_grad)


def full_like(t: Tensor, fill_value, *, dtype: DType | None = None,
              requires_grad: bool = False) -> Tensor:
    return full(tuple(t.shape), fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad)


def empty(*size, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor whose values are unspecified (write them before reading)."""
    if current_trace() is not None and not requires_grad:
        return full(_shape_arg(size), 0, dtype=dtype or float32)
    return _new(np.empty(_shape_arg(size), dtype=(dtype or float32).np), requires_grad)


def empty_like(t: Tensor, *, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    return empty(tuple(t.shape), dtype=dtype or t.dtype, requires_grad=requires_grad)


def randint(low, high=None, size=None, *, dtype: DType | None = None,
            requires_grad: bool = False) -> Tensor:
    """Integers uniform on [low, high) (`randint(high, size)` means low = 0)."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    dtype = dtype or int64
    if requires_grad and not dtype.is_floating_point:
        raise RuntimeError("Only Tensors of floating point dtype can require gradients")
    return _random("integers", _shape_arg((size,)), dtype, (low, high), requires_grad)


def randn_like(t: Tensor, *, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    return randn(tuple(t.shape), dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(t: Tensor, *, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    return rand(tuple(t.shape), dtype=dtype or t.dtype, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing `array`'s memory (writes to either are seen by both)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    from .ir.types import from_numpy_dtype
    dtype = from_numpy_dtype(array.dtype)
    if array.dtype != dtype.np:
        raise TypeError(f"can't convert np.ndarray of type numpy.{array.dtype}. The only "
                        f"supported types are: float64, float32, int64, and bool.")
    return Tensor._make(array)


def fill_random_(t: Tensor, kind: str, a: float, b: float) -> Tensor:
    """`t.normal_(mean=a, std=b)` / `t.uniform_(from=a, to=b)`: overwrite in place."""
    _float_only(f"{kind}_", t.dtype)
    if kind == "normal" and b < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {b}")
    return t._fill_with(f"{kind}_", "FillBackward2",
                        _random(kind, tuple(t.shape), t.dtype, (a, b), False))


__all__ = ["arange", "empty", "empty_like", "eye", "from_numpy", "full", "full_like",
           "linspace", "manual_seed", "ones", "ones_like", "rand", "rand_like", "randint",
           "randn", "randn_like", "zeros", "zeros_like"]
