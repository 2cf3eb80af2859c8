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
def mm(a, b): return a @ b
def sum(x, dim=None, keepdim=False): return x.sum(dim, keepdim)
def mean(x, dim=None, keepdim=False): return x.mean(dim, keepdim)
def norm(x, p=2, dim=None, keepdim=False): return x.norm(p, dim, keepdim)
def reshape(x, shape): return x.reshape(shape)
def transpose(x, dim0, dim1): return x.transpose(dim0, dim1)


def where(condition, input, other):
    """Elements of `input` where `condition` holds, else of `other`."""
    return ops.where(condition, input, other)
