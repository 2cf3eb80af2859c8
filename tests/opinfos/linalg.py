"""Linear algebra: torch.matmul's rules, mm, bmm, dot, outer, einsum."""
from __future__ import annotations

import numpy as np

from opinfo import E, OpInfo, S, arr


def _einsum(eq):
    # numpy wants '...' in the output when ellipsis dims are summed; PyTorch does not
    ref_eq = eq.replace("->b", "->b...") if eq == "b...,b...->b" else eq

    def ref(*xs):
        out = np.einsum(ref_eq, *xs)
        return out.reshape(out.shape[0], -1).sum(axis=1) if ref_eq != eq else out
    return OpInfo(f"einsum[{eq}]", lambda m, *xs: m.einsum(eq, *xs), ref, [])


_EINSUM = [
    ("ij,jk->ik", [S(arr(3, 4), arr(4, 5)), S(arr(3, 4), arr(4, 2), noncontiguous=True)]),
    ("bij,bjk->bik", [S(arr(2, 3, 4), arr(2, 4, 5))]),
    ("i,j->ij", [S(arr(3), arr(4))]),
    ("ii->", [S(arr(4, 4))]),
    ("ii->i", [S(arr(3, 3))]),
    ("ij->ji", [S(arr(3, 4))]),
    ("i,i->", [S(arr(5), arr(5)), S(arr(0), arr(0), label="empty")]),
    ("ij,jk", [S(arr(2, 3), arr(3, 4))]),
    ("ij->j", [S(arr(3, 4))]),
    ("ij,kj->ik", [S(arr(3, 4), arr(2, 4))]),
    ("ij,jk,kl->il", [S(arr(2, 3), arr(3, 4), arr(4, 2))]),
    ("bij,jk->bik", [S(arr(2, 3, 4), arr(4, 5))]),
    ("ij,ij->i", [S(arr(3, 4), arr(3, 4))]),
    ("...ij,...jk->...ik", [S(arr(2, 3, 4), arr(4, 5)), S(arr(2, 1, 3, 4), arr(5, 4, 2))]),
    ("...ii->...i", [S(arr(2, 3, 3))]),
    ("b...,b...->b", [S(arr(2, 3, 4), arr(2, 3, 4))]),
    ("...ij", [S(arr(2, 3, 4))]),
]


def _einsum_infos():
    infos = []
    for eq, samples in _EINSUM:
        info = _einsum(eq)
        info.samples = samples
        infos.append(info)
    infos[0].errors = [
        E(RuntimeError, "fewer operands", arr(2, 3)),
        E(RuntimeError, "subscript j has size 4 for operand 1", arr(2, 3), arr(4, 2)),
        E(RuntimeError, "number of subscripts in the equation", arr(2, 3, 1), arr(3, 2)),
    ]
    return infos


def _outer_ref(a, b):
    return np.multiply.outer(a, b)


OPS = [
    OpInfo("matmul_rules", lambda m, a, b: m.matmul(a, b), np.matmul,
           [S(arr(3), arr(3), label="dot"),
            S(arr(2, 3), arr(3), label="mv"),
            S(arr(3), arr(3, 4), label="vm"),
            S(arr(3, 4), arr(4, 5), noncontiguous=True, label="mm"),
            S(arr(5, 2, 3), arr(5, 3, 4), label="batched"),
            S(arr(5, 2, 3), arr(5, 3, 4), noncontiguous=True, label="batched_strided"),
            S(arr(5, 2, 3), arr(3, 4), label="fold_a"),
            S(arr(2, 3), arr(5, 3, 4), label="fold_b"),
            S(arr(1, 3), arr(2, 3, 4), label="fold_b_row"),
            S(arr(3), arr(5, 3, 4), label="vec_batched"),
            S(arr(5, 2, 3), arr(3), label="batched_vec"),
            S(arr(1, 2, 3), arr(4, 3, 4), label="batch1_folds"),
            S(arr(2, 1, 2, 3), arr(5, 3, 4), label="broadcast"),
            S(arr(4, 2, 3), arr(2, 1, 3, 2), label="broadcast_both"),
            S(arr(0, 3), arr(3, 4), label="empty_rows"),
            S(arr(2, 0), arr(0, 3), label="empty_inner"),
            S(arr(2, 0, 2, 3), arr(1, 3, 4), label="empty_batch"),
            S(arr(3, 4, dtype=np.int64), arr(4, 2, dtype=np.int64), label="int")],
           errors=[E(RuntimeError, "need to be at least 1D", arr(), arr(3)),
                   E(RuntimeError, r"expected tensor \[3\] and src \[4\]", arr(3), arr(4)),
                   E(RuntimeError, r"size mismatch, got input \(2\), mat \(2x3\), vec \(4\)",
                     arr(2, 3), arr(4)),
                   E(RuntimeError, r"cannot be multiplied \(1x3 and 4x5\)", arr(3), arr(4, 5)),
                   E(RuntimeError, r"cannot be multiplied \(10x3 and 5x3\)", arr(5, 2, 3),
                     arr(5, 3)),
                   E(RuntimeError, r"cannot be multiplied \(16x3 and 1x2\)", arr(2, 1),
                     arr(4, 3, 4)),
                   E(RuntimeError, r"batch2 tensor to be: \[10, 3\] but got: \[10, 4\]",
                     arr(2, 5, 2, 3), arr(5, 4, 2)),
                   E(RuntimeError, "must match the size", arr(2, 5, 2, 3), arr(3, 5, 3, 4)),
                   E(RuntimeError, "same dtype", arr(2, 3), arr(3, 2, dtype=np.float64))]),
    OpInfo("mm", lambda m, a, b: m.mm(a, b), np.matmul,
           [S(arr(3, 4), arr(4, 5)), S(arr(3, 4), arr(4, 2), noncontiguous=True)],
           errors=[E(RuntimeError, "mat2 must be a matrix", arr(2, 3), arr(3)),
                   E(RuntimeError, "self must be a matrix", arr(3), arr(3, 2)),
                   E(RuntimeError, r"\(2x3 and 4x3\)", arr(2, 3), arr(4, 3))],
           grad_fn="MmBackward0"),
    OpInfo("bmm", lambda m, a, b: m.bmm(a, b), np.matmul,
           [S(arr(4, 2, 3), arr(4, 3, 5)), S(arr(2, 3, 4), arr(2, 4, 3), noncontiguous=True),
            S(arr(0, 2, 3), arr(0, 3, 5), label="empty")],
           errors=[E(RuntimeError, "batch2 must be a 3D tensor", arr(2, 2, 3), arr(2, 3)),
                   E(RuntimeError, r"to be: \[2, 3\] but got: \[5, 3\]", arr(2, 2, 3),
                     arr(5, 3, 4)),
                   E(RuntimeError, "expected scalar type Float but found Double", arr(2, 2, 3),
                     arr(2, 3, 2, dtype=np.float64))],
           grad_fn="BmmBackward0"),
    OpInfo("Tensor.bmm", lambda m, a, b: a.bmm(b), np.matmul, [S(arr(3, 2, 2), arr(3, 2, 4))],
           grad_fn="BmmBackward0"),
    OpInfo("dot", lambda m, a, b: m.dot(a, b), np.dot, [S(arr(7), arr(7))],
           errors=[E(RuntimeError, "1D tensors expected, but got 1D and 2D", arr(3), arr(3, 2)),
                   E(RuntimeError, "inconsistent tensor size", arr(3), arr(4))],
           grad_fn="DotBackward0"),
    OpInfo("outer", lambda m, a, b: m.outer(a, b), _outer_ref,
           [S(arr(3), arr(4)), S(arr(3), arr(2, dtype=np.float64), label="promote"),
            S(arr(3, dtype=np.int64), arr(2), label="int_float")],
           errors=[E(RuntimeError, "Expected 1-D argument vec2, but got 2-D", arr(3), arr(3, 2))],
           grad_fn="MulBackward0"),
    *_einsum_infos(),
]
