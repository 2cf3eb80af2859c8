"""Element types, tensor types and PyTorch's type-promotion rules."""
from __future__ import annotations

import math

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class DType:
    """A tensor element type (`tracegrad.float32`, ...); prints as PyTorch does."""

    name: str          # "float32"
    short: str         # "f32", used by the IR printer
    np: np.dtype
    category: int      # 0 bool, 1 integer, 2 floating: the order of PyTorch's promotion categories

    @property
    def is_floating_point(self) -> bool:
        return self.category == 2

    @property
    def itemsize(self) -> int:
        return self.np.itemsize

    @property
    def scalar_name(self) -> str:
        """PyTorch's ScalarType name, used in its error messages ("Float", "Long")."""
        return _SCALAR_NAMES[self.name]

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self):
        return (dtype_named, (self.name,))


_SCALAR_NAMES = {"bool": "Bool", "int64": "Long", "float32": "Float", "float64": "Double"}
bool_ = DType("bool", "i1", np.dtype(np.bool_), 0)
int64 = DType("int64", "i64", np.dtype(np.int64), 1)
float32 = DType("float32", "f32", np.dtype(np.float32), 2)
float64 = DType("float64", "f64", np.dtype(np.float64), 2)

DTYPES = (bool_, int64, float32, float64)
_BY_NAME = {d.name: d for d in DTYPES} | {d.short: d for d in DTYPES}
_BY_NP = {d.np: d for d in DTYPES}
DEFAULT_FLOAT = float32
_DEFAULT_FOR_CATEGORY = {0: bool_, 1: int64, 2: float32}


def dtype_named(name: str) -> DType:
    return _BY_NAME[name]


def from_numpy_dtype(npdtype) -> DType:
    """Map a numpy dtype to a tracegrad dtype; other integer/float widths widen like numpy would."""
    npdtype = np.dtype(npdtype)
    if npdtype in _BY_NP:
        return _BY_NP[npdtype]
    if npdtype.kind in "iu":
        return int64
    if npdtype.kind == "f":
        return float64 if npdtype.itemsize > 4 else float32
    raise TypeError(f"can't convert np.ndarray of type {npdtype}. The only supported types are: "
                    "float64, float32, int64, and bool.")


@dataclass(frozen=True)
class TensorType:
    """Static type of an IR value: shape and element type."""

    shape: tuple
    dtype: DType

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __str__(self) -> str:
        return f"{self.dtype.short}[{','.join(map(str, self.shape))}]"


def scalar_dtype(value) -> DType:
    """The dtype a bare Python scalar would have on its own (weakly typed in promotion)."""
    if isinstance(value, (bool, np.bool_)):
        return bool_
    if isinstance(value, (int, np.integer)):
        return int64
    if isinstance(value, (float, np.floating)):
        return DEFAULT_FLOAT
    raise TypeError(f"unsupported scalar type {type(value).__name__}")


def result_type(tensor_types: list[TensorType], scalars: list) -> DType:
    """PyTorch's promotion: dimensioned tensors > 0-d tensors > Python scalars.

    A lower-priority group only changes the result when its category (bool < int < float)
    is higher, in which case the default dtype of that category (or the widest 0-d dtype) wins.
    """
    if len(tensor_types) == 1 and tensor_types[0].ndim and not scalars:
        return tensor_types[0].dtype
    result = None
    for group in ([t.dtype for t in tensor_types if t.ndim > 0],
                  [t.dtype for t in tensor_types if t.ndim == 0]):
        if not group:
            continue
        best = max(group, key=lambda d: (d.category, d.itemsize))
        if result is None or best.category > result.category:
            result = best
    for s in scalars:
        d = scalar_dtype(s)
        if result is None or d.category > result.category:
            result = _DEFAULT_FOR_CATEGORY[d.category]
    return result


def broadcast_shapes(a: tuple, b: tuple) -> tuple:
    """numpy/PyTorch broadcasting with PyTorch's error message."""
    if a == b or not b:
        return tuple(a)
    if not a:
        return tuple(b)
    n = max(len(a), len(b))
    pa = (1,) * (n - len(a)) + tuple(a)
    pb = (1,) * (n - len(b)) + tuple(b)
    out = []
    for i, (x, y) in enumerate(zip(pa, pb)):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) "
                f"at non-singleton dimension {i}")
    return tuple(out)
