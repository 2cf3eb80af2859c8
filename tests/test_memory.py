"""Memory behaviour of compiled code: loop fusion across reductions (bytes moved), output
buffers reused from a pool only once nobody holds them."""
from __future__ import annotations

import numpy as np

import tracegrad as tg
from tracegrad.codegen import compile_function
from tracegrad.codegen.pool import MIN_BYTES, SLOTS, Pool
from tracegrad.ir import Builder, TensorType, float32, ops


def test_loss_and_gradient_of_an_elementwise_chain_are_one_loop():
    f = tg.compile(lambda x: (3 * (x + 2) ** 2).mean())
    x = tg.tensor(np.linspace(-1, 1, 1000, dtype=np.float32), requires_grad=True)
    loss = f(x)
    program = f.specializations[0].fused_program
    assert len(program.kernels) == 1 and program.abi.arena_bytes == 0
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * (x.detach().numpy() + 2) / 1000, rtol=1e-6)


def test_map_reading_a_reduction_does_not_join_its_loop():
    b = Builder("f")
    x = b.param(TensorType((64,), float32), "x")
    out = b.build([ops.exp(x) - ops.reduce_sum(x, dims=(0,), keepdim=True)])
    program = compile_function(out)
    assert len(program.kernels) == 2
    a = np.linspace(-2, 2, 64, dtype=np.float32)
    (got,) = program(a)
    np.testing.assert_allclose(got, np.exp(a) - a.sum(), rtol=1e-6, atol=1e-6)


def test_pool_reuses_an_array_only_when_nobody_holds_it():
    pool = Pool((MIN_BYTES // 4,), np.dtype(np.float32))
    a = pool.take()
    a[:] = 1
    b = pool.take()
    assert b is not a
    view = a[10:]
    del a
    c = pool.take()      # a is still referenced through `view`
    assert not np.shares_memory(c, view) and len(pool.arrays) == SLOTS
    del c
    d = pool.take()      # c was a fresh array outside the pool; the pool's are both held
    assert all(d is not x for x in pool.arrays)
    del view
    e = pool.take()
    assert any(e is x for x in pool.arrays) and np.all(e[:10] == 1)


def test_gradients_handed_to_grad_are_never_overwritten_by_later_calls():
    f = tg.compile(lambda x: (x * x).sum())
    n = MIN_BYTES   # float32: four times the pool threshold
    x = tg.tensor(np.ones(n, np.float32), requires_grad=True)
    f(x).backward()
    first = x.grad
    x.grad = None
    with tg.no_grad():
        x.mul_(3)
    f(x).backward()
    np.testing.assert_array_equal(first.numpy(), np.full(n, 2, np.float32))
    np.testing.assert_array_equal(x.grad.numpy(), np.full(n, 6, np.float32))
    kept = x.grad.numpy()[:5]    # a view keeps the array out of reuse
    x.grad = None
    with tg.no_grad():
        x.mul_(2)
    f(x).backward()
    np.testing.assert_array_equal(kept, np.full(5, 6, np.float32))
    np.testing.assert_array_equal(x.grad.numpy()[:5], np.full(5, 12, np.float32))


def test_training_loop_reuses_gradient_buffers():
    f = tg.compile(lambda x: (x * x).sum())
    x = tg.tensor(np.ones(MIN_BYTES, np.float32), requires_grad=True)
    seen = set()
    for _ in range(6):
        f(x).backward()
        seen.add(x.grad.numpy().__array_interface__["data"][0])
        x.grad = None
    assert len(seen) <= SLOTS


def test_layer_norm_loss_and_gradients_store_no_full_size_temporary():
    # x - mean(x) and the gradient's terms are recomputed in each pass instead of stored;
    # the loss sums rows in the pass that sums the gradient's rows.
    def loss(x, r, gamma, beta):
        return (tg.nn.functional.layer_norm(x, (256,), gamma, beta) * r).sum()

    rng = np.random.default_rng(0)
    x, r = (tg.tensor(rng.standard_normal((64, 256)).astype(np.float32)) for _ in range(2))
    gamma = tg.tensor(rng.standard_normal(256).astype(np.float32), requires_grad=True)
    beta = tg.tensor(rng.standard_normal(256).astype(np.float32), requires_grad=True)
    x.requires_grad_()
    f = tg.compile(loss)
    f(x, r, gamma, beta).backward()
    program = f.specializations[0].fused_program
    assert program.abi.arena_bytes < 64 * 256 * 4 / 4   # row statistics only
    assert len(program.kernels) == 5
    ex, eg, eb = (t.detach().requires_grad_() for t in (x, gamma, beta))
    loss(ex, r, eg, eb).backward()
    for got, want in ((x, ex), (gamma, eg), (beta, eb)):
        np.testing.assert_allclose(got.grad.numpy(), want.grad.numpy(), rtol=1e-4, atol=1e-5)
