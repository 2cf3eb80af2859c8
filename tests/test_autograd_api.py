"""tracegrad.autograd's public API: grad, backward(create_graph, inputs), hooks, custom
Functions, gradcheck and gradgradcheck; values against analytic derivatives and PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import tracegrad as tg
from tracegrad.autograd import Function, GradcheckError, grad, gradcheck, gradgradcheck


def _x(*values):
    return tg.tensor(list(values), dtype=tg.float64, requires_grad=True)


def test_grad_returns_gradients_without_touching_dot_grad():
    x, w = _x(1.0, 2.0), _x(3.0, -1.0)
    y = (x * w).sum()
    gx, gw = grad(y, [x, w], retain_graph=True)
    assert gx.tolist() == [3.0, -1.0] and gw.tolist() == [1.0, 2.0]
    assert x.grad is None and w.grad is None and not gx.requires_grad
    h = x * 2                                     # a non-leaf input
    (gh,) = grad((h * h).sum(), h)
    assert gh.tolist() == [4.0, 8.0]
    (g2,) = grad([y, (x * x).sum()], x, retain_graph=True)   # several outputs: summed
    assert g2.tolist() == [5.0, 3.0]


def test_grad_errors_and_allow_unused():
    x, z = _x(1.0), _x(2.0)
    y = x * 3
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        grad(y, [x, z], retain_graph=True)
    gx, gz = grad(y, [x, z], allow_unused=True, retain_graph=True)
    assert gx.tolist() == [3.0] and gz is None
    gx, gz = grad(y, [x, z], materialize_grads=True, retain_graph=True)
    assert gz.tolist() == [0.0]
    with pytest.raises(RuntimeError, match="does not require grad"):
        grad(y, tg.ones(1))
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        grad(x * tg.ones(3, dtype=tg.float64), x)


def test_create_graph_gives_second_and_third_derivatives():
    x = _x(0.5, 1.0, 2.0)
    y = (x.exp() * x ** 3).sum()
    (g1,) = grad(y, x, create_graph=True)
    (g2,) = grad(g1.sum(), x, create_graph=True)
    (g3,) = grad(g2.sum(), x)
    v = x.detach().numpy()
    e = np.exp(v)
    np.testing.assert_allclose(g1.detach().numpy(), e * (v ** 3 + 3 * v ** 2), rtol=1e-12)
    np.testing.assert_allclose(g2.detach().numpy(), e * (v ** 3 + 6 * v ** 2 + 6 * v),
                               rtol=1e-12)
    np.testing.assert_allclose(g3.numpy(), e * (v ** 3 + 9 * v ** 2 + 18 * v + 6), rtol=1e-12)


def test_backward_create_graph_makes_grad_differentiable():
    x = _x(1.0, 2.0)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad and x.grad.grad_fn is not None
    g = x.grad
    x.grad = None
    g.sum().backward()
    assert x.grad.tolist() == [6.0, 12.0]


def test_hessian_vector_product():
    x = _x(1.0, -2.0, 0.5)
    v = tg.tensor([1.0, 0.5, -1.0], dtype=tg.float64)
    f = x[0] * x[1] ** 2 + (x ** 2).sum() * x[2]
    (g,) = grad(f, x, create_graph=True)
    (hv,) = grad((g * v).sum(), x)
    a, b, c = 1.0, -2.0, 0.5
    hess = np.array([[2 * c, 2 * b, 2 * a], [2 * b, 2 * a + 2 * c, 2 * b],
                     [2 * a, 2 * b, 6 * c]])
    np.testing.assert_allclose(hv.numpy(), hess @ v.numpy(), rtol=1e-12)


def test_backward_inputs_restricts_accumulation():
    x, w = _x(1.0), _x(2.0)
    (x * w).backward(inputs=[w])
    assert x.grad is None and w.grad.tolist() == [1.0]


def test_tensor_hooks():
    a = _x(1.0, 2.0)
    b = a * 2
    seen = []
    handle = b.register_hook(lambda g: seen.append(g.tolist()) or g * 10)
    a.register_hook(lambda g: g + 1)
    (b * b).sum().backward(retain_graph=True)
    assert seen == [[4.0, 8.0]]
    assert a.grad.tolist() == [81.0, 161.0]          # 2 * 10 * 2b, then the leaf hook's + 1
    handle.remove()
    a.grad = None
    c = a * 3
    (c * c).sum().backward()
    assert a.grad.tolist() == [19.0, 37.0]           # 18a + 1: only the leaf hook remains
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        tg.ones(1).register_hook(print)
    bad = _x(1.0)
    bad.register_hook(lambda g: tg.ones(2, dtype=tg.float64))
    with pytest.raises(RuntimeError, match="hook returned a gradient of type"):
        (bad * 2).sum().backward()


class Cube(Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return x ** k

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ctx.k * x ** (ctx.k - 1), None


class SplitScale(Function):
    """Two outputs, one input not needing grad."""

    @staticmethod
    def forward(ctx, x, s):
        ctx.save_for_backward(s)
        assert ctx.needs_input_grad == (True, False)
        return x * s, x.exp()

    @staticmethod
    def backward(ctx, ga, gb):
        (s,) = ctx.saved_tensors
        return ga * s + gb, None


def test_custom_function():
    x = _x(1.0, 2.0)
    y = Cube.apply(x, 3)
    assert type(y.grad_fn).__name__ == "CubeBackward" and y.tolist() == [1.0, 8.0]
    y.sum().backward(retain_graph=True)
    assert x.grad.tolist() == [3.0, 12.0]
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 12.0 * 2]
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.sum().backward()
    assert gradcheck(lambda t: Cube.apply(t, 3), (_x(0.3, -1.2),))
    a, b = SplitScale.apply(x, tg.tensor([2.0, 3.0], dtype=tg.float64))
    x.grad = None
    (a.sum() + b.sum()).backward()
    assert x.grad.tolist() == [3.0, 4.0]              # the user's rule: ga * s + gb
    with pytest.raises(NotImplementedError, match="double backward through the custom Function"):
        (g,) = grad(Cube.apply(x, 2).sum(), x, create_graph=True)
        grad(g.sum(), x)


def test_custom_function_errors():
    class Wrong(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    with pytest.raises(RuntimeError, match="returned an incorrect number of gradients"):
        Wrong.apply(_x(1.0)).sum().backward()


def test_gradcheck_and_gradgradcheck():
    x = _x(0.4, 1.3, 2.0)
    assert gradcheck(lambda t: (t.tanh() * t.exp()).sum() * t, (x,))
    assert gradgradcheck(lambda t: (t.tanh() * t.sigmoid()) / t.sqrt(), (x,))
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to "
                                             "input 0"):
        gradcheck(lambda t: t.detach() * t, (x,))
    assert gradcheck(lambda t: t.detach() * t, (x,), raise_exception=False) is False
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        gradcheck(lambda t: t * 2, (tg.ones(2),))


def test_against_torch():
    torch = pytest.importorskip("torch")
    vals = np.array([0.3, -1.1, 2.0])
    results = []
    for m in (tg, torch):
        x = m.tensor(vals, dtype=m.float64, requires_grad=True)
        y = (x.sin() * x ** 2).sum()
        (g,) = m.autograd.grad(y, x, create_graph=True)
        (h,) = m.autograd.grad((g * g).sum(), x)
        results.append((g.detach().numpy(), h.numpy(), type(g.grad_fn).__name__))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)
    assert results[0][2] == results[1][2]


class ClippedExp(Function):
    """exp with a straight-through gradient clipped to [-1, 1]: not the derivative of the
    forward, so a compiled function must use this backward, not differentiate the forward."""

    @staticmethod
    def forward(ctx, x, scale):
        y = x.exp()
        ctx.save_for_backward(y)
        ctx.scale = scale
        return y, y * scale

    @staticmethod
    def backward(ctx, gy, gz):
        (y,) = ctx.saved_tensors
        return ((gy + gz * ctx.scale) * y).clamp(-1.0, 1.0), None


@pytest.mark.parametrize("backend", ["llvm", "interpreter"])
def test_custom_function_under_compile_uses_its_backward(backend):
    def f(x):
        a, b = ClippedExp.apply(x * 2, 3.0)
        return (a + b.sin()).sum() + Cube.apply(x, 3).sum()

    cf = tg.compile(f, backend=backend)
    for values in ([0.1, -0.5, 0.3], [-2.0, 0.05, 1.0]):
        x, y = _x(*values), _x(*values)
        cf(x).backward()
        f(y).backward()
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-12)
    assert cf.trace_count == 1
    ir = cf.stages(_x(1.0, 2.0, 3.0))["traced"]
    assert "custom_vjp[n_out=2, backward=<backward of ClippedExp " in ir


def test_custom_function_backward_reading_values_under_compile_raises():
    class Branchy(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2 if g.sum() > 0 else g

    with pytest.raises(NotImplementedError, match="traced without concrete values"):
        tg.compile(lambda t: Branchy.apply(t))(_x(1.0))
