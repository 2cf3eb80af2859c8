"""tracegrad's IR: types, functions, the op table, interpreter and transforms.

Imports nothing from the rest of the package.
"""
from . import ops
from .builder import Builder, Sym
from .function import Eqn, Function, Literal, Var
from .interpreter import evaluate, run_op
from .op import OPS, Op, Value, bind, defop
from .parse import ParseError, parse_function, parse_type
from .simplify import simplify
from .types import DType, TensorType, bool_, float32, float64, int64
from .vjp import Adjoint, vjp

__all__ = ["OPS", "Adjoint", "Builder", "DType", "Eqn", "Function", "Literal", "Op",
           "ParseError", "Sym", "parse_function", "parse_type",
           "TensorType", "Value", "Var", "bind", "bool_", "defop", "evaluate", "float32",
           "float64", "int64", "ops", "run_op", "simplify", "vjp"]
