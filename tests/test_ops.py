"""Every user-facing op of the table in `tests/opinfos/`, checked five ways per sample:
eager values against the numpy reference, float64 central-difference gradients, compiled
(LLVM) values and gradients against eager, PyTorch as an oracle (values, dtypes, gradients,
grad_fn names; where torch is installed), and bad inputs raising the expected errors."""
from __future__ import annotations

import numpy as np
import pytest

import tracegrad as tg
from tracegrad.ir import OPS
from helpers import gradcheck
from opinfo import collect, covered_primitives, prepare

TABLE = collect()


def _floating(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _id(info, i, s) -> str:
    return f"{info.name}-{i}" + (f"-{s.label}" if s.label else "")


def _params(select):
    return [pytest.param(info, s, id=_id(info, i, s))
            for info in TABLE for i, s in enumerate(info.samples) if select(info, s)]


ALL = _params(lambda info, s: True)
WITH_REF = _params(lambda info, s: info.ref is not None)
GRAD = _params(lambda info, s: info.differentiable and any(map(_floating, s.args)))
COMPILED = _params(lambda info, s: info.compiled)
ORACLE = _params(lambda info, s: info.oracle)
ERRORS = [pytest.param(info, e, id=f"{info.name}-err{i}")
          for info in TABLE for i, e in enumerate(info.errors)]


def _outs(result) -> list:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _numpy(t) -> np.ndarray:
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def _weights(outs):
    """Fixed float64 cotangent weights per floating output (seeded by shape)."""
    rng = np.random.default_rng(7)
    return [rng.standard_normal(tuple(o.shape)) for o in outs]


def _scalar_loss(m, outs, floating=False):
    """sum_i <w_i, out_i> over the outputs that require grad (or, with `floating`, over every
    floating output), or None when there is none."""
    loss = None
    for o, w in zip(outs, _weights(outs)):
        if getattr(o, "requires_grad", False) or floating and o.dtype.is_floating_point:
            term = (o * m.tensor(w.astype(_numpy(o).dtype))).sum()
            loss = term if loss is None else loss + term
    return loss


def _assert_close(got, want, info, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    if got.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want, err_msg=what)
    elif got.dtype == np.float64:
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9, err_msg=what)
    else:
        np.testing.assert_allclose(got, want, rtol=info.rtol, atol=info.atol, err_msg=what)


def _assert_same_results(info, outs, grads, want_outs, want_grads):
    """Outputs and gradients equal to tolerance; a gradient is missing on both sides or none."""
    assert len(outs) == len(want_outs) and len(grads) == len(want_grads)
    for k, (a, b) in enumerate(zip(outs, want_outs)):
        _assert_close(a, b, info, f"output {k}")
    for k, (a, b) in enumerate(zip(grads, want_grads)):
        assert (a is None) == (b is None), f"grad {k}: {a} vs {b}"
        if a is not None:
            _assert_close(a, b, info, f"grad {k}")


@pytest.mark.parametrize("info, sample", WITH_REF)
def test_eager_matches_reference(info, sample):
    _, args = prepare(tg, sample, grad=False)
    outs = _outs(info.fn(tg, *args, **sample.kwargs))
    ref_args = [a.astype(np.float64) if _floating(a) else a for a in sample.args]
    refs = _outs(info.ref(*ref_args, **sample.kwargs))
    assert len(outs) == len(refs)
    for k, (o, r) in enumerate(zip(outs, refs)):
        _assert_close(_numpy(o), r, info, f"output {k}")


@pytest.mark.parametrize("info, sample", GRAD)
def test_gradients_match_finite_differences(info, sample):
    positions = [i for i, a in enumerate(sample.args) if isinstance(a, np.ndarray)]
    arrays = [sample.args[i].astype(np.float64) if _floating(sample.args[i]) else sample.args[i]
              for i in positions]
    transposed = [sample.noncontiguous and a.ndim >= 2 for a in arrays]
    stored = [np.ascontiguousarray(a.swapaxes(0, -1)) if t else a
              for a, t in zip(arrays, transposed)]

    def fn(*leaves):
        args = list(sample.args)
        for i, leaf, t in zip(positions, leaves, transposed):
            args[i] = leaf.transpose(0, -1) if t else leaf
        outs = _outs(info.fn(tg, *args, **sample.kwargs))
        return _scalar_loss(tg, outs, floating=True)

    gradcheck(fn, *stored)


@pytest.mark.parametrize("info, sample", COMPILED)
def test_compiled_matches_eager(info, sample):
    def run(compiled):
        leaves, args = prepare(tg, sample, grad=info.differentiable)
        call = (lambda *a: info.fn(tg, *a, **sample.kwargs))
        f = tg.compile(call) if compiled else call
        outs = _outs(f(*args))
        loss = _scalar_loss(tg, outs)
        if loss is not None:
            loss.backward()
        return [_numpy(o) for o in outs], [None if l.grad is None else l.grad.numpy()
                                           for l in leaves]

    outs, grads = run(True)
    eager_outs, eager_grads = run(False)
    for k, (a, b) in enumerate(zip(outs, eager_outs)):
        assert a.dtype == b.dtype, f"output {k}: dtype {a.dtype} != {b.dtype}"
    _assert_same_results(info, outs, grads, eager_outs, eager_grads)


@pytest.mark.parametrize("info, sample", ORACLE)
def test_matches_torch(info, sample):
    torch = pytest.importorskip("torch")
    results = []
    for m in (tg, torch):
        leaves, args = prepare(m, sample, grad=info.differentiable)
        outs = _outs(info.fn(m, *args, **sample.kwargs))
        loss = _scalar_loss(m, outs)
        if loss is not None:
            loss.backward()
        names = [type(o.grad_fn).__name__ if getattr(o, "grad_fn", None) is not None else None
                 for o in outs]
        dtypes = [str(o.dtype).split(".")[-1] if hasattr(o, "dtype") else type(o).__name__
                  for o in outs]
        grads = [None if l.grad is None else l.grad.numpy() for l in leaves]
        results.append(([_numpy(o) for o in outs], dtypes, names, grads))
    (outs, dtypes, names, grads), (t_outs, t_dtypes, t_names, t_grads) = results
    assert dtypes == t_dtypes
    assert names == t_names
    if info.grad_fn is not None:
        assert names[0] == info.grad_fn
    _assert_same_results(info, outs, grads, t_outs, t_grads)


@pytest.mark.parametrize("info, err", ERRORS)
def test_bad_input_raises(info, err):
    _, args = prepare(tg, err)
    with pytest.raises(err.error, match=err.match):
        info.fn(tg, *args, **err.kwargs)


@pytest.mark.parametrize("info, err", [p for p in ERRORS if p.values[0].oracle])
def test_bad_input_raises_as_torch_does(info, err):
    torch = pytest.importorskip("torch")
    _, args = prepare(torch, err)
    with pytest.raises(err.error):
        info.fn(torch, *args, **err.kwargs)


def test_table_entries_are_well_formed():
    for info in TABLE:
        assert info.samples, f"{info.name}: no samples"
        assert info.ref is not None or info.ref_reason, f"{info.name}: no reference"
        assert info.oracle or info.oracle_reason, f"{info.name}: no oracle comparison"
        assert info.compiled or info.compiled_reason, f"{info.name}: not compiled, no reason"


# Primitives users never reach directly: they appear in adjoints and decompositions, and are
# covered there (tests/test_compile.py, tests/test_gradcheck.py).
INTERNAL = {"full", "zeros_like", "stop_gradient"}
INTERNAL |= {"iota"}   # reductions: only in the adjoints of max/min along a dim


def test_table_reaches_every_primitive():
    """Tracing every sample records every user-reachable primitive of the op registry."""
    used = covered_primitives()
    missing = sorted(n for n, op in OPS.items()
                     if op.kind != "opaque" and n not in used and n not in INTERNAL)
    assert missing == []
