"""Indexing by tensors: `gather` and `scatter` are the primitives (loads and stores at indices
read from other tensors; the backend checks every index it reads); index_select, advanced
indexing (`index`), masked_fill and one_hot are composites over them.

`gather(x, *indices, dims)`: the indices broadcast to the result shape (x.ndim dims, no larger
than x outside `dims`); out[p] = x[p with p[dims[j]] replaced by indices[j][p]].
`scatter(x, *indices, src, dims, accumulate)`: a copy of x where, for every p of the indices'
broadcast shape, position (p with p[dims[j]] = indices[j][p]) receives src[p] (or has it added).
`wrap` makes negative indices count from the end; `error` names whose error an out-of-range
index raises (see `index_error`).
"""
from __future__ import annotations

import numpy as np

from ..op import Value, defop
from ..types import TensorType, bool_, broadcast_shapes, int64
from .elementwise import where, zeros_like
from .shape import broadcast_to, reshape, transpose


def index_error(error, index: int, dim: int, size: int) -> Exception:
    """PyTorch's exception for index `index` out of range along `dim` (of size `size`)."""
    kind, dims = error if isinstance(error, tuple) else (error, None)
    if kind == "index_select":
        return IndexError("index out of range in self")
    if kind == "target":   # class targets of nll_loss / cross_entropy
        return IndexError(f"Target {index} is out of bounds.")
    if kind == "one_hot":
        return RuntimeError("Class values must be non-negative." if index < 0
                            else "Class values must be smaller than num_classes.")
    message = f"index {index} is out of bounds for dimension {dim} with size {size}"
    return IndexError(message) if kind == "index" else RuntimeError(message)


def _check_bounds(x_shape, indices, dims, wrap, error):
    """The indices with negatives wrapped (if `wrap`); raise for the first out-of-range one."""
    kind, shown = error if isinstance(error, tuple) else (error, dims)
    out = []
    for j, (idx, d) in enumerate(zip(indices, dims)):
        n = x_shape[d]
        idx = np.asarray(idx)
        bad = (idx < -n) | (idx >= n) if wrap else (idx < 0) | (idx >= n)
        if bad.any():
            raise index_error(error, int(idx[bad].flat[0]), shown[j], n)
        out.append(np.where(idx < 0, idx + n, idx) if wrap else idx)
    return out


def _positions(shape, indices, dims):
    """numpy index tuple addressing, for each point of `shape`, the gathered/scattered spot."""
    grid = np.indices(shape, sparse=True) if shape else []
    key = list(grid)
    for idx, d in zip(indices, dims):
        key[d] = np.broadcast_to(idx, shape)
    return tuple(key)


def _domain(x, indices, dims):
    shape = ()
    for i in indices:
        if i.dtype is not int64:
            raise RuntimeError("gather(): Expected dtype int32/int64 for index")
        shape = broadcast_shapes(shape, i.shape)
    if len(shape) != x.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for d in range(x.ndim):
        if d not in dims and shape[d] > x.shape[d]:
            raise RuntimeError(f"Size does not match at dimension {d} expected index "
                               f"{list(shape)} to be no larger than self {list(x.shape)} apart "
                               f"from dimension {dims[0]}")
    return shape


def _gather_impl(x, *indices, dims, wrap, error):
    shape = np.broadcast_shapes(*[np.shape(i) for i in indices])
    indices = _check_bounds(x.shape, indices, dims, wrap, error)
    return x[_positions(shape, indices, dims)]


gather = defop(
    "gather", kind="gather",
    infer=lambda x, *indices, dims, wrap, error: TensorType(_domain(x, indices, dims), x.dtype),
    impl=_gather_impl,
    vjp=lambda ct, out, x, *indices, dims, wrap, error: (scatter(
        zeros_like(x), *indices, ct, dims=dims, accumulate=True, wrap=wrap, error=error),)
    + (None,) * len(indices),
    grad_fn="GatherBackward0")


def _scatter_type(x, *operands, dims, accumulate, wrap, error):
    *indices, src = operands
    shape = _domain(x, indices, dims)
    if src.dtype is not x.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if src.ndim and (src.ndim != len(shape) or any(a > b for a, b in zip(shape, src.shape))):
        raise RuntimeError(f"Expected index {list(shape)} to be no larger than self "
                           f"{list(x.shape)} apart from dimension {dims[0]} and to be no larger "
                           f"size than src {list(src.shape)}")
    return x


def _src_view(src, shape):
    """src over the scatter domain: a 0-d src broadcasts, a larger one is read at the front."""
    if src.ndim == 0:
        return np.broadcast_to(src, shape)
    return src[tuple(slice(0, n) for n in shape)]


def _scatter_impl(x, *operands, dims, accumulate, wrap, error):
    *indices, src = operands
    shape = np.broadcast_shapes(*[np.shape(i) for i in indices])
    indices = _check_bounds(x.shape, indices, dims, wrap, error)
    out = np.array(x, copy=True)
    key, values = _positions(shape, indices, dims), _src_view(np.asarray(src), shape)
    if accumulate:
        np.add.at(out, key, values)
    else:
        out[key] = values   # duplicates: the last in row-major order wins, as PyTorch's CPU loop
    return out


def _front(ct, shape):
    """Pad `ct` (the scatter domain) with zeros up to `shape` (src's)."""
    from .shape import _pads_at, constant_pad

    for d, (a, b) in enumerate(zip(ct.shape, shape)):
        if a != b:
            ct = constant_pad(ct, pads=_pads_at(ct.ndim, d, 0, b - a), value=0.0)
    return ct


def _scatter_vjp(ct, out, x, *operands, dims, accumulate, wrap, error):
    *indices, src = operands
    picked = gather(ct, *indices, dims=dims, wrap=wrap, error=error)
    if src.ndim == 0:
        from .reduce import reduce_sum  # reduce builds on shape and this module

        g_src = reduce_sum(picked, dims=tuple(range(picked.ndim)), keepdim=False)
    else:
        g_src = _front(picked, src.shape)
    g_x = ct if accumulate else scatter(ct, *indices, zeros_like(picked), dims=dims,
                                         accumulate=False, wrap=wrap, error=error)
    return (g_x,) + (None,) * len(indices) + (g_src,)


scatter = defop(
    "scatter", kind="scatter", infer=_scatter_type, impl=_scatter_impl, vjp=_scatter_vjp,
    grad_fn=lambda inputs, dims, accumulate, wrap, error:
        "ScatterAddBackward0" if accumulate else "ScatterBackward0")


# ---- composites --------------------------------------------------------------------------------
def _along(index, ndim, dim, shape):
    """A 1-D index placed along `dim` and broadcast to `shape`."""
    return broadcast_to(reshape(index, shape=tuple(index.shape[0] if d == dim else 1
                                                   for d in range(ndim))), shape=shape)


def _index_select_type(x, index, dim):
    if index.dtype is not int64:
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    if index.ndim != 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    return TensorType(x.shape[:dim] + index.shape + x.shape[dim + 1:], x.dtype)


def _index_select_impl(x, index, dim):
    (index,) = _check_bounds(x.shape, [index], (dim,), False, "index_select")
    return np.take(x, index, axis=dim)


def _index_select_gather(x, index, dim):
    shape = x.shape[:dim] + index.shape + x.shape[dim + 1:]
    return (_along(index, x.ndim, dim, shape),), (dim,)


index_select = defop(
    "index_select", kind="composite", infer=_index_select_type, impl=_index_select_impl,
    vjp=lambda ct, out, x, index, dim: (scatter(
        zeros_like(x), *_index_select_gather(x, index, dim)[0], ct, dims=(dim,),
        accumulate=True, wrap=False, error="index_select"), None),
    decompose=lambda x, index, dim: gather(
        x, *_index_select_gather(x, index, dim)[0], dims=(dim,), wrap=False,
        error="index_select"),
    grad_fn="IndexSelectBackward0")


def _index_layout(x, indices, dims):
    """How `x[..indices at dims..]` runs as a gather: the permutation that moves the indexed
    dims first (in order), the indices reshaped to (count, 1, ..., 1, *rest), the shape of the
    gather result, and the result's shape and permutation (PyTorch: the index dims replace the
    indexed ones when those are adjacent, else they go first)."""
    k = len(dims)
    rest = [d for d in range(x.ndim) if d not in dims]
    perm = tuple(dims) + tuple(rest)
    bshape = tuple(indices[0].shape)
    count = int(np.prod(bshape))
    rest_shape = tuple(x.shape[d] for d in rest)
    domain = (count,) + (1,) * (k - 1) + rest_shape
    adjacent = list(dims) == list(range(dims[0], dims[0] + k))
    lead = dims[0] if adjacent else 0
    nb = len(bshape)
    front = bshape + rest_shape
    out_perm = tuple(range(nb, nb + lead)) + tuple(range(nb)) + tuple(range(nb + lead, len(front)))
    return perm, domain, front, out_perm


def _index_type(x, *indices, dims):
    shape = ()
    for i in indices:
        shape = broadcast_shapes(shape, i.shape)
    if any(i.shape != shape for i in indices):
        raise AssertionError("index: indices must be broadcast to one shape first")
    _, _, front, out_perm = _index_layout(x, indices, dims)
    return TensorType(tuple(front[p] for p in out_perm), x.dtype)


def _index_impl(x, *indices, dims):
    indices = _check_bounds(x.shape, indices, dims, True, ("index", dims))
    key = [slice(None)] * x.ndim
    for i, d in zip(indices, dims):
        key[d] = i
    return x[tuple(key)]   # numpy places the result dims exactly as PyTorch does


def _index_gather(x, indices, dims):
    perm, domain, _, _ = _index_layout(x, indices, dims)
    k = len(dims)
    flat = [broadcast_to(reshape(i, shape=(domain[0],) + (1,) * (len(domain) - 1)),
                         shape=domain) for i in indices]
    return transpose(x, perm=perm), flat, tuple(range(k))


def _index_decompose(x, *indices, dims):
    xp, flat, gdims = _index_gather(x, indices, dims)
    _, _, front, out_perm = _index_layout(x, indices, dims)
    out = gather(xp, *flat, dims=gdims, wrap=True, error=("index", dims))
    return transpose(reshape(out, shape=front), perm=out_perm)


def _index_vjp(ct, out, x, *indices, dims):
    perm, domain, front, out_perm = _index_layout(x, indices, dims)
    inv = [0] * len(out_perm)
    for i, p in enumerate(out_perm):
        inv[p] = i
    ct = reshape(transpose(ct, perm=tuple(inv)), shape=domain)
    xp, flat, gdims = _index_gather(zeros_like(x), indices, dims)
    g = scatter(xp, *flat, ct, dims=gdims, accumulate=True, wrap=True, error=("index", dims))
    back = [0] * len(perm)
    for i, p in enumerate(perm):
        back[p] = i
    return (transpose(g, perm=tuple(back)),) + (None,) * len(indices)


# Advanced indexing by integer tensors: `indices` (broadcast to one shape) index the dims `dims`
# of x; negative indices count from the end.
index = defop("index", kind="composite", infer=_index_type, impl=_index_impl, vjp=_index_vjp,
              decompose=_index_decompose, grad_fn="IndexBackward0")


def _masked_fill_type(mask, x, value):
    if mask.dtype is not bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{mask.dtype.name}")
    if value.ndim:
        raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value.ndim} dimension(s).")
    if broadcast_shapes(x.shape, mask.shape) != x.shape:
        raise RuntimeError(f"masked_fill: mask of shape {list(mask.shape)} does not broadcast to "
                           f"{list(x.shape)}")
    return x


def _masked_fill_vjp(ct, out, mask, x, value):
    g_value = None
    if not isinstance(value, (int, float)):
        from .reduce import reduce_sum  # reduce builds on shape and this module

        g_value = reduce_sum(where(mask, ct, 0.0), dims=tuple(range(ct.ndim)), keepdim=False)
    return None, where(mask, 0.0, ct), g_value


# masked_fill(mask, x, value): `value` is a 0-d tensor or a literal (PyTorch's scalar overload);
# x and value promote together (the wrapper makes a scalar's type x's).
masked_fill = defop(
    "masked_fill", kind="composite", infer=_masked_fill_type,
    impl=lambda mask, x, value: np.where(mask, np.asarray(value, x.dtype), x),
    vjp=_masked_fill_vjp,
    decompose=lambda mask, x, value: where(mask, value, x),
    grad_fn=lambda inputs: "MaskedFillBackward1" if isinstance(inputs[2], Value)
    else "MaskedFillBackward0",
    promote="same", promote_from=1,
    listed=lambda index, is_literal: index > 0 and not is_literal)


def _one_hot_type(x, num_classes):
    if x.dtype is not int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    return TensorType(x.shape + (num_classes,), int64)


def _one_hot_impl(x, num_classes):
    if x.size and x.min() < 0:
        raise index_error("one_hot", int(x.min()), -1, num_classes)
    if x.size and x.max() >= num_classes:
        raise index_error("one_hot", int(x.max()), -1, num_classes)
    return (x[..., None] == np.arange(num_classes)).astype(np.int64)


def _one_hot_decompose(x, num_classes):
    # A scatter of ones into zeros: the backend's index check gives PyTorch's errors.
    shape = x.shape + (num_classes,)
    zeros = broadcast_to(reshape(zeros_like(x), shape=x.shape + (1,)), shape=shape)
    ones = reshape(zeros_like(x) + 1, shape=x.shape + (1,))
    return scatter(zeros, reshape(x, shape=x.shape + (1,)), ones, dims=(x.ndim,),
                   accumulate=False, wrap=False, error="one_hot")


one_hot = defop("one_hot", kind="composite", infer=_one_hot_type, impl=_one_hot_impl,
                decompose=_one_hot_decompose)
