"""tracegrad.func: grad, value_and_grad, vjp, jvp, jacrev, hessian, against analytic
derivatives and float64 finite differences; composition; compiled functions (first order)."""
from __future__ import annotations

import numpy as np
import pytest

import tracegrad as tg
from tracegrad import func
from helpers import central_difference

X = np.array([0.3, -1.2, 2.0])


def _x(values=X):
    return tg.tensor(np.asarray(values, np.float64))


def f(x):
    return (x.sin() * x ** 2).sum()


def df(v):
    return np.cos(v) * v ** 2 + 2 * v * np.sin(v)


def d2f(v):
    return -np.sin(v) * v ** 2 + 4 * v * np.cos(v) + 2 * np.sin(v)


def d3f(v):
    return -np.cos(v) * v ** 2 - 6 * v * np.sin(v) + 6 * np.cos(v)


def test_grad_composes_to_third_order():
    np.testing.assert_allclose(func.grad(f)(_x()).numpy(), df(X), rtol=1e-12)
    g2 = func.grad(lambda x: func.grad(f)(x).sum())
    np.testing.assert_allclose(g2(_x()).numpy(), d2f(X), rtol=1e-12)
    g3 = func.grad(lambda x: func.grad(lambda y: func.grad(f)(y).sum())(x).sum())
    np.testing.assert_allclose(g3(_x()).numpy(), d3f(X), rtol=1e-12)


def test_value_and_grad_argnums_and_aux():
    def loss(w, x):
        y = (x * w).tanh()
        return (y * y).sum(), y
    w, x = _x([0.5, -0.25, 1.0]), _x()
    (value, aux), (gw, gx) = func.value_and_grad(loss, argnums=(0, 1), has_aux=True)(w, x)
    t = np.tanh(X * w.numpy())
    np.testing.assert_allclose(value.item(), (t * t).sum(), rtol=1e-12)
    np.testing.assert_allclose(aux.detach().numpy(), t, rtol=1e-12)
    np.testing.assert_allclose(gw.detach().numpy(), 2 * t * (1 - t * t) * X, rtol=1e-12)
    np.testing.assert_allclose(gx.detach().numpy(), 2 * t * (1 - t * t) * w.numpy(), rtol=1e-12)
    assert not w.requires_grad and w.grad is None       # inputs untouched


def test_hessian_against_analytic_and_finite_differences():
    def g(x):
        return (x[0] * x[1] ** 2 + (x ** 2).sum() * x[2]).sum()
    h = func.hessian(g)(_x([1.0, -2.0, 0.5])).numpy()
    a, b, c = 1.0, -2.0, 0.5
    np.testing.assert_allclose(h, [[2 * c, 2 * b, 2 * a], [2 * b, 2 * a + 2 * c, 2 * b],
                                   [2 * a, 2 * b, 6 * c]], rtol=1e-12)
    num = np.stack([central_difference(lambda v: func.grad(g)(tg.tensor(v[0])).numpy()[i],
                                       [np.array([1.0, -2.0, 0.5])], 0, 1e-6)
                    for i in range(3)])
    np.testing.assert_allclose(h, num, rtol=1e-6, atol=1e-8)


def test_jvp_equals_jacobian_times_tangent():
    def h(x, w):
        return (x[:, None] * w).tanh() @ x
    x, w = _x(), tg.tensor(np.arange(9, dtype=np.float64).reshape(3, 3) / 10)
    tx, tw = _x([1.0, 0.5, -2.0]), tg.tensor(np.ones((3, 3)))
    out, tangent = func.jvp(h, (x, w), (tx, tw))
    jx = func.jacrev(h, 0)(x, w).detach().numpy()
    jw = func.jacrev(h, 1)(x, w).detach().numpy()
    want = jx @ tx.numpy() + np.einsum("oij,ij->o", jw, tw.numpy())
    np.testing.assert_allclose(tangent.detach().numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(out.detach().numpy(), h(x, w).numpy(), rtol=1e-12)


def test_vjp_function():
    out, vjp_fn = func.vjp(lambda x, y: (x * y, x.exp()), _x(), _x([1.0, 2.0, 3.0]))
    ca, cb = _x([1.0, 1.0, 1.0]), _x([0.5, 0.5, 0.5])
    gx, gy = vjp_fn(ca, cb)
    np.testing.assert_allclose(gx.detach().numpy(), [1.0, 2.0, 3.0] + 0.5 * np.exp(X),
                               rtol=1e-12)
    np.testing.assert_allclose(gy.detach().numpy(), X, rtol=1e-12)


@pytest.mark.parametrize("backend", ["llvm", "interpreter"])
def test_transforms_of_compiled_functions_are_compiled_to_any_order(backend):
    cf = tg.compile(f, backend=backend)
    np.testing.assert_allclose(func.grad(cf)(_x()).numpy(), df(X), rtol=1e-12)
    _, vjp_fn = func.vjp(cf, _x())
    np.testing.assert_allclose(vjp_fn(tg.tensor(2.0, dtype=tg.float64))[0].numpy(),
                               2 * df(X), rtol=1e-12)
    np.testing.assert_allclose(func.hessian(cf)(_x()).numpy(), np.diag(d2f(X)), rtol=1e-12)
    _, tangent = func.jvp(cf, (_x(),), (_x([1.0, 0.5, -1.0]),))
    np.testing.assert_allclose(tangent.item(), df(X) @ [1.0, 0.5, -1.0], rtol=1e-12)
    g3 = func.grad(lambda y: func.grad(lambda z: func.grad(cf)(z).sum())(y).sum())
    np.testing.assert_allclose(g3(_x()).numpy(), d3f(X), rtol=1e-10)


@pytest.mark.parametrize("backend", ["llvm", "interpreter"])
def test_compiled_hessian_through_saved_residuals(backend):
    # tanh(x @ w) is saved for the backward (not recomputed): its second derivative flows
    # through the compiled forward's residual outputs.
    w = tg.tensor(np.array([[0.5, -1.0], [2.0, 0.25], [-0.75, 1.5]]))

    def g(x):
        return ((x @ w).tanh() ** 3).sum()

    x = tg.tensor(np.array([[0.2, -0.4, 0.9]]))
    np.testing.assert_allclose(func.hessian(tg.compile(g, backend=backend))(x).numpy(),
                               func.hessian(g)(x).numpy(), rtol=1e-10, atol=1e-12)


def test_errors():
    with pytest.raises(RuntimeError, match="single element"):
        func.grad(lambda x: x * 2)(_x())
    with pytest.raises(TypeError, match="must be floating point"):
        func.grad(lambda x: x.sum())(tg.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="tangent of shape"):
        func.jvp(f, (_x(),), (_x([1.0]),))


def test_nested_transforms_keep_their_levels_apart():
    # d/dx [d/dy (x*y)](x) = d/dx x = 1 (not 2: the inner level differentiates y only)
    inner = func.grad(lambda x: func.grad(lambda y: (x * y).sum())(x).sum())
    assert inner(tg.tensor(3.0, dtype=tg.float64)).item() == 1.0
    w = tg.tensor(2.0, dtype=tg.float64, requires_grad=True)
    assert func.grad(lambda x: x * w)(w).item() == 2.0   # w in the closure is a constant here
