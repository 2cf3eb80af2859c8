"""Vectorizable elementwise math written in LLVM IR: exp, log, tanh and the other
transcendentals, for float32 and float64, plus fmod.

glibc's scalar calls keep loops from vectorizing (4-40x slower than numpy on this machine
kind), so these are emitted as branch-free IR, each an internal `alwaysinline` function that
the loop vectorizer sees through: Cephes' exp/log/tanh, fdlibm's algorithms for the float64
trigonometric, inverse trigonometric and error functions, Cody-Waite range reduction and
`llvm.fmuladd`. Special values follow C99/numpy: NaN propagates, overflow gives inf, underflow
goes through the subnormals, signed zeros are kept. No fast-math flags: the range reductions
must not be reassociated.

float32 functions are float32 arithmetic with fitted polynomials, carrying the roundings that
would cost accuracy in a second float32 (TwoSum/Fast2Sum, fma residuals), or float64 where
that is cheaper (argument reduction for tan, erf/erfc); every one is within 2 ulp of the
correctly rounded result.

Arguments a fast path cannot reduce accurately (trigonometric functions of huge arguments,
fmod of a huge quotient) are flagged and recomputed by the C library in `_fixup`'s out-of-line
function. Its vector variants (declared to the vectorizer through
`vector-function-abi-variant`) test the whole vector at once and only branch to per-lane libm
calls when some lane is flagged, so the common loop stays vectorized.
"""
from __future__ import annotations

import math
import struct

from llvmlite import ir
from llvmlite.ir.instructions import CallInstrAttributes

F32, F64 = ir.FloatType(), ir.DoubleType()
I32, I64, I1 = ir.IntType(32), ir.IntType(64), ir.IntType(1)
INF, NAN = math.inf, math.nan


def intrinsic(module: ir.Module, name: str, ty: ir.Type, nargs: int = 1) -> ir.Function:
    """Declare an overloaded LLVM intrinsic with an explicit signature (llvmlite's own
    signature inference is wrong for some, e.g. llvm.fma)."""
    if isinstance(ty, ir.VectorType):
        suffix = f"v{ty.count}{'f32' if ty.element == F32 else 'f64'}"
    else:
        suffix = "f32" if ty == F32 else "f64"
    full = f"{name}.{suffix}"
    if full in module.globals:
        return module.globals[full]
    return ir.Function(module, ir.FunctionType(ty, [ty] * nargs), full)


def _new_function(module: ir.Module, full: str, ret: ir.Type, args: list) -> ir.Function:
    fn = ir.Function(module, ir.FunctionType(ret, args), full)
    fn.linkage = "internal"
    fn.attributes.add("alwaysinline")
    fn.attributes.add("nounwind")
    return fn


def _defined(module: ir.Module, name: str, ty: ir.Type, nargs: int, body) -> ir.Function:
    """The module's function `tg.<name>.<f32|f64>`, emitted from `body` on first use."""
    full = f"tg.{name}.{'f32' if ty == F32 else 'f64'}"
    if full in module.globals:
        return module.globals[full]
    fn = _new_function(module, full, ty, [ty] * nargs)
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    b.ret(body(_Math(b, ty), *fn.args))
    return fn


def function(module: ir.Module, name: str, ty: ir.Type) -> ir.Function:
    """The IR function implementing unary `name` ("exp", "sin", ...) for float type `ty`."""
    body = _F32_BODIES.get(name, _BODIES[name]) if ty == F32 else _BODIES[name]
    return _defined(module, name, ty, 1, body)


def binary(module: ir.Module, name: str, ty: ir.Type) -> ir.Function:
    """The IR function implementing binary `name` ("atan2", "fmod") for float type `ty`."""
    return _defined(module, name, ty, 2, _BINARY[name])


class _Math:
    """Float arithmetic helpers for one float type."""

    def __init__(self, b: ir.IRBuilder, ty: ir.Type):
        self.b, self.ty = b, ty
        self.lanes = ty.count if isinstance(ty, ir.VectorType) else None
        elem = ty.element if self.lanes else ty
        self.f32 = elem == F32
        self.ity = self._shaped(I32 if self.f32 else I64)
        self.mant = 23 if self.f32 else 52
        self.bias = 127 if self.f32 else 1023

    def _shaped(self, elem: ir.Type) -> ir.Type:
        return ir.VectorType(elem, self.lanes) if self.lanes else elem

    def c(self, v: float) -> ir.Constant:
        return _splat(self.ty, v)

    def i(self, v: int) -> ir.Constant:
        return _splat(self.ity, v)

    def wide(self) -> "_Math":
        """The float64 `_Math` of the same shape."""
        return _Math(self.b, self._shaped(F64))

    def call(self, name: str, *args, nargs: int = 1):
        return self.b.call(intrinsic(self.b.module, name, self.ty, nargs), list(args))

    def fma(self, a, x, c):
        """a*x + c, fused where the hardware has FMA (llvm.fmuladd, not llvm.fma: the latter
        becomes a slow libm call without FMA)."""
        return self.call("llvm.fmuladd", a, x, c, nargs=3)

    def horner(self, x, coeffs):
        """coeffs[0]*x**n + ... + coeffs[n]. float64 by Horner's rule (the error analyses of
        the fdlibm/Cephes kernels assume it); float32 by Estrin's scheme (shorter dependency
        chains; the float32 accuracy bounds were measured with it)."""
        if self.f32 and len(coeffs) > 4:
            return self._estrin(x, [self.c(k) for k in reversed(coeffs)])
        acc = self.c(coeffs[0])
        for k in coeffs[1:]:
            acc = self.fma(acc, x, self.c(k))
        return acc

    def _estrin(self, x, low_first):
        while len(low_first) > 1:
            pairs = [self.fma(low_first[j + 1], x, low_first[j]) if j + 1 < len(low_first)
                     else low_first[j] for j in range(0, len(low_first), 2)]
            low_first, x = pairs, self.mul(x, x)
        return low_first[0]

    def add(self, a, b):
        return self.b.fadd(a, b)

    def sub(self, a, b):
        return self.b.fsub(a, b)

    def mul(self, a, b):
        return self.b.fmul(a, b)

    def div(self, a, b):
        return self.b.fdiv(a, b)

    def lt(self, a, b):
        return self.b.fcmp_ordered("<", a, b)

    def gt(self, a, b):
        return self.b.fcmp_ordered(">", a, b)

    def eq(self, a, b):
        return self.b.fcmp_ordered("==", a, b)

    def isnan(self, x):
        return self.b.fcmp_unordered("uno", x, x)

    def sel(self, c, a, b):
        return self.b.select(c, a, b)

    def clamp(self, x, lo, hi):
        """NaN-preserving clamp (ordered compares are false for NaN)."""
        x = self.b.select(self.gt(x, self.c(hi)), self.c(hi), x)
        return self.b.select(self.lt(x, self.c(lo)), self.c(lo), x)

    def rint(self, x):
        return self.call("llvm.roundeven", x)

    def sqrt(self, x):
        return self.call("llvm.sqrt", x)

    def bits(self, x):
        return self.b.bitcast(x, self.ity)

    def from_bits(self, n):
        return self.b.bitcast(n, self.ty)

    def to_int(self, n_f):
        """An integral float (|n| < 2**(mant-1)) as an integer; NaN/huge give garbage, never
        poison (unlike fptosi)."""
        magic = self.c(1.5 * 2.0 ** self.mant)
        return self.b.sub(self.bits(self.b.fadd(n_f, magic)), self.bits(magic))

    def hi(self, x):
        """x with the low 32 mantissa bits cleared (float64; fdlibm's SET_LOW_WORD(x, 0))."""
        return self.from_bits(self.b.and_(self.bits(x), self.i(-(1 << 32))))

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
        return self.call("llvm.fabs", x)

    def copysign(self, x, s):
        return self.call("llvm.copysign", x, s, nargs=2)

    def xorsign(self, x, s):
        """x with its sign flipped where s is negative (including -0.0 and NaNs)."""
        sign = self.b.and_(self.bits(s), self.i(-(1 << (31 if self.f32 else 63))))
        return self.from_bits(self.b.xor(self.bits(x), sign))


# ---- exp, log, tanh ---------------------------------------------------------------------------
def _exp_reduce(m: _Math, x):
    """x = n ln2 + r with |r| <= ln2/2 for x in the clamped range: (n, hi, lo) with
    r = hi - lo, hi exact (float32: Cephes, lo folded into hi; float64: fdlibm)."""
    b = m.b
    if m.f32:
        log2e, c1, c2 = 1.44269504088896341, 0.693359375, -2.12194440e-4
    else:
        log2e, c1, c2 = 1.44269504088896338700, 6.93147180369123816490e-01, \
            1.90821492927058770002e-10
    # n = round(x / ln 2) by the 1.5*2**mant trick: the integer lands in the low mantissa bits.
    magic = m.c(1.5 * 2.0 ** m.mant)
    t = m.fma(x, m.c(log2e), magic)
    n_f = b.fsub(t, magic)
    n = b.sub(b.bitcast(t, m.ity), b.bitcast(magic, m.ity))
    # Cody-Waite: x - n*ln2 with ln2 split so n*c1 is exact.
    hi = m.fma(n_f, m.c(-c1), x)
    if m.f32:
        return n, m.fma(n_f, m.c(-c2), hi), m.c(0.0)
    return n, hi, m.mul(n_f, m.c(c2))


_EXP_P = [4.13813679705723846039e-08, -1.65339022054652515390e-06, 6.61375632143793436117e-05,
          -2.77777777770155933842e-03, 1.66666666666666019037e-01]


def _expm1_core(m: _Math, hi, lo):
    """exp(hi - lo) - 1 for float64 |hi - lo| <= ~0.35: fdlibm's exp kernel, which keeps the
    tail lo out of the rounding of r = hi - lo."""
    r = m.sub(hi, lo)
    t = m.mul(r, r)
    c = m.sub(r, m.mul(t, m.horner(t, _EXP_P)))
    return m.sub(hi, m.sub(lo, m.div(m.mul(r, c), m.sub(m.c(2.0), c))))


def _exp(m: _Math, x):
    b = m.b
    lo, hi = (-104.0, 89.0) if m.f32 else (-746.0, 710.0)
    # Outside [lo, hi] the result is already 0 or inf; clamping keeps n small (NaN passes).
    n, rh, rl = _exp_reduce(m, m.clamp(x, lo, hi))
    if m.f32:   # Cephes expf
        z = b.fmul(rh, rh)
        p = m.horner(rh, [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                          1.6666665459e-1, 5.0000001201e-1])
        y = b.fadd(m.fma(p, z, rh), m.c(1.0))
    else:
        y = b.fadd(_expm1_core(m, rh, rl), m.c(1.0))
    return m.ldexp(y, n)


def _log_core(m: _Math, x):
    """x = 2**e (1 + f), f in [sqrt(1/2) - 1, sqrt(2) - 1): (e as a float, f, f*f, t) where
    log(1 + f) ~ f - f*f/2 + t (Cephes). Subnormals are scaled into the normal range first."""
    b = m.b
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
        t = b.fmul(b.fmul(p, f), z)
    else:       # Cephes log, rational form
        p = m.horner(f, [1.01875663804580931796e-4, 4.97494994976747001425e-1,
                         4.70579119878881725854e0, 1.44989225341610930846e1,
                         1.79368678507819816313e1, 7.70838733755885391666e0])
        q = m.horner(f, [1.0, 1.12873587189167450590e1, 4.52279145837532221105e1,
                         8.29875266912776603211e1, 7.11544750618563894466e1,
                         2.31251620126765340583e1])
        t = b.fmul(f, b.fdiv(b.fmul(z, p), q))
    return fe, f, z, t


def _log_special(m: _Math, x, r):
    """+inf, 0 (either sign), negatives and NaN, as C's log."""
    b = m.b
    r = b.select(m.eq(x, m.c(INF)), x, r)
    r = b.select(m.eq(x, m.c(0.0)), m.c(-INF), r)
    r = b.select(m.lt(x, m.c(0.0)), m.c(NAN), r)
    return b.select(m.isnan(x), x, r)


def _log(m: _Math, x, extra=None):
    """log(x) (+ `extra`, a correction much smaller than the result, added before the last
    roundings)."""
    b = m.b
    fe, f, z, y = _log_core(m, x)
    y = m.fma(fe, m.c(-2.12194440e-4 if m.f32 else -2.121944400546905827679e-4), y)
    if extra is not None:
        y = b.fadd(y, extra)
    y = m.fma(z, m.c(-0.5), y)
    r = b.fadd(f, y)
    r = m.fma(fe, m.c(0.693359375), r)
    return _log_special(m, x, r)


def _exp_tanh_f32(m: _Math, u):
    """exp(u) for float32 0 <= u <= 40 (Cephes expf without the range handling)."""
    n, r, _ = _exp_reduce(m, u)
    p = m.horner(r, [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                     1.6666665459e-1, 5.0000001201e-1])
    y = m.add(m.fma(p, m.mul(r, r), r), m.c(1.0))
    return m.mul(y, m.pow2(n))


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
    if m.f32:   # tanh(20) rounds to 1: exp(2|x|) needs no overflow or underflow handling
        e = _exp_tanh_f32(m, m.sel(m.gt(ax, m.c(20.0)), m.c(40.0), b.fadd(ax, ax)))
    else:
        e = b.call(function(b.module, "exp", m.ty), [b.fadd(ax, ax)])
    big = b.fsub(m.c(1.0), b.fdiv(m.c(2.0), b.fadd(e, m.c(1.0))))
    # Both branches are computed without the sign and take x's (so tanh(-0.0) is -0.0).
    return m.copysign(b.select(m.lt(ax, m.c(0.625)), small, big), x)


# ---- exponentials and logarithms (float64) ----------------------------------------------------
def _exp2(m: _Math, x):
    """2**n * exp(f ln2), n = round(x): f ln2 is carried as a head and a tail."""
    x = m.clamp(x, -1080.0, 1030.0)
    n_f = m.rint(x)
    f = m.sub(x, n_f)   # exact
    ln2, ln2_lo = 0.6931471805599453, 2.3190468138462996e-17
    r = m.mul(f, m.c(ln2))
    r_lo = m.fma(f, m.c(ln2_lo), m.fma(f, m.c(ln2), m.b.fneg(r)))
    y = m.add(m.c(1.0), _expm1_core(m, r, m.b.fneg(r_lo)))
    return m.ldexp(y, m.to_int(n_f))


def _expm1(m: _Math, x):
    """2**n (1 + em1) - 1 as one fma of exact parts (n = 0 near 0: the core alone)."""
    b = m.b
    xc = m.clamp(x, -60.0, 710.0)
    n, hi, lo = _exp_reduce(m, xc)
    em1 = _expm1_core(m, hi, lo)
    # 2**n - 1 is exact for n <= 53; above that the -1 is below the rounding.
    big = b.icmp_signed(">", n, m.i(1000))
    p = m.pow2(m.sel(big, m.i(0), n))
    mid = m.fma(p, em1, m.sub(p, m.c(1.0)))
    r = m.sel(big, m.ldexp(m.add(em1, m.c(1.0)), n), mid)
    return m.sel(b.or_(m.isnan(x), m.eq(x, m.c(0.0))), x, r)


def _log1p(m: _Math, x):
    """log(u) + c/u with u = 1 + x and c = x - (u - 1) its rounding error (exact)."""
    b = m.b
    u = m.add(x, m.c(1.0))
    ax = m.fabs(x)
    c = m.sel(m.gt(ax, m.c(1.0)), m.sub(m.c(1.0), m.sub(u, x)), m.sub(x, m.sub(u, m.c(1.0))))
    c = m.sel(m.lt(ax, m.c(2.0 ** 60)), c, m.c(0.0))   # no inf - inf
    r = _log(m, u, m.div(c, u))
    return m.sel(m.eq(x, m.c(0.0)), x, r)   # log1p(-0.0) is -0.0


def _log2(m: _Math, x):
    """Cephes' log2: e + (f + y) log2(e) with log2(e) - 1 as the multiplier."""
    fe, f, z, t = _log_core(m, x)
    y = m.fma(z, m.c(-0.5), t)
    ea = m.c(0.44269504088896340735992)
    r = m.mul(y, ea)
    r = m.fma(f, ea, r)
    r = m.add(r, y)
    r = m.add(r, f)
    r = m.add(r, fe)
    return _log_special(m, x, r)


def _log10(m: _Math, x):
    """Cephes' log10: log10(e) and log10(2) split into a short head and a tail."""
    fe, f, z, t = _log_core(m, x)
    y = m.fma(z, m.c(-0.5), t)
    l10ea, l10eb = 4.3359375e-1, 7.00731903251827651129e-4
    l102a, l102b = 3.0078125e-1, 2.48745663981195213739e-4
    r = m.mul(y, m.c(l10eb))
    r = m.fma(f, m.c(l10eb), r)
    r = m.fma(fe, m.c(l102b), r)
    r = m.fma(y, m.c(l10ea), r)
    r = m.fma(f, m.c(l10ea), r)
    r = m.fma(fe, m.c(l102a), r)
    return _log_special(m, x, r)


def _cosh_sinh(m: _Math, x, sinh: bool):
    """|x| >= 1/2 (or 1): 2**(n-1) (1 + em1 +- 2**-2n / (1 + em1)), scaled at the end so it
    overflows only where the result does; near 0 the Taylor series."""
    b = m.b
    ax = m.fabs(x)
    n, hi, lo = _exp_reduce(m, m.clamp(ax, 0.0, 711.0))
    em1 = _expm1_core(m, hi, lo)
    nn = b.select(b.icmp_signed(">", n, m.i(500)), m.i(500), n)
    inv = m.div(m.pow2(b.sub(m.i(0), b.add(nn, nn))), m.add(em1, m.c(1.0)))
    s = m.add(m.c(1.0), (m.sub if sinh else m.add)(em1, inv))
    big = m.ldexp(s, b.sub(n, m.i(1)))
    z = m.mul(x, x)
    if sinh:
        taylor = [1 / math.factorial(k) for k in range(21, 2, -2)]
        small = m.fma(m.mul(x, z), m.horner(z, taylor), x)
        return m.sel(m.lt(ax, m.c(1.0)), small, m.copysign(big, x))
    taylor = [1 / math.factorial(k) for k in range(16, 0, -2)]
    small = m.fma(z, m.horner(z, taylor), m.c(1.0))
    return m.sel(m.lt(ax, m.c(0.5)), small, big)


def _sinh(m: _Math, x):
    return _cosh_sinh(m, x, True)


def _cosh(m: _Math, x):
    return _cosh_sinh(m, x, False)


# ---- trigonometric (fdlibm) -------------------------------------------------------------------
_S = [1.58969099521155010221e-10, -2.50507602534068634195e-08, 2.75573137070700676789e-06,
      -1.98412698298579493134e-04, 8.33333333332248946124e-03]
_S1 = -1.66666666666666324348e-01
_C = [-1.13596475577881948265e-11, 2.08757232129817482790e-09, -2.75573143513906633035e-07,
      2.48015872894767294178e-05, -1.38888888888741095749e-03, 4.16666666666666019037e-02]
_T = [3.33333333333334091986e-01, 1.33333333333201242699e-01, 5.39682539762260521377e-02,
      2.18694882948595424599e-02, 8.86323982359930005737e-03, 3.59207910759131235356e-03,
      1.45620945432529025516e-03, 5.88041240820264096874e-04, 2.46463134818469906812e-04,
      7.81794442939557092300e-05, 7.14072491382608190305e-05, -1.85586374855275456654e-05,
      2.59073051863633712884e-05]
_PIO4, _PIO4_LO = 7.85398163397448278999e-01, 3.06161699786838301793e-17
# fdlibm's rem_pio2 for |x| <= 2**19 pi/2: pi/2 in 33-bit pieces and the tail.
_INVPIO2 = 6.36619772367581382433e-01
_PIO2_1, _PIO2_2, _PIO2_3 = 1.57079632673412561417e+00, 6.07710050630396597660e-11, \
    2.02226624871116645580e-21
_PIO2_3T = 8.47842766036889956997e-32
_TRIG_FAST_MAX = 823549.0   # 2**19 pi/2


def _rem_pio2(m: _Math, ax):
    """ax = n pi/2 + (y0 + y1), |y0 + y1| <= ~pi/4, for 0 <= ax <= 2**19 pi/2: (y0, y1, n).
    fdlibm's medium case with all refinement rounds always done (151 bits of pi/2): n*piece
    is exact, and each subtraction's rounding error is carried to the tail."""
    fn = m.rint(m.mul(ax, m.c(_INVPIO2)))
    r = m.sub(ax, m.mul(fn, m.c(_PIO2_1)))
    err = None
    for part in (_PIO2_2, _PIO2_3):
        t = r
        w = m.mul(fn, m.c(part))
        r = m.sub(t, w)
        e = m.sub(m.sub(t, r), w)
        err = e if err is None else m.add(err, e)
    w = m.sub(m.mul(fn, m.c(_PIO2_3T)), err)
    y0 = m.sub(r, w)
    y1 = m.sub(m.sub(r, y0), w)
    return y0, y1, m.to_int(fn)


def _ksin(m: _Math, x, y):
    z = m.mul(x, x)
    v = m.mul(z, x)
    r = m.horner(z, _S)
    inner = m.sub(m.mul(z, m.sub(m.mul(m.c(0.5), y), m.mul(v, r))), y)
    return m.sub(x, m.sub(inner, m.mul(v, m.c(_S1))))


def _kcos(m: _Math, x, y):
    b = m.b
    z = m.mul(x, x)
    r = m.mul(z, m.horner(z, _C))
    ax = m.fabs(x)
    # qx: |x|/4 truncated to 21 bits (0 below 0.3, 0.28125 above 0.78125) makes 1 - qx and
    # z/2 - qx exact.
    quarter = m.from_bits(b.sub(b.and_(m.bits(ax), m.i(-(1 << 32))), m.i(0x00200000 << 32)))
    qx = m.sel(m.lt(ax, m.c(0.3)), m.c(0.0),
               m.sel(m.gt(ax, m.c(0.78125)), m.c(0.28125), quarter))
    hz = m.sub(m.mul(m.c(0.5), z), qx)
    a = m.sub(m.c(1.0), qx)
    return m.sub(a, m.sub(hz, m.sub(m.mul(z, r), m.mul(x, y))))


def _ktan(m: _Math, x, y, odd):
    """tan(x + y), or -1/tan(x + y) where `odd`, for |x + y| <= ~pi/4 (fdlibm)."""
    b = m.b
    ax = m.fabs(x)
    big = b.fcmp_ordered(">=", ax, m.c(0.6744))
    neg = m.lt(x, m.c(0.0))
    flip = b.and_(big, neg)
    xa = m.sel(flip, b.fneg(x), x)
    ya = m.sel(flip, b.fneg(y), y)
    # Near pi/4: tan(pi/4 - x') from x' = pi/4 - x.
    xa = m.sel(big, m.add(m.sub(m.c(_PIO4), xa), m.sub(m.c(_PIO4_LO), ya)), xa)
    ya = m.sel(big, m.c(0.0), ya)
    z = m.mul(xa, xa)
    w = m.mul(z, z)
    r = m.horner(w, _T[11:0:-2])
    v = m.mul(z, m.horner(w, _T[12:1:-2]))
    s = m.mul(z, xa)
    r = m.add(ya, m.mul(z, m.add(m.mul(s, m.add(r, v)), ya)))
    r = m.add(r, m.mul(m.c(_T[0]), s))
    w = m.add(xa, r)
    vv = m.sel(odd, m.c(-1.0), m.c(1.0))
    near = m.mul(m.sub(vv, m.mul(m.c(2.0), m.sub(xa, m.sub(m.div(m.mul(w, w), m.add(w, vv)),
                                                              r)))),
                 m.sel(neg, m.c(-1.0), m.c(1.0)))
    # -1/(xa + r) with a corrected reciprocal.
    zh = m.hi(w)
    v2 = m.sub(r, m.sub(zh, xa))
    a = m.div(m.c(-1.0), w)
    t = m.hi(a)
    s2 = m.fma(t, zh, m.c(1.0))
    inv = m.fma(a, m.fma(t, v2, s2), t)
    return m.sel(big, near, m.sel(odd, inv, w))


def _trig_parts(m: _Math, x):
    ax = m.fabs(x)
    y0, y1, n = _rem_pio2(m, ax)
    return ax, y0, y1, n


def _sin(m: _Math, x):
    _, y0, y1, n = _trig_parts(m, x)
    s, c = _ksin(m, y0, y1), _kcos(m, y0, y1)
    neg = m.b.icmp_unsigned("!=", m.b.and_(n, m.i(2)), m.i(0))
    odd = m.b.icmp_unsigned("!=", m.b.and_(n, m.i(1)), m.i(0))
    r = m.sel(odd, c, s)
    r = m.sel(neg, m.b.fneg(r), r)
    return _fixup(m, "sin", [x], m.xorsign(r, x))


def _cos(m: _Math, x):
    _, y0, y1, n = _trig_parts(m, x)
    s, c = _ksin(m, y0, y1), _kcos(m, y0, y1)
    q = m.b.and_(n, m.i(3))
    neg = m.b.or_(m.b.icmp_unsigned("==", q, m.i(1)), m.b.icmp_unsigned("==", q, m.i(2)))
    odd = m.b.icmp_unsigned("!=", m.b.and_(n, m.i(1)), m.i(0))
    r = m.sel(odd, s, c)
    return _fixup(m, "cos", [x], m.sel(neg, m.b.fneg(r), r))


def _tan(m: _Math, x):
    _, y0, y1, n = _trig_parts(m, x)
    odd = m.b.icmp_unsigned("!=", m.b.and_(n, m.i(1)), m.i(0))
    r = _ktan(m, y0, y1, odd)
    r = m.sel(m.eq(x, m.c(0.0)), m.c(0.0), r)
    return _fixup(m, "tan", [x], m.xorsign(r, x))


# float32 trigonometric functions. Fast path, |x| <= 402: Cody-Waite in float32 with pi/2 in
# three parts (the first short, so k*P1 is exact; k*(pi/2 - P1 - P2 - P3) < 2**-54 and every
# float32 there is >= 4e-9 from a multiple of pi/2) and Cephes' sinf/cosf polynomials. Up to
# 2**24 the slow path reduces in float64 (exact enough: two float64 parts of pi/2), beyond it
# libm.
_F32_FAST_TRIG = 402.0
_F32_TRIG_MAX = 16777216.0
_PIO2_F32 = (1.5703125, 0.0004838267923332751, 2.5633440682570896e-12)
_SINF = [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1]
_COSF = [2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2]
_PIO2_HI, _PIO2_LO = 1.5707963267948966, 6.123233995736766e-17
_SIN32 = [(-1) ** k / math.factorial(2 * k + 1) for k in range(5, 0, -1)]
_COS32 = [(-1) ** k / math.factorial(2 * k) for k in range(6, 0, -1)]


def _sincos_f32(m: _Math, x):
    """(sin r, cos r, k) with x = k pi/2 + r, |r| <= ~pi/4, for float32 |x| <= 402."""
    k = m.rint(m.mul(x, m.c(2 / math.pi)))
    r = x
    for part in _PIO2_F32:
        r = m.fma(k, m.c(-part), r)
    z = m.mul(r, r)
    s = m.fma(m.mul(r, z), m.horner(z, _SINF), r)
    c = m.fma(m.mul(z, z), m.horner(z, _COSF), m.fma(z, m.c(-0.5), m.c(1.0)))
    return s, c, m.to_int(k)


# (tan(r)/r - 1)/r**2 on |r| <= pi/4 + 1e-3, relative error 2e-8 (least-squares minimax fit).
_TANF = [0.0038542177974313064, 0.0011665594148482603, 0.009973958119610571,
         0.021617737275304073, 0.05399489866147172, 0.13333228948557918, 0.3333333399395585]


def _reduce_f32_tail(m: _Math, x):
    """x = k pi/2 + r + rl for float32 |x| < 2**24, reduced in float64 (exact enough, see
    `_sincos_f32_wide`) and split into float32 head and tail: (r, rl, k)."""
    w = m.wide()
    xw = m.b.fpext(x, w.ty)
    k = w.rint(w.mul(xw, w.c(2 / math.pi)))
    r = w.fma(k, w.c(-_PIO2_HI), xw)
    r = w.fma(k, w.c(-_PIO2_LO), r)
    rf = m.b.fptrunc(r, m.ty)
    rl = m.b.fptrunc(w.sub(r, m.b.fpext(rf, w.ty)), m.ty)
    return rf, rl, m.b.trunc(w.to_int(k), m.ity)


def _tan_f32(m: _Math, x):
    r, rl, n = _reduce_f32_tail(m, x)
    z = m.mul(r, r)
    inner = m.mul(m.mul(r, z), m.horner(z, _TANF))
    t0 = m.add(r, inner)
    inner = m.fma(rl, m.fma(t0, t0, m.c(1.0)), inner)   # tan' = 1 + tan**2
    t = m.add(r, inner)
    tl = m.sub(inner, m.sub(t, r))
    # -1/(t + tl) with the division's rounding corrected by one Newton step
    q = m.div(m.c(-1.0), t)
    e = m.fma(q, tl, m.fma(q, t, m.c(1.0)))
    cot = m.fma(q, e, q)
    odd = m.b.icmp_unsigned("!=", m.b.and_(n, m.i(1)), m.i(0))
    return _fixup(m, "tan", [x], m.sel(m.eq(x, m.c(0.0)), x, m.sel(odd, cot, t)))


def _sincos_f32_wide(m: _Math, x):
    """The same for float32 |x| < 2**24, reduced and evaluated in float64 (Taylor to
    2**-33), then rounded."""
    w = m.wide()
    xw = m.b.fpext(x, w.ty)
    k = w.rint(w.mul(xw, w.c(2 / math.pi)))
    r = w.fma(k, w.c(-_PIO2_HI), xw)
    r = w.fma(k, w.c(-_PIO2_LO), r)
    z = w.mul(r, r)
    s = w.fma(w.mul(r, z), w.horner(z, _SIN32), r)
    c = w.fma(z, w.horner(z, _COS32), w.c(1.0))
    n = m.b.trunc(w.to_int(k), m.ity)
    return m.b.fptrunc(s, m.ty), m.b.fptrunc(c, m.ty), n


def _trig_f32(name: str, parts):
    def body(m: _Math, x):
        s, c, n = parts(m, x)
        odd = m.b.icmp_unsigned("!=", m.b.and_(n, m.i(1)), m.i(0))
        if name == "sin":
            neg = m.b.icmp_unsigned("!=", m.b.and_(n, m.i(2)), m.i(0))
            r = m.sel(odd, c, s)
            return m.sel(m.eq(x, m.c(0.0)), x, m.sel(neg, m.b.fneg(r), r))
        q = m.b.and_(n, m.i(3))
        neg = m.b.or_(m.b.icmp_unsigned("==", q, m.i(1)), m.b.icmp_unsigned("==", q, m.i(2)))
        r = m.sel(odd, s, c)
        return m.sel(neg, m.b.fneg(r), r)
    return body


def _f32_trig(name: str):
    fast = _trig_f32(name, _sincos_f32)
    return lambda m, x: _fixup(m, name, [x], fast(m, x))


# ---- inverse trigonometric (fdlibm) -----------------------------------------------------------
_ATANHI = [4.63647609000806093515e-01, 7.85398163397448278999e-01, 9.82793723247329054082e-01,
           1.57079632679489655800e+00]
_ATANLO = [2.26987774529616870924e-17, 3.06161699786838301793e-17, 1.39033110312309984516e-17,
           6.12323399573676603587e-17]
_AT = [3.33333333333329318027e-01, -1.99999999998764832476e-01, 1.42857142725034663711e-01,
       -1.11111104054623557880e-01, 9.09088713343650656196e-02, -7.69187620504482999495e-02,
       6.66107313738753120669e-02, -5.83357013379057348645e-02, 4.97687799461593236017e-02,
       -3.65315727442169155270e-02, 1.62858201153657823623e-02]


def _atan_pos(m: _Math, ax):
    """atan(ax) for ax >= 0 or NaN: fdlibm's reduction to |t| <= 7/16 around atan(0.5), atan(1),
    atan(1.5) or atan(inf)."""
    b = m.b
    i0 = b.fcmp_ordered(">=", ax, m.c(0.4375))
    i1 = b.fcmp_ordered(">=", ax, m.c(0.6875))
    i2 = b.fcmp_ordered(">=", ax, m.c(1.1875))
    i3 = b.fcmp_unordered(">=", ax, m.c(2.4375))   # NaN: -1/NaN

    def pick(vals):   # id -1, 0, 1, 2, 3
        v = m.sel(i3, vals[4], vals[3])
        v = m.sel(i2, v, vals[2])
        v = m.sel(i1, v, vals[1])
        return m.sel(i0, v, vals[0])
    one = m.c(1.0)
    num = pick([ax, m.fma(ax, m.c(2.0), m.c(-1.0)), m.sub(ax, one), m.sub(ax, m.c(1.5)),
                m.c(-1.0)])
    den = pick([one, m.add(m.c(2.0), ax), m.add(ax, one),
                m.add(one, m.mul(m.c(1.5), ax)), ax])
    t = m.div(num, den)
    z = m.mul(t, t)
    w = m.mul(z, z)
    s1 = m.mul(z, m.horner(w, _AT[10::-2]))
    s2 = m.mul(w, m.horner(w, _AT[9::-2]))
    ts = m.mul(t, m.add(s1, s2))
    hi = pick([m.c(0.0)] + [m.c(v) for v in _ATANHI])
    lo = pick([m.c(0.0)] + [m.c(v) for v in _ATANLO])
    return m.sel(i0, m.sub(hi, m.sub(m.sub(ts, lo), t)), m.sub(t, ts))


def _atan(m: _Math, x):
    return m.copysign(_atan_pos(m, m.fabs(x)), x)


_PI, _PI_LO = 3.1415926535897931160e+00, 1.2246467991473531772e-16
_PIO2_HI_F, _PIO2_LO_F = 1.57079632679489655800e+00, 6.12323399573676603587e-17


def _atan2(m: _Math, y, x):
    """atan(|y| / |x|) moved to x's half-plane and given y's sign, with C99's special values
    (both zero: 0 or pi; both infinite: pi/4 or 3pi/4)."""
    b = m.b
    if m.f32:
        w = m.wide()
        return b.fptrunc(_atan2(w, b.fpext(y, w.ty), b.fpext(x, w.ty)), m.ty)
    ay, ax = m.fabs(y), m.fabs(x)
    q = m.div(ay, ax)
    a = _atan_pos(m, q)
    inf = m.c(INF)
    a = m.sel(b.and_(m.eq(ay, m.c(0.0)), m.eq(ax, m.c(0.0))), m.c(0.0), a)
    a = m.sel(b.and_(m.eq(ay, inf), m.eq(ax, inf)), m.c(_PIO4), a)
    # -0.0 included; above 2**60 the result is pi/2 on either side (pi - pi/2 would round up)
    negative_x = b.and_(b.icmp_signed("<", m.bits(x), m.i(0)),
                        b.not_(m.gt(q, m.c(2.0 ** 60))))
    a = m.sel(negative_x, m.sub(m.c(_PI), m.sub(a, m.c(_PI_LO))), a)
    return m.copysign(a, y)


_PS = [3.47933107596021167570e-05, 7.91534994289814532176e-04, -4.00555345006794114027e-02,
       2.01212532134862925881e-01, -3.25565818622400915405e-01, 1.66666666666666657415e-01]
_QS = [7.70381505559019352791e-02, -6.88283971605453293030e-01, 2.02094576023350569471e+00,
       -2.40339491173441421878e+00, 1.0]


def _asin_acos_r(m: _Math, ax):
    """(t, R(t), sqrt(t)) with t = x*x below 1/2, else (1 - |x|)/2 (fdlibm's rational)."""
    small = m.lt(ax, m.c(0.5))
    t = m.sel(small, m.mul(ax, ax), m.mul(m.sub(m.c(1.0), ax), m.c(0.5)))
    r = m.div(m.mul(t, m.horner(t, _PS)), m.horner(t, _QS))
    return small, t, r, m.sqrt(t)


def _asin(m: _Math, x):
    ax = m.fabs(x)
    small, t, r, s = _asin_acos_r(m, ax)
    res_small = m.fma(ax, r, ax)
    two = m.c(2.0)
    near1 = m.sub(m.c(_PIO2_HI_F), m.sub(m.mul(two, m.fma(s, r, s)), m.c(_PIO2_LO_F)))
    wh = m.hi(s)
    c = m.div(m.sub(t, m.mul(wh, wh)), m.add(s, wh))
    p = m.sub(m.mul(m.mul(two, s), r), m.sub(m.c(_PIO2_LO_F), m.mul(two, c)))
    q = m.sub(m.c(_PIO4), m.mul(two, wh))
    mid = m.sub(m.c(_PIO4), m.sub(p, q))
    big = m.sel(m.b.fcmp_ordered(">=", ax, m.c(0.975)), near1, mid)
    return m.copysign(m.sel(small, res_small, big), x)


def _acos(m: _Math, x):
    ax = m.fabs(x)
    small, t, r, s = _asin_acos_r(m, ax)
    res_small = m.sub(m.c(_PIO2_HI_F), m.sub(x, m.sub(m.c(_PIO2_LO_F), m.mul(x, r))))
    res_neg = m.sub(m.c(_PI), m.mul(m.c(2.0), m.add(s, m.sub(m.mul(r, s), m.c(_PIO2_LO_F)))))
    df = m.hi(s)
    c = m.div(m.sub(t, m.mul(df, df)), m.add(s, df))
    res_pos = m.mul(m.c(2.0), m.add(df, m.fma(r, s, c)))
    res_pos = m.sel(m.eq(x, m.c(1.0)), m.c(0.0), res_pos)
    return m.sel(small, res_small, m.sel(m.lt(x, m.c(0.0)), res_neg, res_pos))


# ---- error functions (fdlibm) -----------------------------------------------------------------
_ERX = 8.45062911510467529297e-01
# Per region (|x| < 0.84375, < 1.25, < 1/0.35, beyond): numerator and denominator coefficients,
# highest degree first, zero-padded to a common length so each lane evaluates one rational.
_ERF_NUM = [
    [0, 0, 0, -2.37630166566501626084e-05, -5.77027029648944159157e-03,
     -2.84817495755985104766e-02, -3.25042107247001499370e-01, 1.28379167095512558561e-01],
    [0, -2.16637559486879084300e-03, 3.54783043256182359371e-02, -1.10894694282396677476e-01,
     3.18346619901161753674e-01, -3.72207876035701323847e-01, 4.14856118683748331666e-01,
     -2.36211856075265944077e-03],
    [-9.81432934416914548592e+00, -8.12874355063065934246e+01, -1.84605092906711035994e+02,
     -1.62396669462573470355e+02, -6.23753324503260060396e+01, -1.05586262253232909814e+01,
     -6.93858572707181764372e-01, -9.86494403484714822705e-03],
    [0, -4.83519191608651397019e+02, -1.02509513161107724954e+03, -6.37566443368389627722e+02,
     -1.60636384855821916062e+02, -1.77579549177547519889e+01, -7.99283237680523006574e-01,
     -9.86494292470009928597e-03]]
_ERF_DEN = [
    [0, 0, 0, -3.96022827877536812320e-06, 1.32494738004321644526e-04,
     5.08130628187576562776e-03, 6.50222499887672944485e-02, 3.97917223959155352819e-01, 1.0],
    [0, 0, 1.19844998467991074170e-02, 1.36370839120290507362e-02, 1.26171219808761642112e-01,
     7.18286544141962662868e-02, 5.40397917702171048937e-01, 1.06420880400844228286e-01, 1.0],
    [-6.04244152148580987438e-02, 6.57024977031928170135e+00, 1.08635005541779435134e+02,
     4.29008140027567833386e+02, 6.45387271733267880336e+02, 4.34565877475229228821e+02,
     1.37657754143519042600e+02, 1.96512716674392571292e+01, 1.0],
    [0, -2.24409524465858183362e+01, 4.74528541206955367215e+02, 2.55305040643316442583e+03,
     3.19985821950859553908e+03, 1.53672958608443695994e+03, 3.25792512996573918826e+02,
     3.03380607434824582924e+01, 1.0]]


def _erf_parts(m: _Math, x):
    """(region flags a, b, rational R/S of the lane's region, exp-based tail r/|x|)."""
    b = m.b
    ax = m.fabs(x)
    ra = m.lt(ax, m.c(0.84375))
    rb = m.lt(ax, m.c(1.25))
    rc = m.lt(ax, m.c(1 / 0.35))
    axc = m.clamp(ax, 1.0, 30.0)   # tail region only; beyond 30 erfc underflows to 0
    inv = m.div(m.c(1.0), m.mul(axc, axc))
    arg = m.sel(ra, m.mul(x, x), m.sel(rb, m.sub(ax, m.c(1.0)), inv))

    def poly(table):
        acc = None
        for k in range(len(table[0])):
            cs = [m.c(t[k]) for t in table]
            c = m.sel(ra, cs[0], m.sel(rb, cs[1], m.sel(rc, cs[2], cs[3])))
            acc = c if acc is None else m.fma(acc, arg, c)
        return acc
    num, den = poly(_ERF_NUM), poly(_ERF_DEN)
    ratio = m.div(num, den)
    # exp(-x*x - 0.5625 + R/S) with -x*x = -z*z + (z - x)(z + x) split exactly.
    z = m.hi(axc)
    a = m.sub(m.mul(b.fneg(z), z), m.c(0.5625))   # exact
    tail = m.div(_exp_sum(m, a, m.add(m.mul(m.sub(z, axc), m.add(z, axc)), ratio)), axc)
    return ra, rb, ratio, tail, (num, den)


def _exp_sum(m: _Math, a, c):
    """exp(a + c) for exact a in [-901, 0] and |c| < 1, without rounding a + c: c joins the
    tail of the reduced argument."""
    b = m.b
    n, hi, lo = _exp_reduce(m, m.add(a, c))
    # _exp_reduce's head for a alone (exact: n ln2_hi is exact and cancels a's leading bits).
    n_f = b.sitofp(n, m.ty)
    hi = m.fma(n_f, m.c(-6.93147180369123816490e-01), a)
    lo = m.fma(n_f, m.c(1.90821492927058770002e-10), b.fneg(c))
    y = m.add(_expm1_core(m, hi, lo), m.c(1.0))
    return m.ldexp(y, n)


def _erf(m: _Math, x):
    ra, rb, ratio, tail, _ = _erf_parts(m, x)
    small = m.fma(x, ratio, x)
    mid = m.add(m.c(_ERX), ratio)
    big = m.sub(m.c(1.0), tail)
    return m.sel(ra, small, m.copysign(m.sel(rb, mid, big), x))


def _erfc(m: _Math, x):
    ra, rb, ratio, tail, (num, den) = _erf_parts(m, x)
    neg = m.lt(x, m.c(0.0))
    xr = m.mul(x, ratio)
    # 1/4 <= x < 0.84375: 1/2 - (x*R + (x - 1/2)) with the roundings of the product and the
    # sum carried separately (the result is down to a quarter of the terms).
    xr_err = m.fma(x, ratio, m.b.fneg(xr))
    d = m.sub(x, m.c(0.5))   # exact
    s = m.add(xr, d)
    t = m.sub(s, xr)
    s_err = m.add(m.sub(xr, m.sub(s, t)), m.sub(d, t))
    upper = m.sub(m.sub(m.c(0.5), s), m.add(xr_err, s_err))
    small = m.sel(m.lt(x, m.c(0.25)), m.sub(m.c(1.0), m.add(x, xr)), upper)
    # x > 0: (1 - c) - P/Q cancels to half; the division's rounding error goes in separately.
    ratio_err = m.div(m.fma(m.b.fneg(ratio), den, num), den)
    mid = m.sel(neg, m.add(m.c(1.0), m.add(m.c(_ERX), ratio)),
                m.sub(m.sub(m.c(1.0 - _ERX), ratio), ratio_err))
    big = m.sel(neg, m.sub(m.c(2.0), tail), tail)
    r = m.sel(ra, small, m.sel(rb, mid, big))
    return m.sel(m.isnan(x), x, r)


# ---- fmod -------------------------------------------------------------------------------------
def _fmod(m: _Math, x, y):
    """x - trunc(x/y) y by one fma, exact while |x/y| < 2**51 (the rounded quotient is then at
    most one too large, which the sign of the remainder shows); the result has x's sign.
    Other operands (huge quotients, y = 0 or inf, inf, NaN) go to libm."""
    b = m.b
    w = m.wide()
    ax, ay = w.fabs(b.fpext(x, w.ty) if m.f32 else x), w.fabs(b.fpext(y, w.ty) if m.f32 else y)
    q = w.call("llvm.trunc", w.div(ax, ay))
    r = w.fma(b.fneg(q), ay, ax)
    r = w.sel(w.lt(r, w.c(0.0)), w.add(r, ay), r)
    r = b.fptrunc(r, m.ty) if m.f32 else r
    return _fixup(m, "fmod", [x, y], m.copysign(r, x))


# ---- float32: float32 arithmetic with the roundings that matter carried separately ----------
# Polynomials: least-squares minimax fits (relative error in brackets, before rounding the
# coefficients to float32), highest degree first.
_EXP2F = [1.5252716366376262e-05, 0.00015461329894606024, 0.0013333669630810618,
          0.009618056938052177, 0.05550410598516464, 0.24022650718688965,
          0.6931471824645996]   # (2**f - 1)/f, |f| <= 1/2 [2e-10]
_EM1F = [0.00019857798179145902, 0.0013933604350313544, 0.008333360776305199,
         0.04166646674275398, 0.1666666716337204, 0.5]   # (e**r - 1 - r)/r**2, |r| <= ln2/2 [3e-9]
_SINHF = [2.806141765177017e-06, 0.00019838122534565628, 0.008333339355885983,
          0.1666666716337204]   # (sinh(x) - x)/x**3 in x**2, |x| <= 1 [1e-9]
_COSHF = [2.493956890248228e-05, 0.0013888673856854439, 0.0416666679084301,
          0.5]   # (cosh(x) - 1)/x**2 in x**2, |x| <= 1/2 [2e-11]
_ATANF = [-0.04805659130215645, 0.08525121212005615, -0.11057216674089432, 0.1428334265947342,
          -0.1999996155500412, 0.3333333432674408]   # (t - atan t)/t**3 in t**2, |t| <= 7/16 [3e-9]
_ASINF = [0.033799659460783005, 0.017081692814826965, 0.03111531026661396,
          0.044598110020160675, 0.07500098645687103,
          0.1666666567325592]   # (asin(s) - s)/s**3 in t = s**2, t <= 1/4 [2e-8]
_LOG2E_F = (1.4426950216293335, 1.925963033500011e-08)
_LOG10E_F = (0.4342944920063019, -1.0103049952192578e-08)
_LOG10_2_F = (0.301025390625, 4.605039066518657e-06)   # head has 12 bits: e * head is exact


def _two_sum(m: _Math, a, b):
    s = m.add(a, b)
    bb = m.sub(s, a)
    return s, m.add(m.sub(a, m.sub(s, bb)), m.sub(b, bb))


def _exp2_f32(m: _Math, x):
    x = m.clamp(x, -151.0, 129.0)
    n_f = m.rint(x)
    f = m.sub(x, n_f)   # exact
    y = m.fma(f, m.horner(f, _EXP2F), m.c(1.0))
    return m.ldexp(y, m.to_int(n_f))


def _em1_f32(m: _Math, r):
    return m.fma(m.mul(r, r), m.horner(r, _EM1F), r)


def _expm1_f32(m: _Math, x):
    """2**n (1 + em1) - 1 as one fma of exact parts (n = 0 below ln2/2: r = x exactly)."""
    b = m.b
    n, r, _ = _exp_reduce(m, m.clamp(x, -26.0, 89.0))
    em1 = _em1_f32(m, r)
    big = b.icmp_signed(">", n, m.i(100))
    p = m.pow2(m.sel(big, m.i(0), n))
    res = m.sel(big, m.ldexp(m.add(em1, m.c(1.0)), n), m.fma(p, em1, m.sub(p, m.c(1.0))))
    return m.sel(b.or_(m.isnan(x), m.eq(x, m.c(0.0))), x, res)


def _cosh_sinh_f32(m: _Math, x, sinh: bool):
    """As the float64 version: 2**(n-1) (1 + (em1 +- 2**-2n / (1 + em1))), Taylor-like
    polynomials near 0."""
    b = m.b
    ax = m.fabs(x)
    n, r, _ = _exp_reduce(m, m.clamp(ax, 0.0, 90.0))
    em1 = _em1_f32(m, r)
    nn = b.select(b.icmp_signed(">", n, m.i(60)), m.i(60), n)
    inv = m.div(m.pow2(b.sub(m.i(0), b.add(nn, nn))), m.add(em1, m.c(1.0)))
    s = m.add(m.c(1.0), (m.sub if sinh else m.add)(em1, inv))
    # n <= 130: 2**(n-2) saturates to inf exactly where the result overflows
    big = m.mul(m.mul(s, m.pow2(b.sub(n, m.i(2)))), m.c(2.0))
    z = m.mul(x, x)
    if sinh:
        small = m.fma(m.mul(x, z), m.horner(z, _SINHF), x)
        return m.sel(m.lt(ax, m.c(1.0)), small, m.copysign(big, x))
    return m.sel(m.lt(ax, m.c(0.5)), m.fma(z, m.horner(z, _COSHF), m.c(1.0)), big)


def _log_sum_f32(m: _Math, x):
    """log(x) = e ln2 + s + se for float32 x: (e as a float, s, se), s + se = log(1 + f)
    to ~2**-40 relative (Cephes' logf core, then Fast2Sum)."""
    fe, f, z, t = _log_core(m, x)
    y = m.fma(z, m.c(-0.5), t)
    s = m.add(f, y)
    return fe, s, m.sub(y, m.sub(s, f))


def _log_scaled_f32(m: _Math, x, mult, per_e):
    """e * per_e + log(1 + f) * mult with the constants as head + tail and one final rounding
    (log2: per_e = 1, log10: log10(2))."""
    fe, s, se = _log_sum_f32(m, x)
    ph = m.mul(s, m.c(mult[0]))
    pl = m.fma(s, m.c(mult[0]), m.b.fneg(ph))
    pl = m.fma(s, m.c(mult[1]), pl)
    pl = m.fma(se, m.c(mult[0]), pl)
    if per_e is None:
        a = fe
    else:
        a = m.mul(fe, m.c(per_e[0]))   # exact
        pl = m.fma(fe, m.c(per_e[1]), pl)
    # Fast2Sum: |a| >= 0.3 > |ph| unless a == 0, where it is exact too.
    h = m.add(a, ph)
    hl = m.sub(ph, m.sub(h, a))
    return _log_special(m, x, m.add(h, m.add(hl, pl)))


def _log2_f32(m: _Math, x):
    return _log_scaled_f32(m, x, _LOG2E_F, None)


def _log10_f32(m: _Math, x):
    return _log_scaled_f32(m, x, _LOG10E_F, _LOG10_2_F)


def _log1p_f32(m: _Math, x):
    u = m.add(x, m.c(1.0))
    ax = m.fabs(x)
    c = m.sel(m.gt(ax, m.c(1.0)), m.sub(m.c(1.0), m.sub(u, x)), m.sub(x, m.sub(u, m.c(1.0))))
    c = m.sel(m.lt(ax, m.c(2.0 ** 30)), c, m.c(0.0))
    return m.sel(m.eq(x, m.c(0.0)), x, _log(m, u, m.div(c, u)))


# atan(c) and pi - atan(c) for c = 0, 1/2, 1, 3/2, inf, as float32 head + tail.
_ATAN_K = [(0.0, 0.0), (0.46364760398864746, 5.01215868808913e-09),
           (0.7853981852531433, -2.1855694143368964e-08),
           (0.9827937483787537, -2.5131424052915463e-08),
           (1.5707963705062866, -4.371138828673793e-08)]
_PI_K = [(3.1415927410125732, -8.742277657347586e-08), (2.677945137023926, -9.243493792610025e-08),
         (2.356194496154785, -5.962440319251527e-09), (2.158798933029175, -2.6867106317496336e-09),
         (1.5707963705062866, -4.371138828673793e-08)]


def _atan2_pos_f32(m: _Math, ay, ax, negative_x):
    """atan2(ay, ax) for ay, ax >= 0, from x's half-plane (pi - ... where negative_x):
    fdlibm's reduction of q = ay/ax to |t| <= 7/16 around atan(c), c = 0, 1/2, 1, 3/2, inf,
    with t computed from ay and ax directly (one division) and one final rounding."""
    b = m.b
    i0 = b.fcmp_ordered(">=", ay, m.mul(ax, m.c(0.4375)))
    i1 = b.fcmp_ordered(">=", ay, m.mul(ax, m.c(0.6875)))
    i2 = b.fcmp_ordered(">=", ay, m.mul(ax, m.c(1.1875)))
    i3 = b.fcmp_ordered(">=", ay, m.mul(ax, m.c(2.4375)))
    # ax == 0 compares false everywhere but is atan(inf)
    i3 = b.or_(i3, m.eq(ax, m.c(0.0)))

    def pick(vals):
        v = m.sel(i3, vals[4], vals[3])
        v = m.sel(i2, v, vals[2])
        v = m.sel(i1, v, vals[1])
        return m.sel(b.or_(i0, i3), v, vals[0])
    num = pick([ay, m.fma(ay, m.c(2.0), b.fneg(ax)), m.sub(ay, ax),
                m.fma(ax, m.c(-1.5), ay), b.fneg(ax)])
    den = pick([ax, m.fma(ax, m.c(2.0), ay), m.add(ay, ax), m.fma(ay, m.c(1.5), ax), ay])
    t = m.div(num, den)
    z = m.mul(t, t)
    ts = m.mul(m.mul(t, z), m.horner(z, _ATANF))
    sign = m.sel(negative_x, m.c(-1.0), m.c(1.0))
    k_hi = pick([m.sel(negative_x, m.c(p[0]), m.c(a[0])) for a, p in zip(_ATAN_K, _PI_K)])
    k_lo = pick([m.sel(negative_x, m.c(p[1]), m.c(a[1])) for a, p in zip(_ATAN_K, _PI_K)])
    return m.sub(k_hi, m.sub(m.sub(m.mul(sign, ts), k_lo), m.mul(sign, t)))


def _atan_f32(m: _Math, x):
    a = _atan2_pos_f32(m, m.fabs(x), m.c(1.0), ir.Constant(_bool_type(m), 0))
    return m.copysign(a, x)


def _bool_type(m: _Math):
    return ir.VectorType(I1, m.lanes) if m.lanes else I1


def _atan2_f32(m: _Math, y, x):
    b = m.b
    ay, ax = m.fabs(y), m.fabs(x)
    # Scale huge or tiny pairs (2*ax + ay must not overflow, 1.5*ax not lose bits).
    mx = m.call("llvm.maxnum", ay, ax, nargs=2)
    scale = m.sel(m.gt(mx, m.c(2.0 ** 100)), m.c(2.0 ** -64),
                  m.sel(m.lt(mx, m.c(2.0 ** -60)), m.c(2.0 ** 64), m.c(1.0)))
    ay, ax = m.mul(ay, scale), m.mul(ax, scale)
    negative_x = b.icmp_signed("<", m.bits(x), m.i(0))   # -0.0 included
    a = _atan2_pos_f32(m, ay, ax, negative_x)
    zero = b.and_(m.eq(ay, m.c(0.0)), m.eq(ax, m.c(0.0)))
    a = m.sel(zero, m.sel(negative_x, m.c(_PI_K[0][0]), m.c(0.0)), a)
    inf = b.and_(m.eq(ay, m.c(INF)), m.eq(ax, m.c(INF)))
    a = m.sel(inf, m.sel(negative_x, m.c(_PI_K[2][0]), m.c(_ATAN_K[2][0])), a)
    return m.copysign(a, y)


def _asin_acos_f32(m: _Math, x, acos: bool):
    """Below 1/2: x + x t P(t), t = x*x. Above: pi/2 - 2 (s + s t P(t)) (asin) with
    t = (1 - |x|)/2 and s = sqrt(t) plus its residual; the subtraction from pi/2 or pi is done
    with TwoSum, so the result rounds once."""
    b = m.b
    ax = m.fabs(x)
    small = m.lt(ax, m.c(0.5))
    t = m.sel(small, m.mul(x, x), m.mul(m.sub(m.c(1.0), ax), m.c(0.5)))   # exact above 1/2
    tp = m.mul(t, m.horner(t, _ASINF))
    s = m.sqrt(t)
    s_lo = m.div(m.fma(b.fneg(s), s, t), m.add(s, s))
    s_lo = m.sel(m.eq(t, m.c(0.0)), m.c(0.0), s_lo)
    w = m.fma(s, tp, s_lo)   # asin(sqrt t) = s + w

    def minus_2a(const):   # const - 2 (s + w)
        h, e = _two_sum(m, m.c(const[0]), m.b.fneg(m.add(s, s)))
        return m.add(h, m.add(e, m.fma(w, m.c(-2.0), m.c(const[1]))))
    pio2 = _ATAN_K[4]
    if not acos:
        return m.copysign(m.sel(small, m.fma(x, tp, x), minus_2a(pio2)), x)
    res_small = m.sub(m.c(pio2[0]), m.sub(x, m.sub(m.c(pio2[1]), m.mul(x, tp))))
    res_pos = m.mul(m.c(2.0), m.add(s, w))
    return m.sel(small, res_small, m.sel(m.lt(x, m.c(0.0)), minus_2a(_PI_K[0]), res_pos))


# erf/erfc of float32 in float64 without divisions but one: erf(x) = x (1 + Q(x*x)) below
# 0.84375 and erfc(x) = exp(-x*x) H(1/x)/x above (least-squares minimax fits, relative error
# 2e-9 and 1e-8), exp by Cody-Waite and a Taylor polynomial (2**-40).
_ERF_Q = [8.843631970174971e-05, -0.0008241817448662825, 0.005208707776395155,
          -0.02686208310585493, 0.11283736587502574, -0.3761263590506676, 0.12837916680087164]
_ERFC_H = [-0.05628869950609549, 0.4683376447783913, -1.7253031996856314, 3.6743697615726787,
           -4.910668517361737, 4.076902748705386, -1.7396060551610106, -0.14872545645939933,
           0.5290363789956473, -0.025661417372861484, -0.2787802216735024,
           -0.00022527529547577974, 0.5641958842815558]
_EXP_TAYLOR = [1 / math.factorial(k) for k in range(11, -1, -1)]


def _erf_erfc_f32(m: _Math, x, erfc: bool):
    b = m.b
    w = m.wide()
    xw = b.fpext(x, w.ty)
    ax = w.fabs(xw)
    z = w.mul(xw, xw)   # exact
    erf_small = w.fma(xw, w.horner(z, _ERF_Q), xw)
    # exp(-z) for z <= 110 (below, erfc is 0 in float32 anyway)
    a = b.fneg(w.clamp(z, 0.0, 110.0))
    k = w.rint(w.mul(a, w.c(1 / math.log(2))))
    r = w.fma(k, w.c(-6.93147180369123816490e-01), a)
    r = w.fma(k, w.c(-1.90821492927058770002e-10), r)
    e = w.ldexp(w.horner(r, _EXP_TAYLOR), w.to_int(k))
    t = w.div(w.c(1.0), w.clamp(ax, 0.84375, 10.1))
    tail = w.mul(w.mul(e, t), w.horner(t, _ERFC_H))   # erfc(|x|), |x| >= 0.84375
    small = m.lt(m.fabs(x), m.c(0.84375))
    if erfc:
        big = w.sel(w.lt(xw, w.c(0.0)), w.sub(w.c(2.0), tail), tail)
        return b.fptrunc(w.sel(small, w.sub(w.c(1.0), erf_small), big), m.ty)
    big = w.copysign(w.sub(w.c(1.0), tail), xw)
    return b.fptrunc(w.sel(small, erf_small, big), m.ty)


# ---- rare slow paths --------------------------------------------------------------------------
def _abs_above(limit: float):
    """Flag: limit < |x| < inf (on the bits, one unsigned compare)."""
    def flag(m: _Math, args):
        width = 32 if m.f32 else 64
        lim, inf = _float_bits(limit, width), _float_bits(INF, width)
        bits = m.b.and_(m.bits(args[0]), m.i((1 << (width - 1)) - 1))
        return m.b.icmp_unsigned("<", m.b.sub(bits, m.i(lim + 1)), m.i(inf - lim - 1))
    return flag


def _float_bits(v: float, width: int) -> int:
    if width == 32:
        return struct.unpack("<I", struct.pack("<f", v))[0]
    return struct.unpack("<Q", struct.pack("<d", v))[0]


def _splat(ty: ir.Type, v):
    if isinstance(ty, ir.VectorType):
        return ir.Constant(ty, [v] * ty.count)
    return ir.Constant(ty, v)


def _fmod_flag(m: _Math, args):
    """|x/y| >= 2**51 (in float64 for float32), y inf, or NaN anywhere."""
    w = m.wide() if m.f32 else m
    x, y = (m.b.fpext(a, w.ty) if m.f32 else a for a in args)
    ay = w.fabs(y)
    ok = w.lt(w.div(w.fabs(x), ay), w.c(2.0 ** 51))
    ok = m.b.and_(ok, w.lt(ay, w.c(INF)))
    return m.b.not_(ok)


# name -> (flag, slow body for the flagged lanes or None, flag of lanes left to libm), per type
_FIX = {"sin": (_abs_above(_TRIG_FAST_MAX), None, _abs_above(_TRIG_FAST_MAX)),
        "cos": (_abs_above(_TRIG_FAST_MAX), None, _abs_above(_TRIG_FAST_MAX)),
        "tan": (_abs_above(_TRIG_FAST_MAX), None, _abs_above(_TRIG_FAST_MAX)),
        "fmod": (_fmod_flag, None, _fmod_flag)}
_FIX32 = {name: (_abs_above(_F32_FAST_TRIG), _trig_f32(name, _sincos_f32_wide),
                 _abs_above(_F32_TRIG_MAX)) for name in ("sin", "cos")}
_FIX32["tan"] = (_abs_above(_F32_TRIG_MAX), None, _abs_above(_F32_TRIG_MAX))
_FIX32["fmod"] = _FIX["fmod"]
_VFS = (4, 8, 16)


class _VariantAttrs(CallInstrAttributes):
    """Call-site attributes plus one string attribute (llvmlite only knows keywords)."""

    def __init__(self, text: str):
        super().__init__(("nounwind",))
        self.text = text

    def _to_list(self, ret_type):
        return super()._to_list(ret_type) + [self.text]


def _fixup(m: _Math, name: str, args: list, fast):
    """`fast`, recomputed where `name`'s flag is set for `args` (by the slow body, and by
    libm's `name` where that is not accurate either)."""
    b, module = m.b, m.b.module
    suffix = "f32" if m.f32 else "f64"
    scalar_name = f"tg_fix_{name}_{suffix}"
    fn = module.globals.get(scalar_name)
    if fn is None:
        libm_name = name + ("f" if m.f32 else "")
        libm = module.globals.get(libm_name) or ir.Function(
            module, ir.FunctionType(m.ty, [m.ty] * len(args)), libm_name)
        how = (_FIX32 if m.f32 else _FIX)[name]
        fn = _fix_function(module, scalar_name, m.ty, len(args), how, libm, None)
        for vf in _VFS:
            _fix_function(module, f"{scalar_name}_v{vf}", m.ty, len(args), how, libm, vf)
    call = b.call(fn, list(args) + [fast])
    params = "v" * (len(args) + 1)
    call.attributes = _VariantAttrs('"vector-function-abi-variant"="' + ",".join(
        f"_ZGV_LLVM_N{vf}{params}_{scalar_name}({scalar_name}_v{vf})" for vf in _VFS) + '"')
    return call


def _fix_function(module, name, elem, nargs, how, libm, vf):
    """fix(args..., fast) for one element or a vector of `vf`: `fast` unless some lane is
    flagged. Out of line, so the vectorized loop only pays a call and a test."""
    flag, slow, libm_flag = how
    ty = elem if vf is None else ir.VectorType(elem, vf)
    fn = ir.Function(module, ir.FunctionType(ty, [ty] * (nargs + 1)), name)
    fn.attributes.add("noinline")
    fn.attributes.add("nounwind")
    if vf is None:
        fn.linkage = "internal"
        fn.attributes.add("readnone")   # libm's errno is never read
    else:
        fn.linkage = "weak_odr hidden"   # kept: only the call-site attribute names it
    *args, fast = fn.args
    entry = fn.append_basic_block("entry")
    b = ir.IRBuilder(entry)
    m = _Math(b, ty)

    def any_set(flags):
        if vf is None:
            return flags
        mask = ir.IntType(vf)
        return b.icmp_unsigned("!=", b.bitcast(flags, mask), ir.Constant(mask, 0))

    flags = flag(m, args)
    slow_bb = fn.append_basic_block("slow")
    done = fn.append_basic_block("done")
    b.cbranch(any_set(flags), slow_bb, done)
    b.position_at_end(slow_bb)
    if slow is None:
        value, lflags = fast, flags
    else:
        value = b.select(flags, slow(m, args[0]), fast)
        lflags = libm_flag(m, args)
    libm_bb = fn.append_basic_block("libm")
    b.cbranch(any_set(lflags), libm_bb, done)
    from_slow = b.block
    b.position_at_end(libm_bb)
    if vf is None:
        fixed = b.call(libm, list(args))
        last = b.block
        b.branch(done)
    else:
        loop = fn.append_basic_block("lane")
        call = fn.append_basic_block("call")
        latch = fn.append_basic_block("next")
        b.branch(loop)
        b.position_at_end(loop)
        i = b.phi(I32)
        acc = b.phi(ty)
        i.add_incoming(ir.Constant(I32, 0), libm_bb)
        acc.add_incoming(value, libm_bb)
        b.cbranch(b.extract_element(lflags, i), call, latch)
        b.position_at_end(call)
        one = b.call(libm, [b.extract_element(a, i) for a in args])
        acc2 = b.insert_element(acc, one, i)
        b.branch(latch)
        b.position_at_end(latch)
        fixed = b.phi(ty)
        fixed.add_incoming(acc, loop)
        fixed.add_incoming(acc2, call)
        i2 = b.add(i, ir.Constant(I32, 1))
        i.add_incoming(i2, latch)
        acc.add_incoming(fixed, latch)
        b.cbranch(b.icmp_unsigned("<", i2, ir.Constant(I32, vf)), loop, done)
        last = latch
    b.position_at_end(done)
    res = b.phi(ty)
    res.add_incoming(fast, entry)
    res.add_incoming(value, from_slow)
    res.add_incoming(fixed, last)
    b.ret(res)
    return fn


# ---- tables -----------------------------------------------------------------------------------
_BODIES = {"exp": _exp, "log": _log, "tanh": _tanh, "log1p": _log1p, "expm1": _expm1,
           "exp2": _exp2, "log2": _log2, "log10": _log10, "sinh": _sinh, "cosh": _cosh,
           "sin": _sin, "cos": _cos, "tan": _tan, "atan": _atan, "asin": _asin, "acos": _acos,
           "erf": _erf, "erfc": _erfc}
# float32 versions (exp, log and tanh have one body for both types).
_F32_BODIES = {"sin": _f32_trig("sin"), "cos": _f32_trig("cos"), "tan": _tan_f32,
               "exp2": _exp2_f32, "expm1": _expm1_f32, "log2": _log2_f32, "log10": _log10_f32,
               "log1p": _log1p_f32, "sinh": lambda m, x: _cosh_sinh_f32(m, x, True),
               "cosh": lambda m, x: _cosh_sinh_f32(m, x, False), "atan": _atan_f32,
               "asin": lambda m, x: _asin_acos_f32(m, x, False),
               "acos": lambda m, x: _asin_acos_f32(m, x, True),
               "erf": lambda m, x: _erf_erfc_f32(m, x, False),
               "erfc": lambda m, x: _erf_erfc_f32(m, x, True)}
_BINARY = {"atan2": lambda m, y, x: (_atan2_f32 if m.f32 else _atan2)(m, y, x),
           "fmod": _fmod}
