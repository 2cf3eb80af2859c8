"""Shape and indexing functions: argument checks with PyTorch's errors, then one op each.

The Tensor methods (`x.flatten()`, `x[...]`, ...), the `tracegrad.<name>` functions and
`tracegrad.nn.functional.pad` / `one_hot` all call these.
"""
from __future__ import annotations

import math

import numpy as np

from .ir import ops
from .ir.types import bool_, broadcast_shapes, int64, result_type
from .tensor import Tensor, _overload, _shape_arg, tensor


def wrap_dim(dim: int, ndim: int) -> int:
    """`dim` made non-negative for a tensor of `ndim` dims (a 0-d tensor accepts 0 and -1)."""
    n = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return int(dim) % n


def _dims_arg(dims) -> tuple:
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = dims[0]
    return tuple(dims)


# ---- views -----------------------------------------------------------------------------------
def _copied(x: Tensor, out: Tensor) -> bool:
    """Whether an eager reshape had to copy (PyTorch's rule and numpy's agree); a traced
    tensor's layout is unknown, so it counts as a view."""
    return x._data is not None and x.numel() > 0 and not np.may_share_memory(out._data, x._data)


def reshape(x: Tensor, shape: tuple) -> Tensor:
    """`shape` fully specified. A reshape that copies is PyTorch's UnsafeViewBackward0."""
    out = ops.reshape(x, shape=shape)
    return _overload(out, "UnsafeViewBackward0") if _copied(x, out) else out


def view(x: Tensor, out: Tensor) -> Tensor:
    """`out` is x.reshape(...): a view must not need a copy (PyTorch raises)."""
    if _copied(x, out):
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at "
                           "least one dimension spans across two contiguous subspaces). Use "
                           ".reshape(...) instead.")
    return _overload(out, "ViewBackward0")


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one (a 0-d tensor becomes 1-D)."""
    if x.ndim == 0:
        return x.reshape(1)
    start, end = wrap_dim(start_dim, x.ndim), wrap_dim(end_dim, x.ndim)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return x
    return x.reshape(x.shape[:start] + (math.prod(x.shape[start:end + 1]),) + x.shape[end + 1:])


def unflatten(x: Tensor, dim: int, sizes) -> Tensor:
    """Split dim `dim` into `sizes` (one of them may be -1)."""
    d = wrap_dim(dim, x.ndim)
    sizes = list(sizes)
    if sizes.count(-1) == 1:
        known = math.prod(s for s in sizes if s != -1)
        if known and x.shape[d] % known == 0:
            sizes[sizes.index(-1)] = x.shape[d] // known
    if math.prod(sizes) != x.shape[d]:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {dim} ({x.shape[d]}) in the input tensor")
    return x.reshape(x.shape[:d] + tuple(sizes) + x.shape[d + 1:])


def squeeze(x: Tensor, dim=None) -> Tensor:
    """Drop size-1 dims: all of them, or those among `dim` (an int or a tuple)."""
    if dim is None:
        out = ops.reshape(x, shape=tuple(s for s in x.shape if s != 1))
        return _overload(out, "SqueezeBackward0")
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    dims = {wrap_dim(d, x.ndim) for d in dims} if x.ndim else set()
    out = ops.reshape(x, shape=tuple(s for i, s in enumerate(x.shape)
                                     if not (i in dims and s == 1)))
    return _overload(out, "SqueezeBackward2" if isinstance(dim, (tuple, list))
                     else "SqueezeBackward1")


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at `dim` (in [-ndim-1, ndim])."""
    d = wrap_dim(dim, x.ndim + 1)
    return _overload(ops.reshape(x, shape=x.shape[:d] + (1,) + x.shape[d:]),
                     "UnsqueezeBackward0")


def mT(x: Tensor) -> Tensor:
    """The last two dims swapped."""
    if x.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. "
                           f"Got {x.ndim}-D tensor.")
    return x.transpose(-2, -1)


def broadcast_to(x: Tensor, shape) -> Tensor:
    """`x.expand(shape)`."""
    return x.expand(*_shape_arg((shape,)))


def contiguous(x: Tensor) -> Tensor:
    """x itself if its memory is row-major dense, else a dense copy."""
    # Concrete tensors know their layout (PyTorch returns self when already contiguous); a
    # traced one may be any view, so it gets a copy, which costs nothing once fused.
    if x._data is not None and x._data.flags.c_contiguous:
        return x
    return ops.clone(x)


def diagonal(x: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of dims dim1, dim2 (shifted right by `offset`), as the last dim."""
    d1, d2 = wrap_dim(dim1, x.ndim), wrap_dim(dim2, x.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return ops.diagonal(x, offset=int(offset), dim1=d1, dim2=d2)


def flip(x: Tensor, *dims) -> Tensor:
    """x reversed along `dims`."""
    dims = _dims_arg(dims)
    norm = tuple(wrap_dim(d, x.ndim) for d in dims) if x.ndim else ()
    for d in norm:
        if norm.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return ops.flip(x, dims=tuple(sorted(norm)))


# ---- joining and splitting -------------------------------------------------------------------
def _tensors(fn: str, tensors) -> list:
    tensors = list(tensors)
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}(): argument 'tensors' must be tuple of Tensors, not "
                            f"{type(t).__name__}")
    return tensors


def _common(tensors) -> list:
    """Operands converted to their promoted dtype (cat and stack promote like PyTorch)."""
    dtype = result_type([t.type for t in tensors], [])
    return [t.to(dtype) for t in tensors]


def cat(tensors, dim: int = 0) -> Tensor:
    """Concatenate along `dim`; 1-D empty tensors are skipped, as in PyTorch."""
    tensors = _tensors("cat", tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               f"concatenated")
    ref = next((t for t in tensors if tuple(t.shape) != (0,)), tensors[0])
    return ops.cat(*_common(tensors), dim=wrap_dim(dim, ref.ndim))


def stack(tensors, dim: int = 0) -> Tensor:
    """Equal-shape tensors joined along a new dim `dim`."""
    tensors = _tensors("stack", tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    return ops.stack(*_common(tensors), dim=wrap_dim(dim, tensors[0].ndim + 1))


def split(x: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of x along `dim`: of one size (the last may be smaller) or of the listed sizes."""
    d = wrap_dim(dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = tuple(int(s) for s in split_size_or_sections)
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={list(sizes)}")
        out = ops.split(x, dim=d, sizes=sizes, with_sizes=True)
        return out if isinstance(out, tuple) else (out,)
    size = int(split_size_or_sections)
    if size == 0 and n != 0:
        raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension "
                           f"size of {n}")
    if size < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={size}")
    count = max(-(-n // size), 1) if size else 1
    sizes = tuple(min(size, n - i * size) for i in range(count))
    out = ops.split(x, dim=d, sizes=sizes, with_sizes=False)
    return out if isinstance(out, tuple) else (out,)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most `chunks` pieces of ceil(size / chunks) along `dim`."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = x.shape[wrap_dim(dim, x.ndim)]
    return split(x, max(-(-n // chunks), 1) if n else 0, dim) if n else split(x, 0, dim)


def repeat(x: Tensor, *repeats) -> Tensor:
    """x tiled `repeats[i]` times along each dim (extra leading repeats add dims)."""
    repeats = _shape_arg(repeats)
    if len(repeats) < x.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    if any(r < 0 for r in repeats):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(repeats)}: "
                           f"{list(repeats)}")
    return ops.repeat(x, repeats=repeats)


def tile(x: Tensor, *dims) -> Tensor:
    """repeat(), with missing leading repeats taken as 1."""
    dims = _shape_arg(dims)
    return repeat(x, (1,) * (x.ndim - len(dims)) + dims)


def roll(x: Tensor, shifts, dims=None) -> Tensor:
    """x shifted circularly by `shifts` along `dims` (no dims: the flattened tensor)."""
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (int(shifts),)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        return ops.roll(x, shifts=shifts, dims=())
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    return ops.roll(x, shifts=shifts, dims=tuple(wrap_dim(d, x.ndim) for d in dims))


def _triangle(op, x: Tensor, diagonal: int) -> Tensor:
    if x.ndim < 2:
        raise RuntimeError(f"{op.name}: input tensor must have at least 2 dimensions")
    return op(x, diagonal=int(diagonal))


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """x with the elements above the `diagonal`-th diagonal of the last two dims zeroed."""
    return _triangle(ops.tril, x, diagonal)


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """x with the elements below the `diagonal`-th diagonal of the last two dims zeroed."""
    return _triangle(ops.triu, x, diagonal)


def pad(x: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """`torch.nn.functional.pad`: `pad` lists (before, after) pairs from the last dim back."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    k = len(pad) // 2
    if k > x.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{x.ndim}")
    per_dim = {x.ndim - 1 - i: (pad[2 * i], pad[2 * i + 1]) for i in range(k)}
    if mode == "constant":
        pads = tuple(per_dim.get(d, (0, 0)) for d in range(x.ndim))
        fill = 0 if value is None else value
        fill = fill if x.dtype.is_floating_point else int(fill)
        return ops.constant_pad(x, pads=pads, value=fill)
    if mode not in ("reflect", "replicate"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument.")
    if not 1 <= k <= 3 or x.ndim not in (k + 1, k + 2):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {x.ndim}D "
                                  f"input tensor.")
    for d, (lo, hi) in per_dim.items():
        n = x.shape[d]
        if mode == "reflect" and (lo >= n or hi >= n) or min(lo, hi) < 0:
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding "
                               f"input dimension, but got: padding ({lo}, {hi}) at dimension {d} "
                               f"of input {list(x.shape)}")
        if mode == "replicate" and n == 0:
            raise RuntimeError(f"input tensor must have non-zero size at dimension {d}")
    op = ops.reflect_pad if mode == "reflect" else ops.replicate_pad
    return op(x, pads=tuple(sorted(per_dim.items())))


# ---- indexing by tensors ---------------------------------------------------------------------
def _long_index(fn: str, index) -> Tensor:
    if not isinstance(index, Tensor):
        raise TypeError(f"{fn}(): argument 'index' must be Tensor, not {type(index).__name__}")
    return index


def index_select(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries `index` (1-D int64) of x along `dim`."""
    index = _long_index("index_select", index)
    if index.ndim == 0:
        index = ops.reshape(index, shape=(1,)) if index.dtype is int64 else index
    if x.ndim == 0:
        x = ops.reshape(x, shape=(1,))
        return ops.reshape(ops.index_select(x, index, dim=0), shape=())
    return ops.index_select(x, index, dim=wrap_dim(dim, x.ndim))


def gather(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """out[i][j][k] = x[index[i][j][k]][j][k] for dim 0 (likewise for other dims)."""
    index = _long_index("gather", index)
    d = wrap_dim(dim, x.ndim)
    if index.ndim != x.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    return ops.gather(x, index, dims=(d,), wrap=False, error="gather")


def _scatter(x: Tensor, dim: int, index: Tensor, src, accumulate: bool) -> Tensor:
    index = _long_index("scatter", index)
    d = wrap_dim(dim, x.ndim)
    if index.dtype is not int64:
        raise RuntimeError("scatter(): Expected dtype int64 for index")
    if index.ndim != x.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    value = not isinstance(src, Tensor)
    if value:
        src = tensor(src, dtype=x.dtype)
    elif index.ndim != src.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    out = ops.scatter(x, index, src, dims=(d,), accumulate=accumulate, wrap=False,
                      error="scatter")
    return _overload(out, "ScatterBackward1") if value else out


def scatter(x: Tensor, dim: int, index: Tensor, src=None, *, value=None) -> Tensor:
    """A copy of x with src (a tensor, or the scalar `value`) written at `index` along dim."""
    return _scatter(x, dim, index, value if src is None else src, accumulate=False)


def scatter_add(x: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of x with src added at `index` along dim (repeated indices accumulate)."""
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): argument 'src' must be Tensor, not "
                        f"{type(src).__name__}")
    return _scatter(x, dim, index, src, accumulate=True)


def masked_fill(x: Tensor, mask: Tensor, value) -> Tensor:
    """x with `value` (a scalar or a 0-d tensor) where the bool `mask` holds."""
    if isinstance(value, Tensor):
        return ops.masked_fill(mask, x, value.to(x.dtype) if value.ndim == 0 else value)
    if x.dtype is bool_:
        value = bool(value)
    elif not x.dtype.is_floating_point:
        value = int(value)
    return ops.masked_fill(mask, x, value)


def one_hot(x: Tensor, num_classes: int = -1) -> Tensor:
    """`torch.nn.functional.one_hot`: int64 rows with a 1 at each class; num_classes=-1 reads
    the largest class from the data."""
    if x.dtype is not int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if x.numel() == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(x.max()) + 1   # inside tracegrad.compile: guards the largest class
    return ops.one_hot(x, num_classes=int(num_classes))


# ---- x[key] ----------------------------------------------------------------------------------
class IndexPlan:
    """`x[key]` in two stages, shared by reading (`getitem`) and writing (`__setitem__`):

    steps:   view steps applied in order: ("unsqueeze", d), ("select", d, i),
             ("slice", d, start, stop, step); d is a dim of the tensor the step applies to.
    tensors: (dim, int64 Tensor) advanced indices on the result of the steps (bool masks are
             already turned into integer indices), in key order.
    alias:   the key selects the whole tensor without a step (PyTorch's AliasBackward0).
    """

    def __init__(self, steps, tensors, alias):
        self.steps, self.tensors, self.alias = steps, tensors, alias


def _as_index(item):
    """Lists, numpy arrays and Python bools become tensors; other items pass."""
    if isinstance(item, (list, np.ndarray)):
        return tensor(item if len(item) or isinstance(item, np.ndarray) else np.zeros(0, np.int64))
    return item


def index_plan(shape, key) -> IndexPlan:
    """Normalize an indexing key for a tensor of `shape`, with PyTorch's errors."""
    shape = tuple(shape)
    single_slice = isinstance(key, slice)
    key = list(key) if isinstance(key, tuple) else [key]
    key = [_as_index(k) for k in key]
    consumed = sum(k.ndim if isinstance(k, Tensor) and k.dtype is bool_
                   else 0 if k is None or k is Ellipsis or isinstance(k, bool) else 1
                   for k in key)
    if consumed > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    steps, tensors = [], []
    d = k = 0          # dim in the tensor being built, dim of the input
    seen_ellipsis = False
    for item in key:
        if item is Ellipsis:
            if not seen_ellipsis:
                skip = len(shape) - consumed
                d, k = d + skip, k + skip
            seen_ellipsis = True
        elif item is None:
            steps.append(("unsqueeze", d))
            d += 1
        elif isinstance(item, bool):
            steps.append(("unsqueeze", d))
            tensors.append((d, tensor([0] if item else [], dtype=int64)))
            d += 1
        elif isinstance(item, (int, np.integer)) or (
                isinstance(item, Tensor) and item.ndim == 0 and item.dtype is int64
                and item._data is not None):
            i, n = int(item), shape[k]
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for dimension {d} with size {n}")
            steps.append(("select", d, i % n))
            k += 1
        elif isinstance(item, slice):
            if item.step is not None and int(item.step) == 0:
                raise ValueError("slice step cannot be zero")
            if item.step is not None and int(item.step) < 0:
                raise ValueError("step must be greater than zero")
            n = shape[k]
            start, stop, step = slice(item.start, item.stop, item.step).indices(n)
            stop = max(stop, start)
            if single_slice or (start, stop, step) != (0, n, 1):
                steps.append(("slice", d, start, stop, step))
            d, k = d + 1, k + 1
        elif isinstance(item, Tensor):
            if item.dtype is bool_:
                mask_shape = shape[k:k + item.ndim]
                if tuple(item.shape) != mask_shape:
                    bad = next((j for j, (a, b) in enumerate(zip(item.shape, mask_shape))
                                if a != b), 0)
                    raise IndexError(f"The shape of the mask {list(item.shape)} at index {bad} "
                                     f"does not match the shape of the indexed tensor "
                                     f"{list(shape)} at index {k + bad}")
                where = np.nonzero(item._concrete("indexing with a boolean mask"))
                for j, w in enumerate(where):
                    tensors.append((d + j, tensor(w.astype(np.int64))))
                d, k = d + item.ndim, k + item.ndim
            elif item.dtype is int64:
                tensors.append((d, item))
                d, k = d + 1, k + 1
            else:
                raise IndexError("tensors used as indices must be long, int, byte or bool "
                                 "tensors")
        else:
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or "
                             "byte Variables are valid indices (got "
                             f"{type(item).__name__})")
    return IndexPlan(steps, tensors, alias=not steps and not tensors)


_STEP_NAMES = {"unsqueeze": "UnsqueezeBackward0", "select": "SelectBackward0",
               "slice": "SliceBackward0"}


def apply_steps(x: Tensor, steps) -> Tensor:
    for step in steps:
        kind, d = step[0], step[1]
        if kind == "unsqueeze":
            x = ops.reshape(x, shape=x.shape[:d] + (1,) + x.shape[d:])
        elif kind == "select":
            x = ops.select(x, dim=d, index=step[2])
        else:
            x = ops.slice_(x, dim=d, start=step[2], stop=step[3], step=step[4])
        x = _overload(x, _STEP_NAMES[kind])
    return x


def broadcast_indices(tensors) -> list:
    """The advanced indices broadcast to one shape (PyTorch's error when they can't be)."""
    shape = ()
    try:
        for _, t in tensors:
            shape = broadcast_shapes(shape, tuple(t.shape))
    except RuntimeError:
        shapes = ", ".join(str(list(t.shape)) for _, t in tensors)
        raise IndexError(f"shape mismatch: indexing tensors could not be broadcast together "
                         f"with shapes {shapes}") from None
    return [t if tuple(t.shape) == shape else t.expand(*shape) for _, t in tensors]


def getitem(x: Tensor, key) -> Tensor:
    """`x[key]`: views for ints, slices, None and Ellipsis; then one `index` op for the
    integer tensors, lists and bool masks."""
    plan = index_plan(x.shape, key)
    if plan.alias:
        return _overload(ops.reshape(x, shape=tuple(x.shape)), "AliasBackward0")
    y = apply_steps(x, plan.steps)
    if not plan.tensors:
        return y
    dims = tuple(d for d, _ in plan.tensors)
    return ops.index(y, *broadcast_indices(plan.tensors), dims=dims)


def setitem(x: Tensor, key, value) -> Tensor:
    """`x[key] = value` out of place: a copy of x with `value` (a scalar or a tensor that
    broadcasts to `x[key]`) written at the positions `x[key]` reads. The positions come from
    indexing a table of flat offsets with the same key, so every kind of key `getitem`
    accepts works, with the same errors."""
    offsets = getitem(tensor(np.arange(x.numel(), dtype=np.int64).reshape(tuple(x.shape))), key)
    flat = ops.reshape(x, shape=(x.numel(),))
    where = ops.reshape(offsets, shape=(offsets.numel(),))
    if isinstance(value, Tensor):
        if tuple(value.shape) != tuple(offsets.shape):
            value = value.expand(*offsets.shape)
        value = value if value.dtype is x.dtype else value.to(x.dtype)
        out = scatter(flat, 0, where, ops.reshape(value, shape=(offsets.numel(),)))
    else:
        out = scatter(flat, 0, where, value=value)
    # PyTorch's names: index_put_ straight into x when the key is only advanced indices,
    # else a write through a view of x.
    plan = index_plan(x.shape, key)
    direct = bool(plan.tensors) and not any(st[0] != "unsqueeze" for st in plan.steps)
    return _overload(ops.reshape(out, shape=tuple(x.shape)),
                     "IndexPutBackward0" if direct else "CopySlices")


__all__ = ["broadcast_to", "cat", "chunk", "contiguous", "diagonal", "flatten", "flip",
           "gather", "getitem", "index_select", "masked_fill", "one_hot", "pad", "repeat", "roll",
           "scatter", "scatter_add", "setitem", "split", "squeeze", "stack", "tile", "tril", "triu",
           "unflatten", "unsqueeze"]
