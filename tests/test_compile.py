"""@tracegrad.compile: compiled forward and gradients equal eager ones; signatures, caching,
autograd semantics of compiled outputs, and errors."""
from __future__ import annotations

import numpy as np
import pytest

import tracegrad as tg
from tracegrad.ir import OPS
from opinfo import covered_primitives

BACKENDS = ["llvm", "interpreter"]


def _rand(rng, shape, positive=False, dtype=tg.float32):
    a = rng.standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    return tg.tensor(a.astype(dtype.np))


# op name -> (function, list of (shape, positive) input specs). Every op in the registry that a
# user can reach must be here (checked below), so a new op cannot ship without a compiled test.
CASES = {
    "add": (lambda x, y: x + y, [((3, 1), False), ((4,), False)]),
    "sub": (lambda x, y: 2 - x - y, [((2, 3), False), ((), False)]),
    "mul": (lambda x, y: x * y * 3, [((5, 4), False), ((4,), False)]),
    "div": (lambda x, y: x / y + 1 / y, [((3, 4), False), ((3, 4), True)]),
    "pow": (lambda x, y: x ** 2 + x ** y + 2 ** y + x ** 0.5 + x ** 0, [((6,), True), ((6,), False)]),
    "neg": (lambda x: -x, [((3,), False)]),
    "exp": (lambda x: x.exp(), [((17,), False)]),
    "log": (lambda x: x.log(), [((17,), True)]),
    "sqrt": (lambda x: x.sqrt(), [((5,), True)]),
    "tanh": (lambda x: x.tanh(), [((33,), False)]),
    "sigmoid": (lambda x: x.sigmoid(), [((2, 9), False)]),
    "relu": (lambda x: x.relu(), [((4, 4), False)]),
    "sum": (lambda x: x.sum(dim=1) * x.sum(dim=(0, 2), keepdim=True).sum() + x.sum(),
            [((3, 4, 5), False)]),
    "mean": (lambda x: x.mean(dim=0) + x.mean(dim=-1, keepdim=True), [((4, 4), False)]),
    "norm": (lambda x: x.norm() + x.norm(dim=1).sum(), [((3, 5), False)]),
    "matmul": (lambda a, b: (a @ b).tanh(), [((4, 3), False), ((3, 5), False)]),
    "reshape": (lambda x: x.reshape(6, 2) * x.view(2, -1).reshape(12).reshape(6, 2),
                [((3, 4), False)]),
    "transpose": (lambda x: x.t() @ x.transpose(0, 1).T, [((3, 4), False)]),
    "broadcast_to": (lambda x: x.expand(3, 4) * 2, [((4,), False)]),
    "where": (lambda x, y: tg.where(x > 0, x * 3, y), [((3, 4), False), ((4,), False)]),
    "convert": (lambda x: (x.double() * 2).sum().float() + x, [((3,), False)]),
    "clone": (lambda x: x.clone() * x, [((3,), False)]),
    "stop_gradient": (lambda x: x.detach() * x, [((3,), False)]),
    "eq": (lambda x, y: (x == y, x != y), [((4,), False), ((4,), False)]),
    "lt": (lambda x, y: (x < y, x <= y, x > y, x >= y), [((4,), False), ((3, 1), False)]),
    "guard": (lambda x, y: x * y.sum().item() if x.sum() > 0 else -x, [((3,), False), ((2,), False)]),
    # ---- reductions, scans, softmax: iota is in the adjoint of max/min along a dim ----
    "iota": (lambda x: x.max(1, keepdim=True).values * x.min(0, keepdim=True).values, [((3, 4), False)]),
}
# Reachable only as parts of others: comparisons are covered in pairs above, `zeros_like` is in
# the adjoint of `x ** 0`, `full` only appears in adjoints of multi-output ops.
ALIASES = {"ne": "eq", "le": "lt", "gt": "lt", "ge": "lt", "full": None, "zeros_like": "pow"}


def test_every_op_has_a_compiled_case():
    # Ops of the op table (tests/opinfos/) are compiled against eager in tests/test_ops.py.
    covered = covered_primitives()
    missing = [name for name, op in OPS.items() if op.kind != "opaque"
               and name not in CASES and name not in ALIASES and name not in covered]
    assert missing == []


def _outputs(result):
    return list(result) if isinstance(result, tuple) else [result]


def _run(fn, inputs, backend):
    args = [t.detach().requires_grad_(t.dtype.is_floating_point) for t in inputs]
    f = fn if backend == "eager" else tg.compile(fn, backend=backend)
    outs = _outputs(f(*args))
    loss = None
    rng = np.random.default_rng(1)
    for o in outs:
        if o.requires_grad:
            ct = tg.tensor(rng.standard_normal(tuple(o.shape)).astype(np.float32))
            term = (o * ct).sum()
            loss = term if loss is None else loss + term
    if loss is not None:
        loss.backward()
    return [o.detach().numpy() for o in outs], [a.grad.numpy() if a.grad is not None else None
                                                for a in args]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_matches_eager(name, backend):
    fn, specs = CASES[name]
    rng = np.random.default_rng(0)
    inputs = [_rand(rng, shape, positive) for shape, positive in specs]
    eager_out, eager_grads = _run(fn, inputs, "eager")
    out, grads = _run(fn, inputs, backend)
    for a, b in zip(out, eager_out):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-6)
    for a, b in zip(grads, eager_grads):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float64_gradients_match_finite_differences(backend):
    @tg.compile(backend=backend)
    def f(x, w):
        return ((x @ w).tanh() * (x @ w).sigmoid() + (x * x).log().sum(dim=1, keepdim=True)).mean()

    rng = np.random.default_rng(2)
    x = tg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    f(x, w).backward()
    eps = 1e-6
    for t in (x, w):
        base = t.detach().numpy().copy()
        num = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            for sign in (1, -1):
                pert = base.copy()
                pert[i] += sign * eps
                t.data = tg.tensor(pert)
                with tg.no_grad():
                    num[i] += sign * f(x, w).item() / (2 * eps)
        t.data = tg.tensor(base)
        # float64 central differences with eps=1e-6 are good to ~1e-9
        np.testing.assert_allclose(t.grad.numpy(), num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("backend", BACKENDS)
def test_signature_controls_retracing(backend):
    f = tg.compile(lambda x, k: (x * k).sum(), backend=backend)
    x = tg.ones(3, requires_grad=True)
    f(x, 2).backward()
    f(tg.ones(3, requires_grad=True), 2)
    assert f.trace_count == 1                        # same signature: no new trace
    f(tg.ones(4, requires_grad=True), 2)             # shape
    f(tg.ones(3, dtype=tg.float64, requires_grad=True), 2)   # dtype
    f(tg.ones(3), 2)                                 # requires_grad
    with tg.no_grad():
        f(tg.ones(3, requires_grad=True), 2)         # grad mode
    f(x, 3)                                          # non-tensor argument value
    assert f.trace_count == 6
    assert len(f.specializations) == 6


@pytest.mark.parametrize("backend", BACKENDS)
def test_grad_accumulates_and_retain_graph(backend):
    f = tg.compile(lambda x: (3 * (x + 2) ** 2).mean(), backend=backend)
    x = tg.ones(2, 2, requires_grad=True)
    out = f(x)
    assert repr(out) == "tensor(27., grad_fn=<CompiledFunctionBackward>)"
    assert not out.is_leaf and out.grad_fn.name() == "CompiledFunctionBackward"
    out.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 2), 4.5, np.float32))
    out.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 2), 9.0, np.float32))
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        out.backward()
    f(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 2), 13.5, np.float32))


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_grad_outputs_have_no_graph(backend):
    f = tg.compile(lambda x: x * 2, backend=backend)
    x = tg.ones(3, requires_grad=True)
    with tg.no_grad():
        y = f(x)
    assert y.grad_fn is None and not y.requires_grad
    assert f(tg.ones(3)).grad_fn is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_compiled_output_mixes_with_eager_graph(backend):
    f = tg.compile(lambda x, y: (x * y, x + y), backend=backend)
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor([3.0, 5.0], requires_grad=True)
    a, b = f(x, y)
    (a.sum() * 2 + (b * x).sum()).backward()
    # d/dx = 2y + (b + x) = 2y + 2x + y ; d/dy = 2x + x
    np.testing.assert_allclose(x.grad.numpy(), [3 * 3 + 2 * 1, 3 * 5 + 2 * 2])
    np.testing.assert_allclose(y.grad.numpy(), [3.0, 6.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_unused_output_and_input(backend):
    f = tg.compile(lambda x, y: (x.exp(), x * 2), backend=backend)
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    y = tg.tensor([1.0, 1.0], requires_grad=True)
    a, _ = f(x, y)
    a.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.0, 1.0]).astype(np.float32), rtol=1e-6)
    assert y.grad is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_captured_tensors_are_inputs_and_never_stale(backend):
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    f = tg.compile(lambda x: (x * w).sum(), backend=backend)
    x = tg.tensor([3.0, 4.0], requires_grad=True)
    out = f(x)
    assert out.item() == 11.0
    out.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0])
    w.data = tg.tensor([10.0, 20.0])
    assert f(x).item() == 110.0
    assert f.trace_count == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_returning_an_input_and_integer_outputs(backend):
    f = tg.compile(lambda x, n: (x, n * 2, (x > 0)), backend=backend)
    x = tg.tensor([-1.0, 2.0], requires_grad=True)
    a, b, c = f(x, tg.tensor([1, 2]))
    np.testing.assert_array_equal(a.detach().numpy(), [-1.0, 2.0])
    assert b.dtype is tg.int64 and b.tolist() == [2, 4] and not b.requires_grad
    assert c.dtype is tg.bool and c.tolist() == [False, True]
    a.backward(tg.tensor([1.0, 1.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


@pytest.mark.parametrize("what, body", [
    ("bool()", "if x.sum() > 0:\n        return x * 2\n    return -x"),
    (".item()", "return x * x.sum().item()"),
    ("float()", "return x * float(x.sum())"),
])
def test_value_dependent_control_flow_is_guarded_naming_the_line(what, body, tmp_path):
    path = tmp_path / "user_code.py"
    path.write_text(f"def f(x):\n    {body}\n")
    namespace = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    f = tg.compile(namespace["f"])
    for x in ([1.0, 2.0, 3.0], [-1.0, -2.0, 0.5], [1.0, 2.0, 3.0]):
        got, want = f(tg.tensor(x)), namespace["f"](tg.tensor(x))
        assert got.tolist() == want.tolist()
    assert f.trace_count == 2
    guards = str(f.explain())
    assert f"`line 2: {body.splitlines()[0].strip()}`" in guards
    assert (what in guards) == (what != "bool()")


def test_traced_ir_text():
    f = tg.compile(lambda x: (3 * (x + 2) ** 2).mean())
    stages = f.stages(tg.ones(4, requires_grad=True))
    here = f"test_compile.py:{test_traced_ir_text.__code__.co_firstlineno + 1}"
    assert stages["traced"] == "\n".join([
        "func @lambda(%x: f32[4]) -> (f32[]) {",
        f"  %0: f32[4] = add %x, 2.0  # {here}",
        f"  %1: f32[4] = pow %0, 2.0  # {here}",
        f"  %2: f32[4] = mul 3.0, %1  # {here}",
        f"  %3: f32[] = mean[dims=(0,), keepdim=False] %2  # {here}",
        "  return %3",
        "}"])
    assert stages["adjoint"].startswith("func @lambda_vjp(%arg0: f32[4], %ct: f32[]) -> (f32[4])")


def test_disable_switch(monkeypatch):
    f = tg.compile(lambda x: x * 2)
    monkeypatch.setenv("TRACEGRAD_DISABLE_COMPILE", "1")
    y = f(tg.ones(2, requires_grad=True))
    assert f.trace_count == 0 and y.grad_fn.name() == "MulBackward0"


def test_non_tensor_output_is_an_error():
    with pytest.raises(TypeError, match="must return a Tensor"):
        tg.compile(lambda x: 3)(tg.ones(2))


@pytest.mark.parametrize("backend", BACKENDS)
def test_compiled_input_from_eager_graph(backend):
    f = tg.compile(lambda a: (a * a).sum(), backend=backend)
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    f(x * 3).backward()                      # d/dx sum((3x)^2) = 18x
    np.testing.assert_array_equal(x.grad.numpy(), [18.0, 36.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_ops_on_captured_tensors_are_traced_not_baked(backend):
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    f = tg.compile(lambda x: (x * w.exp()).sum(), backend=backend)
    x = tg.ones(2)
    f(x).backward()
    f(x).backward()                          # each call builds a fresh graph
    np.testing.assert_allclose(w.grad.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-6)
    with tg.no_grad():
        w.data = tg.zeros(2)
    assert f(x).item() == 2.0
    assert "exp %c0" in f.stages(x)["traced"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_grad_inside_a_compiled_function_blocks_the_gradient(backend):
    def h(x):
        with tg.no_grad():
            y = x * 2
        return (x * y).sum()
    grads = []
    for fn in (h, tg.compile(h, backend=backend)):
        x = tg.tensor([1.0, 3.0], requires_grad=True)
        fn(x).backward()
        grads.append(x.grad.tolist())
    assert grads == [[2.0, 6.0], [2.0, 6.0]]


def test_rebound_globals_cells_and_attributes_are_read_on_every_call():
    global CAPTURED
    CAPTURED = tg.tensor([1.0])
    f = tg.compile(lambda x: x + CAPTURED)
    assert f(tg.zeros(1)).tolist() == [1.0]
    CAPTURED = tg.tensor([100.0])                 # same type: the same code reads the new one
    assert f(tg.zeros(1)).tolist() == [100.0] and f.trace_count == 1
    CAPTURED = tg.tensor([1.0, 2.0])              # another shape: retrace
    assert f(tg.zeros(1)).tolist() == [1.0, 2.0] and f.trace_count == 2
    assert "global 'CAPTURED' changed from a tensor float32[1] to a tensor float32[2]" in (
        f.explain().specializations[1]["reason"])

    scale = tg.tensor([2.0])
    g = tg.compile(lambda x: x * scale)
    assert g(tg.ones(1)).tolist() == [2.0]
    scale = tg.tensor([5.0])  # noqa: F841 - rebinding the closure cell is the point
    assert g(tg.ones(1)).tolist() == [5.0] and g.trace_count == 1

    class Model:
        pass
    model = Model()
    model.layers = [Model()]
    model.layers[0].w = tg.tensor([3.0], requires_grad=True)
    h = tg.compile(lambda x: x * model.layers[0].w)
    h(tg.ones(1)).backward()
    old = model.layers[0].w
    model.layers[0].w = tg.tensor([7.0], requires_grad=True)
    y = h(tg.ones(1))
    y.backward()
    assert y.tolist() == [7.0] and h.trace_count == 1
    assert old.grad.tolist() == [1.0] and model.layers[0].w.grad.tolist() == [1.0]


def test_python_values_the_trace_baked_in_are_guarded():
    global SCALE, BIAS
    SCALE, BIAS = 2, None
    f = tg.compile(lambda x: x * SCALE if BIAS is None else x * SCALE + BIAS)
    assert f(tg.ones(1)).tolist() == [2.0]
    SCALE = 3
    assert f(tg.ones(1)).tolist() == [3.0]
    BIAS = tg.tensor([1.0])
    assert f(tg.ones(1)).tolist() == [4.0] and f.trace_count == 3
    reasons = [s["reason"] for s in f.explain().specializations]
    assert reasons == ["first call", "global 'SCALE' changed from 2 to 3",
                       "global 'BIAS' changed from None to a tensor float32[1]"]


def test_values_of_captured_tensors_are_guarded():
    w = tg.tensor([1.0, 2.0])
    f = tg.compile(lambda x: x * w.sum().item())
    g = tg.compile(lambda x: x * float(w.sum()))
    assert f(tg.ones(2)).tolist() == [3.0, 3.0] and g(tg.ones(2)).tolist() == [3.0, 3.0]
    with tg.no_grad():
        w.mul_(2.0)
    assert f(tg.ones(2)).tolist() == [6.0, 6.0] and g(tg.ones(2)).tolist() == [6.0, 6.0]
    assert f.trace_count == 2 and g.trace_count == 2
    with pytest.raises(RuntimeError, match="random tensors that require grad cannot be created "
                                           "inside tracegrad.compile"):
        tg.compile(lambda x: x + tg.randn(2, requires_grad=True))(tg.ones(2))


def test_random_tensors_are_drawn_afresh_on_every_call_as_eagerly():
    def f(x):
        return x + tg.randn(3) + tg.rand(3) * tg.randint(0, 5, (3,)) + tg.empty(3).normal_(2.0, 0.1)
    cf = tg.compile(f)
    draws = []
    for seed in (0, 1, 0):
        tg.manual_seed(seed)
        compiled = cf(tg.ones(3)).numpy()
        tg.manual_seed(seed)
        np.testing.assert_allclose(compiled, f(tg.ones(3)).numpy(), rtol=1e-6)
        draws.append(compiled)
    assert not np.allclose(draws[0], draws[1]) and np.array_equal(draws[0], draws[2])
    assert cf.trace_count == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_integer_power_with_negative_exponents_matches_pytorch(backend):
    # numpy raises here; PyTorch (and tracegrad, eager and compiled) truncate 1 / x**n.
    a, b = tg.tensor([2, -1, 1, -1, 3, 0]), tg.tensor([-1, -3, -5, -2, 2, 0])
    expected = [0, -1, 1, 1, 9, 1]
    assert (a ** b).tolist() == expected
    assert tg.compile(lambda x, y: x ** y, backend=backend)(a, b).tolist() == expected


@pytest.mark.parametrize("backend", BACKENDS)
def test_sign_of_zero_survives_simplification_and_signatures(backend):
    fn = lambda x: (x * 0.0, x * -0.0, x - (-0.0), x - 0.0)  # noqa: E731
    x = tg.tensor([1.0, -0.0])
    eager = [np.signbit(t.numpy()).tolist() for t in fn(x)]
    assert eager == [[False, True], [True, False], [False, False], [False, True]]
    assert [np.signbit(t.numpy()).tolist() for t in tg.compile(fn, backend=backend)(x)] == eager
    g = tg.compile(lambda x, k: x * k, backend=backend)
    assert not np.signbit(g(tg.ones(1), 0.0).numpy()).any()
    assert np.signbit(g(tg.ones(1), -0.0).numpy()).all() and g.trace_count == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_in_place_updates_of_captured_and_saved_tensors(backend):
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    f = tg.compile(lambda x: (x * w).sum(), backend=backend)
    x = tg.tensor([3.0, 4.0], requires_grad=True)
    assert f(x).item() == 11.0
    with tg.no_grad():
        w += 1                               # read afresh by the next call
    out = f(x)
    assert out.item() == 18.0
    with tg.no_grad():
        x.mul_(2)                            # x was saved for w's gradient
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()
    a = tg.ones(2)
    assert tg.compile(lambda a: a.add_(1) * 2, backend=backend)(a).tolist() == [4.0, 4.0]
    assert a.tolist() == [2.0, 2.0]          # written back, as eagerly


@pytest.mark.parametrize("backend", BACKENDS)
def test_keyword_arguments(backend):
    f = tg.compile(lambda x, w=None, scale=1.0: (x * w * scale).sum(), backend=backend)
    x, w = tg.tensor([1.0, 2.0]), tg.tensor([3.0, 4.0], requires_grad=True)
    assert f(x, w=w).item() == 11.0
    assert f(x, scale=2.0, w=w).item() == 22.0
    assert f(x, w=w, scale=2.0).item() == 22.0 and f.trace_count == 2
    f(x, w=w).backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0])
    assert "%w: f32[2]" in f.stages(x, w=w)["traced"]


def test_rebinding_is_detected_through_helpers_nested_code_and_none():
    global G_INNER, G_COMP, G_HELPER, G_MAYBE
    G_INNER, G_COMP, G_HELPER, G_MAYBE = tg.tensor([1.0]), tg.tensor([1.0]), tg.tensor([1.0]), None
    inner = tg.compile(lambda x: x * G_INNER)
    outer = tg.compile(lambda x: inner(x) + 0)
    comprehension = tg.compile(lambda x: sum([x * G_COMP for _ in range(1)]))

    def helper(x):
        return x * G_HELPER
    via_helper = tg.compile(lambda x: helper(x))
    optional = tg.compile(lambda x: x + G_MAYBE if G_MAYBE is not None else x)
    fns, x = (outer, comprehension, via_helper, optional), tg.ones(1)
    assert [f(x).item() for f in fns] == [1.0, 1.0, 1.0, 1.0]
    G_INNER, G_COMP, G_HELPER, G_MAYBE = [tg.tensor([100.0]) for _ in range(4)]
    assert [f(x).item() for f in fns] == [100.0, 100.0, 100.0, 101.0]


def test_enable_grad_inside_a_compiled_function_called_under_no_grad():
    def fn(x):
        with tg.enable_grad():
            return x * 2
    x = tg.ones(2, requires_grad=True)
    with tg.no_grad():
        out = tg.compile(fn)(x)
    assert out.requires_grad and out.grad_fn.name() == "CompiledFunctionBackward"
    out.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_signature_keys_of_numpy_scalars_and_tuples():
    f = tg.compile(lambda x, k: x * k[0])
    neg, pos = f(tg.ones(1), (np.float32(-0.0),)), f(tg.ones(1), (np.float32(0.0),))
    assert np.signbit(neg.numpy()).all() and not np.signbit(pos.numpy()).any()
    f(tg.ones(1), (float("nan"),))
    f(tg.ones(1), (float("nan"),))
    assert f.trace_count == 3
    h = tg.compile(lambda x: x * float(tg.tensor(2.0)))   # a constant: its guard always holds
    assert h(tg.ones(1)).tolist() == [2.0] and h(tg.ones(1)).tolist() == [2.0]
    assert h.trace_count == 1
    with pytest.raises(RuntimeError, match="assigning .data inside tracegrad.compile"):
        tg.compile(lambda x: setattr(x, "data", x) or x)(tg.ones(1))


def test_named_tuple_results_keep_their_type():
    f = tg.compile(lambda x: x.max(dim=1))
    r = f(tg.tensor([[1.0, 3.0], [4.0, 2.0]]))
    assert type(r).__name__ == "max" and r.values.tolist() == [3.0, 4.0]
    assert r.indices.tolist() == [1, 0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_integer_division_by_zero_raises_in_compiled_code_too(backend):
    f = tg.compile(lambda x, y: (x % y, x.fmod(y)), backend=backend)
    a, b = f(tg.tensor([5, -7]), tg.tensor([2, 3]))
    assert a.tolist() == [1, 2] and b.tolist() == [1, -1]
    for divisor in ([2, 0], [0, 0]):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            f(tg.tensor([5, -7]), tg.tensor(divisor))
    assert f.trace_count == 1                     # a check, not a new specialization
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        tg.compile(lambda x: x % 0, backend=backend)(tg.tensor([1]))
    out = tg.compile(lambda x, y: x % y, backend=backend)(tg.tensor([5.0]), tg.tensor([0.0]))
    assert np.isnan(out.numpy()).all()            # floats give NaN, as in PyTorch


PARAMS_LIST = []
CONFIG = {}


def test_lists_and_dicts_the_function_reads_are_guarded_by_their_items():
    PARAMS_LIST[:] = [tg.tensor([1.0]), tg.tensor([2.0])]
    CONFIG.clear()
    CONFIG["scale"] = 2.0

    def f(x):
        total = x * 0
        for p in PARAMS_LIST:
            total = total + p
        return total * CONFIG["scale"]

    cf = tg.compile(f)
    assert cf(tg.ones(1)).tolist() == [6.0]
    PARAMS_LIST.append(tg.tensor([10.0]))
    assert cf(tg.ones(1)).tolist() == f(tg.ones(1)).tolist() == [26.0]
    CONFIG["scale"] = 5.0
    assert cf(tg.ones(1)).tolist() == f(tg.ones(1)).tolist() == [65.0]
    assert cf(tg.ones(1)).tolist() == [65.0] and cf.trace_count == 3
    reasons = [s["reason"] for s in cf.explain().specializations]
    assert reasons[1].startswith("global 'PARAMS_LIST' changed from a list of 2 item(s)")
    assert reasons[2] == ("global 'CONFIG' changed from a dict of 1 item(s) {'scale': 2.0} to "
                          "a dict of 1 item(s) {'scale': 5.0}")
