"""Layout primitives: reshape, transpose, broadcast_to. The backend turns them into strided views."""
from __future__ import annotations

import math

import numpy as np

from ..op import defop
from ..types import TensorType


def _reshape_type(x, shape):
    if math.prod(shape) != x.size or any(s < 0 for s in shape):
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {x.size}")
    return TensorType(tuple(shape), x.dtype)


def _transpose_type(x, perm):
    if sorted(perm) != list(range(x.ndim)):
        raise RuntimeError(f"permute(): dims {list(perm)} is not a permutation of "
                           f"{x.ndim} dimensions")
    return TensorType(tuple(x.shape[p] for p in perm), x.dtype)


def _broadcast_type(x, shape):
    shape = tuple(shape)
    lead = len(shape) - x.ndim
    ok = lead >= 0 and all(s == t or s == 1 for s, t in zip(x.shape, shape[lead:]))
    if not ok:
        dim = next((i + max(lead, 0) for i, (s, t) in enumerate(zip(x.shape, shape[max(lead, 0):]))
                    if s != t and s != 1), 0)
        raise RuntimeError(
            f"The expanded size of the tensor ({shape[dim] if dim < len(shape) else -1}) must "
            f"match the existing size ({x.shape[dim - lead] if 0 <= dim - lead < x.ndim else -1})"
            f" at non-singleton dimension {dim}.  Target sizes: {list(shape)}.  "
            f"Tensor sizes: {list(x.shape)}")
    return TensorType(shape, x.dtype)


def _inverse(perm):
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return tuple(inv)


reshape = defop(
    "reshape", kind="layout", infer=_reshape_type,
    impl=lambda x, shape: np.reshape(x, shape),
    view=lambda v, shape: v.reshape(shape),
    vjp=lambda ct, out, x, shape: reshape(ct, shape=x.shape),
    grad_fn="ViewBackward0")

transpose = defop(
    "transpose", kind="layout", infer=_transpose_type,
    impl=lambda x, perm: np.transpose(x, perm),
    view=lambda v, perm: v.transpose(perm),
    vjp=lambda ct, out, x, perm: transpose(ct, perm=_inverse(perm)),
    grad_fn="TransposeBackward0")  # permute() / .T: PermuteBackward0, t(): TBackward0

broadcast_to = defop(
    "broadcast_to", kind="layout", infer=_broadcast_type,
    impl=lambda x, shape: x if x.shape == tuple(shape) else np.broadcast_to(x, shape),
    view=lambda v, shape: v.broadcast_to(shape),
    vjp=lambda ct, out, x, shape: sum_to(ct, x.shape),
    grad_fn="ExpandBackward0")


def sum_to(x, shape: tuple):
    """Sum `x` down to `shape` (the adjoint of broadcasting `shape` up to `x.shape`)."""
    from .reduce import reduce_sum  # reduce builds on this module

    shape = tuple(shape)
    if tuple(x.shape) == shape:
        return x
    lead = x.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and x.shape[i + lead] != 1)
    if dims:
        x = reduce_sum(x, dims=dims, keepdim=False)
    return reshape(x, shape=shape) if tuple(x.shape) != shape else x
