"""The test suite's op table: one `OpInfo` per user-facing op (a function, method or
`nn.functional` entry), in the spirit of PyTorch's OpInfo and tinygrad's test_ops helper.

`fn(m, *inputs, **kwargs)` is written once and run with `m = tracegrad` or `m = torch`, so the
same line serves the eager check, the compiled check, the gradient check and the PyTorch oracle.
Array arguments of a sample (numpy arrays) become tensors; floating ones become leaves that
require grad when the op is differentiable. Everything else (Python scalars, lists, tuples) is
passed as is. Tables per family live in `tests/opinfos/*.py` and are collected into `OP_TABLE`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sys
import zlib

import numpy as np

_rngs: dict = {}


def _rng() -> np.random.Generator:
    """The generator of the table module calling `arr` (seeded by its name), so that one
    table's samples do not change when another table is added or loaded first."""
    module = sys._getframe(2).f_globals.get("__name__", "")
    if module not in _rngs:
        _rngs[module] = np.random.default_rng(zlib.crc32(module.encode()))
    return _rngs[module]


def arr(*shape, dtype=np.float32, low: float | None = None, high: float | None = None,
        positive: bool = False, away_from=None) -> np.ndarray:
    """A reproducible random array: standard normal, or uniform in [low, high) when given;
    `positive` gives |x| + 0.5 (domains of log, sqrt...); `away_from=v` keeps |x - v| >= 0.1
    for every v given (kinks of abs, relu, clamp... where finite differences are meaningless)."""
    rng = _rng()
    if dtype in (np.int64, np.int32):
        return rng.integers(-5 if low is None else low, 6 if high is None else high,
                            size=shape).astype(dtype)
    if dtype is np.bool_:
        return np.asarray(rng.random(shape) < 0.5)
    if low is not None:
        a = rng.uniform(low, high, size=shape)
    else:
        a = rng.standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    for v in np.atleast_1d(away_from) if away_from is not None else ():
        near = np.abs(a - v) < 0.1
        a = np.where(near, v + np.where(a >= v, 0.1, -0.1) + np.sign(a - v + 1e-30) * 0.05, a)
    return np.asarray(a.astype(dtype))   # 0-d: an array, not a numpy scalar


@dataclass
class Sample:
    """One call: `args` (arrays become tensors), `kwargs`, and a label for the test id.
    `noncontiguous=True` passes every array argument of 2 or more dims as the transpose of a
    contiguous tensor (`t.transpose(0, -1)` of a leaf stored transposed)."""
    args: tuple
    kwargs: dict = field(default_factory=dict)
    label: str = ""
    noncontiguous: bool = False


def S(*args, label: str = "", noncontiguous: bool = False, **kwargs) -> Sample:
    return Sample(args, kwargs, label, noncontiguous)


@dataclass
class ErrorSample:
    """A call that must raise `error` with a message matching `match` (a regex), as PyTorch
    does (the oracle test checks PyTorch raises the same error type)."""
    args: tuple
    kwargs: dict
    error: type
    match: str
    noncontiguous: bool = False


def E(error: type, match: str, *args, **kwargs) -> ErrorSample:
    return ErrorSample(args, kwargs, error, match)


@dataclass
class OpInfo:
    """One user-facing op.

    name:     the user-facing name (`"maximum"`, `"Tensor.abs"`, `"F.gelu"`), used in test ids
              and by the coverage check.
    fn:       fn(m, *inputs, **kwargs) with m the tracegrad or torch module. Returns a tensor or a
              tuple of tensors; gradients flow from the floating outputs that require grad.
    ref:      numpy reference on float64 arrays (the same arguments); returns an array or a
              tuple. None only when the op's result is not a function of values (random ops),
              with a reason in `ref_reason`.
    samples:  sample inputs: broadcasting, 0-d, zero-size, non-contiguous, negative dims...
    errors:   bad inputs with their expected errors.
    differentiable: whether gradients are checked (float64 central differences, and compiled
              against eager).
    grad_fn:  PyTorch's name of the first output's backward node, the same for every sample
              (checked without torch too; the oracle compares names per sample).
    rtol, atol: float32 tolerance against the reference (float64 results use 1e-7, 1e-9).
    oracle:   whether to compare with PyTorch (False needs `oracle_reason`).
    compiled: whether to compare `tracegrad.compile` with eager (False needs `compiled_reason`).
    """
    name: str
    fn: Callable
    ref: Callable | None
    samples: list
    errors: list = field(default_factory=list)
    differentiable: bool = True
    grad_fn: str | None = None
    rtol: float = 1e-5
    atol: float = 1e-6
    oracle: bool = True
    oracle_reason: str = ""
    ref_reason: str = ""
    compiled: bool = True
    compiled_reason: str = ""


def collect() -> list[OpInfo]:
    """Every OpInfo of every table module in `tests/opinfos/`."""
    import importlib
    import pkgutil

    import opinfos
    table = []
    for mod in sorted(m.name for m in pkgutil.iter_modules(opinfos.__path__)):
        table.extend(importlib.import_module(f"opinfos.{mod}").OPS)
    names = [o.name for o in table]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"OpInfo names defined twice: {sorted(dup)}")
    return table


def prepare(m, sample, cast=None, grad=True):
    """(leaves, call arguments): arrays become tensors of module `m`; floating ones become
    leaves that require grad when `grad`; non-contiguous samples pass transposed views."""
    leaves, args = [], []
    for a in sample.args:
        if not isinstance(a, np.ndarray):
            args.append(a)
            continue
        if cast is not None and a.dtype.kind == "f":
            a = a.astype(cast)
        transpose = sample.noncontiguous and a.ndim >= 2
        stored = np.ascontiguousarray(a.swapaxes(0, -1)) if transpose else a.copy()
        leaf = m.tensor(stored)
        if grad and a.dtype.kind == "f":
            leaf.requires_grad_(True)
        leaves.append(leaf)
        args.append(leaf.transpose(0, -1) if transpose else leaf)
    return leaves, args


def _traced_ops(info, sample) -> set:
    import tracegrad as tg
    _, args = prepare(tg, sample, grad=info.differentiable)
    cf = tg.compile(lambda *a: info.fn(tg, *a, **sample.kwargs))
    return {e.op.name for e in cf.trace(args).recorded.eqns}   # before rewrites


def covered_primitives(differentiable_only: bool = False) -> set:
    """Names of the IR primitives recorded by tracing every compiled sample of the table
    (with `differentiable_only`, only samples whose gradients are checked)."""
    used = set()
    for info in collect():
        if not info.compiled or differentiable_only and not info.differentiable:
            continue
        for s in info.samples:
            if differentiable_only and not any(
                    isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in s.args):
                continue
            used |= _traced_ops(info, s)
    return used
