"""Backward from a node whose operands are all leaves or constants (a compiled function's
output, a one-op loss) takes a shorter walk; it must agree with the general one."""
import numpy as np
import pytest

import tracegrad as tg


@tg.compile
def _f(a, b, c):
    return (a * b + c).sum()


def test_compiled_call_with_a_leaf_passed_twice_and_a_constant():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    k = tg.tensor([2.0, 2.0, 2.0])
    y = _f(x, x, k)
    assert y.item() == 20.0
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    y = _f(x, x, k)
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 12.0, 18.0])


def test_hooks_and_retained_gradients_on_the_output_still_apply():
    x = tg.tensor([1.0, -1.0], requires_grad=True)
    y = _f(x, x, tg.zeros(2))
    y.retain_grad()
    y.register_hook(lambda g: g * 3)
    y.backward()
    assert y.grad.item() == 1.0
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, -6.0])


def test_one_eager_op_and_an_input_overwritten_in_place():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp().sum()   # two nodes; exp's node alone is a single-node graph below
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1.0, 2.0]).astype(np.float32))
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    z = w.sin()   # its gradient reads w
    with tg.no_grad():
        w.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward(tg.ones(2))
