"""Finite-difference gradient checks (float64) for every differentiable op in the registry.

`FIRST_ORDER` maps each differentiable op of `tracegrad.ir.OPS` to eager cases checked with
`helpers.gradcheck`; `SECOND_ORDER` maps each one to IR functions whose adjoint is
differentiated again (`tracegrad.ir.vjp` applied to the adjoint) and checked against central
differences of the first gradient. Both tables must cover the registry exactly, so an op added
without tests makes `test_*_table_covers_registry` fail.
"""
from __future__ import annotations

import json
import subprocess
import sys
import zlib

import numpy as np
import pytest

import tracegrad as tg
from tracegrad.ir import OPS, float32, float64, ops
from helpers import build_function, gradcheck, second_order_check
from opinfo import covered_primitives


def _rng(key: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(key.encode()))


def normal(r, *shape):
    return r.standard_normal(shape)


def positive(r, *shape):
    return r.uniform(0.5, 2.0, shape)


def away_from_zero(r, *shape):
    """Normal samples pushed at least 0.1 away from 0 (kinks of relu/where/norm)."""
    x = r.standard_normal(shape)
    return np.where(x >= 0, x + 0.1, x - 0.1)


def grid(r, *shape):
    """Multiples of 2**-10 in (-2, 2): exact in float32, and so are their squares."""
    return r.integers(-2047, 2048, shape) / 1024.0


def mask(r, *shape):
    return r.random(shape) < 0.5


# ---- elementwise math, activations, binary elementwise ----
def uniform(r, low, high, *shape, away=()):
    """Uniform in [low, high), at least 0.1 from each point of `away` (kinks, jumps)."""
    x = r.uniform(low, high, shape)
    for p in away:
        x = np.where(np.abs(x - p) < 0.1, p + np.where(x >= p, 0.1, -0.1), x)
    return x


# ---- first order: op name -> [(case id, fn, input maker, gradcheck kwargs)] ---------------------

def _norm(x, dim=None, keepdim=False):
    return x.norm(dim=dim, keepdim=keepdim)


FIRST_ORDER = {
    "add": [
        ("same_shape", lambda a, b: a + b, lambda r: (normal(r, 2, 3), normal(r, 2, 3)), {}),
        ("bcast_3x1_4", lambda a, b: a + b, lambda r: (normal(r, 3, 1), normal(r, 4)), {}),
        ("bcast_0d_2x3", lambda a, b: a + b, lambda r: (normal(r), normal(r, 2, 3)), {}),
        ("0d_0d", lambda a, b: a + b, lambda r: (normal(r), normal(r)), {}),
        ("scalar", lambda a: a + 2.5, lambda r: (normal(r, 3),), {}),
        ("reflected", lambda a: 2.5 + a, lambda r: (normal(r, 3),), {}),
        ("fn_form", lambda a, b: tg.add(a, b), lambda r: (normal(r, 2), normal(r, 2)), {}),
    ],
    "sub": [
        ("same_shape", lambda a, b: a - b, lambda r: (normal(r, 2, 3), normal(r, 2, 3)), {}),
        ("bcast_3x1_4", lambda a, b: a - b, lambda r: (normal(r, 3, 1), normal(r, 4)), {}),
        ("bcast_2x3_0d", lambda a, b: a - b, lambda r: (normal(r, 2, 3), normal(r)), {}),
        ("scalar", lambda a: a - 1.5, lambda r: (normal(r, 3),), {}),
        ("reflected", lambda a: 1.5 - a, lambda r: (normal(r, 3),), {}),
    ],
    "mul": [
        ("same_shape", lambda a, b: a * b, lambda r: (normal(r, 2, 3), normal(r, 2, 3)), {}),
        ("bcast_3x1_4", lambda a, b: a * b, lambda r: (normal(r, 3, 1), normal(r, 4)), {}),
        ("bcast_0d_2x3", lambda a, b: a * b, lambda r: (normal(r), normal(r, 2, 3)), {}),
        ("square_fanout", lambda a: a * a, lambda r: (normal(r, 4),), {}),
        ("scalar", lambda a: a * 3.0, lambda r: (normal(r, 3),), {}),
        ("reflected", lambda a: 3.0 * a, lambda r: (normal(r, 3),), {}),
        ("int_scalar", lambda a: a * 3, lambda r: (normal(r, 3),), {}),
        ("0d", lambda a: a * a * a, lambda r: (normal(r),), {}),
    ],
    "div": [
        ("same_shape", lambda a, b: a / b, lambda r: (normal(r, 2, 3), positive(r, 2, 3)), {}),
        ("bcast_3x1_4", lambda a, b: a / b, lambda r: (normal(r, 3, 1), positive(r, 4)), {}),
        ("bcast_0d_2x3", lambda a, b: a / b, lambda r: (normal(r), positive(r, 2, 3)), {}),
        ("scalar", lambda a: a / 2.5, lambda r: (normal(r, 3),), {}),
        ("reflected", lambda a: 2.0 / a, lambda r: (positive(r, 3),), {}),
    ],
    "pow": [
        ("square", lambda a: a ** 2, lambda r: (normal(r, 2, 3),), {}),
        ("frac_exp", lambda a: a ** 2.5, lambda r: (positive(r, 4),), {}),
        ("neg_exp", lambda a: a ** -1.5, lambda r: (positive(r, 4),), {}),
        ("cube_0d", lambda a: a ** 3, lambda r: (normal(r),), {}),
        ("tensor_exp", lambda a, b: a ** b, lambda r: (positive(r, 2, 3), normal(r, 2, 3)), {}),
        ("tensor_exp_bcast", lambda a, b: a ** b, lambda r: (positive(r, 3, 1), normal(r, 4)), {}),
        ("tensor_exp_0d", lambda a, b: a ** b, lambda r: (positive(r), normal(r, 2, 3)), {}),
        ("reflected", lambda b: 2.0 ** b, lambda r: (normal(r, 4),), {}),
        ("reflected_lt1", lambda b: 0.5 ** b, lambda r: (normal(r, 4),), {}),
        ("fn_form", lambda a: tg.pow(a, 3.0), lambda r: (normal(r, 3),), {}),
    ],
    "neg": [
        ("op", lambda a: -a, lambda r: (normal(r, 2, 3),), {}),
        ("method", lambda a: a.neg(), lambda r: (normal(r),), {}),
    ],
    "exp": [
        ("op", lambda a: a.exp(), lambda r: (normal(r, 2, 3),), {}),
        ("0d", lambda a: tg.exp(a), lambda r: (normal(r),), {}),
    ],
    "log": [
        ("op", lambda a: a.log(), lambda r: (positive(r, 2, 3),), {}),
        ("0d", lambda a: tg.log(a), lambda r: (positive(r),), {}),
    ],
    "sqrt": [
        ("op", lambda a: a.sqrt(), lambda r: (positive(r, 2, 3),), {}),
        ("0d", lambda a: tg.sqrt(a), lambda r: (positive(r),), {}),
    ],
    "tanh": [
        ("op", lambda a: a.tanh(), lambda r: (normal(r, 2, 3),), {}),
        ("0d", lambda a: tg.tanh(a), lambda r: (normal(r),), {}),
    ],
    "sigmoid": [
        ("op", lambda a: a.sigmoid(), lambda r: (normal(r, 2, 3),), {}),
        ("0d", lambda a: tg.sigmoid(a), lambda r: (normal(r),), {}),
    ],
    "relu": [
        ("op", lambda a: a.relu(), lambda r: (away_from_zero(r, 3, 4),), {}),
        ("0d", lambda a: tg.relu(a) * a, lambda r: (away_from_zero(r),), {}),
    ],
    "clone": [
        ("op", lambda a: a.clone() * a, lambda r: (normal(r, 2, 3),), {}),
    ],
    "convert": [
        # float64 -> float32 -> float64 on a grid where every value is exact in float32, and a
        # quadratic, whose central differences are exact: the float32 stage loses nothing.
        ("f64_f32_f64", lambda a: (a.float() * a.float()).double(), lambda r: (grid(r, 2, 3),),
         {"eps": 2.0 ** -10}),
        ("to_method", lambda a: (a.to(tg.float32) * 3.0).to(tg.float64) * a,
         lambda r: (grid(r, 4),), {"eps": 2.0 ** -10}),
        # mixed-dtype promotion inserts the conversion (float32 constant, float64 leaf)
        ("promotion", lambda a, b: a.float() * b.float() + a, lambda r: (grid(r, 3), grid(r, 3)),
         {"eps": 2.0 ** -10}),
    ],
    "where": [
        ("tensors", lambda c, a, b: tg.where(c, a, b),
         lambda r: (mask(r, 2, 3), normal(r, 2, 3), normal(r, 2, 3)), {}),
        ("bcast", lambda c, a, b: tg.where(c, a, b),
         lambda r: (mask(r, 3, 1), normal(r, 4), normal(r)), {}),
        ("scalar_other", lambda c, a: tg.where(c, a, 0.0), lambda r: (mask(r, 5), normal(r, 5)), {}),
        ("scalar_input", lambda c, b: tg.where(c, 1.5, b), lambda r: (mask(r, 5), normal(r, 5)), {}),
        ("data_mask", lambda a: tg.where(a > 0, a * a, -a), lambda r: (away_from_zero(r, 6),), {}),
    ],
    "matmul": [
        ("2x3_3x4", lambda a, b: a @ b, lambda r: (normal(r, 2, 3), normal(r, 3, 4)), {}),
        ("row_col", lambda a, b: a.matmul(b), lambda r: (normal(r, 1, 5), normal(r, 5, 1)), {}),
        ("gram", lambda a: a @ a.t(), lambda r: (normal(r, 3, 2),), {}),
        ("fn_form", lambda a, b: tg.matmul(a, b), lambda r: (normal(r, 4, 2), normal(r, 2, 3)), {}),
    ],
    "sum": [
        ("all", lambda a: a.sum(), lambda r: (normal(r, 2, 3),), {}),
        ("dim0", lambda a: a.sum(0), lambda r: (normal(r, 2, 3),), {}),
        ("dim_neg", lambda a: a.sum(-1), lambda r: (normal(r, 2, 3),), {}),
        ("dim_keep", lambda a: a.sum(1, keepdim=True), lambda r: (normal(r, 2, 3),), {}),
        ("tuple", lambda a: a.sum((0, 2)), lambda r: (normal(r, 2, 3, 4),), {}),
        ("tuple_keep", lambda a: a.sum((0, -1), keepdim=True), lambda r: (normal(r, 2, 3, 4),), {}),
        ("0d", lambda a: a.sum(), lambda r: (normal(r),), {}),
        ("squares", lambda a: tg.sum(a * a, 1), lambda r: (normal(r, 3, 2),), {}),
    ],
    "mean": [
        ("all", lambda a: a.mean(), lambda r: (normal(r, 2, 3),), {}),
        ("dim0", lambda a: a.mean(0), lambda r: (normal(r, 2, 3),), {}),
        ("dim_neg_keep", lambda a: a.mean(-1, keepdim=True), lambda r: (normal(r, 2, 3),), {}),
        ("tuple", lambda a: a.mean((1, 2)), lambda r: (normal(r, 2, 3, 4),), {}),
        ("tuple_keep", lambda a: a.mean((0, 2), keepdim=True), lambda r: (normal(r, 2, 3, 4),), {}),
        ("0d", lambda a: tg.mean(a), lambda r: (normal(r),), {}),
    ],
    "norm": [
        ("all", lambda a: a.norm(), lambda r: (normal(r, 2, 3),), {}),
        ("dim1", lambda a: _norm(a, 1), lambda r: (normal(r, 2, 3),), {}),
        ("dim0_keep", lambda a: _norm(a, 0, True), lambda r: (normal(r, 2, 3),), {}),
        ("tuple", lambda a: _norm(a, (0, 2)), lambda r: (normal(r, 2, 3, 4),), {}),
        ("tuple_keep", lambda a: _norm(a, (-1, 0), True), lambda r: (normal(r, 2, 3, 4),), {}),
        ("0d", lambda a: tg.norm(a), lambda r: (away_from_zero(r),), {}),
    ],
    "reshape": [
        ("infer", lambda a: a.reshape(-1) * tg.tensor(np.arange(6.0)), lambda r: (normal(r, 2, 3),), {}),
        ("view", lambda a: a.view(3, 2, 1), lambda r: (normal(r, 2, 3),), {}),
        ("from_0d", lambda a: a.reshape(1, 1), lambda r: (normal(r),), {}),
        ("fn_form", lambda a: tg.reshape(a, (3, 2)), lambda r: (normal(r, 6),), {}),
    ],
    "transpose": [
        ("t", lambda a: a.t(), lambda r: (normal(r, 2, 3),), {}),
        ("transpose", lambda a: a.transpose(0, 2), lambda r: (normal(r, 2, 3, 4),), {}),
        ("permute", lambda a: a.permute(2, 0, 1), lambda r: (normal(r, 2, 3, 4),), {}),
        ("T", lambda a: a.T @ a, lambda r: (normal(r, 3, 2),), {}),
        ("fn_form", lambda a: tg.transpose(a, 1, 0), lambda r: (normal(r, 3, 2),), {}),
    ],
    "broadcast_to": [
        ("expand_3x1", lambda a: a.expand(2, 3, 4), lambda r: (normal(r, 3, 1),), {}),
        ("expand_minus1", lambda a: a.expand(4, -1), lambda r: (normal(r, 1, 3),), {}),
        ("expand_0d", lambda a: a.expand(2, 3), lambda r: (normal(r),), {}),
    ],
}

FIRST_ORDER_CASES = [pytest.param(op, fn, make, kw, id=f"{op}-{cid}")
                     for op, cases in FIRST_ORDER.items() for cid, fn, make, kw in cases]


def _registry_differentiable_ops() -> set:
    """Differentiable ops of a fresh interpreter (ops registered by other tests don't count)."""
    code = ("import json, tracegrad; from tracegrad.ir import OPS; "
            "print(json.dumps(sorted(n for n, o in OPS.items() if o.differentiable)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


@pytest.fixture(scope="module")
def registry_ops():
    return _registry_differentiable_ops()


def test_first_order_table_covers_registry(registry_ops):
    # Ops of the op table (tests/opinfos/) are gradient-checked in tests/test_ops.py.
    assert registry_ops, "no differentiable ops found"
    covered = {name for name in FIRST_ORDER if FIRST_ORDER[name]}
    covered |= covered_primitives(differentiable_only=True)
    assert registry_ops - covered == set()
    assert set(FIRST_ORDER) <= registry_ops


def _graph_op_names(out) -> set:
    names, stack, seen = set(), [out.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or not hasattr(node, "op"):
            continue
        seen.add(id(node))
        names.add(node.op.name)
        stack.extend(fn for fn, _ in node.next_functions)
    return names


@pytest.mark.parametrize("op_name, fn, make, kwargs", FIRST_ORDER_CASES)
def test_first_order(op_name, fn, make, kwargs, request):
    inputs = make(_rng(request.node.callspec.id))
    # the case really records the op it is filed under
    leaves = [tg.tensor(a, requires_grad=a.dtype == np.float64) for a in inputs]
    assert op_name in _graph_op_names(fn(*leaves))
    gradcheck(fn, *inputs, **kwargs)


# ---- exact gradients at special points (compared with PyTorch's documented formulas) ----------

def _grads(fn, *values, dtype=tg.float64):
    leaves = [tg.tensor(v, dtype=dtype, requires_grad=True) for v in values]
    out = fn(*leaves)
    if out.numel() == 1:
        out.backward()
    else:
        out.backward(tg.ones_like(out))
    return [None if x.grad is None else x.grad.tolist() for x in leaves]


INF = float("inf")


def test_relu_gradient_at_zero_is_zero():
    assert _grads(lambda x: x.relu(), [-1.0, 0.0, 2.0]) == [[0.0, 0.0, 1.0]]


def test_norm_gradient_at_zero_is_zero():
    assert _grads(lambda x: x.norm(), [0.0, 0.0, 0.0]) == [[0.0, 0.0, 0.0]]
    assert _grads(lambda x: x.norm(dim=1), [[0.0, 0.0], [3.0, 4.0]]) == [[[0.0, 0.0], [0.6, 0.8]]]


def test_pow_tensor_exponent_at_zero_base():
    # d/dx x**y = y x**(y-1) is 0 where y == 0; d/dy = x**y log x is 0 at x == 0 for y >= 0
    gx, gy = _grads(lambda x, y: x ** y, [0.0, 0.0, 0.0, 2.0], [0.0, 2.0, -1.0, 0.0])
    assert gx == [0.0, 0.0, -INF, 0.0]
    assert gy[:3] == [0.0, 0.0, -INF] and gy[3] == pytest.approx(np.log(2.0), rel=1e-15)


def test_pow_scalar_base_zero_and_one():
    assert _grads(lambda y: 0.0 ** y, [0.0, 2.0, -1.0]) == [[0.0, 0.0, -INF]]
    assert _grads(lambda y: 1.0 ** y, [2.0, 3.0]) == [[0.0, 0.0]]


def test_pow_negative_scalar_base_gives_nan_exponent_gradient():
    (g,) = _grads(lambda y: (-2.0) ** y, [2.0, 3.0])
    assert np.isnan(g).all()


def test_pow_zero_exponent_gives_zero_gradient():
    assert _grads(lambda x: x ** 0, [0.0, 2.0]) == [[0.0, 0.0]]


def test_relu_gradient_at_nan_passes_through():
    assert _grads(lambda x: x.relu(), [float("nan"), 1.0, -1.0]) == [[1.0, 1.0, 0.0]]


# ---- second order: differentiate the adjoint IR again ---------------------------------------

def _sq(x):
    return x * x


SECOND_ORDER = {
    "add": [("square_of_sum", lambda x, y: _sq(x + y), lambda r: (normal(r, 2, 3), normal(r, 2, 3)), {}),
            ("bcast", lambda x, y: _sq(x + y) * x, lambda r: (normal(r, 3, 1), normal(r, 4)), {}),
            ("scalar", lambda x: _sq(x + 1.5), lambda r: (normal(r, 3),), {})],
    "sub": [("square_of_diff", lambda x, y: _sq(x - y) * y, lambda r: (normal(r, 3), normal(r, 3)), {}),
            ("reflected", lambda x: _sq(2.0 - x), lambda r: (normal(r, 3),), {})],
    "mul": [("cubic", lambda x, y: x * y * x, lambda r: (normal(r, 2, 2), normal(r, 2, 2)), {}),
            ("bcast_0d", lambda x, y: x * y * y, lambda r: (normal(r), normal(r, 3)), {})],
    "div": [("quotient", lambda x, y: x / y, lambda r: (normal(r, 3), positive(r, 3)), {}),
            ("reflected", lambda x: 2.0 / x, lambda r: (positive(r, 3),), {})],
    "pow": [("cube", lambda x: x ** 3.0, lambda r: (normal(r, 3),), {}),
            ("frac", lambda x: x ** 2.5, lambda r: (positive(r, 3),), {}),
            ("tensor_exp", lambda x, y: x ** y, lambda r: (positive(r, 3), normal(r, 3)), {}),
            ("reflected", lambda y: 2.0 ** y, lambda r: (normal(r, 3),), {})],
    "neg": [("neg", lambda x: -_sq(x) * x, lambda r: (normal(r, 3),), {})],
    "exp": [("exp", lambda x: ops.exp(x), lambda r: (normal(r, 2, 2),), {})],
    "log": [("log", lambda x: ops.log(x), lambda r: (positive(r, 3),), {})],
    "sqrt": [("sqrt", lambda x: ops.sqrt(x), lambda r: (positive(r, 3),), {})],
    "tanh": [("tanh", lambda x: ops.tanh(x), lambda r: (normal(r, 3),), {})],
    "sigmoid": [("sigmoid", lambda x: ops.sigmoid(x), lambda r: (normal(r, 3),), {})],
    "relu": [("x_relu_x", lambda x: ops.relu(x) * x, lambda r: (away_from_zero(r, 6),), {})],
    "clone": [("clone", lambda x: ops.clone(x) * x, lambda r: (normal(r, 3),), {})],
    "convert": [("f32_square", lambda x: ops.convert(_sq(ops.convert(x, dtype=float32)), dtype=float64),
                 lambda r: (grid(r, 4),), {"eps": 2.0 ** -10})],
    "where": [("branches", lambda x: ops.where(x > 0.0, _sq(x), x * x * x),
               lambda r: (away_from_zero(r, 6),), {}),
              ("literal_branch", lambda x: ops.where(x > 0.0, 0.0, _sq(x)),
               lambda r: (away_from_zero(r, 6),), {})],
    "matmul": [("bilinear", lambda a, b: ops.matmul(a, b), lambda r: (normal(r, 2, 3), normal(r, 3, 2)), {}),
               ("gram", lambda a: ops.matmul(a, ops.transpose(a, perm=(1, 0))),
                lambda r: (normal(r, 2, 3),), {}),
               # torch.matmul's rules: folded batch times vector, broadcast batch dims
               ("batched_vec", lambda a, b: ops.matmul(a, b), lambda r: (normal(r, 2, 3, 4), normal(r, 4)), {}),
               ("bcast", lambda a, b: ops.matmul(a, b), lambda r: (normal(r, 2, 1, 2, 3), normal(r, 3, 3, 2)), {})],
    "sum": [("dim_keep", lambda x: _sq(ops.reduce_sum(_sq(x), dims=(1,), keepdim=True)),
             lambda r: (normal(r, 2, 3),), {}),
            ("all", lambda x: _sq(ops.reduce_sum(x, dims=(0, 1), keepdim=False)),
             lambda r: (normal(r, 2, 3),), {})],
    "mean": [("dim", lambda x: _sq(ops.mean(x, dims=(0,), keepdim=False)), lambda r: (normal(r, 2, 3),), {}),
             ("keep", lambda x: _sq(ops.mean(x, dims=(1,), keepdim=True)) * x,
              lambda r: (normal(r, 2, 3),), {})],
    "norm": [("all", lambda x: ops.norm(x, dims=(0, 1), keepdim=False), lambda r: (normal(r, 2, 3),), {}),
             ("dim", lambda x: ops.norm(x, dims=(1,), keepdim=False), lambda r: (normal(r, 2, 3),), {}),
             ("keep", lambda x: ops.norm(x, dims=(0,), keepdim=True) * x, lambda r: (normal(r, 2, 3),), {}),
             ("p1", lambda x: _sq(ops.norm(x, dims=(1,), keepdim=False, ord=1.0)), lambda r: (away_from_zero(r, 2, 3),), {}),
             ("inf", lambda x: _sq(ops.norm(x, dims=(1,), keepdim=True, ord=float("inf"))) * x, lambda r: (normal(r, 2, 3),), {}),
             ("p3", lambda x: ops.norm(x, dims=(0, 1), keepdim=False, ord=3.0), lambda r: (away_from_zero(r, 2, 3),), {}),
             ("p1.5", lambda x: ops.norm(x, dims=(1,), keepdim=False, ord=1.5), lambda r: (away_from_zero(r, 2, 3),), {}),
             ("p0.5", lambda x: ops.norm(x, dims=(1,), keepdim=False, ord=0.5), lambda r: (positive(r, 2, 3),), {})],
    "reshape": [("reshape", lambda x: _sq(ops.reshape(x, shape=(3, 2))), lambda r: (normal(r, 2, 3),), {})],
    "transpose": [("permute", lambda x: _sq(ops.transpose(x, perm=(2, 0, 1))) * ops.transpose(x, perm=(2, 0, 1)),
                   lambda r: (normal(r, 2, 3, 2),), {})],
    "broadcast_to": [("expand", lambda x: _sq(ops.broadcast_to(x, shape=(2, 3, 4))),
                      lambda r: (normal(r, 3, 1),), {})],
    # ---- elementwise math, activations, binary elementwise ----
    "abs": [("x_abs_x", lambda x: ops.abs(x) * x, lambda r: (away_from_zero(r, 5),), {})],
    "sign": [("sign_sq", lambda x: ops.sign(x) * _sq(x), lambda r: (away_from_zero(r, 5),), {})],
    "floor": [("floor_sq", lambda x: ops.floor(x) * _sq(x), lambda r: (uniform(r, -3, 3, 5, away=range(-3, 4)),), {})],
    "ceil": [("ceil_sq", lambda x: ops.ceil(x) * _sq(x), lambda r: (uniform(r, -3, 3, 5, away=range(-3, 4)),), {})],
    "trunc": [("trunc_sq", lambda x: ops.trunc(x) * _sq(x), lambda r: (uniform(r, -3, 3, 5, away=range(-3, 4)),), {})],
    "round": [("round_sq", lambda x: ops.round(x) * _sq(x), lambda r: (uniform(r, -3, 3, 5, away=np.arange(-3.5, 4)),), {})],
    "sin": [("sin", lambda x: ops.sin(x), lambda r: (normal(r, 4),), {})],
    "cos": [("cos", lambda x: ops.cos(x), lambda r: (normal(r, 4),), {})],
    "tan": [("tan", lambda x: ops.tan(x), lambda r: (uniform(r, -1.2, 1.2, 4),), {})],
    "asin": [("asin", lambda x: ops.asin(x), lambda r: (uniform(r, -0.9, 0.9, 4),), {})],
    "acos": [("acos", lambda x: ops.acos(x), lambda r: (uniform(r, -0.9, 0.9, 4),), {})],
    "atan": [("atan", lambda x: ops.atan(x), lambda r: (normal(r, 4),), {})],
    "sinh": [("sinh", lambda x: ops.sinh(x), lambda r: (normal(r, 4),), {})],
    "cosh": [("cosh", lambda x: ops.cosh(x), lambda r: (normal(r, 4),), {})],
    "log2": [("log2", lambda x: ops.log2(x), lambda r: (positive(r, 4),), {})],
    "log10": [("log10", lambda x: ops.log10(x), lambda r: (positive(r, 4),), {})],
    "log1p": [("log1p", lambda x: ops.log1p(x), lambda r: (uniform(r, -0.5, 2, 4),), {})],
    "exp2": [("exp2", lambda x: ops.exp2(x), lambda r: (normal(r, 4),), {})],
    "expm1": [("expm1", lambda x: ops.expm1(x), lambda r: (normal(r, 4),), {})],
    "erf": [("erf", lambda x: ops.erf(x), lambda r: (normal(r, 4),), {})],
    "erfc": [("erfc", lambda x: ops.erfc(x), lambda r: (normal(r, 4),), {})],
    "rsqrt": [("rsqrt", lambda x: ops.rsqrt(x), lambda r: (positive(r, 4),), {})],
    "reciprocal": [("reciprocal", lambda x: ops.reciprocal(x), lambda r: (away_from_zero(r, 4),), {})],
    "nan_to_num": [("finite", lambda x: _sq(ops.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)),
                    lambda r: (normal(r, 4),), {})],
    "maximum": [("tensors", lambda x, y: ops.maximum(x, y) * x, lambda r: (normal(r, 2, 3), normal(r, 3)), {})],
    "minimum": [("tensors", lambda x, y: ops.minimum(x, y) * y, lambda r: (normal(r, 2, 3), normal(r, 3)), {})],
    "remainder": [("tensors", lambda x, y: ops.remainder(x, y) * x,
                   lambda r: (uniform(r, -5, 5, 4), uniform(r, 0.5, 2, 4)), {})],
    "fmod": [("tensors", lambda x, y: ops.fmod(x, y) * y, lambda r: (uniform(r, -5, 5, 4), uniform(r, -2, -0.5, 4)), {})],
    "atan2": [("tensors", lambda y, x: ops.atan2(y, x), lambda r: (normal(r, 4), normal(r, 4)), {})],
    "lerp": [("tensor_weight", lambda s, e, w: ops.lerp(s, e, w) * w, lambda r: (normal(r, 4), normal(r, 4), normal(r, 4)), {}),
             ("scalar_weight", lambda s, e: _sq(ops.lerp(s, e, 0.75)), lambda r: (normal(r, 4), normal(r, 4)), {})],
    "clamp": [("tensor_bounds", lambda x, lo, hi: ops.clamp(x, lo, hi) * (lo + hi),
               lambda r: (normal(r, 6), uniform(r, -1.5, -0.5, 6), uniform(r, 0.5, 1.5, 6)), {}),
              ("scalar_bounds", lambda x: _sq(ops.clamp(x, -0.5, 0.5)) * x,
               lambda r: (uniform(r, -2, 2, 6, away=[-0.5, 0.5]),), {})],
    "clamp_min": [("tensor_bound", lambda x, b: ops.clamp_min(x, b) * b, lambda r: (normal(r, 6), normal(r, 6)), {})],
    "clamp_max": [("scalar_bound", lambda x: _sq(ops.clamp_max(x, 0.5)) * x, lambda r: (uniform(r, -2, 2, 6, away=[0.5]),), {})],
    "leaky_relu": [("slope", lambda x: ops.leaky_relu(x, negative_slope=0.2) * x, lambda r: (away_from_zero(r, 6),), {})],
    "elu": [("alpha", lambda x: ops.elu(x, alpha=0.5, scale=1.5, input_scale=1.0), lambda r: (away_from_zero(r, 6),), {})],
    "gelu": [("erf", lambda x: ops.gelu(x, approximate="none"), lambda r: (normal(r, 4),), {}),
             ("tanh", lambda x: ops.gelu(x, approximate="tanh"), lambda r: (normal(r, 4),), {})],
    "silu": [("silu", lambda x: ops.silu(x), lambda r: (normal(r, 4),), {})],
    "mish": [("mish", lambda x: ops.mish(x), lambda r: (normal(r, 4),), {})],
    "softplus": [("beta", lambda x: ops.softplus(x, beta=2.0, threshold=20.0), lambda r: (normal(r, 4),), {}),
                 ("linear", lambda x: _sq(ops.softplus(x, beta=2.0, threshold=20.0)), lambda r: (uniform(r, 11, 13, 3),), {})],
    "hardtanh": [("bounds", lambda x: _sq(ops.hardtanh(x, min_val=-1.0, max_val=1.0)),
                  lambda r: (uniform(r, -2, 2, 6, away=[-1, 1]),), {})],
    "hardsigmoid": [("sq", lambda x: _sq(ops.hardsigmoid(x)), lambda r: (uniform(r, -5, 5, 6, away=[-3, 3]),), {})],
    "hardswish": [("hardswish", lambda x: ops.hardswish(x), lambda r: (uniform(r, -5, 5, 6, away=[-3, 3]),), {})],
    "logsigmoid": [("logsigmoid", lambda x: ops.logsigmoid(x), lambda r: (away_from_zero(r, 4),), {})],
    # ---- reductions, scans, softmax ----
    "prod": [("dim", lambda x: ops.prod(x, dims=(1,), keepdim=False), lambda r: (away_from_zero(r, 2, 3),), {}),
             ("all_keep", lambda x: ops.prod(x, dims=(0, 1), keepdim=True) * x, lambda r: (away_from_zero(r, 2, 2),), {})],
    "amax": [("dim", lambda x: _sq(ops.amax(x, dims=(1,), keepdim=False)), lambda r: (normal(r, 2, 3),), {}),
             ("keep", lambda x: ops.amax(x, dims=(0, 1), keepdim=True) * x, lambda r: (normal(r, 2, 3),), {})],
    "amin": [("dim", lambda x: _sq(ops.amin(x, dims=(0,), keepdim=False)), lambda r: (normal(r, 2, 3),), {})],
    "max": [("dim", lambda x: _sq(ops.max_dim(x, dims=(1,), keepdim=True)) * x, lambda r: (normal(r, 2, 3),), {})],
    "max_all": [("all", lambda x: _sq(ops.max_all(x, dims=(0, 1), keepdim=False)) * x, lambda r: (normal(r, 2, 3),), {})],
    "min_all": [("all", lambda x: _sq(ops.min_all(x, dims=(0,), keepdim=False)), lambda r: (normal(r, 4),), {})],
    "min": [("dim", lambda x: _sq(ops.min_dim(x, dims=(0,), keepdim=False)), lambda r: (normal(r, 3, 2),), {})],
    "var": [("dim", lambda x: ops.var(x, dims=(1,), correction=1, keepdim=False), lambda r: (normal(r, 2, 3),), {}),
            ("all", lambda x: _sq(ops.var(x, dims=(0, 1), correction=0, keepdim=True)) * x, lambda r: (normal(r, 2, 3),), {})],
    "std": [("dim", lambda x: ops.std(x, dims=(0,), correction=1, keepdim=False), lambda r: (normal(r, 3, 2),), {})],
    "logsumexp": [("dim", lambda x: ops.logsumexp(x, dims=(1,), keepdim=False), lambda r: (normal(r, 2, 3),), {}),
                  ("keep", lambda x: ops.logsumexp(x, dims=(0, 1), keepdim=True) * x, lambda r: (normal(r, 2, 3),), {})],
    "softmax": [("dim", lambda x: ops.softmax(x, dim=1) * x, lambda r: (normal(r, 2, 3),), {})],
    "log_softmax": [("dim", lambda x: _sq(ops.log_softmax(x, dim=0)), lambda r: (normal(r, 3, 2),), {})],
    "cumsum": [("dim", lambda x: _sq(ops.cumsum(x, dim=1)), lambda r: (normal(r, 2, 3),), {})],
    "cumprod": [("dim", lambda x: ops.cumprod(x, dim=1) * x, lambda r: (away_from_zero(r, 2, 4),), {})],
    # ---- linear algebra ----
    "bmm": [("batched", lambda a, b: ops.bmm(a, b), lambda r: (normal(r, 2, 2, 3), normal(r, 2, 3, 2)), {}),
            ("gram", lambda a: ops.bmm(a, ops.transpose(a, perm=(1, 0))), lambda r: (normal(r, 2, 3),), {})],
    # ---- shape and indexing ----
    "slice": [("step", lambda x: _sq(ops.slice_(x, dim=1, start=1, stop=5, step=2)), lambda r: (normal(r, 2, 5),), {})],
    "select": [("row", lambda x: _sq(ops.select(x, dim=0, index=1)) * ops.select(x, dim=0, index=0),
                lambda r: (normal(r, 2, 3),), {})],
    "diagonal": [("offset", lambda x: _sq(ops.diagonal(x, offset=1, dim1=1, dim2=0)), lambda r: (normal(r, 3, 4),), {})],
    "flip": [("dims", lambda x: ops.flip(x, dims=(0, 1)) * x, lambda r: (normal(r, 2, 3),), {})],
    "constant_pad": [("pad_crop", lambda x: _sq(ops.constant_pad(x, pads=((1, -1), (0, 2)), value=0.5)),
                      lambda r: (normal(r, 2, 3),), {})],
    "cat": [("two", lambda x, y: _sq(ops.cat(x, y * x, dim=1)), lambda r: (normal(r, 2, 3), normal(r, 2, 3)), {})],
    "split": [("sizes", lambda x: _split_product(x), lambda r: (normal(r, 3, 2),), {})],
    "stack": [("two", lambda x: _sq(ops.stack(x, x * x, dim=1)), lambda r: (normal(r, 2, 3),), {})],
    "roll": [("shift", lambda x: ops.roll(x, shifts=(1, -1), dims=(0, 1)) * x, lambda r: (normal(r, 2, 3),), {})],
    "repeat": [("rows", lambda x: _sq(ops.repeat(x, repeats=(2, 1, 2))), lambda r: (normal(r, 2, 3),), {})],
    "reflect_pad": [("1d", lambda x: _sq(ops.reflect_pad(x, pads=((1, (2, 1)),))), lambda r: (normal(r, 2, 4),), {})],
    "replicate_pad": [("1d", lambda x: _sq(ops.replicate_pad(x, pads=((1, (1, 2)),))), lambda r: (normal(r, 2, 4),), {})],
    "tril": [("lower", lambda x: ops.tril(x, diagonal=0) * x, lambda r: (normal(r, 3, 3),), {})],
    "triu": [("upper", lambda x: ops.triu(x, diagonal=1) * x, lambda r: (normal(r, 3, 4),), {})],
    "gather": [("rotate", lambda x: ops.gather(x, _rotation(x), dims=(1,), wrap=False, error="gather") * x,
                lambda r: (normal(r, 2, 3),), {})],
    "scatter": [("overwrite", lambda x, y: _sq(ops.scatter(x, _rotation(y), y * y, dims=(1,), accumulate=False,
                                                           wrap=False, error="scatter")),
                 lambda r: (normal(r, 2, 3), normal(r, 2, 3)), {}),
                ("add_repeated", lambda x, y: _sq(ops.scatter(x, _repeated(y), y * x, dims=(1,), accumulate=True,
                                                              wrap=False, error="scatter")),
                 lambda r: (normal(r, 2, 3), normal(r, 2, 3)), {})],
    "index_select": [("repeated", lambda x: _sq(ops.index_select(x, _repeated(ops.select(x, dim=1, index=0)), dim=0)),
                      lambda r: (normal(r, 3, 2),), {})],
    "index": [("repeated", lambda x: _sq(ops.index(x, _repeated(ops.select(x, dim=0, index=0)), dims=(1,))),
               lambda r: (normal(r, 2, 3),), {})],
    "masked_fill": [("positive", lambda x: ops.masked_fill(x > 0.0, x, 0.5) * x, lambda r: (away_from_zero(r, 2, 3),), {})],
}


def _rotation(x):
    """int64 indices shifting x's last dim by one (a permutation, built in the IR)."""
    i = ops.iota(x, dim=x.ndim - 1)
    return ops.where(i == 0, x.shape[-1] - 1, i - 1)


def _repeated(x):
    """int64 indices along x's last dim with repeats: 0, 1, ..., n-2, 0."""
    i = ops.iota(x, dim=x.ndim - 1)
    return ops.where(i == x.shape[-1] - 1, 0, i)


def _split_product(x):
    a, b = ops.split(x, dim=0, sizes=(1, 2), with_sizes=True)
    return _sq(a) * b

SECOND_ORDER_CASES = [pytest.param(op, fn, make, kw, id=f"{op}-{cid}")
                      for op, cases in SECOND_ORDER.items() for cid, fn, make, kw in cases]


def test_second_order_table_covers_registry(registry_ops):
    assert set(SECOND_ORDER) == registry_ops
    assert all(SECOND_ORDER[name] for name in registry_ops)


@pytest.mark.parametrize("op_name, fn, make, kwargs", SECOND_ORDER_CASES)
def test_second_order(op_name, fn, make, kwargs, request):
    inputs = make(_rng("2-" + request.node.callspec.id))
    fwd = build_function(fn, *[np.shape(x) for x in inputs])
    assert op_name in {e.op.name for e in fwd.eqns}
    second_order_check(fn, *inputs, **kwargs)


def test_second_order_known_values():
    """d2/dx2 of sum(x**3) is 6x; of sum(exp(x)) is exp(x): exact-formula check of the machinery."""
    x = np.array([0.5, -1.0, 2.0])
    _, (hvp,) = second_order_check(lambda s: ops.reduce_sum(s ** 3.0, dims=(0,), keepdim=False), x)
    # c is a random scalar and u random: hvp = c * 6x * u; recompute c, u from the same seed
    r = np.random.default_rng(0)
    c = r.standard_normal(())
    u = r.standard_normal((3,))
    np.testing.assert_allclose(hvp, c * 6.0 * x * u, rtol=1e-12)


# ---- the checkers themselves can fail ----------------------------------------------------------

def test_gradcheck_detects_a_wrong_gradient():
    # backward sees d/dx (x * const) = const, the true derivative of x * x is 2x
    with pytest.raises(AssertionError, match="gradient of input 0"):
        gradcheck(lambda a: a * a.detach(), np.array([0.5, -1.5]))


def test_gradcheck_detects_a_missing_gradient():
    with pytest.raises(AssertionError, match="no gradient accumulated"):
        gradcheck(lambda a, b: a * 2.0, np.array([0.5]), np.array([1.0]))


def test_second_order_check_detects_a_non_differentiable_vjp_rule(monkeypatch):
    # right first derivative, but the rule hides its dependence on x from the second pass
    monkeypatch.setattr(OPS["sigmoid"], "vjp",
                        lambda ct, out, x: ct * ops.stop_gradient(out * (1.0 - out)))
    gradcheck(lambda a: a.sigmoid(), np.array([0.3, -0.2]))
    with pytest.raises(AssertionError, match="second-order gradient of input 0"):
        second_order_check(lambda s: ops.sigmoid(s), np.array([0.3, -0.2]))
