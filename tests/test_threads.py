"""Large kernels split across two threads: results equal one thread's bit for bit (a range's
partial sums are combined in range order, whichever thread computed them), also when two
Python threads call at once."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import tracegrad as tg
from tracegrad.codegen import compile_function
from tracegrad.codegen.schedule import PARALLEL_MIN_ELEMENTS
from tracegrad.ir import Builder, TensorType, float32, int64, ops

N = 4 * PARALLEL_MIN_ELEMENTS + 3   # odd: the ranges are uneven


@pytest.fixture
def threads():
    def use(n):
        tg.config.threads = n
    yield use
    del tg.config.threads


def _program(build, *types):
    b = Builder("f")
    xs = [b.param(TensorType(shape, dtype), f"x{i}") for i, (shape, dtype) in enumerate(types)]
    out = build(*xs)
    return compile_function(b.build(list(out) if isinstance(out, tuple) else [out]))


def _both(program, *arrays, threads):
    threads(1)
    one = [a.copy() for a in program(*arrays)]
    threads(2)
    two = program(*arrays)
    return one, two


def test_map_and_full_reduction_in_one_kernel(threads):
    x = np.random.default_rng(0).standard_normal(N).astype(np.float32)
    p = _program(lambda x: (ops.reduce_sum(ops.tanh(x) * x, dims=(0,), keepdim=False),
                            ops.exp(x) * 2), ((N,), float32))
    assert p.abi.sync_words > 0
    (s1, m1), (s2, m2) = _both(p, x, threads=threads)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_allclose(s2, np.sum(np.tanh(x.astype(np.float64)) * x), rtol=1e-6)


def test_row_and_column_reductions(threads):
    rows = 4 * PARALLEL_MIN_ELEMENTS // 256 + 1
    x = np.random.default_rng(1).standard_normal((rows, 256)).astype(np.float32)
    p = _program(lambda x: (ops.reduce_sum(x * x, dims=(1,), keepdim=False),
                            ops.reduce_sum(x, dims=(0,), keepdim=False),
                            ops.amax(x, dims=(0,), keepdim=False)), ((rows, 256), float32))
    one, two = _both(p, x, threads=threads)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(two[2], x.max(axis=0))
    np.testing.assert_allclose(two[1], x.astype(np.float64).sum(axis=0), rtol=1e-5, atol=1e-4)


def test_matmul_loop_nest_rows_split(threads):
    # float matmuls call BLAS, which has its own threads; integer ones are loop nests
    rng = np.random.default_rng(2)
    a = rng.integers(-9, 9, (301, 200))
    b = rng.integers(-9, 9, (200, 256))
    p = _program(lambda a, b: ops.matmul(a, b), ((301, 200), int64), ((200, 256), int64))
    assert p.abi.sync_words > 0
    one, two = _both(p, a, b, threads=threads)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(two[0], a @ b)


def test_compiled_loss_and_gradients_match_one_thread(threads):
    def loss(x, r, gamma, beta):
        return (tg.nn.functional.layer_norm(x, (512,), gamma, beta) * r).sum()

    rows = 2 * PARALLEL_MIN_ELEMENTS // 512 + 7
    rng = np.random.default_rng(3)
    x, r = (tg.tensor(rng.standard_normal((rows, 512)).astype(np.float32)) for _ in range(2))
    gamma, beta = (tg.tensor(rng.standard_normal(512).astype(np.float32), requires_grad=True)
                   for _ in range(2))
    x.requires_grad_()
    f = tg.compile(loss)
    results = []
    for n in (1, 2):
        threads(n)
        for t in (x, gamma, beta):
            t.grad = None
        value = f(x, r, gamma, beta)
        value.backward()
        results.append([value.item()] + [t.grad.numpy().copy() for t in (x, gamma, beta)])
    program = f.specializations[0].fused_program
    assert program.abi.sync_words > 0
    # the row statistics, the gradient's row sums and the column sums run range by range in
    # one group; the loss's sum over the rows' partial sums after it
    groups = program.schedule.groups
    assert [len(g) for g in groups] == [4, 1]
    for a, b in zip(results[0], results[1]):
        np.testing.assert_array_equal(a, b)


def test_two_python_threads_calling_at_once(threads):
    threads(2)
    x = np.random.default_rng(4).standard_normal(N).astype(np.float32)
    p = _program(lambda x: (ops.reduce_sum(x, dims=(0,), keepdim=False), x * 3),
                 ((N,), float32))
    want = p(x)
    errors = []

    def call():
        for _ in range(20):
            s, m = p(x)
            if not (np.array_equal(m, want[1]) and s == want[0]):
                errors.append((s, want[0]))

    ts = [threading.Thread(target=call) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors


def test_thread_choice_follows_the_measurements():
    from tracegrad.codegen.worker import ThreadChoice
    choice = ThreadChoice()
    assert choice.next() == (2, False)          # a warm-up call, not timed
    seen = []
    for _ in range(2 * ThreadChoice.PROBES):
        n, timed = choice.next()
        assert timed
        seen.append(n)
        choice.record(n, 1.0 if n == 1 else 3.0)   # two threads stall: slower here
    assert sorted(seen) == [1] * ThreadChoice.PROBES + [2] * ThreadChoice.PROBES
    assert choice.choice == 1 and choice.next() == (1, False)
    for _ in range(ThreadChoice.PERIOD - 2 * ThreadChoice.PROBES - 2):
        choice.next()
    assert choice.next() == (1, False)           # the next period warms up, then measures
    n, timed = choice.next()
    assert timed and n == 2
