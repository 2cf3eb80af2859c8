"""Vectorizable transcendental functions written in LLVM IR.

glibc's scalar exp/log/tanh calls keep loops from vectorizing (4-40x slower than numpy on this
machine kind), so exp, log and tanh are emitted here as branch-free IR (Cephes' polynomials,
Cody-Waite range reduction, `llvm.fmuladd`), each an internal `alwaysinline` function that the
loop vectorizer sees through. Special values are handled explicitly: NaN propagates, overflow
gives inf, underflow gives 0 (through subnormals), log of a negative is NaN, log(0) is -inf.
No fast-math flags: the range reduction must not be reassociated.
"""
from __future__ import annotations

from llvmlite import ir

F32, F64 = ir.FloatType(), ir.DoubleType()
I32, I64, I1 = ir.IntType(32), ir.IntType(64), ir.IntType(1)


def intrinsic(module: ir.Module, name: str, ty: ir.Type, nargs: int = 1) -> ir.Function:
    """Declare an overloaded LLVM intrinsic with an explicit signature (llvmlite's own
    signature inference is wrong for some, e.g. llvm.fma)."""
    suffix = "f32" if ty == F32 else "f64"
    full = f"{name}.{suffix}"
    if full in module.globals:
        return module.globals[full]
    return ir.Function(module, ir.FunctionType(ty, [ty] * nargs), full)


def function(module: ir.Module, name: str, ty: ir.Type) -> ir.Function:
    """The IR function implementing `name` ("exp", "log", "tanh") for float type `ty`."""
    suffix = "f32" if ty == F32 else "f64"
    full = f"tg.{name}.{suffix}"
    if full in module.globals:
        return module.globals[full]
    fn = ir.Function(module, ir.FunctionType(ty, [ty]), full)
    fn.linkage = "internal"
    fn.attributes.add("alwaysinline")
    fn.attributes.add("nounwind")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    m = _Math(b, ty)
    b.ret(_BODIES[name](m, fn.args[0]))
    return fn


class _Math:
    """Float arithmetic helpers for one float type."""

    def __init__(self, b: ir.IRBuilder, ty: ir.Type):
        self.b, self.ty = b, ty
        self.f32 = ty == F32
        self.ity = I32 if self.f32 else I64
        self.mant = 23 if self.f32 else 52
        self.bias = 127 if self.f32 else 1023

    def c(self, v: float) -> ir.Constant:
        return ir.Constant(self.ty, v)

    def i(self, v: int) -> ir.Constant:
        return ir.Constant(self.ity, v)

    def fma(self, a, x, c):
        """a*x + c, fused where the hardware has FMA (llvm.fmuladd, not llvm.fma: the latter
        becomes a slow libm call without FMA)."""
        return self.b.call(intrinsic(self.b.module, "llvm.fmuladd", self.ty, 3), [a, x, c])

    def horner(self, x, coeffs):
        """coeffs[0]*x**n + ... + coeffs[n]."""
        acc = self.c(coeffs[0])
        for k in coeffs[1:]:
            acc = self.fma(acc, x, self.c(k))
        return acc

    def lt(self, a, b):
        return self.b.fcmp_ordered("<", a, b)

    def gt(self, a, b):
        return self.b.fcmp_ordered(">", a, b)

    def eq(self, a, b):
        return self.b.fcmp_ordered("==", a, b)

    def clamp(self, x, lo, hi):
        """NaN-preserving clamp (ordered compares are false for NaN)."""
        x = self.b.select(self.gt(x, self.c(hi)), self.c(hi), x)
        return self.b.select(self.lt(x, self.c(lo)), self.c(lo), x)

    def pow2(self, n):
        """2**n as a float for an integer n in the normal exponent range."""
        bits = self.b.shl(self.b.add(n, self.i(self.bias)), self.i(self.mant))
        return self.b.bitcast(bits, self.ty)

    def ldexp(self, y, n):
        """y * 2**n in two steps so n may exceed the normal range: overflow rounds to inf and
        tiny results round once into the subnormals."""
        half = self.b.ashr(n, self.i(1))
        return self.b.fmul(self.b.fmul(y, self.pow2(half)), self.pow2(self.b.sub(n, half)))

    def fabs(self, x):
        return self.b.call(intrinsic(self.b.module, "llvm.fabs", self.ty, 1), [x])

    def copysign(self, x, s):
        return self.b.call(intrinsic(self.b.module, "llvm.copysign", self.ty, 2), [x, s])


def _exp(m: _Math, x):
    b = m.b
    if m.f32:   # Cephes expf
        lo, hi, log2e = -104.0, 89.0, 1.44269504088896341
        c1, c2 = 0.693359375, -2.12194440e-4
    else:       # Cephes exp
        lo, hi, log2e = -746.0, 710.0, 1.4426950408889634073599
        c1, c2 = 6.93145751953125e-1, 1.42860682030941723212e-6
    # Outside [lo, hi] the result is already 0 or inf; clamping keeps n small (NaN passes).
    x = m.clamp(x, lo, hi)
    # n = round(x / ln 2) by the 1.5*2**mant trick: the integer lands in the low mantissa bits.
    magic = m.c(1.5 * 2.0 ** m.mant)
    t = m.fma(x, m.c(log2e), magic)
    n_f = b.fsub(t, magic)
    n = b.sub(b.bitcast(t, m.ity), b.bitcast(magic, m.ity))
    # Cody-Waite: x - n*ln2 with ln2 split so n*c1 is exact.
    if m.f32:
        r = m.fma(n_f, m.c(-c1), x)
        r = m.fma(n_f, m.c(-c2), r)
        z = b.fmul(r, r)
        p = m.horner(r, [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                         1.6666665459e-1, 5.0000001201e-1])
        y = b.fadd(m.fma(p, z, r), m.c(1.0))
    else:
        r = m.fma(n_f, m.c(-c1), x)
        r = m.fma(n_f, m.c(-c2), r)
        xx = b.fmul(r, r)
        px = b.fmul(r, m.horner(xx, [1.26177193074810590878e-4, 3.02994407707441961300e-2,
                                     9.99999999999999999910e-1]))
        q = m.horner(xx, [3.00198505138664455042e-6, 2.52448340349684104192e-3,
                          2.27265548208155028766e-1, 2.00000000000000000009e0])
        e = b.fdiv(px, b.fsub(q, px))
        y = m.fma(e, m.c(2.0), m.c(1.0))
    return m.ldexp(y, n)


def _log(m: _Math, x):
    b = m.b
    # Subnormals: scale into the normal range first.
    tiny = 2.0 ** -126 if m.f32 else 2.0 ** -1022
    up = 25 if m.f32 else 54
    sub = m.lt(x, m.c(tiny))
    xs = b.select(sub, b.fmul(x, m.c(2.0 ** up)), x)
    bits = b.bitcast(xs, m.ity)
    e = b.sub(b.lshr(bits, m.i(m.mant)), m.i(m.bias - 1))
    e = b.sub(e, b.select(sub, m.i(up), m.i(0)))
    # mantissa in [0.5, 1)
    mant_mask = (1 << m.mant) - 1
    half_bits = (m.bias - 1) << m.mant
    f = b.bitcast(b.or_(b.and_(bits, m.i(mant_mask)), m.i(half_bits)), m.ty)
    # Map to [sqrt(.5), sqrt(2)) - 1.
    small = m.lt(f, m.c(0.707106781186547524))
    e = b.sub(e, b.zext(small, m.ity))
    f = b.fsub(b.select(small, b.fadd(f, f), f), m.c(1.0))
    fe = b.sitofp(e, m.ty)
    z = b.fmul(f, f)
    if m.f32:   # Cephes logf
        p = m.horner(f, [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
                         1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
                         3.3333331174e-1])
        y = b.fmul(b.fmul(p, f), z)
    else:       # Cephes log, rational form
        p = m.horner(f, [1.01875663804580931796e-4, 4.97494994976747001425e-1,
                         4.70579119878881725854e0, 1.44989225341610930846e1,
                         1.79368678507819816313e1, 7.70838733755885391666e0])
        q = m.horner(f, [1.0, 1.12873587189167450590e1, 4.52279145837532221105e1,
                         8.29875266912776603211e1, 7.11544750618563894466e1,
                         2.31251620126765340583e1])
        y = b.fmul(f, b.fdiv(b.fmul(z, p), q))
    y = m.fma(fe, m.c(-2.12194440e-4 if m.f32 else -2.121944400546905827679e-4), y)
    y = m.fma(z, m.c(-0.5), y)
    r = b.fadd(f, y)
    r = m.fma(fe, m.c(0.693359375), r)
    # Special values: +inf, 0 (either sign), negatives, NaN.
    inf = float("inf")
    r = b.select(m.eq(x, m.c(inf)), x, r)
    r = b.select(m.eq(x, m.c(0.0)), m.c(-inf), r)
    r = b.select(m.lt(x, m.c(0.0)), m.c(float("nan")), r)
    return b.select(b.fcmp_unordered("uno", x, x), x, r)


def _tanh(m: _Math, x):
    b = m.b
    ax = m.fabs(x)
    z = b.fmul(x, x)
    # |x| < 0.625: odd polynomial (relative accuracy near 0, keeps -0.0).
    if m.f32:   # Cephes tanhf
        p = m.horner(z, [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2,
                         1.33314422036e-1, -3.33332819422e-1])
    else:       # Cephes tanh
        num = m.horner(z, [-9.64399179425052238628e-1, -9.92877231001918586564e1,
                           -1.61468768441708447952e3])
        den = m.horner(z, [1.0, 1.12811678491632931402e2, 2.23548839060100448583e3,
                           4.84406305325125486048e3])
        p = b.fdiv(num, den)
    small = m.fma(b.fmul(p, z), x, x)
    # Otherwise 1 - 2/(exp(2|x|) + 1): exp overflow gives exactly 1; NaN propagates.
    e = function(b.module, "exp", m.ty)
    big = b.fsub(m.c(1.0), b.fdiv(m.c(2.0), b.fadd(b.call(e, [b.fadd(ax, ax)]), m.c(1.0))))
    # Both branches are computed without the sign and take x's (so tanh(-0.0) is -0.0).
    return m.copysign(b.select(m.lt(ax, m.c(0.625)), small, big), x)


_BODIES = {"exp": _exp, "log": _log, "tanh": _tanh}
