"""A compiled scalar loss computes its gradients in the forward program (for a cotangent of
one): `loss.backward()` hands them over. Every other use of the gradient (another cotangent, a
graph around the output, hooks, create_graph, autograd.grad) must give the same answers as the
split forward/backward programs and as eager mode."""
from __future__ import annotations

import numpy as np
import pytest

import tracegrad as tg


def loss_fn(x, w):
    return ((x @ w).tanh() * w.sum()).pow(2).mean()


def _inputs(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = tg.tensor(rng.standard_normal((5, 4)).astype(dtype))
    w = tg.tensor(rng.standard_normal((4, 3)).astype(dtype), requires_grad=True)
    return x, w


def _eager_grad(x, w, gradient=None):
    w2 = w.detach().requires_grad_()
    loss_fn(x, w2).backward(gradient)
    return w2.grad.numpy()


def test_backward_hands_over_the_gradient_of_the_fused_program():
    f = tg.compile(loss_fn)
    x, w = _inputs()
    loss = f(x, w)
    spec = f.specializations[0]
    assert spec.fused is not None and [what for what, _ in spec.programs] == ["value_and_grad"]
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), _eager_grad(x, w), rtol=1e-12, atol=1e-14)
    assert spec.forward_program is None and spec.backward_program is None  # nothing else built


def test_fused_and_split_gradients_agree(monkeypatch):
    x, w = _inputs(1, np.float32)
    grads = []
    for fused in (True, False):
        monkeypatch.setattr(tg.config, "fused_gradient", fused)
        f = tg.compile(loss_fn)
        w.grad = None
        f(x, w).backward()
        assert (f.specializations[0].fused is not None) == fused
        grads.append(w.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=2e-6, atol=1e-7)


def test_gradients_accumulate_in_place():
    f = tg.compile(loss_fn)
    x, w = _inputs(2)
    f(x, w).backward()
    first = w.grad
    kept = first.numpy().copy()
    f(x, w).backward()
    assert w.grad is first   # the same tensor, summed into (as PyTorch)
    np.testing.assert_allclose(first.numpy(), 2 * kept, rtol=1e-12)


def test_retain_graph_gives_private_gradients_and_a_second_backward():
    f = tg.compile(loss_fn)
    x, w = _inputs(3)
    loss = f(x, w)
    loss.backward(retain_graph=True)
    once = w.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * once, rtol=1e-12)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_backward_twice_is_allowed_when_the_gradient_reads_no_values():
    f = tg.compile(lambda w: (w * 3).sum())
    w = tg.ones(4, requires_grad=True)
    loss = f(w)
    loss.backward()
    loss.backward()   # PyTorch allows it too: no saved values
    np.testing.assert_array_equal(w.grad.numpy(), np.full(4, 6, np.float32))


def test_other_cotangents_and_graphs_around_the_output_switch_to_split_programs():
    f = tg.compile(loss_fn)
    x, w = _inputs(4)
    f(x, w).backward(tg.tensor(2.0, dtype=tg.float64))
    np.testing.assert_allclose(w.grad.numpy(), _eager_grad(x, w, tg.tensor(2.0, dtype=tg.float64)),
                               rtol=1e-12)
    spec = f.specializations[0]
    assert spec.fused is None and spec.backward_program is not None
    w.grad = None
    (f(x, w) * 3).backward()   # now through the split programs
    np.testing.assert_allclose(w.grad.numpy(), 3 * _eager_grad(x, w), rtol=1e-12)
    assert f.trace_count == 1


def test_graph_around_the_output_of_a_fused_call():
    f = tg.compile(loss_fn)
    x, w = _inputs(5)
    (f(x, w) * 3 + f(x, w)).backward()
    np.testing.assert_allclose(w.grad.numpy(), 4 * _eager_grad(x, w), rtol=1e-12)


def test_an_input_computed_by_recorded_ops():
    f = tg.compile(loss_fn)
    x, w = _inputs(6)
    v = w * 2          # not a leaf: the general engine runs
    f(x, v).backward()
    w2 = w.detach().requires_grad_()
    loss_fn(x, w2 * 2).backward()
    np.testing.assert_allclose(w.grad.numpy(), w2.grad.numpy(), rtol=1e-12)


def test_hooks_and_retained_gradient_of_the_loss():
    f = tg.compile(loss_fn)
    x, w = _inputs(7)
    seen = []
    w.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    loss = f(x, w)
    loss.retain_grad()
    loss.backward()
    assert loss.grad.item() == 1.0
    np.testing.assert_allclose(seen[0], _eager_grad(x, w), rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), 10 * seen[0], rtol=1e-12)


def test_input_overwritten_before_backward_raises_the_version_error():
    f = tg.compile(lambda w: (w * w).sum())
    w = tg.ones(3, requires_grad=True)
    loss = f(w)
    with tg.no_grad():
        w.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_create_graph_and_autograd_grad_through_a_fused_call():
    f = tg.compile(lambda w: (w ** 3).sum())
    w = tg.tensor([1.0, 2.0, -1.5], dtype=tg.float64, requires_grad=True)
    (g,) = tg.autograd.grad(f(w), [w], create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 3 * w.detach().numpy() ** 2)
    g.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 6 * w.detach().numpy())


def test_loss_with_guards_and_updates_of_buffers():
    tg.manual_seed(0)
    model = tg.nn.Sequential(tg.nn.Linear(4, 3), tg.nn.BatchNorm1d(3))
    eager = tg.nn.Sequential(tg.nn.Linear(4, 3), tg.nn.BatchNorm1d(3))
    eager.load_state_dict(model.state_dict())
    x = tg.randn(6, 4)

    def step(m, x):
        y = m(x)
        return y.pow(2).mean() if y.sum() > -1e9 else y.mean()

    compiled = tg.compile(step)
    compiled(model, x).backward()
    assert compiled.specializations[0].fused is not None
    step(eager, x).backward()
    np.testing.assert_allclose(model[1].running_mean.numpy(), eager[1].running_mean.numpy(),
                               rtol=1e-6)
    assert np.abs(eager[1].running_mean.numpy()).max() > 0
    for p, q in zip(model.parameters(), eager.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6)
