"""Value-dependent Python inside `@tracegrad.compile`: guards, specializations per path, the
specialization limit, recompile reasons, `explain()` and the global switches."""
from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

import tracegrad as tg


def tutorial_loop(x):
    y = x * 2
    while y.data.norm() < 1000:
        y = y * 2
    return y


def _eager(fn, x, v):
    x = x.detach().requires_grad_(True)
    y = fn(x)
    y.backward(v)
    return y.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("backend", ["llvm", "interpreter"])
def test_tutorial_while_loop_compiles_per_path(backend):
    f = tg.compile(tutorial_loop, backend=backend)
    v = tg.tensor([0.1, 1.0, 0.0001])
    # |x| chosen so the loop runs 1, 5 and 9 times: y = x * 2**(k+1) first reaches 1000.
    calls = {1: 300.0, 5: 20.0, 9: 1.2}
    for k, scale in [*calls.items(), (5, 20.0), (1, 300.0), (9, 1.2)]:
        x = tg.tensor([scale, 0.0, 0.0], requires_grad=True)
        y = f(x)
        y.backward(v)
        want_y, want_grad = _eager(tutorial_loop, x, v)
        np.testing.assert_array_equal(y.detach().numpy(), want_y)
        np.testing.assert_array_equal(x.grad.numpy(), want_grad)
        np.testing.assert_array_equal(x.grad.numpy(), v.numpy() * 2.0 ** (k + 1))
    assert f.trace_count == 3                      # one trace per path, reused afterwards
    info = f.explain().specializations
    assert [s["hits"] for s in info] == [2, 2, 2]
    assert [len(s["guards"]) for s in info] == [2, 6, 10]   # k True decisions, then one False
    assert info[1]["reason"] == ("guard `line 16: while y.data.norm() < 1000:` was True, "
                                 "expected False")
    text = str(f.explain())
    assert "guard: `line 16: while y.data.norm() < 1000:` is False" in text


def test_guards_are_in_the_traced_ir():
    f = tg.compile(lambda x: x * 2 if x.sum() > 0 else -x)
    ir = f.stages(tg.ones(2))["traced"]
    assert "guard[expect=True, at=" in ir and "gt %" in ir
    assert ir.splitlines()[0].endswith("-> (f32[2], i1[]) {")


def test_item_value_is_guarded_exactly():
    f = tg.compile(lambda x, n: x * n.item())
    x = tg.ones(2)
    assert f(x, tg.tensor(3)).tolist() == [3.0, 3.0]
    assert f(x, tg.tensor(3)).tolist() == [3.0, 3.0] and f.trace_count == 1
    assert f(x, tg.tensor(4)).tolist() == [4.0, 4.0] and f.trace_count == 2
    assert f(x, tg.tensor(3)).tolist() == [3.0, 3.0] and f.trace_count == 2
    g = tg.compile(lambda x, s: x * s.item())       # NaN equals NaN for a guard
    nan = tg.tensor(float("nan"))
    g(x, nan), g(x, nan)
    assert g.trace_count == 1
    h = tg.compile(lambda x, s: x * sum(s.tolist()))
    assert np.isnan(h(x, tg.tensor([1.0, float("nan")])).numpy()).all()
    assert h(x, tg.tensor([1.0, 2.0])).tolist() == [3.0, 3.0]
    assert h(x, tg.tensor([1.0, 2.0])).tolist() == [3.0, 3.0] and h.trace_count == 2


def test_specialization_limit_falls_back_to_eager_with_one_warning():
    f = tg.compile(lambda x, n: x * n.item(), recompile_limit=3)
    x = tg.ones(1, requires_grad=True)
    with pytest.warns(RuntimeWarning, match=r"lambda now runs eagerly: 3 specializations "
                                            r"reached the limit of 3 \(last reason: guard"):
        for n in range(5):
            y = f(x, tg.tensor(float(n)))
            assert y.tolist() == [float(n)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = f(x, tg.tensor(7.0))                      # no second warning
    assert y.grad_fn.name() == "MulBackward0"         # eager from now on
    assert f.trace_count == 3 and "limit of 3" in str(f.explain())


def test_recompile_limit_from_config_and_environment(monkeypatch):
    monkeypatch.setenv("TRACEGRAD_RECOMPILE_LIMIT", "1")
    f = tg.compile(lambda x: x + 1)
    f(tg.ones(1))
    with pytest.warns(RuntimeWarning, match="limit of 1"):
        f(tg.ones(2))
    tg.config.recompile_limit = 2
    try:
        g = tg.compile(lambda x: x + 1)
        g(tg.ones(1)), g(tg.ones(2))
        assert g.trace_count == 2
    finally:
        del tg.config.recompile_limit
    assert tg.config.recompile_limit == 1


def test_recompile_reasons():
    f = tg.compile(lambda x, k: x * k)
    f(tg.ones(3), 2)
    f(tg.ones(4), 2)
    f(tg.ones(3, dtype=tg.float64), 2)
    f(tg.ones(3, requires_grad=True), 2)
    with tg.no_grad():
        f(tg.ones(3), 2)
    f(tg.ones(3), 3)
    f(tg.ones(3, 1), 2)
    reasons = [s["reason"] for s in f.explain().specializations]
    assert reasons == [
        "first call",
        "tensor 'x' size mismatch at index 0: expected 3, actual 4",
        "tensor 'x' dtype mismatch: expected float32, actual float64",
        "tensor 'x' requires_grad mismatch: expected False, actual True",
        "grad mode mismatch: expected enabled, actual disabled",
        "argument 'k' changed: expected 2, actual 3",
        "tensor 'x' dimension mismatch: expected 1, actual 2",
    ]


def test_log_recompiles_switch(monkeypatch, caplog):
    monkeypatch.setenv("TRACEGRAD_LOG_RECOMPILES", "1")
    f = tg.compile(lambda x: x * 2)
    with caplog.at_level(logging.WARNING, logger="tracegrad.compile"):
        f(tg.ones(3)), f(tg.ones(3)), f(tg.ones(5))
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "tracegrad.compile: tracing lambda (specialization 0): first call",
        "tracegrad.compile: tracing lambda (specialization 1): tensor 'x' size mismatch at "
        "index 0: expected 3, actual 5"]


def test_disable_switch_runs_eagerly(monkeypatch):
    f = tg.compile(lambda x: x * 2)
    monkeypatch.setenv("TRACEGRAD_DISABLE_COMPILE", "1")
    y = f(tg.ones(2, requires_grad=True))
    assert y.grad_fn.name() == "MulBackward0" and f.trace_count == 0
    monkeypatch.delenv("TRACEGRAD_DISABLE_COMPILE")
    tg.config.disable_compile = True
    try:
        assert f(tg.ones(2, requires_grad=True)).grad_fn.name() == "MulBackward0"
    finally:
        tg.config.reset()
    assert f(tg.ones(2, requires_grad=True)).grad_fn.name() == "CompiledFunctionBackward"


def test_side_effects_run_when_tracing_only():
    seen = []

    def fn(x):
        seen.append(x.shape)
        return x + 1
    f = tg.compile(fn)
    for _ in range(3):
        f(tg.ones(2))
    assert seen == [tg.Size([2])]


def test_guard_on_a_branch_inside_a_helper_and_gradients():
    def act(h):
        return h.relu() if h.mean() > 0 else h.tanh()

    f = tg.compile(lambda x, w: act(x @ w).sum())
    rng = np.random.default_rng(0)
    for sign in (1, -1, 1):
        x = tg.tensor(np.abs(rng.standard_normal((3, 4))).astype(np.float32) * sign)
        w = tg.tensor(np.abs(rng.standard_normal((4, 2))).astype(np.float32), requires_grad=True)
        f(x, w).backward()
        w2 = w.detach().requires_grad_(True)
        act(x @ w2).sum().backward()
        np.testing.assert_allclose(w.grad.numpy(), w2.grad.numpy(), rtol=1e-6)
    assert f.trace_count == 2


def test_value_guards_tell_signed_zeros_apart():
    f = tg.compile(lambda x: tg.ones(1) / x.max().item())
    assert f(tg.tensor([0.0])).tolist() == [float("inf")]
    assert f(tg.tensor([-0.0])).tolist() == [float("-inf")] and f.trace_count == 2
    g = tg.compile(lambda x: tg.tensor(x.tolist()) + 0.0 * x)
    assert np.signbit(g(tg.tensor([-0.0, 1.0])).numpy()).tolist() == [True, False]
    assert not np.signbit(g(tg.tensor([0.0, 1.0])).numpy()).any() and g.trace_count == 2


def test_failed_guards_do_not_use_up_random_draws():
    def f(x):
        r = tg.randn(2)
        return x + r if x.sum() > 0 else x - r

    cf = tg.compile(f)
    calls = ([1.0, 1.0], [-1.0, -1.0], [1.0, 1.0], [-1.0, -1.0], [-1.0, -1.0])
    tg.manual_seed(0)
    eager = [f(tg.tensor(v)).tolist() for v in calls]
    after_eager = tg.randn(1).item()
    tg.manual_seed(0)
    compiled = [cf(tg.tensor(v)).tolist() for v in calls]
    assert compiled == eager and tg.randn(1).item() == after_eager


def test_in_place_updates_through_aliased_arguments_run_eagerly():
    def f(a, b):
        a.add_(1.0)
        return b * 2

    cf = tg.compile(f)
    x = tg.tensor([1.0, 2.0])
    assert cf(x, x).tolist() == [4.0, 6.0] and x.tolist() == [2.0, 3.0]
    y = tg.tensor([1.0, 2.0, 3.0])
    assert cf(y, y[1:]).tolist() == [6.0, 8.0]
    a, b = tg.tensor([1.0]), tg.tensor([5.0])
    assert cf(a, b).tolist() == [10.0] and a.tolist() == [2.0]   # not aliased: compiled
