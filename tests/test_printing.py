"""Tests for tracegrad.printing: exact PyTorch 2.13 tensor reprs.

The hard-coded expectations were produced once by torch; the oracle tests compare
against the installed torch directly and are skipped when torch is absent.
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracegrad.printing import set_printoptions, tensor_repr

F32, F64, I64 = np.float32, np.float64, np.int64
NAN, INF = float("nan"), float("inf")


@pytest.fixture(autouse=True)
def _default_printoptions():
    set_printoptions(precision=4, threshold=1000, edgeitems=3, linewidth=80, sci_mode=None)
    yield
    set_printoptions(precision=4, threshold=1000, edgeitems=3, linewidth=80, sci_mode=None)


CASES = [
    (np.ones((2, 2), F32), ["requires_grad=True"],
     "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"),
    (np.array(27.0, F32), ["grad_fn=<MeanBackward0>"], "tensor(27., grad_fn=<MeanBackward0>)"),
    (np.full((2, 2), 4.5, F32), [], "tensor([[4.5000, 4.5000],\n        [4.5000, 4.5000]])"),
    (np.array([102.4, 1024.0, 0.1024], F32), [],
     "tensor([1.0240e+02, 1.0240e+03, 1.0240e-01])"),
    (np.array([True, True, True]), [], "tensor([True, True, True])"),
    (np.array([True, False]), [], "tensor([ True, False])"),
    (np.array([0.0254, -0.2455, 1.1570], F32), [], "tensor([ 0.0254, -0.2455,  1.1570])"),
    (np.array([26.0017, -251.4094, 1184.7880], F32), ["grad_fn=<MulBackward0>"],
     "tensor([  26.0017, -251.4094, 1184.7880], grad_fn=<MulBackward0>)"),
    (np.array([0.5, 1.0, 200.0], F32), [], "tensor([  0.5000,   1.0000, 200.0000])"),
    (np.array([0.1], F32), [], "tensor([0.1000])"),
    # float64
    (np.array([1.5, -2.25, 3.0], F64), [], "tensor([ 1.5000, -2.2500,  3.0000], dtype=torch.float64)"),
    (np.array([[1.0, 2.0], [3.0, 4.0]], F64), [],
     "tensor([[1., 2.],\n        [3., 4.]], dtype=torch.float64)"),
    (np.array([1.5, 2.5], F64), ["requires_grad=True"],
     "tensor([1.5000, 2.5000], dtype=torch.float64, requires_grad=True)"),
    (np.array(3.25, F64), [], "tensor(3.2500, dtype=torch.float64)"),
    # int64
    (np.array([[1, -20, 300], [4, 5, 6]], I64), [], "tensor([[  1, -20, 300],\n        [  4,   5,   6]])"),
    (np.array(-7, I64), [], "tensor(-7)"),
    # empty tensors
    (np.zeros((0, 3), F32), [], "tensor([], size=(0, 3))"),
    (np.zeros((0,), F32), [], "tensor([])"),
    (np.zeros((2, 0), I64), [], "tensor([], size=(2, 0), dtype=torch.int64)"),
    (np.zeros((0,), np.bool_), [], "tensor([], dtype=torch.bool)"),
    # summarisation
    (np.arange(2000, dtype=F32), [],
     "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
     "        1.9990e+03])"),
    (np.arange(1500, dtype=I64).reshape(30, 50) * 1000003, [],
     "tensor([[         0,    1000003,    2000006,  ...,   47000141,   48000144,\n"
     "           49000147],\n"
     "        [  50000150,   51000153,   52000156,  ...,   97000291,   98000294,\n"
     "           99000297],\n"
     "        [ 100000300,  101000303,  102000306,  ...,  147000441,  148000444,\n"
     "          149000447],\n"
     "        ...,\n"
     "        [1350004050, 1351004053, 1352004056,  ..., 1397004191, 1398004194,\n"
     "         1399004197],\n"
     "        [1400004200, 1401004203, 1402004206,  ..., 1447004341, 1448004344,\n"
     "         1449004347],\n"
     "        [1450004350, 1451004353, 1452004356,  ..., 1497004491, 1498004494,\n"
     "         1499004497]])"),
    # 3-D
    (np.arange(24, dtype=F32).reshape(2, 3, 4) - 5.5, [],
     "tensor([[[-5.5000, -4.5000, -3.5000, -2.5000],\n"
     "         [-1.5000, -0.5000,  0.5000,  1.5000],\n"
     "         [ 2.5000,  3.5000,  4.5000,  5.5000]],\n\n"
     "        [[ 6.5000,  7.5000,  8.5000,  9.5000],\n"
     "         [10.5000, 11.5000, 12.5000, 13.5000],\n"
     "         [14.5000, 15.5000, 16.5000, 17.5000]]])"),
    # long rows wrap; a long last line pushes the suffix onto its own line
    (np.linspace(-1, 1, 20, dtype=F32), [],
     "tensor([-1.0000, -0.8947, -0.7895, -0.6842, -0.5789, -0.4737, -0.3684, -0.2632,\n"
     "        -0.1579, -0.0526,  0.0526,  0.1579,  0.2632,  0.3684,  0.4737,  0.5789,\n"
     "         0.6842,  0.7895,  0.8947,  1.0000])"),
    (np.arange(8, dtype=F32) * 1.1, ["grad_fn=<MulBackward0>"],
     "tensor([0.0000, 1.1000, 2.2000, 3.3000, 4.4000, 5.5000, 6.6000, 7.7000],\n"
     "       grad_fn=<MulBackward0>)"),
    # sci mode from magnitude bounds
    (np.array([1e-6, 1.0], F32), [], "tensor([1.0000e-06, 1.0000e+00])"),
    (np.array([1e10, 1.0], F32), [], "tensor([1.0000e+10, 1.0000e+00])"),
    # nan / inf / negative zero: they do not count towards the column width
    (np.array([NAN, INF, -INF, 1.5, -0.0], F32), [], "tensor([   nan,    inf,   -inf, 1.5000, -0.0000])"),
    (np.array([NAN, INF, -INF], F32), [], "tensor([nan, inf, -inf])"),
    (np.array([-0.0, 0.0, 1.0], F32), [], "tensor([-0., 0., 1.])"),
]


@pytest.mark.parametrize("values, suffixes, expected", CASES)
def test_hardcoded(values, suffixes, expected):
    assert tensor_repr(values, suffixes) == expected


def test_printoptions():
    a = np.arange(12, dtype=F32).reshape(3, 4) / 3
    set_printoptions(precision=2, threshold=5, edgeitems=1, linewidth=30)
    assert tensor_repr(a) == "tensor([[0.00,  ..., 1.00],\n        ...,\n        [2.67,  ..., 3.67]])"
    set_printoptions(edgeitems=0)
    assert tensor_repr(a) == "tensor([...], size=(3, 4))"
    assert tensor_repr(a.reshape(-1)) == "tensor([...], size=(12,))"


# ---------------------------------------------------------------------------
# Oracle tests against torch

_TRICKY = [0.0, -0.0, NAN, INF, -INF, 1e-4, 9.9999e-5, 1e8, 1.0000001e8, 1000.0, 0.1, 1 / 3,
           9.99995, 0.99995, 99999.5, 0.5, 2.5, 123456789.0, 1e-6, 1e10]

_float_values = st.one_of(
    st.sampled_from(_TRICKY),
    st.integers(-10**6, 10**6).map(float),
    st.integers(-10**10, 10**10).map(float),
    st.builds(lambda sign, exp, mant: sign * mant * 10.0**exp,
              st.sampled_from([1.0, -1.0]), st.integers(-6, 10), st.floats(1.0, 10.0)),
)
_int_values = st.one_of(st.integers(-1000, 1000), st.integers(-2**63, 2**63 - 1))


@st.composite
def _shapes(draw):
    """0-d..4-d shapes: small ones (with zero-size dims) or ones above the threshold."""
    if draw(st.booleans()):
        return tuple(draw(st.lists(st.integers(0, 6), max_size=4)))
    rest = draw(st.lists(st.integers(1, 12), max_size=3))
    big = math.ceil(1001 / math.prod(rest)) + draw(st.integers(0, 300))
    pos = draw(st.integers(0, len(rest)))
    return tuple(rest[:pos] + [big] + rest[pos:])


@st.composite
def _arrays(draw):
    """An array whose elements come from a small drawn palette, so mixtures of
    magnitudes, integers and specials share a formatter."""
    dtype = draw(st.sampled_from([F32, F64, I64, np.bool_]))
    shape = draw(_shapes())
    if dtype is np.bool_:
        palette = draw(st.lists(st.booleans(), min_size=1, max_size=2))
    elif dtype is I64:
        palette = draw(st.lists(_int_values, min_size=1, max_size=6))
    else:
        palette = draw(st.lists(_float_values, min_size=1, max_size=6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.choice(np.array(palette, dtype=dtype), size=shape)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=_arrays(), grad=st.sampled_from([None, "requires_grad", "grad_fn"]))
def test_matches_torch(a, grad):
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(a.copy())
    suffixes = []
    if grad is not None and a.dtype.kind == "f":
        t.requires_grad_()
        if grad == "grad_fn":
            t = t * 1  # exact for every value, incl. nan and -0.0
            suffixes = ["grad_fn=<MulBackward0>"]
        else:
            suffixes = ["requires_grad=True"]
    assert tensor_repr(a, suffixes) == repr(t)


@pytest.mark.parametrize("opts", [
    dict(precision=2, threshold=5, edgeitems=1, linewidth=30),
    dict(precision=6, linewidth=120, sci_mode=True),
    dict(sci_mode=False),
    dict(threshold=10, edgeitems=0),
    dict(precision=0, edgeitems=2, threshold=20, linewidth=50),
])
def test_printoptions_match_torch(opts):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [
        rng.standard_normal((4, 7)).astype(F32) * 10.0**rng.integers(-5, 9, (4, 7)),
        rng.standard_normal((3, 2, 25)),
        rng.integers(-5000, 5000, (40,)),
        rng.integers(0, 2, (3, 9)).astype(bool),
        np.array([NAN, -0.0, 3.0, 7e9], F32),
        np.array(0.125, F32),
        np.zeros((0, 2), F32),
    ]
    try:
        torch.set_printoptions(**opts)
        set_printoptions(**opts)
        for a in arrays:
            assert tensor_repr(a) == repr(torch.from_numpy(a))
    finally:
        torch.set_printoptions(profile="default")
        torch.set_printoptions(sci_mode=None)
