"""Random programs over the public Tensor API: compiled (LLVM) values and gradients equal eager.

Programs are drawn step by step and checked eagerly as they are built (steps that are invalid
for the shapes and dtypes at hand are dropped), so every example is a valid program.
"""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracegrad as tg

DTYPES = {"f32": np.float32, "f64": np.float64, "i64": np.int64, "bool": np.bool_}
SHAPES = [(), (1,), (3,), (2, 3), (1, 3), (2, 1), (3, 1), (2, 1, 3), (4, 4), (0,), (2, 0)]
UNARY = ["neg", "exp", "log", "tanh", "sigmoid", "relu", "sqrt", "clone", "detach", "double",
         "float"]
BINARY = ["add", "sub", "mul", "div", "pow", "lt", "ge", "eq", "ne"]
SCALARS = [2, 0, -1, 0.5, -1.5, 2.0, True, 1e-3, 0.0, -0.0]
# ---- reductions, scans, softmax: (dim=tuple|None, keepdim) reductions and single-dim ops ----
REDUCE = ["sum", "mean", "norm", "amax", "amin", "logsumexp", "var", "std", "any", "all"]
ALONG = ["softmax", "log_softmax", "cumsum", "cumprod", "prod", "argmax", "argmin", "max", "min"]


def run_step(step, env):
    kind, *args = step
    if kind == "unary":
        name, i = args
        return getattr(env[i], name)()
    if kind == "binary":
        name, i, (what, other), reflected = args
        y = other if what == "scalar" else env[other]
        a, b = (y, env[i]) if reflected else (env[i], y)
        return getattr(tg, name)(a, b)
    if kind == "where":
        c, i, j = args
        return tg.where(env[c] > 0, env[i], env[j])
    if kind == "reduce":
        name, i, dim, keepdim = args
        return getattr(env[i], name)(dim=dim, keepdim=keepdim)
    if kind == "along":   # max/min along a dim: the values
        name, i, dim = args
        out = getattr(env[i], name)(dim)
        return out[0] if isinstance(out, tuple) else out
    if kind == "layout":
        name, i, arg = args
        return getattr(env[i], name)(*arg)
    if kind == "shape":
        name, i, arg = args
        return run_shape_step(name, env[i], arg)
    if kind == "cat":   # ---- shape and indexing ----
        i, j, dim = args
        return tg.cat([env[i], env[j]], dim)
    i, j = args
    return env[i] @ env[i].T if j is None else env[i] @ env[j]


# ---- shape and indexing: (method name, arguments) drawn for a tensor of the given shape -------
def shape_step(draw, x):
    n = max(x.ndim, 1)
    dim = draw(st.integers(-n, n - 1))
    size = x.shape[dim] if x.ndim else 1
    name = draw(st.sampled_from(["flip", "roll", "tril", "diagonal", "repeat", "squeeze",
                                 "unsqueeze", "flatten", "__getitem__", "__getitem__", "pad",
                                 "index_select", "gather"]))
    if name in ("flip", "squeeze", "unsqueeze", "flatten"):
        return name, (dim,)
    if name == "roll":
        return name, (draw(st.integers(-3, 3)), draw(st.sampled_from([dim, None])))
    if name in ("tril", "diagonal"):
        return name, (draw(st.integers(-2, 2)),)
    if name == "repeat":
        return name, tuple(draw(st.integers(1, 2)) for _ in range(x.ndim + draw(st.integers(0, 1))))
    if name == "pad":
        return name, (tuple(draw(st.integers(-1, 2)) for _ in range(2)),)
    index = draw(st.lists(st.integers(-size, max(size - 1, -size)), max_size=3))
    if name == "index_select":
        return name, (dim, [i % size for i in index] if size else [])
    if name == "gather":
        return name, (dim, [i % size for i in index] if size else [])
    which = draw(st.integers(0, 4))
    if which == 0:
        key = draw(st.integers(-size, max(size - 1, -size)))
    elif which == 1:
        key = slice(draw(st.integers(-3, 3)), None, draw(st.integers(1, 2)))
    else:
        key = [(Ellipsis, None), index, (slice(None), index)][which - 2]
    return name, (key,)


def run_shape_step(name, x, arg):
    if name == "pad":
        return tg.nn.functional.pad(x, arg[0])
    if name in ("index_select", "gather"):
        dim, index = arg
        index = tg.tensor(index, dtype=tg.int64)
        if name == "index_select":
            return x.index_select(dim, index)
        shape = list(x.shape)
        shape[dim] = len(index)
        view = [1] * x.ndim
        view[dim] = len(index)
        return x.gather(dim, index.reshape(view).expand(*shape))
    return getattr(x, name)(*arg)


@st.composite
def programs(draw):
    inputs = []
    for _ in range(draw(st.integers(1, 3))):
        dtype = draw(st.sampled_from(["f32", "f32", "f64", "i64", "bool"]))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        shape = draw(st.sampled_from(SHAPES))
        data = (rng.random(shape) < 0.5 if dtype == "bool" else rng.integers(-3, 4, shape)
                if dtype == "i64" else rng.standard_normal(shape))
        inputs.append((np.asarray(data, DTYPES[dtype]),
                       dtype in ("f32", "f64") and draw(st.booleans())))
    env = [tg.tensor(a) for a, _ in inputs]
    steps = []
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(env) - 1))
        kind = draw(st.sampled_from(["unary", "binary", "binary", "where", "reduce", "reduce",
                                     "layout", "matmul", "along", "shape", "shape", "cat"]))
        x = env[i]
        if kind == "unary":
            step = ("unary", draw(st.sampled_from(UNARY)), i)
        elif kind == "binary":
            if draw(st.booleans()):
                other = ("scalar", draw(st.sampled_from(SCALARS)))
            else:
                other = ("tensor", draw(st.integers(0, len(env) - 1)))
            step = ("binary", draw(st.sampled_from(BINARY)), i, other, draw(st.booleans()))
        elif kind == "where":
            step = ("where", i, draw(st.integers(0, len(env) - 1)),
                    draw(st.integers(0, len(env) - 1)))
        elif kind == "reduce":
            dims = draw(st.lists(st.integers(0, max(x.ndim - 1, 0)), max_size=max(x.ndim, 1),
                                 unique=True)) if x.ndim else []
            step = ("reduce", draw(st.sampled_from(REDUCE)), i, tuple(dims) or None,
                    draw(st.booleans()))
        elif kind == "along":
            n = max(x.ndim, 1)
            step = ("along", draw(st.sampled_from(ALONG)), i, draw(st.integers(-n, n - 1)))
        elif kind == "layout":
            name = draw(st.sampled_from(["reshape", "transpose", "permute", "expand"]))
            if name == "reshape":
                arg = draw(st.sampled_from([(-1,), (1, -1), (-1, 1)]))
            elif name == "transpose":
                arg = (0, -1) if x.ndim else (0, 0)
            elif name == "permute":
                arg = tuple(draw(st.permutations(range(x.ndim))))
            else:
                arg = (2,) + tuple(x.shape)
            step = ("layout", name, i, arg)
        elif kind == "shape":
            name, arg = shape_step(draw, x)
            step = ("shape", name, i, arg)
        elif kind == "cat":
            step = ("cat", i, draw(st.integers(0, len(env) - 1)),
                    draw(st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1)))
        else:  # x @ x.T is always well-shaped for a matrix; x @ y only sometimes
            matrices = [k for k, t in enumerate(env) if t.ndim == 2 and t.dtype is not tg.bool]
            if not matrices:
                continue
            step = ("matmul", draw(st.sampled_from(matrices)),
                    draw(st.sampled_from([None, draw(st.integers(0, len(env) - 1))])))
        try:
            value = run_step(step, env)
        except (RuntimeError, TypeError, IndexError, NotImplementedError):
            continue  # not valid for these shapes/dtypes: tracegrad refused it, as it should
        steps.append(step)
        env.append(value)
    outs = sorted(set(draw(st.lists(st.integers(len(inputs), len(env) - 1), min_size=1,
                                    max_size=3)))) if len(env) > len(inputs) else [0]
    return inputs, steps, outs


def program_fn(steps, outs):
    def fn(*xs):
        env = list(xs)
        for step in steps:
            env.append(run_step(step, env))
        return tuple(env[k] for k in outs)
    return fn


def values_and_grads(fn, inputs):
    args = [tg.tensor(a.copy(), requires_grad=rg) for a, rg in inputs]
    outs = fn(*args)
    loss = None
    for k, o in enumerate(outs):
        if o.requires_grad:
            term = (o * (k + 1.5)).sum()
            loss = term if loss is None else loss + term
    if loss is not None:
        loss.backward()
    return ([o.detach().numpy() for o in outs],
            [a.grad.numpy() if a.grad is not None else None for a in args])


def assert_same(got, want, single: bool = False):
    """Equal values; `single`: float32 data took part, so float64 results may carry float32
    rounding (compiled and numpy transcendental functions may differ in the last bit)."""
    assert got.dtype == want.dtype and got.shape == want.shape
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want)
        return
    tol = 2e-5 if want.dtype == np.float32 or single else 1e-12
    scale = max(1.0, float(np.abs(want[np.isfinite(want)]).max(initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale, equal_nan=True)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_compiled_random_programs_match_eager(program):
    inputs, steps, outs = program
    fn = program_fn(steps, outs)
    with np.errstate(all="ignore"):
        want_values, want_grads = values_and_grads(fn, inputs)
        compiled = tg.compile(fn)
        got_values, got_grads = values_and_grads(compiled, inputs)
        again, _ = values_and_grads(compiled, inputs)    # the cached specialization
    assert compiled.trace_count == 1
    single = any(a.dtype == np.float32 for a, _ in inputs)
    for got, second, want in zip(got_values, again, want_values):
        assert_same(got, want, single)
        assert_same(second, want, single)
    for got, want in zip(got_grads, want_grads):
        assert (got is None) == (want is None)
        if want is not None:
            assert_same(got, want, single)
