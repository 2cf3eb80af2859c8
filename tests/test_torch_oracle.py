"""tracegrad against an installed PyTorch: values, gradients, grad_fn names, graphs and reprs.

Every case is written once as `fn(lib, *inputs)` and run with `lib` = tracegrad and `lib` = torch
on the same random inputs, in float32 and float64; values and gradients are compared with
`torch.testing.assert_close` at its default tolerances (which also checks dtypes and shapes).
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tracegrad as tg  # noqa: E402


def _rng(key: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(key.encode()))


def make_inputs(kinds: str, shapes, key: str, dtype):
    """numpy inputs: kind n = normal, p = positive, a = away from zero, m = boolean mask."""
    r = _rng(key)
    out = []
    for kind, shape in zip(kinds, shapes):
        if kind == "m":
            out.append(r.random(shape) < 0.5)
            continue
        if kind == "n":
            x = r.standard_normal(shape)
        elif kind == "p":
            x = r.uniform(0.5, 2.0, shape)
        elif kind == "a":
            x = r.standard_normal(shape)
            x = np.where(x >= 0, x + 0.1, x - 0.1)
        else:
            raise ValueError(kind)
        out.append(np.asarray(x, dtype=dtype))
    return out


def leaves(lib, arrays):
    """Leaf tensors of `lib`: floating inputs require grad, masks don't."""
    return [lib.tensor(a, requires_grad=a.dtype != np.bool_) for a in arrays]


def to_torch(t):
    """A tracegrad tensor's value as a torch tensor (for assert_close)."""
    return torch.from_numpy(np.array(t.detach().numpy(), copy=True))


def assert_same_repr(g, t):
    """repr(g) is torch's: for bitwise-equal values the very same text; when the values differ in
    the last bits (checked with assert_close by the caller), the text torch prints for g's values."""
    g_np, t_np = g.detach().numpy(), t.detach().numpy()
    if np.array_equal(g_np, t_np, equal_nan=True):
        assert repr(g.detach()) == repr(t.detach())
    else:
        assert repr(g.detach()) == repr(torch.from_numpy(np.array(g_np, copy=True)))


# (id, fn(lib, *inputs), kinds, shapes)
CASES = [
    # unary
    ("neg", lambda L, x: -x, "n", [(2, 3)]),
    ("exp", lambda L, x: x.exp(), "n", [(2, 3)]),
    ("log", lambda L, x: L.log(x), "p", [(2, 3)]),
    ("sqrt", lambda L, x: x.sqrt(), "p", [(2, 3)]),
    ("tanh", lambda L, x: L.tanh(x), "n", [(2, 3)]),
    ("sigmoid", lambda L, x: x.sigmoid(), "n", [(2, 3)]),
    ("relu", lambda L, x: L.relu(x), "a", [(2, 3)]),
    ("clone", lambda L, x: x.clone(), "n", [(4,)]),
    ("exp_0d", lambda L, x: x.exp(), "n", [()]),
    # binary, same shape and broadcasting
    ("add", lambda L, x, y: x + y, "nn", [(2, 3), (2, 3)]),
    ("sub", lambda L, x, y: x - y, "nn", [(2, 3), (2, 3)]),
    ("mul", lambda L, x, y: x * y, "nn", [(2, 3), (2, 3)]),
    ("div", lambda L, x, y: x / y, "np", [(2, 3), (2, 3)]),
    ("pow_tensor", lambda L, x, y: x ** y, "pn", [(2, 3), (2, 3)]),
    ("add_bcast", lambda L, x, y: x + y, "nn", [(3, 1), (4,)]),
    ("mul_bcast", lambda L, x, y: x * y, "nn", [(3, 1), (4,)]),
    ("div_bcast_0d", lambda L, x, y: x / y, "np", [(), (2, 3)]),
    ("sub_bcast_0d", lambda L, x, y: x - y, "nn", [(2, 3), ()]),
    ("pow_bcast", lambda L, x, y: x ** y, "pn", [(3, 1), (4,)]),
    ("mul_fanout", lambda L, x: x * x * x, "n", [(5,)]),
    # with Python scalars
    ("add_scalar", lambda L, x: x + 2.5, "n", [(3,)]),
    ("radd", lambda L, x: 2.5 + x, "n", [(3,)]),
    ("sub_scalar", lambda L, x: x - 1.5, "n", [(3,)]),
    ("rsub", lambda L, x: 1.5 - x, "n", [(3,)]),
    ("mul_scalar", lambda L, x: x * 3, "n", [(3,)]),
    ("rmul", lambda L, x: 3.0 * x, "n", [(3,)]),
    ("div_scalar", lambda L, x: x / 2.0, "n", [(3,)]),
    ("rdiv", lambda L, x: 2.0 / x, "p", [(3,)]),
    ("pow_scalar", lambda L, x: x ** 2, "n", [(3,)]),
    ("pow_frac", lambda L, x: x ** 2.5, "p", [(3,)]),
    ("pow_neg", lambda L, x: x ** -1.5, "p", [(3,)]),
    ("rpow", lambda L, x: 2.0 ** x, "n", [(3,)]),
    # reductions
    ("sum", lambda L, x: x.sum(), "n", [(2, 3)]),
    ("sum_dim", lambda L, x: x.sum(0), "n", [(2, 3)]),
    ("sum_keepdim", lambda L, x: x.sum(-1, keepdim=True), "n", [(2, 3)]),
    ("sum_tuple", lambda L, x: L.sum(x, (0, 2)), "n", [(2, 3, 4)]),
    ("mean", lambda L, x: x.mean(), "n", [(2, 3)]),
    ("mean_dim", lambda L, x: x.mean(1), "n", [(2, 3)]),
    ("mean_tuple_keep", lambda L, x: L.mean(x, (0, 2), True), "n", [(2, 3, 4)]),
    ("norm", lambda L, x: x.norm(), "n", [(2, 3)]),
    ("norm_dim", lambda L, x: x.norm(dim=1), "n", [(2, 3)]),
    ("norm_keepdim", lambda L, x: x.norm(dim=0, keepdim=True), "n", [(2, 3)]),
    ("norm_fn", lambda L, x: L.norm(x), "n", [(4,)]),
    # layout
    ("reshape", lambda L, x: x.reshape(-1), "n", [(2, 3)]),
    ("view", lambda L, x: x.view(3, 2), "n", [(2, 3)]),
    ("transpose", lambda L, x: x.transpose(0, 1), "n", [(2, 3)]),
    ("transpose_fn", lambda L, x: L.transpose(x, 1, 0), "n", [(2, 3)]),
    ("permute_3d", lambda L, x: x.permute(2, 0, 1), "n", [(2, 3, 4)]),
    ("t", lambda L, x: x.t(), "n", [(2, 3)]),
    ("T", lambda L, x: x.T, "n", [(2, 3)]),
    ("transpose_3d", lambda L, x: x.transpose(0, 2), "n", [(2, 3, 4)]),
    ("expand", lambda L, x: x.expand(2, 3, 4), "n", [(3, 1)]),
    # matmul, where, conversions
    ("mm", lambda L, x, y: x @ y, "nn", [(2, 3), (3, 4)]),
    ("matmul_fn", lambda L, x, y: L.matmul(x, y), "nn", [(4, 2), (2, 3)]),
    ("mm_method", lambda L, x, y: x.mm(y), "nn", [(1, 5), (5, 1)]),
    ("where", lambda L, x, y: L.where(x > 0, x, y), "an", [(2, 3), (2, 3)]),
    ("where_mask_bcast", lambda L, c, x, y: L.where(c, x, y), "mnn", [(3, 1), (4,), ()]),
    ("where_scalar", lambda L, x: L.where(x > 0, x, 0.0), "a", [(5,)]),
    ("to_other_float", lambda L, x: x.double() * 2.0 if x.dtype == L.float32 else x.float() * 2.0,
     "n", [(3,)]),
    ("mixed_dtype", lambda L, x: x * L.tensor([1.0, -2.0, 0.5], dtype=L.float64), "n", [(3,)]),
    # composites
    ("mlp", lambda L, x, w, b: (x @ w + b).relu().mean(), "nnn", [(4, 3), (3, 5), (5,)]),
    ("mlp2", lambda L, x, w1, w2: ((x @ w1).tanh() @ w2).sigmoid().sum(), "nnn",
     [(4, 3), (3, 5), (5, 2)]),
    ("tanh_chain", lambda L, x: (x.tanh() * 2.0 + 1.0).exp().sum(), "n", [(3, 2)]),
    ("sigmoid_bce", lambda L, x, y: -(y * x.sigmoid().log() + (1 - y) * (1 - x.sigmoid()).log()).mean(),
     "np", [(6,), (6,)]),
    ("norm_diff", lambda L, x, y: (x - y).norm(), "nn", [(2, 3), (2, 3)]),
    ("mse", lambda L, x, y: ((x - y) ** 2).mean(), "nn", [(3, 4), (3, 4)]),
    ("softplus", lambda L, x: (1.0 + x.exp()).log().sum(), "n", [(5,)]),
    ("normalize", lambda L, x: x / x.norm(dim=1, keepdim=True), "n", [(3, 4)]),
    ("softmax_like", lambda L, x: x.exp() / x.exp().sum(1, keepdim=True), "n", [(2, 4)]),
    ("layer", lambda L, x, w: (x @ w.t()).sqrt().sum(0), "pp", [(2, 3), (4, 3)]),
]

DTYPES = [pytest.param(np.float32, id="f32"), pytest.param(np.float64, id="f64")]


def _run(lib, fn, arrays):
    xs = leaves(lib, arrays)
    return xs, fn(lib, *xs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case_id, fn, kinds, shapes", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients(case_id, fn, kinds, shapes, dtype):
    arrays = make_inputs(kinds, shapes, case_id, dtype)
    gx, gout = _run(tg, fn, arrays)
    tx, tout = _run(torch, fn, arrays)

    torch.testing.assert_close(to_torch(gout), tout.detach())
    assert repr(gout.dtype) == repr(tout.dtype)
    assert tuple(gout.shape) == tuple(tout.shape)
    assert gout.requires_grad == tout.requires_grad
    assert_same_repr(gout, tout)

    v = _rng("v" + case_id).standard_normal(tuple(tout.shape)).astype(np.dtype(str(tout.dtype)[6:]))
    if tout.numel() == 1 and tout.dim() == 0:
        gout.backward()
        tout.backward()
    else:
        gout.backward(tg.tensor(v))
        tout.backward(torch.tensor(v))
    for i, (a, b) in enumerate(zip(gx, tx)):
        if b.grad is None:
            assert a.grad is None, f"input {i}"
            continue
        assert a.grad is not None, f"input {i}: no gradient"
        torch.testing.assert_close(to_torch(a.grad), b.grad, msg=lambda m: f"input {i}: {m}")
        assert_same_repr(a.grad, b.grad)


# ---- grad_fn names and graph structure ------------------------------------------------------

# torch implements `scalar / x` as reciprocal(x) * scalar (MulBackward0 over ReciprocalBackward0):
# an implementation detail of torch, not a name tracegrad should copy.
NOT_COMPARABLE = {"rdiv"}


NAME_CASES = [pytest.param(*c, id=c[0]) for c in CASES if c[0] not in NOT_COMPARABLE]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case_id, fn, kinds, shapes", NAME_CASES)
def test_grad_fn_name_and_repr(case_id, fn, kinds, shapes, dtype):
    arrays = make_inputs(kinds, shapes, case_id, dtype)
    _, gout = _run(tg, fn, arrays)
    _, tout = _run(torch, fn, arrays)
    assert gout.grad_fn.name() == tout.grad_fn.name()
    assert repr(gout) == repr(tout)
    assert repr(gout.grad_fn).startswith(f"<{tout.grad_fn.name()} object at 0x")


@pytest.mark.parametrize("expr, name", [
    (lambda L, x: x.sum(0), "SumBackward1"),
    (lambda L, x: x.mean(0), "MeanBackward1"),
    (lambda L, x: x.reshape(2, 3).permute(1, 0), "PermuteBackward0"),
    (lambda L, x: x.reshape(2, 3).sum((0, 1)), "SumBackward1"),
], ids=["sum_dim_1d", "mean_dim_1d", "permute_2d", "sum_all_dims_tuple"])
def test_grad_fn_names_of_call_forms(expr, name):
    arrays = [np.linspace(0.5, 3.0, 6, dtype=np.float32)]
    _, tout = _run(torch, expr, arrays)
    assert tout.grad_fn.name() == name  # what torch does
    _, gout = _run(tg, expr, arrays)
    assert gout.grad_fn.name() == name


def _node_label(node):
    if node is None:
        return None
    kind = type(node).__name__
    return "AccumulateGrad" if kind == "AccumulateGrad" else node.name()


def graph_signature(root):
    """The graph under `root` as nested (label, index, children) tuples."""
    def walk(node, index, depth):
        assert depth < 100
        children = () if node is None else tuple(walk(n, i, depth + 1) for n, i in node.next_functions)
        return (_node_label(node), index, children)
    return walk(root, 0, 0)


GRAPH_CASES = [
    ("mul_add", lambda L, x, y: x * y + 3.0, "nn", [(3,), (3,)]),
    ("constant", lambda L, x, y: x * L.ones(3) - y, "nn", [(3,), (3,)]),
    ("chain", lambda L, x, y: ((x + y) * x).exp().sum(), "nn", [(3,), (3,)]),
    ("mlp", lambda L, x, w, b: (x @ w + b).relu().mean(), "nnn", [(4, 3), (3, 5), (5,)]),
    ("norm", lambda L, x, y: (x - y).norm(), "nn", [(2, 3), (2, 3)]),
    ("tanh_sigmoid", lambda L, x, y: (x.tanh() / y.sigmoid()).sum(1), "nn", [(2, 3), (2, 3)]),
    ("mm_const_left", lambda L, x, y: L.ones(1, 3) @ x.view(3, 1) + y.sum(), "nn", [(3,), (2,)]),
    ("view_expand", lambda L, x, y: x.view(3, 1).expand(3, 4) * y, "nn", [(3,), (4,)]),
    ("pow_tensor", lambda L, x, y: x ** y, "pn", [(3,), (3,)]),
    ("pow_scalar", lambda L, x, y: x ** 2 + y, "nn", [(3,), (3,)]),
    ("rpow", lambda L, x, y: 2.0 ** x + y, "nn", [(3,), (3,)]),
    ("rsub", lambda L, x, y: 2.0 - x * y, "nn", [(3,), (3,)]),
    ("where", lambda L, x, y: L.where(x > 0, x, y), "an", [(3,), (3,)]),
]
@pytest.mark.parametrize("case_id, fn, kinds, shapes", [
    pytest.param(*c, id=c[0]) for c in GRAPH_CASES])
def test_graph_structure(case_id, fn, kinds, shapes):
    arrays = make_inputs(kinds, shapes, case_id, np.float32)
    _, gout = _run(tg, fn, arrays)
    _, tout = _run(torch, fn, arrays)
    assert graph_signature(gout.grad_fn) == graph_signature(tout.grad_fn)


def test_accumulate_grad_node_is_per_leaf_and_holds_the_variable():
    for lib in (tg, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        a = (x * 2.0).grad_fn.next_functions[0][0]
        b = (x + 1.0).grad_fn.next_functions[0][0]
        assert type(a).__name__ == "AccumulateGrad"
        assert a.variable is x
        assert repr(a).startswith("<AccumulateGrad object at 0x")
        assert a.next_functions == ()
        if lib is tg:
            assert a is b


def test_grad_fn_type_name_matches_torch():
    arrays = [np.ones(3, dtype=np.float32)]
    _, gout = _run(tg, lambda L, x: x + 2, arrays)
    _, tout = _run(torch, lambda L, x: x + 2, arrays)
    assert type(gout.grad_fn).__name__ == type(tout.grad_fn).__name__


# ---- promotion, semantics and messages ------------------------------------------------------

PROMOTIONS = [
    lambda L: L.tensor([1.0, 2.0]) + 2.5,
    lambda L: L.tensor([1.0, 2.0]) + L.tensor([1.0], dtype=L.float64),
    lambda L: L.tensor([1, 2]) + 2.5,
    lambda L: L.tensor([1, 2]) / L.tensor([2, 4]),
    lambda L: L.tensor([1, 2]) / 2,
    lambda L: L.tensor([1, 2]) * 2,
    lambda L: L.tensor([1.0, 2.0]) < 1.5,
    lambda L: L.tensor([1, 2]) == L.tensor([1.0, 3.0]),
    lambda L: L.tensor(1.5, dtype=L.float64) + L.tensor([1.0, 2.0]),
    lambda L: L.tensor(1.5, dtype=L.float64) + L.tensor([1, 2]),
    lambda L: L.tensor(2) * L.tensor([1.5], dtype=L.float64),
    lambda L: L.tensor(2.0) * L.tensor([1, 2]),
    lambda L: L.tensor(2.0, dtype=L.float64) * L.tensor(3.0),
    lambda L: L.tensor([True, False]) + 1,
    lambda L: L.tensor([True, False]) + True,
    lambda L: L.tensor([True, False]) * L.tensor([True, True]),
    lambda L: L.tensor([1, 2]) + True,
    lambda L: L.tensor([1, 2]) ** 2,
    lambda L: L.tensor([1, 2]) ** 2.0,
    lambda L: 2 ** L.tensor([1, 2]),
    lambda L: 2.0 ** L.tensor([1, 2]),
    lambda L: L.tensor([1, 2]).sum(),
    lambda L: L.tensor([True, True]).sum(),
    lambda L: L.tensor([4, 9]).sqrt(),
    lambda L: L.tensor([-1, 2]).exp(),
    lambda L: L.tensor([-1, 2]).relu(),
    lambda L: L.where(L.tensor([True, False]), L.tensor([1, 2]), 0.5),
    lambda L: L.where(L.tensor([True, False]), 1.0, L.tensor([1.0, 2.0], dtype=L.float64)),
    lambda L: L.tensor([[1, 2]]) @ L.tensor([[1], [2]]),
    lambda L: L.arange(5),
    lambda L: L.arange(0, 1, 0.25),
    lambda L: L.full((2,), 7),
    lambda L: L.full((2,), 1.5),
    lambda L: L.zeros_like(L.tensor([1, 2])),
    lambda L: L.tensor([1.7, -1.7]).long(),
    lambda L: L.tensor([0.0, 2.0]).bool(),
]


@pytest.mark.parametrize("expr", PROMOTIONS, ids=[f"p{i}" for i in range(len(PROMOTIONS))])
def test_promotion_values_and_reprs(expr):
    g, t = expr(tg), expr(torch)
    assert repr(g.dtype) == repr(t.dtype)
    torch.testing.assert_close(to_torch(g), t)
    assert_same_repr(g, t)


@pytest.mark.parametrize("expr", [
    lambda L: L.ones(3) + L.ones(4),
    lambda L: L.ones(4, 2) * L.ones(3),
    lambda L: L.ones(2, 3) @ L.ones(4, 5),
    lambda L: L.ones(2, 3).reshape(5, -1),
    lambda L: L.ones(2, 3).view(5, 5),
    lambda L: L.ones(2, 3).sum(2),
    lambda L: L.ones(2, 3).sum((0, 0)),
    lambda L: L.ones(2).item(),
    lambda L: bool(L.ones(2)),
    lambda L: L.ones(2, requires_grad=True).numpy(),
    lambda L: (L.ones(3, requires_grad=True) * 2).backward(),
    lambda L: (L.ones(3, requires_grad=True) * 2).backward(L.ones(2)),
    lambda L: L.ones(3).sum().backward(),
    lambda L: L.tensor([1, 2]) ** -1,
    lambda L: L.tensor([1, 2]).mean(),
    lambda L: L.ones(2, 3, 4).t(),
    lambda L: L.ones(2, 2) @ L.ones(2, 2, dtype=L.float64),
], ids=["bcast", "bcast_dim1", "mm", "reshape", "view", "dim_range", "dup_dim", "item",
        "bool", "numpy", "implicit_grad", "grad_shape", "no_grad_fn", "int_neg_pow", "int_mean",
        "t_3d", "mm_dtype"])
def test_error_messages_match(expr):
    with pytest.raises(Exception) as g:
        expr(tg)
    with pytest.raises(Exception) as t:
        expr(torch)
    assert str(g.value) == str(t.value)
    # same family of exception (torch raises IndexError for bad dims, RuntimeError elsewhere)
    assert isinstance(g.value, type(t.value)) or type(t.value) is RuntimeError


@pytest.mark.parametrize("make", [
    lambda x: (x + 2).sum(), lambda x: (x * 2).sum(), lambda x: (x * x).sum(), lambda x: (2 - x).sum(),
    lambda x: (-x).sum(), lambda x: (x / 2).sum(), lambda x: x.mean(), lambda x: x.view(3, 1).sum(),
    lambda x: x.exp().sum(), lambda x: x.relu().sum(), lambda x: x.clone().sum(),
    lambda x: x.expand(2, 3).sum(), lambda x: (x ** 2).sum(), lambda x: x.norm(),
    lambda x: x.double().sum(), lambda x: ((x + 1) * 2).sum(), lambda x: x.sum(0),
    lambda x: x.view(1, 3).mm(x.view(3, 1)).sum(),
    lambda x: x.sigmoid().sum(), lambda x: x.tanh().sum(), lambda x: x.sqrt().sum(),
    lambda x: x.log().sum(), lambda x: x.t().sum(), lambda x: (x - x.detach()).sum(),
])
def test_second_backward_raises_exactly_when_torch_does(make):
    outcomes = []
    for lib in (tg, torch):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = make(x)
        y.backward()
        try:
            y.backward()
            outcomes.append(("ok", x.grad.tolist()))
        except RuntimeError as e:
            assert "retain_graph=True" in str(e)
            outcomes.append(("raised", x.grad.tolist()))
    assert outcomes[0][0] == outcomes[1][0]
    torch.testing.assert_close(torch.tensor(outcomes[0][1]), torch.tensor(outcomes[1][1]))


def test_special_point_gradients_match_torch():
    cases = [
        (lambda x: x.relu(), [[-1.0, 0.0, 2.0]]),
        (lambda x: x.norm(), [[0.0, 0.0]]),
        (lambda x: x.norm(dim=1), [[[0.0, 0.0], [3.0, 4.0]]]),
        (lambda x, y: x ** y, [[0.0, 0.0, 0.0, 2.0], [0.0, 2.0, -1.0, 0.0]]),
        (lambda y: 0.0 ** y, [[0.0, 2.0, -1.0]]),
        (lambda y: (-2.0) ** y, [[2.0, 3.0]]),
        (lambda x: x ** 0.5, [[0.0, 4.0]]),
        (lambda x: x.sqrt(), [[0.0, 4.0]]),
        (lambda x: x.log(), [[0.0, 4.0]]),
        (lambda x, y: x / y, [[1.0, 0.0], [0.0, 0.0]]),
        (lambda x: x.sigmoid(), [[-800.0, 800.0, 0.0]]),
        (lambda x: x.tanh(), [[-800.0, 800.0, 0.0]]),
        (lambda x: x.exp(), [[800.0, -800.0]]),
    ]
    for fn, values in cases:
        for dtype in (np.float32, np.float64):
            arrays = [np.array(v, dtype=dtype) for v in values]
            grads = []
            for lib in (tg, torch):
                xs = leaves(lib, arrays)
                fn(*xs).sum().backward()
                grads.append([x.grad for x in xs])
            for a, b in zip(*grads):
                torch.testing.assert_close(to_torch(a), b, equal_nan=True)


def test_pow_zero_exponent_gradient_matches_torch():
    grads = []
    for lib in (tg, torch):
        x = lib.tensor([0.0, 2.0], requires_grad=True)
        (x ** 0).sum().backward()
        grads.append(None if x.grad is None else x.grad.tolist())
    assert grads[0] == grads[1] == [0.0, 0.0]


def test_relu_nan_gradient_matches_torch():
    grads = []
    for lib in (tg, torch):
        x = lib.tensor([float("nan"), 1.0, -1.0], requires_grad=True)
        x.relu().sum().backward()
        grads.append(x.grad.tolist())
    assert grads[0] == grads[1]


def test_tutorial_against_torch():
    outputs = []
    for lib in (tg, torch):
        x = lib.ones(2, 2, requires_grad=True)
        y = x + 2
        z = y * y * 3
        out = z.mean()
        out.backward()
        v = lib.tensor([0.1, 1.0, 0.0001], dtype=lib.float)
        w = lib.tensor([0.0254, -0.2455, 1.1570], requires_grad=True)
        u = w * 2
        while u.data.norm() < 1000:
            u = u * 2
        u.backward(v)
        d = w.detach()
        outputs.append([repr(x), repr(y), repr(z), repr(out), repr(x.grad), repr(u), repr(w.grad),
                        repr(w.eq(d)), repr((w, d)), y.grad_fn.name(), out.grad_fn.name()])
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("make", [
    lambda L: L.ones(2, 3), lambda L: L.zeros(2, dtype=L.int64),
    lambda L: L.ones(2, dtype=L.float64, requires_grad=True),
    lambda L: L.full((2, 2), 1.5), lambda L: L.arange(2, 8, 3),
    lambda L: L.arange(5, 0, -2), lambda L: L.ones_like(L.tensor([[1.0]])),
    lambda L: L.zeros(()), lambda L: L.tensor([]), lambda L: L.tensor([[True, False]]),
])
def test_factories_match_torch(make):
    a, b = make(tg), make(torch)
    assert repr(a) == repr(b)
    assert repr(a.shape) == repr(b.shape)
    assert a.requires_grad == b.requires_grad and a.is_leaf == b.is_leaf
