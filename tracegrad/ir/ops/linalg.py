"""Matrix products.

`bmm` is the primitive the backend lowers (one BLAS gemm per batch entry): operands
(*batch, m, k) and (*batch, k, n) with equal batch dims, which may be empty (a plain matrix
product). `matmul` is torch.matmul with all its rules (1-D operands, folding, broadcast batch
dims); it decomposes into reshapes, broadcasts and `bmm`.
"""
from __future__ import annotations

import math

import numpy as np

from ..op import defop
from ..types import TensorType, bool_, broadcast_shapes
from .shape import broadcast_to, reshape, sum_to, transpose


def _ctype(dtype):
    return {"float32": "float", "float64": "double", "int64": "long int", "bool": "bool"}[dtype.name]


def mT(x):
    """Swap the last two dims (a strided view)."""
    perm = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return transpose(x, perm=perm)


def _bmm_type(a, b):
    if a.ndim < 2 or a.ndim != b.ndim or a.shape[:-3] != b.shape[:-3]:
        raise RuntimeError(f"bmm: operands must be (*batch, m, k) and (*batch, k, n) with equal "
                           f"batch dims, got shapes {list(a.shape)} and {list(b.shape)}")
    if a.dtype is not b.dtype:
        if a.ndim == 2:
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                               f"{_ctype(a.dtype)} != {_ctype(b.dtype)}")
        raise RuntimeError(f"expected scalar type {a.dtype.scalar_name} but found "
                           f"{b.dtype.scalar_name}")
    if a.dtype is bool_:
        raise NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool'" if a.ndim == 2
                                  else "\"bmm\" not implemented for 'Bool'")
    if a.shape[-1] != b.shape[-2] or a.shape[:-2] != b.shape[:-2]:
        if a.ndim == 2:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                               f"({a.shape[0]}x{a.shape[1]} and {b.shape[0]}x{b.shape[1]})")
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{math.prod(a.shape[:-2])}, {a.shape[-1]}] but got: "
                           f"[{math.prod(b.shape[:-2])}, {b.shape[-2]}].")
    return TensorType(a.shape[:-1] + b.shape[-1:], a.dtype)


bmm = defop(
    "bmm", kind="matmul", infer=_bmm_type,
    impl=lambda a, b: np.matmul(a, b),
    vjp=lambda ct, out, a, b: (bmm(ct, mT(b)), bmm(mT(a), ct)),
    grad_fn=lambda inputs: "MmBackward0" if inputs[0].ndim == 2 else "BmmBackward0")


# ---- torch.matmul ---------------------------------------------------------------------------
def _plan(a, b):
    """How torch.matmul treats these shapes: (kind, output shape) after checking them.

    kinds: "dot" (1-D . 1-D), "mv", "vm" (1-D @ 2-D), "mm", "fold_a" (a has batch dims, b is a
    matrix or vector: a folds into one matrix), "fold_b" (the mirror image), "batched"."""
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{a.ndim}D and {b.ndim}D")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if a.ndim == 1 and b.ndim == 1:
        if a.dtype is not b.dtype:
            raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                               f"{a.dtype.scalar_name} and {b.dtype.scalar_name}")
        if a.dtype is bool_:
            raise NotImplementedError("\"dot\" not implemented for 'Bool'")
        if k_a != k_b:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{k_a}] and src "
                               f"[{k_b}] to have the same number of elements, but got {k_a} "
                               f"and {k_b} elements respectively")
        return "dot", ()
    if b.ndim == 1 and a.ndim >= 2:
        rows = math.prod(a.shape[:-1])
        if a.dtype is not b.dtype:
            raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                               f"{b.dtype.scalar_name}, {a.dtype.scalar_name}, and "
                               f"{b.dtype.scalar_name}")
        if a.dtype is bool_:
            raise NotImplementedError("\"addmv_impl_cpu\" not implemented for 'Bool'")
        if k_a != k_b:
            raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{k_a}), "
                               f"vec ({k_b})")
        return ("mv" if a.ndim == 2 else "fold_a"), a.shape[:-1]
    if b.ndim == 2 and a.ndim <= 2 or a.ndim >= 3 and b.ndim == 2:
        # the folded product is checked as the 2-D mm torch dispatches to
        a2 = TensorType((math.prod(a.shape[:-1]), k_a), a.dtype)
        _bmm_type(a2, b)
        kind = "vm" if a.ndim == 1 else "mm" if a.ndim == 2 else "fold_a"
        return kind, a.shape[:-1] + b.shape[-1:]
    if a.ndim == 2 and k_a != k_b:
        # torch folds b instead: b^T's rows times a^T
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({math.prod(b.shape[:-2]) * b.shape[-1]}x{k_b} and "
                           f"{k_a}x{a.shape[0]})")
    batch_a, batch_b = a.shape[:-2], b.shape[:-2]
    batch = broadcast_shapes(batch_a, batch_b)
    m = a.shape[-2] if a.ndim >= 2 else 1
    n = b.shape[-1]
    flat = math.prod(batch)
    _bmm_type(TensorType((flat, m, k_a), a.dtype), TensorType((flat, k_b, n), b.dtype))
    kind = "fold_b" if a.ndim <= 2 else "batched"
    return kind, batch + ((m,) if a.ndim >= 2 else ()) + (n,)


def _matmul_type(a, b):
    return TensorType(_plan(a, b)[1], a.dtype)


def _matmul_name(inputs):
    """PyTorch's node name: the last op of the ATen path taken for these shapes."""
    a, b = inputs
    kind, _ = _plan(a.type, b.type)
    # a 3-D `a` with batch 1 against a batched `b` is folded like a matrix too
    squeezed_a = a.ndim == b.ndim == 3 and a.shape[0] == 1 and b.shape[0] != 1
    if kind == "fold_b" and a.ndim == 2 or squeezed_a:
        # torch computes (b^T @ a^T)^T and makes it contiguous: a copy unless m or n is 1
        m = a.shape[-2]
        return "TransposeBackward0" if m == 1 or b.shape[-1] == 1 else "CloneBackward0"
    return {"dot": "DotBackward0", "mv": "MvBackward0", "vm": "SqueezeBackward4",
            "mm": "MmBackward0"}.get(kind, "UnsafeViewBackward0")


def _reshape(x, shape):
    return x if tuple(x.shape) == tuple(shape) else reshape(x, shape=tuple(shape))


def _rows(x):
    """All dims but the last folded into rows."""
    return _reshape(x, (math.prod(x.shape[:-1]), x.shape[-1]))


def _as_matrices(a, b):
    """1-D operands as matrices (a: a row, b: a column), as torch.matmul treats them."""
    a2 = reshape(a, shape=(1, a.shape[0])) if a.ndim == 1 else a
    b2 = reshape(b, shape=(b.shape[0], 1)) if b.ndim == 1 else b
    return a2, b2


def _matmul_decompose(a, b):
    out_shape = _plan(a.type, b.type)[1]
    a2, b2 = _as_matrices(a, b)
    if b2.ndim == 2:
        # fold a's batch dims into its rows: one matrix product
        out = bmm(_rows(a2), b2)
    else:
        batch = broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        out = bmm(broadcast_to(a2, shape=batch + a2.shape[-2:]),
                  broadcast_to(b2, shape=batch + b2.shape[-2:]))
    return _reshape(out, out_shape)


def _matmul_vjp(ct, out, a, b):
    a2, b2 = _as_matrices(a, b)
    ct2 = _reshape(ct, broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
                   + (a2.shape[-2], b2.shape[-1]))
    if b2.ndim == 2 and a2.ndim > 2:
        # b's gradient sums over a's batch: fold it into the product's inner dimension
        gb = matmul(mT(_rows(a2)), _rows(ct2))
    else:
        gb = sum_to(matmul(mT(a2), ct2), b2.shape)
    ga = sum_to(matmul(ct2, mT(b2)), a2.shape)
    return _reshape(ga, a.shape), _reshape(gb, b.shape)


matmul = defop(
    "matmul", kind="composite", infer=_matmul_type,
    impl=lambda a, b: np.asarray(np.matmul(a, b)),
    vjp=_matmul_vjp, decompose=_matmul_decompose, grad_fn=_matmul_name)
