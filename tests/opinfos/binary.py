"""Binary elementwise ops: maximum/minimum, remainder/fmod (and `%`), atan2, lerp,
logical_and/or/xor, isclose/allclose."""
from __future__ import annotations

import math

import numpy as np

from opinfo import E, OpInfo, S, arr

NAN, INF = math.nan, math.inf


def _remainder_ref(x, y):
    r = np.fmod(x, y)   # PyTorch: fmod, plus y where the signs differ (Python's %)
    return np.where((r != 0) & ((r < 0) != (np.asarray(y) < 0)), r + y, r)


def _lerp_ref(s, e, w):
    return s + w * (e - s)


def _minmax(name, ref):
    tie = arr(2, 3)
    return OpInfo(
        name, lambda m, x, y: (getattr(m, name)(x, y), getattr(x, name)(y)),
        lambda x, y: (ref(x, y), ref(x, y)),
        [S(arr(3, 1), arr(4)), S(arr(), arr(3), label="0d"),
         S(arr(3, 4), arr(3, 4), noncontiguous=True, label="noncontiguous"),
         # equal operands: the gradient is split in half (central differences agree)
         S(tie, tie.copy(), label="ties"), S(arr(0, 2), arr(2), label="empty")],
        errors=[E(TypeError, "must be Tensor", arr(3), 0.5),
                E(RuntimeError, "must match the size", arr(3), arr(4))],
        grad_fn=f"{name.capitalize()}Backward0")


_NUM = arr(3, 4, low=-6, high=6)
_DEN = arr(4, low=0.7, high=2.5) * np.array([1, -1, 1, -1], np.float32)


def _modulo(name, ref, grad_fn):
    return OpInfo(
        name, lambda m, x, y: (getattr(m, name)(x, y), getattr(x, name)(y)),
        lambda x, y: (ref(x, y), ref(x, y)),
        [S(_NUM, _DEN), S(arr(3, 3, low=-6, high=6), arr(3, 3, low=0.7, high=2.5),
                          noncontiguous=True, label="noncontiguous"),
         S(arr(), arr(3, low=0.7, high=2.5), label="0d")],
        errors=[E(RuntimeError, "ZeroDivisionError", arr(3, dtype=np.int64),
                  np.zeros(3, np.int64))],
        grad_fn=grad_fn)


def _bools(m, *values):
    """Python bools (checked) as a tensor, so the harness can compare them."""
    assert all(type(v) is bool for v in values), values
    return m.tensor(list(values))


_INT_NUM = np.array([5, -5, 5, -5, 0, 7], np.int64)
_INT_DEN = np.array([3, 3, -3, -3, 2, 1], np.int64)

OPS = [
    _minmax("maximum", np.maximum),
    _minmax("minimum", np.minimum),
    _modulo("remainder", _remainder_ref, "RemainderBackward1"),
    _modulo("fmod", np.fmod, "FmodBackward1"),
    OpInfo("remainder_scalar", lambda m, x, y: (m.remainder(x, y), x % y),
           lambda x, y: (_remainder_ref(x, y),) * 2,
           [S(arr(6, low=-6, high=6), 2.5), S(arr(2, 3, low=-6, high=6), -1.5, label="negative")],
           grad_fn="RemainderBackward0"),
    OpInfo("fmod_scalar", lambda m, x, y: (m.fmod(x, y), x.fmod(y)),
           lambda x, y: (np.fmod(x, y),) * 2,
           [S(arr(6, low=-6, high=6), 2.5), S(arr(2, 3, low=-6, high=6), -1.5, label="negative")],
           grad_fn="FmodBackward0"),
    OpInfo("integer_modulo",
           lambda m, x, y: (m.remainder(x, y), m.fmod(x, y), x % 4, m.maximum(x, y),
                            m.minimum(x, y), m.remainder(x, 2.5)),
           lambda x, y: (np.remainder(x, y), np.fmod(x, y), x % 4, np.maximum(x, y),
                         np.minimum(x, y), _remainder_ref(x.astype(np.float64), 2.5)),
           [S(_INT_NUM, _INT_DEN)], differentiable=False),
    OpInfo("atan2", lambda m, y, x: (m.atan2(y, x), y.atan2(x)),
           lambda y, x: (np.arctan2(y, x),) * 2,
           [S(arr(3, 4), arr(4)), S(arr(), arr(2, 2), label="0d"),
            S(arr(3, 3), arr(3, 3), noncontiguous=True, label="noncontiguous")],
           grad_fn="Atan2Backward0"),
    OpInfo("lerp", lambda m, s, e, w: (m.lerp(s, e, w), s.lerp(e, w)),
           lambda s, e, w: (_lerp_ref(s, e, w),) * 2,
           [S(arr(3, 4), arr(4), 0.3, label="low_weight"),
            S(arr(3), arr(3), 0.8, label="high_weight"),
            S(arr(), arr(), 0.5, label="0d")],
           errors=[E(RuntimeError, "expected dtype float for `end` but got dtype double",
                     arr(3), arr(3, dtype=np.float64), 0.5)],
           grad_fn="LerpBackward0"),
    OpInfo("lerp_tensor_weight", lambda m, s, e, w: (m.lerp(s, e, w), s.lerp(e, w)),
           lambda s, e, w: (_lerp_ref(s, e, w),) * 2,
           [S(arr(2, 3), arr(3), arr(2, 1, low=-0.5, high=1.5)),
            S(arr(), arr(), arr(), label="0d"),
            S(arr(3, 3), arr(3, 3), arr(3, 3, low=0, high=1), noncontiguous=True,
              label="noncontiguous")],
           errors=[E(RuntimeError, "expected dtype float for `weight` but got dtype double",
                     arr(3), arr(3), arr(3, dtype=np.float64))],
           grad_fn="LerpBackward1"),
    OpInfo("logical_and",
           lambda m, x, y: (m.logical_and(x, y), m.logical_or(x, y), m.logical_xor(x, y),
                            x.logical_and(y), x.logical_or(y), x.logical_xor(y)),
           lambda x, y: (np.logical_and(x, y), np.logical_or(x, y), np.logical_xor(x, y)) * 2,
           [S(arr(3, 4, dtype=np.bool_), arr(4, dtype=np.bool_)),
            S(np.array([0.0, NAN, 1.5, 0.0], np.float32), arr(4, dtype=np.int64),
              label="mixed_dtypes")],
           differentiable=False),
    OpInfo("isclose", lambda m, x, y, **kw: (m.isclose(x, y, **kw), x.isclose(y, **kw)),
           lambda x, y, **kw: (np.isclose(x, y, **kw),) * 2,
           [S(np.array([1.0, 1.0, NAN, INF, -INF, 0.0], np.float32),
              np.array([1.0 + 1e-6, 1.1, NAN, INF, INF, 1e-9], np.float32), label="special"),
            S(np.array([1.0, NAN, 2.0], np.float32), np.array([1.0, NAN, 2.1], np.float32),
              rtol=0.1, atol=0.0, equal_nan=True, label="keywords"),
            S(np.array([3, 4, 100], np.int64), np.array([3, 5, 101], np.int64), rtol=0.02,
              label="int")],
           errors=[E(RuntimeError, "Float did not match Double", arr(3),
                     arr(3, dtype=np.float64)),
                   E(RuntimeError, "rtol must be greater than or equal to zero", arr(3),
                     arr(3), rtol=-1.0)],
           differentiable=False),
    OpInfo("allclose", lambda m, x, y, **kw: _bools(m, m.allclose(x, y, **kw),
                                                   x.allclose(y, **kw)),
           lambda x, y, **kw: np.array([np.allclose(x, y, **kw)] * 2),
           [S(np.array([1.0, 2.0], np.float32), np.array([1.0, 2.0 + 1e-6], np.float32)),
            S(np.array([1.0, NAN], np.float32), np.array([1.0, NAN], np.float32),
              label="nan"),
            S(np.array([1.0, NAN], np.float32), np.array([1.0, NAN], np.float32),
              equal_nan=True, label="equal_nan")],
           differentiable=False, compiled=False,
           compiled_reason="returns a Python bool: a value read, which tracing refuses"),
]
