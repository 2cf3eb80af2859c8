"""Arithmetic, the first unary ops, comparisons, sum/mean/norm, matmul and basic layout."""
from __future__ import annotations

import numpy as np

from opinfo import E, OpInfo, S, arr


def _norm_ref(x, p=2, dim=None, keepdim=False):
    return np.sum(np.abs(x) ** p, axis=dim, keepdims=keepdim) ** (1.0 / p)


def _transpose_ref(x, a, b):
    return np.swapaxes(x, a, b)


OPS = [
    OpInfo("add", lambda m, x, y: m.add(x, y), np.add,
           [S(arr(3, 1), arr(4)), S(arr(2, 3), 2.5, label="scalar"), S(arr(), arr(3), label="0d"),
            S(arr(0, 3), arr(3), label="empty"), S(arr(3, 4), arr(3, 4), noncontiguous=True)],
           errors=[E(RuntimeError, "must match the size", arr(3), arr(4))],
           grad_fn="AddBackward0"),
    OpInfo("sub", lambda m, x, y: x - y, np.subtract,
           [S(arr(2, 3), arr(3)), S(arr(4), 1.5, label="scalar")], grad_fn="SubBackward0"),
    OpInfo("rsub", lambda m, x: 2 - x, lambda x: 2 - x, [S(arr(3, 2))], grad_fn="RsubBackward1"),
    OpInfo("mul", lambda m, x, y: x * y, np.multiply,
           [S(arr(5, 4), arr(4)), S(arr(3), 3.0, label="scalar"), S(arr(2, 2), arr(2, 2, dtype=np.int64), label="int")],
           grad_fn="MulBackward0"),
    OpInfo("div", lambda m, x, y: x / y, np.divide,
           [S(arr(3, 4), arr(3, 4, positive=True)), S(arr(3), 4.0, label="scalar")],
           grad_fn="DivBackward0"),
    OpInfo("pow", lambda m, x, y: x ** y, np.power,
           [S(arr(6, positive=True), arr(6)), S(arr(4), 2, label="square"),
            S(arr(4, positive=True), 0.5, label="sqrt")]),
    OpInfo("neg", lambda m, x: -x, np.negative, [S(arr(3, 2)), S(arr())], grad_fn="NegBackward0"),
    OpInfo("exp", lambda m, x: m.exp(x), np.exp, [S(arr(17)), S(arr(2, 3), noncontiguous=True)],
           grad_fn="ExpBackward0"),
    OpInfo("log", lambda m, x: x.log(), np.log, [S(arr(17, positive=True))], grad_fn="LogBackward0"),
    OpInfo("sqrt", lambda m, x: x.sqrt(), np.sqrt, [S(arr(5, positive=True))],
           grad_fn="SqrtBackward0"),
    OpInfo("tanh", lambda m, x: x.tanh(), np.tanh, [S(arr(33)), S(arr(0, 2), label="empty")],
           grad_fn="TanhBackward0"),
    OpInfo("sigmoid", lambda m, x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), [S(arr(2, 9))],
           grad_fn="SigmoidBackward0"),
    OpInfo("relu", lambda m, x: x.relu(), lambda x: np.maximum(x, 0),
           [S(arr(4, 4, away_from=0))], grad_fn="ReluBackward0"),
    OpInfo("where", lambda m, c, x, y: m.where(c, x, y), np.where,
           [S(arr(3, 4, dtype=np.bool_), arr(3, 4), arr(4))], grad_fn="WhereBackward0",
           errors=[E(RuntimeError, "boolean", arr(3), arr(3), arr(3))]),
    OpInfo("eq", lambda m, x, y: x == y, np.equal,
           [S(arr(4, dtype=np.int64), arr(3, 1, dtype=np.int64))], differentiable=False),
    OpInfo("lt", lambda m, x, y: (x < y, x <= y, x > y, x >= y, x != y),
           lambda x, y: (x < y, x <= y, x > y, x >= y, x != y),
           [S(arr(4), arr(3, 1))], differentiable=False),
    OpInfo("sum", lambda m, x, **kw: x.sum(**kw), lambda x, dim=None, keepdim=False:
           np.sum(x, axis=dim, keepdims=keepdim),
           [S(arr(3, 4, 5)), S(arr(3, 4, 5), dim=1), S(arr(3, 4, 5), dim=(0, -1), keepdim=True),
            S(arr(0, 3), dim=0, label="empty"), S(arr()), S(arr(4, 3), dim=1, noncontiguous=True)],
           rtol=1e-5),
    OpInfo("mean", lambda m, x, **kw: x.mean(**kw), lambda x, dim=None, keepdim=False:
           np.mean(x, axis=dim, keepdims=keepdim),
           [S(arr(4, 4)), S(arr(4, 4), dim=-1, keepdim=True)]),
    OpInfo("norm", lambda m, x, **kw: x.norm(**kw), _norm_ref,
           [S(arr(3, 5)), S(arr(3, 5), dim=1)]),
    OpInfo("matmul", lambda m, a, b: a @ b, np.matmul, [S(arr(4, 3), arr(3, 5))],
           errors=[E(RuntimeError, "cannot be multiplied", arr(2, 3), arr(2, 3))],
           grad_fn="MmBackward0"),
    OpInfo("reshape", lambda m, x, *shape: x.reshape(*shape), lambda x, *shape: x.reshape(shape),
           [S(arr(3, 4), 6, 2), S(arr(3, 4), -1, label="flat")],
           errors=[E(RuntimeError, "invalid for input of size", arr(3, 4), 5, 2)],
           grad_fn="ViewBackward0"),
    OpInfo("view", lambda m, x: x.view(2, -1), lambda x: x.reshape(2, -1), [S(arr(3, 4))],
           grad_fn="ViewBackward0"),
    OpInfo("transpose", lambda m, x: x.transpose(0, 1), lambda x: x.T, [S(arr(3, 4))],
           grad_fn="TransposeBackward0"),
    OpInfo("t", lambda m, x: x.t(), lambda x: x.T, [S(arr(3, 4))], grad_fn="TBackward0"),
    OpInfo("permute", lambda m, x: x.permute(2, 0, 1), lambda x: x.transpose(2, 0, 1),
           [S(arr(2, 3, 4))], grad_fn="PermuteBackward0"),
    OpInfo("expand", lambda m, x: x.expand(3, 4), lambda x: np.broadcast_to(x, (3, 4)),
           [S(arr(4)), S(arr(3, 1))], grad_fn="ExpandBackward0"),
    OpInfo("clone", lambda m, x: x.clone(), np.copy, [S(arr(3))], grad_fn="CloneBackward0"),
    # Finite differences see x*x; the gradient is x by definition: values only.
    OpInfo("detach", lambda m, x: x.detach() * x, lambda x: x * x, [S(arr(3))],
           differentiable=False),
    OpInfo("to", lambda m, x: x.double() * 2, lambda x: x * 2, [S(arr(3))],
           grad_fn="MulBackward0"),
]
