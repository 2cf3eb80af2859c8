"""Function forms of the tensor methods (`tracegrad.exp(x)`, `tracegrad.matmul(a, b)`, ...)."""
from __future__ import annotations

from .ir import ops


def add(a, b): return ops.add(a, b)
def sub(a, b): return ops.sub(a, b)
def mul(a, b): return ops.mul(a, b)
def div(a, b): return ops.div(a, b)
def pow(a, b): return ops.pow(a, b)
def eq(a, b): return ops.eq(a, b)
def ne(a, b): return ops.ne(a, b)
def lt(a, b): return ops.lt(a, b)
def le(a, b): return ops.le(a, b)
def gt(a, b): return ops.gt(a, b)
def ge(a, b): return ops.ge(a, b)
def neg(x): return x.neg()
def exp(x): return x.exp()
def log(x): return x.log()
def sqrt(x): return x.sqrt()
def relu(x): return x.relu()
def tanh(x): return x.tanh()
def sigmoid(x): return x.sigmoid()
def matmul(a, b): return a @ b
def mm(a, b): return a.mm(b)
def sum(x, dim=None, keepdim=False, *, dtype=None): return x.sum(dim, keepdim, dtype=dtype)
def mean(x, dim=None, keepdim=False, *, dtype=None): return x.mean(dim, keepdim, dtype=dtype)
def norm(x, p="fro", dim=None, keepdim=False, dtype=None): return x.norm(p, dim, keepdim, dtype)
def reshape(x, shape): return x.reshape(shape)
def transpose(x, dim0, dim1): return x.transpose(dim0, dim1)


def where(condition, input, other):
    """Elements of `input` where `condition` holds, else of `other`."""
    return ops.where(condition, input, other)


# ---- reductions, scans, softmax ----
def prod(x, dim=None, keepdim=False, *, dtype=None): return x.prod(dim, keepdim, dtype=dtype)
def max(x, dim=None, keepdim=False): return x.max(dim, keepdim)
def min(x, dim=None, keepdim=False): return x.min(dim, keepdim)
def amax(x, dim=(), keepdim=False): return x.amax(dim, keepdim)
def amin(x, dim=(), keepdim=False): return x.amin(dim, keepdim)
def argmax(x, dim=None, keepdim=False): return x.argmax(dim, keepdim)
def argmin(x, dim=None, keepdim=False): return x.argmin(dim, keepdim)
def logsumexp(x, dim, keepdim=False): return x.logsumexp(dim, keepdim)
def softmax(x, dim, dtype=None): return x.softmax(dim, dtype)
def log_softmax(x, dim, dtype=None): return x.log_softmax(dim, dtype)
def cumsum(x, dim, *, dtype=None): return x.cumsum(dim, dtype=dtype)
def cumprod(x, dim, *, dtype=None): return x.cumprod(dim, dtype=dtype)
def any(x, dim=None, keepdim=False): return x.any(dim, keepdim)
def all(x, dim=None, keepdim=False): return x.all(dim, keepdim)


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over `dim` with `correction` (Bessel's by default), as torch.var."""
    return x.var(dim, unbiased, keepdim, correction=correction)


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation over `dim` with `correction`, as torch.std."""
    return x.std(dim, unbiased, keepdim, correction=correction)


# ---- linear algebra ----------------------------------------------------------------------------
from .einsum import einsum


def bmm(input, mat2):
    """Batched matrix product of (b, n, m) and (b, m, p) tensors."""
    return input.bmm(mat2)


def dot(input, tensor):
    """Inner product of two 1-D tensors."""
    return input.dot(tensor)


def outer(input, vec2):
    """Outer product of two 1-D tensors."""
    return input.outer(vec2)


ger = outer


# ---- elementwise math, activations, binary elementwise ----------------------------------------
def abs(x): return x.abs()
def sign(x): return x.sign()
def rsqrt(x): return x.rsqrt()
def square(x): return x.square()
def reciprocal(x): return x.reciprocal()
def sin(x): return x.sin()
def cos(x): return x.cos()
def tan(x): return x.tan()
def asin(x): return x.asin()
def acos(x): return x.acos()
def atan(x): return x.atan()
def sinh(x): return x.sinh()
def cosh(x): return x.cosh()
def log2(x): return x.log2()
def log10(x): return x.log10()
def log1p(x): return x.log1p()
def exp2(x): return x.exp2()
def expm1(x): return x.expm1()
def erf(x): return x.erf()
def erfc(x): return x.erfc()
def floor(x): return x.floor()
def ceil(x): return x.ceil()
def round(x, *, decimals=0): return x.round(decimals=decimals)
def trunc(x): return x.trunc()
def clamp(x, min=None, max=None): return x.clamp(min, max)
def clip(x, min=None, max=None): return x.clamp(min, max)
def nan_to_num(x, nan=0.0, posinf=None, neginf=None): return x.nan_to_num(nan, posinf, neginf)
def isnan(x): return x.isnan()
def isinf(x): return x.isinf()
def isfinite(x): return x.isfinite()
def logical_not(x): return x.logical_not()
def logical_and(x, other): return x.logical_and(other)
def logical_or(x, other): return x.logical_or(other)
def logical_xor(x, other): return x.logical_xor(other)
def maximum(x, other): return x.maximum(other)
def minimum(x, other): return x.minimum(other)
def remainder(x, other): return x.remainder(other)
def fmod(x, other): return x.fmod(other)
def atan2(x, other): return x.atan2(other)
def lerp(x, end, weight): return x.lerp(end, weight)


def isclose(x, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise |x - other| <= atol + rtol * |other| (bool tensor)."""
    return x.isclose(other, rtol, atol, equal_nan)


def allclose(x, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether every element of x is close to other's (a Python bool)."""
    return x.allclose(other, rtol, atol, equal_nan)


def selu(x): return ops.elu(x, **_SELU)


# SELU's fixed point constants (Klambauer et al. 2017), as PyTorch spells them.
_SELU = dict(alpha=1.6732632423543772848170429916717, scale=1.0507009873554804934193349852946,
             input_scale=1.0)


# ---- shape and indexing ----
from .shaping import (broadcast_to, cat, chunk, diagonal, flatten, gather,  # noqa: E402,F401
                      index_select, masked_fill, roll, scatter, scatter_add, split, squeeze,
                      stack, tile, tril, triu, unflatten, unsqueeze)


def concat(tensors, dim=0): return cat(tensors, dim)
def permute(x, dims): return x.permute(*dims)
def flip(x, dims): return x.flip(*dims)
