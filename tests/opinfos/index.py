"""Indexing: x[key], index_select, gather, scatter/scatter_add, masked_fill, one_hot."""
from __future__ import annotations

import numpy as np

from opinfo import E, OpInfo, S, arr


def _getitem(m, x, *key):
    """x[key]: index arrays of the key are separate arguments, so they become tensors."""
    return x[key[0] if len(key) == 1 else key]


def _getitem_ref(x, *key):
    # PyTorch applies integers as selections before tensor indexing (numpy would broadcast them
    # with the tensors); the keys here are chosen where both agree.
    return x[key[0] if len(key) == 1 else key]


def _gather_ref(x, dim, index):
    return np.take_along_axis(x[tuple(slice(0, n) if d != dim % x.ndim else slice(None)
                                      for d, n in enumerate(index.shape))], index, dim)


def _scatter_ref(x, dim, index, src, add=False):
    out = x.copy()
    src = np.broadcast_to(src, index.shape) if np.ndim(src) == 0 else src
    for p in np.ndindex(*index.shape):
        q = list(p)
        q[dim % x.ndim] = index[p]
        if add:
            out[tuple(q)] += src[p]
        else:
            out[tuple(q)] = src[p]
    return out


_I3 = np.array([2, 0, 2])              # repeated: gradients accumulate
_IDX = np.array([[0, 2, 1], [1, 0, 2]])

OPS = [
    OpInfo("getitem", _getitem, _getitem_ref, [
        S(arr(3, 4), 1, label="int"), S(arr(3, 4), -1, label="negint"),
        S(arr(5, 4), slice(1, None, 2), label="step"),
        S(arr(3, 4, 5), Ellipsis, 1, label="ellipsis"),
        S(arr(3, 4), None, slice(None), None, 2, label="none"),
        S(arr(3, 4), slice(1, 3), slice(None, -1), label="slices"),
        S(arr(4, 3), slice(None), 0, noncontiguous=True, label="nc"),
        S(arr(3, 4), _I3, label="tensor"),
        S(arr(3, 4, 5), slice(None), _I3, np.array([1, -1, 0]), label="two"),
        S(arr(3, 4, 5), _I3, slice(None), np.array([[1], [3]]), label="apart"),
        S(arr(3, 4), slice(1, None), _I3, label="slice_tensor"),
        S(arr(3, 4), slice(0, 0), label="empty"), S(arr(3, 4), Ellipsis, label="alias"),
        S(arr(), None, label="0d")],
        errors=[E(IndexError, "index 3 is out of bounds for dimension 0 with size 3",
                  arr(3, 4), 3),
                E(IndexError, "index 5 is out of bounds for dimension 1 with size 4",
                  arr(3, 4), slice(None), 5),
                E(IndexError, "index 3 is out of bounds for dimension 0 with size 3",
                  arr(3, 4), np.array([0, 3])),
                E(IndexError, "index -4 is out of bounds for dimension 0 with size 3",
                  arr(3, 4), [-4]),
                E(IndexError, "too many indices for tensor of dimension 2", arr(3, 4), 0, 0, 0),
                E(IndexError, "tensors used as indices must be long", arr(3, 4), np.zeros(2)),
                E(ValueError, "step must be greater than zero", arr(3, 4), slice(None, None, -1)),
                E(IndexError, "The shape of the mask", arr(3, 4), np.ones(2, bool))]),
    OpInfo("getitem_list", lambda m, x: x[[1, 0, -1]], lambda x: x[[1, 0, -1]],
           [S(arr(3, 4)), S(arr(4, 3), noncontiguous=True)], grad_fn="IndexBackward0"),
    OpInfo("getitem_mask", _getitem, _getitem_ref,
           [S(arr(3, 4), arr(3, 4) > 0), S(arr(3, 4), arr(3) > 0, label="rows"),
            S(arr(2, 3), slice(None), np.array([True, False, True]), label="cols")],
           grad_fn="IndexBackward0"),
    OpInfo("index_select", lambda m, x, d, i: x.index_select(d, i),
           lambda x, d, i: np.take(x, i, axis=d),
           [S(arr(3, 4), 0, _I3), S(arr(3, 4), -1, np.array([3, 0]), label="neg_dim"),
            S(arr(3, 4), 1, np.zeros(0, np.int64), label="empty"),
            S(arr(4, 3), 0, _I3, noncontiguous=True)],
           errors=[E(IndexError, "index out of range in self", arr(3, 4), 0, np.array([3])),
                   E(IndexError, "Index is supposed to be a vector", arr(3, 4), 0,
                     np.array([[0]]))],
           grad_fn="IndexSelectBackward0"),
    OpInfo("gather", lambda m, x, d, i: m.gather(x, d, i), _gather_ref,
           [S(arr(3, 4), 1, _IDX), S(arr(3, 4), 0, np.array([[2, 0, 0, 1]]), label="dim0"),
            S(arr(3, 4), -1, np.zeros((3, 0), np.int64), label="empty"),
            S(arr(4, 3), 1, _IDX, noncontiguous=True)],
           errors=[E(RuntimeError, "index 4 is out of bounds for dimension 1 with size 4",
                     arr(3, 4), 1, np.full((3, 2), 4)),
                   E(RuntimeError, "index -1 is out of bounds for dimension 1 with size 4",
                     arr(3, 4), 1, np.full((3, 2), -1)),
                   E(RuntimeError, "same number of dimensions", arr(3, 4), 1, np.zeros(2, int))],
           grad_fn="GatherBackward0"),
    OpInfo("scatter", lambda m, x, d, i, s: x.scatter(d, i, s),
           lambda x, d, i, s: _scatter_ref(x, d, i, s),
           [S(arr(3, 4), 1, np.array([[0, 2, 1], [3, 0, 2]]), arr(2, 3)),
            S(arr(3, 4), 0, np.array([[2, 0, 1, 0]]), arr(1, 4), label="dim0")],
           errors=[E(RuntimeError, "index 4 is out of bounds for dimension 0 with size 3",
                     arr(3, 4), 0, np.array([[4]]), arr(1, 1))],
           grad_fn="ScatterBackward0"),
    OpInfo("scatter_value", lambda m, x, d, i: x.scatter(d, i, value=-1.0),
           lambda x, d, i: _scatter_ref(x, d, i, -1.0),
           [S(arr(3, 4), 0, np.array([[2, 0], [1, 2]]))], grad_fn="ScatterBackward1"),
    OpInfo("scatter_scalar_src", lambda m, x, d, i, s: x.scatter(d, i, s),
           lambda x, d, i, s: _scatter_ref(x, d, i, s),
           [S(arr(3, 4), 1, np.array([[1], [0], [3]]), 2.5)], grad_fn="ScatterBackward1"),
    OpInfo("scatter_add", lambda m, x, d, i, s: x.scatter_add(d, i, s),
           lambda x, d, i, s: _scatter_ref(x, d, i, s, add=True),
           [S(arr(3, 4), 1, np.array([[0, 0, 1], [3, 3, 3]]), arr(2, 3), label="repeated"),
            S(arr(3, 4), -2, np.array([[2, 2, 0, 1]]), arr(1, 4)),
            S(arr(4, 3), 1, np.array([[0, 0], [2, 1]]), arr(2, 2), noncontiguous=True)],
           errors=[E(RuntimeError, "index 4 is out of bounds for dimension 0 with size 4",
                     arr(4, 4), 0, np.array([[4]]), arr(1, 1))],
           grad_fn="ScatterAddBackward0"),
    OpInfo("masked_fill", lambda m, x, mask, v: x.masked_fill(mask, v),
           lambda x, mask, v: np.where(mask, v, x),
           [S(arr(3, 4), arr(3, 4, dtype=np.bool_), 1.5), S(arr(3, 4), arr(4, dtype=np.bool_), -2.0,
                                                           label="bcast"),
            S(arr(3, 4), arr(3, 4, dtype=np.bool_), arr(), label="tensor"),
            S(arr(3, 3, dtype=np.int64), arr(3, 3, dtype=np.bool_), 7, label="int")],
           errors=[E(RuntimeError, "only supports boolean masks", arr(3), arr(3), 1.0)],
           grad_fn=None),
    OpInfo("F.one_hot", lambda m, x, *a: m.nn.functional.one_hot(x, *a),
           lambda x, n=-1: np.eye(x.max() + 1 if n == -1 else n, dtype=np.int64)[x],
           [S(np.array([[0, 2], [1, 1]]), 4), S(np.zeros(0, np.int64), 2, label="empty")],
           errors=[E(RuntimeError, "Class values must be non-negative", np.array([-1, 2]), 3),
                   E(RuntimeError, "Class values must be smaller than num_classes",
                     np.array([1, 2]), 2),
                   E(RuntimeError, "Can not infer total number of classes",
                     np.zeros(0, np.int64))],
           differentiable=False),
    OpInfo("F.one_hot_infer", lambda m, x: m.nn.functional.one_hot(x),
           lambda x: np.eye(x.max() + 1, dtype=np.int64)[x], [S(np.array([0, 3, 1]))],
           differentiable=False),
]
