"""Tensor API: constructors, dtypes, metadata, reprs, type promotion, broadcasting, forward values.

Expected values, dtypes, reprs and error messages are PyTorch's (2.13).
"""
from __future__ import annotations

import operator
import re

import numpy as np
import pytest

import tracegrad as torch


def rng(seed=0):
    return np.random.default_rng(seed)


# ---- constructors and dtype inference -------------------------------------------------------

@pytest.mark.parametrize("data, dtype", [
    ([1.0, 2.0], torch.float32),
    (1.5, torch.float32),
    ([[1, 2], [3, 4]], torch.int64),
    (7, torch.int64),
    ([True, False], torch.bool),
    (True, torch.bool),
    ([1, 2.5], torch.float32),
    ([True, 2], torch.int64),
    (np.array([1.0, 2.0]), torch.float64),
    (np.array([1.0, 2.0], dtype=np.float32), torch.float32),
    (np.array([1, 2]), torch.int64),
    (np.array([True]), torch.bool),
    (np.float32(1.5), torch.float32),
])
def test_tensor_dtype_inference(data, dtype):
    t = torch.tensor(data)
    assert t.dtype is dtype
    np.testing.assert_array_equal(t.numpy(), np.asarray(data))
    assert t.numpy().dtype == dtype.np


def test_tensor_from_numpy_float64_scalar_stays_float64():
    assert torch.tensor(np.float64(1.5)).dtype is torch.float64


def test_tensor_with_dtype_and_requires_grad():
    t = torch.tensor([1, 2], dtype=torch.float64, requires_grad=True)
    assert t.dtype is torch.float64 and t.requires_grad and t.is_leaf
    assert t.tolist() == [1.0, 2.0]
    assert torch.tensor([1.7, -1.7], dtype=torch.int64).tolist() == [1, -1]
    assert torch.tensor([0.0, 2.0], dtype=torch.bool).tolist() == [False, True]


def test_tensor_copies_its_data():
    a = np.array([1.0, 2.0])
    t = torch.tensor(a)
    a[0] = 5.0
    assert t.tolist() == [1.0, 2.0]
    u = torch.tensor(t)
    u.numpy()[1] = 9.0
    assert t.tolist() == [1.0, 2.0]


def test_tensor_rejects_ragged_data():
    with pytest.raises((TypeError, ValueError)):
        torch.tensor([[1.0, 2.0], [3.0]])


def test_integer_tensors_cannot_require_grad():
    msg = "(?i)^only Tensors of floating point and complex dtype can require gradients$"
    with pytest.raises(RuntimeError, match=msg):
        torch.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match=msg):
        torch.zeros(2, dtype=torch.int64).requires_grad_()
    with pytest.raises(RuntimeError, match=msg):
        torch.tensor([True]).requires_grad_()
    with pytest.raises(RuntimeError, match=msg):
        torch.ones(2, dtype=torch.int64, requires_grad=True)


@pytest.mark.parametrize("factory, value", [(torch.ones, 1.0), (torch.zeros, 0.0)])
def test_ones_zeros(factory, value):
    for args in [(2, 3), ((2, 3),), ([2, 3],), (torch.Size([2, 3]),)]:
        t = factory(*args)
        assert t.shape == torch.Size([2, 3]) and t.dtype is torch.float32
        assert t.tolist() == [[value] * 3] * 2
    assert factory(()).shape == torch.Size([]) and factory(()).item() == value
    assert factory(0).shape == torch.Size([0])
    t = factory(2, dtype=torch.float64, requires_grad=True)
    assert t.dtype is torch.float64 and t.requires_grad and t.is_leaf
    assert factory(3, dtype=torch.int64).tolist() == [int(value)] * 3
    assert factory(2, dtype=torch.bool).tolist() == [bool(value)] * 2


def test_full():
    assert torch.full((2, 2), 1.5).dtype is torch.float32
    assert torch.full((2, 2), 1.5).tolist() == [[1.5, 1.5], [1.5, 1.5]]
    assert torch.full((2,), 7).dtype is torch.int64 and torch.full((2,), 7).tolist() == [7, 7]
    assert torch.full((2,), True).dtype is torch.bool
    t = torch.full((3,), 2, dtype=torch.float64, requires_grad=True)
    assert t.dtype is torch.float64 and t.requires_grad and t.tolist() == [2.0, 2.0, 2.0]


def test_like_factories():
    i = torch.tensor([[1, 2, 3]])
    assert torch.zeros_like(i).dtype is torch.int64 and torch.zeros_like(i).tolist() == [[0, 0, 0]]
    f = torch.tensor([1.0, 2.0], dtype=torch.float64)
    o = torch.ones_like(f)
    assert o.dtype is torch.float64 and o.tolist() == [1.0, 1.0]
    o32 = torch.ones_like(f, dtype=torch.float32, requires_grad=True)
    assert o32.dtype is torch.float32 and o32.requires_grad
    assert torch.ones_like(torch.ones(2, 3, requires_grad=True)).requires_grad is False


def test_arange():
    assert torch.arange(5).tolist() == [0, 1, 2, 3, 4] and torch.arange(5).dtype is torch.int64
    assert torch.arange(2, 8, 3).tolist() == [2, 5]
    assert torch.arange(5, 0, -2).tolist() == [5, 3, 1]
    t = torch.arange(0, 1, 0.25)
    assert t.dtype is torch.float32 and t.tolist() == [0.0, 0.25, 0.5, 0.75]
    d = torch.arange(3, dtype=torch.float64)
    assert d.dtype is torch.float64 and d.tolist() == [0.0, 1.0, 2.0]
    assert torch.arange(0).shape == torch.Size([0])
    assert torch.arange(3, dtype=torch.float32, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError):
        torch.arange(0, 3, 0)


def test_randn_rand_reproducible_with_manual_seed():
    torch.manual_seed(123)
    a, b = torch.randn(3, 4), torch.rand(5)
    torch.manual_seed(123)
    c, d = torch.randn(3, 4), torch.rand(5)
    assert a.tolist() == c.tolist() and b.tolist() == d.tolist()
    assert a.dtype is torch.float32 and a.shape == torch.Size([3, 4])
    assert ((b.numpy() >= 0) & (b.numpy() < 1)).all()
    e = torch.randn(3, 4)
    assert e.tolist() != a.tolist()  # the generator advances
    torch.manual_seed(124)
    assert torch.randn(3, 4).tolist() != a.tolist()


def test_random_factory_kwargs_and_distribution():
    torch.manual_seed(0)
    x = torch.randn(20000, dtype=torch.float64, requires_grad=True)
    assert x.dtype is torch.float64 and x.requires_grad and x.is_leaf
    v = x.detach().numpy()
    assert abs(v.mean()) < 0.05 and abs(v.std() - 1.0) < 0.05
    u = torch.rand(20000, dtype=torch.float64).numpy()
    assert abs(u.mean() - 0.5) < 0.02 and u.min() >= 0.0 and u.max() < 1.0
    assert torch.randn((2, 3)).shape == torch.Size([2, 3])
    with pytest.raises(RuntimeError):
        torch.rand(2, dtype=torch.int64)


# ---- dtypes ---------------------------------------------------------------------------------

def test_dtype_objects_and_aliases():
    assert torch.float is torch.float32
    assert torch.double is torch.float64
    assert torch.long is torch.int64
    assert repr(torch.float32) == "torch.float32" and repr(torch.float) == "torch.float32"
    assert repr(torch.float64) == "torch.float64"
    assert repr(torch.int64) == "torch.int64"
    assert repr(torch.bool) == "torch.bool"
    assert isinstance(torch.float32, torch.dtype)
    assert torch.float32.is_floating_point and not torch.int64.is_floating_point
    assert torch.ones(2).is_floating_point() and not torch.ones(2, dtype=torch.bool).is_floating_point()


def test_conversions():
    x = torch.tensor([1.7, -1.7, 0.0])
    assert x.double().dtype is torch.float64
    assert x.long().tolist() == [1, -1, 0]
    assert x.bool().tolist() == [True, True, False]
    assert x.to(torch.float64).float().dtype is torch.float32
    assert x.float() is x  # same dtype: no copy, like PyTorch
    assert torch.tensor([1, 0]).float().tolist() == [1.0, 0.0]


# ---- metadata -------------------------------------------------------------------------------

def test_shape_size_dim_numel():
    t = torch.ones(2, 3)
    assert repr(t.shape) == "torch.Size([2, 3])"
    assert t.shape == (2, 3) and isinstance(t.shape, tuple) and isinstance(t.shape, torch.Size)
    assert t.size() == torch.Size([2, 3]) and repr(t.size()) == "torch.Size([2, 3])"
    assert t.size(0) == 2 and t.size(1) == 3 and t.size(-1) == 3 and t.size(-2) == 2
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-2, 1\], but got 2\)"):
        t.size(2)
    assert t.dim() == 2 and t.ndim == 2
    assert t.numel() == 6 and t.shape.numel() == 6
    assert len(t) == 2
    s = torch.tensor(3.0)
    assert s.shape == torch.Size([]) and repr(s.shape) == "torch.Size([])"
    assert s.dim() == 0 and s.numel() == 1
    with pytest.raises(TypeError):
        len(s)
    assert t.dtype is torch.float32
    assert str(t.device) == "cpu"


def test_item_tolist_numpy():
    assert torch.tensor(3.5).item() == 3.5 and isinstance(torch.tensor(3.5).item(), float)
    assert torch.tensor([[7]]).item() == 7 and isinstance(torch.tensor([[7]]).item(), int)
    assert torch.tensor(True).item() is True
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to Scalar"):
        torch.ones(2).item()
    assert torch.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert torch.tensor(2.5).tolist() == 2.5
    a = torch.tensor([1.0, 2.0], dtype=torch.float64).numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float64 and a.tolist() == [1.0, 2.0]
    assert float(torch.tensor([2.5])) == 2.5 and int(torch.tensor(3)) == 3


def test_numpy_requires_grad_raises():
    x = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^Can't call numpy\(\) on Tensor that requires grad. "
                                           r"Use tensor.detach\(\).numpy\(\) instead.$"):
        x.numpy()
    assert x.detach().numpy().tolist() == [1.0, 1.0]


def test_bool_of_tensor():
    assert bool(torch.tensor([1.0])) is True
    assert bool(torch.tensor(0)) is False
    with pytest.raises(RuntimeError, match="^Boolean value of Tensor with more than one value is "
                                           "ambiguous$"):
        bool(torch.ones(2))
    with pytest.raises(RuntimeError, match="ambiguous"):
        if torch.tensor([1, 2]) > 0:
            pass


def test_clone_is_independent_and_recorded():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.grad_fn.name() == "CloneBackward0"
    assert repr(c) == "tensor([1., 2.], grad_fn=<CloneBackward0>)"
    c.detach().numpy()[0] = 7.0
    assert x.tolist() == [1.0, 2.0]
    c.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    p = torch.tensor([3.0])
    q = p.clone()
    q.numpy()[0] = 4.0
    assert p.tolist() == [3.0] and q.grad_fn is None


def test_detach_shares_data():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    d.numpy()[0] = 7.0
    assert x.tolist() == [7.0, 2.0]


def test_data_attribute():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    d = x.data
    assert not d.requires_grad and d.grad_fn is None
    d.numpy()[1] = 5.0
    assert x.tolist() == [1.0, 5.0]
    x.data = torch.tensor([3.0, 4.0, 5.0])
    assert x.tolist() == [3.0, 4.0, 5.0] and x.shape == torch.Size([3]) and x.requires_grad
    y = x * x  # the graph uses the new data
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 8.0, 10.0]


# ---- repr -----------------------------------------------------------------------------------

@pytest.mark.parametrize("make, text", [
    (lambda: torch.tensor([1.5, 2.5], dtype=torch.float64, requires_grad=True),
     "tensor([1.5000, 2.5000], dtype=torch.float64, requires_grad=True)"),
    (lambda: torch.tensor([1.5, 2.5], dtype=torch.float64, requires_grad=True) * 2,
     "tensor([3., 5.], dtype=torch.float64, grad_fn=<MulBackward0>)"),
    (lambda: torch.tensor([1, 2]), "tensor([1, 2])"),
    (lambda: torch.tensor([True, False]), "tensor([ True, False])"),
    (lambda: torch.tensor(3.5), "tensor(3.5000)"),
    (lambda: torch.tensor(5), "tensor(5)"),
    (lambda: torch.tensor(3.5, requires_grad=True).exp(), "tensor(33.1155, grad_fn=<ExpBackward0>)"),
    (lambda: torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True).sum(0),
     "tensor([4., 6.], grad_fn=<SumBackward1>)"),
    (lambda: torch.tensor([1.0, 2.0], dtype=torch.float64).mean(), "tensor(1.5000, dtype=torch.float64)"),
    (lambda: torch.full((2, 2), 7), "tensor([[7, 7],\n        [7, 7]])"),
    (lambda: torch.arange(0, 1, 0.25), "tensor([0.0000, 0.2500, 0.5000, 0.7500])"),
    (lambda: torch.tensor([1.0, 2.0]) / 3, "tensor([0.3333, 0.6667])"),
    (lambda: torch.tensor([100.0, 0.001]), "tensor([1.0000e+02, 1.0000e-03])"),
    (lambda: torch.tensor([], dtype=torch.float64), "tensor([], dtype=torch.float64)"),
    (lambda: torch.ones(2, 3, dtype=torch.float64).sum(dim=(0, 1), keepdim=True),
     "tensor([[6.]], dtype=torch.float64)"),
    (lambda: torch.tensor([1.0, -2.0], requires_grad=True).relu(),
     "tensor([1., 0.], grad_fn=<ReluBackward0>)"),
    (lambda: torch.ones(2, 2, requires_grad=True),
     "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"),
])
def test_repr(make, text):
    assert repr(make()) == text
    assert str(make()) == text


# ---- type promotion -------------------------------------------------------------------------

F32 = torch.tensor([1.0, 2.0])
F64 = torch.tensor([1.0, 2.0], dtype=torch.float64)
I64 = torch.tensor([1, 2])
B = torch.tensor([True, False])


@pytest.mark.parametrize("make, dtype", [
    (lambda: F32 + 2.5, torch.float32),             # a Python float does not upcast float32
    (lambda: F32 * 2, torch.float32),
    (lambda: F32 + F64, torch.float64),
    (lambda: F64 + F32, torch.float64),
    (lambda: I64 + 2.5, torch.float32),             # int tensor + float scalar: default float
    (lambda: I64 + 2, torch.int64),
    (lambda: I64 * I64, torch.int64),
    (lambda: I64 / I64, torch.float32),             # true division of ints
    (lambda: I64 / 2, torch.float32),
    (lambda: torch.tensor(7) / torch.tensor(2), torch.float32),
    (lambda: I64 + F64, torch.float64),
    (lambda: B + 1, torch.int64),
    (lambda: B + True, torch.bool),
    (lambda: B * B, torch.bool),
    (lambda: I64 + True, torch.int64),
    (lambda: F32 < 1.5, torch.bool),
    (lambda: I64 == F32, torch.bool),
    (lambda: F32 >= F64, torch.bool),
    (lambda: torch.tensor(1.5, dtype=torch.float64) + F32, torch.float32),  # 0-d loses to dims
    (lambda: torch.tensor(1.5, dtype=torch.float64) + I64, torch.float64),  # ...unless higher kind
    (lambda: torch.tensor(2.0) * I64, torch.float32),
    (lambda: torch.tensor(2) * F64, torch.float64),
    (lambda: torch.tensor(2.0, dtype=torch.float64) * torch.tensor(3.0), torch.float64),  # both 0-d
    (lambda: I64 ** 2, torch.int64),
    (lambda: I64 ** 2.0, torch.float32),
    (lambda: 2.0 ** I64, torch.float32),
    (lambda: 2 ** I64, torch.int64),
    (lambda: I64.exp(), torch.float32),
    (lambda: I64.sqrt(), torch.float32),
    (lambda: I64.sum(), torch.int64),
    (lambda: B.sum(), torch.int64),
    (lambda: I64.relu(), torch.int64),
    (lambda: -I64, torch.int64),
    (lambda: torch.where(B, F32, 0.0), torch.float32),
    (lambda: torch.where(B, 1.0, F64), torch.float64),
    (lambda: torch.where(B, I64, 0.5), torch.float32),
])
def test_type_promotion(make, dtype):
    assert make().dtype is dtype


def test_promoted_values():
    assert (I64 + 2.5).tolist() == [3.5, 4.5]
    assert (I64 / 2).tolist() == [0.5, 1.0]
    assert (torch.tensor(7) / torch.tensor(2)).item() == 3.5
    assert (I64 ** 2).tolist() == [1, 4]
    assert (B + 1).tolist() == [2, 1]
    assert (B + True).tolist() == [True, True]
    assert (I64 == F32).tolist() == [True, True]
    assert torch.tensor([True, True]).sum().item() == 2
    # the float64 0-d operand is converted to float32 before the operation
    r = torch.tensor(0.1, dtype=torch.float64) + torch.tensor([0.0])
    assert r.numpy()[0] == np.float32(0.1)


def test_mean_of_integers_raises():
    with pytest.raises(RuntimeError, match=r"mean\(\): could not infer output dtype"):
        I64.mean()


def test_integer_negative_power_raises():
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed."):
        I64 ** -1


def test_matmul_dtype_mismatch_raises():
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype, but got: "
                                           "float != double"):
        torch.ones(2, 2) @ torch.ones(2, 2, dtype=torch.float64)


# ---- broadcasting ---------------------------------------------------------------------------

@pytest.mark.parametrize("sa, sb, expected", [
    ((3, 1), (4,), (3, 4)),
    ((), (2, 3), (2, 3)),
    ((2, 1, 4), (3, 1), (2, 3, 4)),
    ((1,), (5,), (5,)),
    ((2, 3), (2, 3), (2, 3)),
    ((0, 3), (1, 3), (0, 3)),
])
def test_broadcasting_results(sa, sb, expected):
    r = rng(1)
    a, b = r.standard_normal(sa), r.standard_normal(sb)
    for op in (operator.add, operator.sub, operator.mul, operator.truediv):
        out = op(torch.tensor(a), torch.tensor(b))
        assert out.shape == torch.Size(expected)
        np.testing.assert_array_equal(out.numpy(), op(a, b))
        out = op(torch.tensor(b), torch.tensor(a))
        np.testing.assert_array_equal(out.numpy(), op(b, a))


def test_broadcast_error_message():
    with pytest.raises(RuntimeError) as info:
        torch.ones(3) + torch.ones(4)
    assert str(info.value) == ("The size of tensor a (3) must match the size of tensor b (4) at "
                               "non-singleton dimension 0")
    with pytest.raises(RuntimeError, match=r"^The size of tensor a \(2\) must match the size of "
                                           r"tensor b \(3\) at non-singleton dimension 1$"):
        torch.ones(4, 2) * torch.ones(3)


# ---- reflected Python operators -------------------------------------------------------------

def test_reflected_scalar_operators():
    x = torch.tensor([1.0, 2.0, 4.0])
    assert (2 + x).tolist() == [3.0, 4.0, 6.0]
    assert (2 - x).tolist() == [1.0, 0.0, -2.0]
    assert (2 * x).tolist() == [2.0, 4.0, 8.0]
    assert (1 / x).tolist() == [1.0, 0.5, 0.25]
    assert (2 ** x).tolist() == [2.0, 4.0, 16.0]
    assert (2.5 - x).dtype is torch.float32 and (2 ** x).dtype is torch.float32
    assert (+x) is x
    assert (-x).tolist() == [-1.0, -2.0, -4.0]


def test_function_forms():
    x = torch.tensor([1.0, 2.0])
    assert torch.add(x, 1).tolist() == [2.0, 3.0] and torch.add(1, x).tolist() == [2.0, 3.0]
    assert torch.sub(5, x).tolist() == [4.0, 3.0] and torch.sub(x, 1).tolist() == [0.0, 1.0]
    assert torch.mul(3, x).tolist() == [3.0, 6.0]
    assert torch.div(2, x).tolist() == [2.0, 1.0] and torch.div(x, 2).tolist() == [0.5, 1.0]
    assert torch.pow(2, x).tolist() == [2.0, 4.0] and torch.pow(x, 2).tolist() == [1.0, 4.0]
    assert torch.neg(x).tolist() == [-1.0, -2.0]
    assert torch.eq(x, 1.0).tolist() == [True, False] and torch.ne(x, 1.0).tolist() == [False, True]
    assert torch.lt(x, 2.0).tolist() == [True, False] and torch.le(x, 2.0).tolist() == [True, True]
    assert torch.gt(x, 1.0).tolist() == [False, True] and torch.ge(x, 2.0).tolist() == [False, True]


# ---- forward values against numpy ----------------------------------------------------------

def _pos(r, shape):
    return r.uniform(0.1, 3.0, shape)


UNARY = [
    ("neg", lambda t: -t, np.negative, None),
    ("exp", lambda t: t.exp(), np.exp, None),
    ("log", lambda t: t.log(), np.log, _pos),
    ("sqrt", lambda t: t.sqrt(), np.sqrt, _pos),
    ("tanh", lambda t: t.tanh(), np.tanh, None),
    ("sigmoid", lambda t: t.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), None),
    ("relu", lambda t: t.relu(), lambda a: np.maximum(a, 0), None),
    ("clone", lambda t: t.clone(), np.copy, None),
    ("fn_exp", lambda t: torch.exp(t), np.exp, None),
    ("fn_log", lambda t: torch.log(t), np.log, _pos),
    ("fn_sqrt", lambda t: torch.sqrt(t), np.sqrt, _pos),
    ("fn_tanh", lambda t: torch.tanh(t), np.tanh, None),
    ("fn_sigmoid", lambda t: torch.sigmoid(t), lambda a: 1 / (1 + np.exp(-a)), None),
    ("fn_relu", lambda t: torch.relu(t), lambda a: np.maximum(a, 0), None),
]


@pytest.mark.parametrize("np_dtype, tg_dtype, rtol", [(np.float32, torch.float32, 1e-6),
                                                      (np.float64, torch.float64, 1e-14)])
@pytest.mark.parametrize("name, fn, ref, make", UNARY, ids=[u[0] for u in UNARY])
def test_unary_forward_matches_numpy(name, fn, ref, make, np_dtype, tg_dtype, rtol):
    r = rng(2)
    for shape in [(), (5,), (3, 4)]:
        a = np.asarray(make(r, shape) if make else r.standard_normal(shape) * 2, dtype=np_dtype)
        out = fn(torch.tensor(a))
        assert out.dtype is tg_dtype and out.shape == torch.Size(shape)
        np.testing.assert_allclose(out.numpy(), ref(a.astype(np.float64)), rtol=rtol, atol=0)


BINARY = [
    ("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
    ("div", operator.truediv), ("pow", operator.pow),
    ("eq", operator.eq), ("ne", operator.ne), ("lt", operator.lt), ("le", operator.le),
    ("gt", operator.gt), ("ge", operator.ge),
]


@pytest.mark.parametrize("np_dtype, tg_dtype", [(np.float32, torch.float32), (np.float64, torch.float64)])
@pytest.mark.parametrize("name, op", BINARY, ids=[b[0] for b in BINARY])
def test_binary_forward_matches_numpy(name, op, np_dtype, tg_dtype):
    r = rng(3)
    a = r.uniform(0.5, 2.0, (3, 4)).astype(np_dtype)  # positive base for pow
    b = r.standard_normal((3, 4)).astype(np_dtype)
    b[0, :2] = a[0, :2]  # some equal elements for the comparisons
    for x, y in [(a, b), (a[:, :1], b[0]), (a, np.asarray(b[1, 2]))]:
        out = op(torch.tensor(x), torch.tensor(y))
        expected = op(x, y)
        assert out.dtype is (torch.bool if expected.dtype == np.bool_ else tg_dtype)
        assert out.shape == torch.Size(expected.shape)
        np.testing.assert_array_equal(out.numpy(), expected)
    # with a Python scalar on either side
    s = 1.25
    np.testing.assert_array_equal(op(torch.tensor(a), s).numpy(), op(a, np_dtype(s)))
    np.testing.assert_array_equal(op(s, torch.tensor(a)).numpy(), op(np_dtype(s), a))


def test_integer_ops_match_numpy():
    a = np.array([[3, -2, 7], [0, 5, -1]])
    b = np.array([2, 3, 4])
    t, u = torch.tensor(a), torch.tensor(b)
    assert (t + u).tolist() == (a + b).tolist()
    assert (t - u).tolist() == (a - b).tolist()
    assert (t * u).tolist() == (a * b).tolist()
    assert (t ** 2).tolist() == (a ** 2).tolist()
    assert (t / u).tolist() == (a / b).astype(np.float32).tolist()
    assert t.sum().item() == 12 and t.sum(0).tolist() == [3, 3, 6]
    assert t.relu().tolist() == np.maximum(a, 0).tolist()


def test_where_forward():
    c = torch.tensor([[True, False, True]])
    a = torch.tensor([[1.0], [2.0]])
    b = torch.tensor([10.0, 20.0, 30.0])
    out = torch.where(c, a, b)
    assert out.shape == torch.Size([2, 3])
    assert out.tolist() == [[1.0, 20.0, 1.0], [2.0, 20.0, 2.0]]
    assert torch.where(b > 15, b, 0.0).tolist() == [0.0, 20.0, 30.0]
    with pytest.raises(RuntimeError, match="where expected condition to be a boolean tensor"):
        torch.where(torch.tensor([1, 0, 1]), b, b)


def test_relu_keeps_nan():
    out = torch.tensor([float("nan"), -1.0, 2.0]).relu().numpy()
    assert np.isnan(out[0]) and out[1:].tolist() == [0.0, 2.0]


def test_special_values():
    x = torch.tensor([0.0, -1.0, 800.0, -800.0])
    assert x.log().tolist()[0] == float("-inf") and np.isnan(x.log().tolist()[1])
    assert x.exp().tolist()[2] == float("inf") and x.exp().tolist()[3] == 0.0
    assert x.sigmoid().tolist() == [0.5, pytest.approx(1 / (1 + np.exp(1.0)), rel=1e-6), 1.0, 0.0]
    assert x.tanh().tolist()[2:] == [1.0, -1.0]
    assert (torch.tensor([1.0, 0.0]) / 0.0).tolist()[0] == float("inf")
    assert np.isnan((torch.tensor([1.0, 0.0]) / 0.0).tolist()[1])


# ---- reductions -----------------------------------------------------------------------------

REDUCTIONS = [
    ("sum", lambda t, **k: t.sum(**k), lambda a, dim, keepdim: np.sum(a, axis=dim, keepdims=keepdim)),
    ("mean", lambda t, **k: t.mean(**k), lambda a, dim, keepdim: np.mean(a, axis=dim, keepdims=keepdim)),
    ("norm", lambda t, **k: t.norm(**k),
     lambda a, dim, keepdim: np.sqrt(np.sum(a * a, axis=dim, keepdims=keepdim))),
]


@pytest.mark.parametrize("name, fn, ref", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
@pytest.mark.parametrize("dim", [None, 0, 1, -1, -3, (0, 2), (-1, 1), (0, 1, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_reductions_match_numpy(name, fn, ref, dim, keepdim):
    a = rng(4).standard_normal((2, 3, 4))
    out = fn(torch.tensor(a), dim=dim, keepdim=keepdim)
    expected = ref(a, None if dim is None else tuple(np.atleast_1d(dim) % 3), keepdim)
    assert out.dtype is torch.float64
    assert out.shape == torch.Size(np.shape(expected))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-14, atol=1e-15)


def test_reductions_float32_and_positional_dim():
    a = rng(5).standard_normal((3, 4)).astype(np.float32)
    t = torch.tensor(a)
    assert t.sum().dtype is torch.float32 and t.mean(1).dtype is torch.float32
    np.testing.assert_allclose(t.sum(1).numpy(), a.sum(1), rtol=1e-6)
    np.testing.assert_allclose(t.mean(0, True).numpy(), a.mean(0, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(torch.sum(t, 0).numpy(), a.sum(0), rtol=1e-6)
    np.testing.assert_allclose(torch.mean(t).numpy(), a.mean(), rtol=1e-6)
    np.testing.assert_allclose(torch.norm(t).numpy(), np.linalg.norm(a), rtol=1e-6)
    assert t.sum(dim=(0, 1)).shape == torch.Size([])


def test_exact_reduction_values():
    t = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.sum().item() == 21.0
    assert t.sum(0).tolist() == [5.0, 7.0, 9.0]
    assert t.sum(-1, keepdim=True).tolist() == [[6.0], [15.0]]
    assert t.mean().item() == 3.5
    assert t.mean(1).tolist() == [2.0, 5.0]
    assert torch.tensor([3.0, 4.0]).norm().item() == 5.0
    assert torch.tensor([[3.0, 4.0], [6.0, 8.0]]).norm(dim=1).tolist() == [5.0, 10.0]
    assert torch.tensor(2.5).sum().item() == 2.5 and torch.tensor(2.5).sum(0).item() == 2.5


def test_reduction_dim_errors():
    t = torch.ones(2, 3)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-2, 1\], but got 2\)"):
        t.sum(2)
    with pytest.raises(IndexError, match="but got -3"):
        t.mean(-3)
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times in the list of dims"):
        t.sum((0, 0))
    assert t.norm(p=1).item() == 6.0   # every vector order is supported now


# ---- layout ---------------------------------------------------------------------------------

def test_reshape_and_view():
    a = np.arange(24.0).reshape(2, 3, 4)
    t = torch.tensor(a)
    assert t.reshape(-1).tolist() == a.reshape(-1).tolist()
    assert t.reshape(4, -1).shape == torch.Size([4, 6])
    assert t.reshape((6, 4)).tolist() == a.reshape(6, 4).tolist()
    assert t.reshape([3, -1, 2]).shape == torch.Size([3, 4, 2])
    assert t.view(2, 12).tolist() == a.reshape(2, 12).tolist()
    assert t.view(-1, 4).shape == torch.Size([6, 4])
    assert torch.reshape(t, (24,)).tolist() == list(range(24))
    assert torch.tensor(5.0).reshape(1, 1).tolist() == [[5.0]]
    assert torch.ones(1).reshape(()).shape == torch.Size([])
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        t.reshape(-1, -1)
    with pytest.raises(RuntimeError, match=r"shape '\[5, -1\]' is invalid for input of size 24"):
        t.reshape(5, -1)
    with pytest.raises(RuntimeError, match=r"shape '\[5, 5\]' is invalid for input of size 24"):
        t.view(5, 5)


def test_transpose_t_T_permute():
    a = np.arange(24.0).reshape(2, 3, 4)
    t = torch.tensor(a)
    assert t.transpose(0, 2).tolist() == a.transpose(2, 1, 0).tolist()
    assert t.transpose(-1, 1).tolist() == np.swapaxes(a, -1, 1).tolist()
    assert torch.transpose(t, 0, 1).shape == torch.Size([3, 2, 4])
    assert t.permute(2, 0, 1).tolist() == a.transpose(2, 0, 1).tolist()
    assert t.permute((1, 2, 0)).shape == torch.Size([3, 4, 2])
    assert t.permute(-1, 0, 1).shape == torch.Size([4, 2, 3])
    assert t.T.tolist() == a.T.tolist()
    m = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert m.t().tolist() == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    assert m.T.tolist() == m.t().tolist()
    v = torch.tensor([1.0, 2.0])
    assert v.t().tolist() == [1.0, 2.0]
    with pytest.raises(RuntimeError, match=r"t\(\) expects a tensor with <= 2 dimensions, but self is 3D"):
        t.t()
    with pytest.raises(RuntimeError):
        t.permute(0, 1)


def test_expand():
    t = torch.tensor([[1.0], [2.0], [3.0]])
    e = t.expand(2, 3, 4)
    assert e.shape == torch.Size([2, 3, 4])
    np.testing.assert_array_equal(e.numpy(), np.broadcast_to(t.numpy(), (2, 3, 4)))
    assert t.expand(-1, 2).tolist() == [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]
    assert torch.tensor(7.0).expand(2).tolist() == [7.0, 7.0]
    with pytest.raises(RuntimeError, match=r"The expanded size of the tensor \(4\) must match the "
                                           r"existing size \(3\) at non-singleton dimension 0"):
        t.expand(4, 1)


def test_matmul():
    r = rng(6)
    for dtype in (np.float32, np.float64):
        a = r.standard_normal((2, 3)).astype(dtype)
        b = r.standard_normal((3, 5)).astype(dtype)
        out = torch.tensor(a) @ torch.tensor(b)
        assert out.shape == torch.Size([2, 5]) and out.dtype is torch.tensor(a).dtype
        np.testing.assert_allclose(out.numpy(), a @ b, rtol=1e-6 if dtype == np.float32 else 1e-14)
        np.testing.assert_array_equal(torch.matmul(torch.tensor(a), torch.tensor(b)).numpy(),
                                      out.numpy())
        np.testing.assert_array_equal(torch.tensor(a).mm(torch.tensor(b)).numpy(), out.numpy())
    i = torch.tensor([[1, 2], [3, 4]])
    assert (i @ i).tolist() == [[7, 10], [15, 22]] and (i @ i).dtype is torch.int64


def test_matmul_shape_error():
    with pytest.raises(RuntimeError) as info:
        torch.ones(2, 3) @ torch.ones(4, 5)
    assert str(info.value) == "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"


# ---- argument checks and call forms matching PyTorch -------------------------------------------

def test_empty_dim_list_reduces_everything():
    x = torch.ones(2, 3, requires_grad=True)
    assert x.sum(dim=()).item() == 6.0 and x.sum(dim=[]).grad_fn.name() == "SumBackward1"
    assert x.mean(dim=()).shape == torch.Size([])


@pytest.mark.parametrize("call, error, message", [
    (lambda: torch.arange(1, 0), RuntimeError,
     "upper bound and lower bound inconsistent with step sign"),
    (lambda: bool(torch.ones(0)), RuntimeError, "Boolean value of Tensor with no values is ambiguous"),
    (lambda: torch.ones(3).expand(-1, 3), RuntimeError,
     "The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension 0"),
    (lambda: torch.ones(2, 3).permute(0, 5), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 5)"),
    (lambda: torch.ones(2, 3).permute(0, 0), RuntimeError, "permute(): duplicate dims are not allowed."),
    (lambda: torch.ones(2, 3).permute(0), RuntimeError, "input.dim() = 2 is not equal to len(dims) = 1"),
    (lambda: torch.where(torch.ones(2), torch.ones(2), torch.ones(2)), RuntimeError,
     "where expected condition to be a boolean tensor, but got a tensor with dtype Float"),
])
def test_argument_errors(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_t_and_transpose_of_low_rank_tensors_are_new_nodes():
    v = torch.ones(3, requires_grad=True)
    assert v.t().grad_fn.name() == "TBackward0"
    assert v.transpose(0, 0).grad_fn.name() == "TransposeBackward0"
    assert torch.tensor(1.0, requires_grad=True).t().grad_fn.name() == "TBackward0"


def test_grad_mode_classes_decorate_without_parentheses():
    @torch.no_grad
    def off():
        return torch.is_grad_enabled()

    @torch.enable_grad
    def on():
        return torch.is_grad_enabled()

    assert off() is False and torch.is_grad_enabled()
    with torch.no_grad():
        assert on() is True
