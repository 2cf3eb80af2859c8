"""tracegrad: PyTorch-style eager tensors whose history compiles to machine code.

    import tracegrad as torch
    x = torch.ones(2, 2, requires_grad=True)
    out = (3 * (x + 2) ** 2).mean()
    out.backward()              # x.grad == 4.5 everywhere

    @tracegrad.compile          # traced once per input signature, JIT-compiled via LLVM
    def f(x): return (3 * (x + 2) ** 2).mean()
"""
from . import config
from .compile import CompiledFunction, compile
from .creation import (arange, full, manual_seed, ones, ones_like, rand, randn, zeros,
                       zeros_like)
from .functional import (add, div, eq, exp, ge, gt, le, log, lt, matmul, mean, mm, mul, ne,
                         neg, norm, pow, relu, reshape, sigmoid, sqrt, sub, sum, tanh,
                         transpose, where)
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

__all__ = ["CompiledFunction", "Size", "Tensor", "compile", "config", "add", "arange", "bool", "div", "double", "dtype", "enable_grad",
           "eq", "exp", "float", "float32", "float64", "full", "ge", "gt", "int64",
           "is_grad_enabled", "le", "log", "long", "lt", "manual_seed", "matmul", "mean", "mm",
           "mul", "ne", "neg", "no_grad", "norm", "ones", "ones_like", "pow", "rand", "randn",
           "relu", "reshape", "set_grad_enabled", "set_printoptions", "sigmoid", "sqrt", "sub",
           "sum", "tanh", "tensor", "transpose", "where", "zeros", "zeros_like"]
