"""The generated matrix product used when no BLAS gemm is found: register tiles of C
accumulated over k where rows of B are contiguous, the i-k-j loop nest for the rest."""
from __future__ import annotations

import numpy as np
import pytest

from tracegrad.codegen import blas, cache_clear, compile_function, program
from tracegrad.ir import Builder, TensorType, float32, float64, ops


@pytest.fixture
def no_blas(monkeypatch):
    monkeypatch.setattr(blas, "find_gemm", lambda: {})
    program._context_parts.cache_clear()
    cache_clear()
    yield
    monkeypatch.undo()
    program._context_parts.cache_clear()
    cache_clear()


@pytest.mark.parametrize("dtype", [float32, float64])
@pytest.mark.parametrize("sa, sb, transpose_a", [
    ((5, 7), (7, 3), False),          # no full tile: the loop nest alone
    ((64, 100), (100, 96), False),    # whole tiles
    ((67, 33), (33, 70), False),      # tiles, leftover rows and columns
    ((3, 9, 20), (3, 20, 40), False),  # batched
    ((50, 40), (50, 64), True),       # A read through a transposed view
])
def test_generated_matmul_matches_numpy(no_blas, dtype, sa, sb, transpose_a):
    rng = np.random.default_rng(0)
    b = Builder("mm")
    x = b.param(TensorType(sa, dtype), "a")
    y = b.param(TensorType(sb, dtype), "b")
    a_op = ops.transpose(x, perm=(1, 0)) if transpose_a else x
    p = compile_function(b.build([ops.matmul(a_op, y)]))
    assert all(k.impl == "loops" for k in p.kernels if k.kind == "matmul")
    a = rng.standard_normal(sa).astype(dtype.np)
    c = rng.standard_normal(sb).astype(dtype.np)
    (got,) = p(a, c)
    want = (a.T if transpose_a else a).astype(np.float64) @ c.astype(np.float64)
    tol = 1e-5 if dtype is float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)
