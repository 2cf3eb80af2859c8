"""Reductions, scans and softmax: prod, max/min, amax/amin, argmax/argmin, var/std, logsumexp,
softmax/log_softmax, cumsum/cumprod, any/all and the vector norms (sum, mean and the 2-norm
are in core.py)."""
from __future__ import annotations

import math

import numpy as np

from opinfo import E, OpInfo, S, arr

INF = math.inf


def _dims(dim, ndim):
    return None if dim is None else tuple(d % max(ndim, 1) for d in np.atleast_1d(dim))


def _all_if_empty(dim):
    return None if dim == () else dim


def _prod_ref(x, dim=None, keepdim=False, dtype=None):
    out = np.prod(x, axis=dim, keepdims=keepdim)
    return out.astype(np.int64) if x.dtype.kind in "bi" else out


def _arg_ref(fn):
    def ref(x, dim=None, keepdim=False):
        if dim is None:
            out = fn(x.reshape(-1))
            return np.reshape(out, (1,) * x.ndim) if keepdim else out
        return fn(x, axis=dim, keepdims=keepdim) if x.ndim else np.array(0)
    return ref


def _max_ref(fn, arg):
    def ref(x, dim=None, keepdim=False):
        if dim is None:
            return fn(x)
        if x.ndim == 0:
            return x, np.array(0)
        return fn(x, axis=dim, keepdims=keepdim), arg(x, axis=dim, keepdims=keepdim)
    return ref


def _var_ref(x, dim=None, correction=1, keepdim=False, unbiased=None):
    if unbiased is not None:
        correction = int(unbiased)
    axis = _dims(dim, x.ndim)
    n = x.size if axis is None else math.prod(x.shape[d] for d in axis)
    d = x - np.mean(x, axis=axis, keepdims=True)
    return np.sum(d * d, axis=axis, keepdims=keepdim) / max(0, n - correction)


def _std_ref(*args, **kw):
    return np.sqrt(_var_ref(*args, **kw))


def _logsumexp_ref(x, dim, keepdim=False):
    if x.ndim == 0:
        return x
    m = np.max(x, axis=dim, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True)) + m
    return out if keepdim else np.squeeze(out, axis=dim)


def _softmax_ref(x, dim):
    if x.ndim == 0:
        return np.ones_like(x)
    e = np.exp(x - np.max(x, axis=dim, keepdims=True))
    return e / np.sum(e, axis=dim, keepdims=True)


def _log_softmax_ref(x, dim):
    return np.log(_softmax_ref(x, dim))


def _scan_ref(fn):
    def ref(x, dim):
        if x.ndim == 0:
            return x.astype(np.int64) if x.dtype.kind in "bi" else x
        out = fn(x, axis=dim)
        return out.astype(np.int64) if x.dtype.kind in "bi" else out
    return ref


def _norm_ref(x, p="fro", dim=None, keepdim=False):
    p = 2 if p == "fro" else p
    a = np.abs(x)
    axis = _dims(dim, x.ndim)
    if p == INF:
        return np.max(a, axis=axis, keepdims=keepdim)
    if p == -INF:
        return np.min(a, axis=axis, keepdims=keepdim)
    if p == 0:
        return np.sum(a != 0, axis=axis, keepdims=keepdim).astype(x.dtype)
    return np.sum(a ** p, axis=axis, keepdims=keepdim) ** (1.0 / p)


_I = dict(dtype=np.int64)

OPS = [
    OpInfo("prod", lambda m, x, **kw: x.prod(**kw), _prod_ref,
           [S(arr(3, 4, low=0.5, high=1.5)), S(arr(3, 4), dim=1),
            S(arr(2, 3, 4), dim=-2, keepdim=True), S(arr(4, 3), dim=0, noncontiguous=True),
            S(arr()), S(arr(0, 3), dim=0, label="empty"), S(arr(3, 2, **_I), label="int"),
            S(arr(3, 2, dtype=np.bool_), dim=0, label="bool")],
           errors=[E(IndexError, "Dimension out of range", arr(2, 3), dim=2)]),
    OpInfo("torch.prod", lambda m, x, *a: m.prod(x, *a), _prod_ref,
           [S(arr(3, 4), 1), S(arr(5))]),
    OpInfo("max", lambda m, x, *a, **kw: x.max(*a, **kw), _max_ref(np.max, np.argmax),
           [S(arr(3, 4)), S(arr(3, 4), 1), S(arr(2, 3, 4), -1, keepdim=True),
            S(arr(4, 5), dim=0, noncontiguous=True), S(arr()), S(arr(), 0, label="0d_dim"),
            S(arr(0, 3), 1, label="empty"), S(arr(3, 4, **_I), 1, label="int")],
           errors=[E(RuntimeError, "Expected reduction dim to be specified", arr(0, 3)),
                   E(IndexError, "Expected reduction dim 0 to have non-zero size", arr(0, 3), 0)]),
    OpInfo("min", lambda m, x, *a, **kw: m.min(x, *a, **kw), _max_ref(np.min, np.argmin),
           [S(arr(3, 4)), S(arr(3, 4), 0), S(arr(2, 3, 4), dim=1, keepdim=True)]),
    OpInfo("amax", lambda m, x, *a, **kw: x.amax(*a, **kw),
           lambda x, dim=(), keepdim=False: np.max(x, axis=_all_if_empty(dim), keepdims=keepdim),
           [S(arr(3, 4)), S(arr(2, 3, 4), (0, -1)), S(arr(3, 4), 1, keepdim=True),
            S(arr(4, 5), 0, noncontiguous=True), S(arr(0, 3), 1, label="empty_kept"),
            S(arr()), S(arr(3, 4, **_I), 0, label="int")],
           errors=[E(IndexError, "Expected reduction dim 0 to have non-zero size", arr(0, 3), 0)]),
    OpInfo("amin", lambda m, x, *a, **kw: m.amin(x, *a, **kw),
           lambda x, dim=(), keepdim=False: np.min(x, axis=_all_if_empty(dim), keepdims=keepdim),
           [S(arr(3, 4)), S(arr(2, 3, 4), (1, 2), keepdim=True)], grad_fn="AminBackward0"),
    OpInfo("argmax", lambda m, x, *a, **kw: x.argmax(*a, **kw), _arg_ref(np.argmax),
           [S(arr(3, 4)), S(arr(3, 4), 1), S(arr(2, 3, 4), -2, keepdim=True),
            S(arr(4, 5), dim=0, noncontiguous=True), S(arr(4, 5), noncontiguous=True),
            S(arr(2, 3), keepdim=True, label="flat_keep"), S(arr()), S(arr(0, 3), 1),
            S(arr(5, 6, low=0, high=3, **_I), 1, label="int_ties")],
           errors=[E(IndexError, "Expected reduction dim to be specified", arr(0, 3))],
           differentiable=False),
    OpInfo("argmin", lambda m, x, *a, **kw: m.argmin(x, *a, **kw), _arg_ref(np.argmin),
           [S(arr(3, 4)), S(arr(3, 4), 0), S(arr(5, 6, low=0, high=3, **_I), label="int_ties")],
           differentiable=False),
    OpInfo("var", lambda m, x, *a, **kw: x.var(*a, **kw), _var_ref,
           [S(arr(3, 4)), S(arr(3, 4), 1), S(arr(2, 3, 4), (0, -1), keepdim=True),
            S(arr(3, 4), 1, correction=0), S(arr(3, 4), 0, unbiased=False),
            S(arr(4, 5), 0, noncontiguous=True), S(arr(3, 4), dim=1, correction=2.5)],
           errors=[E(RuntimeError, "std and var only support floating point",
                     arr(3, **_I))],
           grad_fn="VarBackward0"),
    OpInfo("std", lambda m, x, *a, **kw: m.std(x, *a, **kw), _std_ref,
           [S(arr(3, 4)), S(arr(3, 4), -1, keepdim=True), S(arr(2, 3, 4), (1, 2), correction=0)],
           grad_fn="StdBackward0"),
    OpInfo("logsumexp", lambda m, x, *a, **kw: x.logsumexp(*a, **kw), _logsumexp_ref,
           [S(arr(3, 4), 1), S(arr(2, 3, 4), (0, 2), keepdim=True),
            S(arr(3, 4) * 40, 0, label="large"), S(arr(4, 5), -1, noncontiguous=True),
            S(arr(), 0)],
           grad_fn="LogsumexpBackward0"),
    OpInfo("softmax", lambda m, x, d: m.softmax(x, d), _softmax_ref,
           [S(arr(3, 4), 1), S(arr(2, 3, 4), 0), S(arr(3, 4) * 50, -1, label="large"),
            S(arr(4, 5), 1, noncontiguous=True), S(arr(), 0), S(arr(0, 3), 1, label="empty")],
           errors=[E(IndexError, "Dimension out of range", arr(3), 1)],
           grad_fn="SoftmaxBackward0"),
    OpInfo("log_softmax", lambda m, x, d: x.log_softmax(d), _log_softmax_ref,
           [S(arr(3, 4), 1), S(arr(2, 3, 4), -2), S(arr(3, 4) * 50, 0, label="large"),
            S(arr(4, 5), 0, noncontiguous=True)],
           grad_fn="LogSoftmaxBackward0"),
    OpInfo("F.softmax", lambda m, x, d: m.nn.functional.softmax(x, dim=d), _softmax_ref,
           [S(arr(3, 4), 1)], grad_fn="SoftmaxBackward0"),
    OpInfo("F.log_softmax", lambda m, x, d: m.nn.functional.log_softmax(x, dim=d),
           _log_softmax_ref, [S(arr(3, 4), 0)], grad_fn="LogSoftmaxBackward0"),
    OpInfo("cumsum", lambda m, x, d: x.cumsum(d), _scan_ref(np.cumsum),
           [S(arr(3, 4), 1), S(arr(2, 3, 4), 0), S(arr(4, 5), -1, noncontiguous=True),
            S(arr(), 0), S(arr(0, 3), 1, label="empty"), S(arr(3, 4, **_I), 0, label="int"),
            S(arr(5, dtype=np.bool_), 0, label="bool")],
           errors=[E(IndexError, "Dimension out of range", arr(3), 1)]),
    OpInfo("cumprod", lambda m, x, d: m.cumprod(x, d), _scan_ref(np.cumprod),
           [S(arr(3, 4, low=0.5, high=1.5), 1), S(arr(2, 3, 4), -2),
            S(arr(4, 5), 0, noncontiguous=True), S(arr(3, 4, **_I), 1, label="int")]),
    OpInfo("any", lambda m, x, *a, **kw: x.any(*a, **kw),
           lambda x, dim=None, keepdim=False: np.any(x, axis=dim, keepdims=keepdim),
           [S(arr(3, 4, dtype=np.bool_)), S(arr(3, 4, dtype=np.bool_), 1),
            S(arr(3, 4, low=0, high=2, **_I), 0, keepdim=True), S(arr(0, 3), 0)],
           differentiable=False),
    OpInfo("all", lambda m, x, *a, **kw: m.all(x, *a, **kw),
           lambda x, dim=None, keepdim=False: np.all(x, axis=dim, keepdims=keepdim),
           [S(arr(3, 4, dtype=np.bool_), 1), S(arr(6, 2) > -2), S(arr(3, 4) > -1, 0),
            S(arr(0, 3), 0)],
           differentiable=False),
    OpInfo("norm_p", lambda m, x, *a, **kw: x.norm(*a, **kw), _norm_ref,
           [S(arr(3, 4), 1, label="p1"), S(arr(3, 4), INF, 1, label="inf"),
            S(arr(3, 4), -INF, label="-inf"),
            S(arr(3, 4, positive=True), 3.5, 0, label="p3.5"),
            S(arr(3, 4, positive=True), 0.5, -1, keepdim=True, label="p0.5"),
            S(arr(3, 4), 1.5, label="p1.5"), S(arr(2, 3, 4), "fro", (0, 1), label="fro"),
            S(arr(4, 5), 1, 0, noncontiguous=True, label="p1_noncontig")],
           errors=[E(RuntimeError, "Expected a floating point", arr(3, **_I))],
           grad_fn="LinalgVectorNormBackward0"),
    # PyTorch gives no gradient for the 0 "norm" (a count): values only.
    OpInfo("norm_p0", lambda m, x, *a, **kw: x.norm(0, *a, **kw), lambda x, *a, **kw: _norm_ref(
        x, 0, *a, **kw), [S(arr(3, 4)), S(arr(3, 4), 1)], differentiable=False),
    OpInfo("torch.norm", lambda m, x, *a, **kw: m.norm(x, *a, **kw), _norm_ref,
           [S(arr(3, 4)), S(arr(3, 4), 3, 1)], grad_fn="LinalgVectorNormBackward0"),
    OpInfo("sum_dtype", lambda m, x, **kw: x.sum(dtype=m.float64, **kw),
           lambda x, dim=None: np.sum(x, axis=dim), [S(arr(3, 4)), S(arr(3, 4, **_I), dim=1)]),
]
