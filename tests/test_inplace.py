"""In-place ops with autograd: recorded updates rebase the tensor's history as PyTorch does,
saved values they overwrite raise at backward, leaves that require grad refuse them outside
no_grad; compiled functions replace traced values the same way."""
from __future__ import annotations

import numpy as np
import pytest

import tracegrad as tg

X = [[1.0, -2.0, 3.0], [0.5, 4.0, -1.5]]
W = [1.0, 2.0, 3.0]

# (label, update of y = x * 2 (a non-leaf requiring grad), using v which requires grad too)
UPDATES = [
    ("add_", lambda m, y, v: y.add_(v)),
    ("add_alpha", lambda m, y, v: y.add_(v, alpha=0.5)),
    ("sub_", lambda m, y, v: y.sub_(v * v)),
    ("mul_", lambda m, y, v: y.mul_(v)),
    ("div_", lambda m, y, v: y.div_(v + 3)),
    ("iadd", lambda m, y, v: y.__iadd__(v)),
    ("imul_scalar", lambda m, y, v: y.__imul__(3.0)),
    ("zero_", lambda m, y, v: y.zero_()),
    ("fill_", lambda m, y, v: y.fill_(2.5)),
    ("fill_tensor", lambda m, y, v: y.fill_(v.sum())),
    ("copy_", lambda m, y, v: y.copy_(v.exp())),
    ("clamp_", lambda m, y, v: y.clamp_(-1.0, 4.0)),
    ("masked_fill_", lambda m, y, v: y.masked_fill_(y > 2, 0.0)),
    ("setitem_int", lambda m, y, v: y.__setitem__(0, v)),
    ("setitem_slice", lambda m, y, v: y.__setitem__((slice(None), 1), v[:2])),
    ("setitem_mask", lambda m, y, v: y.__setitem__(y > 1, 7.0)),
    ("setitem_list", lambda m, y, v: y.__setitem__((1, [0, 2]), v[1:] * 2)),
    ("twice", lambda m, y, v: y.mul_(v).add_(1.0)),
]


def _run(m, update):
    x = m.tensor(X, requires_grad=True)
    v = m.tensor(W, requires_grad=True)
    y = x * 2
    alias = y
    out = update(m, y, v)
    assert (out is None or out is y) and alias is y     # __setitem__ returns None
    (y * m.tensor(W)).sum().backward()
    return (y.detach().numpy(), type(y.grad_fn).__name__, x.grad.numpy(),
            None if v.grad is None else v.grad.numpy())


@pytest.mark.parametrize("label, update", UPDATES, ids=[u[0] for u in UPDATES])
def test_recorded_updates_match_torch(label, update):
    torch = pytest.importorskip("torch")
    ours, theirs = _run(tg, update), _run(torch, update)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
    assert ours[1] == theirs[1]
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)
    if theirs[3] is None:
        assert ours[3] is None or not ours[3].any()
    else:
        np.testing.assert_allclose(ours[3], theirs[3], rtol=1e-6)


def test_recorded_update_values_and_gradients():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.mul_(3.0)
    y.add_(x)
    y.sum().backward()
    assert y.tolist() == [4.0, 14.0] and x.grad.tolist() == [7.0, 13.0]   # 6x + 1


def test_overwritten_saved_value_raises_at_backward():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    z = y * y            # saves y
    y.add_(1.0)
    with pytest.raises(RuntimeError, match=r"one of the variables needed for gradient "
                                           r"computation has been modified by an inplace "
                                           r"operation: \[torch.FloatTensor \[2\]\], which is "
                                           r"output 0 of ExpBackward0, is at version 1; "
                                           r"expected version 0 instead"):
        z.sum().backward()


def test_leaf_rules():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    for update in (lambda: w.add_(1.0), lambda: w.zero_(), lambda: w.__setitem__(0, 3.0),
                   lambda: w.normal_()):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being "
                                               "used in an in-place operation."):
            update()
    with tg.no_grad():
        w.sub_(0.5)
        w[1] = 10.0
        w.uniform_(0.0, 1.0)
    assert w.requires_grad and w.is_leaf
    assert 0.0 <= w.min().item() and w.max().item() < 1.0
    c = tg.zeros(3)            # a leaf that does not require grad may take recorded updates
    v = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    c.add_(v)
    assert c.grad_fn.name() == "AddBackward0" and not c.is_leaf
    c.sum().backward()
    assert v.grad.tolist() == [1.0, 1.0, 1.0]


def test_updates_through_views_without_autograd_write_through():
    base = tg.zeros(2, 3)
    row = base[1]
    row.add_(1.0)
    base[0, :2] = tg.tensor([5.0, 6.0])
    assert base.tolist() == [[5.0, 6.0, 0.0], [1.0, 1.0, 1.0]]


def test_recorded_update_of_a_view_is_refused_clearly():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * 1
    v = y.t()
    with pytest.raises(NotImplementedError, match="is a view or has views"):
        v.add_(1.0)
    with pytest.raises(NotImplementedError, match="is a view or has views"):
        y.mul_(2.0)


def test_inplace_errors_match_torch():
    x = tg.zeros(3, dtype=tg.int64)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        x.add_(1.5)
    y = tg.zeros(3)
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the "
                                           r"broadcast shape \[2, 3\]"):
        y.add_(tg.ones(2, 3))
    with pytest.raises(RuntimeError, match="fill_ only supports 0-dimension value tensor"):
        y.fill_(tg.ones(2))
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        y[5] = 1.0


@pytest.mark.parametrize("backend", ["llvm", "interpreter"])
def test_inplace_on_traced_intermediates_compiles(backend):
    def f(x, v):
        h = x * 2
        h.add_(v)
        h[:, 0] = 0.0
        h.mul_(v)
        return h.sum()

    cf = tg.compile(f, backend=backend)
    for _ in range(2):
        x = tg.tensor(X, requires_grad=True)
        v = tg.tensor(W, requires_grad=True)
        cf(x, v).backward()
        x2, v2 = tg.tensor(X, requires_grad=True), tg.tensor(W, requires_grad=True)
        f(x2, v2).backward()
        np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy())
        np.testing.assert_allclose(v.grad.numpy(), v2.grad.numpy())
    assert cf.trace_count == 1
    with pytest.raises(NotImplementedError, match="recorded for autograd, is not supported"):
        tg.compile(lambda a, b: a.add_(b))(tg.ones(2), tg.ones(2, requires_grad=True))


@pytest.mark.parametrize("backend", ["llvm", "interpreter"])
def test_compiled_functions_write_in_place_updates_back(backend):
    state = tg.zeros(3)

    def step(x, count):
        count.add_(1)
        with tg.no_grad():
            state.mul_(0.5).add_(x.mean(0))
        return (x * state).sum() + count.sum()

    f = tg.compile(step, backend=backend)
    count, count_eager = tg.zeros(1, dtype=tg.int64), tg.zeros(1, dtype=tg.int64)
    results = []
    for k in range(3):
        x = tg.ones(4, 3) * (k + 1)
        results.append(f(x, count).item())
    assert f.trace_count == 1 and count.tolist() == [3]
    compiled_state = state.tolist()
    state.zero_()
    eager = [step(tg.ones(4, 3) * (k + 1), count_eager).item() for k in range(3)]
    assert results == eager and compiled_state == state.tolist()


def test_compiled_batch_norm_updates_running_statistics_like_eager():
    import tracegrad.nn as nn
    tg.manual_seed(0)
    a, b = nn.BatchNorm1d(3), nn.BatchNorm1d(3)
    r = tg.randn(8, 3)
    f = tg.compile(lambda m, x: (m(x) * r).sum())
    for k in range(3):
        x = tg.randn(8, 3) * (k + 1) + k
        ya, yb = f(a, x), (b(x) * r).sum()
        ya.backward()
        yb.backward()
        np.testing.assert_allclose(ya.item(), yb.item(), rtol=1e-5)
    for name in ("running_mean", "running_var", "weight", "bias"):
        got, want = getattr(a, name), getattr(b, name)
        got = got.grad if name in ("weight", "bias") else got
        want = want.grad if name in ("weight", "bias") else want
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    assert f.trace_count == 1
