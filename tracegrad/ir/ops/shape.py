"""Layout primitives (reshape, transpose, broadcast_to, slice, select, diagonal, flip: the backend
turns them into strided views), padding (`constant_pad`, which the backend lowers as a select
between a clamped load and the fill value) and the composites built on them: cat, split, stack,
roll, repeat, reflect/replicate padding, tril/triu."""
from __future__ import annotations

import math

import numpy as np

from ..op import defop
from ..types import TensorType, bool_
from .elementwise import where, zeros_like


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


# ---- shape and indexing: views -----------------------------------------------------------------
# Attributes arrive normalized (non-negative dims, in-range starts); the user-facing wrappers in
# `tracegrad/shaping.py` check arguments and raise PyTorch's errors.

def _pads_at(ndim: int, dim: int, before: int, after: int) -> tuple:
    """`constant_pad` pads that touch only `dim`."""
    return tuple((before, after) if d == dim else (0, 0) for d in range(ndim))


def _slice_type(x, dim, start, stop, step):
    shape = list(x.shape)
    shape[dim] = len(range(start, stop, step))
    return TensorType(tuple(shape), x.dtype)


def _slice_vjp(ct, out, x, dim, start, stop, step):
    n, m = x.shape[dim], out.shape[dim]
    if step > 1 and m > 0:
        # Interleave step-1 zeros after every element, then place the run at `start`.
        ct = reshape(ct, shape=ct.shape[:dim + 1] + (1,) + ct.shape[dim + 1:])
        ct = constant_pad(ct, pads=_pads_at(ct.ndim, dim + 1, 0, step - 1), value=0.0)
        ct = reshape(ct, shape=out.shape[:dim] + (m * step,) + out.shape[dim + 1:])
    return constant_pad(ct, pads=_pads_at(x.ndim, dim, start, n - start - ct.shape[dim]),
                        value=0.0)


slice_ = defop(
    "slice", kind="layout", infer=_slice_type,
    impl=lambda x, dim, start, stop, step: x[(slice(None),) * dim + (slice(start, stop, step),)],
    view=lambda v, dim, start, stop, step: v.slice(dim, start, len(range(start, stop, step)),
                                                   step),
    vjp=_slice_vjp, grad_fn="SliceBackward0")


def _select_vjp(ct, out, x, dim, index):
    ct = reshape(ct, shape=x.shape[:dim] + (1,) + x.shape[dim + 1:])
    return constant_pad(ct, pads=_pads_at(x.ndim, dim, index, x.shape[dim] - index - 1),
                        value=0.0)


select = defop(
    "select", kind="layout",
    infer=lambda x, dim, index: TensorType(x.shape[:dim] + x.shape[dim + 1:], x.dtype),
    impl=lambda x, dim, index: x[(slice(None),) * dim + (index,)],
    view=lambda v, dim, index: v.select(dim, index),
    vjp=_select_vjp, grad_fn="SelectBackward0")


def _diag_len(shape, offset, dim1, dim2):
    n, m = shape[dim1], shape[dim2]
    return max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))


def _diagonal_type(x, offset, dim1, dim2):
    rest = tuple(s for d, s in enumerate(x.shape) if d not in (dim1, dim2))
    return TensorType(rest + (_diag_len(x.shape, offset, dim1, dim2),), x.dtype)


def _diagonal_vjp(ct, out, x, offset, dim1, dim2):
    # Put the diagonal on zeros: with dim1, dim2 moved last and flattened, element i of the
    # diagonal sits at first + i * (m + 1).
    perm = tuple(d for d in range(x.ndim) if d not in (dim1, dim2)) + (dim1, dim2)
    batch = ct.shape[:-1]
    n, m, length = x.shape[dim1], x.shape[dim2], ct.shape[-1]
    first = max(-offset, 0) * m + max(offset, 0)
    ct = reshape(ct, shape=batch + (length, 1))
    ct = constant_pad(ct, pads=_pads_at(ct.ndim, ct.ndim - 1, 0, m), value=0.0)
    ct = reshape(ct, shape=batch + (length * (m + 1),))
    if length == 0:
        first = n * m
    ct = constant_pad(ct, pads=_pads_at(ct.ndim, ct.ndim - 1, first,
                                        n * m - first - length * (m + 1)), value=0.0)
    ct = reshape(ct, shape=batch + (n, m))
    return transpose(ct, perm=_inverse(perm))


def _diagonal_impl(x, offset, dim1, dim2):
    d = np.diagonal(x, offset, dim1, dim2)
    if x.flags.writeable:   # a view like PyTorch's, writable where x is (numpy's is read-only)
        d.flags.writeable = True
    return d


diagonal = defop(
    "diagonal", kind="layout", infer=_diagonal_type, impl=_diagonal_impl,
    view=lambda v, offset, dim1, dim2: v.diagonal(offset, dim1, dim2),
    vjp=_diagonal_vjp, grad_fn="DiagonalBackward0")

flip = defop(
    "flip", kind="layout", infer=lambda x, dims: x,
    impl=lambda x, dims: np.flip(x, dims) if dims else x,
    view=lambda v, dims: v.flip(dims),
    vjp=lambda ct, out, x, dims: flip(ct, dims=dims),
    grad_fn="FlipBackward0")


# ---- shape and indexing: padding and concatenation ---------------------------------------------
def _constant_pad_type(x, pads, value):
    shape = []
    for d, (n, (lo, hi)) in enumerate(zip(x.shape, pads)):
        if n + lo + hi < 0:
            raise RuntimeError(f"The input size {n}, plus negative padding {lo} and {hi} resulted "
                               f"in a negative output size, which is invalid. Check dimension "
                               f"{d} of your input.")
        shape.append(n + lo + hi)
    return TensorType(tuple(shape), x.dtype)


def _constant_pad_impl(x, pads, value):
    # Pad (positive amounts), then crop (negative ones), as PyTorch: a crop may eat into the
    # padding (an empty input padded by (1, -1) stays empty).
    y = np.pad(x, [(max(lo, 0), max(hi, 0)) for lo, hi in pads],
               constant_values=np.array(value).astype(x.dtype))
    crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(y.shape, pads))
    return y[crop]


# `pads` holds (before, after) for every dim; negative amounts crop. The backend lowers it as a
# select between the input, loaded at a clamped index, and `value`.
constant_pad = defop(
    "constant_pad", kind="pad", infer=_constant_pad_type, impl=_constant_pad_impl,
    vjp=lambda ct, out, x, pads, value: constant_pad(
        ct, pads=tuple((-lo, -hi) for lo, hi in pads), value=0.0),
    grad_fn="ConstantPadNdBackward0")


def _cat_parts(types):
    """Operands that take part: PyTorch skips legacy empty 1-D tensors (shape (0,))."""
    return [i for i, t in enumerate(types) if t.shape != (0,)] or [0]


def _cat_type(*xs, dim):
    parts = [xs[i] for i in _cat_parts(xs)]
    ref = parts[0]
    for i, x in enumerate(xs):
        if x.dtype is not ref.dtype:
            raise RuntimeError(f"cat: operands must have one dtype (got {ref.dtype.name} and "
                               f"{x.dtype.name}); convert them first")
    for i in _cat_parts(xs):
        x = xs[i]
        if x.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} "
                               f"and {x.ndim}")
        for d in range(ref.ndim):
            if d != dim and x.shape[d] != ref.shape[d]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {dim}. "
                                   f"Expected size {ref.shape[d]} but got size {x.shape[d]} for "
                                   f"tensor number {i} in the list.")
    shape = list(ref.shape)
    shape[dim] = sum(x.shape[dim] for x in parts)
    return TensorType(tuple(shape), ref.dtype)


def _cat_vjp(ct, out, *xs, dim):
    grads, start = [], 0
    parts = set(_cat_parts(xs))
    for i, x in enumerate(xs):
        if i not in parts:
            grads.append(zeros_like(x))
            continue
        n = x.shape[dim]
        grads.append(slice_(ct, dim=dim, start=start, stop=start + n, step=1))
        start += n
    return tuple(grads)


def _cat_decompose(*xs, dim):
    # Each part padded out to the full length with a fill that leaves the other parts' values
    # exact under `add` (-0.0 + x == x for every float x, -0.0 included; bool add is `or`).
    parts = [xs[i] for i in _cat_parts(xs)]
    total = sum(x.shape[dim] for x in parts)
    fill = -0.0 if parts[0].dtype.is_floating_point else 0
    out, start = None, 0
    for x in parts:
        n = x.shape[dim]
        padded = constant_pad(x, pads=_pads_at(x.ndim, dim, start, total - start - n),
                              value=fill)
        out = padded if out is None else out + padded
        start += n
    return out


cat = defop(
    "cat", kind="composite", infer=_cat_type,
    impl=lambda *xs, dim: np.concatenate([xs[i] for i in _cat_parts(xs)], axis=dim),
    vjp=_cat_vjp, decompose=_cat_decompose, grad_fn="CatBackward0")


def _split_type(x, dim, sizes, with_sizes):
    return tuple(TensorType(x.shape[:dim] + (s,) + x.shape[dim + 1:], x.dtype) for s in sizes)


def _split_parts(x, dim, sizes):
    start, outs = 0, []
    for s in sizes:
        outs.append(slice_(x, dim=dim, start=start, stop=start + s, step=1))
        start += s
    return tuple(outs)


split = defop(
    "split", kind="composite", infer=_split_type,
    impl=lambda x, dim, sizes, with_sizes: tuple(
        x[(slice(None),) * dim + (slice(a, a + s),)]
        for a, s in zip(np.cumsum((0,) + tuple(sizes[:-1])), sizes)),
    vjp=lambda ct, out, x, dim, sizes, with_sizes: cat(
        *(ct if isinstance(ct, tuple) else (ct,)), dim=dim),
    decompose=lambda x, dim, sizes, with_sizes: _split_parts(x, dim, sizes),
    grad_fn=lambda inputs, dim, sizes, with_sizes:
        "SplitWithSizesBackward0" if with_sizes else "SplitBackward0")


def _stack_decompose(*xs, dim):
    shape = xs[0].shape[:dim] + (1,) + xs[0].shape[dim:]
    return cat(*[reshape(x, shape=shape) for x in xs], dim=dim)


def _stack_type(*xs, dim):
    for i, x in enumerate(xs):
        if x.shape != xs[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(xs[0].shape)} at entry 0 and {list(x.shape)} at entry {i}")
        if x.dtype is not xs[0].dtype:
            raise RuntimeError("stack: operands must have one dtype; convert them first")
    return TensorType(xs[0].shape[:dim] + (len(xs),) + xs[0].shape[dim:], xs[0].dtype)


stack = defop(
    "stack", kind="composite", infer=_stack_type,
    impl=lambda *xs, dim: np.stack(xs, axis=dim),
    vjp=lambda ct, out, *xs, dim: tuple(select(ct, dim=dim, index=i) for i in range(len(xs))),
    decompose=_stack_decompose, grad_fn="StackBackward0")


def _roll_decompose(x, shifts, dims):
    if not dims:   # roll the flattened tensor
        flat = reshape(x, shape=(math.prod(x.shape),))
        return reshape(_roll_decompose(flat, shifts, (0,)), shape=x.shape)
    for s, d in zip(shifts, dims):
        n = x.shape[d]
        s = s % n if n else 0
        if s:
            x = cat(slice_(x, dim=d, start=n - s, stop=n, step=1),
                    slice_(x, dim=d, start=0, stop=n - s, step=1), dim=d)
    return x


roll = defop(
    "roll", kind="composite", infer=lambda x, shifts, dims: x,
    impl=lambda x, shifts, dims: np.roll(x, shifts, dims or None),
    vjp=lambda ct, out, x, shifts, dims: roll(ct, shifts=tuple(-s for s in shifts), dims=dims),
    decompose=_roll_decompose, grad_fn="RollBackward0")


def _repeat_type(x, repeats):
    shape = (1,) * (len(repeats) - x.ndim) + x.shape
    return TensorType(tuple(r * s for r, s in zip(repeats, shape)), x.dtype)


def _interleaved(x, repeats):
    """(shape with leading 1s, the (r0, s0, r1, s1, ...) shape that repeat expands to)."""
    shape = (1,) * (len(repeats) - x.ndim) + tuple(x.shape)
    return shape, tuple(v for r, s in zip(repeats, shape) for v in (r, s))


def _repeat_decompose(x, repeats):
    out = _repeat_type(x, repeats).shape
    shape, wide = _interleaved(x, repeats)
    x = reshape(x, shape=tuple(v for s in shape for v in (1, s)))
    return reshape(broadcast_to(x, shape=wide), shape=out)


def _repeat_vjp(ct, out, x, repeats):
    from .reduce import reduce_sum  # reduce builds on this module

    _, wide = _interleaved(x, repeats)
    ct = reduce_sum(reshape(ct, shape=wide), dims=tuple(range(0, len(wide), 2)), keepdim=False)
    return reshape(ct, shape=x.shape)


repeat = defop(
    "repeat", kind="composite", infer=_repeat_type,
    impl=lambda x, repeats: np.tile(x, repeats),
    vjp=_repeat_vjp, decompose=_repeat_decompose, grad_fn="RepeatBackward0")


def _edge_pad(mode):
    """reflect / replicate padding of the dims in `pads` (dim -> (before, after)), one dim at a
    time: the borders are flipped slices (reflect) or the edge expanded (replicate)."""
    def decompose(x, pads):
        for d, (lo, hi) in pads:
            n = x.shape[d]
            parts = []
            if lo:
                parts.append(flip(slice_(x, dim=d, start=1, stop=lo + 1, step=1), dims=(d,))
                             if mode == "reflect" else
                             broadcast_to(slice_(x, dim=d, start=0, stop=1, step=1),
                                          shape=x.shape[:d] + (lo,) + x.shape[d + 1:]))
            parts.append(x)
            if hi:
                parts.append(flip(slice_(x, dim=d, start=n - hi - 1, stop=n - 1, step=1),
                                  dims=(d,))
                             if mode == "reflect" else
                             broadcast_to(slice_(x, dim=d, start=n - 1, stop=n, step=1),
                                          shape=x.shape[:d] + (hi,) + x.shape[d + 1:]))
            x = cat(*parts, dim=d) if len(parts) > 1 else x
        return x

    def vjp(ct, out, x, pads):
        from .reduce import reduce_sum  # reduce builds on this module

        sizes = [x.shape[d] for d, _ in pads]
        for (d, (lo, hi)), n in reversed(list(zip(pads, sizes))):
            mid = slice_(ct, dim=d, start=lo, stop=lo + n, step=1)
            grad = mid
            if lo:
                left = slice_(ct, dim=d, start=0, stop=lo, step=1)
                if mode == "reflect":
                    grad = grad + constant_pad(flip(left, dims=(d,)),
                                               pads=_pads_at(ct.ndim, d, 1, n - lo - 1), value=0.0)
                else:
                    grad = grad + constant_pad(reduce_sum(left, dims=(d,), keepdim=True),
                                               pads=_pads_at(ct.ndim, d, 0, n - 1), value=0.0)
            if hi:
                right = slice_(ct, dim=d, start=lo + n, stop=lo + n + hi, step=1)
                if mode == "reflect":
                    grad = grad + constant_pad(flip(right, dims=(d,)),
                                               pads=_pads_at(ct.ndim, d, n - hi - 1, 1), value=0.0)
                else:
                    grad = grad + constant_pad(reduce_sum(right, dims=(d,), keepdim=True),
                                               pads=_pads_at(ct.ndim, d, n - 1, 0), value=0.0)
            ct = grad
        return ct

    def infer(x, pads):
        shape = list(x.shape)
        for d, (lo, hi) in pads:
            shape[d] += lo + hi
        return TensorType(tuple(shape), x.dtype)

    np_mode = "reflect" if mode == "reflect" else "edge"
    title = "Reflection" if mode == "reflect" else "Replication"
    return defop(
        f"{mode}_pad", kind="composite", infer=infer,
        impl=lambda x, pads: np.pad(x, [dict(pads).get(d, (0, 0)) for d in range(x.ndim)],
                                    mode=np_mode),
        vjp=vjp, decompose=decompose,
        grad_fn=lambda inputs, pads: f"{title}Pad{len(pads)}DBackward0")


# `pads`: ((dim, (before, after)), ...) for the last 1-3 dims, amounts smaller than the size.
reflect_pad = _edge_pad("reflect")
replicate_pad = _edge_pad("replicate")


def _triangle(name, keep):
    def mask(x, diagonal):
        from .reduce import iota  # reduce builds on this module

        return keep(iota(x, dim=x.ndim - 1) - iota(x, dim=x.ndim - 2), diagonal)

    def impl(x, diagonal):
        n, m = x.shape[-2:]
        cols = np.arange(m)[None, :] - np.arange(n)[:, None]
        return np.where(keep(cols, diagonal), x, np.zeros((), x.dtype))

    op = defop(
        name, kind="composite", infer=lambda x, diagonal: x, impl=impl,
        vjp=lambda ct, out, x, diagonal: op(ct, diagonal=diagonal),
        decompose=lambda x, diagonal: where(mask(x, diagonal), x,
                                            False if x.dtype is bool_ else 0),
        grad_fn=f"{name.capitalize()}Backward0")
    return op


tril = _triangle("tril", lambda offset, k: offset <= k)
triu = _triangle("triu", lambda offset, k: offset >= k)
