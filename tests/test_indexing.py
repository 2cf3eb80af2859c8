"""Shape and indexing beyond the op table: index checks inside compiled code, layout ops that
stay views, accumulation at repeated indices, and PyTorch's special cases."""
from __future__ import annotations

import numpy as np
import pytest

import tracegrad as tg
import tracegrad.nn.functional as F
from tracegrad.codegen import compile_function
from tracegrad.shaping import index_plan
from helpers import gradcheck


def _x(*shape):
    return tg.tensor(np.arange(float(np.prod(shape))).reshape(shape), requires_grad=True)


# ---- out-of-range indices in compiled code raise PyTorch's errors (and touch no memory) ----
@pytest.mark.parametrize("fn, index, error, match", [
    (lambda x, i: x[i], [0, 3], IndexError, "index 3 is out of bounds for dimension 0 with size 3"),
    (lambda x, i: x[i], [-4], IndexError, "index -4 is out of bounds for dimension 0 with size 3"),
    (lambda x, i: x[:, i], [4], IndexError, "index 4 is out of bounds for dimension 1 with size 4"),
    (lambda x, i: x.index_select(0, i), [1, -1], IndexError, "index out of range in self"),
    (lambda x, i: x.gather(1, i.reshape(1, -1).expand(3, -1)), [0, 4], RuntimeError,
     "index 4 is out of bounds for dimension 1 with size 4"),
    (lambda x, i: x.scatter_add(0, i.reshape(-1, 1), x[:2, :1]), [1, 5], RuntimeError,
     "index 5 is out of bounds for dimension 0 with size 3"),
    (lambda x, i: x.sum() * F.one_hot(i, 3), [1, 3], RuntimeError,
     "Class values must be smaller than num_classes."),
    (lambda x, i: x.sum() * F.one_hot(i, 3), [-1, 0], RuntimeError,
     "Class values must be non-negative."),
])
def test_compiled_index_out_of_range_raises(fn, index, error, match):
    x = _x(3, 4)
    f = tg.compile(fn)
    good = tg.tensor([0, 1])
    f(x, good)                         # the same specialization then sees a bad index
    with pytest.raises(error, match=match):
        f(x, tg.tensor(index))
    with pytest.raises(error, match=match):   # eager agrees
        fn(x, tg.tensor(index))
    f(x, good)                         # the status words are cleared between calls


def test_compiled_gradient_checks_indices_too():
    # the adjoint of x[i] scatters into zeros at i: it reads the same indices again
    f = tg.compile(lambda x, i: (x[i] * 2.0).sum())
    x, i = _x(3, 2), tg.tensor([2, 2, 0])
    f(x, i).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[2, 2], [0, 0], [4, 4]])


# ---- gradients accumulate at repeated indices ------------------------------------------------
@pytest.mark.parametrize("compiled", [False, True])
def test_repeated_indices_accumulate(compiled):
    def fn(x, i):
        return (x[i].sum() + x.index_select(1, i[:2]).sum()
                + x.gather(1, i[:2].reshape(1, 2).expand(3, 2)).sum())
    f = tg.compile(fn) if compiled else fn
    x, i = _x(3, 3), tg.tensor([1, 1, 0])
    f(x, i).backward()
    # x[i]: row 1 twice, row 0 once; index_select/gather along dim 1: column 1 twice per row
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 5, 1], [2, 6, 2], [0, 4, 0]])


def test_gather_adjoint_is_scatter_add():
    f = tg.compile(lambda x, i: x.gather(0, i))
    stages = f.stages(_x(3, 2), tg.tensor([[0, 0], [2, 0]]))
    assert "gather" in stages["traced"]
    assert "scatter[" in stages["adjoint"] and "accumulate=True" in stages["adjoint"]


def test_scatter_last_write_wins_and_gradient_of_overwritten_source():
    x = tg.zeros(3, requires_grad=True)
    src = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.scatter(0, tg.tensor([0, 0, 2]), src)
    assert y.tolist() == [2.0, 0.0, 3.0]
    (y * tg.tensor([10.0, 20.0, 30.0])).sum().backward()
    assert x.grad.tolist() == [0.0, 20.0, 0.0]
    # PyTorch's ScatterBackward0 gathers the output gradient for every source, overwritten or not
    assert src.grad.tolist() == [10.0, 10.0, 30.0]


# ---- layout ops are strided views in compiled code --------------------------------------------
def test_views_compile_to_one_kernel_without_copies():
    f = tg.compile(lambda x: (x.flip(0)[1:, ::2].T.diagonal() * 2.0,))
    x = _x(4, 6)
    (out,) = f(x)
    np.testing.assert_array_equal(out.detach().numpy(),
                                  x.detach().numpy()[::-1][1:, ::2].T.diagonal() * 2)
    fwd = compile_function(f.trace([x])[0])
    assert len(fwd.kernels) == 1 and not fwd.schedule.temps


def test_cat_and_pad_fuse_into_the_consumer():
    fwd = compile_function(tg.compile(
        lambda a, b: (tg.cat([a, b], 1) * 2.0 + F.pad(a, (1, 2))[:, :5]).exp()).trace(
        [_x(2, 3), _x(2, 2)])[0])
    assert len(fwd.kernels) == 1


# ---- PyTorch's special cases ----------------------------------------------------------------
def test_cat_skips_legacy_empty_tensors_but_gives_them_a_gradient():
    e, x = tg.zeros(0, requires_grad=True), _x(2, 2)
    y = tg.cat([e, x, e])
    assert tuple(y.shape) == (2, 2)
    y.sum().backward()
    assert tuple(e.grad.shape) == (0,)


def test_contiguous_returns_self_when_contiguous():
    x = _x(2, 3)
    assert x.contiguous() is x
    assert x.T.contiguous().grad_fn.name() == "CloneBackward0"


def test_getitem_grad_fn_chain_names():
    x = _x(3, 4)
    assert x[1:, 1:].grad_fn.name() == "SliceBackward0"
    assert x[:, :].grad_fn.name() == "AliasBackward0"   # full slices are skipped
    assert x[:].grad_fn.name() == "SliceBackward0"      # ... except a lone one
    assert x[None, 1].grad_fn.name() == "SelectBackward0"


def test_bool_mask_inside_compile_is_guarded():
    # the mask decides the result's shape: the trace guards it and a new mask re-specializes
    f = tg.compile(lambda x, m: x[m] * 2.0)
    x = _x(4)
    for mask in ([True, False, True, False], [False, True, True, True], [True, False, True, False]):
        want = x.detach().numpy()[np.array(mask)] * 2
        np.testing.assert_array_equal(f(x, tg.tensor(mask)).detach().numpy(), want)


def test_one_hot_inferred_classes_inside_compile_guard_the_largest_class():
    f = tg.compile(lambda i: F.one_hot(i))
    assert tuple(f(tg.tensor([0, 2])).shape) == (2, 3)
    assert tuple(f(tg.tensor([1, 2])).shape) == (2, 3)
    assert tuple(f(tg.tensor([1, 4])).shape) == (2, 5)


def test_index_plan_is_reusable_for_writes():
    plan = index_plan((3, 4, 5), (None, 1, slice(0, 4, 2), tg.tensor([0, 2])))
    assert plan.steps == [("unsqueeze", 0), ("select", 1, 1), ("slice", 1, 0, 4, 2)]
    assert [d for d, _ in plan.tensors] == [2]
    assert not plan.alias


@pytest.mark.parametrize("compiled", [False, True])
def test_integers_select_before_tensor_indexing(compiled):
    # PyTorch applies x[1, :, [0, 1]] as x[1][:, [0, 1]]: shape (4, 2); numpy would give (2, 4)
    a = np.arange(60.0).reshape(3, 4, 5)
    f = (lambda x: x[1, :, [0, 1]])
    out = (tg.compile(f) if compiled else f)(tg.tensor(a))
    np.testing.assert_array_equal(out.numpy(), a[1][:, [0, 1]])


def test_scatter_from_a_larger_source_gradient():
    # src larger than index: only its leading block is read (PyTorch's backward fails here with
    # "invalid gradient"; the gradient is the gathered cotangent padded with zeros)
    index = tg.tensor([[2, 0, 1, 0]])
    rng = np.random.default_rng(0)
    gradcheck(lambda x, s: x.scatter_add(0, index, s) * x, rng.standard_normal((3, 4)),
              rng.standard_normal((2, 5)))


def test_pad_crops_after_padding_as_pytorch_does():
    # A crop may eat into the padding: sizes are n + before + after.
    cases = [(tg.zeros(0), (1, -1), []), (tg.arange(3.0), (2, -4), [0.0]),
             (tg.arange(3.0), (-1, 2), [1.0, 2.0, 0.0, 0.0])]
    for x, pads, want in cases:
        assert F.pad(x, pads).tolist() == want
        assert tg.compile(lambda t, p=pads: F.pad(t, p) * 1.0)(x).tolist() == want
