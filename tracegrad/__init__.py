"""tracegrad: PyTorch-style eager tensors whose history compiles to machine code.

    import tracegrad as torch
    x = torch.ones(2, 2, requires_grad=True)
    out = (3 * (x + 2) ** 2).mean()
    out.backward()              # x.grad == 4.5 everywhere

    @tracegrad.compile          # traced once per input signature, JIT-compiled via LLVM
    def f(x): return (3 * (x + 2) ** 2).mean()
"""
from . import autograd, config, func, optim
from .compile import CompiledFunction, compile
from .creation import (arange, empty, empty_like, eye, from_numpy, full, full_like, linspace,
                       manual_seed, ones, ones_like, rand, rand_like, randint, randn, randn_like,
                       zeros, zeros_like)
from .functional import (add, div, eq, exp, ge, gt, le, log, lt, matmul, mean, mm, mul, ne,
                         neg, norm, pow, relu, reshape, sigmoid, sqrt, sub, sum, tanh,
                         transpose, where)
# ---- reductions, scans, softmax ----
from .functional import (all, amax, amin, any, argmax, argmin, cumprod, cumsum, log_softmax,
                         logsumexp, max, min, prod, softmax, std, var)
from . import return_types
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .ir.types import bool_ as bool
from .ir.types import DType as dtype
from .ir.types import float32, float64, int64
from .printing import set_printoptions
from .size import Size
from .tensor import Tensor, tensor

float = float32
double = float64
long = int64
__version__ = "0.1.0"

__all__ = ["CompiledFunction", "Size", "Tensor", "compile", "config", "func", "optim", "empty", "empty_like", "eye", "from_numpy", "full_like", "linspace", "rand_like", "randint", "randn_like", "autograd", "add", "arange", "bool", "div", "double", "dtype", "enable_grad",
           "eq", "exp", "float", "float32", "float64", "full", "ge", "gt", "int64",
           "is_grad_enabled", "le", "log", "long", "lt", "manual_seed", "matmul", "mean", "mm",
           "mul", "ne", "neg", "no_grad", "norm", "ones", "ones_like", "pow", "rand", "randn",
           "relu", "reshape", "set_grad_enabled", "set_printoptions", "sigmoid", "sqrt", "sub",
           "sum", "tanh", "tensor", "transpose", "where", "zeros", "zeros_like"]
__all__ += ["all", "amax", "amin", "any", "argmax", "argmin", "cumprod", "cumsum", "log_softmax",
            "logsumexp", "max", "min", "prod", "return_types", "softmax", "std", "var"]
# ---- linear algebra ----
from .functional import bmm, dot, einsum, ger, outer  # noqa: E402
__all__ += ["bmm", "dot", "einsum", "ger", "outer"]
# ---- elementwise math, activations, binary elementwise ----
from .functional import (abs, acos, allclose, asin, atan, atan2, ceil, clamp, clip,  # noqa: E402
                         cos, cosh, erf, erfc, exp2, expm1, floor, fmod, isclose, isfinite, isinf,
                         isnan, lerp, log1p, log2, log10, logical_and, logical_not, logical_or,
                         logical_xor, maximum, minimum, nan_to_num, reciprocal, remainder, round,
                         rsqrt, selu, sign, sin, sinh, square, tan, trunc)
from . import nn  # noqa: E402
__all__ += ["abs", "acos", "allclose", "asin", "atan", "atan2", "ceil", "clamp", "clip", "cos",
            "cosh", "erf", "erfc", "exp2", "expm1", "floor", "fmod", "isclose", "isfinite", "isinf",
            "isnan", "lerp", "log1p", "log2", "log10", "logical_and", "logical_not", "logical_or",
            "logical_xor", "maximum", "minimum", "nan_to_num", "nn", "reciprocal", "remainder",
            "round", "rsqrt", "selu", "sign", "sin", "sinh", "square", "tan", "trunc"]
# ---- shape and indexing ----
from .functional import (broadcast_to, cat, chunk, concat, diagonal, flatten, flip,  # noqa: E402
                         gather, index_select, masked_fill, permute, roll, scatter, scatter_add,
                         split, squeeze, stack, tile, tril, triu, unflatten, unsqueeze)
__all__ += ["broadcast_to", "cat", "chunk", "concat", "diagonal", "flatten", "flip", "gather",
            "index_select", "masked_fill", "permute", "roll", "scatter", "scatter_add", "split",
            "squeeze", "stack", "tile", "tril", "triu", "unflatten", "unsqueeze"]
