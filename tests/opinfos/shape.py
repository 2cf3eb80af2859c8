"""Shape ops: views (flatten, squeeze, slicing...), joining and splitting, padding, flip/roll,
repeat/tile, tril/triu, diagonal."""
from __future__ import annotations

import numpy as np

from opinfo import E, ErrorSample, OpInfo, S, arr


def _squeeze_ref(x, dim=None):
    if dim is None:
        return np.squeeze(x)
    dims = dim if isinstance(dim, tuple) else (dim,)
    dims = tuple(d % x.ndim for d in dims if x.shape[d] == 1)
    return np.squeeze(x, dims) if dims else x


def _split_ref(x, size, dim=0):
    n = x.shape[dim]
    if isinstance(size, (list, tuple)):
        cuts = np.cumsum(size)[:-1]
    else:
        cuts = list(range(size, n, size))
    return tuple(np.split(x, cuts, axis=dim))


def _chunk_ref(x, chunks, dim=0):
    n = x.shape[dim]
    return _split_ref(x, -(-n // chunks), dim)


def _pad_ref(x, pad, mode="constant", value=0.0):
    pairs = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        pairs[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode == "constant":
        crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(x.shape, pairs))
        return np.pad(x[crop], [(max(lo, 0), max(hi, 0)) for lo, hi in pairs],
                      constant_values=value)
    return np.pad(x, pairs, mode="reflect" if mode == "reflect" else "edge")


def _roll_ref(x, shifts, dims=None):
    return np.roll(x, shifts, dims)


def _diagonal_ref(x, offset=0, dim1=0, dim2=1):
    return np.diagonal(x, offset, dim1, dim2)


def _cat_ref(*xs, dim=0):
    return np.concatenate([x for x in xs if x.shape != (0,)], axis=dim)


OPS = [
    OpInfo("flatten", lambda m, x, *a: x.flatten(*a), lambda x, s=0, e=-1: x.reshape(
        x.shape[:s % max(x.ndim, 1)] + (-1,) + x.shape[e % max(x.ndim, 1) + 1:]) if x.ndim else
        x.reshape(1),
        [S(arr(2, 3, 4)), S(arr(2, 3, 4), 1), S(arr(2, 3, 4), 0, -2, label="neg"), S(arr()),
         S(arr(3, 4), noncontiguous=True), S(arr(2, 0, 3), label="empty")],
        errors=[E(RuntimeError, "start_dim cannot come after end_dim", arr(2, 3, 4), 2, 1),
                E(IndexError, "Dimension out of range", arr(2, 3), 2)],
        grad_fn=None),
    # A reshape that must copy (PyTorch's UnsafeViewBackward0); view() refuses to.
    OpInfo("reshape_noncontiguous", lambda m, x, view=False: x.view(-1) if view else x.reshape(-1),
           lambda x: x.reshape(-1), [S(arr(3, 4), noncontiguous=True)],
           errors=[ErrorSample((arr(3, 4),), {"view": True}, RuntimeError,
                               "view size is not compatible", noncontiguous=True)],
           grad_fn="UnsafeViewBackward0"),
    OpInfo("unflatten", lambda m, x, d, s: x.unflatten(d, s),
           lambda x, d, s: x.reshape(x.shape[:d % x.ndim] + tuple(
               x.shape[d] // -np.prod(s) if v == -1 else v for v in s) + x.shape[d % x.ndim + 1:]),
           [S(arr(2, 6), 1, (2, 3)), S(arr(2, 6), -1, (3, -1), label="infer"),
            S(arr(4, 3), 0, (2, 2), noncontiguous=True)],
           errors=[E(RuntimeError, "don't multiply up to the size of dim 1", arr(3, 4), 1, (3, 2))],
           grad_fn="ViewBackward0"),
    OpInfo("squeeze", lambda m, x, **kw: x.squeeze(**kw), _squeeze_ref,
           [S(arr(1, 3, 1)), S(arr(1, 3, 1), dim=-1), S(arr(1, 3, 1), dim=1, label="nonsingleton"),
            S(arr(1, 3, 1), dim=(0, 2), label="dims"), S(arr())],
           errors=[E(IndexError, "Dimension out of range", arr(1, 3), dim=2)]),
    OpInfo("unsqueeze", lambda m, x, d: x.unsqueeze(d), np.expand_dims,
           [S(arr(3, 4), 0), S(arr(3, 4), -1), S(arr(), 0), S(arr(3, 4), 1, noncontiguous=True)],
           errors=[E(IndexError, r"\[-3, 2\], but got 3", arr(3, 4), 3)],
           grad_fn="UnsqueezeBackward0"),
    OpInfo("Tensor.T", lambda m, x: x.T, lambda x: x.T,
           [S(arr(3, 4)), S(arr(4, 3), noncontiguous=True)], grad_fn="PermuteBackward0"),
    OpInfo("Tensor.mT", lambda m, x: x.mT, lambda x: np.swapaxes(x, -1, -2),
           [S(arr(2, 3, 4)), S(arr(3, 4), noncontiguous=True)],
           errors=[E(RuntimeError, "only supported on matrices", arr(3))],
           grad_fn="TransposeBackward0"),
    OpInfo("expand_as", lambda m, x, y: x.expand_as(y), lambda x, y: np.broadcast_to(x, y.shape),
           [S(arr(3, 1), arr(2, 3, 4, dtype=np.int64))], grad_fn="ExpandBackward0"),
    OpInfo("broadcast_to", lambda m, x, s: m.broadcast_to(x, s), np.broadcast_to,
           [S(arr(3, 1), (2, 3, 4)), S(arr(), (3,))],
           errors=[E(RuntimeError, "must match the existing size", arr(3), (4,))],
           grad_fn="ExpandBackward0"),
    OpInfo("contiguous", lambda m, x: x.contiguous() * 2.0, lambda x: x * 2.0,
           [S(arr(3, 4), noncontiguous=True), S(arr(3, 4))]),
    OpInfo("cat", lambda m, *xs, **kw: m.cat(xs, **kw), _cat_ref,
           [S(arr(2, 3), arr(4, 3)), S(arr(2, 3), arr(2, 1), arr(2, 2), dim=-1, label="neg"),
            S(arr(0), arr(2, 3), label="skip_empty"), S(arr(2, 0), arr(2, 3), dim=1, label="zero"),
            S(arr(3, 3), arr(3, 3), dim=1, noncontiguous=True)],
           errors=[E(RuntimeError, "Sizes of tensors must match except in dimension 0",
                     arr(2, 3), arr(2, 4)),
                   E(RuntimeError, "zero-dimensional tensor", arr(), arr()),
                   E(RuntimeError, "same number of dimensions", arr(2, 3), arr(3)),
                   E(IndexError, "Dimension out of range", arr(2), arr(2), dim=1)],
           grad_fn="CatBackward0"),
    OpInfo("cat_int", lambda m, *xs: m.cat(xs), _cat_ref,
           [S(arr(2, dtype=np.int64), arr(3, dtype=np.int64)),
            S(arr(2, dtype=np.bool_), arr(1, dtype=np.bool_), label="bool")], differentiable=False),
    OpInfo("stack", lambda m, *xs, **kw: m.stack(xs, **kw), lambda *xs, dim=0: np.stack(xs, dim),
           [S(arr(2, 3), arr(2, 3)), S(arr(2, 3), arr(2, 3), arr(2, 3), dim=-1, label="neg"),
            S(arr(), arr(), label="0d")],
           errors=[E(RuntimeError, "stack expects each tensor to be equal size", arr(2), arr(3))],
           grad_fn="StackBackward0"),
    OpInfo("split", lambda m, x, *a, **kw: m.split(x, *a, **kw), _split_ref,
           [S(arr(5, 3), 2), S(arr(4, 3), 4, label="whole"),
            S(arr(3, 4), 2, dim=-1, noncontiguous=True)],
           errors=[E(RuntimeError, "split_with_sizes expects split_sizes to sum exactly to 4",
                     arr(4), [1, 2]),
                   E(RuntimeError, "split_size can only be 0", arr(4), 0)],
           grad_fn="SplitBackward0"),
    OpInfo("split_with_sizes", lambda m, x, s: x.split(list(s)), _split_ref,
           [S(arr(5, 2), (2, 3)), S(arr(5, 2), (1, 0, 4), label="zero")],
           grad_fn="SplitWithSizesBackward0"),
    OpInfo("chunk", lambda m, x, *a, **kw: m.chunk(x, *a, **kw), _chunk_ref,
           [S(arr(5, 3), 2), S(arr(6, 4), 3, dim=1, label="dim")],
           errors=[E(RuntimeError, "chunk expects `chunks` to be greater than 0", arr(4), 0)],
           grad_fn="SplitBackward0"),
    OpInfo("repeat", lambda m, x, *r: x.repeat(*r), lambda x, *r: np.tile(x, r),
           [S(arr(2, 3), 2, 1), S(arr(3), 2, 2, label="lead"), S(arr(2, 3), 1, 3,
                                                                 noncontiguous=True),
            S(arr(), 3, label="0d"), S(arr(2, 3), 0, 1, label="zero")],
           errors=[E(RuntimeError, "can not be smaller", arr(2, 3), 2)],
           grad_fn="RepeatBackward0"),
    OpInfo("tile", lambda m, x, r: m.tile(x, r), np.tile, [S(arr(2, 3), (2,)), S(arr(3), (2, 2))],
           grad_fn="RepeatBackward0"),
    OpInfo("flip", lambda m, x, d: m.flip(x, d), np.flip,
           [S(arr(3, 4), (0,)), S(arr(2, 3, 4), (-1, 0), label="two"), S(arr(), ()),
            S(arr(3, 4), (1,), noncontiguous=True)],
           errors=[E(RuntimeError, "appears multiple times", arr(3, 4), (0, 0))],
           grad_fn="FlipBackward0"),
    OpInfo("roll", lambda m, x, s, d=None: m.roll(x, s, d), _roll_ref,
           [S(arr(3, 4), 1, 0), S(arr(3, 4), 5, label="flat"), S(arr(3, 4), (1, -2), (0, 1),
                                                                label="two"),
            S(arr(3, 4), -1, 1, noncontiguous=True), S(arr(0, 3), 1, 0, label="empty")],
           errors=[E(RuntimeError, "shifts and dimensions must align", arr(3, 4), (1, 2), 0)],
           grad_fn="RollBackward0"),
    OpInfo("tril", lambda m, x, *a: m.tril(x, *a), np.tril,
           [S(arr(4, 4)), S(arr(3, 5), 1), S(arr(2, 3, 4), -1, label="batch"),
            S(arr(4, 3), 0, noncontiguous=True)],
           errors=[E(RuntimeError, "at least 2 dimensions", arr(3))], grad_fn="TrilBackward0"),
    OpInfo("triu", lambda m, x, *a: m.triu(x, *a), np.triu,
           [S(arr(4, 4)), S(arr(3, 5), -1)], grad_fn="TriuBackward0"),
    OpInfo("triu_int", lambda m, x: x.triu(), np.triu,
           [S(arr(2, 3, dtype=np.int64)), S(arr(3, 3, dtype=np.bool_), label="bool")],
           differentiable=False),
    OpInfo("diagonal", lambda m, x, **kw: x.diagonal(**kw), _diagonal_ref,
           [S(arr(4, 4)), S(arr(3, 5), offset=2), S(arr(3, 5), offset=-1),
            S(arr(2, 3, 4), offset=1, dim1=-1, dim2=0, label="dims"),
            S(arr(3, 3), offset=5, label="empty"), S(arr(4, 3), noncontiguous=True)],
           errors=[E(RuntimeError, "diagonal dimensions cannot be identical", arr(3, 3),
                     dim1=1, dim2=1)],
           grad_fn="DiagonalBackward0"),
    OpInfo("F.pad", lambda m, x, p, **kw: m.nn.functional.pad(x, p, **kw), _pad_ref,
           [S(arr(3, 4), (1, 2)), S(arr(3, 4), (1, 0, 0, 2), value=1.5, label="2d"),
            S(arr(3, 4), (-1, 1), label="crop"), S(arr(4, 3), (1, 1), noncontiguous=True),
            S(arr(0, 2), (1, 1), label="empty")],
           errors=[E(RuntimeError, "Padding length must be divisible by 2", arr(3), (1,)),
                   E(RuntimeError, "should be less than or equal to two times", arr(3),
                     (1, 1, 1, 1)),
                   E(NotImplementedError, "Unrecognised padding mode", arr(2, 3), (1, 1),
                     mode="bogus")],
           grad_fn="ConstantPadNdBackward0"),
    OpInfo("F.pad_reflect", lambda m, x, p: m.nn.functional.pad(x, p, mode="reflect"),
           lambda x, p: _pad_ref(x, p, "reflect"),
           [S(arr(2, 5), (2, 1)), S(arr(2, 3, 4), (1, 2, 2, 1), label="2d"),
            S(arr(1, 4, 3), (1, 1), noncontiguous=True)],
           errors=[E(RuntimeError, "Padding size should be less than the corresponding input",
                     arr(2, 3), (3, 0))]),
    OpInfo("F.pad_replicate", lambda m, x, p: m.nn.functional.pad(x, p, mode="replicate"),
           lambda x, p: _pad_ref(x, p, "replicate"),
           [S(arr(2, 5), (2, 1)), S(arr(2, 3, 4), (1, 0, 3, 1), label="2d")]),
]
