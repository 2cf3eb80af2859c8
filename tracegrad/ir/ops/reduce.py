"""Reductions.

Primitives the backend lowers as reduction loops: `sum`, `prod`, `amax`, `amin` and the
(value, index) reductions `argmax`, `argmin`. `iota` (the index along one dim; VJP rules use
it to pick the element a reduction selected) is a leaf the backend computes from loop indices.
Everything else decomposes into those, so it fuses with its prologue and epilogue: `mean`,
`var`, `std`, `logsumexp`, `softmax`, `log_softmax`, `norm` (every order), `any`, `all`,
`max_all`/`min_all` (max() of every element: ties share the gradient, NaN-aware) and `max`/`min`
along a dim (the values: their gradient goes to the returned index).

All rules take `dims` as sorted non-negative ints (the Tensor methods normalize them).
"""
from __future__ import annotations

import math

import numpy as np

from ..op import defop
from ..types import TensorType, bool_, int64
from .elementwise import convert, exp, log, sqrt, where
from .shape import broadcast_to, reshape


def _reduced_shape(shape, dims, keepdim):
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def _check_dims(x, dims):
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims} has a dimension listed more than once")
    for d in dims:
        if not 0 <= d < max(x.ndim, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-max(x.ndim, 1)}, {max(x.ndim, 1) - 1}], but got {d})")


def _sum_type(x, dims, keepdim):
    _check_dims(x, dims)
    dtype = x.dtype if x.dtype.is_floating_point else int64
    return TensorType(_reduced_shape(x.shape, dims, keepdim), dtype)


def _float_reduce_type(opname, x, dims, keepdim):
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{opname}(): could not infer output dtype. Input dtype must be either "
                           f"a floating point or complex dtype. Got: "
                           f"{x.dtype.scalar_name}")
    _check_dims(x, dims)
    return TensorType(_reduced_shape(x.shape, dims, keepdim), x.dtype)


def _nonempty_type(opname, dtype=None):
    """Type rule of reductions without an identity (max, argmax...): no empty reduced dim."""
    def infer(x, dims, keepdim):
        _check_dims(x, dims)
        for d in dims:
            if x.shape[d] == 0:
                raise IndexError(f"{opname}(): Expected reduction dim {d} to have non-zero size.")
        return TensorType(_reduced_shape(x.shape, dims, keepdim), dtype or x.dtype)
    return infer


def _keep(t, x, dims, keepdim):
    """A reduced value reshaped to keepdim form (size 1 along the reduced dims)."""
    return t if keepdim else reshape(t, shape=_reduced_shape(x.shape, dims, True))


def _expand_back(ct, x, dims, keepdim):
    """Broadcast a reduced cotangent back over the reduced dimensions of `x`."""
    return broadcast_to(_keep(ct, x, dims, keepdim), shape=x.shape)


def _count(x, dims):
    return math.prod(x.shape[d] for d in dims)


def _abs(x):
    return where(x < 0.0, -x, x)


def _sgn(x):
    # ±1 and 0 are exact in any float type; `where` of two literals is float32.
    return where(x == 0.0, 0.0, where(x > 0.0, 1.0, -1.0))


# ---- primitive reductions -------------------------------------------------------------------
reduce_sum = defop(
    "sum", kind="reduce", infer=_sum_type,
    impl=lambda x, dims, keepdim: np.asarray(np.sum(
        x, axis=dims, keepdims=keepdim, dtype=x.dtype if x.dtype.kind == "f" else np.int64)),
    vjp=lambda ct, out, x, dims, keepdim: _expand_back(ct, x, dims, keepdim),
    grad_fn="SumBackward0")  # `dim=` overload: SumBackward1


def _prod_vjp(ct, out, x, dims, keepdim):
    # PyTorch's prod_backward: result / input without zeros; with exactly one zero in a slice,
    # that element gets the product of the others; with two or more, every gradient is 0.
    ct, out = _keep(ct, x, dims, keepdim), _keep(out, x, dims, keepdim)
    zero = x == 0.0
    nzeros = reduce_sum(zero, dims=dims, keepdim=True)
    others = prod(where(zero, 1.0, x), dims=dims, keepdim=True)
    g = where(nzeros == 0, out / x, where(zero, where(nzeros == 1, others, 0.0), 0.0))
    return ct * g


# float32 products are accumulated in float64, as the backend does.
prod = defop(
    "prod", kind="reduce", infer=_sum_type,
    impl=lambda x, dims, keepdim: np.asarray(np.prod(
        x, axis=dims, keepdims=keepdim, dtype=np.float64 if x.dtype.kind == "f" else np.int64)),
    vjp=_prod_vjp, grad_fn="ProdBackward0")  # `dim=` overload: ProdBackward1


def _selected(x, out):
    """Where `x` equals the reduction's result; NaN results select the NaNs (PyTorch's
    evenly_distribute_backward)."""
    return where(out != out, x != x, x == out)


def _extremum_vjp(ct, out, x, dims, keepdim):
    # The gradient is shared evenly among the elements equal to the result (ties); PyTorch's
    # scale_grad_by_count, whose 0/0 makes a NaN result's gradient NaN.
    ct, out = _keep(ct, x, dims, keepdim), _keep(out, x, dims, keepdim)
    mask = x == out
    return ct / reduce_sum(mask, dims=dims, keepdim=True) * mask


def _evenly_distribute_vjp(ct, out, x, dims, keepdim):
    # max() / min(): evenly_distribute_backward, where a NaN result sends it to the NaNs.
    mask = _selected(x, out)
    return where(mask, ct / reduce_sum(mask, dims=dims, keepdim=False), 0.0)


def _np_extremum(fn):
    def impl(x, dims, keepdim):
        return np.asarray(fn(x, axis=dims, keepdims=keepdim)) if dims else np.asarray(x)
    return impl


amax = defop("amax", kind="reduce", infer=_nonempty_type("amax"), impl=_np_extremum(np.max),
             vjp=_extremum_vjp, grad_fn="AmaxBackward0")
amin = defop("amin", kind="reduce", infer=_nonempty_type("amin"), impl=_np_extremum(np.min),
             vjp=_extremum_vjp, grad_fn="AminBackward0")

# max() / min() of every element: amax / amin with NaN-aware ties (attrs as amax's, dims all).
max_all = defop("max_all", kind="composite", infer=amax.infer, impl=amax.impl,
                vjp=_evenly_distribute_vjp, grad_fn="MaxBackward1",
                decompose=lambda x, dims, keepdim: amax(x, dims=dims, keepdim=keepdim))
min_all = defop("min_all", kind="composite", infer=amin.infer, impl=amin.impl,
                vjp=_evenly_distribute_vjp, grad_fn="MinBackward1",
                decompose=lambda x, dims, keepdim: amin(x, dims=dims, keepdim=keepdim))


def _np_arg(fn):
    def impl(x, dims, keepdim):
        # Reduced dims last, flattened: the index counts over them in row-major order.
        kept = [d for d in range(x.ndim) if d not in dims]
        moved = np.transpose(x, kept + list(dims)).reshape(
            [x.shape[d] for d in kept] + [_count(x, dims)])
        return np.asarray(fn(moved, axis=-1)).reshape(_reduced_shape(x.shape, dims, keepdim))
    return impl


# First index on ties; NaN wins (as in PyTorch and numpy).
argmax = defop("argmax", kind="reduce", infer=_nonempty_type("argmax", int64),
               impl=_np_arg(np.argmax))
argmin = defop("argmin", kind="reduce", infer=_nonempty_type("argmin", int64),
               impl=_np_arg(np.argmin))


def _iota_impl(x, dim):
    shape = [1] * x.ndim
    shape[dim] = x.shape[dim]
    return np.broadcast_to(np.arange(x.shape[dim]).reshape(shape), x.shape).copy()


# The index along `dim` at every position of `x` (x only gives the shape).
iota = defop("iota", kind="index", infer=lambda x, dim: TensorType(x.shape, int64),
             impl=_iota_impl)


# ---- max / min along a dim: the values (indices are argmax / argmin) -------------------------
def _max_dim_vjp(arg):
    def vjp(ct, out, x, dims, keepdim):
        # The gradient goes to the index the forward returned (PyTorch's
        # value_selecting_reduction_backward), not shared among ties.
        if not dims:
            return ct
        index = arg(x, dims=dims, keepdim=True)
        return where(iota(x, dim=dims[0]) == index, _keep(ct, x, dims, keepdim), 0.0)
    return vjp


max_dim = defop("max", kind="composite", infer=_nonempty_type("max"), impl=amax.impl,
                vjp=_max_dim_vjp(argmax), grad_fn="MaxBackward0",
                decompose=lambda x, dims, keepdim: amax(x, dims=dims, keepdim=keepdim))
min_dim = defop("min", kind="composite", infer=_nonempty_type("min"), impl=amin.impl,
                vjp=_max_dim_vjp(argmin), grad_fn="MinBackward0",
                decompose=lambda x, dims, keepdim: amin(x, dims=dims, keepdim=keepdim))


# ---- composites -----------------------------------------------------------------------------
mean = defop(
    "mean", kind="composite",
    infer=lambda x, dims, keepdim: _float_reduce_type("mean", x, dims, keepdim),
    impl=lambda x, dims, keepdim: np.asarray(
        np.sum(x, axis=dims, keepdims=keepdim) / x.dtype.type(_count(x, dims))),
    vjp=lambda ct, out, x, dims, keepdim: (
        _expand_back(ct, x, dims, keepdim) / float(_count(x, dims))),
    decompose=lambda x, dims, keepdim: (
        reduce_sum(x, dims=dims, keepdim=keepdim) / float(_count(x, dims))),
    grad_fn="MeanBackward0")  # `dim=` overload: MeanBackward1


def _var_type(x, dims, correction, keepdim):
    if not x.dtype.is_floating_point:
        raise RuntimeError("std and var only support floating point and complex dtypes")
    _check_dims(x, dims)
    return TensorType(_reduced_shape(x.shape, dims, keepdim), x.dtype)


def _dof(x, dims, correction):
    # PyTorch divides by max(0, N - correction) (and warns when that is <= 0).
    return float(max(0, _count(x, dims) - correction))


def _var_impl(x, dims, correction, keepdim):
    # sum / count rather than np.mean, which warns on empty slices (the result is NaN, quietly)
    d = x - np.sum(x, axis=dims, keepdims=True) / x.dtype.type(_count(x, dims))
    return np.asarray(np.sum(d * d, axis=dims, keepdims=keepdim) / x.dtype.type(
        _dof(x, dims, correction)))


def _var_decompose(x, dims, correction, keepdim):
    d = x - mean(x, dims=dims, keepdim=True)
    return reduce_sum(d * d, dims=dims, keepdim=keepdim) / _dof(x, dims, correction)


def _var_grad(ct, x, dims, correction, keepdim):
    # PyTorch's var_backward: 2 / (N - correction) * grad * (x - mean), unclamped.
    n = _count(x, dims) - correction
    scale = 2.0 / n if n else math.inf
    return scale * _keep(ct, x, dims, keepdim) * (x - mean(x, dims=dims, keepdim=True))


var = defop("var", kind="composite", infer=_var_type, impl=_var_impl, decompose=_var_decompose,
            vjp=lambda ct, out, x, dims, correction, keepdim: _var_grad(
                ct, x, dims, correction, keepdim),
            grad_fn="VarBackward0")


def _std_vjp(ct, out, x, dims, correction, keepdim):
    # std_backward: grad / (2 * std), with 0 where std is 0.
    return _var_grad(where(out == 0.0, 0.0, ct / (2.0 * out)), x, dims, correction, keepdim)


std = defop("std", kind="composite", infer=_var_type,
            impl=lambda x, dims, correction, keepdim: np.sqrt(
                _var_impl(x, dims, correction, keepdim)),
            decompose=lambda x, dims, correction, keepdim: sqrt(
                _var_decompose(x, dims, correction, keepdim)),
            vjp=_std_vjp, grad_fn="StdBackward0")


def _logsumexp_impl(x, dims, keepdim):
    if _count(x, dims) == 0:
        return np.log(np.sum(np.exp(x), axis=dims, keepdims=keepdim))
    m = np.max(x, axis=dims, keepdims=True) if dims else x
    m = np.where(np.isinf(m), 0, m)
    out = np.log(np.sum(np.exp(x - m), axis=dims, keepdims=True)) + m
    return out if keepdim else np.squeeze(out, axis=dims)


def _logsumexp_decompose(x, dims, keepdim):
    if _count(x, dims) == 0:
        return log(reduce_sum(exp(x), dims=dims, keepdim=keepdim))
    # Shift by the max (0 where it is infinite, so inf - inf does not make NaN), as PyTorch.
    m = amax(x, dims=dims, keepdim=True)
    m = where(_abs(m) == math.inf, 0.0, m)
    out = log(reduce_sum(exp(x - m), dims=dims, keepdim=True)) + m
    return out if keepdim else reshape(out, shape=_reduced_shape(x.shape, dims, False))


logsumexp = defop(
    "logsumexp", kind="composite", promote="float",
    infer=lambda x, dims, keepdim: _float_reduce_type("logsumexp", x, dims, keepdim),
    impl=_logsumexp_impl, decompose=_logsumexp_decompose,
    vjp=lambda ct, out, x, dims, keepdim: _keep(ct, x, dims, keepdim) * exp(
        x - _keep(out, x, dims, keepdim)),
    grad_fn="LogsumexpBackward0")


def _softmax_type(name):
    def infer(x, dim):
        if not x.dtype.is_floating_point:
            raise NotImplementedError(f'"{name}_lastdim_kernel_impl" not implemented for '
                                      f"'{x.dtype.scalar_name}'")
        _check_dims(x, (dim,))
        return TensorType(x.shape, x.dtype)
    return infer


def _shifted(x, dims):
    """x minus its max along `dims` (the stable form); empty slices have nothing to shift."""
    if not dims or _count(x, dims) == 0:
        return x - x
    return x - amax(x, dims=dims, keepdim=True)


def _np_shifted(x, dims):
    if not dims or _count(x, dims) == 0:
        return x - x
    return x - np.max(x, axis=dims, keepdims=True)


def _softmax_dims(x, dim):
    return (dim,) if x.ndim else ()


def _np_softmax(x, dim):
    e = np.exp(_np_shifted(x, _softmax_dims(x, dim)))
    return e / np.sum(e, axis=_softmax_dims(x, dim), keepdims=True)


def _np_log_softmax(x, dim):
    s = _np_shifted(x, _softmax_dims(x, dim))
    return s - np.log(np.sum(np.exp(s), axis=_softmax_dims(x, dim), keepdims=True))


def _softmax_decompose(x, dim):
    e = exp(_shifted(x, _softmax_dims(x, dim)))
    return e / reduce_sum(e, dims=_softmax_dims(x, dim), keepdim=True)


def _log_softmax_decompose(x, dim):
    s = _shifted(x, _softmax_dims(x, dim))
    return s - log(reduce_sum(exp(s), dims=_softmax_dims(x, dim), keepdim=True))


softmax = defop(
    "softmax", kind="composite", infer=_softmax_type("softmax"), impl=_np_softmax,
    decompose=_softmax_decompose,
    vjp=lambda ct, out, x, dim: out * (ct - reduce_sum(
        ct * out, dims=_softmax_dims(x, dim), keepdim=True)),
    grad_fn="SoftmaxBackward0")

log_softmax = defop(
    "log_softmax", kind="composite", infer=_softmax_type("log_softmax"), impl=_np_log_softmax,
    decompose=_log_softmax_decompose,
    vjp=lambda ct, out, x, dim: ct - exp(out) * reduce_sum(
        ct, dims=_softmax_dims(x, dim), keepdim=True),
    grad_fn="LogSoftmaxBackward0")


# ---- vector norms ---------------------------------------------------------------------------
def _norm_type(x, dims, keepdim, ord=2.0):
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {x.dtype.scalar_name}")
    _check_dims(x, dims)
    if (ord < 0 or math.isinf(ord)) and _count(x, dims) == 0:
        raise RuntimeError(f"linalg.vector_norm cannot compute the {ord:g} norm on an empty "
                           f"tensor because the operation does not have an identity")
    return TensorType(_reduced_shape(x.shape, dims, keepdim), x.dtype)


def _norm_impl(x, dims, keepdim, ord=2.0):
    a = np.abs(x)
    if ord == math.inf:
        return np.max(a, axis=dims, keepdims=keepdim) if dims else a
    if ord == -math.inf:
        return np.min(a, axis=dims, keepdims=keepdim) if dims else a
    if ord == 0:
        return np.sum(a != 0, axis=dims, keepdims=keepdim).astype(x.dtype)
    if ord == 1:
        return np.sum(a, axis=dims, keepdims=keepdim)
    if ord == 2:
        return np.sqrt(np.sum(x * x, axis=dims, keepdims=keepdim))
    return np.sum(a ** ord, axis=dims, keepdims=keepdim) ** (1.0 / ord)


def _norm_decompose(x, dims, keepdim, ord=2.0):
    if ord == math.inf:
        return amax(_abs(x), dims=dims, keepdim=keepdim)
    if ord == -math.inf:
        return amin(_abs(x), dims=dims, keepdim=keepdim)
    if ord == 0:
        return convert(reduce_sum(x != 0.0, dims=dims, keepdim=keepdim), dtype=x.dtype)
    if ord == 1:
        return reduce_sum(_abs(x), dims=dims, keepdim=keepdim)
    if ord == 2:
        return sqrt(reduce_sum(x * x, dims=dims, keepdim=keepdim))
    return reduce_sum(_abs(x) ** ord, dims=dims, keepdim=keepdim) ** (1.0 / ord)


def _norm_vjp(ct, out, x, dims, keepdim, ord=2.0):
    # PyTorch's norm_backward, case by case (the subgradient at 0 is 0).
    ct, out = _keep(ct, x, dims, keepdim), _keep(out, x, dims, keepdim)
    if ord == 0:
        return None   # PyTorch leaves the input's gradient undefined
    if ord == 1:
        return _sgn(x) * ct
    if ord == 2:
        return ct * where(out == 0.0, 0.0, x / out)
    if math.isinf(ord):
        mask = _selected(_abs(x), out)
        return _sgn(x) * where(mask, ct / reduce_sum(mask, dims=dims, keepdim=True), 0.0)
    if ord < 1:
        scaled = where(x == 0.0, 0.0, _sgn(x) * _abs(x) ** (ord - 1.0))
        return scaled * ct * out ** (1.0 - ord)
    if ord < 2:
        return where(out == 0.0, 0.0, _sgn(x) * _abs(x) ** (ord - 1.0) * ct
                     * out ** (1.0 - ord))
    return where(out == 0.0, 0.0, x * _abs(x) ** (ord - 2.0) * ct / out ** (ord - 1.0))


norm = defop("norm", kind="composite", infer=_norm_type, impl=_norm_impl,
             decompose=_norm_decompose, vjp=_norm_vjp, grad_fn="LinalgVectorNormBackward0")


# ---- any / all (not differentiable; counted with sum) ---------------------------------------
def _bool_reduce_type(x, dims, keepdim):
    _check_dims(x, dims)
    return TensorType(_reduced_shape(x.shape, dims, keepdim), bool_)


def _nonzero(x):
    return x if x.dtype is bool_ else x != 0


reduce_any = defop(
    "any", kind="composite", infer=_bool_reduce_type,
    impl=lambda x, dims, keepdim: np.any(x, axis=dims, keepdims=keepdim),
    decompose=lambda x, dims, keepdim: reduce_sum(_nonzero(x), dims=dims, keepdim=keepdim) > 0)
reduce_all = defop(
    "all", kind="composite", infer=_bool_reduce_type,
    impl=lambda x, dims, keepdim: np.all(x, axis=dims, keepdims=keepdim),
    decompose=lambda x, dims, keepdim: reduce_sum(
        _nonzero(x), dims=dims, keepdim=keepdim) == _count(x, dims))
