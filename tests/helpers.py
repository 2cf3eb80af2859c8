"""Shared test helpers: float64 finite-difference gradient checks (first and second order).

`gradcheck` checks eager `backward()` against central differences; `second_order_check`
differentiates the adjoint IR built by `tracegrad.ir.vjp` a second time and checks it against
central differences of the first gradient, both evaluated with `tracegrad.ir.evaluate`.
"""
from __future__ import annotations

import numpy as np

import tracegrad
from tracegrad.ir import Builder, Eqn, Function, TensorType, Var, evaluate, float64, vjp

EPS = 1e-6    # torch.autograd.gradcheck's defaults
ATOL = 1e-5
RTOL = 1e-3


def as_array(value) -> np.ndarray:
    """The numpy value of a Tensor (detached) or of anything np.asarray accepts."""
    if isinstance(value, tracegrad.Tensor):
        return value.detach().numpy()
    return np.asarray(value)


def _leaf(value, requires_grad: bool):
    if isinstance(value, tracegrad.Tensor):
        value = value.detach().numpy()
    arr = np.array(value, copy=True)
    t = tracegrad.tensor(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def central_difference(value, arrays, i: int, eps: float) -> np.ndarray:
    """d value(arrays) / d arrays[i], one element at a time, by central differences."""
    numeric = np.zeros(arrays[i].shape)
    flat = numeric.reshape(-1)
    for j in range(arrays[i].size):
        plus, minus = [x.copy() for x in arrays], [x.copy() for x in arrays]
        plus[i].reshape(-1)[j] += eps
        minus[i].reshape(-1)[j] -= eps
        flat[j] = (value(plus) - value(minus)) / (2 * eps)
    return numeric


def gradcheck(fn, *inputs, eps: float = EPS, atol: float = ATOL, rtol: float = RTOL,
              seed: int = 0):
    """Check the gradients `backward()` gives for `fn(*inputs)` against central differences.

    Every float64 input becomes a leaf that requires grad; other inputs (bool masks, integer
    tensors) are passed as constants. A non-scalar output is reduced with a random float64
    `gradient` (the vector of the vector-Jacobian product). Float32 inputs are refused: the
    check is only meaningful in float64. Returns the analytic gradients (numpy arrays).
    """
    arrays = [as_array(v) for v in inputs]
    for a in arrays:
        if a.dtype == np.float32:
            raise TypeError("gradcheck: pass float64 inputs")
    wants = [a.dtype == np.float64 for a in arrays]
    if not any(wants):
        raise TypeError("gradcheck: no float64 input to differentiate")

    leaves = [_leaf(a, w) for a, w in zip(arrays, wants)]
    out = fn(*leaves)
    assert isinstance(out, tracegrad.Tensor), f"fn returned {type(out).__name__}"
    assert out.requires_grad, "output does not require grad"
    out_np = out.detach().numpy()
    rng = np.random.default_rng(seed)
    if out.numel() == 1:
        v = np.ones(out_np.shape)
        out.backward()
    else:
        v = rng.standard_normal(out_np.shape)
        out.backward(tracegrad.tensor(v.astype(out_np.dtype)))
    v = v.astype(np.float64)

    def scalar(vals) -> float:
        with tracegrad.no_grad():
            o = fn(*[_leaf(a, False) for a in vals])
        return float(np.sum(v * o.numpy().astype(np.float64)))

    analytic = []
    for i, (a, leaf) in enumerate(zip(arrays, leaves)):
        if not wants[i]:
            continue
        g = leaf.grad
        assert g is not None, f"input {i}: no gradient accumulated"
        assert g.dtype is tracegrad.float64, f"input {i}: grad dtype {g.dtype}"
        assert tuple(g.shape) == a.shape, f"input {i}: grad shape {tuple(g.shape)} != {a.shape}"
        got = g.numpy()
        numeric = central_difference(scalar, arrays, i, eps)
        np.testing.assert_allclose(got, numeric, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i} (shape {a.shape})")
        analytic.append(got)
    return analytic


# ---- second order through the IR --------------------------------------------------------------

def build_function(fn, *shapes, name: str = "f") -> Function:
    """An IR function of float64 parameters with the given shapes: `fn(*syms)` builds its body
    (with `tracegrad.ir.ops` functions and Python operators)."""
    b = Builder(name)
    params = [b.param(TensorType(tuple(s), float64), f"x{i}") for i, s in enumerate(shapes)]
    out = fn(*params)
    return b.build([out])


def gradient_function(fwd: Function) -> Function:
    """(x..., ct) -> d<ct, fwd(x...)>/dx for every parameter, as one IR function.

    The adjoint's residual parameters are replaced by the forward values they stand for, so the
    result depends only on the forward inputs and the cotangent and can be differentiated again.
    """
    adj = vjp(fwd, range(len(fwd.params)))
    n_res = adj.n_residuals
    subst = {id(p): r for p, r in zip(adj.fn.params[:n_res], adj.residuals)}

    def look(a):
        return subst.get(id(a), a) if isinstance(a, Var) else a

    eqns = list(fwd.eqns) + [Eqn(e.op, [look(a) for a in e.inputs], e.outputs, e.attrs)
                             for e in adj.fn.eqns]
    results = [look(r) for r in adj.fn.results]
    assert adj.wrt == list(range(len(fwd.params))), f"no gradient for some inputs: {adj.wrt}"
    fn = Function(f"{fwd.name}_grad", list(fwd.params) + adj.fn.params[n_res:], eqns, results)
    fn.verify()
    return fn


def eval_with_vjp(fn: Function, args, cts, wrt):
    """Evaluate `fn` and the vector-Jacobian product of `cts` with respect to params `wrt`."""
    adj = vjp(fn, wrt)
    residual_fn = Function("residuals", fn.params, fn.eqns, list(adj.residuals))
    residuals = evaluate(residual_fn, args) if adj.residuals else []
    grads = evaluate(adj.fn, list(residuals) + list(cts))
    out = dict(zip(adj.wrt, grads))
    return [out.get(i) for i in wrt]


def second_order_check(fn, *xs, eps: float = EPS, atol: float = ATOL, rtol: float = RTOL,
                       seed: int = 0):
    """Differentiate the adjoint of `fn` again and compare with central differences.

    With g(x, c) = d<c, f(x)>/dx (the adjoint IR), checks d<u, g(x, c)>/dx for random c, u
    against (g(x + eps e_j, c) - g(x - eps e_j, c)) / (2 eps) dotted with u.
    """
    xs = [np.asarray(x, dtype=np.float64) for x in xs]
    fwd = build_function(fn, *[x.shape for x in xs])
    fwd.verify()
    gfn = gradient_function(fwd)
    rng = np.random.default_rng(seed)
    out_shape = fwd.results[0].shape
    c = rng.standard_normal(out_shape)
    us = [rng.standard_normal(x.shape) for x in xs]
    n = len(xs)

    # first order: g(x, c) itself against finite differences of <c, f(x)>
    first = evaluate(gfn, xs + [c])
    for i in range(n):
        numeric = central_difference(lambda v: np.sum(c * evaluate(fwd, v)[0]), xs, i, eps)
        np.testing.assert_allclose(first[i], numeric, rtol=rtol, atol=atol,
                                   err_msg=f"first-order gradient of input {i}")

    # second order: vjp of the gradient function with cotangents u
    second = eval_with_vjp(gfn, xs + [c], us, list(range(n)))
    for i, x in enumerate(xs):
        numeric = central_difference(
            lambda v: sum(np.sum(u * g) for u, g in zip(us, evaluate(gfn, v + [c]))), xs, i, eps)
        got = np.zeros(x.shape) if second[i] is None else second[i]
        np.testing.assert_allclose(got, numeric, rtol=rtol, atol=atol,
                                   err_msg=f"second-order gradient of input {i}")
    return first, second
