"""The primitive table. Importing this package registers every op in `tracegrad.ir.op.OPS`."""
from .elementwise import (add, clone, convert, div, eq, exp, full, ge, gt, le, log, lt, mul, ne,
                          neg, pow, relu, sigmoid, sqrt, stop_gradient, sub, tanh, where,
                          zeros_like)
from .guard import guard
from .linalg import bmm, matmul
from .reduce import mean, norm, reduce_sum
# ---- reductions, scans, softmax ----
from .reduce import (amax, amin, argmax, argmin, iota, log_softmax, logsumexp, max_all, max_dim,
                     min_all, min_dim, prod, reduce_all, reduce_any, softmax, std, var)
from .scan import cumprod, cumsum
from .shape import broadcast_to, reshape, sum_to, transpose
# ---- shape and indexing ----
from .shape import (cat, constant_pad, diagonal, flip, reflect_pad, repeat, replicate_pad, roll,
                    select, slice_, split, stack, tril, triu)
from .index import gather, index, index_select, masked_fill, one_hot, scatter
# ---- elementwise math, activations, binary elementwise ----
from .unary import (abs, acos, asin, atan, ceil, cos, cosh, erf, erfc, exp2, expm1, floor, log1p,
                    log2, log10, nan_to_num, reciprocal, round, rsqrt, sign, sin, sinh, tan,
                    trunc)
from .binary import (atan2, clamp, clamp_max, clamp_min, fmod, lerp, maximum, minimum,
                     remainder)
from .activation import (elu, gelu, hardsigmoid, hardswish, hardtanh, leaky_relu, logsigmoid, mish,
                         silu, softplus)

__all__ = ["add", "broadcast_to", "clone", "convert", "div", "eq", "exp", "full", "ge", "gt", "guard",
           "le", "log", "lt", "matmul", "bmm", "mean", "mul", "ne", "neg", "norm", "pow", "reduce_sum",
           "relu", "reshape", "sigmoid", "sqrt", "stop_gradient", "sub", "sum_to", "tanh",
           "transpose", "where", "zeros_like"]
__all__ += ["amax", "amin", "argmax", "argmin", "cumprod", "cumsum", "iota", "log_softmax",
            "logsumexp", "max_all", "max_dim", "min_all", "min_dim", "prod", "reduce_all", "reduce_any", "softmax",
            "std", "var"]
__all__ += ["abs", "acos", "asin", "atan", "atan2", "ceil", "clamp", "clamp_max", "clamp_min",
            "cos", "cosh", "elu", "erf", "erfc", "exp2", "expm1", "floor", "fmod", "gelu", "hardsigmoid", "hardswish",
            "hardtanh", "leaky_relu", "lerp", "log10", "log1p", "log2", "logsigmoid", "maximum",
            "minimum", "mish", "nan_to_num", "reciprocal", "remainder", "round", "rsqrt", "sign",
            "silu", "sin", "sinh", "softplus", "tan", "trunc"]
__all__ += ["cat", "constant_pad", "diagonal", "flip", "gather", "index", "index_select",
            "masked_fill", "one_hot", "reflect_pad", "repeat", "replicate_pad", "roll", "scatter",
            "select", "slice_", "split", "stack", "tril", "triu"]
