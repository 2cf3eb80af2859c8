"""The primitive table. Importing this package registers every op in `tracegrad.ir.op.OPS`."""
from .elementwise import (add, clone, convert, div, eq, exp, full, ge, gt, le, log, lt, mul, ne,
                          neg, pow, relu, sigmoid, sqrt, stop_gradient, sub, tanh, where,
                          zeros_like)
from .guard import guard
from .linalg import matmul
from .reduce import mean, norm, reduce_sum
from .shape import broadcast_to, reshape, sum_to, transpose

__all__ = ["add", "broadcast_to", "clone", "convert", "div", "eq", "exp", "full", "ge", "gt", "guard",
           "le", "log", "lt", "matmul", "mean", "mul", "ne", "neg", "norm", "pow", "reduce_sum",
           "relu", "reshape", "sigmoid", "sqrt", "stop_gradient", "sub", "sum_to", "tanh",
           "transpose", "where", "zeros_like"]
