"""Constructors: values, dtypes and errors as PyTorch's (random ones by distribution)."""
from __future__ import annotations

import numpy as np
import pytest

import tracegrad as tg


def test_linspace_eye_full_like_empty():
    assert tg.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert tg.linspace(-1, 1, 1).tolist() == [-1.0]
    assert tg.linspace(0, 10, 4, dtype=tg.int64).tolist() == [0, 3, 6, 10]
    assert tg.linspace(0, 1, 0).shape == tg.Size([0])
    assert tg.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert tg.eye(2, 3, dtype=tg.int64).tolist() == [[1, 0, 0], [0, 1, 0]]
    f = tg.full_like(tg.zeros(2, dtype=tg.float64), 7)
    assert f.tolist() == [7.0, 7.0] and f.dtype is tg.float64
    e = tg.empty(2, 3, dtype=tg.int64)
    assert e.shape == tg.Size([2, 3]) and e.dtype is tg.int64
    assert tg.empty_like(f).shape == f.shape
    with pytest.raises(RuntimeError, match="number of steps must be non-negative"):
        tg.linspace(0, 1, -1)
    with pytest.raises(RuntimeError, match="n must be greater or equal to 0, got -1"):
        tg.eye(-1)


def test_random_constructors():
    tg.manual_seed(0)
    r = tg.randint(3, 7, (2000,))
    assert r.dtype is tg.int64 and r.min().item() == 3 and r.max().item() == 6
    assert tg.randint(5, (3,)).max().item() < 5
    x = tg.zeros(2, 3, dtype=tg.float64)
    assert tg.randn_like(x).dtype is tg.float64 and tg.rand_like(x).shape == x.shape
    t = tg.empty(20000).normal_(2.0, 0.5)
    assert abs(t.mean().item() - 2.0) < 0.02 and abs(t.std().item() - 0.5) < 0.02
    u = tg.empty(20000).uniform_(-1.0, 3.0)
    assert -1.0 <= u.min().item() and u.max().item() < 3.0 and abs(u.mean().item() - 1.0) < 0.05
    tg.manual_seed(5)
    a = tg.randint(0, 100, (5,)).tolist()
    tg.manual_seed(5)
    assert tg.randint(0, 100, (5,)).tolist() == a
    with pytest.raises(RuntimeError, match="random_ expects 'from' to be less than 'to'"):
        tg.randint(5, 5, (2,))
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0"):
        tg.empty(2).normal_(0.0, -1.0)


def test_from_numpy_shares_memory():
    a = np.arange(4, dtype=np.float32)
    t = tg.from_numpy(a)
    a[0] = 10
    assert t.tolist() == [10.0, 1.0, 2.0, 3.0]
    t.add_(1)
    assert a.tolist() == [11.0, 2.0, 3.0, 4.0]
    with pytest.raises(TypeError, match="can't convert np.ndarray of type numpy.float16"):
        tg.from_numpy(np.zeros(2, np.float16))


def test_tensor_from_nested_lists_of_any_depth():
    deep = [[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]]
    t = tg.tensor(deep)
    assert t.shape == tg.Size([1, 2, 2, 2]) and t.dtype is tg.int64 and t.tolist() == deep
    assert tg.tensor([[1.5], [2]]).dtype is tg.float32
    assert tg.tensor([[True, False]]).dtype is tg.bool
    with pytest.raises(ValueError):
        tg.tensor([[1, 2], [3]])


def test_constructors_match_torch():
    torch = pytest.importorskip("torch")
    for make in (lambda m: m.linspace(-2, 3, 7), lambda m: m.linspace(0, 10, 4, dtype=m.int64),
                 lambda m: m.eye(3, 2), lambda m: m.full_like(m.ones(2, dtype=m.int64), 3)):
        ours, theirs = make(tg), make(torch)
        assert str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
