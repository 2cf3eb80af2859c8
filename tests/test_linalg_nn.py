"""Linear algebra and nn.functional behaviour the op table cannot express: batched matrix
products in generated code, batch_norm's running statistics, embedding's padding row, dropout's
RNG, einsum's equation errors, and the clear errors for what compiled code does not support."""
from __future__ import annotations

import numpy as np
import pytest

import tracegrad as tg
import tracegrad.nn.functional as F
from tracegrad.codegen import compile_function
from tracegrad.ir import Builder, TensorType, evaluate, float32, float64, int64, ops

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _program(build, *arrays):
    dtypes = {np.dtype(np.float32): float32, np.dtype(np.float64): float64,
              np.dtype(np.int64): int64}
    b = Builder("f")
    syms = [b.param(TensorType(a.shape, dtypes[a.dtype]), f"x{i}") for i, a in enumerate(arrays)]
    fn = b.build([build(*syms)])
    prog = compile_function(fn)
    return prog, prog(*arrays)[0], evaluate(fn, list(arrays))[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_batched_matmul_is_one_kernel_per_product(dtype):
    rng = np.random.default_rng(3)
    a = (rng.standard_normal((3, 4, 5)) * 4).astype(dtype)
    b = (rng.standard_normal((3, 5, 2)) * 4).astype(dtype)
    prog, got, want = _program(lambda a, b: ops.bmm(a, b), a, b)
    assert [k.kind for k in prog.kernels] == ["matmul"]
    assert prog.kernels[0].impl == ("loops" if dtype is np.int64 else "blas")
    np.testing.assert_allclose(got, want, rtol=1e-5)
    # broadcast batch dims and a transposed operand are strided views, not copies
    c = (rng.standard_normal((4, 5)) * 4).astype(dtype)
    prog, got, want = _program(
        lambda c, b: ops.bmm(ops.broadcast_to(c, shape=(3, 4, 5)),
                             ops.transpose(ops.transpose(b, perm=(0, 2, 1)), perm=(0, 2, 1))),
        c, b)
    assert [k.kind for k in prog.kernels] == ["matmul"]
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_matmul_folds_batch_into_rows():
    a = np.ones((2, 3, 4), np.float32)
    b = np.ones((4, 5), np.float32)
    prog, got, _ = _program(lambda a, b: ops.matmul(a, b), a, b)
    (k,) = prog.kernels
    assert k.a.shape == (6, 4)     # one gemm of (2*3) x 4 rows, not two
    np.testing.assert_array_equal(got, np.full((2, 3, 5), 4.0, np.float32))


def test_batch_norm_updates_running_statistics_like_pytorch():
    x = np.random.default_rng(0).standard_normal((6, 3, 4)).astype(np.float32)
    stats = {}
    for m, fn in ((tg, F), (torch, TF)):
        rm, rv = m.zeros(3), m.ones(3)
        for momentum in (0.1, 0.3):
            fn.batch_norm(m.tensor(x), rm, rv, training=True, momentum=momentum)
        evaluated = fn.batch_norm(m.tensor(x), rm, rv, training=False)
        stats[m.__name__] = (rm.numpy(), rv.numpy(), evaluated.numpy())
    for ours, theirs in zip(stats["tracegrad"], stats["torch"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_batch_norm_running_update_inside_compile_matches_eager():
    f = tg.compile(lambda x, rm, rv: F.batch_norm(x, rm, rv, training=True))
    x = tg.tensor(np.arange(12, dtype=np.float32).reshape(4, 3))
    stats = [(tg.zeros(3), tg.ones(3)) for _ in range(2)]
    for _ in range(2):
        out = f(x, *stats[0])
        want = F.batch_norm(x, *stats[1], training=True)
        np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-6)
    for a, b in zip(stats[0], stats[1]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_embedding_padding_row_gets_no_gradient():
    idx = np.array([[1, 0, 2], [0, 3, 1]])
    w = np.random.default_rng(1).standard_normal((4, 2)).astype(np.float32)
    grads = []
    for m, fn in ((tg, F), (torch, TF)):
        weight = m.tensor(w, requires_grad=True)
        out = fn.embedding(m.tensor(idx), weight, padding_idx=0)
        (out * m.tensor(np.arange(12.0, dtype=np.float32).reshape(2, 3, 2))).sum().backward()
        grads.append(weight.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    assert (grads[0][0] == 0).all() and (grads[0][1:] != 0).any()


def test_dropout_is_seeded_scaled_and_differentiable():
    x = tg.ones(1000, requires_grad=True)
    tg.manual_seed(5)
    a = F.dropout(x, p=0.25)
    tg.manual_seed(5)
    b = F.dropout(x, p=0.25)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    values = set(np.unique(a.detach().numpy()).tolist())
    assert values == {0.0, np.float32(1 / 0.75).item()}
    assert 150 < (a.detach().numpy() == 0).sum() < 350
    a.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), a.detach().numpy())
    assert F.dropout(x, p=0.5, training=False) is x


def test_compiled_dropout_draws_the_same_masks_as_eager():
    f = tg.compile(lambda x: F.dropout(x, 0.3) * 3.0)
    for seed in range(4):
        outs = []
        for fn in (f, f.fn):
            tg.manual_seed(seed)
            x = tg.ones(64, requires_grad=True)
            y = fn(x)
            y.sum().backward()
            outs.append((y.detach().numpy(), x.grad.numpy()))
        np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-6)
        np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-6)
    assert f.trace_count == 1
    x = tg.ones(3)
    np.testing.assert_array_equal(
        tg.compile(lambda x: F.dropout(x, 0.5, training=False) * 2)(x).numpy(), [2.0] * 3)


def test_einsum_misplaced_dots_raise_as_in_pytorch():
    for eq, message in [("i...j...->", "for which an ellipsis was already found"),
                        ("i..j->", "that is not part of any ellipsis"),
                        ("ijk...->", r"equation \(3\) is more than the number of dimensions")]:
        with pytest.raises(RuntimeError, match=message):
            tg.einsum(eq, tg.ones(2, 3))
        with pytest.raises(RuntimeError):
            torch.einsum(eq, torch.ones(2, 3))


def test_sdpa_dropout_drops_weights_like_dropout_and_compiles():
    rng = np.random.default_rng(3)
    q, k, v = (tg.tensor(rng.standard_normal((4, 3)).astype(np.float32)) for _ in range(3))
    tg.manual_seed(5)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    tg.manual_seed(5)
    weights = F.dropout(F.softmax(q @ k.T / np.sqrt(3.0), dim=-1), 0.5)
    np.testing.assert_allclose(out.numpy(), (weights @ v).numpy(), rtol=1e-5, atol=1e-6)
    f = tg.compile(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, dropout_p=0.5))
    tg.manual_seed(5)
    np.testing.assert_allclose(f(q, k, v).numpy(), out.numpy(), rtol=1e-5, atol=1e-6)


def test_out_of_range_targets_raise_in_compiled_code_too():
    x = tg.randn(3, 4)
    f = tg.compile(lambda x, t: F.cross_entropy(x, t, ignore_index=-1))
    assert f(x, tg.tensor([1, -1, 3])).shape == ()
    with pytest.raises(IndexError, match="out of bounds"):
        f(x, tg.tensor([1, 2, 4]))
    with pytest.raises(IndexError, match="Target 4 is out of bounds."):
        F.cross_entropy(x, tg.tensor([1, 2, 4]))


def test_compiled_cross_entropy_reports_out_of_range_targets_as_pytorch_does():
    f = tg.compile(lambda x, t: F.cross_entropy(x, t))
    x = tg.randn(3, 4)
    f(x, tg.tensor([0, 1, 3]))
    with pytest.raises(IndexError, match="^Target 4 is out of bounds.$"):
        f(x, tg.tensor([0, 4, 1]))
    with pytest.raises(IndexError, match="^Target -2 is out of bounds.$"):
        F.cross_entropy(x, tg.tensor([0, -2, 1]))
