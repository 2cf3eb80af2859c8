"""Eager autograd semantics: backward, .grad accumulation, graph freeing, grad_fn nodes, grad modes.

Expected names, messages and values are PyTorch's (2.13); test_torch_oracle.py re-checks the
grad_fn names against an installed torch.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import tracegrad as torch


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    assert torch.is_grad_enabled()
    yield
    enabled = torch.is_grad_enabled()
    torch.set_grad_enabled(True)
    assert enabled, "test leaked a disabled grad mode"


def leaf(values, dtype=None):
    return torch.tensor(values, dtype=dtype, requires_grad=True)


def grad_list(t):
    return None if t.grad is None else t.grad.tolist()


# ---- backward and .grad ---------------------------------------------------------------------

def test_grad_accumulates_across_backward_calls():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    (x * x).sum().backward()
    assert x.grad.tolist() == [4.0, 8.0, 12.0]
    (3.0 * x).sum().backward()
    assert x.grad.tolist() == [7.0, 11.0, 15.0]
    assert x.grad.dtype is torch.float32 and x.grad.requires_grad is False
    assert x.grad.grad_fn is None


def test_grad_can_be_reset_to_none():
    x = leaf([1.0, 2.0])
    (x * 3.0).sum().backward()
    x.grad = None
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_backward_with_gradient_for_non_scalar_output():
    x = leaf([1.0, 2.0, 3.0])
    y = x * x
    y.backward(torch.tensor([1.0, 0.5, -2.0]))
    assert x.grad.tolist() == [2.0, 2.0, -12.0]


def test_backward_on_one_element_non_scalar_needs_no_gradient():
    x = leaf([[3.0]])
    (x * x).backward()
    assert x.grad.tolist() == [[6.0]]


def test_implicit_gradient_only_for_scalar_outputs():
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="^grad can be implicitly created only for scalar outputs$"):
        (x * 2.0).backward()
    assert x.grad is None


def test_gradient_of_wrong_shape_raises():
    x = leaf([1.0, 2.0, 3.0])
    msg = ("Mismatch in shape: grad_output[0] has a shape of torch.Size([2]) and output[0] has a "
           "shape of torch.Size([3]).")
    with pytest.raises(RuntimeError) as info:
        (x * 2.0).backward(torch.ones(2))
    assert str(info.value) == msg
    assert x.grad is None


def test_backward_twice_through_saved_values_raises():
    x = leaf([1.0, 2.0, 3.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True") as info:
        y.backward()
    assert str(info.value).startswith("Trying to backward through the graph a second time")
    assert x.grad.tolist() == [2.0, 4.0, 6.0]  # the failed call accumulated nothing


@pytest.mark.parametrize("make", [
    lambda x: (x * 2.0).sum(),
    lambda x: x.exp().sum(),
    lambda x: (x ** 2).sum(),
    lambda x: x.norm(),
    lambda x: x.relu().sum(),
    lambda x: ((x + 1.0) * 2.0).sum(),
], ids=["mul_scalar", "exp", "pow", "norm", "relu", "add_then_mul"])
def test_backward_twice_raises_whenever_a_node_saved_values(make):
    x = leaf([1.0, 2.0, 3.0])
    y = make(x)
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


@pytest.mark.parametrize("make, grad", [
    (lambda x: (x + 2.0).sum(), [1.0, 1.0, 1.0]),
    (lambda x: (2.0 - x).sum(), [-1.0, -1.0, -1.0]),
    (lambda x: (-x).sum(), [-1.0, -1.0, -1.0]),
    (lambda x: x.mean(), [1 / 3, 1 / 3, 1 / 3]),
    (lambda x: x.view(3, 1).sum(0), [1.0, 1.0, 1.0]),
    (lambda x: x.expand(2, 3).sum(), [2.0, 2.0, 2.0]),
    (lambda x: x.clone().sum(), [1.0, 1.0, 1.0]),
    (lambda x: x.double().sum(), [1.0, 1.0, 1.0]),
], ids=["add", "rsub", "neg", "mean", "view_sum_dim", "expand", "clone", "convert"])
def test_backward_twice_without_saved_values_is_allowed(make, grad):
    # Like PyTorch: nodes that saved nothing can be backpropagated through again.
    x = leaf([1.0, 2.0, 3.0])
    y = make(x)
    y.backward()
    y.backward()
    assert x.grad.tolist() == pytest.approx([2 * g for g in grad], rel=1e-7)


def test_retain_graph_allows_second_backward_and_accumulates():
    x = leaf([1.0, 2.0, 3.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [6.0, 12.0, 18.0]
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_with_non_scalar_output():
    x = leaf([1.0, 2.0])
    y = x ** 2
    y.backward(torch.tensor([1.0, 1.0]), retain_graph=True)
    y.backward(torch.tensor([1.0, 1.0]))
    assert x.grad.tolist() == [4.0, 8.0]


def test_freed_intermediate_reused_in_a_new_graph_raises():
    x = leaf([1.0, 2.0])
    a = x * x
    a.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        (a + 1.0).sum().backward()


def test_retained_intermediate_reused_in_a_new_graph():
    x = leaf([1.0, 2.0])
    a = x * x
    a.sum().backward(retain_graph=True)
    (a * 2.0).sum().backward()
    assert x.grad.tolist() == [6.0, 12.0]


def test_freed_node_without_saved_values_reused_in_a_new_graph():
    x = leaf([1.0, 2.0])
    a = x + 1.0
    a.sum().backward()
    (a * a).sum().backward()  # AddBackward0 saved nothing; the new MulBackward0 saved `a`
    assert x.grad.tolist() == [1.0 + 4.0, 1.0 + 6.0]


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="^element 0 of tensors does not require grad and "
                                           "does not have a grad_fn$"):
        torch.ones(3).sum().backward()
    x = leaf([1.0])
    with torch.no_grad():
        y = x * 2.0
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        y.backward()


def test_non_leaf_grad_warns_and_is_none():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    y.sum().backward()
    with pytest.warns(UserWarning, match="is not a leaf Tensor is being accessed"):
        assert y.grad is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad.tolist() == [2.0, 2.0]  # leaves don't warn


def test_assigning_grad_of_wrong_shape_raises():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError):
        x.grad = torch.ones(3)
    x.grad = torch.tensor([1.0, 1.0])
    (x * 2.0).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


# ---- leaves, grad_fn and next_functions -----------------------------------------------------

def test_is_leaf_and_grad_fn():
    x = leaf([1.0, 2.0])
    c = torch.tensor([1.0, 2.0])
    y = x * c
    assert x.is_leaf and c.is_leaf and not y.is_leaf
    assert x.grad_fn is None and c.grad_fn is None
    assert y.grad_fn is not None and y.requires_grad
    assert (c * 2.0).is_leaf and (c * 2.0).grad_fn is None  # no grad needed: nothing recorded
    assert x.detach().is_leaf


def test_next_functions_structure():
    x = leaf([1.0, 2.0, 3.0])
    c = torch.ones(3)
    m = x * c
    z = m + 3.0
    assert z.grad_fn.name() == "AddBackward0"
    (n0, i0), (n1, i1) = z.grad_fn.next_functions
    assert n0 is m.grad_fn and i0 == 0
    assert (n1, i1) == (None, 0)  # the literal 3.0
    (acc, j0), (const, j1) = m.grad_fn.next_functions
    assert type(acc).__name__ == "AccumulateGrad" and j0 == 0
    assert acc.variable is x
    assert acc.next_functions == ()
    assert (const, j1) == (None, 0)  # the constant tensor c
    assert repr(acc).startswith("<AccumulateGrad object at 0x")
    # the same AccumulateGrad node every time for one leaf
    assert (x * 2.0).grad_fn.next_functions[0][0] is acc


def test_next_functions_of_shared_node():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    z = y + y
    (a, _), (b, _) = z.grad_fn.next_functions
    assert a is b is y.grad_fn


def test_grad_fn_repr():
    x = leaf([1.0])
    y = x + 2.0
    assert repr(y.grad_fn).startswith("<AddBackward0 object at 0x")
    assert repr(y.grad_fn) == f"<AddBackward0 object at {id(y.grad_fn):#x}>"


def test_grad_fn_type_name():
    x = leaf([1.0])
    assert type((x + 2.0).grad_fn).__name__ == "AddBackward0"


# Names as PyTorch 2.13 reports them (re-checked against torch in test_torch_oracle.py).
GRAD_FN_NAMES = [
    ("mul", lambda x, y: x * y, "MulBackward0"),
    ("mul_scalar", lambda x, y: x * 2.0, "MulBackward0"),
    ("add", lambda x, y: x + y, "AddBackward0"),
    ("radd", lambda x, y: 2.0 + x, "AddBackward0"),
    ("sub", lambda x, y: x - y, "SubBackward0"),
    ("rsub", lambda x, y: 2.0 - x, "RsubBackward1"),
    ("div", lambda x, y: x / y, "DivBackward0"),
    ("pow_scalar", lambda x, y: x ** 2, "PowBackward0"),
    ("pow_tensor", lambda x, y: x ** y, "PowBackward1"),
    ("rpow", lambda x, y: 2.0 ** x, "PowBackward2"),
    ("exp", lambda x, y: x.exp(), "ExpBackward0"),
    ("log", lambda x, y: x.log(), "LogBackward0"),
    ("sqrt", lambda x, y: x.sqrt(), "SqrtBackward0"),
    ("tanh", lambda x, y: x.tanh(), "TanhBackward0"),
    ("sigmoid", lambda x, y: x.sigmoid(), "SigmoidBackward0"),
    ("relu", lambda x, y: x.relu(), "ReluBackward0"),
    ("neg", lambda x, y: -x, "NegBackward0"),
    ("clone", lambda x, y: x.clone(), "CloneBackward0"),
    ("sum", lambda x, y: x.sum(), "SumBackward0"),
    ("sum_dim", lambda x, y: x.reshape(2, 3).sum(1), "SumBackward1"),
    ("sum_dim_keep", lambda x, y: x.reshape(2, 3).sum(0, keepdim=True), "SumBackward1"),
    ("mean", lambda x, y: x.mean(), "MeanBackward0"),
    ("mean_dim", lambda x, y: x.reshape(2, 3).mean(-1), "MeanBackward1"),
    ("mm", lambda x, y: x.reshape(2, 3) @ y.reshape(3, 2), "MmBackward0"),
    ("view", lambda x, y: x.view(2, 3), "ViewBackward0"),
    ("reshape", lambda x, y: x.reshape(3, 2), "ViewBackward0"),
    ("transpose", lambda x, y: x.reshape(2, 3).transpose(0, 1), "TransposeBackward0"),
    ("permute_3d", lambda x, y: x.reshape(1, 2, 3).permute(2, 0, 1), "PermuteBackward0"),
    ("norm", lambda x, y: x.norm(), "LinalgVectorNormBackward0"),
    ("norm_dim", lambda x, y: x.reshape(2, 3).norm(dim=1), "LinalgVectorNormBackward0"),
    ("expand", lambda x, y: x.reshape(1, 6).expand(2, 6), "ExpandBackward0"),
    ("where", lambda x, y: torch.where(x > 0, x, y), "WhereBackward0"),
    ("to_float32", lambda x, y: x.float(), "ToCopyBackward0"),
    ("to_method", lambda x, y: x.to(torch.float32), "ToCopyBackward0"),
]

@pytest.mark.parametrize("fn, name", [pytest.param(fn, name, id=case_id)
                                      for case_id, fn, name in GRAD_FN_NAMES])
def test_grad_fn_names(fn, name):
    x = leaf(np.linspace(0.5, 3.0, 6))
    y = leaf(np.linspace(1.0, 2.0, 6))
    out = fn(x, y)
    assert out.grad_fn.name() == name
    assert repr(out).endswith(f"grad_fn=<{name}>)")


# Names that depend on how an op was called (not just on its IR attributes).
@pytest.mark.parametrize("fn, name", [
    pytest.param(lambda x: x.sum(0), "SumBackward1", id="sum_dim_of_1d"),
    pytest.param(lambda x: x.reshape(2, 3).sum((0, 1)), "SumBackward1", id="sum_all_dims_tuple"),
    pytest.param(lambda x: x.mean(0), "MeanBackward1", id="mean_dim_of_1d"),
    pytest.param(lambda x: x.reshape(2, 3).t(), "TBackward0", id="t"),
    pytest.param(lambda x: x.reshape(2, 3).T, "PermuteBackward0", id="T"),
    pytest.param(lambda x: x.reshape(2, 3).permute(1, 0), "PermuteBackward0", id="permute_2d"),
    pytest.param(lambda x: x.reshape(1, 2, 3).transpose(0, 2), "TransposeBackward0", id="transpose_3d"),
])
def test_grad_fn_names_depending_on_call_form(fn, name):
    x = leaf(np.linspace(0.5, 3.0, 6))
    assert fn(x).grad_fn.name() == name


# ---- grad modes -----------------------------------------------------------------------------

def test_no_grad_context():
    x = leaf([1.0, 2.0])
    with torch.no_grad():
        assert not torch.is_grad_enabled()
        y = x * 2.0
    assert torch.is_grad_enabled()
    assert y.requires_grad is False and y.grad_fn is None and y.is_leaf
    assert y.tolist() == [2.0, 4.0]


def test_enable_grad_nested_in_no_grad():
    x = leaf([1.0, 2.0])
    with torch.no_grad():
        with torch.enable_grad():
            assert torch.is_grad_enabled()
            z = x * 2.0
        assert not torch.is_grad_enabled()
        w = x * 2.0
    assert z.grad_fn.name() == "MulBackward0" and w.grad_fn is None
    z.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_no_grad_restores_mode_after_exception():
    with pytest.raises(ValueError):
        with torch.no_grad():
            raise ValueError
    assert torch.is_grad_enabled()


def test_no_grad_and_enable_grad_as_decorators():
    x = leaf([1.0, 2.0])

    @torch.no_grad()
    def f():
        return x * 2.0

    @torch.enable_grad()
    def g():
        return x * 2.0

    assert f().requires_grad is False
    assert torch.is_grad_enabled()
    with torch.no_grad():
        assert g().requires_grad is True
        assert not torch.is_grad_enabled()
    assert f.__name__ == "f"


def test_set_grad_enabled_as_plain_call():
    x = leaf([1.0, 2.0])
    try:
        torch.set_grad_enabled(False)
        assert not torch.is_grad_enabled()
        assert (x * 2.0).requires_grad is False
        torch.set_grad_enabled(True)
        assert (x * 2.0).requires_grad is True
    finally:
        torch.set_grad_enabled(True)


def test_set_grad_enabled_as_context_manager():
    x = leaf([1.0, 2.0])
    with torch.set_grad_enabled(False):
        assert (x * 2.0).requires_grad is False
        with torch.set_grad_enabled(True):
            assert (x * 2.0).requires_grad is True
        assert not torch.is_grad_enabled()
    assert torch.is_grad_enabled()
    with torch.no_grad():
        with torch.set_grad_enabled(True):
            assert (x * 2.0).requires_grad is True
        assert not torch.is_grad_enabled()


def test_set_grad_enabled_as_decorator():
    x = leaf([1.0, 2.0])

    @torch.set_grad_enabled(False)
    def f():
        assert not torch.is_grad_enabled()
        return x * 2.0

    assert torch.is_grad_enabled()  # decorating does not change the mode
    assert f().requires_grad is False
    assert torch.is_grad_enabled()
    assert (x * 2.0).requires_grad is True


# ---- graph shapes ---------------------------------------------------------------------------

def test_fan_out_accumulates():
    x = leaf([1.0, 2.0])
    y = x * x + x.exp() * x + 3.0 * x
    y.sum().backward()
    xs = np.array([1.0, 2.0])
    expected = 2 * xs + np.exp(xs) * (xs + 1) + 3
    np.testing.assert_allclose(x.grad.numpy(), expected.astype(np.float32), rtol=1e-6)


def test_fan_out_through_shared_intermediate():
    x = leaf([2.0])
    a = x * 3.0          # 6
    b = a * a + a        # d/da = 2a + 1 = 13
    b.sum().backward()
    assert x.grad.tolist() == [39.0]


def test_diamond_graph_float64_exact():
    x = leaf([0.5, -1.5], dtype=torch.float64)
    a = x * 2.0
    b = a + 1.0
    c = a * a
    (b * c).sum().backward()   # f = (2x + 1)(2x)^2 -> f' = 2(2x)^2 + (2x+1) 8x
    xs = np.array([0.5, -1.5])
    assert x.grad.tolist() == (2 * (2 * xs) ** 2 + (2 * xs + 1) * 8 * xs).tolist()


def test_unused_leaf_keeps_grad_none():
    x = leaf([1.0, 2.0])
    u = leaf([1.0, 2.0])
    (x * 3.0).sum().backward()
    assert u.grad is None
    assert x.grad.tolist() == [3.0, 3.0]


def test_leaf_only_on_a_non_differentiable_path_gets_no_grad():
    x = leaf([1.0, 2.0])
    u = leaf([0.0, 5.0])
    (x * (u > 1.0)).sum().backward()
    assert u.grad is None
    assert x.grad.tolist() == [0.0, 1.0]


def test_integer_inputs_get_no_gradient():
    x = leaf([1.0, 2.0])
    n = torch.tensor([3, 4])
    y = x * n
    assert y.dtype is torch.float32
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 4.0]
    assert n.grad is None and not n.requires_grad


def test_conversion_to_integer_cuts_the_graph():
    x = leaf([1.5, 2.5])
    y = x.long()
    assert y.dtype is torch.int64 and not y.requires_grad and y.grad_fn is None
    assert y.tolist() == [1, 2]
    c = x > 2.0
    assert c.dtype is torch.bool and not c.requires_grad and c.grad_fn is None


def test_mixed_precision_grads_keep_leaf_dtypes():
    x = leaf([1.0, 2.0])                          # float32
    w = leaf([3.0, 4.0], dtype=torch.float64)
    y = x * w
    assert y.dtype is torch.float64
    y.sum().backward()
    assert x.grad.dtype is torch.float32 and x.grad.tolist() == [3.0, 4.0]
    assert w.grad.dtype is torch.float64 and w.grad.tolist() == [1.0, 2.0]


def test_gradient_argument_is_cast_to_the_output_dtype():
    x = leaf([1.0, 2.0])
    (x * 2.0).backward(torch.tensor([1.0, 0.5], dtype=torch.float64))
    assert x.grad.dtype is torch.float32 and x.grad.tolist() == [2.0, 1.0]


def test_detached_branch_gets_no_gradient():
    x = leaf([1.0, 2.0])
    y = x * x.detach()        # d/dx = x (the detached factor is a constant)
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 2.0]


def test_long_chain_has_no_recursion_limit_and_exact_gradient():
    n = 100_000
    x = leaf([1.0, 2.0], dtype=torch.float64)
    y = x
    for _ in range(n):
        y = y * 1.0001
    y.sum().backward()
    # every partial product is rounded once per step: relative error <= n * 2**-53 ~ 1.1e-11
    factor = 1.0001 ** n
    np.testing.assert_allclose(x.grad.numpy(), [factor, factor], rtol=1e-10)
    np.testing.assert_allclose(y.detach().numpy(), [factor, 2 * factor], rtol=1e-10)


def test_leaf_as_output():
    x = leaf([1.0, 2.0, 3.0])
    x.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]
    x.grad = None
    x.backward(torch.tensor([3.0, 4.0, 5.0]))
    assert x.grad.tolist() == [3.0, 4.0, 5.0]
    x.backward(torch.tensor([1.0, 1.0, 1.0]))
    assert x.grad.tolist() == [4.0, 5.0, 6.0]
    s = leaf(2.0)
    s.backward()
    assert s.grad.tolist() == 1.0 and s.grad.shape == torch.Size([])
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        x.backward()


def test_requires_grad_flags():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf"):
        y.requires_grad_(False)
    d = x.detach()
    assert not d.requires_grad
    d.requires_grad_()
    (d * 3.0).sum().backward()
    assert d.grad.tolist() == [3.0, 3.0] and x.grad is None
    y2 = x * 2.0
    y2.detach_()
    assert y2.is_leaf and not y2.requires_grad and y2.grad_fn is None


def test_requires_grad_setter():
    t = torch.tensor([1.0, 2.0])
    t.requires_grad = True
    (t * t).sum().backward()
    assert t.grad.tolist() == [2.0, 4.0]
    n = torch.tensor([1, 2])
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        n.requires_grad = True


def test_backward_matches_closed_form_for_tutorial_function():
    x = torch.ones(2, 2, requires_grad=True)
    out = (3 * (x + 2) ** 2).mean()
    out.backward()
    assert x.grad.tolist() == [[4.5, 4.5], [4.5, 4.5]]
    assert out.item() == 27.0


def test_gradients_own_their_memory():
    # x + y gives both leaves the same cotangent, and reshape's adjoint is a view of the
    # incoming gradient: each .grad must still be a separate array.
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (x + y).sum().backward()
    assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())
    z = leaf(np.ones((2, 3)))
    g = torch.ones(6)
    z.reshape(6).backward(g)
    assert not np.shares_memory(z.grad.numpy(), g.numpy())
    g.numpy()[:] = 5.0
    np.testing.assert_array_equal(z.grad.numpy(), np.ones((2, 3)))


def test_grad_accumulates_in_place():
    x = leaf([1.0, 2.0])
    (x * 2).sum().backward()
    g = x.grad
    (x * 3).sum().backward()
    assert g is x.grad
    np.testing.assert_array_equal(g.numpy(), [5.0, 5.0])


# ---- in-place ops -----------------------------------------------------------------------------

def test_sgd_step_in_place_under_no_grad():
    w = leaf([1.0, 2.0])
    (w * w).sum().backward()
    ref = w
    with torch.no_grad():
        w -= 0.1 * w.grad
        w.grad.zero_()
    assert w is ref and w.requires_grad and w.is_leaf
    np.testing.assert_allclose(w.detach().numpy(), [0.8, 1.6], rtol=1e-6)
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [1.6, 3.2], rtol=1e-6)


def test_in_place_on_a_leaf_that_requires_grad_raises():
    w = leaf([1.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in "
                                           "an in-place operation."):
        w += 1


def test_overwritten_saved_values_are_detected():
    x = leaf([1.0, 2.0])
    y = x.exp()
    with torch.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match=re.escape(
            "modified by an inplace operation: [torch.FloatTensor [2]], which is output 0 of "
            "ExpBackward0, is at version 1; expected version 0 instead.")):
        y.sum().backward()
    x = leaf([1.0, 2.0])
    y = x * x
    with torch.no_grad():
        x.add_(1)          # x was saved by MulBackward0
    with pytest.raises(RuntimeError, match=re.escape(
            "[torch.FloatTensor [2]] is at version 1; expected version 0 instead.")):
        y.sum().backward()
    x = leaf([1.0, 2.0])
    y = x + 1              # AddBackward0 saves nothing: writing x afterwards is fine
    with torch.no_grad():
        x.add_(1)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_in_place_writes_through_views_and_data():
    b = torch.zeros(2, 3)
    v = b.t()
    v += 1
    np.testing.assert_array_equal(b.numpy(), np.ones((2, 3)))
    d = torch.ones(2)
    d.data += 5
    assert d.tolist() == [6.0, 6.0]


def test_in_place_errors():
    a = torch.ones(3, dtype=torch.int64)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        a += 1.5
    with pytest.raises(RuntimeError, match=re.escape(
            "output with shape [3] doesn't match the broadcast shape [2, 3]")):
        torch.ones(3).add_(torch.ones(2, 3))
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        torch.ones(3).expand(2, 3).mul_(2)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        torch.ones(3).expand(2, 3).mul_(leaf([1.0, 2.0, 3.0]))    # recorded, same check


def test_retain_grad_fills_non_leaf_grads():
    x = leaf([1.0, 2.0])
    y = x * 3
    y.retain_grad()
    z = (y * y).sum()
    z.retain_grad()
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # no non-leaf warning once grads are retained
        z.backward(retain_graph=True)
        z.backward()
        assert y.retains_grad and y.grad.tolist() == [12.0, 24.0]
        assert z.grad.item() == 2.0
    assert x.grad.tolist() == [36.0, 72.0]
    with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has "
                                           "requires_grad=False"):
        torch.ones(2).retain_grad()


def test_retain_grad_on_a_compiled_output():
    f = torch.compile(lambda a: a.exp())
    x = leaf([0.0, 1.0])
    out = f(x)
    out.retain_grad()
    (out * 2).sum().backward()
    assert out.grad.tolist() == [2.0, 2.0]
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([0.0, 1.0]), rtol=1e-6)


def test_version_check_looks_at_every_node_that_reads_a_value():
    # y1's MulBackward0 saved W before the write, y2's after: the first must raise.
    w = leaf([1.0, 2.0])
    y1 = w * w
    with torch.no_grad():
        w.mul_(2)
    y2 = w * w
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (y2.sum() + y1.sum()).backward()
    # AddBackward0 reads nothing, so these writes are harmless (as in PyTorch).
    w = leaf([1.0, 2.0])
    y1 = w + 1
    with torch.no_grad():
        w.mul_(2)
    (y1.sum() + (w * w).sum()).backward()
    assert w.grad.tolist() == [5.0, 9.0]
    x = leaf([1.0, 2.0])
    y = x + 1
    with torch.no_grad():
        y.mul_(2)
    (y * y).sum().backward()
    assert x.grad.tolist() == [8.0, 12.0]


def test_augmented_assignment_falls_back_to_out_of_place_inside_a_graph():
    w = leaf([1.0, 2.0])
    total = 0
    for i in range(3):
        total += (w * i).sum()
    total.backward()
    assert w.grad.tolist() == [3.0, 3.0]
    x = leaf([1.0, 2.0])
    h = x * 2
    h += 1
    assert h.grad_fn.name() == "AddBackward0"
    h.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_writes_through_data_are_not_version_tracked():
    x = leaf([1.0, 2.0])
    y = x.exp()
    y.data.add_(1)          # PyTorch: .data has its own version counter
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1.0, 2.0]) + 1, rtol=1e-6)
    e = torch.ones(3)
    e.expand(3).mul_(2)     # an expand to the same shape is a plain view
    assert e.tolist() == [2.0, 2.0, 2.0]


def test_retained_grad_of_a_non_leaf_is_replaced_not_updated():
    x = leaf([1.0])
    y = x * 3
    y.retain_grad()
    (y * 2).sum().backward(retain_graph=True)
    first = y.grad
    (y * 2).sum().backward()
    assert first.tolist() == [2.0] and y.grad.tolist() == [4.0]
