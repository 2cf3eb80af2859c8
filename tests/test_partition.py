"""The forward/backward split (tracegrad/ir/partition.py): what is saved, what is recomputed.

Gradients through the split equal the unsplit adjoint's bit for bit (interpreter), the saved
set is a minimum (checked against every subset on small graphs), matmuls and reductions are
never recomputed, and compiled functions save fewer bytes and still match eager gradients.
"""
from __future__ import annotations

import itertools
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tracegrad as tg
import tracegrad.nn.functional as F
from tracegrad.ir import Builder, Function, Var, evaluate, float64, ops, vjp
from tracegrad.ir.partition import nbytes, recomputable, split
from tracegrad.ir.types import TensorType

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def _reference(fn: Function, adjoint, arrays, cts):
    """Outputs and gradients without the split: the adjoint reads every residual saved."""
    values = evaluate(Function("f", fn.params, fn.eqns, fn.results + adjoint.residuals), arrays)
    n = len(fn.results)
    return values[:n], evaluate(adjoint.fn, values[n:] + cts)


def _through_split(s, fn: Function, arrays, cts):
    out = evaluate(s.forward, arrays)
    n = len(fn.results)
    by_id = {id(p): a for p, a in zip(fn.params, arrays)}
    by_id.update((id(v), a) for v, a in zip(s.saved, out[n:]))
    return out[:n], evaluate(s.backward, [by_id[id(r)] for r in s.residuals] + cts)


def _optimum(fn: Function, needed) -> int:
    """The fewest bytes of any saved set from which the backward can get every needed value."""
    params = {id(p) for p in fn.params}
    producer = {id(v): e for e in fn.eqns for v in e.outputs}
    candidates = [v for e in fn.eqns for v in e.outputs]
    best = None
    for k in range(len(candidates) + 1):
        for subset in itertools.combinations(candidates, k):
            have = {id(v) for v in subset} | params
            for e in fn.eqns:  # forward order: operands before results
                if recomputable(e) and all(id(a) in have for a in e.inputs if isinstance(a, Var)):
                    have.add(id(e.outputs[0]))
            if all(id(v) in have for v in needed):
                cost = sum(nbytes(v) for v in subset)
                best = cost if best is None else min(best, cost)
    return best


def _check(fn: Function, wrt, seed=0, optimal=True):
    adjoint = vjp(fn, wrt)
    s = split(fn, adjoint)
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(0.5, 1.5, p.shape).astype(p.dtype.np) for p in fn.params]
    cts = [rng.standard_normal(r.shape).astype(r.dtype.np) for r in fn.results]
    ref_out, ref_grads = _reference(fn, adjoint, arrays, cts)
    out, grads = _through_split(s, fn, arrays, cts)
    for a, b in zip(ref_out + ref_grads, out + grads):
        np.testing.assert_array_equal(a, b)
    assert s.saved_bytes <= s.unsplit_bytes
    assert [str(v.type) for v in s.backward.results] == [str(v.type) for v in adjoint.fn.results]
    for e in s.backward.eqns:
        assert not e.origin.startswith("recomputed") or recomputable(e), e.op.name
    if optimal:
        assert s.saved_bytes == _optimum(fn, [v for v in adjoint.residuals
                                              if all(v is not p for p in fn.params)])
    return s


def _build(body, *shapes):
    b = Builder("f")
    xs = [b.param(TensorType(s, float64), f"x{i}") for i, s in enumerate(shapes)]
    out = body(*xs)
    return b.build(out if isinstance(out, tuple) else (out,))


CASES = {
    # x + 2 is recomputed from the input: nothing is saved.
    "tutorial": (lambda x: ops.mean((x + 2) * (x + 2) * 3, dims=(0, 1), keepdim=False),
                 [(2, 2)], 0),
    # tanh's rule reads its output, which is cheap to recompute from x.
    "elementwise chain": (lambda x: ops.sin(ops.tanh(ops.exp(x * 2)) * x), [(3, 4)], 0),
    # the reduction is saved, not recomputed; what follows it is recomputed from it and x.
    "reduction then elementwise": (
        lambda x: ops.tanh(ops.exp(ops.reduce_sum(x, dims=(1,), keepdim=True)) * x), [(3, 4)], 24),
    # a broadcast of a small value: saving the [3,1] sum beats saving its [3,4] broadcast.
    "broadcast": (lambda x: ops.exp(ops.broadcast_to(
        ops.reduce_sum(x, dims=(1,), keepdim=True) * 2, shape=(3, 4))), [(3, 4)], 24),
    # matmul outputs are saved; the activation after them is recomputed.
    "gelu mlp": (lambda x, w1, w2: ops.tanh(ops.matmul(
        ops.gelu(ops.matmul(x, w1), approximate="none"), w2)), [(4, 3), (3, 5), (5, 2)],
        (4 * 5 + 4 * 2) * 8),
    # two outputs of one chain, and a value read by several rules.
    "two outputs": (lambda x, y: (ops.exp(x * y), ops.sin(x * y) * x), [(2, 3), (2, 3)], 0),
}


@pytest.mark.parametrize("name", CASES)
def test_split_matches_adjoint_and_saves_the_minimum(name):
    body, shapes, saved = CASES[name]
    fn = _build(body, *shapes)
    s = _check(fn, range(len(shapes)), optimal=len(fn.eqns) <= 12)
    assert s.saved_bytes == saved


def test_matmul_and_reductions_are_saved_never_recomputed():
    fn = _build(lambda x, w: ops.sin(ops.exp(ops.matmul(x, w))
                                     * ops.reduce_sum(x, dims=(1,), keepdim=True)),
                (4, 3), (3, 5))
    s = _check(fn, [0, 1])
    recomputed = [e.op.name for e in s.backward.eqns if e.origin.startswith("recomputed")]
    assert recomputed and not {"matmul", "bmm", "sum"} & set(recomputed)
    assert sorted(str(v.type) for v in s.saved) == ["f64[4,1]", "f64[4,5]"]


UNARY = ["exp", "tanh", "sin", "sigmoid", "neg"]


@st.composite
def graphs(draw):
    """Small programs over x: f64[3,4] and w: f64[4,4] mixing cheap and expensive ops."""
    steps = draw(st.lists(st.tuples(st.sampled_from(
        ["unary", "add", "mul", "sum", "matmul", "transpose"]), st.integers(0, 99),
        st.integers(0, 99), st.sampled_from(UNARY)), min_size=1, max_size=7))

    def body(x, w):
        env = [x]
        for kind, i, j, name in steps:
            a, c = env[i % len(env)], env[j % len(env)]
            if kind == "unary":
                env.append(getattr(ops, name)(a))
            elif kind in ("add", "mul"):
                env.append(getattr(ops, kind)(a, c))
            elif kind == "sum":
                env.append(ops.reduce_sum(a, dims=(1,), keepdim=True))
            elif kind == "matmul" and a.shape == (3, 4):
                env.append(ops.matmul(a, w))
            elif kind == "transpose" and a.ndim == 2:
                env.append(ops.transpose(ops.exp(ops.transpose(a, perm=(1, 0))), perm=(1, 0)))
        return ops.reduce_sum(env[-1] * env[len(env) // 2], dims=(0, 1), keepdim=False)
    return body


@settings(max_examples=40, deadline=None)
@given(graphs(), st.integers(0, 3))
def test_random_graphs_split_equals_unsplit(body, wrt):
    fn = _build(body, (3, 4), (4, 4))
    _check(fn, [[0], [1], [0, 1], [0, 1]][wrt], optimal=len(fn.eqns) <= 11)


# ---- compiled functions ---------------------------------------------------------------------

def _tutorial(x):
    return (3 * (x + 2) ** 2).mean()


def _gelu_mlp(x, y, w1, b1, w2):
    return ((F.gelu(x @ w1 + b1) @ w2 - y) ** 2).mean()


def _compiled_vs_eager(fn, shapes, seed=0):
    tg.manual_seed(seed)
    args = [tg.randn(*s, dtype=tg.float64, requires_grad=True) for s in shapes]
    f = tg.compile(fn)
    out = f(*args)
    out.backward()
    eager = [a.detach().clone().requires_grad_() for a in args]
    fn(*eager).backward()
    np.testing.assert_allclose(out.item(), fn(*eager).item(), rtol=1e-12)
    for a, e in zip(args, eager):
        np.testing.assert_allclose(a.grad.numpy(), e.grad.numpy(), rtol=1e-10, atol=1e-12)
    return f.specializations[0], f


def test_tutorial_saves_nothing_and_gradient_is_exact():
    spec, f = _compiled_vs_eager(_tutorial, [(2, 2)])
    assert (spec.split.saved_bytes, spec.split.unsplit_bytes) == (0, 32)
    x = tg.ones(2, 2, requires_grad=True)
    tg.compile(_tutorial)(x).backward()
    assert x.grad.tolist() == [[4.5, 4.5], [4.5, 4.5]]
    # the loss compiles with its gradient: the call keeps that (4 float64s) for backward()
    assert "1 call(s), 32 bytes of gradients computed with the loss" in str(f.explain())
    assert f.explain().specializations[0]["saved_bytes"] == spec.saved_bytes == 32


def test_mlp_saved_bytes():
    import importlib.util
    spec_ = importlib.util.spec_from_file_location("mlp_example", EXAMPLES / "mlp.py")
    mlp = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(mlp)
    shapes = [(64, 8), (64, 1), (8, 32), (32,), (32, 1)]
    # relu's rule reads its output, and that output is the second matmul's operand: the hidden
    # activation and the error are the minimum (64*32 + 64*1 float64s), nothing to recompute.
    spec, _ = _compiled_vs_eager(mlp.loss.fn, shapes)
    assert spec.split.saved_bytes == spec.split.unsplit_bytes == (64 * 32 + 64) * 8
    # gelu's rule reads its input: the split saves it and recomputes gelu for the matmul rule,
    # instead of saving both.
    spec, _ = _compiled_vs_eager(_gelu_mlp, shapes)
    assert spec.split.saved_bytes == (64 * 32 + 64) * 8
    assert spec.split.unsplit_bytes == (2 * 64 * 32 + 64) * 8


def test_input_overwritten_before_backward_raises_instead_of_wrong_gradient():
    # The backward recomputes x + 2 from x, so x is read after the forward: an in-place update
    # in between is PyTorch's version error (eager saved x + 2 and would not notice).
    f = tg.compile(_tutorial)
    x = tg.ones(2, 2, requires_grad=True)
    out = f(x)
    with tg.no_grad():
        x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


def test_nothing_is_recomputed_from_inputs_the_call_overwrites():
    fn = _build(lambda x, w: ops.reduce_sum((x + 2) * w, dims=(0,), keepdim=False), (3,), (3,))
    adjoint = vjp(fn, [1])
    assert split(fn, adjoint).saved_bytes == 0                  # x + 2 recomputed from x
    s = split(fn, adjoint, overwritten=[fn.params[0]])
    assert [str(v.type) for v in s.saved] == ["f64[3]"] and s.recomputed == 0

    def update_input(x, w):       # the function itself updates x after reading it
        y = ((x + 2) * w).sum()
        x.add_(1)
        return y
    x, w = tg.zeros(3), tg.ones(3, requires_grad=True)
    f = tg.compile(update_input)
    f(x, w).backward()
    assert w.grad.tolist() == [2.0, 2.0, 2.0] and x.tolist() == [1.0, 1.0, 1.0]
    assert f.specializations[0].saved_bytes == 12


def test_linear_gelu_layer_norm_blocks_save_pre_activations_and_statistics():
    tg.manual_seed(0)
    model = tg.nn.Sequential(*[m for _ in range(2) for m in (
        tg.nn.Linear(64, 64), tg.nn.GELU(), tg.nn.LayerNorm(64))]).double()
    x = tg.randn(32, 64, dtype=tg.float64)

    def loss(model, x):
        return (model(x) ** 2).mean()
    f = tg.compile(loss)
    f(model, x).backward()
    compiled = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    loss(model, x).backward()
    for c, p in zip(compiled, model.parameters()):
        np.testing.assert_allclose(c, p.grad.numpy(), rtol=1e-10, atol=1e-14)
    # Per block: the pre-activation x @ w + b (gelu and layer_norm are recomputed from it) and
    # layer_norm's mean and reciprocal standard deviation per row.
    split_ = f.specializations[0].split
    assert split_.saved_bytes == 2 * (32 * 64 + 32 + 32) * 8
    assert sorted(str(v.type) for v in split_.saved) == ["f64[32,1]"] * 4 + ["f64[32,64]"] * 2
    assert split_.unsplit_bytes > 4 * split_.saved_bytes
