"""Compiled float32 reductions on 1e7 elements are at least as accurate as numpy's sums,
whatever the loop nest: one pass, rows then the rest, columns accumulated in scratch rows
(float64; float32 within each thread range of rows, then float64), long rows summed in
float32 blocks spread over the vector lanes, then in float64."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tracegrad.codegen import compile_function
from tracegrad.ir import Builder, TensorType, float32, ops

N = 10_000_000


def _program(shape, dims):
    b = Builder("f")
    x = b.param(TensorType(shape, float32), "x")
    return compile_function(b.build([ops.reduce_sum(x, dims=dims, keepdim=False)]))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    # A positive offset makes the running sum large next to each term (rounding matters).
    return (rng.standard_normal(N) + 3).astype(np.float32)


@pytest.mark.parametrize("shape", [(N,), (2500, 4000), (4000, 2500)])
def test_full_sum_of_1e7_is_no_worse_than_numpy(data, shape):
    x = data.reshape(shape)
    exact = math.fsum(data.astype(np.float64))
    (got,) = _program(shape, tuple(range(len(shape))))(x)
    ours = abs(float(got) - exact)
    numpy_error = abs(float(np.sum(x)) - exact)
    # float64 accumulation: the error is the final rounding to float32 (half an ulp).
    assert ours <= max(numpy_error, 0.5 * np.spacing(np.float32(exact)))


@pytest.mark.parametrize("dims", [(0,), (1,)])
def test_row_and_column_sums_of_1e7_are_no_worse_than_numpy(data, dims):
    x = data.reshape(2500, 4000)
    exact = x.astype(np.float64).sum(axis=dims[0])   # float64 pairwise: exact enough here
    (got,) = _program(x.shape, dims)(x)
    ours = np.abs(got.astype(np.float64) - exact)
    numpy_error = np.abs(np.sum(x, axis=dims[0]).astype(np.float64) - exact)
    assert ours.max() <= numpy_error.max() and ours.mean() <= numpy_error.mean()
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    if dims == (0,):   # columns: float32 within each range of rows, float64 across ranges
        assert np.all(ours <= 4 * ulp)
    else:              # rows: float32 blocks over many lanes, then float64 (under one ulp)
        assert np.all(ours <= ulp)


@pytest.mark.parametrize("n", [1000, 4096])   # float64 accumulation; float32 blocks
def test_float32_sums_vectorize_at_full_float32_width(n):
    # The float64 accumulator must not halve the float32 lanes of the work feeding it.
    import re
    from tracegrad.codegen.jit import jit
    lanes = 16 if "+avx512f" in jit().target.features else 8
    b = Builder(f"sum_exp{n}")
    x = b.param(TensorType((n,), float32), "x")
    program = compile_function(b.build([ops.reduce_sum(ops.exp(x), dims=(0,), keepdim=False)]))
    text = program.llvm_ir_optimized
    full, half = (len(re.findall(rf"fmul <{w} x float>", text)) for w in (lanes, lanes // 2))
    assert full >= 8 and full > 2 * half   # the half-width ones: a remainder loop at most
    a = np.linspace(-3, 3, n, dtype=np.float32)
    (got,) = program(a)
    assert abs(float(got) - math.fsum(np.exp(a.astype(np.float64)))) <= 2e-6 * float(got)
