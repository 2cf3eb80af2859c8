"""The LLVM code generator against the reference interpreter (`tracegrad.ir.evaluate`).

Compiling costs ~10-20 ms per function, so tests share compiled programs through the codegen
cache (a structurally equal function is a cache hit) and keep the number of distinct
functions modest.
"""
from __future__ import annotations

import itertools
import math
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracegrad.codegen import UnsupportedError, cache_info, compile_function
from tracegrad.ir import OPS, Builder, Op, TensorType, bool_, evaluate, float32, float64, int64, ops

DTYPES = {np.dtype(np.float32): float32, np.dtype(np.float64): float64,
          np.dtype(np.int64): int64, np.dtype(np.bool_): bool_}
TOL = {float32: dict(rtol=2e-6, atol=1e-6), float64: dict(rtol=1e-12, atol=1e-12)}


def function(build, *types, name="f"):
    """Build a Function from `build(*syms)`; `types` are (shape, dtype) pairs."""
    b = Builder(name)
    syms = [b.param(TensorType(tuple(shape), dtype), f"x{i}")
            for i, (shape, dtype) in enumerate(types)]
    out = build(*syms)
    return b.build(list(out) if isinstance(out, (tuple, list)) else [out])


def assert_matches(got, want, rtol=None, atol=None):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert isinstance(g, np.ndarray)
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, g.dtype, w.shape, w.dtype)
        if w.dtype.kind == "f":
            tol = TOL[DTYPES[w.dtype]]
            np.testing.assert_allclose(g, w, rtol=rtol if rtol is not None else tol["rtol"],
                                       atol=atol if atol is not None else tol["atol"],
                                       equal_nan=True)
            # -0.0 vs 0.0 and inf signs must agree exactly where the reference is signed zero.
            zero = w == 0
            np.testing.assert_array_equal(np.signbit(g[zero]), np.signbit(w[zero]))
        else:
            np.testing.assert_array_equal(g, w)


def check(build, *arrays, rtol=None, atol=None):
    """Compile `build` for the arrays' types, run it, compare with the interpreter."""
    fn = function(build, *[(a.shape, DTYPES[a.dtype]) for a in arrays])
    prog = compile_function(fn)
    assert_matches(prog(*arrays), evaluate(fn, list(arrays)), rtol, atol)
    return prog


def values(dtype, shape, rng, special=True):
    """Test data of a dtype; floats include NaN, +-inf, -0.0 when `special`."""
    if dtype is bool_:
        return rng.random(shape) < 0.5
    if dtype is int64:
        return rng.integers(-50, 50, shape)
    a = rng.standard_normal(shape) * 3
    if special and a.size >= 8:
        flat = a.reshape(-1)
        flat[:6] = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1.0]
    return a.astype(dtype.np)


# -- every primitive ------------------------------------------------------------------------------
UNARY_FLOAT = ["exp", "log", "sqrt", "tanh", "sigmoid"]
UNARY = ["neg", "relu", "clone", "stop_gradient", "zeros_like"]
BINARY = ["add", "sub", "mul", "div", "pow"]
COMPARE = ["eq", "ne", "lt", "le", "gt", "ge"]
ALL_DTYPES = [float32, float64, int64, bool_]
# ---- reductions, scans, softmax ----
REDUCTIONS = ("sum", "prod", "amax", "amin", "argmax", "argmin")
SCANS = ("cumsum", "cumprod")
REDUCE_COMPOSITES = ("max", "min", "max_all", "min_all", "var", "std", "logsumexp", "softmax", "log_softmax", "any",
                     "all")

# ---- elementwise math, activations, binary elementwise ----
EW_FLOAT_UNARY = ("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "log2", "log10",
                  "log1p", "exp2", "expm1", "erf", "erfc", "rsqrt", "reciprocal")
EW_KEEP_DTYPE = ("abs", "floor", "ceil", "round", "trunc", "nan_to_num")
EW_BINARY = ("maximum", "minimum", "remainder", "fmod", "atan2", "clamp_min", "clamp_max")
EW_ACTIVATIONS = {"leaky_relu": dict(negative_slope=0.1),
                  "elu": dict(alpha=0.5, scale=1.5, input_scale=2.0),
                  "gelu": dict(approximate="none"), "silu": {}, "mish": {},
                  "softplus": dict(beta=2.0, threshold=3.0),
                  "hardtanh": dict(min_val=-0.5, max_val=2.0), "hardsigmoid": {},
                  "hardswish": {}, "logsigmoid": {}}


def _ew_cases():
    cases = [(n, d) for n in EW_FLOAT_UNARY + ("sign", "maximum", "minimum") for d in ALL_DTYPES]
    cases += [(n, d) for n in EW_KEEP_DTYPE + EW_BINARY + ("lerp", "clamp") for d in ALL_DTYPES
              if d is not bool_ and not (n in ("atan2", "lerp") and d is int64)]
    cases += [(n, d) for n in EW_ACTIVATIONS for d in (float32, float64)]
    return [c for c in cases if c not in (("lerp", int64),)]


def _build_ew(name, dtype, rng):
    """(build, arrays) for the elementwise family's ops, or None for other ops."""
    if name not in EW_FLOAT_UNARY + EW_KEEP_DTYPE + EW_BINARY + ("sign", "lerp", "clamp") + tuple(
            EW_ACTIVATIONS):
        return None
    op = OPS[name]
    x = values(dtype, (5, 7), rng)
    if dtype is int64:
        x = np.where(x == 0, -4, x)   # integer division by zero raises (as PyTorch)
    if name in EW_ACTIVATIONS:
        if name == "gelu":
            return (lambda a: (op(a, approximate="none"), op(a, approximate="tanh"))), [x]
        return (lambda a: op(a, **EW_ACTIVATIONS[name])), [x]
    if name == "nan_to_num":
        return (lambda a: op(a, nan=1.0, posinf=2.0, neginf=-2.0)), [x]
    if name == "clamp":
        return (lambda a, lo, hi: (op(a, lo, hi), op(a, -1, 2))), \
            [x, values(dtype, (7,), rng), values(dtype, (5, 1), rng)]
    if name == "lerp":
        return (lambda a, b, w: (op(a, b, w), op(a, b, 0.25), op(a, b, 0.75))), \
            [x, values(dtype, (7,), rng), values(dtype, (5, 1), rng)]
    if name in EW_BINARY:
        y = values(dtype, (7,), rng)
        if dtype is int64:
            y = np.where(y == 0, 3, y)
        if name in ("clamp_min", "clamp_max"):
            return (lambda a, b: (op(a, b), op(a, 1))), [x, y]
        return (lambda a, b: (op(a, b), op(b, a))), [x, y]
    return (lambda a: op(a)), [x]


# ---- shape and indexing ----
SHAPE_OPS = ("slice", "select", "diagonal", "flip", "constant_pad", "cat", "split", "stack",
             "roll", "repeat", "reflect_pad", "replicate_pad", "tril", "triu", "gather", "scatter",
             "index_select", "index", "masked_fill")


def _build_shape(name, dtype, rng):
    """(build, arrays) for the shape and indexing family, on (5, 7) data of `dtype` (floats
    with NaN, inf and -0.0, which concatenation and padding must pass through exactly)."""
    op = OPS[name]
    x = values(dtype, (5, 7), rng)
    idx = rng.integers(0, 7, (5, 3))
    perm = np.stack([rng.permutation(7)[:3] for _ in range(5)])   # no repeats within a row
    cases = {
        "slice": (lambda a: (op(a, dim=1, start=1, stop=7, step=3), op(a, dim=0, start=2,
                                                                        stop=2, step=1)), [x]),
        "select": (lambda a: op(a, dim=1, index=6) * 1, [x]),
        "diagonal": (lambda a: (op(a, offset=1, dim1=1, dim2=0), op(a, offset=-2, dim1=0,
                                                                     dim2=1)), [x]),
        "flip": (lambda a: (op(a, dims=(0, 1)), op(ops.transpose(a, perm=(1, 0)), dims=(0,)))
                 , [x]),
        "constant_pad": (lambda a: op(a, pads=((1, -2), (3, 0)), value=1), [x]),
        "cat": (lambda a, b: (op(a, b, dim=1), op(b, a, b, dim=1)), [x, values(dtype, (5, 2), rng)]),
        "split": (lambda a: op(a, dim=1, sizes=(2, 5), with_sizes=True), [x]),
        "stack": (lambda a: op(a, ops.flip(a, dims=(0,)), dim=2), [x]),
        "roll": (lambda a: (op(a, shifts=(2, -1), dims=(0, 1)), op(a, shifts=(3,), dims=())),
                 [x]),
        "repeat": (lambda a: op(a, repeats=(2, 1, 2)), [x]),
        "reflect_pad": (lambda a: op(a, pads=((0, (1, 2)), (1, (3, 1)))), [x]),
        "replicate_pad": (lambda a: op(a, pads=((1, (2, 1)),)), [x]),
        "tril": (lambda a: op(a, diagonal=1), [x]),
        "triu": (lambda a: op(a, diagonal=-1), [x]),
        "gather": (lambda a, i: op(a, i, dims=(1,), wrap=False, error="gather"), [x, idx]),
        "scatter": (lambda a, i, j, src: (
            op(a, i, src, dims=(1,), accumulate=False, wrap=False, error="scatter"),
            op(a, j, src, dims=(1,), accumulate=True, wrap=False, error="scatter")),
            [x, perm, idx, values(dtype, (5, 3), rng)]),
        "index_select": (lambda a, i: op(a, i, dim=1), [x, np.array([6, 0, 6, 2])]),
        "index": (lambda a, i, j: (op(a, i, j, dims=(0, 1)), op(a, j, dims=(1,))),
                  [x, np.array([-1, 0, 4]), np.array([2, -7, 6])]),
        "masked_fill": (lambda m, a, v: op(m, a, v),
                        [rng.random((5, 7)) < 0.5, x, values(dtype, (), rng)]),
        "one_hot": (lambda i: op(i, num_classes=7), [idx]),
    }
    return cases[name]


def _op_cases():
    cases = []
    for name in UNARY_FLOAT + UNARY:
        cases += [(name, d) for d in ALL_DTYPES]
    for name in BINARY + COMPARE + ["where"]:
        cases += [(name, d) for d in ALL_DTYPES]
    cases += [("convert", (s, d)) for s in ALL_DTYPES for d in ALL_DTYPES]
    cases += [("full", d) for d in ALL_DTYPES]
    cases += [("guard", bool_)]
    cases += [(name, float32) for name in ("sum", "mean", "norm", "matmul", "reshape",
                                           "transpose", "broadcast_to")]
    # ---- reductions, scans, softmax ----
    cases += [(name, d) for name in REDUCTIONS + SCANS for d in ALL_DTYPES if name != "sum"]
    cases += [(name, float32) for name in REDUCE_COMPOSITES + ("iota",)]
    # ---- elementwise math, activations, binary elementwise ----
    cases += _ew_cases()
    # ---- linear algebra ----
    cases += [("bmm", d) for d in (float32, float64, int64)]
    # ---- shape and indexing ----
    cases += [(name, d) for name in SHAPE_OPS for d in ALL_DTYPES]
    cases += [("one_hot", int64)]
    return cases


OP_CASES = _op_cases()


def test_every_op_is_covered():
    covered = {name for name, _ in OP_CASES}
    assert set(OPS) - covered == set(), "add new ops to OP_CASES (or to the unsupported list)"


def _build_op(name, dtype):
    """(build function, input arrays) exercising op `name` at `dtype`."""
    rng = np.random.default_rng(zlib.crc32(f"{name} {dtype}".encode()))  # same data every run
    op = OPS[name]
    # ---- elementwise math, activations, binary elementwise ----
    ew = _build_ew(name, dtype, rng)
    if ew is not None:
        return ew
    # ---- shape and indexing ----
    if name in SHAPE_OPS or name == "one_hot":
        return _build_shape(name, dtype, rng)
    if name == "convert":
        src, dst = dtype
        x = values(src, (4, 5), rng)
        if src.is_floating_point and dst is int64:
            x = np.where(np.isfinite(x), x, 7).astype(src.np)   # nan/inf -> int is undefined
        return (lambda a: ops.convert(a, dtype=dst)), [x]
    if name == "guard":
        return (lambda c: (ops.guard(c, expect=True, at="here"),
                           ops.guard(ops.reshape(c, shape=()), expect=False, at="there"))), \
            [np.asarray([True])[0:1].reshape(())]
    if name == "full":
        # `full` has no tensor operand, so it is emitted on the builder directly.
        return (lambda a: a + a.builder.emit(OPS["full"], [], dict(shape=(3, 4), dtype=dtype,
                                                                    value=2))), \
            [values(dtype, (3, 4), rng)]
    if name in ("sum", "mean", "norm"):
        return (lambda a: op(a, dims=(1,), keepdim=False)), [values(float32, (4, 6), rng)]
    if name == "matmul":
        return (lambda a, b: a @ b), [values(float32, (3, 4), rng, False),
                                      values(float32, (4, 2), rng, False)]
    if name == "bmm":   # batched, one operand broadcast over the batch (stride 0)
        return (lambda a, b: op(a, ops.broadcast_to(b, shape=(2, 4, 3)))), [
            values(dtype, (2, 3, 4), rng, False), values(dtype, (4, 3), rng, False)]
    if name == "reshape":
        return (lambda a: ops.reshape(a, shape=(6, 2)) * 2), [values(float32, (3, 4), rng)]
    if name == "transpose":
        return (lambda a: ops.transpose(a, perm=(1, 0)) + 1), [values(float32, (3, 4), rng)]
    if name == "broadcast_to":
        return (lambda a: ops.broadcast_to(a, shape=(2, 3, 4)) * 1), [values(float32, (3, 4), rng)]
    if name == "where":
        c = rng.random((3, 4)) < 0.5
        return (lambda c, a, b: ops.where(c, a, b)), [c, values(dtype, (3, 4), rng),
                                                      values(dtype, (4,), rng)]
    # ---- reductions, scans, softmax: a leading-dim (scratch) and a last-dim (register) case
    if name in REDUCTIONS + REDUCE_COMPOSITES[:4] + ("any", "all"):
        x = values(dtype, (5, 7), rng, special=name not in REDUCE_COMPOSITES)
        return (lambda a: (op(a, dims=(0,), keepdim=False), op(a, dims=(1,), keepdim=True))), [x]
    if name in SCANS:
        x = values(dtype, (5, 7), rng)
        if name == "cumprod" and dtype is int64:
            x = x % 7 - 3   # no overflow
        return (lambda a: (op(a, dim=0), op(a, dim=1, reverse=True))), [x]
    if name in ("var", "std"):
        return (lambda a: (op(a, dims=(0,), correction=1, keepdim=False),
                           op(a, dims=(0, 1), correction=0, keepdim=True))), \
            [values(dtype, (5, 7), rng, False)]
    if name == "logsumexp":
        return (lambda a: (op(a, dims=(0,), keepdim=False), op(a, dims=(1,), keepdim=True))), \
            [values(dtype, (5, 7), rng, False) * 30]
    if name in ("softmax", "log_softmax"):
        return (lambda a: (op(a, dim=0), op(a, dim=1))), [values(dtype, (5, 7), rng, False) * 30]
    if name == "iota":
        # 10 * column + row, the row from an index transposed twice
        return (lambda a: ops.iota(a, dim=1) * 10 + ops.transpose(
            ops.iota(ops.transpose(a, perm=(1, 0)), dim=1), perm=(1, 0))), \
            [values(dtype, (5, 7), rng)]
    if name not in BINARY + COMPARE:
        x = values(dtype, (5, 7), rng)
        if name == "log" and dtype.is_floating_point:
            x = np.abs(x)
            x.reshape(-1)[6] = -1.0
        return (lambda a: op(a)), [x]
    if name == "pow":
        x = values(dtype, (5, 7), rng)
        y = values(dtype, (5, 7), rng)
        if dtype is int64:
            y = np.abs(y) % 5
        return (lambda a, b: op(a, b)), [x, y]
    return (lambda a, b: op(a, b)), [values(dtype, (5, 7), rng), values(dtype, (7,), rng)]


@pytest.mark.parametrize("name,dtype", OP_CASES, ids=lambda v: str(v))
def test_op(name, dtype):
    build, arrays = _build_op(name, dtype)
    fn = function(build, *[(a.shape, DTYPES[a.dtype]) for a in arrays])
    try:
        want = evaluate(fn, arrays)
    except (TypeError, ValueError):
        # numpy rejects this dtype (e.g. boolean subtract): codegen must refuse, not guess.
        with pytest.raises(UnsupportedError, match=name):
            compile_function(fn)
        return
    assert_matches(compile_function(fn)(*arrays), want)


# -- broadcasting, 0-d, views -------------------------------------------------------------------
def test_broadcast_column_with_row():
    rng = np.random.default_rng(0)
    prog = check(lambda a, b: a * b + 1, rng.standard_normal((3, 1)).astype(np.float32),
                 rng.standard_normal(4).astype(np.float32))
    assert len(prog.kernels) == 1


def test_zero_dim_with_matrix_and_zero_dim_result():
    rng = np.random.default_rng(1)
    s = np.array(2.5, np.float32)
    m = rng.standard_normal((5, 7)).astype(np.float32)
    check(lambda s, m: s * m - s, s, m)
    check(lambda s: ops.exp(s) * 2, s)
    check(lambda s: s, s)   # result that is a parameter: must be a fresh array
    fn = function(lambda s: s, ((), float32))
    out = compile_function(fn)(s)[0]
    assert out is not s and out.shape == ()


def test_transposed_and_broadcast_views():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    check(lambda x: ops.exp(ops.transpose(x, perm=(2, 0, 1))), x)
    check(lambda x: ops.transpose(x, perm=(1, 2, 0)), x)
    v = rng.standard_normal(5).astype(np.float32)
    check(lambda x, v: x + ops.broadcast_to(v, shape=(3, 4, 5)), x, v)
    check(lambda x: ops.reshape(ops.transpose(x, perm=(1, 0, 2)), shape=(12, 5)) * 2, x)
    check(lambda x: ops.reshape(x * 2, shape=(60,)) + 1, x)


def test_non_contiguous_argument_is_accepted():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 8)).astype(np.float32)
    fn = function(lambda a: a * 2, ((4, 6), float32))
    view = x[::2, 1:7]
    assert not view.flags.c_contiguous
    np.testing.assert_array_equal(compile_function(fn)(view)[0], view * 2)


def test_argument_type_mismatch_raises():
    prog = compile_function(function(lambda a: a + 1, ((3,), float32)))
    with pytest.raises(TypeError):
        prog(np.zeros(3, np.float64))
    with pytest.raises(TypeError):
        prog(np.zeros(4, np.float32))
    with pytest.raises(TypeError):
        prog()


# -- reductions -----------------------------------------------------------------------------------
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_over_every_dims_subset(keepdim):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    for r in range(4):
        for dims in itertools.combinations(range(3), r):
            check(lambda x: ops.reduce_sum(x * 2 + 1, dims=dims, keepdim=keepdim), x)


def test_reductions_of_views_ints_and_bools():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 7)).astype(np.float64)
    check(lambda x: ops.reduce_sum(ops.transpose(x, perm=(1, 0)), dims=(1,), keepdim=False), x)
    check(lambda x: ops.reduce_sum(ops.broadcast_to(x, shape=(3, 6, 7)), dims=(0, 2),
                                   keepdim=True), x)
    i = rng.integers(-100, 100, (5, 9))
    check(lambda i: ops.reduce_sum(i * i, dims=(0,), keepdim=False), i)
    check(lambda i: ops.reduce_sum(i > 0, dims=(0, 1), keepdim=False), i)
    check(lambda x: ops.mean(x, dims=(0, 1), keepdim=True), x)
    check(lambda x: x - ops.mean(x, dims=(1,), keepdim=True), x)        # softmax-like shape
    check(lambda x: ops.norm(x, dims=(0,), keepdim=False) + ops.reduce_sum(x, dims=(0,),
                                                                           keepdim=False), x)


def test_reduction_edge_cases():
    x = np.array([-0.0, -0.0], np.float32)
    check(lambda x: ops.reduce_sum(x, dims=(0,), keepdim=False), x)     # -0.0 + -0.0
    e = np.zeros((0, 3), np.float32)
    check(lambda x: ops.reduce_sum(x, dims=(0,), keepdim=False), e)     # empty sum is +0
    n = np.array([1.0, np.nan, np.inf], np.float32)
    check(lambda x: ops.reduce_sum(x, dims=(0,), keepdim=False), n)
    one = np.ones((1, 4), np.float32)
    check(lambda x: ops.reduce_sum(x, dims=(0,), keepdim=True), one)


@pytest.mark.parametrize("n", [1, 3, 17, 1023, 1_000_000])
def test_sizes(n):
    rng = np.random.default_rng(n)
    x = rng.uniform(-2, 2, n).astype(np.float32)
    check(lambda x: 3 * (x + 2) ** 2, x)
    # f32 data is summed in f64 (numpy sums pairwise in f32): the difference is numpy's own
    # rounding, ~log2(n) * eps relative to sum(|x|), so allow a bit more than elementwise.
    scale = float(np.abs(3 * (x.astype(np.float64) + 2) ** 2).mean())
    check(lambda x: ops.mean(3 * (x + 2) ** 2, dims=(0,), keepdim=False), x,
          rtol=1e-5, atol=1e-6 * scale)
    check(lambda x: ops.exp(x) * ops.tanh(x), x)


def test_large_2d_reductions_both_orders():
    rng = np.random.default_rng(6)
    g = rng.standard_normal((1000, 300)).astype(np.float32)
    for dims in ((0,), (1,), (0, 1)):
        prog = check(lambda g: ops.reduce_sum(g, dims=dims, keepdim=False), g,
                     rtol=1e-5, atol=1e-4)
        strategy = prog.kernels[0].nest.strategy
        # Leading-dim sums walk memory in order, accumulating output rows.
        assert strategy == ("scratch" if dims == (0,) else "register")


# -- special values and transcendental accuracy -----------------------------------------------
SPECIAL = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-45, -1e-45, 1e-30, -1.0, 1.0, 0.5,
                    -0.5, 0.625, -0.625, 3.0, 20.0, -20.0, 88.7, 88.8, -103.9, -104.5, 1e38])


@pytest.mark.parametrize("dtype", [float32, float64])
@pytest.mark.parametrize("name", ["exp", "log", "tanh", "sigmoid", "relu", "neg", "sqrt"])
def test_special_values_unary(name, dtype):
    check(lambda x: OPS[name](x), SPECIAL.astype(dtype.np))


@pytest.mark.parametrize("dtype", [float32, float64])
def test_special_values_pow_and_compare(dtype):
    x = SPECIAL.astype(dtype.np)
    for c in (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, -1.0, 2.5, -2.0):
        check(lambda x: x ** c, x)
    y = np.roll(x, 3)
    check(lambda x, y: x ** y, x, y)
    for name in COMPARE:
        check(lambda x, y: OPS[name](x, y), x, y)
        check(lambda x: OPS[name](x, x), x)


def _ulp_error(got, exact, dtype):
    """|got - exact| in units of the spacing at the correctly rounded result."""
    rounded = exact.astype(dtype)
    with np.errstate(all="ignore"):
        err = np.abs(got.astype(np.float64) - exact) / np.spacing(np.abs(rounded)).astype(
            np.float64)
    same_inf = np.isinf(got) & (got == rounded)
    return np.where(same_inf, 0.0, err)


def test_exp_full_range_float32():
    x = np.linspace(-110, 90, 400_001).astype(np.float32)
    got = compile_function(function(ops.exp, ((x.size,), float32)))(x)[0]
    with np.errstate(all="ignore"):
        exact = np.exp(x.astype(np.float64))
        assert _ulp_error(got, exact, np.float32).max() <= 1.5
        # numpy's own AVX-512 expf is up to ~2.4 ulp off, so it can differ from us by ~3.
        assert _ulp_error(got, np.exp(x).astype(np.float64), np.float32).max() <= 4
    assert np.all(got[x > 88.73] == np.inf) and np.all(got[x < -104] == 0)


def test_log_full_range_float32():
    x = np.geomspace(1e-45, 1e38, 400_001).astype(np.float32)
    got = compile_function(function(ops.log, ((x.size,), float32)))(x)[0]
    exact = np.log(x.astype(np.float64))
    assert _ulp_error(got, exact, np.float32).max() <= 1.0
    # numpy's AVX-512 logf is up to ~3.1 ulp off itself.
    assert _ulp_error(got, np.log(x).astype(np.float64), np.float32).max() <= 4


def test_tanh_and_f64_accuracy():
    x = np.concatenate([np.linspace(-12, 12, 200_001), np.geomspace(1e-30, 0.7, 1001)])
    for dtype, bound in ((np.float32, 1.5), (np.float64, 2.0)):
        xs = x.astype(dtype)
        dt = DTYPES[np.dtype(dtype)]
        got = compile_function(function(ops.tanh, ((xs.size,), dt)))(xs)[0]
        exact = np.tanh(xs.astype(np.longdouble)).astype(np.float64)
        assert _ulp_error(got, exact, dtype).max() <= bound
    x64 = np.linspace(-740, 705, 100_001)
    got = compile_function(function(ops.exp, ((x64.size,), float64)))(x64)[0]
    exact = np.exp(x64.astype(np.longdouble)).astype(np.float64)
    assert _ulp_error(got, exact, np.float64).max() <= 2.0
    x64 = np.geomspace(1e-310, 1e300, 100_001)
    got = compile_function(function(ops.log, ((x64.size,), float64)))(x64)[0]
    exact = np.log(x64.astype(np.longdouble)).astype(np.float64)
    assert _ulp_error(got, exact, np.float64).max() <= 1.5


# -- integers -------------------------------------------------------------------------------------
def test_int64_arithmetic():
    rng = np.random.default_rng(7)
    a = rng.integers(-10, 10, 37)
    b = rng.integers(0, 6, 37)
    check(lambda a, b: (a + b) * a - b, a, b)
    check(lambda a, b: a ** b, a, b)
    check(lambda a: a ** 3 + a ** 0 + a ** 5, a)
    check(lambda a, b: ops.where(a < b, a, -b), a, b)
    big = np.array([2**62, -2**63, 3, 2**40], np.int64)
    check(lambda a: a * a + a, big)          # wraps like numpy
    check(lambda a: a ** 2, big)
    for name in COMPARE:
        check(lambda a, b: OPS[name](a, b), a, b)


# -- matmul ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [float32, float64, int64])
def test_matmul_shapes(dtype):
    rng = np.random.default_rng(8)
    tol = {float32: dict(rtol=1e-5, atol=1e-5), float64: {}, int64: {}}[dtype]
    for m, k, n in [(1, 5, 7), (7, 5, 1), (3, 4, 5), (33, 65, 17), (1, 1, 1)]:
        a = values(dtype, (m, k), rng, special=False)
        b = values(dtype, (k, n), rng, special=False)
        check(lambda a, b: a @ b, a, b, **tol)
        # transposed operands are strided views (CblasTrans), not copies
        prog = check(lambda b, a: ops.transpose(b, perm=(1, 0)) @ ops.transpose(a, perm=(1, 0)),
                     b, a, **tol)
        assert [k_.kind for k_ in prog.kernels] == ["matmul"]
        check(lambda a, b: ops.tanh(a @ b * 0.1) + 1, a, b, **tol)


def test_matmul_of_expression_and_empty_inner_dim():
    rng = np.random.default_rng(9)
    a = rng.standard_normal((4, 3)).astype(np.float32)
    b = rng.standard_normal((3, 5)).astype(np.float32)
    prog = check(lambda a, b: (a * 2) @ ops.exp(b), a, b, rtol=1e-5)
    assert [k.kind for k in prog.kernels] == ["map", "map", "matmul"]
    check(lambda a, b: a @ b, np.zeros((4, 0), np.float32), np.zeros((0, 5), np.float32))


# -- fusion, sharing, cache, errors ---------------------------------------------------------------
def test_fusion_one_kernel_no_temporaries():
    prog = compile_function(function(lambda x: 3 * (x + 2) ** 2, ((4,), float32)))
    assert len(prog.kernels) == 1 and prog.schedule.arena_bytes == 0
    prog = compile_function(function(
        lambda x: ops.mean(3 * (x + 2) ** 2, dims=(0,), keepdim=False), ((4,), float32)))
    assert len(prog.kernels) == 1 and prog.kernels[0].kind == "reduce"
    assert prog.schedule.arena_bytes == 0


def test_shared_subexpression_computed_once():
    def build(x):
        e = ops.exp(x)
        return [e + 1, e * 2, ops.reduce_sum(e, dims=(0,), keepdim=False)]
    x = np.linspace(-3, 3, 100).astype(np.float32)
    prog = check(build, x)
    assert len(prog.kernels) == 1
    assert prog.llvm_ir.count('call float @"tg.exp.f32"') == 1
    prog = check(lambda x: (lambda e: e * e + e)(ops.exp(x)), x)
    assert prog.llvm_ir.count('call float @"tg.exp.f32"') == 1


def test_softmax_shape_pipeline():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((8, 100)).astype(np.float32)

    def softmax(x):
        e = ops.exp(x)
        return e / ops.reduce_sum(e, dims=(1,), keepdim=True)
    prog = check(softmax, x)
    assert len(prog.kernels) == 2   # exp + row sums in one pass, the division in another


def test_cache_hit_for_structurally_equal_function():
    def make():
        return function(lambda x, y: ops.sigmoid(x * y) - 0.25, ((3, 7), float32),
                        ((7,), float32), name="cached")
    before = cache_info()
    p1 = compile_function(make())
    mid = cache_info()
    p2 = compile_function(make())
    after = cache_info()
    assert p1 is p2
    assert mid["misses"] == before["misses"] + 1 and mid["hits"] == before["hits"]
    assert after["hits"] == mid["hits"] + 1 and after["misses"] == mid["misses"]


def test_unsupported_op_is_named():
    opaque = Op("mystery_op", kind="opaque", infer=lambda x: x, impl=lambda x: x)
    b = Builder("f")
    x = b.param(TensorType((3,), float32))
    (y,) = b.emit_vars(opaque, [b.atom(x)], {})
    with pytest.raises(UnsupportedError, match="mystery_op"):
        compile_function(b.build([y]))


def test_program_exposes_ir_and_asm():
    prog = compile_function(function(lambda x: ops.exp(x) + 1, ((1000,), float32)))
    assert "define" in prog.llvm_ir and "<16 x float>" in prog.llvm_ir_optimized or \
        "<8 x float>" in prog.llvm_ir_optimized
    assert "ret" in prog.asm
    assert "fast" not in prog.llvm_ir_optimized.replace("fastcc", "")


def test_results_are_fresh_arrays():
    x = np.arange(6, dtype=np.float32)
    prog = compile_function(function(lambda x: (lambda y: [y, y, ops.reshape(y, shape=(2, 3))])(
        x * 2), ((6,), float32)))
    a, b, c = prog(x)
    assert not np.shares_memory(a, b) and not np.shares_memory(a, c)
    a2 = prog(x)[0]
    assert not np.shares_memory(a, a2)
    np.testing.assert_array_equal(c, (x * 2).reshape(2, 3))


# -- randomized expressions -----------------------------------------------------------------------
_SHAPES = [(3, 4), (4,), (3, 1), (), (1, 4)]
_UNARY = [ops.exp, ops.tanh, ops.sigmoid, ops.relu, ops.neg, lambda a: ops.sqrt(a * a + 1),
          lambda a: ops.log(a * a + 0.5), lambda a: a ** 2, lambda a: a ** 3,
          lambda a: ops.transpose(ops.broadcast_to(a, shape=(3, 4)), perm=(1, 0))]
_BINARY = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
           lambda a, b: a / (b * b + 1.0)]


def _expr(draw, leaves, depth):
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return leaves[draw(st.integers(0, len(leaves) - 1))]
    kind = draw(st.integers(0, 2))
    if kind == 0:
        a = _expr(draw, leaves, depth - 1)
        try:
            return draw(st.sampled_from(_UNARY))(a)
        except RuntimeError:   # a layout op that doesn't apply to this shape
            return a
    a, b = _expr(draw, leaves, depth - 1), _expr(draw, leaves, depth - 1)
    if a.shape != b.shape and a.ndim == b.ndim == 2:
        a = ops.reduce_sum(a, dims=(0, 1), keepdim=False)
    if kind == 1:
        try:
            return draw(st.sampled_from(_BINARY))(a, b)
        except RuntimeError:   # shapes that don't broadcast
            return a
    # comparisons only on parameters: results of transcendentals may differ by an ulp
    c = leaves[0] > leaves[-1]
    try:
        return ops.where(c, a, b)
    except RuntimeError:
        return a


@st.composite
def _programs(draw):
    shapes = [draw(st.sampled_from(_SHAPES)) for _ in range(draw(st.integers(1, 3)))]
    b = Builder("rand")
    leaves = [b.param(TensorType(s, float64)) for s in shapes]
    out = _expr(draw, leaves, 4)
    fn = b.build([out])
    seed = draw(st.integers(0, 2**31))
    return fn, shapes, seed


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_programs())
def test_random_elementwise_expressions(case):
    fn, shapes, seed = case
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-3, 3, s) for s in shapes]
    got = compile_function(fn)(*arrays)
    want = evaluate(fn, arrays)
    # f64 transcendentals differ from numpy's by an ulp or two; subtractions can cancel.
    assert_matches(got, want, rtol=1e-9, atol=1e-9)


def test_math_constants_sanity():
    assert math.isclose(float(compile_function(function(ops.exp, ((), float64)))(
        np.array(1.0))[0]), math.e, rel_tol=1e-15)


def test_literal_and_unused_parameter_results():
    from tracegrad.ir import Literal
    b = Builder("lit")
    x = b.param(TensorType((3,), float32))
    b.param(TensorType((2,), int64))      # unused
    fn = b.build([Literal(2.5, float32), x * 2])
    prog = compile_function(fn)
    args = [np.arange(3, dtype=np.float32), np.arange(2)]
    got = prog(*args)
    assert_matches(got, evaluate(fn, args))
    got[0][...] = 7   # fresh each call
    assert prog(*args)[0] == 2.5


def test_distinct_literals_in_one_equation_stay_distinct():
    # Regression: literal operands become fresh nodes; a memo keyed by id() once handed the
    # first literal back for the second.
    x = np.array([1.0, -1.0, 0.5], np.float32)
    check(lambda x: ops.where(x > 0, 1.5, 0.0), x)
    check(lambda x: ops.where(x > 0, -2.0, 7.0) * 3.0 + ops.where(x < 1, 0.25, 9.0), x)


def test_empty_tensors_and_temporaries():
    # Size-0 intermediates need no arena; every kernel over them runs zero iterations.
    x, w, b = np.zeros((0, 3), np.float32), np.ones((3, 2), np.float32), np.ones(2, np.float32)
    check(lambda x, w, b: ops.reduce_sum(ops.matmul(x, w) + b, dims=(0, 1), keepdim=False),
          x, w, b)
    check(lambda a, c: ops.exp(ops.matmul(a, c)), np.ones((2, 0), np.float32),
          np.ones((0, 3), np.float32))
    check(lambda x: ops.mean(x * 2.0, dims=(0,), keepdim=False), np.zeros((0, 3), np.float32))


def test_empty_intermediates_of_an_empty_reduction_are_not_written():
    # x[[]] (size 0) feeds a sum (0.0): the kernel must not store into the zero-size buffer.
    b = Builder("f")
    x = b.param(TensorType((1,), float32), "x")
    idx = b.param(TensorType((0,), int64), "i")
    picked = ops.index(x, idx, dims=(0,))
    prog = compile_function(b.build([picked, ops.reduce_sum(picked, dims=(0,), keepdim=False)]))
    for _ in range(50):
        empty, total = prog(np.array([0.5], np.float32), np.zeros(0, np.int64))
        assert empty.shape == (0,) and total == 0.0
    assert prog.llvm_ir_optimized.count("store float") == 1


def test_float64_expm1_and_log1p_do_not_overflow_early():
    b = Builder("f")
    x = b.param(TensorType((4,), float64), "x")
    prog = compile_function(b.build([ops.expm1(x), ops.log1p(x)]))
    big = np.array([703.3, 709.0, 1e-10, -3.0])
    np.testing.assert_allclose(prog(big)[0], np.expm1(big), rtol=1e-14)
    huge = np.array([1e306, 1e308, 1.7e308, 1e-12])
    np.testing.assert_allclose(prog(huge)[1], np.log1p(huge), rtol=1e-14)
