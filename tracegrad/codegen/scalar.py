"""Scalar lowering: the emitter object that elementwise ops' `lower` rules call.

A rule like `lambda e, x, y: e.add(x, y)` receives `Scalar`s (an LLVM value plus its tracegrad
dtype) and returns one. Semantics follow numpy: integer arithmetic wraps, float compares are
ordered except `ne`, conversions of NaN/out-of-range floats to int64 give INT64_MIN (what numpy
gets from x86's cvttsd2si) instead of LLVM poison. No fast-math flags anywhere.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir

from ..ir import DType, bool_, float32, float64, int64
from . import mathlib
from .errors import UnsupportedError

I1, I8, I32, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
F32, F64 = ir.FloatType(), ir.DoubleType()


def llvm_type(dtype: DType) -> ir.Type:
    """Register type (bool is i1)."""
    return {"float32": F32, "float64": F64, "int64": I64, "bool": I1}[dtype.name]


def memory_type(dtype: DType) -> ir.Type:
    """In-memory element type (numpy's bool is one byte)."""
    return I8 if dtype is bool_ else llvm_type(dtype)


class Scalar:
    """A value in a register; `const` is the Python value when it is a compile-time constant."""

    __slots__ = ("value", "dtype", "const")

    def __init__(self, value: ir.Value, dtype: DType, const=None):
        self.value, self.dtype, self.const = value, dtype, const

    def __repr__(self):
        return f"Scalar({self.dtype.short}, {self.const if self.const is not None else '...'})"


_FCMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_INT64_MIN = -(1 << 63)


class ScalarEmitter:
    """Implements the methods `Op.lower` rules call, emitting at `builder`'s position."""

    def __init__(self, builder: ir.IRBuilder, op_name: str = "?"):
        self.b = builder
        self.op_name = op_name   # for error messages: the op being lowered

    def __getattr__(self, name):
        # Only reached for methods this emitter lacks: a lowering rule newer than codegen.
        if name.startswith("__"):
            raise AttributeError(name)
        raise UnsupportedError(self.op_name, f"its lowering calls emitter.{name}(), which "
                                             "codegen does not implement")

    @property
    def module(self) -> ir.Module:
        return self.b.module

    def _intrinsic(self, name: str, ty: ir.Type, nargs: int = 1) -> ir.Function:
        return mathlib.intrinsic(self.module, name, ty, nargs)

    # -- constants and structure --------------------------------------------------------------
    def const(self, value, dtype: DType) -> Scalar:
        # Convert as numpy would (e.g. full(2.5, int64) -> 2, 0.1 as float32 rounds).
        v = np.array(value).astype(dtype.np).item()
        ty = llvm_type(dtype)
        if dtype.is_floating_point:
            return Scalar(ir.Constant(ty, float(v)), dtype, float(v))
        return Scalar(ir.Constant(ty, int(v)), dtype, int(v))

    def select(self, c: Scalar, a: Scalar, b: Scalar) -> Scalar:
        self._same(a, b, "select")
        return Scalar(self.b.select(c.value, a.value, b.value), b.dtype)

    def _same(self, a: Scalar, b: Scalar, what: str):
        if a.dtype is not b.dtype:
            raise UnsupportedError(self.op_name, f"{what} of {a.dtype.name} and {b.dtype.name}")

    def _kind(self, x: Scalar) -> str:
        return "float" if x.dtype.is_floating_point else "bool" if x.dtype is bool_ else "int"

    # -- arithmetic ---------------------------------------------------------------------------
    def add(self, x: Scalar, y: Scalar) -> Scalar:
        self._same(x, y, "add")
        k = self._kind(x)
        if k == "float":
            return Scalar(self.b.fadd(x.value, y.value), x.dtype)
        if k == "bool":   # numpy: logical or
            return Scalar(self.b.or_(x.value, y.value), x.dtype)
        return Scalar(self.b.add(x.value, y.value), x.dtype)   # wraps, like numpy

    def sub(self, x: Scalar, y: Scalar) -> Scalar:
        self._same(x, y, "sub")
        k = self._kind(x)
        if k == "float":
            return Scalar(self.b.fsub(x.value, y.value), x.dtype)
        if k == "bool":
            raise UnsupportedError(self.op_name, "numpy does not subtract booleans")
        return Scalar(self.b.sub(x.value, y.value), x.dtype)

    def mul(self, x: Scalar, y: Scalar) -> Scalar:
        self._same(x, y, "mul")
        k = self._kind(x)
        if k == "float":
            return Scalar(self.b.fmul(x.value, y.value), x.dtype)
        if k == "bool":   # numpy: logical and
            return Scalar(self.b.and_(x.value, y.value), x.dtype)
        return Scalar(self.b.mul(x.value, y.value), x.dtype)

    def div(self, x: Scalar, y: Scalar) -> Scalar:
        self._same(x, y, "div")
        if not x.dtype.is_floating_point:
            raise UnsupportedError(self.op_name, f"division of {x.dtype.name} (promote to float)")
        return Scalar(self.b.fdiv(x.value, y.value), x.dtype)

    def neg(self, x: Scalar) -> Scalar:
        k = self._kind(x)
        if k == "float":
            return Scalar(self.b.fneg(x.value), x.dtype)
        if k == "bool":
            raise UnsupportedError(self.op_name, "numpy does not negate booleans")
        return Scalar(self.b.sub(ir.Constant(I64, 0), x.value), x.dtype)

    # -- transcendental -----------------------------------------------------------------------
    def _float_unary(self, name: str, x: Scalar) -> Scalar:
        if not x.dtype.is_floating_point:
            raise UnsupportedError(self.op_name, f"{name} of {x.dtype.name}")
        fn = mathlib.function(self.module, name, llvm_type(x.dtype))
        return Scalar(self.b.call(fn, [x.value]), x.dtype)

    def exp(self, x: Scalar) -> Scalar:
        return self._float_unary("exp", x)

    def log(self, x: Scalar) -> Scalar:
        return self._float_unary("log", x)

    def tanh(self, x: Scalar) -> Scalar:
        return self._float_unary("tanh", x)

    def sqrt(self, x: Scalar) -> Scalar:
        if not x.dtype.is_floating_point:
            raise UnsupportedError(self.op_name, f"sqrt of {x.dtype.name}")
        return Scalar(self.b.call(self._intrinsic("llvm.sqrt", llvm_type(x.dtype)), [x.value]),
                      x.dtype)

    def pow(self, x: Scalar, y: Scalar) -> Scalar:
        self._same(x, y, "pow")
        k = self._kind(x)
        if k == "bool":   # numpy computes in int8: x**y is 1 unless x is 0 and y is 1
            return Scalar(self.b.or_(x.value, self.b.not_(y.value)), x.dtype)
        if k == "int":
            return self._ipow(x, y)
        c = y.const
        one = self.const(1, x.dtype)
        if c is not None:
            # Exact or within an ulp of libm's pow; special values as numpy's.
            if c == 0:
                return one                       # pow(nan, 0) == 1
            if c == 1:
                return x
            if c == 2:
                return self.mul(x, x)
            if c == 3:
                return self.mul(self.mul(x, x), x)
            if c == 4:
                sq = self.mul(x, x)
                return self.mul(sq, sq)
            if c == -1:
                return self.div(one, x)
            if c == 0.5:
                # numpy's power takes this fast path too: sqrt(-0.0) is -0.0, sqrt(-inf) nan.
                return self.sqrt(x)
        fn = self._intrinsic("llvm.pow", llvm_type(x.dtype), 2)
        return Scalar(self.b.call(fn, [x.value, y.value]), x.dtype)

    def _ipow(self, x: Scalar, y: Scalar) -> Scalar:
        """Integer power by squaring; wraps modulo 2**64 like numpy."""
        if y.const is not None and y.const >= 0:
            result, base, e = None, x, y.const
            while e:
                if e & 1:
                    result = base if result is None else self.mul(result, base)
                e >>= 1
                if e:
                    base = self.mul(base, base)
            return result if result is not None else self.const(1, x.dtype)
        # Runtime exponent: a small loop (ints don't vectorize here anyway).
        b = self.b
        fn = b.function
        pre = b.block
        head = fn.append_basic_block("ipow.head")
        body = fn.append_basic_block("ipow.body")
        done = fn.append_basic_block("ipow.done")
        b.branch(head)
        b.position_at_end(head)
        r = b.phi(I64)
        base = b.phi(I64)
        e = b.phi(I64)
        r.add_incoming(ir.Constant(I64, 1), pre)
        base.add_incoming(x.value, pre)
        e.add_incoming(y.value, pre)
        b.cbranch(b.icmp_signed(">", e, ir.Constant(I64, 0)), body, done)
        b.position_at_end(body)
        odd = b.trunc(e, I1)
        r2 = b.select(odd, b.mul(r, base), r)
        base2 = b.mul(base, base)
        e2 = b.lshr(e, ir.Constant(I64, 1))
        r.add_incoming(r2, body)
        base.add_incoming(base2, body)
        e.add_incoming(e2, body)
        b.branch(head)
        b.position_at_end(done)
        # numpy raises for negative exponents; give PyTorch's answer (1/x**|y| truncated).
        neg = b.icmp_signed("<", y.value, ir.Constant(I64, 0))
        is_one = b.icmp_signed("==", x.value, ir.Constant(I64, 1))
        is_mone = b.icmp_signed("==", x.value, ir.Constant(I64, -1))
        odd_y = b.trunc(y.value, I1)
        mone = b.select(odd_y, ir.Constant(I64, -1), ir.Constant(I64, 1))
        negval = b.select(is_one, ir.Constant(I64, 1),
                          b.select(is_mone, mone, ir.Constant(I64, 0)))
        return Scalar(b.select(neg, negval, r), x.dtype)

    # -- elementwise math: rounding, sign, libm functions ---------------------------------------
    def _intrinsic_call(self, name: str, *args: Scalar) -> Scalar:
        ty = llvm_type(args[0].dtype)
        return Scalar(self.b.call(self._intrinsic(name, ty, len(args)), [a.value for a in args]),
                      args[0].dtype)

    def _float_intrinsic(self, name: str, x: Scalar) -> Scalar:
        if not x.dtype.is_floating_point:
            raise UnsupportedError(self.op_name, f"{name} of {x.dtype.name}")
        return self._intrinsic_call(f"llvm.{name}", x)

    # Vectorizable (mathlib) for both float types.
    def asin(self, x): return self._float_unary("asin", x)
    def acos(self, x): return self._float_unary("acos", x)
    def atan(self, x): return self._float_unary("atan", x)
    def sin(self, x): return self._float_unary("sin", x)
    def cos(self, x): return self._float_unary("cos", x)
    def tan(self, x): return self._float_unary("tan", x)
    def sinh(self, x): return self._float_unary("sinh", x)
    def cosh(self, x): return self._float_unary("cosh", x)
    def exp2(self, x): return self._float_unary("exp2", x)
    def log2(self, x): return self._float_unary("log2", x)
    def log10(self, x): return self._float_unary("log10", x)
    def erf(self, x): return self._float_unary("erf", x)
    def erfc(self, x): return self._float_unary("erfc", x)
    def log1p(self, x): return self._float_unary("log1p", x)
    def expm1(self, x): return self._float_unary("expm1", x)

    def _float_binary(self, name: str, y: Scalar, x: Scalar) -> Scalar:
        fn = mathlib.binary(self.module, name, llvm_type(y.dtype))
        return Scalar(self.b.call(fn, [y.value, x.value]), y.dtype)

    def atan2(self, y: Scalar, x: Scalar) -> Scalar:
        self._same(y, x, "atan2")
        if not y.dtype.is_floating_point:
            raise UnsupportedError(self.op_name, f"atan2 of {y.dtype.name}")
        return self._float_binary("atan2", y, x)

    # Rounding is the identity on integers (as in PyTorch); `round` is half-to-even.
    def floor(self, x): return self._float_intrinsic("floor", x) if self._kind(x) == "float" else x
    def ceil(self, x): return self._float_intrinsic("ceil", x) if self._kind(x) == "float" else x
    def trunc(self, x): return self._float_intrinsic("trunc", x) if self._kind(x) == "float" else x
    def round(self, x):
        return self._float_intrinsic("roundeven", x) if self._kind(x) == "float" else x

    def abs(self, x: Scalar) -> Scalar:
        k = self._kind(x)
        if k == "float":
            return self._intrinsic_call("llvm.fabs", x)
        if k == "bool":
            return x
        return Scalar(self.b.select(self.b.icmp_signed("<", x.value, ir.Constant(I64, 0)),
                                    self.b.sub(ir.Constant(I64, 0), x.value), x.value), x.dtype)

    def sign(self, x: Scalar) -> Scalar:
        """(x > 0) - (x < 0): 0 for NaN and for either zero, as PyTorch."""
        if x.dtype is bool_:
            return x
        zero = self.const(0, x.dtype)
        pos = self.convert(self.compare("gt", x, zero), x.dtype)
        neg = self.convert(self.compare("lt", x, zero), x.dtype)
        return self.sub(pos, neg)

    def isnan(self, x: Scalar) -> Scalar:
        if not x.dtype.is_floating_point:
            return Scalar(ir.Constant(I1, 0), bool_, 0)
        return Scalar(self.b.fcmp_unordered("uno", x.value, x.value), bool_)

    def maximum(self, x: Scalar, y: Scalar) -> Scalar:
        """NaN-propagating for floats (llvm.maximum), as torch.maximum."""
        return self._minmax(x, y, "maximum", ">")

    def minimum(self, x: Scalar, y: Scalar) -> Scalar:
        return self._minmax(x, y, "minimum", "<")

    def _minmax(self, x: Scalar, y: Scalar, name: str, pred: str) -> Scalar:
        self._same(x, y, name)
        k = self._kind(x)
        if k == "float":
            return self._intrinsic_call(f"llvm.{name}", x, y)
        cmp = (self.b.icmp_signed if k == "int" else self.b.icmp_unsigned)(pred, x.value, y.value)
        return Scalar(self.b.select(cmp, x.value, y.value), x.dtype)

    def fmod(self, x: Scalar, y: Scalar) -> Scalar:
        """C's fmod (result has x's sign); integer division by zero gives 0 (the eager
        reference raises, as PyTorch; compiled code cannot)."""
        self._same(x, y, "fmod")
        k = self._kind(x)
        if k == "float":
            return self._float_binary("fmod", x, y)
        if k == "bool":
            raise UnsupportedError(self.op_name, "fmod of bool")
        zero = ir.Constant(I64, 0)
        bad = self.b.icmp_signed("==", y.value, zero)
        # INT64_MIN % -1 overflows in LLVM (UB); its remainder is 0 like any % -1.
        bad = self.b.or_(bad, self.b.icmp_signed("==", y.value, ir.Constant(I64, -1)))
        safe = self.b.select(bad, ir.Constant(I64, 1), y.value)
        return Scalar(self.b.srem(x.value, safe), x.dtype)

    def remainder(self, x: Scalar, y: Scalar) -> Scalar:
        """Python's modulo (result has y's sign): fmod, plus y where the signs differ."""
        r = self.fmod(x, y)
        zero = self.const(0, x.dtype)
        nonzero = self.compare("ne", r, zero) if self._kind(x) == "int" else \
            Scalar(self.b.fcmp_ordered("!=", r.value, zero.value), bool_)
        differ = self.b.xor(self.compare("lt", r, zero).value, self.compare("lt", y, zero).value)
        fix = self.b.and_(nonzero.value, differ)
        return self.select(Scalar(fix, bool_), self.add(r, y), r)

    # -- compare and convert ------------------------------------------------------------------
    def compare(self, pred: str, a: Scalar, b: Scalar) -> Scalar:
        self._same(a, b, pred)
        k = self._kind(a)
        op = _FCMP[pred]
        if k == "float":
            v = (self.b.fcmp_unordered(op, a.value, b.value) if pred == "ne"
                 else self.b.fcmp_ordered(op, a.value, b.value))
        elif k == "int":
            v = self.b.icmp_signed(op, a.value, b.value)
        else:
            v = self.b.icmp_unsigned(op, a.value, b.value)
        return Scalar(v, bool_)

    def convert(self, x: Scalar, dtype: DType) -> Scalar:
        src, b = x.dtype, self.b
        if src is dtype:
            return x
        ty = llvm_type(dtype)
        if dtype is bool_:
            if src.is_floating_point:   # nan -> True, as numpy's astype(bool)
                return Scalar(b.fcmp_unordered("!=", x.value, ir.Constant(llvm_type(src), 0.0)),
                              dtype)
            return Scalar(b.icmp_signed("!=", x.value, ir.Constant(llvm_type(src), 0)), dtype)
        if src is bool_:
            if dtype.is_floating_point:
                return Scalar(b.uitofp(x.value, ty), dtype)
            return Scalar(b.zext(x.value, ty), dtype)
        if src is int64:
            return Scalar(b.sitofp(x.value, ty), dtype)
        # float source
        if dtype is int64:
            # fptosi of nan / out-of-range values is poison in LLVM: convert a safe value and
            # select INT64_MIN for those, which is what numpy gives on x86.
            sty = llvm_type(src)
            ok = b.and_(b.fcmp_ordered(">=", x.value, ir.Constant(sty, -2.0 ** 63)),
                        b.fcmp_ordered("<", x.value, ir.Constant(sty, 2.0 ** 63)))
            safe = b.select(ok, x.value, ir.Constant(sty, 0.0))
            return Scalar(b.select(ok, b.fptosi(safe, I64), ir.Constant(I64, _INT64_MIN)),
                          dtype)
        if src is float32 and dtype is float64:
            return Scalar(b.fpext(x.value, ty), dtype)
        if src is float64 and dtype is float32:
            return Scalar(b.fptrunc(x.value, ty), dtype)
        raise UnsupportedError(self.op_name, f"conversion {src.name} -> {dtype.name}")
