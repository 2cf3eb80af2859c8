"""Matrix multiplication (2-D)."""
from __future__ import annotations

import numpy as np

from ..op import defop
from ..types import TensorType, bool_
from .shape import transpose


def _matmul_type(a, b):
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(f"matmul: only 2-D operands are supported, got shapes "
                           f"{list(a.shape)} and {list(b.shape)}")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{_ctype(a.dtype)} != {_ctype(b.dtype)}")
    if a.dtype is bool_:
        raise RuntimeError("\"addmm_impl_cpu_\" not implemented for 'Bool'")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({a.shape[0]}x{a.shape[1]} and {b.shape[0]}x{b.shape[1]})")
    return TensorType((a.shape[0], b.shape[1]), a.dtype)


def _ctype(dtype):
    return {"float32": "float", "float64": "double", "int64": "long int", "bool": "bool"}[dtype.name]


matmul = defop(
    "matmul", kind="matmul", infer=_matmul_type,
    impl=lambda a, b: np.matmul(a, b),
    vjp=lambda ct, out, a, b: (matmul(ct, transpose(b, perm=(1, 0))),
                               matmul(transpose(a, perm=(1, 0)), ct)),
    grad_fn="MmBackward0")
