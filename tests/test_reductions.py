"""Reductions, scans and softmax at the points the op table avoids (ties, zeros, NaN, -inf,
degenerate corrections), eager and compiled, against PyTorch; and how the backend lowers them."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tracegrad as tg
from tracegrad.codegen import compile_function
from tracegrad.ir import Builder, TensorType, float32, ops

torch = pytest.importorskip("torch")

NAN, INF = math.nan, math.inf
TIES = [[1.0, 3.0, 3.0, -2.0], [3.0, 0.0, 3.0, 3.0], [-1.0, -1.0, 0.5, -1.0]]
ZEROS = [[1.5, 0.0, 2.0, 3.0], [0.0, 2.0, 0.0, 4.0], [2.0, -3.0, 0.5, 5.0]]
NANS = [[1.0, NAN, 3.0, NAN], [2.0, 5.0, 5.0, 1.0], [7.0, 7.0, -1.0, 7.0]]
NEG_INF = [[-INF, 0.0, 1.0, -INF], [-INF, -INF, -INF, -INF], [0.5, 2.0, -INF, 1.0]]

# (id, fn(m, x), input): gradients where PyTorch's derivatives.yaml picks a subgradient.
CASES = [
    ("max_all_ties", lambda m, x: x.max(), TIES),
    ("min_all_ties", lambda m, x: x.min(), TIES),
    ("amax_ties", lambda m, x: x.amax(1), TIES),
    ("amin_tuple_ties", lambda m, x: x.amin((0, 1)), TIES),
    ("max_dim_ties", lambda m, x: x.max(1).values, TIES),
    ("min_dim_ties", lambda m, x: m.min(x, 0, keepdim=True).values, TIES),
    ("prod_all_one_zero", lambda m, x: x.prod(), [[1.5, 0.0, 2.0]]),
    ("prod_all_two_zeros", lambda m, x: x.prod(), ZEROS),
    ("prod_dim_zeros", lambda m, x: x.prod(1), ZEROS),
    ("prod_dim0_zeros", lambda m, x: x.prod(0, keepdim=True), ZEROS),
    ("cumprod_zeros", lambda m, x: x.cumprod(1), ZEROS),
    ("cumprod_zeros_dim0", lambda m, x: x.cumprod(0), ZEROS),
    ("norm2_zero", lambda m, x: x.norm(dim=1), [[0.0, 0.0], [3.0, 4.0]]),
    ("norm1_zero", lambda m, x: x.norm(1, dim=1), [[0.0, 1.0], [0.0, 0.0]]),
    ("norm_inf_ties", lambda m, x: x.norm(INF, dim=1), [[0.0, -2.0, 2.0], [0.0, 0.0, 0.0]]),
    ("norm_neg_inf", lambda m, x: x.norm(-INF), [[1.0, -0.5, 0.5]]),
    ("norm3_zero", lambda m, x: x.norm(3, dim=1), [[0.0, 1.0], [0.0, 0.0]]),
    ("norm_half_zero", lambda m, x: x.norm(0.5, dim=1), [[0.0, 1.0], [4.0, 0.0]]),
    ("std_constant", lambda m, x: x.std(1), [[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]]),
    ("var_one_element", lambda m, x: x.var(1, correction=0), [[2.0], [1.0]]),
    ("logsumexp_neg_inf", lambda m, x: x.logsumexp(1), NEG_INF),
    ("softmax_neg_inf", lambda m, x: m.softmax(x, 1), NEG_INF),
    ("log_softmax_masked", lambda m, x: x.log_softmax(1), [[-INF, 0.0, 1.0], [0.0, 0.0, 0.0]]),
    ("max_nan", lambda m, x: x.max(1).values, NANS),
    ("amax_nan", lambda m, x: x.amax(), NANS),
    ("softmax_nan", lambda m, x: m.softmax(x, 1), NANS),
]


def _run(m, fn, data, compiled):
    x = m.tensor(np.array(data, dtype=np.float32), requires_grad=True)
    f = (lambda x: fn(m, x))
    if compiled:
        f = tg.compile(f)
    y = f(x)
    w = np.random.default_rng(3).standard_normal(tuple(y.shape)).astype(np.float32)
    (y * m.tensor(w)).sum().backward()
    return y.detach().numpy(), None if x.grad is None else x.grad.numpy()


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("name, fn, data", CASES, ids=[c[0] for c in CASES])
def test_special_points_match_torch(name, fn, data, compiled):
    value, grad = _run(tg, fn, data, compiled)
    t_value, t_grad = _run(torch, fn, data, False)
    np.testing.assert_allclose(value, t_value, rtol=1e-6, atol=1e-6, equal_nan=True)
    assert (grad is None) == (t_grad is None)
    np.testing.assert_allclose(grad, t_grad, rtol=1e-5, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_nan_and_ties_select_like_torch(compiled):
    fn = (lambda m, x: (*x.max(1), *x.min(0), x.argmax(), x.argmin(1, keepdim=True),
                        x.argmax(0)))
    x = np.array(NANS, dtype=np.float32)
    f = (lambda x: fn(tg, x))
    got = (tg.compile(f) if compiled else f)(tg.tensor(x))
    want = fn(torch, torch.tensor(x))
    for g, w in zip(got, want):
        assert str(g.dtype) == str(w.dtype)
        np.testing.assert_array_equal(g.numpy(), w.numpy())


def test_max_with_dim_is_a_named_pair():
    x = tg.tensor([[1.0, 5.0], [7.0, 2.0]])
    out = x.max(dim=1)
    values, indices = out
    assert out.values is values and out.indices is indices
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert type(out).__name__ == "max" and type(x.min(0)).__name__ == "min"


def test_binary_max_and_min_are_elementwise():
    a, b = tg.tensor([1.0, 5.0, -2.0]), tg.tensor([3.0, 2.0, -2.5])
    assert tg.max(a, b).tolist() == [3.0, 5.0, -2.0]
    assert a.min(b).tolist() == [1.0, 2.0, -2.5]


@pytest.mark.parametrize("correction, n, want", [(1, 1, "nan"), (3, 3, "inf"), (2.5, 2, "inf")])
def test_var_degrees_of_freedom_nonpositive_warns(correction, n, want):
    x = np.arange(1.0, n + 1, dtype=np.float32)
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        got = tg.tensor(x).var(correction=correction).item()
    with pytest.warns(UserWarning):
        expected = torch.tensor(x).var(correction=correction).item()
    assert str(got) == str(expected) == want


def test_moment_arguments():
    x = tg.tensor([[1.0, 2.0, 4.0], [0.0, 3.0, 3.0]])
    t = torch.tensor(x.numpy())
    assert np.allclose(x.var(False).numpy(), t.var(False).numpy())
    assert np.allclose(x.std(1, True, True).numpy(), t.std(1, True, True).numpy())
    assert np.allclose(tg.var(x, 0, unbiased=False).numpy(), torch.var(t, 0, unbiased=False))
    with pytest.raises(RuntimeError, match="both"):
        x.var(0, True, correction=0)


def test_norm_zero_order_counts_and_has_no_gradient():
    x = tg.tensor([[0.0, 2.0], [0.0, 0.0]], requires_grad=True)
    y = x.norm(0, dim=1)
    assert y.tolist() == [1.0, 0.0] and y.grad_fn.name() == "LinalgVectorNormBackward0"
    y.sum().backward()
    assert x.grad is None   # as in PyTorch


def test_empty_reductions():
    e = tg.zeros(0, 3)
    assert e.prod(0).tolist() == [1.0, 1.0, 1.0]
    assert e.sum(0).tolist() == [0.0, 0.0, 0.0]
    assert e.logsumexp(0).tolist() == [-INF, -INF, -INF]
    assert e.any().item() is False and e.all().item() is True
    assert e.amax(1).shape == (0,) and e.cumsum(0).shape == (0, 3)
    f = tg.compile(lambda e: (e.prod(0), e.logsumexp(0), e.all(1), e.any(0), e.cumprod(1)))
    prod, lse, all_, any_, cp = f(e)
    assert prod.tolist() == [1.0] * 3 and lse.tolist() == [-INF] * 3
    assert all_.shape == (0,) and any_.tolist() == [False] * 3 and cp.shape == (0, 3)


def test_dtypes_follow_torch():
    i = tg.tensor([[1, 2], [3, 4]])
    b = tg.tensor([True, False, True])
    assert i.prod().dtype is tg.int64 and b.prod().dtype is tg.int64
    assert b.cumsum(0).tolist() == [1, 1, 2] and b.cumsum(0).dtype is tg.int64
    assert b.amax().dtype is tg.bool and i.amax(0).tolist() == [3, 4]
    assert i.logsumexp(1).dtype is tg.float32
    assert i.sum(dtype=tg.float64).dtype is tg.float64
    assert i.cumsum(1, dtype=tg.float32).dtype is tg.float32
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        tg.softmax(i, 0)
    with pytest.raises(RuntimeError, match="Expected a floating point"):
        i.norm()
    with pytest.raises(RuntimeError, match="cannot compute the inf norm on an empty tensor"):
        tg.zeros(0).norm(INF)


def test_float32_accumulates_in_float64():
    rng = np.random.default_rng(11)
    x = (rng.random(200_000) + 0.5).astype(np.float32)
    exact = np.cumsum(x.astype(np.float64))
    f = tg.compile(lambda t: (t.cumsum(0), t.sum(), t.reshape(400, 500).prod(1)))
    cs, s, p = f(tg.tensor(x))
    assert np.abs(cs.numpy() / exact - 1).max() < 1e-7
    assert abs(s.item() / exact[-1] - 1) < 1e-7
    exact_p = np.prod(x.reshape(400, 500).astype(np.float64), axis=1)
    assert np.abs(p.numpy() / exact_p - 1).max() < 1e-6


def _kernels(build, *shapes):
    b = Builder("f")
    syms = [b.param(TensorType(s, float32), f"x{i}") for i, s in enumerate(shapes)]
    out = build(*syms)
    return compile_function(b.build(list(out) if isinstance(out, tuple) else [out])).kernels


def test_composites_fuse_into_reduction_kernels():
    # softmax: the max; exp(x - max) summed in the same pass; the division.
    assert len(_kernels(lambda x: ops.softmax(x, dim=1), (8, 100))) == 3
    # var: the mean, then the squared deviations summed with the division as epilogue.
    kinds = [k.kind for k in _kernels(lambda x: ops.var(x, dims=(1,), correction=1,
                                                         keepdim=False), (8, 100))]
    assert kinds == ["reduce", "reduce"]
    # argmax and amax over the same rows share one loop nest.
    ks = _kernels(lambda x: (ops.argmax(x, dims=(1,), keepdim=False),
                             ops.amax(x, dims=(1,), keepdim=False)), (8, 100))
    assert len(ks) == 1


def test_argmax_first_index_in_any_loop_order():
    # A reduction over the leading dim runs with the reduced loop outside ("scratch"): the
    # tie-break on the index keeps the first occurrence anyway.
    x = np.zeros((300, 40), dtype=np.float32)
    x[[7, 100, 250], 5] = 2.0
    x[:, 9] = np.nan
    x[[3, 4], 9] = 1.0
    fn = lambda t: (t.argmax(0), t.argmin(0), t.T.argmax(), t.amax(0))
    got = tg.compile(fn)(tg.tensor(x))
    want = fn(torch.tensor(x))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w.numpy())


def test_functional_softmax_implicit_dim_warns_like_torch():
    x = np.random.default_rng(2).standard_normal((2, 3)).astype(np.float32)
    for name in ("softmax", "log_softmax"):
        with pytest.warns(UserWarning, match="Implicit dimension choice"):
            got = getattr(tg.nn.functional, name)(tg.tensor(x))
        with pytest.warns(UserWarning):
            want = getattr(torch.nn.functional, name)(torch.tensor(x))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    got = tg.nn.functional.softmax(tg.tensor(x), dim=0, dtype=tg.float64)
    assert got.dtype is tg.float64
