"""Vectorizable transcendental functions written in LLVM IR (exp, log, tanh, log1p, expm1; for
float32 also sin/cos/tan, asin/acos/atan/atan2, erf/erfc, sinh/cosh, exp2/log2/log10, evaluated
in float64 and rounded once).

glibc's scalar exp/log/tanh calls keep loops from vectorizing (4-40x slower than numpy on this
machine kind), so exp, log and tanh are emitted here as branch-free IR (Cephes' polynomials,
Cody-Waite range reduction, `llvm.fmuladd`), each an internal `alwaysinline` function that the
loop vectorizer sees through. Special values are handled explicitly: NaN propagates, overflow
gives inf, underflow gives 0 (through subnormals), log of a negative is NaN, log(0) is -inf.
No fast-math flags: the range reduction must not be reassociated.
"""
from __future__ import annotations

import math

from llvmlite import ir

from ..ir.ops.unary import ERF_TAYLOR, ERFC_CHEBYSHEV

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


# ---- elementwise math, activations, binary elementwise ----
# float32 functions evaluated in float64 with the polynomial exp/log above, then rounded once:
# branch-free and vectorizable, within an ulp or two of the correctly rounded float32 result.
# (float64 versions of these call libm, except log1p/expm1, which use Kahan's tricks below.)

def _in_f64(body):
    """A float32 body that widens x, runs `body` on a float64 `_Math`, and rounds back."""
    def f32(m: _Math, x):
        if not m.f32:
            raise ValueError("float32 only")
        wide = _Math(m.b, F64)
        return m.b.fptrunc(body(wide, m.b.fpext(x, F64)), F32)
    return f32


def _call(m: _Math, name: str, x):
    return m.b.call(function(m.b.module, name, m.ty), [x])


def _log1p(m: _Math, x):
    """Kahan: log(u) * (x / (u - 1)) with u = 1 + x corrects the rounding of u (x where u == 1);
    inf -> inf, -1 -> -inf, below -1 -> NaN (from log), NaN -> NaN."""
    b = m.b
    u = b.fadd(x, m.c(1.0))
    # x / (u - 1) first: the product log(u) * x would overflow for x near the maximum.
    r = b.fmul(_call(m, "log", u), b.fdiv(x, b.fsub(u, m.c(1.0))))
    r = b.select(m.eq(u, m.c(1.0)), x, r)
    r = b.select(m.eq(x, m.c(float("inf"))), x, r)
    return b.select(m.eq(u, m.c(0.0)), m.c(float("-inf")), r)


def _expm1(m: _Math, x):
    """Kahan: (u - 1) * (x / log(u)) with u = exp(x) (x where u == 1, -1 where u - 1 == -1,
    inf where u is)."""
    b = m.b
    u = _call(m, "exp", x)
    um1 = b.fsub(u, m.c(1.0))
    # x / log(u) first: the product (u - 1) * x overflows long before u does.
    r = b.fmul(um1, b.fdiv(x, _call(m, "log", u)))
    r = b.select(m.eq(u, m.c(1.0)), x, r)
    r = b.select(m.eq(um1, m.c(-1.0)), m.c(-1.0), r)
    r = b.select(m.eq(u, m.c(float("inf"))), u, r)
    return b.select(b.fcmp_unordered("uno", x, x), x, r)


# erfc(z) for z >= 0: Numerical Recipes' erfcc (Chebyshev fit, relative error < 1.1e-7) and
# erf's Taylor series for |x| < 0.5, shared with the numpy reference.
_ERFC_T, _ERF_TAYLOR = ERFC_CHEBYSHEV, ERF_TAYLOR


def _erfc_pos(m: _Math, z):
    t = m.b.fdiv(m.c(1.0), m.fma(z, m.c(0.5), m.c(1.0)))
    poly = m.horner(t, _ERFC_T)
    return m.b.fmul(t, _call(m, "exp", m.b.fsub(poly, m.b.fmul(z, z))))


def _erfc_f64(m: _Math, x):
    b = m.b
    pos = _erfc_pos(m, m.fabs(x))
    r = b.select(m.lt(x, m.c(0.0)), b.fsub(m.c(2.0), pos), pos)
    return b.select(b.fcmp_unordered("uno", x, x), x, r)


def _erf_f64(m: _Math, x):
    b = m.b
    ax = m.fabs(x)
    small = b.fmul(x, m.horner(b.fmul(x, x), _ERF_TAYLOR))
    big = m.copysign(b.fsub(m.c(1.0), _erfc_pos(m, ax)), x)
    r = b.select(m.lt(ax, m.c(0.5)), small, big)
    return b.select(b.fcmp_unordered("uno", x, x), x, r)


def _sinh_f64(m: _Math, x):
    # float32 range only: exp(|x|) of a float32 cannot overflow float64 before the result
    # overflows float32. (e - 1/e) / 2 cancels near 0, where the odd Taylor series is used.
    b = m.b
    e = _call(m, "exp", x)
    big = b.fmul(m.c(0.5), b.fsub(e, b.fdiv(m.c(1.0), e)))
    small = b.fmul(x, m.horner(b.fmul(x, x), [1 / 5040, 1 / 120, 1 / 6, 1.0]))
    return b.select(m.lt(m.fabs(x), m.c(0.05)), small, big)


def _cosh_f64(m: _Math, x):
    e = _call(m, "exp", m.fabs(x))
    return m.b.fmul(m.c(0.5), m.b.fadd(e, m.b.fdiv(m.c(1.0), e)))


def _scaled(fn_name, scale):
    def body(m: _Math, x):
        if fn_name == "exp":
            x = m.b.fmul(x, m.c(scale))
        y = _call(m, fn_name, x)
        return y if fn_name == "exp" else m.b.fmul(y, m.c(scale))
    return body


def _pi_bits(bits: int) -> int:
    """floor(pi * 2**bits), by Machin's formula in integer arithmetic."""
    def atan_inv(n, p):   # atan(1/n) * 2**p
        total, k, term = 0, 0, (1 << p) // n
        while term:
            total += (-1) ** k * (term // (2 * k + 1))
            term //= n * n
            k += 1
        return total
    guard = 16
    return (16 * atan_inv(5, bits + guard) - 4 * atan_inv(239, bits + guard)) >> guard


# 2/pi as 24-bit chunks: x * chunk is exact in float64 for a float32 x, and so is its residue
# mod 4; the residues of all chunks sum to x * 2/pi mod 4 to float64 precision for every float32
# x (a vectorizable Payne-Hanek reduction: no range limit).
_TWO_OVER_PI = (2 << 640) // _pi_bits(320)
_TWO_OVER_PI_CHUNKS = [((_TWO_OVER_PI >> (320 - 24 * (j + 1))) & 0xFFFFFF) * 2.0 ** (-24 * (j + 1))
                       for j in range(11)]
_SIN_TAYLOR = [(-1) ** n / math.factorial(2 * n + 1) for n in reversed(range(7))]
_COS_TAYLOR = [(-1) ** n / math.factorial(2 * n) for n in reversed(range(7))]


def _quadrant(m: _Math, x):
    """x = (k + f) * pi/2 with |f| <= 1/2: (sin(f pi/2), cos(f pi/2), [k = 1, 2, 3 mod 4])
    for a float32 value x held in float64 (NaN/inf give NaN)."""
    b = m.b
    rint = intrinsic(b.module, "llvm.roundeven", m.ty, 1)

    def mod4(v):   # into [-2, 2], so tiny values (of either sign) stay exact
        return b.fsub(v, b.fmul(m.c(4.0), b.call(rint, [b.fmul(v, m.c(0.25))])))

    s = m.c(0.0)
    for chunk in _TWO_OVER_PI_CHUNKS:
        s = b.fadd(s, mod4(b.fmul(x, m.c(chunk))))
    s = mod4(s)
    k = b.call(rint, [s])   # -2..2
    r = b.fmul(b.fsub(s, k), m.c(math.pi / 2))
    r2 = b.fmul(r, r)
    sin_r = b.fmul(r, m.horner(r2, _SIN_TAYLOR))
    cos_r = m.horner(r2, _COS_TAYLOR)
    q2 = b.or_(m.eq(k, m.c(2.0)), m.eq(k, m.c(-2.0)))
    return sin_r, cos_r, [m.eq(k, m.c(1.0)), q2, m.eq(k, m.c(-1.0))]


def _sin_f64(m: _Math, x):
    b = m.b
    sr, cr, (q1, q2, q3) = _quadrant(m, x)
    r = b.select(q1, cr, b.select(q2, b.fneg(sr), b.select(q3, b.fneg(cr), sr)))
    return b.select(m.eq(x, m.c(0.0)), x, r)   # sin(-0.0) is -0.0


def _cos_f64(m: _Math, x):
    b = m.b
    sr, cr, (q1, q2, q3) = _quadrant(m, x)
    return b.select(q1, b.fneg(sr), b.select(q2, b.fneg(cr), b.select(q3, sr, cr)))


def _tan_f64(m: _Math, x):
    b = m.b
    sr, cr, (q1, q2, q3) = _quadrant(m, x)
    r = b.select(b.or_(q1, q3), b.fneg(b.fdiv(cr, sr)), b.fdiv(sr, cr))
    return b.select(m.eq(x, m.c(0.0)), x, r)


# atan(t) = t * P(t**2) (Taylor) for |t| <= tan(pi/8): error below 1e-11 relative.
_ATAN_TAYLOR = [(-1) ** n / (2 * n + 1) for n in reversed(range(14))]


def _atan_f64(m: _Math, x):
    """atan for float32 values in float64: |x| > 1 -> pi/2 - atan(1/|x|); above tan(pi/8),
    pi/4 + atan((y - 1) / (y + 1)); then the Taylor series. NaN propagates, -0.0 stays."""
    b = m.b
    y = m.fabs(x)
    big = m.gt(y, m.c(1.0))
    y = b.select(big, b.fdiv(m.c(1.0), y), y)
    mid = m.gt(y, m.c(math.tan(math.pi / 8)))
    t = b.select(mid, b.fdiv(b.fsub(y, m.c(1.0)), b.fadd(y, m.c(1.0))), y)
    r = b.fmul(t, m.horner(b.fmul(t, t), _ATAN_TAYLOR))
    r = b.select(mid, b.fadd(r, m.c(math.pi / 4)), r)
    r = b.select(big, b.fsub(m.c(math.pi / 2), r), r)
    return m.copysign(r, x)


def _asin_f64(m: _Math, x):
    # asin(x) = atan(x / sqrt((1 - x)(1 + x))): +-1 -> +-pi/2 (through inf), |x| > 1 -> NaN.
    b = m.b
    root = b.call(intrinsic(b.module, "llvm.sqrt", m.ty, 1),
                  [b.fmul(b.fsub(m.c(1.0), x), b.fadd(m.c(1.0), x))])
    return _atan_f64(m, b.fdiv(x, root))


def _acos_f64(m: _Math, x):
    # acos(x) = 2 atan(sqrt((1 - x) / (1 + x))): accurate near 1 too; -1 -> pi, |x| > 1 -> NaN.
    b = m.b
    root = b.call(intrinsic(b.module, "llvm.sqrt", m.ty, 1),
                  [b.fdiv(b.fsub(m.c(1.0), x), b.fadd(m.c(1.0), x))])
    return b.fmul(m.c(2.0), _atan_f64(m, root))


def _atan2_f64(m: _Math, y, x):
    """atan(|y| / |x|) moved to x's half-plane and given y's sign, with C99's special values
    (both zero: 0 or pi; both infinite: pi/4 or 3pi/4)."""
    b = m.b
    ay, ax = m.fabs(y), m.fabs(x)
    a = _atan_f64(m, b.fdiv(ay, ax))
    inf = m.c(float("inf"))
    a = b.select(b.and_(m.eq(ay, m.c(0.0)), m.eq(ax, m.c(0.0))), m.c(0.0), a)
    a = b.select(b.and_(m.eq(ay, inf), m.eq(ax, inf)), m.c(math.pi / 4), a)
    negative_x = m.lt(m.copysign(m.c(1.0), x), m.c(0.0))   # -0.0 included
    a = b.select(negative_x, b.fsub(m.c(math.pi), a), a)
    return m.copysign(a, y)


def _wide_f32(body):
    """float32 through float64 (one rounding), float64 directly."""
    wide = _in_f64(body)
    return lambda m, x: wide(m, x) if m.f32 else body(m, x)


_BODIES = {"exp": _exp, "log": _log, "tanh": _tanh, "log1p": _wide_f32(_log1p),
           "expm1": _wide_f32(_expm1),
           "erf": _in_f64(_erf_f64), "erfc": _in_f64(_erfc_f64), "sinh": _in_f64(_sinh_f64),
           "cosh": _in_f64(_cosh_f64), "exp2": _in_f64(_scaled("exp", math.log(2.0))),
           "log2": _in_f64(_scaled("log", 1 / math.log(2.0))),
           "log10": _in_f64(_scaled("log", 1 / math.log(10.0))),
           "sin": _in_f64(_sin_f64), "cos": _in_f64(_cos_f64), "tan": _in_f64(_tan_f64),
           "atan": _in_f64(_atan_f64), "asin": _in_f64(_asin_f64), "acos": _in_f64(_acos_f64)}
# Names with a body for float32 only; float64 uses libm for them.
F32_ONLY = {"erf", "erfc", "sinh", "cosh", "exp2", "log2", "log10", "sin", "cos", "tan", "atan",
            "asin", "acos"}


def atan2_f32(module: ir.Module) -> ir.Function:
    """atan2 of float32 operands (evaluated in float64), vectorizable."""
    full = "tg.atan2.f32"
    if full in module.globals:
        return module.globals[full]
    fn = ir.Function(module, ir.FunctionType(F32, [F32, F32]), full)
    fn.linkage = "internal"
    fn.attributes.add("alwaysinline")
    fn.attributes.add("nounwind")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    wide = _Math(b, F64)
    y, x = (b.fpext(a, F64) for a in fn.args)
    b.ret(b.fptrunc(_atan2_f64(wide, y, x), F32))
    return fn
